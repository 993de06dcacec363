//! `GET/PATCH/DELETE /connectors/{name}/offsets` (KIP-875). The body's shape is checked
//! here (400 for anything that is not `{"offsets": [{"partition": {...}, "offset": {...} |
//! null}]}`); whether the offsets fit the connector is the control plane's call.

use serde_json::{json, Map, Value as Json};

use super::routes::Call;
use super::Reply;
use crate::runtime::control::{Control, OffsetView};

pub fn get(c: &dyn Control, name: &str) -> Reply {
    match c.offsets(name) {
        Ok(list) => Reply::json(
            200,
            json!({"offsets": list.into_iter().map(|o| json!({"partition": o.partition, "offset": o.offset})).collect::<Vec<_>>()}),
        ),
        Err(e) => e.into(),
    }
}

pub fn alter(c: &dyn Control, call: &Call<'_>, name: &str) -> Reply {
    let body = match call.json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let offsets = match parse(&body) {
        Ok(o) => o,
        Err(m) => return Reply::error(400, m),
    };
    match c.alter_offsets(name, offsets) {
        Ok(()) => Reply::json(
            200,
            json!({"message": "The offsets for this connector have been altered successfully"}),
        ),
        Err(e) => e.into(),
    }
}

pub fn reset(c: &dyn Control, name: &str) -> Reply {
    match c.reset_offsets(name) {
        Ok(()) => Reply::json(
            200,
            json!({"message": "The offsets for this connector have been reset successfully"}),
        ),
        Err(e) => e.into(),
    }
}

fn parse(body: &Json) -> Result<Vec<OffsetView>, String> {
    // Connect's wording for a missing or empty list.
    let list = body
        .get("offsets")
        .and_then(Json::as_array)
        .filter(|l| !l.is_empty())
        .ok_or("Partitions / offsets need to be provided for an alter offsets request")?;
    list.iter()
        .enumerate()
        .map(|(i, item)| {
            let partition = primitives(item.get("partition"), i, "partition")?
                .ok_or(format!("offsets[{i}] has no partition object"))?;
            let offset = primitives(item.get("offset"), i, "offset")?;
            Ok(OffsetView { partition, offset })
        })
        .collect()
}

/// An object whose values are strings, numbers, booleans or null, as Connect requires of
/// partitions and offsets; `None` for a missing or null one.
fn primitives(v: Option<&Json>, i: usize, what: &str) -> Result<Option<Map<String, Json>>, String> {
    match v {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Object(m)) => {
            if let Some((k, _)) = m.iter().find(|(_, v)| v.is_object() || v.is_array()) {
                return Err(format!(
                    "offsets[{i}].{what}.{k} must be a string, a number or a boolean"
                ));
            }
            Ok(Some(m.clone()))
        }
        Some(_) => Err(format!("offsets[{i}].{what} must be a JSON object")),
    }
}
