//! `add.fields` and `add.headers`: envelope fields (`op`, `source.ts_ms`) copied into the row
//! or its headers, with the plans worked out once per schema.

use std::sync::Arc;

use crate::data::{ConnectRecord, Schema, SchemaRef, Struct, Value};
use crate::transform::util::{copy_basics, copy_basics_same_type, require_struct};
use crate::transform::TransformError;

use super::ExtractNewRecordState;

/// One `add.fields` / `add.headers` entry: `op`, `source.ts_ms`, `table:TABLE_NAME`.
#[derive(Clone, Debug)]
pub(super) struct FieldRef {
    /// `source`, `transaction`, or none for the envelope's own fields.
    parent: Option<String>,
    field: String,
    new_name: String,
}

impl FieldRef {
    pub(super) fn parse(prefix: &str, spec: &str) -> Result<FieldRef, String> {
        // Java's String.split drops trailing empty strings.
        let mut parts: Vec<&str> = spec.split(':').collect();
        while parts.len() > 1 && parts.last() == Some(&"") {
            parts.pop();
        }
        let splits: Vec<&str> = parts[0].split('.').collect();
        let field = if splits.len() == 1 {
            splits[0]
        } else {
            splits[1]
        };
        let parent = if splits.len() == 1 {
            match field {
                "id" | "data_collection_order" | "total_order" => Some("transaction"),
                "op" | "ts_ms" | "ts_us" | "ts_ns" => None,
                "updateDescription" => Some("updateDescription"),
                _ => Some("source"),
            }
            .map(str::to_string)
        } else {
            Some(splits[0].to_string())
        };
        let new_name = match parts.len() {
            1 if splits.len() == 1 => format!("{prefix}{field}"),
            1 => format!("{prefix}{}_{field}", splits[0]),
            2 => format!("{prefix}{}", parts[1]),
            _ => return Err(format!("Unexpected field name: {spec}")),
        };
        Ok(FieldRef {
            parent,
            field: field.to_string(),
            new_name,
        })
    }

    /// The schema of the referenced field in the envelope, made optional, or `None` when the
    /// envelope has no such field (then Debezium adds nothing).
    fn schema(&self, envelope: &Schema) -> Option<SchemaRef> {
        let parent = match &self.parent {
            Some(p) => envelope.field(p).map(|f| &*f.schema),
            None => Some(envelope),
        };
        let field = parent
            .and_then(|p| p.field(&self.field))
            .or_else(|| envelope.field(&self.field))?;
        Some(copy_basics_same_type(&field.schema).optional().build())
    }
}

pub(super) type HeaderPlan = (SchemaRef, Vec<(String, SchemaRef, Access)>);

pub(super) struct AddPlan {
    /// Held so the addresses keying the cache stay theirs.
    _inputs: (SchemaRef, SchemaRef),
    schema: SchemaRef,
    /// Output index and where in the envelope its value comes from.
    sources: Vec<(usize, Access)>,
}

#[derive(Clone, Copy)]
pub(super) enum Access {
    /// A field of a struct-valued envelope field (`source.ts_ms`).
    Nested(usize, usize),
    /// A field of the envelope itself (`op`, `ts_ms`).
    Top(usize),
}

impl Access {
    fn resolve(r: &FieldRef, env: &Schema) -> Option<Access> {
        if let Some(p) = r.parent.as_deref().and_then(|p| env.field(p)) {
            if let Some(f) = p.schema.field(&r.field) {
                return Some(Access::Nested(p.index, f.index));
            }
        } else if r.parent.is_none() {
            if let Some(f) = env.field(&r.field) {
                return Some(Access::Top(f.index));
            }
        }
        env.field(&r.field).map(|f| Access::Top(f.index))
    }

    fn get(self, env: &Struct) -> Value {
        match self {
            Access::Top(i) => env.values[i].clone(),
            Access::Nested(p, i) => match &env.values[p] {
                Value::Struct(s) => s.values.get(i).cloned().unwrap_or(Value::Null),
                _ => Value::Null,
            },
        }
    }
}

impl ExtractNewRecordState {
    pub(super) fn add_headers(&mut self, record: &mut ConnectRecord) {
        match &record.value {
            Value::Struct(env) => {
                let key = Arc::as_ptr(&env.schema) as usize;
                if !self.header_cache.contains_key(&key) {
                    if self.header_cache.len() >= 64 {
                        self.header_cache.clear();
                    }
                    let plan = self
                        .add_headers
                        .iter()
                        .filter_map(|h| {
                            let schema = h.schema(&env.schema)?;
                            let access = Access::resolve(h, &env.schema)?;
                            Some((h.new_name.clone(), schema, access))
                        })
                        .collect();
                    self.header_cache.insert(key, (env.schema.clone(), plan));
                }
                for (name, schema, access) in &self.header_cache[&key].1 {
                    record
                        .headers
                        .add(name.clone(), Some(schema.clone()), access.get(env));
                }
            }
            _ => {
                for h in &self.add_headers {
                    if h.field == "op" {
                        record.headers.add_string(h.new_name.clone(), "d");
                    }
                }
            }
        }
    }

    pub(super) fn add_fields(
        &mut self,
        env: &Struct,
        mut row: ConnectRecord,
    ) -> Result<ConnectRecord, TransformError> {
        // Even with nothing to add Debezium rebuilds the row schema here, and the copy is
        // required (`copySchemaBasics` drops optionality): consumers see `"optional": false`.
        let value = require_struct(
            std::mem::replace(&mut row.value, Value::Null),
            "source field insertion",
        )?;
        let key = (
            Arc::as_ptr(&value.schema) as usize,
            Arc::as_ptr(&env.schema) as usize,
        );
        if !self.add_cache.contains_key(&key) {
            if self.add_cache.len() >= 64 {
                self.add_cache.clear();
            }
            let mut b = copy_basics(&value.schema, Schema::struct_builder());
            for f in &value.schema.fields {
                b = b.field(f.name.clone(), f.schema.clone());
            }
            let mut added = Vec::new();
            for r in &self.add_fields {
                if let (Some(s), Some(access)) =
                    (r.schema(&env.schema), Access::resolve(r, &env.schema))
                {
                    if b.fields().iter().all(|f| f.name != r.new_name) {
                        b = b.field(r.new_name.clone(), s);
                    }
                    added.push((r.new_name.clone(), access));
                }
            }
            let schema = b.build();
            let sources = added
                .into_iter()
                .map(|(name, a)| (schema.field(&name).expect("just added").index, a))
                .collect();
            self.add_cache.insert(
                key,
                AddPlan {
                    _inputs: (value.schema.clone(), env.schema.clone()),
                    schema,
                    sources,
                },
            );
        }
        let plan = &self.add_cache[&key];
        let mut values = value.values;
        values.resize(plan.schema.fields.len(), Value::Null);
        for (i, a) in &plan.sources {
            values[*i] = a.get(env);
        }
        row.value_schema = Some(plan.schema.clone());
        row.value = Value::Struct(Struct {
            schema: plan.schema.clone(),
            values,
        });
        Ok(row)
    }
}
