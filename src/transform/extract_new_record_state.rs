//! Debezium's `io.debezium.transforms.ExtractNewRecordState`: turns a change event envelope
//! into the row state after the change, as Debezium 3 does, for sinks that want flat rows.

use std::collections::HashMap;
use std::sync::Arc;

use crate::api::{ConfigKey, ConfigType, KeyDefault, Problem, Settings, Validator};
use crate::data::{ConnectRecord, Schema, SchemaRef, Struct, Value};

use super::insert_field::InsertField;
use super::replace_field::ReplaceField;
use super::util::{copy_basics, copy_basics_same_type, require_struct_ref, AddressMap, Target};
use super::{TransformError, Transformation};

pub const CLASS: &str = "io.debezium.transforms.ExtractNewRecordState";

pub const KEYS: &[ConfigKey] = &[
    ConfigKey::new("delete.tombstone.handling.mode", ConfigType::String, KeyDefault::Value("tombstone"),
        "How to handle delete records. Options are: drop - Remove the delete event and tombstone from the stream. \
         tombstone (default) - For each delete event, leave only a tombstone in the stream. \
         rewrite - Remove tombstone from the record, and add a `__deleted` field with the value `true`. \
         rewrite-with-tombstone - Retain tombstone in record and add a `__deleted` field with the value `true`. \
         delete-to-tombstone - Convert delete events to tombstone events and drop tombstone events.")
        .validator(Validator::OneOf(&["drop", "tombstone", "rewrite", "rewrite-with-tombstone", "delete-to-tombstone"])),
    ConfigKey::new("route.by.field", ConfigType::String, KeyDefault::Value(""),
        "The column which determines how the events will be routed, the value will replace the topic name."),
    ConfigKey::new("add.fields.prefix", ConfigType::String, KeyDefault::Value("__"),
        "Adds this prefix to each field listed."),
    ConfigKey::new("add.fields", ConfigType::List, KeyDefault::Value(""),
        "Adds each field listed, prefixed with __ (or __<struct>_ if the struct is specified). \
         Example: 'version,connector,source.ts_ms' would add __version, __connector and __source_ts_ms fields. \
         Optionally one can also map new field name like version:VERSION,connector:CONNECTOR,source.ts_ms:EVENT_TIMESTAMP."),
    ConfigKey::new("add.headers.prefix", ConfigType::String, KeyDefault::Value("__"),
        "Adds this prefix listed to each header."),
    ConfigKey::new("add.headers", ConfigType::List, KeyDefault::Value(""),
        "Adds each field listed to the header, __ (or __<struct>_ if the struct is specified). \
         Example: 'version,connector,source.ts_ms' would add __version, __connector and __source_ts_ms headers."),
    ConfigKey::new("replace.null.with.default", ConfigType::Boolean, KeyDefault::Value("true"),
        "When this option is enabled, null field values are replaced by source-defined defaults when rewriting the record."),
    ConfigKey::new("drop.fields.header.name", ConfigType::String, KeyDefault::None,
        "Specifies the name of a header that contains a list of fields to be removed from the event value."),
    ConfigKey::new("drop.fields.from.key", ConfigType::Boolean, KeyDefault::Value("false"),
        "Specifies whether to apply the drop fields behavior to the event key as well as the value."),
    ConfigKey::new("drop.fields.keep.schema.compatible", ConfigType::Boolean, KeyDefault::Value("true"),
        "true: dropped fields are removed if the schema indicates its optional leaving the schemas unchanged, \
         false: dropped fields are removed from the key/value schemas, regardless of optionality."),
];

/// Keys Debezium 1.x/2.x had and Debezium 3 no longer reads; they are ignored there too.
const REMOVED_KEYS: &[(&str, &str)] = &[
    ("drop.tombstones", "delete.tombstone.handling.mode"),
    ("delete.handling.mode", "delete.tombstone.handling.mode"),
    ("add.source.fields", "add.fields"),
    ("operation.header", "add.headers=op"),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Drop,
    Tombstone,
    Rewrite,
    RewriteWithTombstone,
    DeleteToTombstone,
}

/// One `add.fields` / `add.headers` entry: `op`, `source.ts_ms`, `table:TABLE_NAME`.
#[derive(Clone, Debug)]
struct FieldRef {
    /// `source`, `transaction`, or none for the envelope's own fields.
    parent: Option<String>,
    field: String,
    new_name: String,
}

impl FieldRef {
    fn parse(prefix: &str, spec: &str) -> Result<FieldRef, String> {
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

type HeaderPlan = (SchemaRef, Vec<(String, SchemaRef, Access)>);

struct AddPlan {
    /// Held so the addresses keying the cache stay theirs.
    _inputs: (SchemaRef, SchemaRef),
    schema: SchemaRef,
    /// Output index and where in the envelope its value comes from.
    sources: Vec<(usize, Access)>,
}

#[derive(Clone, Copy)]
enum Access {
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

pub fn create(s: &Settings<'_>) -> Result<Box<dyn Transformation>, Problem> {
    let key = |k: &str| format!("{}{k}", s.prefix);
    let mode = match s
        .choice("delete.tombstone.handling.mode")
        .map_err(super::util::problem)?
        .as_str()
    {
        "drop" => Mode::Drop,
        "rewrite" => Mode::Rewrite,
        "rewrite-with-tombstone" => Mode::RewriteWithTombstone,
        "delete-to-tombstone" => Mode::DeleteToTombstone,
        _ => Mode::Tombstone,
    };
    for (old, new) in REMOVED_KEYS {
        if s.is_set(old) {
            tracing::warn!(
                "{} is not read by Debezium 3's ExtractNewRecordState and is ignored; use {}{new}",
                key(old),
                s.prefix
            );
        }
    }
    let refs = |list_key: &str, prefix_key: &str| -> Result<Vec<FieldRef>, Problem> {
        let prefix = s.string(prefix_key).unwrap_or_default();
        s.list(list_key)
            .iter()
            .map(|spec| {
                FieldRef::parse(&prefix, spec).map_err(|m| {
                    super::util::invalid(&key(list_key), s.raw(list_key).unwrap_or(""), m)
                })
            })
            .collect()
    };
    let replace_null = s
        .bool("replace.null.with.default")
        .map_err(super::util::problem)?;
    let route = s.string("route.by.field").unwrap_or_default();
    Ok(Box::new(ExtractNewRecordState {
        mode,
        route_by_field: (!route.is_empty()).then_some(route),
        add_fields: refs("add.fields", "add.fields.prefix")?,
        add_headers: refs("add.headers", "add.headers.prefix")?,
        drop_fields_header: s.raw("drop.fields.header.name").map(str::to_string),
        drop_fields_from_key: s
            .bool("drop.fields.from.key")
            .map_err(super::util::problem)?,
        keep_schema_compatible: s
            .bool("drop.fields.keep.schema.compatible")
            .map_err(super::util::problem)?,
        removed: InsertField::static_value("__deleted", "true", replace_null),
        updated: InsertField::static_value("__deleted", "false", replace_null),
        add_cache: AddressMap::default(),
        header_cache: AddressMap::default(),
        drop_key: HashMap::new(),
        drop_value: HashMap::new(),
    }))
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
    fn add_headers(&mut self, record: &mut ConnectRecord) {
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

    fn add_fields(
        &mut self,
        env: &Struct,
        mut row: ConnectRecord,
    ) -> Result<ConnectRecord, TransformError> {
        // Even with nothing to add Debezium rebuilds the row schema here, and the copy is
        // required (`copySchemaBasics` drops optionality): consumers see `"optional": false`.
        let value = match std::mem::replace(&mut row.value, Value::Null) {
            Value::Struct(s) => s,
            other => {
                return Err(TransformError::new(format!(
                    "Only Struct objects supported for [source field insertion], found: {}",
                    super::util::java_class_name(&other)
                )))
            }
        };
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

    fn drop_fields(&mut self, mut record: ConnectRecord) -> Result<ConnectRecord, TransformError> {
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
        let mut env = match std::mem::replace(&mut record.value, Value::Null) {
            Value::Struct(s) => s,
            other => {
                return Err(TransformError::new(format!(
                    "Only Struct objects supported for [field extraction], found: {}",
                    super::util::java_class_name(&other)
                )))
            }
        };
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
                    row.topic = t;
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
                row.topic = t;
            }
        }
        let row = self.add_fields(&env, row)?;
        Ok(Some(self.drop_fields(row)?))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::util::testing::*;
    use crate::data::{schemas, ConnectRecord, Schema, SchemaRef, SchemaType, Struct, Value};

    pub struct Shapes {
        pub key: SchemaRef,
        pub row: SchemaRef,
        pub source: SchemaRef,
        pub envelope: SchemaRef,
    }

    /// The shape Debezium's PostgreSQL connector gives `dbserver1.public.customers`.
    pub fn shapes() -> Shapes {
        let key = Schema::struct_builder()
            .name("dbserver1.public.customers.Key")
            .field("id", schemas::int32())
            .build();
        let row = Schema::struct_builder()
            .name("dbserver1.public.customers.Value")
            .optional()
            .field("id", schemas::int32())
            .field("first_name", schemas::string())
            .field("email", schemas::optional_string())
            .field(
                "status",
                Schema::builder(SchemaType::String)
                    .optional()
                    .default_value(Value::from("active"))
                    .build(),
            )
            .build();
        let source = Schema::struct_builder()
            .name("io.debezium.connector.postgresql.Source")
            .field("version", schemas::string())
            .field("connector", schemas::string())
            .field("name", schemas::string())
            .field("ts_ms", schemas::int64())
            .field("db", schemas::string())
            .field("schema", schemas::string())
            .field("table", schemas::string())
            .field("lsn", schemas::optional_int64())
            .build();
        let envelope = Schema::struct_builder()
            .name("dbserver1.public.customers.Envelope")
            .version(2)
            .field("before", row.clone())
            .field("after", row.clone())
            .field("source", source.clone())
            .field("op", schemas::string())
            .field("ts_ms", schemas::optional_int64())
            .build();
        Shapes {
            key,
            row,
            source,
            envelope,
        }
    }

    pub fn row(s: &Shapes, id: i32, name: &str, status: Option<&str>) -> Value {
        let mut r = Struct::new(s.row.clone());
        r.put("id", Value::Int32(id));
        r.put("first_name", name.into());
        r.put("email", Value::from(format!("{name}@example.com")));
        r.put("status", status.map(Value::from).unwrap_or(Value::Null));
        Value::Struct(r)
    }

    pub fn event(s: &Shapes, op: &str, before: Value, after: Value) -> ConnectRecord {
        let mut src = Struct::new(s.source.clone());
        for (k, v) in [
            ("version", "3.6.3"),
            ("connector", "postgresql"),
            ("name", "dbserver1"),
            ("db", "inventory"),
            ("schema", "public"),
            ("table", "customers"),
        ] {
            src.put(k, v.into());
        }
        src.put("ts_ms", Value::Int64(1_700_000_000_000));
        src.put("lsn", Value::Int64(24_023_128));
        let mut env = Struct::new(s.envelope.clone());
        env.put("before", before);
        env.put("after", after);
        env.put("source", Value::Struct(src));
        env.put("op", op.into());
        env.put("ts_ms", Value::Int64(1_700_000_000_500));
        let mut key = Struct::new(s.key.clone());
        key.put("id", Value::Int32(1));
        ConnectRecord::new("dbserver1.public.customers")
            .with_key(Some(s.key.clone()), Value::Struct(key))
            .with_value(Some(s.envelope.clone()), Value::Struct(env))
    }

    pub fn tombstone(s: &Shapes) -> ConnectRecord {
        let mut r = event(s, "d", Value::Null, Value::Null);
        r.value_schema = None;
        r.value = Value::Null;
        r
    }

    const ENRS: &str = "io.debezium.transforms.ExtractNewRecordState";

    fn field_names(s: &Schema) -> Vec<&str> {
        s.fields.iter().map(|f| f.name.as_str()).collect()
    }

    #[test]
    fn default_mode_flattens_and_turns_deletes_into_tombstones() {
        let s = shapes();
        let mut t = transform(ENRS, &[]).unwrap();
        let out = t
            .apply(event(&s, "c", Value::Null, row(&s, 1, "Sally", None)))
            .unwrap()
            .unwrap();
        assert_eq!(out.topic, "dbserver1.public.customers");
        let schema = out.value_schema.clone().unwrap();
        assert_eq!(schema.fields, s.row.fields);
        assert_eq!(schema.name, s.row.name);
        assert!(
            !schema.optional,
            "Debezium rebuilds the row schema as required"
        );
        let expected = row(&s, 1, "Sally", None);
        assert_eq!(
            out.value.as_struct().unwrap().values,
            expected.as_struct().unwrap().values
        );
        assert_eq!(out.key_schema.as_ref(), Some(&s.key));
        // Delete: a null value that still carries the row schema, as Debezium's TOMBSTONE mode.
        let out = t
            .apply(event(&s, "d", row(&s, 1, "Sally", None), Value::Null))
            .unwrap()
            .unwrap();
        assert_eq!(out.value, Value::Null);
        assert_eq!(out.value_schema.as_ref(), Some(&s.row));
        // Debezium's own tombstone is dropped.
        assert!(t.apply(tombstone(&s)).unwrap().is_none());
        // Truncate: no row at all, dropped.
        assert!(t
            .apply(event(&s, "t", Value::Null, Value::Null))
            .unwrap()
            .is_none());
    }

    #[test]
    fn rewrite_adds_deleted_flag_and_defaults() {
        let s = shapes();
        let mut t = transform(ENRS, &[("delete.tombstone.handling.mode", "rewrite")]).unwrap();
        let out = t
            .apply(event(&s, "u", Value::Null, row(&s, 1, "Sally", None)))
            .unwrap()
            .unwrap();
        let schema = out.value_schema.clone().unwrap();
        assert_eq!(
            schema.name.as_deref(),
            Some("dbserver1.public.customers.Value")
        );
        assert!(
            !schema.optional,
            "InsertField rebuilds the struct schema as required"
        );
        assert_eq!(
            field_names(&schema),
            ["id", "first_name", "email", "status", "__deleted"]
        );
        assert!(schema.field("__deleted").unwrap().schema.optional);
        let v = out.value.as_struct().unwrap();
        assert_eq!(v.get("__deleted"), Some(&Value::from("false")));
        // replace.null.with.default=true: a null column with a default takes it.
        assert_eq!(v.get("status"), Some(&Value::from("active")));
        let out = t
            .apply(event(
                &s,
                "d",
                row(&s, 1, "Sally", Some("gone")),
                Value::Null,
            ))
            .unwrap()
            .unwrap();
        let v = out.value.as_struct().unwrap();
        assert_eq!(v.get("__deleted"), Some(&Value::from("true")));
        assert_eq!(v.get("first_name"), Some(&Value::from("Sally")));
        assert_eq!(out.value_schema.as_ref(), Some(&schema));
        assert!(t.apply(tombstone(&s)).unwrap().is_none());

        let mut t = transform(
            ENRS,
            &[
                ("delete.tombstone.handling.mode", "rewrite"),
                ("replace.null.with.default", "false"),
            ],
        )
        .unwrap();
        let out = t
            .apply(event(&s, "c", Value::Null, row(&s, 1, "Sally", None)))
            .unwrap()
            .unwrap();
        assert_eq!(
            out.value.as_struct().unwrap().get("status"),
            Some(&Value::Null)
        );
    }

    #[test]
    fn tombstone_modes() {
        let s = shapes();
        let del = || event(&s, "d", row(&s, 1, "Sally", None), Value::Null);
        let mut t = transform(
            ENRS,
            &[("delete.tombstone.handling.mode", "rewrite-with-tombstone")],
        )
        .unwrap();
        assert_eq!(t.apply(tombstone(&s)).unwrap().unwrap(), tombstone(&s));
        let out = t.apply(del()).unwrap().unwrap();
        assert_eq!(
            out.value.as_struct().unwrap().get("__deleted"),
            Some(&Value::from("true"))
        );

        let mut t = transform(
            ENRS,
            &[("delete.tombstone.handling.mode", "delete-to-tombstone")],
        )
        .unwrap();
        let out = t.apply(del()).unwrap().unwrap();
        assert_eq!((out.value_schema, out.value), (None, Value::Null));
        assert!(
            out.key.as_struct().is_some(),
            "the key stays for compaction"
        );
        assert!(t.apply(tombstone(&s)).unwrap().is_none());

        let mut t = transform(ENRS, &[("delete.tombstone.handling.mode", "drop")]).unwrap();
        assert!(t.apply(del()).unwrap().is_none());
        assert!(t.apply(tombstone(&s)).unwrap().is_none());
        assert!(t
            .apply(event(&s, "c", Value::Null, row(&s, 1, "A", None)))
            .unwrap()
            .is_some());

        let e = transform(ENRS, &[("delete.tombstone.handling.mode", "nope")])
            .err()
            .unwrap();
        assert_eq!(e.key, "delete.tombstone.handling.mode");
        assert!(e.message.contains("Invalid value nope"), "{}", e.message);
    }

    #[test]
    fn add_fields_and_headers_with_prefixes_and_renames() {
        // Debezium docs: add.fields=op,table,source.ts_ms → __op, __table, __source_ts_ms.
        let s = shapes();
        let mut t = transform(
            ENRS,
            &[
                ("add.fields", "op,table,source.ts_ms,lsn:LSN,ts_ms"),
                ("add.headers", "op,source.db"),
                ("add.headers.prefix", "dbz_"),
            ],
        )
        .unwrap();
        let out = t
            .apply(event(&s, "c", Value::Null, row(&s, 1, "Sally", None)))
            .unwrap()
            .unwrap();
        let schema = out.value_schema.clone().unwrap();
        assert_eq!(
            field_names(&schema),
            [
                "id",
                "first_name",
                "email",
                "status",
                "__op",
                "__table",
                "__source_ts_ms",
                "__LSN",
                "__ts_ms"
            ]
        );
        assert_eq!(
            schema.name.as_deref(),
            Some("dbserver1.public.customers.Value")
        );
        assert!(schema.fields[4..].iter().all(|f| f.schema.optional));
        let v = out.value.as_struct().unwrap();
        assert_eq!(v.get("__op"), Some(&Value::from("c")));
        assert_eq!(v.get("__table"), Some(&Value::from("customers")));
        assert_eq!(
            v.get("__source_ts_ms"),
            Some(&Value::Int64(1_700_000_000_000))
        );
        assert_eq!(v.get("__LSN"), Some(&Value::Int64(24_023_128)));
        assert_eq!(v.get("__ts_ms"), Some(&Value::Int64(1_700_000_000_500)));
        assert_eq!(out.headers.last("dbz_op").unwrap().value, Value::from("c"));
        assert_eq!(
            out.headers.last("dbz_source_db").unwrap().value,
            Value::from("inventory")
        );
        assert!(
            out.headers
                .last("dbz_op")
                .unwrap()
                .schema
                .as_ref()
                .unwrap()
                .optional
        );

        // A rewritten delete gets the fields too; the tombstone only an "op" header of "d".
        let mut t = transform(
            ENRS,
            &[
                ("delete.tombstone.handling.mode", "rewrite-with-tombstone"),
                ("add.fields", "op"),
                ("add.headers", "op"),
            ],
        )
        .unwrap();
        let out = t
            .apply(event(&s, "d", row(&s, 1, "Sally", None), Value::Null))
            .unwrap()
            .unwrap();
        let v = out.value.as_struct().unwrap();
        assert_eq!(v.get("__deleted"), Some(&Value::from("true")));
        assert_eq!(v.get("__op"), Some(&Value::from("d")));
        let out = t.apply(tombstone(&s)).unwrap().unwrap();
        assert_eq!(out.headers.last("__op").unwrap().value, Value::from("d"));
    }

    #[test]
    fn route_by_field_and_non_envelopes() {
        let s = shapes();
        let mut t = transform(ENRS, &[("route.by.field", "first_name")]).unwrap();
        let out = t
            .apply(event(&s, "c", Value::Null, row(&s, 1, "Sally", None)))
            .unwrap()
            .unwrap();
        assert_eq!(out.topic, "Sally");
        let out = t
            .apply(event(&s, "d", row(&s, 1, "Bob", None), Value::Null))
            .unwrap()
            .unwrap();
        assert_eq!(out.topic, "Bob");
        // Heartbeats and other non-envelope records pass unchanged.
        let r = record_with_value(Some(schemas::string()), Value::from("hb"));
        assert_eq!(t.apply(r.clone()).unwrap().unwrap(), r);
        let r = record_with_value(None, smap(&[("a", Value::Int32(1))]));
        assert_eq!(t.apply(r.clone()).unwrap().unwrap(), r);
    }

    #[test]
    fn drop_fields_from_header_list() {
        let s = shapes();
        let names = Value::Array(vec!["email".into(), "first_name".into(), "id".into()]);
        let with_header = |mut r: ConnectRecord| {
            r.headers.add("dropme", None, names.clone());
            r
        };
        let mut t = transform(
            ENRS,
            &[
                ("drop.fields.header.name", "dropme"),
                ("drop.fields.from.key", "true"),
            ],
        )
        .unwrap();
        let out = t
            .apply(with_header(event(
                &s,
                "c",
                Value::Null,
                row(&s, 1, "Sally", None),
            )))
            .unwrap()
            .unwrap();
        // Keeping schemas compatible: only optional fields go.
        assert_eq!(
            field_names(out.value_schema.as_ref().unwrap()),
            ["id", "first_name", "status"]
        );
        assert_eq!(field_names(out.key_schema.as_ref().unwrap()), ["id"]);
        let mut t = transform(
            ENRS,
            &[
                ("drop.fields.header.name", "dropme"),
                ("drop.fields.from.key", "true"),
                ("drop.fields.keep.schema.compatible", "false"),
            ],
        )
        .unwrap();
        let out = t
            .apply(with_header(event(
                &s,
                "c",
                Value::Null,
                row(&s, 1, "Sally", None),
            )))
            .unwrap()
            .unwrap();
        assert_eq!(field_names(out.value_schema.as_ref().unwrap()), ["status"]);
        assert!(out.key_schema.as_ref().unwrap().fields.is_empty());
    }
}
