//! Debezium's notifications (`notification.enabled.channels`): snapshot progress as records of
//! `io.debezium.connector.common.Notification` on `notification.sink.topic.name` (the sink
//! channel) and as log lines (the log channel), with the same types and `additional_data` as
//! Debezium's Initial and Incremental snapshot notification services.
//!
//! `additional_data` is a Java `HashMap` in Debezium (`new HashMap<>(Map.of(...))` plus the
//! connector's name), so JsonConverter writes its entries in that map's iteration order; the
//! entries are put in that order here.

use std::sync::OnceLock;

use super::config::PgConfig;
use crate::data::java_string::string_hash;
use crate::data::{schemas, ConnectRecord, Schema, SchemaRef, SchemaType, Struct, Value};

pub const INITIAL: &str = "Initial Snapshot";
pub const INCREMENTAL: &str = "Incremental Snapshot";

/// A notification of `aggregate` ("Initial Snapshot" or "Incremental Snapshot"), of `kind`
/// (STARTED, IN_PROGRESS, ...), with `data` (without the connector name, which is added).
/// Logged when the log channel is on; the record for the sink channel's topic, if it is on.
/// `id`: the incremental snapshot's correlation id (its signal's id); a random UUID otherwise.
pub fn notification(
    cfg: &PgConfig,
    aggregate: &str,
    kind: &str,
    id: Option<&str>,
    data: &[(&str, String)],
) -> Option<ConnectRecord> {
    let channels = cfg.notifications.as_ref()?;
    let id = id
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let mut entries: Vec<(&str, &str)> = data.iter().map(|(k, v)| (*k, v.as_str())).collect();
    entries.push(("connector_name", cfg.prefix.as_str()));
    let entries = java_order(entries, data.len());
    let ts_ms = chrono::Utc::now().timestamp_millis();
    if channels.log {
        let shown: Vec<String> = entries.iter().map(|(k, v)| format!("{k}={v}")).collect();
        tracing::info!(
            "[Notification Service] {{id='{id}', aggregateType='{aggregate}', type='{kind}', additionalData={{{}}}, timestamp={ts_ms}}}",
            shown.join(", ")
        );
    }
    let topic = channels.sink_topic.as_ref()?;
    let (ks, vs) = schemas_of_notifications();
    let map = crate::data::Map::linked(
        entries
            .into_iter()
            .map(|(k, v)| (Value::String(k.into()), Value::String(v.into())))
            .collect(),
    );
    let key = Value::Struct(Struct {
        schema: ks.clone(),
        values: vec![Value::String(id.as_str().into())],
    });
    let value = Value::Struct(Struct {
        schema: vs.clone(),
        values: vec![
            Value::String(id.into()),
            Value::String(kind.into()),
            Value::String(aggregate.into()),
            Value::Map(map),
            Value::Int64(ts_ms),
        ],
    });
    Some(
        ConnectRecord::new(topic.clone())
            .with_key(Some(ks), key)
            .with_value(Some(vs), value),
    )
}

fn schemas_of_notifications() -> (SchemaRef, SchemaRef) {
    static S: OnceLock<(SchemaRef, SchemaRef)> = OnceLock::new();
    S.get_or_init(|| {
        let key = Schema::struct_builder()
            .name("io.debezium.connector.common.NotificationKey")
            .version(1)
            .field("id", schemas::string())
            .build();
        let value = Schema::struct_builder()
            .name("io.debezium.connector.common.Notification")
            .version(1)
            .field("id", schemas::string())
            .field("type", schemas::string())
            .field("aggregate_type", schemas::string())
            .field(
                "additional_data",
                Schema::map(
                    Schema::primitive(SchemaType::String, false),
                    Schema::primitive(SchemaType::String, false),
                )
                .optional()
                .build(),
            )
            .field("timestamp", schemas::int64())
            .build();
        (key, value)
    })
    .clone()
}

/// The entries in the order a `new HashMap<>(m)` of the first `copied` entries, with the rest
/// then put into it, iterates them: `putMapEntries` sizes the first table for `m`
/// (`tableSizeFor(m / 0.75 + 1)`; the default 16 for an empty `m`), the table doubles when the
/// size passes three quarters of it, and iteration goes by bucket (the spread
/// `String.hashCode` masked by the table size), then in insertion order.
fn java_order<'a>(entries: Vec<(&'a str, &'a str)>, copied: usize) -> Vec<(&'a str, &'a str)> {
    let mut capacity = if copied == 0 {
        16
    } else {
        ((copied as f32 / 0.75 + 1.0) as usize).next_power_of_two()
    };
    while entries.len() > capacity * 3 / 4 {
        capacity *= 2;
    }
    let mask = (capacity - 1) as u32;
    let bucket = |k: &str| {
        let h = string_hash(k);
        ((h ^ ((h as u32) >> 16) as i32) as u32) & mask
    };
    let mut entries = entries;
    entries.sort_by_key(|(k, _)| bucket(k));
    entries
}

/// Table ids joined as a `new HashSet<>(tables)` of Debezium's `TableId`s iterates them (their
/// hash is the `schema.table` string's; the set's table is 16 buckets up to 12 tables).
pub fn hash_set_order(mut names: Vec<String>) -> String {
    let n = names.len();
    let mut capacity = (((n as f32 / 0.75) as usize) + 1)
        .max(16)
        .next_power_of_two();
    while n > capacity * 3 / 4 {
        capacity *= 2;
    }
    let mask = (capacity - 1) as u32;
    names.sort_by_key(|k| {
        let h = string_hash(k);
        ((h ^ ((h as u32) >> 16) as i32) as u32) & mask
    });
    names.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The orders Debezium 3.6.3 wrote in tests/fixtures/postgres-notifications.
    #[test]
    fn additional_data_and_table_sets_iterate_as_debeziums() {
        let order = |data: &[&str]| -> Vec<String> {
            let entries: Vec<(&str, &str)> = data
                .iter()
                .map(|k| (*k, ""))
                .chain([("connector_name", "")])
                .collect();
            java_order(entries, data.len())
                .into_iter()
                .map(|(k, _)| k.to_string())
                .collect()
        };
        assert_eq!(
            order(&["current_collection_in_progress", "data_collections"]),
            [
                "current_collection_in_progress",
                "connector_name",
                "data_collections"
            ]
        );
        assert_eq!(
            order(&[
                "scanned_collection",
                "data_collections",
                "total_rows_scanned",
                "status"
            ]),
            [
                "scanned_collection",
                "connector_name",
                "total_rows_scanned",
                "data_collections",
                "status"
            ]
        );
        assert_eq!(
            order(&[
                "current_collection_in_progress",
                "maximum_key",
                "data_collections",
                "last_processed_key"
            ]),
            [
                "current_collection_in_progress",
                "connector_name",
                "maximum_key",
                "data_collections",
                "last_processed_key"
            ]
        );
        assert_eq!(order(&[]), ["connector_name"]);
        assert_eq!(
            hash_set_order(vec!["public.empty_one".into(), "public.items".into()]),
            "public.items,public.empty_one"
        );
    }
}
