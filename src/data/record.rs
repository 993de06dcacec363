//! Records as Connect has them: one shape for both directions (`ConnectRecord`), wrapped with
//! the source partition and offset on the way in, and with the Kafka coordinates on the way
//! out, so transforms and predicates need only one implementation.

use std::borrow::Cow;
use std::sync::Arc;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map as JsonMap, Value as Json};

use super::{SchemaRef, Value};

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
    pub topic: String,
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
    pub fn new(topic: impl Into<String>) -> ConnectRecord {
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
/// named JSON values in the order they were set, which is the order they are stored in.
/// Every record carries one, so it is a list with mostly static keys (one allocation instead
/// of a map with owned, hashed keys), shared on clone: a snapshot's rows all carry the same
/// offset, built once and counted, not copied, per row.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SourceOffset(Arc<Vec<(Cow<'static, str>, Json)>>);

impl SourceOffset {
    pub fn new() -> SourceOffset {
        SourceOffset::default()
    }

    pub fn with_capacity(n: usize) -> SourceOffset {
        SourceOffset(Arc::new(Vec::with_capacity(n)))
    }

    /// Sets a key, replacing its value when it is already there (copying the entries first
    /// when they are shared with a clone).
    pub fn insert(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<Json>) {
        let key = key.into();
        let value = value.into();
        let entries = Arc::make_mut(&mut self.0);
        match entries.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => entries.push((key, value)),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Json> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Json)> {
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
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }
}

impl From<JsonMap<String, Json>> for SourceOffset {
    fn from(m: JsonMap<String, Json>) -> SourceOffset {
        SourceOffset(Arc::new(
            m.into_iter().map(|(k, v)| (Cow::Owned(k), v)).collect(),
        ))
    }
}

impl Serialize for SourceOffset {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0.iter() {
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
    fn offsets_shared_by_clones_change_only_where_set() {
        let mut row = SourceOffset::with_capacity(2);
        row.insert("last_snapshot_record", false);
        row.insert("lsn", 42u64);
        let mut last = row.clone();
        last.insert("last_snapshot_record", true);
        assert_eq!(row.get("last_snapshot_record"), Some(&Json::Bool(false)));
        assert_eq!(last.get("last_snapshot_record"), Some(&Json::Bool(true)));
        // Replacing keeps the key's place: offsets are stored in the order they were set.
        let keys: Vec<&str> = last.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["last_snapshot_record", "lsn"]);
        assert_eq!(
            serde_json::to_string(&last).unwrap(),
            r#"{"last_snapshot_record":true,"lsn":42}"#
        );
    }
}
