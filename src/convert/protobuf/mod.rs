//! `io.confluent.connect.protobuf.ProtobufConverter` (Confluent 7.0.16): Connect data as
//! Protobuf in Confluent's wire format (magic byte 0, the schema id as 4 big-endian bytes, the
//! message indexes, the message), schemas registered in and fetched from a Schema Registry as
//! `PROTOBUF` schemas.
//!
//! Checked byte for byte against the real converter: `tests/protobuf_converter.rs` replays
//! `tests/fixtures/protobuf/goldens.jsonl`, written by `scripts/gen-protobuf-goldens`.

pub mod config;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::schema_registry::{registry_error, Registry, SchemaKind};
use super::{Converter, ConverterPlugin};
use crate::api::Problem;
use crate::data::protobuf::encode::Encoder;
use crate::data::protobuf::from_connect::{self, Written};
use crate::data::protobuf::model::{File, Message, Types};
use crate::data::protobuf::wire::{write_indexes, Reader};
use crate::data::protobuf::{decode, known, parse, to_connect};
use crate::data::{DataError, SchemaRef, Value};

pub use config::KEYS;

pub const PLUGIN: ConverterPlugin = ConverterPlugin {
    desc: super::converter_desc(
        "io.confluent.connect.protobuf.ProtobufConverter",
        &["ProtobufConverter"],
        "Protobuf in Confluent's wire format with schemas in a Schema Registry (as Confluent's converter 7.0.16).",
        KEYS,
    ),
    create,
};

fn create(cfg: &BTreeMap<String, String>, is_key: bool) -> Result<Box<dyn Converter>, Problem> {
    let c = config::ProtobufConfig::parse(cfg)?;
    Ok(Box::new(ProtobufConverter::new(c, is_key)?))
}

/// A schema read from the registry: its file, every type it can reach, and the Connect
/// schemas made of its messages (by message indexes and registry version).
struct ReadSchema {
    file: File,
    types: Types,
    connect: Vec<(Vec<i32>, Option<i32>, SchemaRef)>,
    text: String,
}

/// A Connect schema written before: its translation and its id under each subject.
type Prepared = (SchemaRef, Arc<Written>, Vec<(String, i32)>);

pub struct ProtobufConverter {
    cfg: config::ProtobufConfig,
    is_key: bool,
    registry: Registry,
    /// By the Connect schema's address (the `Arc` kept so the address is not reused).
    written: HashMap<usize, Prepared>,
    read: HashMap<i32, ReadSchema>,
    /// (subject, id) → version, as the JVM deserializer looks it up for each new id.
    versions: HashMap<(String, i32), i32>,
    per_subject: HashMap<String, usize>,
    /// The schema, topic, id and translation of the record written last.
    last_write: Option<(SchemaRef, String, i32, Arc<Written>)>,
    /// The id, topic, message index bytes, Connect schema and message of the record read
    /// last: a converter mostly sees one schema on one topic, and this skips every lookup.
    last_read: Option<LastRead>,
    /// The encoder's buffers for nested messages, kept from record to record.
    pool: Vec<Vec<u8>>,
}

struct LastRead {
    id: i32,
    topic: String,
    index_bytes: Vec<u8>,
    schema: SchemaRef,
    message: Arc<Message>,
}

impl ProtobufConverter {
    pub fn new(cfg: config::ProtobufConfig, is_key: bool) -> Result<ProtobufConverter, Problem> {
        let registry = cfg.registry()?;
        Ok(ProtobufConverter {
            cfg,
            is_key,
            registry,
            written: HashMap::new(),
            read: HashMap::new(),
            versions: HashMap::new(),
            per_subject: HashMap::new(),
            last_write: None,
            last_read: None,
            pool: Vec::new(),
        })
    }

    fn strategy(&self) -> super::serde_config::SubjectStrategy {
        if self.is_key {
            self.cfg.key_strategy
        } else {
            self.cfg.value_strategy
        }
    }

    fn prepare(&mut self, schema: &SchemaRef) -> Result<usize, DataError> {
        let key = Arc::as_ptr(schema) as usize;
        if self.written.contains_key(&key) {
            return Ok(key);
        }
        let same = self
            .written
            .values()
            .find(|(s, _, _)| **s == **schema)
            .map(|(_, w, ids)| (w.clone(), ids.clone()));
        let (w, ids) = match same {
            Some(s) => s,
            None => (
                Arc::new(from_connect::from_connect_schema(schema, &self.cfg.data)?),
                Vec::new(),
            ),
        };
        if self.written.len() >= self.cfg.cache_size {
            self.written.clear();
        }
        self.written.insert(key, (schema.clone(), w, ids));
        Ok(key)
    }

    fn id_for(&mut self, key: usize, subject: &str) -> Result<i32, DataError> {
        let (_, w, ids) = &self.written[&key];
        if let Some((_, id)) = ids.iter().find(|(s, _)| s == subject) {
            return Ok(*id);
        }
        let text = w.text.clone();
        let id = if self.cfg.auto_register {
            let n = self.per_subject.entry(subject.to_string()).or_default();
            if *n >= self.cfg.max_schemas_per_subject {
                return Err(DataError::new(format!(
                    "Too many schema objects created for {subject} (max.schemas.per.subject={})",
                    self.cfg.max_schemas_per_subject
                )));
            }
            *n += 1;
            self.registry
                .register_as(SchemaKind::Protobuf, subject, &text, self.cfg.normalize)
                .map_err(|e| {
                    registry_error(
                        format!("Error registering Protobuf schema {text} under subject {subject}"),
                        e,
                    )
                })?
        } else {
            self.registry
                .lookup_as(SchemaKind::Protobuf, subject, &text, self.cfg.normalize)
                .map_err(|e| {
                    registry_error(
                        format!("Error retrieving Protobuf schema {text} of subject {subject}"),
                        e,
                    )
                })?
                .id
        };
        self.written
            .get_mut(&key)
            .expect("prepared")
            .2
            .push((subject.to_string(), id));
        Ok(id)
    }

    /// Schema `id` with every file it imports: well-known files from kconnect's own copies,
    /// the others through the registry's references.
    fn fetch(&mut self, id: i32, subject: Option<&str>) -> Result<(), DataError> {
        if self.read.contains_key(&id) {
            return Ok(());
        }
        let fetched = self
            .registry
            .fetch_by_id(SchemaKind::Protobuf, id, subject)
            .map_err(|e| {
                registry_error(format!("Error retrieving Protobuf schema for id {id}"), e)
            })?;
        let mut file = parse::parse(&fetched.schema)
            .map_err(|e| DataError::new(format!("Protobuf schema {id} does not parse: {e}")))?;
        let mut types = Types::default();
        types.add_file(&file);
        let mut pending: Vec<(File, Vec<super::schema_registry::Reference>)> =
            vec![(file.clone(), fetched.references.clone())];
        let mut seen: Vec<String> = Vec::new();
        while let Some((f, refs)) = pending.pop() {
            for import in f.imports.iter().chain(&f.public_imports) {
                if seen.contains(import) {
                    continue;
                }
                seen.push(import.clone());
                if let Some(r) = refs.iter().find(|r| &r.name == import) {
                    let dep = self.registry.fetch_version(&r.subject, r.version).map_err(|e| {
                        registry_error(
                            format!(
                                "Error retrieving {import} (subject {} version {}), referenced by Protobuf schema {id}",
                                r.subject, r.version
                            ),
                            e,
                        )
                    })?;
                    let df = parse::parse(&dep.schema).map_err(|e| {
                        DataError::new(format!(
                            "{import}, referenced by Protobuf schema {id}, does not parse: {e}"
                        ))
                    })?;
                    types.add_file(&df);
                    pending.push((df, dep.references));
                } else if let Some(k) = known::file(import) {
                    types.add_file(k);
                } else if !known::is_known(import) {
                    return Err(DataError::new(format!(
                        "Protobuf schema {id} imports {import}, which is neither among its references nor a well-known file kconnect knows"
                    )));
                }
            }
        }
        parse::resolve(&mut file, &types)
            .map_err(|e| DataError::new(format!("Protobuf schema {id}: {e}")))?;
        // Resolve every reachable message's field types too (imports included).
        let mut resolved = Types::default();
        for m in types.messages.values() {
            let mut f = File::new(None);
            f.messages.push((**m).clone());
            parse::resolve(&mut f, &types)
                .map_err(|e| DataError::new(format!("Protobuf schema {id}: {e}")))?;
            resolved.messages.insert(
                m.full_name.clone(),
                Arc::new(f.messages.pop().expect("one")),
            );
        }
        resolved.enums = types.enums;
        if self.read.len() >= self.cfg.cache_size {
            self.read.clear();
        }
        self.read.insert(
            id,
            ReadSchema {
                file,
                types: resolved,
                connect: Vec::new(),
                text: fetched.schema,
            },
        );
        Ok(())
    }
}

impl Converter for ProtobufConverter {
    fn from_connect(
        &mut self,
        topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<bool, DataError> {
        out.clear();
        if value.is_null() {
            return Ok(false);
        }
        let Some(schema) = schema else {
            return Err(DataError::new(format!(
                "Failed to serialize Protobuf data from topic {topic}: a value without a schema; the ProtobufConverter writes only values with a Connect schema"
            )));
        };
        let what = || format!("Failed to serialize Protobuf data from topic {topic}");
        let (id, w) = match &self.last_write {
            Some((s, t, id, w)) if Arc::ptr_eq(s, schema) && t == topic => (*id, w.clone()),
            _ => {
                let key = self.prepare(schema).map_err(|e| e.context(what()))?;
                let w = self.written[&key].1.clone();
                let subject = self
                    .strategy()
                    .subject(topic, self.is_key, || w.root.clone());
                let id = self.id_for(key, &subject)?;
                self.last_write = Some((schema.clone(), topic.to_string(), id, w.clone()));
                (id, w)
            }
        };
        out.push(0);
        out.extend_from_slice(&id.to_be_bytes());
        write_indexes(out, &w.indexes);
        let mut enc = Encoder::with_pool(&self.cfg.data, std::mem::take(&mut self.pool));
        let r = enc.write_top(schema, value, out);
        self.pool = enc.into_pool();
        r.map_err(|e| e.context(what()))?;
        Ok(true)
    }

    fn to_connect(
        &mut self,
        topic: &str,
        data: Option<&[u8]>,
    ) -> Result<(Option<SchemaRef>, Value), DataError> {
        let Some(data) = data else {
            return Ok((None, Value::Null));
        };
        let what = || format!("Failed to deserialize data for topic {topic} to Protobuf");
        if data.len() < 5 || data[0] != 0 {
            return Err(DataError::new(format!("{}: Unknown magic byte!", what())));
        }
        let id = i32::from_be_bytes(data[1..5].try_into().expect("4 bytes"));
        if let Some(last) = &self.last_read {
            if last.id == id && last.topic == topic && data[5..].starts_with(&last.index_bytes) {
                if let Some(entry) = self.read.get(&id) {
                    let body = &data[5 + last.index_bytes.len()..];
                    let d = decode::Decoder {
                        types: &entry.types,
                        opts: &self.cfg.data,
                    };
                    let v = d
                        .read_top(body, &last.message, &last.schema)
                        .map_err(|e| e.context(what()))?;
                    return Ok((Some(last.schema.clone()), v));
                }
            }
        }
        let strategy = self.strategy();
        let topic_subject = (strategy == super::serde_config::SubjectStrategy::Topic)
            .then(|| format!("{topic}-{}", if self.is_key { "key" } else { "value" }));
        self.fetch(id, topic_subject.as_deref())
            .map_err(|e| e.context(what()))?;
        let mut r = Reader::new(&data[5..]);
        let index_bytes = r.index_bytes().map_err(|e| e.context(what()))?.to_vec();
        let indexes = Reader::new(&index_bytes)
            .indexes()
            .map_err(|e| e.context(what()))?;
        let body = &data[5 + index_bytes.len()..];
        let entry = &self.read[&id];
        let m = entry.file.message_at(&indexes).ok_or_else(|| {
            DataError::new(format!(
                "{}: schema {id} has no message at indexes {indexes:?}",
                what()
            ))
        })?;
        let full = m.full_name.clone();
        let subject = strategy.subject(topic, self.is_key, || full.clone());
        let version = match self.versions.get(&(subject.clone(), id)) {
            Some(v) => *v,
            None => {
                let sv = self
                    .registry
                    .lookup_as(SchemaKind::Protobuf, &subject, &entry.text, false)
                    .map_err(|e| {
                        registry_error(
                            format!(
                                "{}: Error retrieving Protobuf {} schema version for id {id}",
                                what(),
                                if self.is_key { "key" } else { "value" }
                            ),
                            e,
                        )
                    })?;
                self.versions.insert((subject, id), sv.version);
                sv.version
            }
        };
        let opts = self.cfg.data.clone();
        let entry = self.read.get_mut(&id).expect("fetched above");
        let m = entry
            .types
            .messages
            .get(&full)
            .cloned()
            .expect("a file's message is among its types");
        let cschema = match entry
            .connect
            .iter()
            .find(|(ix, v, _)| *ix == indexes && *v == Some(version))
        {
            Some((_, _, s)) => s.clone(),
            None => {
                let s = to_connect::Ctx::new(&entry.types, &opts)
                    .root_schema(&m, Some(version))
                    .map_err(|e| e.context(what()))?;
                entry.connect.push((indexes, Some(version), s.clone()));
                s
            }
        };
        let d = decode::Decoder {
            types: &entry.types,
            opts: &opts,
        };
        let v = d
            .read_top(body, &m, &cschema)
            .map_err(|e| e.context(what()))?;
        self.last_read = Some(LastRead {
            id,
            topic: topic.to_string(),
            index_bytes,
            schema: cschema.clone(),
            message: m,
        });
        Ok((Some(cschema), v))
    }
}
