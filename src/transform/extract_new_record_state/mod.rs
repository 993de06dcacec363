//! Debezium's `io.debezium.transforms.ExtractNewRecordState`: turns a change event envelope
//! into the row state after the change, as Debezium 3 does, for sinks that want flat rows.
//! Here: what happens to creates, updates, deletes and tombstones, and `route.by.field`.

use std::collections::HashMap;

use crate::data::{ConnectRecord, SchemaRef, Value};

use super::insert_field::InsertField;
use super::replace_field::ReplaceField;
use super::util::{require_struct, require_struct_ref, AddressMap};
use super::{TransformError, Transformation};

mod added;
mod config;
mod dropping;
#[cfg(test)]
pub(crate) mod tests;

use added::{AddPlan, FieldRef, HeaderPlan};
use config::Mode;
pub use config::{create, CLASS, KEYS};

pub struct ExtractNewRecordState {
    mode: Mode,
    route_by_field: Option<String>,
    add_fields: Vec<FieldRef>,
    add_headers: Vec<FieldRef>,
    drop_fields_header: Option<String>,
    drop_fields_from_key: bool,
    keep_schema_compatible: bool,
    removed: InsertField,
    updated: InsertField,
    /// What `add.fields` does for one (row schema, envelope schema) pair, worked out once.
    add_cache: AddressMap<(usize, usize), AddPlan>,
    /// Header names, schemas and sources for `add.headers`, by envelope schema.
    header_cache: AddressMap<usize, HeaderPlan>,
    drop_key: HashMap<Vec<String>, ReplaceField>,
    drop_value: HashMap<Vec<String>, ReplaceField>,
}

fn is_envelope(schema: Option<&SchemaRef>) -> bool {
    schema
        .and_then(|s| s.name.as_deref())
        .is_some_and(|n| n.ends_with(".Envelope"))
}

fn unknown_field(name: &str) -> TransformError {
    TransformError::new(format!("Unknown field: {name}"))
}

impl ExtractNewRecordState {
    /// `route.by.field`: the new topic from a string column; blank keeps the topic.
    fn topic_from(row: &Value, field: &str, what: &str) -> Result<Option<String>, TransformError> {
        let s = require_struct_ref(row, what)?;
        match s.get(field) {
            Some(Value::String(t)) if !t.trim().is_empty() => Ok(Some(t.to_string())),
            Some(Value::String(_)) | Some(Value::Null) => Ok(None),
            Some(other) => Err(TransformError::new(format!(
                "Field {field} (route.by.field) is not a STRING but {} in {what}",
                super::util::java_class_name(other)
            ))),
            None => Err(TransformError::new(format!(
                "{field} is not a valid field name (route.by.field) for {what}"
            ))),
        }
    }
}

impl Transformation for ExtractNewRecordState {
    fn apply(
        &mut self,
        mut record: ConnectRecord,
    ) -> Result<Option<ConnectRecord>, TransformError> {
        let tombstone = record.value.is_null();
        let envelope = is_envelope(record.value_schema.as_ref());
        if (envelope || tombstone) && !self.add_headers.is_empty() {
            self.add_headers(&mut record);
        }
        if tombstone {
            return Ok(match self.mode {
                Mode::RewriteWithTombstone => Some(record),
                _ => None,
            });
        }
        if !envelope {
            return Ok(Some(record));
        }
        record.value_schema = None;
        let mut env = require_struct(
            std::mem::replace(&mut record.value, Value::Null),
            "field extraction",
        )?;
        let after = env
            .schema
            .field("after")
            .ok_or_else(|| unknown_field("after"))?;
        let (after_idx, after_schema) = (after.index, after.schema.clone());
        let before = env
            .schema
            .field("before")
            .ok_or_else(|| unknown_field("before"))?;
        let (before_idx, before_schema) = (before.index, before.schema.clone());
        if env.values[after_idx].is_null() && env.values[before_idx].is_null() {
            // Truncate (and anything else without a row): Debezium drops it.
            return Ok(None);
        }
        if env.values[after_idx].is_null() {
            let mut row = record;
            match self.mode {
                Mode::Drop => return Ok(None),
                Mode::Tombstone => row.value_schema = Some(after_schema),
                Mode::DeleteToTombstone => {}
                Mode::Rewrite | Mode::RewriteWithTombstone => {
                    row.value_schema = Some(before_schema);
                    row.value = env.values[before_idx].clone();
                    if matches!(row.value, Value::Struct(_)) {
                        row = self.removed.apply(row)?.expect("InsertField keeps records");
                    }
                }
            }
            if let Some(field) = &self.route_by_field {
                if let Some(t) = Self::topic_from(
                    &env.values[before_idx],
                    field,
                    "Read record to set topic routing for DELETE",
                )? {
                    row.topic = t.into();
                }
            }
            let row = self.drop_fields(row)?;
            let row = if row.value.is_null() {
                row
            } else {
                self.add_fields(&env, row)?
            };
            return Ok(Some(row));
        }
        let mut row = record;
        row.value_schema = Some(after_schema);
        row.value = std::mem::replace(&mut env.values[after_idx], Value::Null);
        if matches!(self.mode, Mode::Rewrite | Mode::RewriteWithTombstone)
            && matches!(row.value, Value::Struct(_))
        {
            row = self.updated.apply(row)?.expect("InsertField keeps records");
        }
        if let Some(field) = &self.route_by_field {
            if let Some(t) = Self::topic_from(
                &row.value,
                field,
                "Read record to set topic routing for CREATE / UPDATE",
            )? {
                row.topic = t.into();
            }
        }
        let row = self.add_fields(&env, row)?;
        Ok(Some(self.drop_fields(row)?))
    }
}
