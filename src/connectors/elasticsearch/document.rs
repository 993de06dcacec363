//! Turns sink records into bulk actions the way Confluent's `DataConverter` does: document
//! ids, index names, external versions and the JSON payload (Decimal as a double, maps
//! compact or as key/value entries).
//!
//! Over 600 lines only with its tests: the code itself is about 450.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map as JsonMap, Value as Json};

use super::config::{EsConfig, NullValues, WriteMethod};
use crate::data::json::{write_value, JsonOptions};
use crate::data::schema::DECIMAL_NAME;
use crate::data::{Schema, SchemaType, SinkRecord, Value};

/// A record that cannot become a document (Connect's `DataException`): the task fails unless
/// `drop.invalid.message` is set.
#[derive(Debug, thiserror::Error)]
#[error("record from topic={topic} partition={partition} offset={offset}: {message}")]
pub struct InvalidRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub message: String,
}

/// What one record becomes.
pub struct Encoded {
    /// Where the document goes (an index or a data stream).
    pub index: Arc<str>,
    /// A version conflict on this action means Elasticsearch already has this or newer data
    /// (an external version), or this very record (a data stream's create).
    pub versioned: bool,
    /// Non-zero for a document addressed by the record's key (index, delete, upsert): a hash
    /// of index and id. A request holding one waits while another request with the same
    /// document is in flight, so a delete is never overtaken by an older write (a retried
    /// request) and correctness does not rest on Elasticsearch keeping delete versions
    /// (`index.gc_deletes`). Zero where ids never repeat (key.ignore, data streams).
    pub ordered_key: u64,
}

const OPTS: JsonOptions = JsonOptions {
    schemas_enable: false,
    decimal_numeric: true,
    replace_null_with_default: true,
    cache_size: 0,
};

/// The index a topic's records go to: Elasticsearch's naming rules applied to the topic.
pub fn index_name(topic: &str) -> String {
    let mut name = topic.to_lowercase();
    let trimmed = name.trim_start_matches(['-', '_', '+']);
    if trimmed.len() != name.len() {
        name = trimmed.to_string();
    }
    if name.len() > 255 {
        let mut end = 255;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
    }
    match name.as_str() {
        "." => "dot".into(),
        ".." => "dotdot".into(),
        _ => name,
    }
}

pub struct DocumentWriter {
    cfg: Arc<EsConfig>,
    targets: HashMap<String, Arc<str>>,
    id_buf: String,
}

impl DocumentWriter {
    pub fn new(cfg: Arc<EsConfig>) -> DocumentWriter {
        DocumentWriter {
            cfg,
            targets: HashMap::new(),
            id_buf: String::with_capacity(64),
        }
    }

    /// The index or data stream of a topic, worked out once per topic.
    pub fn target(&mut self, topic: &str) -> Arc<str> {
        if let Some(t) = self.targets.get(topic) {
            return t.clone();
        }
        let name: Arc<str> = match &self.cfg.data_stream {
            Some((ty, dataset)) => {
                let ns = self.cfg.data_stream_namespace.replace("${topic}", topic);
                format!("{ty}-{dataset}-{ns}").to_lowercase().into()
            }
            None => index_name(topic).into(),
        };
        self.targets.insert(topic.to_string(), name.clone());
        name
    }

    /// Appends the record's bulk action (and document) to `out`. `Ok(None)`: nothing to write.
    pub fn encode(
        &mut self,
        r: &SinkRecord,
        out: &mut Vec<u8>,
    ) -> Result<Option<Encoded>, InvalidRecord> {
        let topic = r.topic();
        let invalid = |message: String| InvalidRecord {
            topic: topic.to_string(),
            partition: r.partition(),
            offset: r.kafka_offset,
            message,
        };
        let rec = &r.record;
        let cfg = self.cfg.clone();
        if rec.value.is_null() {
            match cfg.null_values {
                NullValues::Ignore => return Ok(None),
                NullValues::Delete if rec.key.is_null() => return Ok(None),
                NullValues::Delete => {}
                NullValues::Fail => {
                    return Err(invalid(
                        "has a null value (to ignore future records like this change the configuration property 'behavior.on.null.values' from 'fail' to 'ignore', or to 'delete' to delete documents by key)".into(),
                    ))
                }
            }
        }
        let ignore_key = cfg.ignore_key(topic);
        self.id_buf.clear();
        if ignore_key {
            use std::fmt::Write;
            let _ = write!(
                self.id_buf,
                "{}+{}+{}",
                topic,
                r.partition(),
                r.kafka_offset
            );
        } else {
            document_id(rec.key_schema.as_deref(), &rec.key, &mut self.id_buf).map_err(invalid)?;
        }
        let index = self.target(topic);
        let data_stream = cfg.data_stream.is_some();
        let version = if !data_stream && !ignore_key {
            Some(self.version(r).map_err(invalid)?)
        } else {
            None
        };
        let start = out.len();
        let ordered_key = if ignore_key || data_stream {
            0
        } else {
            key_hash(&index, &self.id_buf)
        };
        if rec.value.is_null() {
            action_line(out, "delete", &index, &self.id_buf, version, None);
            return Ok(Some(Encoded {
                index,
                versioned: version.is_some(),
                ordered_key,
            }));
        }
        let payload_start;
        match (cfg.write_method, data_stream) {
            (WriteMethod::Upsert, false) => {
                let retries = cfg.max_in_flight.min(5);
                action_line(out, "update", &index, &self.id_buf, None, Some(retries));
                out.extend_from_slice(b"{\"doc\":");
                payload_start = out.len();
                self.payload(r, out).map_err(&invalid)?;
                let doc = out[payload_start..].to_vec();
                out.extend_from_slice(b",\"upsert\":");
                out.extend_from_slice(&doc);
                out.extend_from_slice(b"}\n");
                return Ok(Some(Encoded {
                    index,
                    versioned: false,
                    ordered_key,
                }));
            }
            (_, true) => action_line(out, "create", &index, &self.id_buf, None, None),
            (_, false) => action_line(out, "index", &index, &self.id_buf, version, None),
        }
        payload_start = out.len();
        if let Err(e) = self.payload(r, out) {
            out.truncate(start);
            return Err(invalid(e));
        }
        if data_stream {
            if let Err(e) = self.add_timestamp(r, out, payload_start) {
                out.truncate(start);
                return Err(invalid(e));
            }
        }
        out.push(b'\n');
        Ok(Some(Encoded {
            index,
            versioned: version.is_some() || data_stream,
            ordered_key,
        }))
    }

    fn version(&self, r: &SinkRecord) -> Result<i64, String> {
        let Some(h) = &self.cfg.external_version_header else {
            return Ok(r.kafka_offset);
        };
        let header = r.record.headers.last(h).ok_or_else(|| {
            format!("has no header {h} (external.version.header) to take the document version from")
        })?;
        let text = header.value.to_display_string();
        text.trim()
            .parse::<i64>()
            .map_err(|_| format!("header {h} (external.version.header) is {text:?}, not a long"))
    }

    fn payload(&self, r: &SinkRecord, out: &mut Vec<u8>) -> Result<(), String> {
        let rec = &r.record;
        let schema = rec.value_schema.as_deref();
        match schema {
            Some(s) if !self.cfg.ignore_schema(r.topic()) => {
                write_es(out, s, &rec.value, self.cfg.compact_map_entries)
            }
            _ => write_value(out, schema, &rec.value, OPTS).map_err(|e| e.0),
        }
    }

    /// Data streams need `@timestamp`: from the first configured field present, else the
    /// record's timestamp, as Confluent's connector sets it.
    fn add_timestamp(&self, r: &SinkRecord, out: &mut Vec<u8>, start: usize) -> Result<(), String> {
        if out.last() != Some(&b'}') || out.get(start) != Some(&b'{') {
            return Err("a data stream document must be a JSON object".into());
        }
        let value = &r.record.value;
        let field = |name: &str| -> Option<&Value> {
            match value {
                Value::Struct(s) => s.get(name),
                Value::Map(_) => value.map_get(name),
                _ => None,
            }
        };
        let mut ts: Option<Vec<u8>> = None;
        if self.cfg.data_stream_timestamp_fields.is_empty() {
            if let Some(t) = r.record.timestamp {
                ts = Some(itoa::Buffer::new().format(t).as_bytes().to_vec());
            } else {
                ts = Some(b"null".to_vec());
            }
        } else {
            for f in &self.cfg.data_stream_timestamp_fields {
                if let Some(v) = field(f).filter(|v| !v.is_null()) {
                    let text = match v {
                        Value::String(s) => s.to_string(),
                        other => other.to_display_string(),
                    };
                    let mut b = Vec::with_capacity(text.len() + 2);
                    serde_json::to_writer(&mut b, &text).map_err(|e| e.to_string())?;
                    ts = Some(b);
                    break;
                }
            }
        }
        let Some(ts) = ts else {
            // Confluent leaves the document as it is; Elasticsearch then rejects it as malformed.
            return Ok(());
        };
        if field("@timestamp").is_some() {
            let mut doc: JsonMap<String, Json> =
                serde_json::from_slice(&out[start..]).map_err(|e| e.to_string())?;
            doc.insert(
                "@timestamp".into(),
                serde_json::from_slice(&ts).map_err(|e| e.to_string())?,
            );
            out.truncate(start);
            serde_json::to_writer(&mut *out, &doc).map_err(|e| e.to_string())?;
            return Ok(());
        }
        out.pop();
        if out.len() > start + 1 {
            out.push(b',');
        }
        out.extend_from_slice(b"\"@timestamp\":");
        out.extend_from_slice(&ts);
        out.push(b'}');
        Ok(())
    }
}

fn key_hash(index: &str, id: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    index.hash(&mut h);
    id.hash(&mut h);
    h.finish().max(1)
}

fn action_line(
    out: &mut Vec<u8>,
    op: &str,
    index: &str,
    id: &str,
    version: Option<i64>,
    retry_on_conflict: Option<usize>,
) {
    out.extend_from_slice(b"{\"");
    out.extend_from_slice(op.as_bytes());
    out.extend_from_slice(b"\":{\"_index\":");
    let _ = serde_json::to_writer(&mut *out, index);
    out.extend_from_slice(b",\"_id\":");
    let _ = serde_json::to_writer(&mut *out, id);
    let mut n = itoa::Buffer::new();
    if let Some(v) = version {
        out.extend_from_slice(b",\"version_type\":\"external\",\"version\":");
        out.extend_from_slice(n.format(v).as_bytes());
    }
    if let Some(r) = retry_on_conflict {
        out.extend_from_slice(b",\"retry_on_conflict\":");
        out.extend_from_slice(n.format(r).as_bytes());
    }
    out.extend_from_slice(b"}}\n");
}

/// The document id from a key: strings and integers as Confluent takes them. Struct and map
/// keys (Debezium's primary-key structs) become their compact JSON, where Confluent would
/// fail the task, so change-data topics can be indexed and deleted by key as they are.
pub fn document_id(schema: Option<&Schema>, key: &Value, out: &mut String) -> Result<(), String> {
    use std::fmt::Write;
    let ty = match schema {
        Some(s) => Some(s.ty),
        None => key.inferred_type(),
    };
    if key.is_null() {
        return Err("Key is used as document id and can not be null (set key.ignore=true to use topic+partition+offset ids)".into());
    }
    match (ty, key) {
        (_, Value::String(s)) => out.push_str(s),
        (_, Value::Int8(v)) => {
            let _ = write!(out, "{v}");
        }
        (_, Value::Int16(v)) => {
            let _ = write!(out, "{v}");
        }
        (_, Value::Int32(v)) => {
            let _ = write!(out, "{v}");
        }
        (_, Value::Int64(v)) => {
            let _ = write!(out, "{v}");
        }
        (_, Value::Struct(_)) | (_, Value::Map(_)) => {
            let mut buf = Vec::with_capacity(64);
            write_value(&mut buf, schema, key, OPTS).map_err(|e| e.0)?;
            out.push_str(&String::from_utf8_lossy(&buf));
        }
        (t, _) => {
            let name = t
                .map(|t| t.connect_name().to_ascii_uppercase())
                .unwrap_or_else(|| "UNKNOWN".into());
            return Err(format!(
                "{name} is not supported as the document id (use a string, integer or struct key, or key.ignore=true)"
            ));
        }
    }
    if out.is_empty() {
        return Err("Key is used as document id and can not be empty".into());
    }
    Ok(())
}

/// The payload as Confluent writes it when it uses the schema: Decimal as a double, Date/Time/
/// Timestamp as their numbers, string-keyed maps as objects only with `compact.map.entries`,
/// other maps as arrays of `{"key":..,"value":..}`.
pub fn write_es(out: &mut Vec<u8>, s: &Schema, v: &Value, compact: bool) -> Result<(), String> {
    if v.is_null() {
        if let Some(d) = &s.default {
            return write_es(out, s, d, compact);
        }
        if s.optional {
            out.extend_from_slice(b"null");
            return Ok(());
        }
        return Err("null value for field that is required and has no default value".into());
    }
    if s.is_named(DECIMAL_NAME) {
        let f = match v {
            Value::Decimal(d) => d.to_f64(),
            other => other.as_f64().unwrap_or(f64::NAN),
        };
        return write_value(out, None, &Value::Float64(f), OPTS).map_err(|e| e.0);
    }
    match (s.ty, v) {
        (SchemaType::Array, Value::Array(items)) => {
            let item = s.value_schema.as_deref();
            out.push(b'[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                match item {
                    Some(is) => write_es(out, is, x, compact)?,
                    None => write_value(out, None, x, OPTS).map_err(|e| e.0)?,
                }
            }
            out.push(b']');
        }
        (SchemaType::Map, Value::Map(entries)) => {
            let (ks, vs) = (s.key_schema.as_deref(), s.value_schema.as_deref());
            let string_keys = ks.map(|k| k.ty == SchemaType::String).unwrap_or(false);
            let write_part = |out: &mut Vec<u8>, sch: Option<&Schema>, x: &Value| match sch {
                Some(sc) => write_es(out, sc, x, compact),
                None => write_value(out, None, x, OPTS).map_err(|e| e.0),
            };
            if compact && string_keys {
                out.push(b'{');
                for (i, (k, x)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    let key = match k {
                        Value::String(s) => std::borrow::Cow::Borrowed(s.as_str()),
                        other => std::borrow::Cow::Owned(other.to_display_string()),
                    };
                    serde_json::to_writer(&mut *out, key.as_ref()).map_err(|e| e.to_string())?;
                    out.push(b':');
                    write_part(out, vs, x)?;
                }
                out.push(b'}');
            } else {
                out.push(b'[');
                for (i, (k, x)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(b"{\"key\":");
                    write_part(out, ks, k)?;
                    out.extend_from_slice(b",\"value\":");
                    write_part(out, vs, x)?;
                    out.push(b'}');
                }
                out.push(b']');
            }
        }
        (SchemaType::Struct, Value::Struct(st)) => {
            out.push(b'{');
            for (i, f) in st.schema.fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, &f.name).map_err(|e| e.to_string())?;
                out.push(b':');
                write_es(out, &f.schema, &st.values[f.index], compact)
                    .map_err(|e| format!("{e} (field {})", f.name))?;
            }
            out.push(b'}');
        }
        _ => write_value(out, Some(s), v, OPTS).map_err(|e| e.0)?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::schema::DATE_NAME;
    use crate::data::{schemas, ConnectRecord, Decimal, Struct, TimestampType};
    use std::collections::BTreeMap;

    fn cfg(extra: &[(&str, &str)]) -> Arc<EsConfig> {
        let mut m = BTreeMap::new();
        m.insert(
            "connection.url".to_string(),
            "http://localhost:9200".to_string(),
        );
        for (k, v) in extra {
            m.insert(k.to_string(), v.to_string());
        }
        Arc::new(EsConfig::from_values(&m).unwrap())
    }

    fn record(
        key: Value,
        value_schema: Option<crate::data::SchemaRef>,
        value: Value,
    ) -> SinkRecord {
        SinkRecord {
            record: ConnectRecord::new("Orders")
                .with_key(None, key)
                .with_value(value_schema, value),
            kafka_offset: 42,
            timestamp_type: TimestampType::CreateTime,
        }
    }

    fn encode(c: Arc<EsConfig>, r: &SinkRecord) -> Result<Option<String>, InvalidRecord> {
        let mut w = DocumentWriter::new(c);
        let mut out = Vec::new();
        Ok(w.encode(r, &mut out)?
            .map(|_| String::from_utf8(out).unwrap()))
    }

    #[test]
    fn index_names_follow_elasticsearch_rules() {
        assert_eq!(index_name("My.Topic"), "my.topic");
        assert_eq!(index_name("_private"), "private");
        assert_eq!(index_name("-x"), "x");
        assert_eq!(index_name("."), "dot");
        assert_eq!(index_name(".."), "dotdot");
        assert_eq!(index_name(&"a".repeat(300)).len(), 255);
    }

    #[test]
    fn keyed_insert_uses_external_version_by_offset() {
        let r = record(
            Value::String("k1".into()),
            None,
            Value::Map(vec![("a".into(), Value::Int64(1))].into()),
        );
        let text = encode(cfg(&[]), &r).unwrap().unwrap();
        assert_eq!(
            text,
            "{\"index\":{\"_index\":\"orders\",\"_id\":\"k1\",\"version_type\":\"external\",\"version\":42}}\n{\"a\":1}\n"
        );
    }

    #[test]
    fn ignored_key_gives_topic_partition_offset_ids_without_version() {
        let r = record(
            Value::Null,
            None,
            Value::Map(vec![("a".into(), Value::Int64(1))].into()),
        );
        let text = encode(cfg(&[("key.ignore", "true")]), &r).unwrap().unwrap();
        assert!(
            text.starts_with("{\"index\":{\"_index\":\"orders\",\"_id\":\"Orders+0+42\"}}\n"),
            "{text}"
        );
        let text = encode(cfg(&[("topic.key.ignore", "Orders")]), &r)
            .unwrap()
            .unwrap();
        assert!(text.contains("\"_id\":\"Orders+0+42\""), "{text}");
    }

    #[test]
    fn null_keys_and_unsupported_keys_are_invalid() {
        let r = record(Value::Null, None, Value::Map(vec![].into()));
        let e = encode(cfg(&[]), &r).err().unwrap();
        assert!(e.to_string().contains("can not be null"), "{e}");
        let r = record(Value::Boolean(true), None, Value::Map(vec![].into()));
        let e = encode(cfg(&[]), &r).err().unwrap();
        assert!(e.to_string().contains("BOOLEAN is not supported"), "{e}");
        let r = record(
            Value::String(Default::default()),
            None,
            Value::Map(vec![].into()),
        );
        assert!(encode(cfg(&[]), &r).is_err());
    }

    #[test]
    fn struct_keys_become_compact_json_ids() {
        let ks = Schema::struct_builder()
            .field("id", schemas::int32())
            .build();
        let key = Value::Struct(Struct::new(ks).put_index(0, Value::Int32(7)));
        let mut id = String::new();
        document_id(None, &key, &mut id).unwrap();
        assert_eq!(id, "{\"id\":7}");
    }

    #[test]
    fn null_values_follow_behavior() {
        let r = record(Value::Int64(5), None, Value::Null);
        assert!(encode(cfg(&[]), &r).is_err(), "fail is the default");
        assert_eq!(
            encode(cfg(&[("behavior.on.null.values", "ignore")]), &r).unwrap(),
            None
        );
        let text = encode(cfg(&[("behavior.on.null.values", "delete")]), &r)
            .unwrap()
            .unwrap();
        assert_eq!(
            text,
            "{\"delete\":{\"_index\":\"orders\",\"_id\":\"5\",\"version_type\":\"external\",\"version\":42}}\n"
        );
        let no_key = record(Value::Null, None, Value::Null);
        assert_eq!(
            encode(cfg(&[("behavior.on.null.values", "delete")]), &no_key).unwrap(),
            None
        );
    }

    #[test]
    fn upsert_sends_doc_and_upsert() {
        let r = record(
            Value::String("u".into()),
            None,
            Value::Map(vec![("a".into(), Value::Int64(1))].into()),
        );
        let text = encode(cfg(&[("write.method", "upsert")]), &r)
            .unwrap()
            .unwrap();
        assert_eq!(
            text,
            "{\"update\":{\"_index\":\"orders\",\"_id\":\"u\",\"retry_on_conflict\":5}}\n{\"doc\":{\"a\":1},\"upsert\":{\"a\":1}}\n"
        );
    }

    #[test]
    fn schema_payload_writes_decimals_as_doubles_and_maps_by_setting() {
        let dec = Schema::decimal(2).optional().build();
        let map = Schema::map(schemas::string(), schemas::int32())
            .optional()
            .build();
        let s = Schema::struct_builder()
            .field("price", dec)
            .field("tags", map)
            .field(
                "born",
                Schema::builder(SchemaType::Int32).name(DATE_NAME).build(),
            )
            .build();
        let v = Value::Struct(
            Struct::new(s.clone())
                .put_index(
                    0,
                    Value::Decimal(Decimal {
                        unscaled: 1234.into(),
                        scale: 2,
                    }),
                )
                .put_index(1, Value::Map(vec![("x".into(), Value::Int32(1))].into()))
                .put_index(2, Value::Int32(19000)),
        );
        let mut out = Vec::new();
        write_es(&mut out, &s, &v, true).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"price":12.34,"tags":{"x":1},"born":19000}"#
        );
        let mut out = Vec::new();
        write_es(&mut out, &s, &v, false).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"price":12.34,"tags":[{"key":"x","value":1}],"born":19000}"#
        );
    }

    #[test]
    fn data_streams_get_a_timestamp_and_create_ops() {
        let mut r = record(
            Value::Null,
            None,
            Value::Map(vec![("m".into(), Value::String("x".into()))].into()),
        );
        r.record.timestamp = Some(1700000000000);
        let c = cfg(&[
            ("data.stream.type", "logs"),
            ("data.stream.dataset", "app"),
            ("key.ignore", "true"),
        ]);
        let text = encode(c, &r).unwrap().unwrap();
        assert_eq!(
            text,
            "{\"create\":{\"_index\":\"logs-app-orders\",\"_id\":\"Orders+0+42\"}}\n{\"m\":\"x\",\"@timestamp\":1700000000000}\n"
        );
    }
}
