//! What every transform shares: which half of the record it works on (`$Key` / `$Value`),
//! Connect's `Requirements` checks with its exact messages, `SchemaUtil.copySchemaBasics`, and
//! the per-schema cache that keeps derived schemas from being rebuilt per record.

use std::collections::HashMap;
use std::sync::Arc;

use crate::api::{InvalidConfig, Problem};
use crate::data::{
    ConnectRecord, Map, Schema, SchemaBuilder, SchemaRef, SchemaType, Struct, Value,
};

use super::TransformError;

/// The `$Key` or `$Value` variant of a transform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Key,
    Value,
}

impl Target {
    pub fn schema(self, r: &ConnectRecord) -> Option<&SchemaRef> {
        match self {
            Target::Key => r.key_schema.as_ref(),
            Target::Value => r.value_schema.as_ref(),
        }
    }

    pub fn value(self, r: &ConnectRecord) -> &Value {
        match self {
            Target::Key => &r.key,
            Target::Value => &r.value,
        }
    }

    /// Takes the schema and value out, leaving nulls, so a transform can rebuild them without
    /// cloning.
    pub fn take(self, r: &mut ConnectRecord) -> (Option<SchemaRef>, Value) {
        match self {
            Target::Key => (
                r.key_schema.take(),
                std::mem::replace(&mut r.key, Value::Null),
            ),
            Target::Value => (
                r.value_schema.take(),
                std::mem::replace(&mut r.value, Value::Null),
            ),
        }
    }

    pub fn set(self, r: &mut ConnectRecord, schema: Option<SchemaRef>, value: Value) {
        match self {
            Target::Key => {
                r.key_schema = schema;
                r.key = value;
            }
            Target::Value => {
                r.value_schema = schema;
                r.value = value;
            }
        }
    }
}

/// Connect's `Requirements.nullSafeClassName`, so error messages name the same Java classes
/// users see from the JVM worker.
pub fn java_class_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Boolean(_) => "java.lang.Boolean",
        Value::Int8(_) => "java.lang.Byte",
        Value::Int16(_) => "java.lang.Short",
        Value::Int32(_) => "java.lang.Integer",
        Value::Int64(_) => "java.lang.Long",
        Value::Float32(_) => "java.lang.Float",
        Value::Float64(_) => "java.lang.Double",
        Value::String(_) => "java.lang.String",
        Value::Bytes(_) => "[B",
        Value::Array(_) => "java.util.ArrayList",
        Value::Map(_) => "java.util.HashMap",
        Value::Struct(_) => "org.apache.kafka.connect.data.Struct",
        Value::Decimal(_) => "java.math.BigDecimal",
        Value::JavaDate(_) => "java.util.Date",
    }
}

pub fn require_struct(v: Value, purpose: &str) -> Result<Struct, TransformError> {
    match v {
        Value::Struct(s) => Ok(s),
        other => Err(TransformError::new(format!(
            "Only Struct objects supported for [{purpose}], found: {}",
            java_class_name(&other)
        ))),
    }
}

pub fn require_struct_ref<'v>(v: &'v Value, purpose: &str) -> Result<&'v Struct, TransformError> {
    match v {
        Value::Struct(s) => Ok(s),
        other => Err(TransformError::new(format!(
            "Only Struct objects supported for [{purpose}], found: {}",
            java_class_name(other)
        ))),
    }
}

/// Names in the order Java iterates them after putting them, in this order, into a `HashMap`
/// or `HashSet` whose first table has `capacity` buckets (a name put twice keeps its first
/// place): the order Connect's transforms walk their configured fields in, which decides where
/// a field missing from a schemaless map is added.
pub fn java_hash_order(names: impl IntoIterator<Item = String>, capacity: usize) -> Vec<String> {
    let mut entries: Vec<(Value, Value)> = Vec::new();
    for n in names {
        if !entries.iter().any(|(k, _)| k.as_str() == Some(n.as_str())) {
            entries.push((Value::String(n.into()), Value::Null));
        }
    }
    let order = crate::data::java_string::java_order_in_table(&entries, capacity);
    crate::data::java_string::in_order(entries, order)
        .into_iter()
        .filter_map(|(k, _)| k.as_str().map(str::to_string))
        .collect()
}

pub fn require_map(v: Value, purpose: &str) -> Result<Map, TransformError> {
    match v {
        Value::Map(m) => Ok(m),
        other => Err(TransformError::new(format!(
            "Only Map objects supported in absence of schema for [{purpose}], found: {}",
            java_class_name(&other)
        ))),
    }
}

pub fn require_map_ref<'v>(
    v: &'v Value,
    purpose: &str,
) -> Result<&'v [(Value, Value)], TransformError> {
    match v {
        Value::Map(m) => Ok(m),
        other => Err(TransformError::new(format!(
            "Only Map objects supported in absence of schema for [{purpose}], found: {}",
            java_class_name(other)
        ))),
    }
}

pub fn require_sink_offset(r: &ConnectRecord, purpose: &str) -> Result<i64, TransformError> {
    r.kafka_offset.ok_or_else(|| {
        TransformError::new(format!(
            "Only SinkRecord supported for [{purpose}], found: org.apache.kafka.connect.source.SourceRecord"
        ))
    })
}

/// Looks a key up in a schemaless map by its string key.
pub fn map_index(entries: &[(Value, Value)], key: &str) -> Option<usize> {
    entries.iter().position(|(k, _)| k.as_str() == Some(key))
}

/// `HashMap.put` on a schemaless map: replaces in place, or appends.
pub fn map_put(entries: &mut Vec<(Value, Value)>, key: &str, value: Value) {
    match map_index(entries, key) {
        Some(i) => entries[i].1 = value,
        None => entries.push((Value::String(key.to_string().into()), value)),
    }
}

/// `SchemaUtil.copySchemaBasics(source, builder)`: name, version, doc and parameters, nothing
/// else (not optionality, not the default).
pub fn copy_basics(source: &Schema, builder: SchemaBuilder) -> SchemaBuilder {
    builder
        .set_name(source.name.clone())
        .set_version(source.version)
        .set_doc_opt(source.doc.clone())
        .parameters(source.parameters.clone())
}

/// `SchemaUtil.copySchemaBasics(source)`: a builder of the same type (arrays keep their item
/// schema; maps and structs come out empty, as in Connect).
pub fn copy_basics_same_type(source: &Schema) -> SchemaBuilder {
    let b = match source.ty {
        SchemaType::Array => Schema::array(
            source
                .value_schema
                .clone()
                .expect("array schemas have items"),
        ),
        ty => Schema::builder(ty),
    };
    copy_basics(source, b)
}

trait DocOpt {
    fn set_doc_opt(self, doc: Option<String>) -> Self;
}

impl DocOpt for SchemaBuilder {
    fn set_doc_opt(self, doc: Option<String>) -> Self {
        match doc {
            Some(d) => self.doc(d),
            None => self,
        }
    }
}

/// Connect's `Struct.get(field)` (null replaced by the field's default) or `getWithoutDefault`.
pub fn field_value(value: Value, field_schema: &Schema, replace_null_with_default: bool) -> Value {
    match (value, &field_schema.default) {
        (Value::Null, Some(d)) if replace_null_with_default => d.clone(),
        (v, _) => v,
    }
}

/// Hashes schema addresses (already unique integers) with one multiply instead of SipHash:
/// the cache is consulted once per record per transform.
#[derive(Default)]
pub struct AddressHasher(u64);

impl std::hash::Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ *b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0.rotate_left(5) ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

pub type AddressMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<AddressHasher>>;

/// Derived schemas by input schema address, with the input `Arc` held so the address cannot be
/// reused. Bounded like Connect's LRU caches: full means cleared, which only costs a rebuild.
pub struct SchemaCache<T> {
    map: AddressMap<usize, (SchemaRef, T)>,
    cap: usize,
}

impl<T> Default for SchemaCache<T> {
    fn default() -> Self {
        SchemaCache::new(256)
    }
}

impl<T> SchemaCache<T> {
    pub fn new(cap: usize) -> SchemaCache<T> {
        SchemaCache {
            map: AddressMap::default(),
            cap: cap.max(1),
        }
    }

    pub fn peek(&self, schema: &SchemaRef) -> Option<&T> {
        self.map
            .get(&(Arc::as_ptr(schema) as usize))
            .map(|(_, v)| v)
    }

    pub fn get_or_try_insert<E>(
        &mut self,
        schema: &SchemaRef,
        build: impl FnOnce(&SchemaRef) -> Result<T, E>,
    ) -> Result<&T, E> {
        let key = Arc::as_ptr(schema) as usize;
        if !self.map.contains_key(&key) {
            if self.map.len() >= self.cap {
                self.map.clear();
            }
            let v = build(schema)?;
            self.map.insert(key, (schema.clone(), v));
        }
        Ok(&self.map[&key].1)
    }
}

/// Turns a settings accessor error into the `Problem` `create` reports.
pub fn problem(e: InvalidConfig) -> Problem {
    Problem::new(e.key.clone(), e.to_string())
}

/// A `Problem` in Connect's `ConfigException(name, value, message)` wording.
pub fn invalid(key: &str, value: &str, message: impl std::fmt::Display) -> Problem {
    Problem::new(
        key,
        format!("Invalid value {value} for configuration {key}: {message}"),
    )
}

/// Schemaless values as Connect infers their type (`ConnectSchema.schemaType`).
pub fn inferred_type(v: &Value) -> Option<SchemaType> {
    v.inferred_type()
}

#[cfg(test)]
pub mod testing {
    //! Builders for the records the unit tests push through transforms.
    use super::*;
    use crate::data::schemas;

    /// The value as FileStreamSink prints it (Java's `toString`).
    pub fn java_text(v: &Value) -> String {
        let mut out = Vec::new();
        crate::data::write_java_string(None, v, &mut out);
        String::from_utf8(out).unwrap()
    }

    pub fn smap(entries: &[(&str, Value)]) -> Value {
        Value::Map(
            entries
                .iter()
                .map(|(k, v)| (Value::String((*k).into()), v.clone()))
                .collect(),
        )
    }

    pub fn record_with_value(schema: Option<SchemaRef>, value: Value) -> ConnectRecord {
        ConnectRecord::new("test")
            .with_key(None, Value::Null)
            .with_value(schema, value)
    }

    pub fn simple_struct() -> (SchemaRef, Value) {
        let schema = Schema::struct_builder()
            .name("test.Simple")
            .field("id", schemas::int32())
            .field("name", schemas::optional_string())
            .field("flag", schemas::optional_boolean())
            .build();
        let mut s = Struct::new(schema.clone());
        s.put("id", Value::Int32(42));
        s.put("name", "Alice".into());
        s.put("flag", Value::Boolean(true));
        (schema, Value::Struct(s))
    }

    /// Creates a transform by class or alias from `key=value` pairs, as `validate` does.
    pub fn transform(
        class: &str,
        pairs: &[(&str, &str)],
    ) -> Result<Box<dyn crate::transform::Transformation>, crate::api::Problem> {
        let plugin = crate::transform::find_transform(class).expect("known transform");
        let values = settings_map(pairs);
        let s = crate::api::Settings::new(plugin.desc.config, &values);
        (plugin.create)(&s)
    }

    pub fn predicate(
        class: &str,
        pairs: &[(&str, &str)],
    ) -> Result<Box<dyn crate::transform::Predicate>, crate::api::Problem> {
        let plugin = crate::transform::find_predicate(class).expect("known predicate");
        let values = settings_map(pairs);
        let s = crate::api::Settings::new(plugin.desc.config, &values);
        (plugin.create)(&s)
    }

    pub fn settings_map(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}
