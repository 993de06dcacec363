//! Records as Connect has them: one shape for both directions (`ConnectRecord`), wrapped with
//! the source partition and offset on the way in, and with the Kafka coordinates on the way
//! out, so transforms and predicates need only one implementation.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::Arc;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map as JsonMap, Value as Json};
use smallvec::SmallVec;

use super::{CompactString, SchemaRef, Value};

#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    pub key: String,
    pub schema: Option<SchemaRef>,
    pub value: Value,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Headers(pub Vec<Header>);

impl Headers {
    pub fn new() -> Headers {
        Headers(Vec::new())
    }
    pub fn add(&mut self, key: impl Into<String>, schema: Option<SchemaRef>, value: Value) {
        self.0.push(Header {
            key: key.into(),
            schema,
            value,
        });
    }
    pub fn add_string(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.add(
            key,
            Some(super::schema::schemas::string()),
            Value::String(value.into().into()),
        );
    }
    /// The last header with this key, as Connect's `lastWithName`.
    pub fn last(&self, key: &str) -> Option<&Header> {
        self.0.iter().rev().find(|h| h.key == key)
    }
    pub fn remove_all(&mut self, key: &str) {
        self.0.retain(|h| h.key != key);
    }
    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.0.iter()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TimestampType {
    #[default]
    NoTimestampType,
    CreateTime,
    LogAppendTime,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConnectRecord {
    /// Inline up to 24 bytes: every record carries its topic, and a heap block per record
    /// for a name shared by all of a task's records was a measurable part of a source's cost.
    pub topic: CompactString,
    pub kafka_partition: Option<i32>,
    pub key_schema: Option<SchemaRef>,
    pub key: Value,
    pub value_schema: Option<SchemaRef>,
    pub value: Value,
    pub timestamp: Option<i64>,
    pub headers: Headers,
    /// Present on sink records only; InsertField's `offset.field` reads it.
    pub kafka_offset: Option<i64>,
}

impl ConnectRecord {
    pub fn new(topic: impl Into<CompactString>) -> ConnectRecord {
        ConnectRecord {
            topic: topic.into(),
            kafka_partition: None,
            key_schema: None,
            key: Value::Null,
            value_schema: None,
            value: Value::Null,
            timestamp: None,
            headers: Headers::new(),
            kafka_offset: None,
        }
    }

    pub fn with_key(mut self, schema: Option<SchemaRef>, key: Value) -> Self {
        self.key_schema = schema;
        self.key = key;
        self
    }

    pub fn with_value(mut self, schema: Option<SchemaRef>, value: Value) -> Self {
        self.value_schema = schema;
        self.value = value;
        self
    }

    pub fn is_tombstone(&self) -> bool {
        self.value.is_null()
    }
}

/// A source connector's partition (`{"filename": ..}`, `{"server": ..}`): shared because every
/// record of a partition carries the same one.
pub type SourcePartition = Arc<JsonMap<String, Json>>;

/// A source record's offset (`{"position": 42}`, Debezium's `{"lsn_proc": .., "lsn": ..}`):
/// named values in the order they were set, which is the order they are stored in.
///
/// Every record carries one and the worker keeps it until Kafka acknowledges the record, so a
/// typical offset (a handful of numbers and flags under static keys) lives inline: no heap
/// block per record. A heap block per record, alive for as long as up to 20,000 records are in
/// flight, cost a quarter of the source task thread's CPU in the PostgreSQL benchmarks. Six
/// fit: a streamed PostgreSQL change's (`lsn_proc`, `lsn_commit`, `lsn`, `txId`, `ts_usec`,
/// `lsn_events_processed`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SourceOffset(SmallVec<[(Cow<'static, str>, OffsetValue); 6]>);

/// One value of an offset. Positions, flags and names need no allocation beyond their own;
/// other JSON (a stored offset may hold anything) is kept as it was read.
#[derive(Clone, Debug, PartialEq)]
pub enum OffsetValue {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    String(Box<str>),
    Json(Box<Json>),
}

impl OffsetValue {
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            OffsetValue::U64(v) => Some(v),
            OffsetValue::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            OffsetValue::I64(v) => Some(v),
            OffsetValue::U64(v) => i64::try_from(v).ok(),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            OffsetValue::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn to_json(&self) -> Json {
        match self {
            OffsetValue::Null => Json::Null,
            OffsetValue::Bool(b) => Json::Bool(*b),
            OffsetValue::I64(v) => Json::from(*v),
            OffsetValue::U64(v) => Json::from(*v),
            OffsetValue::F64(v) => Json::from(*v),
            OffsetValue::String(s) => Json::String(s.to_string()),
            OffsetValue::Json(j) => (**j).clone(),
        }
    }
}

impl From<Json> for OffsetValue {
    fn from(j: Json) -> OffsetValue {
        match j {
            Json::Null => OffsetValue::Null,
            Json::Bool(b) => OffsetValue::Bool(b),
            Json::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(v), _, _) => OffsetValue::I64(v),
                (None, Some(v), _) => OffsetValue::U64(v),
                (None, None, Some(v)) => OffsetValue::F64(v),
                _ => OffsetValue::Json(Box::new(Json::Number(n))),
            },
            Json::String(s) => OffsetValue::String(s.into()),
            other => OffsetValue::Json(Box::new(other)),
        }
    }
}

macro_rules! offset_value_from {
    ($($t:ty => $v:ident as $as:ty),*) => {$(
        impl From<$t> for OffsetValue {
            fn from(v: $t) -> OffsetValue {
                OffsetValue::$v(v as $as)
            }
        }
    )*};
}
offset_value_from!(bool => Bool as bool, i32 => I64 as i64, i64 => I64 as i64,
    u32 => U64 as u64, u64 => U64 as u64, f64 => F64 as f64);

impl From<&str> for OffsetValue {
    fn from(s: &str) -> OffsetValue {
        OffsetValue::String(s.into())
    }
}

impl From<String> for OffsetValue {
    fn from(s: String) -> OffsetValue {
        OffsetValue::String(s.into())
    }
}

impl Serialize for OffsetValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            OffsetValue::Null => s.serialize_unit(),
            OffsetValue::Bool(b) => s.serialize_bool(*b),
            OffsetValue::I64(v) => s.serialize_i64(*v),
            OffsetValue::U64(v) => s.serialize_u64(*v),
            OffsetValue::F64(v) => s.serialize_f64(*v),
            OffsetValue::String(v) => s.serialize_str(v),
            OffsetValue::Json(j) => j.serialize(s),
        }
    }
}

/// One key of an offset and its value.
pub type OffsetEntry = (Cow<'static, str>, OffsetValue);

impl SourceOffset {
    pub fn new() -> SourceOffset {
        SourceOffset::default()
    }

    /// Moves the entries, in order, to the end of `out`: the worker keeps the offsets of
    /// records in flight packed there, a record's few entries instead of the whole inline
    /// capacity (a few hundred bytes) per record.
    pub fn move_entries(&mut self, out: &mut VecDeque<OffsetEntry>) {
        out.extend(self.0.drain(..));
    }

    /// Sets a key, replacing its value when it is already there.
    pub fn insert(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<OffsetValue>) {
        let key = key.into();
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    pub fn get(&self, key: &str) -> Option<&OffsetValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &OffsetValue)> {
        self.0.iter().map(|(k, v)| (&**k, v))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn to_json(&self) -> JsonMap<String, Json> {
        self.iter()
            .map(|(k, v)| (k.to_string(), v.to_json()))
            .collect()
    }
}

impl FromIterator<OffsetEntry> for SourceOffset {
    fn from_iter<I: IntoIterator<Item = OffsetEntry>>(entries: I) -> SourceOffset {
        SourceOffset(entries.into_iter().collect())
    }
}

impl From<JsonMap<String, Json>> for SourceOffset {
    fn from(m: JsonMap<String, Json>) -> SourceOffset {
        SourceOffset(
            m.into_iter()
                .map(|(k, v)| (Cow::Owned(k), OffsetValue::from(v)))
                .collect(),
        )
    }
}

impl Serialize for SourceOffset {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SourceRecord {
    pub partition: SourcePartition,
    pub offset: SourceOffset,
    pub record: ConnectRecord,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SinkRecord {
    pub record: ConnectRecord,
    pub kafka_offset: i64,
    pub timestamp_type: TimestampType,
}

impl SinkRecord {
    pub fn topic(&self) -> &str {
        &self.record.topic
    }
    pub fn partition(&self) -> i32 {
        self.record.kafka_partition.unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streamed_changes_offset_needs_no_heap_block() {
        let mut o = SourceOffset::new();
        for k in [
            "lsn_proc",
            "lsn_commit",
            "lsn",
            "txId",
            "ts_usec",
            "lsn_events_processed",
        ] {
            o.insert(k, 1u64);
        }
        assert!(!o.0.spilled());
    }

    #[test]
    fn offsets_keep_key_order_and_replace_in_place() {
        let mut row = SourceOffset::new();
        row.insert("last_snapshot_record", false);
        row.insert("lsn", 42u64);
        let mut last = row.clone();
        last.insert("last_snapshot_record", true);
        assert_eq!(
            row.get("last_snapshot_record")
                .and_then(OffsetValue::as_bool),
            Some(false)
        );
        assert_eq!(
            last.get("last_snapshot_record")
                .and_then(OffsetValue::as_bool),
            Some(true)
        );
        let keys: Vec<&str> = last.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["last_snapshot_record", "lsn"]);
        assert_eq!(
            serde_json::to_string(&last).unwrap(),
            r#"{"last_snapshot_record":true,"lsn":42}"#
        );
    }

    #[test]
    fn stored_offsets_round_trip_whatever_json_they_hold() {
        let text = r#"{"lsn":18446744073709551615,"txId":-3,"ts":1.5,"snapshot":true,"file":"a.txt","none":null,"nested":{"a":[1,2]}}"#;
        let map: JsonMap<String, Json> = serde_json::from_str(text).unwrap();
        let o = SourceOffset::from(map.clone());
        assert_eq!(serde_json::to_string(&o).unwrap(), text);
        assert_eq!(o.to_json(), map);
        assert_eq!(o.get("lsn").and_then(OffsetValue::as_u64), Some(u64::MAX));
        assert_eq!(o.get("lsn").and_then(OffsetValue::as_i64), None);
        assert_eq!(o.get("txId").and_then(OffsetValue::as_i64), Some(-3));
        assert_eq!(o.get("txId").and_then(OffsetValue::as_u64), None);
    }
}
