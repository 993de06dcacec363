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
use crate::data::java_string::{put_map_entries_capacity, sort_in_java_order, table_size_for};
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
    // `new HashMap<>(Map.of(data))`, then the connector's name put into it.
    let mut entries: Vec<(Value, Value)> = data
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .chain([("connector_name", cfg.prefix.as_str())])
        .map(|(k, v)| (Value::String(k.into()), Value::String(v.into())))
        .collect();
    sort_in_java_order(&mut entries, put_map_entries_capacity(data.len()));
    let ts_ms = chrono::Utc::now().timestamp_millis();
    if channels.log {
        let shown: Vec<String> = entries
            .iter()
            .map(|(k, v)| format!("{}={}", k.as_str().unwrap_or(""), v.as_str().unwrap_or("")))
            .collect();
        tracing::info!(
            "[Notification Service] {{id='{id}', aggregateType='{aggregate}', type='{kind}', additionalData={{{}}}, timestamp={ts_ms}}}",
            shown.join(", ")
        );
    }
    let topic = channels.sink_topic.as_ref()?;
    let (ks, vs) = schemas_of_notifications();
    let map = crate::data::Map::linked(entries);
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

/// Table ids joined as a `new HashSet<>(tables)` of Debezium's `TableId`s iterates them (their
/// hash is the `schema.table` string's; `HashSet(Collection)` sizes its table for
/// `max(n / 0.75 + 1, 16)`).
pub fn hash_set_order(names: Vec<String>) -> String {
    let first = table_size_for(((names.len() as f32 / 0.75) as usize + 1).max(16));
    let mut entries: Vec<(Value, Value)> = names
        .into_iter()
        .map(|n| (Value::String(n.into()), Value::Null))
        .collect();
    sort_in_java_order(&mut entries, first);
    let names: Vec<&str> = entries.iter().filter_map(|(k, _)| k.as_str()).collect();
    names.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The orders Debezium 3.6.3 wrote in tests/fixtures/postgres-notifications.
    #[test]
    fn additional_data_and_table_sets_iterate_as_debeziums() {
        let order = |data: &[&str]| -> Vec<String> {
            let mut entries: Vec<(Value, Value)> = data
                .iter()
                .chain(&["connector_name"])
                .map(|k| (Value::String((*k).into()), Value::Null))
                .collect();
            sort_in_java_order(&mut entries, put_map_entries_capacity(data.len()));
            entries
                .iter()
                .map(|(k, _)| k.as_str().unwrap().to_string())
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
