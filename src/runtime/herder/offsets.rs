//! KIP-875 through the herder: a connector's offsets as Connect's offsets endpoints show
//! them, and edits, allowed only on a STOPPED connector (no task may hold or commit them
//! meanwhile) and checked against the shape the connector reads, as `kconnect offsets set`.

use serde_json::Value as Json;

use super::entry::Entry;
use crate::api::OffsetShape;
use crate::config::TargetState;
use crate::offsets::{OffsetKind, OffsetStore, StoreError};
use crate::runtime::control::{ControlError, OffsetView};

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

pub fn alter(store: &OffsetStore, e: &Entry, offsets: Vec<OffsetView>) -> Result<(), ControlError> {
    must_be_stopped(e)?;
    let name = &e.cfg.name;
    if offsets.is_empty() {
        return Err(ControlError::BadRequest(
            "Partitions / offsets need to be provided for an alter offsets request".into(),
        ));
    }
    let plugin = crate::connectors::find(e.cfg.class()).expect("validated");
    let kind = match plugin.offsets {
        OffsetShape::Sink => OffsetKind::Sink,
        OffsetShape::Source { .. } => OffsetKind::Source,
    };
    // Every entry is checked before any is written: an edit applies whole or not at all.
    for o in &offsets {
        plugin
            .offsets
            .check(&e.cfg.values, &o.partition, o.offset.as_ref())
            .map_err(|err| {
                ControlError::BadRequest(format!("connector {name}: {err}; nothing was changed"))
            })?;
    }
    for o in &offsets {
        store
            .set(name, kind, &o.partition, o.offset.as_ref())
            .map_err(|err| store_error(name, err))?;
    }
    Ok(())
}

pub fn reset(store: &OffsetStore, e: &Entry) -> Result<(), ControlError> {
    must_be_stopped(e)?;
    store
        .reset(&e.cfg.name)
        .map(|_| ())
        .map_err(|err| store_error(&e.cfg.name, err))
}
