//! `io.confluent.connect.avro.AvroConverter` (Confluent 7.0.16): Connect data as Avro in
//! Confluent's wire format (magic byte 0, the schema id as 4 big-endian bytes, Avro binary),
//! schemas registered in and fetched from a Schema Registry.
//!
//! Checked byte for byte against the real converter: `tests/avro_converter.rs` replays
//! `tests/fixtures/avro/goldens.jsonl`, written by `scripts/gen-avro-goldens`.

pub mod config;
pub use super::schema_registry as registry;

pub use crate::data::avro::AvroDataOptions;
pub use crate::data::avro::{compat, decode, encode, from_connect, json, schema, to_connect};

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use self::registry::{registry_error, Registry, RegistryError};
use self::schema::Avro;
use super::{Converter, ConverterPlugin};
use crate::api::Problem;
use crate::data::{DataError, SchemaRef, Value};

pub use config::KEYS;

pub use super::serde_config::SubjectStrategy;

pub const PLUGIN: ConverterPlugin = ConverterPlugin {
    desc: super::converter_desc(
        "io.confluent.connect.avro.AvroConverter",
        &["AvroConverter"],
        "Avro in Confluent's wire format with schemas in a Schema Registry (as Confluent's converter 7.0.16).",
        KEYS,
    ),
    create,
};

fn create(cfg: &BTreeMap<String, String>, is_key: bool) -> Result<Box<dyn Converter>, Problem> {
    let c = config::AvroConfig::parse(cfg)?;
    Ok(Box::new(AvroConverter::new(c, is_key)?))
}

/// What a Connect schema became: its Avro schema, the text registered, and the id per subject.
struct Written {
    schema: SchemaRef,
    avro: Arc<Avro>,
    text: Arc<str>,
    /// The schema actually written with (the registry's latest under use.latest.version).
    ids: Vec<(String, i32, Arc<Avro>)>,
}

struct ReadSchema {
    avro: Arc<Avro>,
    /// Connect schemas by registry version (None: unknown).
    connect: Vec<(Option<i32>, SchemaRef)>,
}

pub struct AvroConverter {
    cfg: config::AvroConfig,
    is_key: bool,
    registry: Registry,
    /// By the Connect schema's address (the `Arc` kept so the address is not reused).
    written: HashMap<usize, Written>,
    read: HashMap<i32, ReadSchema>,
    /// (subject, id) → version, as the JVM converter looks it up for each new id.
    versions: HashMap<(String, i32), i32>,
    /// Registrations per subject (max.schemas.per.subject).
    per_subject: HashMap<String, usize>,
    /// The schema, topic, id and writer schema of the record written last: a converter mostly
    /// sees one schema on one topic record after record, and this skips every lookup.
    last_write: Option<(SchemaRef, String, i32, Arc<Avro>)>,
    /// The id, topic, Connect schema and writer schema of the record read last.
    last_read: Option<(i32, String, SchemaRef, Arc<Avro>)>,
}

impl AvroConverter {
    pub fn new(cfg: config::AvroConfig, is_key: bool) -> Result<AvroConverter, Problem> {
        let registry = cfg.registry()?;
        Ok(AvroConverter {
            cfg,
            is_key,
            registry,
            written: HashMap::new(),
            read: HashMap::new(),
            versions: HashMap::new(),
            per_subject: HashMap::new(),
            last_write: None,
            last_read: None,
        })
    }

    fn subject(&self, topic: &str, avro: &Avro) -> String {
        let strategy = if self.is_key {
            self.cfg.key_strategy
        } else {
            self.cfg.value_strategy
        };
        let record = || avro.full_name();
        match strategy {
            SubjectStrategy::Topic => {
                format!("{topic}-{}", if self.is_key { "key" } else { "value" })
            }
            SubjectStrategy::Record => record(),
            SubjectStrategy::TopicRecord => format!("{topic}-{}", record()),
        }
    }

    fn prepare(&mut self, schema: &SchemaRef) -> Result<usize, DataError> {
        let key = Arc::as_ptr(schema) as usize;
        if self.written.contains_key(&key) {
            return Ok(key);
        }
        // Another Arc of an equal schema converts to the same text: reuse that work.
        let same = self
            .written
            .values()
            .find(|w| *w.schema == **schema)
            .map(|w| (w.avro.clone(), w.text.clone(), w.ids.clone()));
        let (avro, text, ids) = match same {
            Some(s) => s,
            None => {
                let avro = from_connect::from_connect_schema(schema, &self.cfg.data)?;
                let text: Arc<str> = avro.to_text()?.into();
                (Arc::new(avro), text, Vec::new())
            }
        };
        if self.written.len() >= self.cfg.cache_size {
            self.written.clear();
        }
        self.written.insert(
            key,
            Written {
                schema: schema.clone(),
                avro,
                text,
                ids,
            },
        );
        Ok(key)
    }

    fn id_for(&mut self, key: usize, subject: &str) -> Result<(i32, Arc<Avro>), DataError> {
        let w = &self.written[&key];
        if let Some((_, id, a)) = w.ids.iter().find(|(s, _, _)| s == subject) {
            return Ok((*id, a.clone()));
        }
        let text = w.text.clone();
        let own = w.avro.clone();
        let (id, avro) = if self.cfg.auto_register {
            let n = self.per_subject.entry(subject.to_string()).or_default();
            if *n >= self.cfg.max_schemas_per_subject {
                return Err(DataError::new(format!(
                    "Too many schema objects created for {subject} (max.schemas.per.subject={})",
                    self.cfg.max_schemas_per_subject
                )));
            }
            *n += 1;
            let id = self
                .registry
                .register(subject, &text, self.cfg.normalize)
                .map_err(|e| {
                    registry_error(
                        format!("Error registering Avro schema {text} under subject {subject}"),
                        e,
                    )
                })?;
            (id, own)
        } else if self.cfg.use_latest_version {
            let latest = self.registry.latest(subject).map_err(|e| {
                registry_error(
                    format!("Error retrieving latest version of Avro schema of subject {subject}"),
                    e,
                )
            })?;
            let avro = Avro::parse(&latest.schema)?;
            if self.cfg.latest_compatibility_strict {
                if let Err(why) = compat::can_read(&avro, &own) {
                    return Err(DataError::new(format!(
                        "Incompatible schema {} with refs [] of type AVRO for schema {text}. Set latest.compatibility.strict=false to disable this check ({why})",
                        latest.schema
                    )));
                }
            }
            (latest.id, Arc::new(avro))
        } else {
            let sv = self
                .registry
                .lookup(subject, &text, self.cfg.normalize)
                .map_err(|e| {
                    registry_error(
                        format!("Error retrieving Avro schema {text} of subject {subject}"),
                        e,
                    )
                })?;
            (sv.id, own)
        };
        self.written.get_mut(&key).expect("prepared").ids.push((
            subject.to_string(),
            id,
            avro.clone(),
        ));
        Ok((id, avro))
    }

    fn writer_schema(&mut self, id: i32, subject: Option<&str>) -> Result<Arc<Avro>, DataError> {
        if let Some(r) = self.read.get(&id) {
            return Ok(r.avro.clone());
        }
        let text = self
            .registry
            .schema_by_id(id, subject)
            .map_err(|e| registry_error(format!("Error retrieving Avro schema for id {id}"), e))?;
        let avro = Arc::new(Avro::parse(&text)?);
        if self.read.len() >= self.cfg.cache_size {
            self.read.clear();
        }
        self.read.insert(
            id,
            ReadSchema {
                avro: avro.clone(),
                connect: Vec::new(),
            },
        );
        Ok(avro)
    }
}

impl Converter for AvroConverter {
    fn from_connect(
        &mut self,
        topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<bool, DataError> {
        out.clear();
        let Some(schema) = schema else {
            if value.is_null() {
                return Ok(false);
            }
            return Err(DataError::new(format!(
                "Failed to serialize Avro data from topic {topic}: a value without a schema; kconnect's AvroConverter writes only values with a Connect schema (Confluent's io.confluent.connect.avro.Anything encoding of schemaless data is not implemented)"
            )));
        };
        if value.is_null() {
            if schema.optional {
                return Ok(false);
            }
            return Err(DataError::new("Found null value for non-optional schema"));
        }
        let (id, avro) = match &self.last_write {
            Some((s, t, id, a)) if Arc::ptr_eq(s, schema) && t == topic => (*id, a.clone()),
            _ => {
                let key = self.prepare(schema).map_err(|e| {
                    e.context(format!("Failed to serialize Avro data from topic {topic}"))
                })?;
                let subject = self.subject(topic, &self.written[&key].avro);
                let (id, avro) = self.id_for(key, &subject)?;
                self.last_write = Some((schema.clone(), topic.to_string(), id, avro.clone()));
                (id, avro)
            }
        };
        out.push(0);
        out.extend_from_slice(&id.to_be_bytes());
        let enc = encode::Encoder {
            scrub_invalid_names: self.cfg.data.scrub_invalid_names,
        };
        enc.write_top(schema, &avro, value, out)
            .map_err(|e| e.context(format!("Failed to serialize Avro data from topic {topic}")))?;
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
        let what = || format!("Failed to deserialize data for topic {topic} to Avro");
        if data.len() < 5 || data[0] != 0 {
            return Err(DataError::new(format!("{}: Unknown magic byte!", what())));
        }
        let id = i32::from_be_bytes(data[1..5].try_into().expect("4 bytes"));
        if let Some((lid, t, cschema, avro)) = &self.last_read {
            if *lid == id && t == topic {
                let v = decode::read_top(&data[5..], avro, cschema, &self.cfg.data)
                    .map_err(|e| e.context(what()))?;
                return Ok((Some(cschema.clone()), v));
            }
        }
        let strategy = if self.is_key {
            self.cfg.key_strategy
        } else {
            self.cfg.value_strategy
        };
        let topic_subject = (strategy == SubjectStrategy::Topic)
            .then(|| format!("{topic}-{}", if self.is_key { "key" } else { "value" }));
        let avro = self
            .writer_schema(id, topic_subject.as_deref())
            .map_err(|e| e.context(what()))?;
        // The registry's version of this schema under its subject becomes the Connect
        // schema's version when the schema has no connect.version.
        let subject = self.subject(topic, &avro);
        let version = match self.versions.get(&(subject.clone(), id)) {
            Some(v) => *v,
            None => {
                let text = avro.to_text()?;
                let sv = self
                    .registry
                    .lookup(&subject, &text, false)
                    .or_else(|e| {
                        // A registry may hold text the printer does not reproduce exactly
                        // (spacing): ask with the registry's own text.
                        match e {
                            RegistryError::Rejected { .. } => {
                                let raw = self.registry.schema_by_id(id, Some(&subject))?;
                                self.registry.lookup(&subject, &raw, false)
                            }
                            other => Err(other),
                        }
                    })
                    .map_err(|e| {
                        registry_error(
                            format!(
                                "{}: Error retrieving Avro {} schema version for id {id}",
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
        let cschema = match entry.connect.iter().find(|(v, _)| *v == Some(version)) {
            Some((_, s)) => s.clone(),
            None => {
                let s = to_connect::to_connect_schema(&avro, Some(version), &opts)
                    .map_err(|e| e.context(what()))?;
                entry.connect.push((Some(version), s.clone()));
                s
            }
        };
        let v =
            decode::read_top(&data[5..], &avro, &cschema, &opts).map_err(|e| e.context(what()))?;
        Ok((Some(cschema), v))
    }
}
