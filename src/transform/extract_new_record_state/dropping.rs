//! `drop.fields.header.name`: fields named in a header removed from the value (and the key),
//! by a `ReplaceField` kept per list of names.

use crate::data::{ConnectRecord, Schema, Value};
use crate::transform::replace_field::ReplaceField;
use crate::transform::util::Target;
use crate::transform::{TransformError, Transformation};

use super::ExtractNewRecordState;

impl ExtractNewRecordState {
    pub(super) fn drop_fields(
        &mut self,
        mut record: ConnectRecord,
    ) -> Result<ConnectRecord, TransformError> {
        let Some(header) = self
            .drop_fields_header
            .as_deref()
            .filter(|h| !h.trim().is_empty())
        else {
            return Ok(record);
        };
        let names: Vec<String> = match record
            .headers
            .iter()
            .find(|h| h.key == header)
            .map(|h| &h.value)
        {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            Some(Value::String(s)) => {
                crate::api::split_list(s.trim().trim_start_matches('[').trim_end_matches(']'))
                    .into_iter()
                    .map(str::to_string)
                    .collect()
            }
            _ => return Ok(record),
        };
        if names.is_empty() {
            return Ok(record);
        }
        if self.drop_fields_from_key && !record.key.is_null() {
            let drop = self.droppable(record.key_schema.as_deref(), &names);
            if !drop.is_empty() {
                let t = self
                    .drop_key
                    .entry(drop.clone())
                    .or_insert_with(|| ReplaceField::excluding(Target::Key, drop));
                record = t.apply(record)?.expect("ReplaceField keeps records");
            }
        }
        let drop = self.droppable(record.value_schema.as_deref(), &names);
        if !drop.is_empty() {
            let t = self
                .drop_value
                .entry(drop.clone())
                .or_insert_with(|| ReplaceField::excluding(Target::Value, drop));
            record = t.apply(record)?.expect("ReplaceField keeps records");
        }
        Ok(record)
    }

    fn droppable(&self, schema: Option<&Schema>, names: &[String]) -> Vec<String> {
        match schema {
            Some(s) if self.keep_schema_compatible => s
                .fields
                .iter()
                .filter(|f| f.schema.optional && names.contains(&f.name))
                .map(|f| f.name.clone())
                .collect(),
            _ => names.to_vec(),
        }
    }
}
