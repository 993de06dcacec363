//! KIP-875 through the herder: a connector's offsets as Connect's offsets endpoints show
//! them, and edits, allowed only on a STOPPED connector (no task may hold or commit them
//! meanwhile) and checked against the shape the connector reads, as `kconnect offsets set`.

use serde_json::Value as Json;

use super::entry::Entry;
use crate::api::OffsetShape;
use crate::config::{TargetState, WorkerConfig};
use crate::offsets::{OffsetKind, OffsetStore, StoreError};
use crate::runtime::control::{ControlError, OffsetView};
use crate::runtime::kafka::groups;

fn store_error(name: &str, e: StoreError) -> ControlError {
    ControlError::Internal(format!(
        "the offsets store failed for connector {name}: {e}"
    ))
}

pub fn list(store: &OffsetStore, name: &str) -> Result<Vec<OffsetView>, ControlError> {
    let entries = store.list(Some(name)).map_err(|e| store_error(name, e))?;
    Ok(entries
        .into_iter()
        .map(|e| OffsetView {
            partition: match e.partition {
                Json::Object(m) => m,
                _ => Default::default(),
            },
            offset: match e.offset {
                Json::Object(m) => Some(m),
                _ => None,
            },
        })
        .collect())
}

/// Connect's answer to an offsets edit of a connector that is not STOPPED.
fn must_be_stopped(e: &Entry) -> Result<(), ControlError> {
    if e.target == TargetState::Stopped && e.all_ended() {
        return Ok(());
    }
    let name = &e.cfg.name;
    Err(ControlError::BadRequest(format!(
        "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"
    )))
}

/// Checks an edit against the shape the connector reads, before its state: a malformed edit
/// is refused as such whatever the connector is doing, as Connect does.
pub fn check(e: &Entry, offsets: &[OffsetView]) -> Result<(), ControlError> {
    let name = &e.cfg.name;
    if offsets.is_empty() {
        return Err(ControlError::BadRequest(
            "Partitions / offsets need to be provided for an alter offsets request".into(),
        ));
    }
    let plugin = crate::connectors::find(e.cfg.class()).expect("validated");
    for o in offsets {
        if let (OffsetShape::Sink, Some(offset)) = (plugin.offsets, &o.offset) {
            if let Some(v) = offset.get("kafka_offset").filter(|v| !v.is_i64()) {
                let text = match v {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                };
                return Err(ControlError::BadRequest(format!(
                    "Failed to parse the following Kafka offset value in the provided offsets: '{text}'. Offset values for sink connectors need to be integers."
                )));
            }
        }
        plugin
            .offsets
            .check(&e.cfg.values, &o.partition, o.offset.as_ref())
            .map_err(|err| {
                ControlError::BadRequest(format!("connector {name}: {err}; nothing was changed"))
            })?;
    }
    Ok(())
}

/// Writes a checked edit; every entry was checked before any is written, so an edit applies
/// whole or not at all.
pub fn alter(
    store: &OffsetStore,
    worker: &WorkerConfig,
    e: &Entry,
    offsets: &[OffsetView],
) -> Result<(), ControlError> {
    must_be_stopped(e)?;
    check(e, offsets)?;
    let name = &e.cfg.name;
    let kind = match crate::connectors::find(e.cfg.class())
        .expect("validated")
        .offsets
    {
        OffsetShape::Sink => OffsetKind::Sink,
        OffsetShape::Source { .. } => OffsetKind::Source,
    };
    for o in offsets {
        store
            .set(name, kind, &o.partition, o.offset.as_ref())
            .map_err(|err| store_error(name, err))?;
    }
    if kind == OffsetKind::Sink {
        sync_group(store, worker, e, offsets.iter().any(|o| o.offset.is_none()))?;
    }
    Ok(())
}

/// Brings the sink's consumer group in step with the store after an edit. Kafka has no way
/// to forget one partition's committed offset on every broker (OffsetDelete is missing from
/// some), so a removal deletes the group and commits back what the store still holds.
fn sync_group(
    store: &OffsetStore,
    worker: &WorkerConfig,
    e: &Entry,
    removed_some: bool,
) -> Result<(), ControlError> {
    let name = &e.cfg.name;
    let failed = |err: groups::GroupError| {
        ControlError::Internal(format!(
            "the offsets of connector {name} were changed in the offsets store, but not in Kafka: {err}; the connector resumes from the store, and a move back to Kafka Connect would not see the change until this succeeds (repeat the request)"
        ))
    };
    if removed_some {
        groups::delete(worker, &e.cfg).map_err(failed)?;
    }
    let held: Vec<(String, i32, i64)> = list(store, name)?
        .into_iter()
        .filter_map(|v| {
            Some((
                v.partition.get("kafka_topic")?.as_str()?.to_string(),
                v.partition.get("kafka_partition")?.as_i64()? as i32,
                v.offset?.get("kafka_offset")?.as_i64()?,
            ))
        })
        .collect();
    groups::commit(worker, &e.cfg, &held).map_err(failed)
}

/// Forgets every offset: in the store and, for a sink, in its consumer group, as Connect's
/// `DELETE /offsets` does, so the sink starts over by its `auto.offset.reset`.
pub fn reset(store: &OffsetStore, worker: &WorkerConfig, e: &Entry) -> Result<(), ControlError> {
    must_be_stopped(e)?;
    store
        .reset(&e.cfg.name)
        .map_err(|err| store_error(&e.cfg.name, err))?;
    if e.kind == crate::api::PluginKind::Sink {
        groups::delete(worker, &e.cfg).map_err(|err| {
            ControlError::Internal(format!(
                "the offsets of connector {} were removed from the offsets store, but its consumer group still holds offsets: {err}; repeat the request, or the sink resumes from the group's offsets",
                e.cfg.name
            ))
        })?;
    }
    Ok(())
}
