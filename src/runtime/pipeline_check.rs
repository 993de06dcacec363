//! Whole-pipeline checks, which a Connect worker cannot make because it sees one connector at
//! a time: kconnect has every connector file of a run, so it knows which source writes which
//! topic with which converter, and can say when a sink in the same files reads that topic
//! with a converter that cannot read it. The classic case is Debezium writing JSON with
//! schemas (the worker's default) and an Elasticsearch sink reading with
//! `value.converter.schemas.enable=false`: every document is then the whole
//! `{"schema","payload"}` envelope, which Elasticsearch refuses to map.
//!
//! Only what is certain is said. A source's topics are known for the FileStream source
//! (`topic`) and Debezium's PostgreSQL source (`<topic.prefix>.<schema>.<table>`, by name for
//! the tables `table.include.list` names, as a pattern otherwise; unknown with another
//! `topic.naming.strategy` or `topic.delimiter`), after any RegexRouter
//! without a predicate; a TimestampRouter, a RegexRouter with a predicate or over a pattern,
//! or `ExtractNewRecordState`'s `route.by.field` makes them unknown, and nothing is said. A
//! pair of converters is warned about only when the sink cannot read what the source writes:
//! JsonConverter with and without schemas, JsonConverter reading the `Struct{...}` text
//! StringConverter makes of a Debezium event, a schema-registry converter (Avro, Protobuf)
//! reading what another converter wrote or JsonConverter reading theirs, and Debezium's
//! envelopes read with ProtobufConverter's short names by a sink whose ExtractNewRecordState
//! then does not recognise them. A sink reading with StringConverter or ByteArrayConverter
//! reads anything, and keys that are always null (FileStream) match any converter.

use regex::Regex;

use super::converters::resolve;
use super::sink::TopicSelection;
use crate::api::split_list;
use crate::config::{ConnectorConfig, WorkerConfig};
use crate::connectors;
use crate::convert::find_converter;
use crate::transform::{find_transform, regex_route};

use super::validate::FileProblem;

const JSON: &str = "org.apache.kafka.connect.json.JsonConverter";
const AVRO: &str = "io.confluent.connect.avro.AvroConverter";
const PROTOBUF: &str = "io.confluent.connect.protobuf.ProtobufConverter";
const STRING: &str = "org.apache.kafka.connect.storage.StringConverter";
const FILE_SOURCE: &str = "org.apache.kafka.connect.file.FileStreamSourceConnector";
const POSTGRES: &str = "io.debezium.connector.postgresql.PostgresConnector";
const REGEX_ROUTER: &str = "org.apache.kafka.connect.transforms.RegexRouter";
const TIMESTAMP_ROUTER: &str = "org.apache.kafka.connect.transforms.TimestampRouter";
const EXTRACT_NEW_RECORD_STATE: &str = "io.debezium.transforms.ExtractNewRecordState";
/// Source transforms after which a Debezium event's key and value are still structs.
const KEEP_STRUCTS: &[&str] = &[
    EXTRACT_NEW_RECORD_STATE,
    REGEX_ROUTER,
    TIMESTAMP_ROUTER,
    "org.apache.kafka.connect.transforms.Filter",
    "org.apache.kafka.connect.transforms.InsertHeader",
    "org.apache.kafka.connect.transforms.DropHeaders",
    "org.apache.kafka.connect.transforms.HeaderFrom$Key",
    "org.apache.kafka.connect.transforms.HeaderFrom$Value",
    "org.apache.kafka.connect.transforms.InsertField$Key",
    "org.apache.kafka.connect.transforms.InsertField$Value",
    "org.apache.kafka.connect.transforms.ReplaceField$Key",
    "org.apache.kafka.connect.transforms.ReplaceField$Value",
    "org.apache.kafka.connect.transforms.MaskField$Key",
    "org.apache.kafka.connect.transforms.MaskField$Value",
    "org.apache.kafka.connect.transforms.Flatten$Key",
    "org.apache.kafka.connect.transforms.Flatten$Value",
    "org.apache.kafka.connect.transforms.SetSchemaMetadata$Key",
    "org.apache.kafka.connect.transforms.SetSchemaMetadata$Value",
];

/// The bytes a converter writes or expects: its class and, for JsonConverter, whether the
/// `{"schema","payload"}` envelope is there.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Format {
    class: String,
    schemas: Option<bool>,
    /// ProtobufConverter's `enhanced.protobuf.schema.support`.
    enhanced: Option<bool>,
}

impl Format {
    /// The converter `key` (`key.converter`/`value.converter`) of a connector, as the task
    /// will build it; `None` when the class is unknown (validation already said so).
    fn of(worker: &WorkerConfig, cfg: &ConnectorConfig, key: &str) -> Option<Format> {
        let (class, nested, _) = resolve(worker, cfg, key);
        let class = find_converter(&class)?.desc.class;
        let schemas = (class == JSON).then(|| {
            nested
                .get("schemas.enable")
                .map(|v| !v.trim().eq_ignore_ascii_case("false"))
                .unwrap_or(true)
        });
        let enhanced = (class == PROTOBUF).then(|| {
            nested
                .get("enhanced.protobuf.schema.support")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        });
        Some(Format {
            class: class.to_string(),
            schemas,
            enhanced,
        })
    }

    /// The class and its setting that matters, as a user writes them.
    fn describe(&self) -> String {
        let short = self.class.rsplit('.').next().unwrap_or(&self.class);
        match self.schemas {
            Some(s) => format!("{short} with schemas.enable={s}"),
            None => short.to_string(),
        }
    }
}

/// What a source puts in a record's key or value before its converter, where known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Content {
    /// Always null (FileStream keys): every converter writes and reads it as null.
    Null,
    /// A string (FileStream lines).
    Text,
    /// A struct (Debezium's keys and events, also after ExtractNewRecordState).
    Struct,
    Unknown,
}

/// Why a sink reading with `reads` cannot read what a source wrote with `wrote`, and the
/// one-line fix; `None` when it can, or when that is not certain.
fn mismatch(wrote: &Format, reads: &Format, content: Content) -> Option<(&'static str, Fix)> {
    let registry = |c: &str| c == AVRO || c == PROTOBUF;
    if content != Content::Null && registry(&reads.class) && wrote.class != reads.class {
        return Some((
            "each record fails to convert: a schema-registry converter reads only the wire format and the schema kind its own class writes",
            Fix::Sink,
        ));
    }
    if content != Content::Null && reads.class == JSON && registry(&wrote.class) {
        return Some((
            "each record fails to convert: JsonConverter cannot read Confluent's binary wire format",
            Fix::Sink,
        ));
    }
    if content == Content::Null || reads.class != JSON {
        // StringConverter and ByteArrayConverter read any bytes.
        return None;
    }
    match (wrote.class.as_str(), wrote.schemas, reads.schemas) {
        (JSON, Some(true), Some(false)) => Some((
            "each record arrives as the whole {\"schema\",\"payload\"} envelope",
            Fix::Sink,
        )),
        (JSON, Some(false), Some(true)) => Some((
            "each record fails to convert: JsonConverter with schemas.enable=true needs the {\"schema\",\"payload\"} envelope",
            Fix::Sink,
        )),
        (STRING, _, _) if content == Content::Struct => Some((
            "StringConverter writes a struct as its Java text (Struct{...}), which is not JSON: each record fails to convert",
            Fix::Source,
        )),
        _ => None,
    }
}

/// Which side the fix is given for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fix {
    /// The sink reads with the source's converter.
    Sink,
    /// The source writes JSON as the sink reads it (what the source writes is lost otherwise).
    Source,
}

/// The settings that make `cfg` use `format` for `key`: only `schemas.enable` when `cfg`
/// already names JsonConverter itself.
fn settings(cfg: &ConnectorConfig, worker: &WorkerConfig, key: &str, format: &Format) -> String {
    let names_it = cfg.values.contains_key(key);
    let same_class = Format::of(worker, cfg, key).is_some_and(|f| f.class == format.class);
    match format.schemas {
        Some(s) if names_it && same_class => format!("{key}.schemas.enable={s}"),
        Some(s) => format!("{key}={} and {key}.schemas.enable={s}", format.class),
        None => format!("{key}={}", format.class),
    }
}

/// The topics a source writes, as far as its files tell.
enum Written {
    Topics(Vec<String>),
    /// Debezium: `<topic.prefix>.<schema>.<table>` for the captured tables, when they are
    /// given as patterns (or not at all); `exclude` is matched against `<schema>.<table>`.
    Matching {
        re: Regex,
        exclude: Option<Regex>,
    },
}

/// A `table.include.list` entry that names one table (`public.customers`, or with the dot
/// escaped), as `schema.table`; Debezium's topic for it is then `<prefix>.schema.table`.
fn literal_table(entry: &str) -> Option<String> {
    let entry = entry.replace("\\.", ".");
    let (schema, table) = entry.split_once('.')?;
    let plain = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (plain(schema) && plain(table)).then(|| format!("{schema}.{table}"))
}

impl Written {
    /// Before the connector's transforms.
    fn by_connector(cfg: &ConnectorConfig) -> Option<Written> {
        let plugin = connectors::find(cfg.class())?;
        let get = |k: &str| cfg.values.get(k).map(|v| v.trim()).unwrap_or("");
        match plugin.desc.class {
            FILE_SOURCE => Some(Written::Topics(
                split_list(get("topic"))
                    .into_iter()
                    .map(String::from)
                    .collect(),
            )),
            POSTGRES => {
                // Other topic naming strategies or delimiters: the topics are not worked out
                // here, so nothing is said about them.
                let strategy = get("topic.naming.strategy");
                let default_naming = (strategy.is_empty()
                    || strategy == "io.debezium.schema.SchemaTopicNamingStrategy")
                    && matches!(get("topic.delimiter"), "" | ".");
                if !default_naming {
                    return None;
                }
                let prefix = get("topic.prefix");
                let tables = split_list(get("table.include.list"));
                if !tables.is_empty() {
                    if let Some(named) = tables
                        .iter()
                        .map(|t| literal_table(t).map(|t| format!("{prefix}.{t}")))
                        .collect::<Option<Vec<_>>>()
                    {
                        return Some(Written::Topics(named));
                    }
                }
                let schemas = split_list(get("schema.include.list")).join("|");
                let rest = match (tables.is_empty(), schemas.is_empty()) {
                    (false, _) => format!("(?i:{})", tables.join("|")),
                    (true, false) => format!("(?i:{schemas})\\.[^.]+"),
                    (true, true) => "[^.]+\\.[^.]+".into(),
                };
                let excluded: Vec<String> = [
                    split_list(get("table.exclude.list")).join("|"),
                    split_list(get("schema.exclude.list"))
                        .into_iter()
                        .map(|s| format!("(?:{s})\\.[^.]+"))
                        .collect::<Vec<_>>()
                        .join("|"),
                ]
                .into_iter()
                .filter(|p| !p.is_empty())
                .collect();
                let exclude = if excluded.is_empty() {
                    None
                } else {
                    Some(Regex::new(&format!("(?i)^(?:{})$", excluded.join("|"))).ok()?)
                };
                let re =
                    Regex::new(&format!("^{}\\.(?P<st>{rest})$", regex::escape(prefix))).ok()?;
                Some(Written::Matching { re, exclude })
            }
            _ => None,
        }
    }

    /// After the connector's transforms: RegexRouter without a predicate renames known
    /// topics; any other rerouting makes them unknown.
    fn of(cfg: &ConnectorConfig) -> Option<Written> {
        let mut written = Written::by_connector(cfg)?;
        let Some(list) = cfg.values.get("transforms") else {
            return Some(written);
        };
        for alias in split_list(list) {
            let setting = |k: &str| cfg.values.get(&format!("transforms.{alias}.{k}"));
            let ty = setting("type")
                .and_then(|t| find_transform(t))
                .map(|t| t.desc.class)
                .unwrap_or("");
            let reroutes = ty == REGEX_ROUTER
                || ty == TIMESTAMP_ROUTER
                || (ty == EXTRACT_NEW_RECORD_STATE
                    && setting("route.by.field").is_some_and(|f| !f.trim().is_empty()));
            if !reroutes {
                continue;
            }
            let has_predicate = setting("predicate").is_some_and(|p| !p.trim().is_empty());
            match (&mut written, ty) {
                (Written::Topics(topics), REGEX_ROUTER) if !has_predicate => {
                    let (regex, replacement) = (setting("regex")?, setting("replacement")?);
                    for t in topics.iter_mut() {
                        *t = regex_route(regex, replacement, t)?;
                    }
                }
                _ => return None,
            }
        }
        Some(written)
    }

    /// The topics of `sink` that this source writes. A sink's `topics.regex` is compared
    /// only with named topics: whether two patterns share a topic is not worth guessing.
    fn read_by(&self, sink: &TopicSelection) -> Vec<String> {
        match (self, sink) {
            (Written::Topics(t), sel) => t.iter().filter(|t| sel.matches(t)).cloned().collect(),
            (Written::Matching { re, exclude }, TopicSelection::List(topics)) => topics
                .iter()
                .filter(|t| match re.captures(t) {
                    Some(caps) => !exclude
                        .as_ref()
                        .is_some_and(|x| x.is_match(caps.name("st").map_or("", |m| m.as_str()))),
                    None => false,
                })
                .cloned()
                .collect(),
            (Written::Matching { .. }, TopicSelection::Regex(_)) => Vec::new(),
        }
    }
}

/// Whether `cfg` applies a transform of class `class`.
fn applies(cfg: &ConnectorConfig, class: &str) -> bool {
    cfg.values.get("transforms").is_some_and(|list| {
        split_list(list).into_iter().any(|alias| {
            cfg.values
                .get(&format!("transforms.{alias}.type"))
                .and_then(|t| find_transform(t))
                .is_some_and(|t| t.desc.class == class)
        })
    })
}

/// Debezium's change events written with ProtobufConverter and read back with its default
/// short names are named `Envelope`, not `<topic>.Envelope`, so the sink's
/// ExtractNewRecordState does not recognise them and passes every event on unchanged (as in
/// Connect). True when that is so.
fn envelope_unseen(source: &ConnectorConfig, sink: &ConnectorConfig, reads: &Format) -> bool {
    connectors::find(source.class()).is_some_and(|p| p.desc.class == POSTGRES)
        && !applies(source, EXTRACT_NEW_RECORD_STATE)
        && reads.enhanced == Some(false)
        && applies(sink, EXTRACT_NEW_RECORD_STATE)
}

/// What the source puts in its records' keys and values, where known: `(key, value)`.
fn content(cfg: &ConnectorConfig) -> (Content, Content) {
    let class = connectors::find(cfg.class()).map(|p| p.desc.class);
    let transforms_keep_structs = cfg.values.get("transforms").is_none_or(|list| {
        split_list(list).into_iter().all(|alias| {
            cfg.values
                .get(&format!("transforms.{alias}.type"))
                .and_then(|t| find_transform(t))
                .is_some_and(|t| KEEP_STRUCTS.contains(&t.desc.class))
        })
    });
    match class {
        Some(FILE_SOURCE) if transforms_keep_structs => (Content::Null, Content::Text),
        Some(POSTGRES) if transforms_keep_structs => (Content::Struct, Content::Struct),
        _ => (Content::Unknown, Content::Unknown),
    }
}

/// One warning per sink, source and converter that cannot read what the other writes,
/// naming both connectors and files, the topics, both converters and the fix.
pub fn check(connectors: &[ConnectorConfig], worker: &WorkerConfig) -> Vec<FileProblem> {
    let (sources, sinks): (Vec<_>, Vec<_>) = connectors
        .iter()
        .filter_map(|c| connectors::find(c.class()).map(|p| (c, p.is_source())))
        .partition(|(_, is_source)| *is_source);
    let written: Vec<(&ConnectorConfig, Written)> = sources
        .into_iter()
        .filter_map(|(c, _)| Written::of(c).map(|w| (c, w)))
        .collect();
    let mut warnings = Vec::new();
    for (sink, _) in sinks {
        let Ok(selection) = TopicSelection::from_config(sink) else {
            continue;
        };
        let through = match &selection {
            TopicSelection::Regex(_) => format!(
                " (its topics.regex {})",
                sink.values
                    .get("topics.regex")
                    .map(|s| s.trim())
                    .unwrap_or("")
            ),
            TopicSelection::List(_) => String::new(),
        };
        for (source, w) in &written {
            let topics = w.read_by(&selection);
            if topics.is_empty() {
                continue;
            }
            let (key_content, value_content) = content(source);
            for (key, content) in [
                ("key.converter", key_content),
                ("value.converter", value_content),
            ] {
                let (Some(wrote), Some(reads)) = (
                    Format::of(worker, source, key),
                    Format::of(worker, sink, key),
                ) else {
                    continue;
                };
                let Some((consequence, fix)) = mismatch(&wrote, &reads, content) else {
                    if key == "value.converter"
                        && wrote.class == PROTOBUF
                        && content == Content::Struct
                        && envelope_unseen(source, sink, &reads)
                    {
                        warnings.push(FileProblem {
                            path: sink.path.clone(),
                            key: Some(key.into()),
                            message: format!(
                                "connector {} reads {}{} with ProtobufConverter, which names Debezium's change events of connector {} ({}) plain `Envelope` unless enhanced.protobuf.schema.support=true, and then its ExtractNewRecordState does not recognise them and passes every event on unchanged; set value.converter.enhanced.protobuf.schema.support=true in {}",
                                sink.name,
                                topics.join(", "),
                                through,
                                source.name,
                                source.path.display(),
                                sink.path.display()
                            ),
                        });
                    }
                    continue;
                };
                let fix = match fix {
                    Fix::Sink => format!(
                        "set {} in {}",
                        settings(sink, worker, key, &wrote),
                        sink.path.display()
                    ),
                    Fix::Source => format!(
                        "set {} in {}",
                        settings(source, worker, key, &reads),
                        source.path.display()
                    ),
                };
                warnings.push(FileProblem {
                    path: sink.path.clone(),
                    key: Some(key.into()),
                    message: format!(
                        "connector {} reads {}{} with {} {}, but connector {} ({}) writes {} with {} {}: {}; to make them match, {}",
                        sink.name,
                        topics.join(", "),
                        through,
                        reads.describe(),
                        origin(sink, key),
                        source.name,
                        source.path.display(),
                        if topics.len() == 1 { "it" } else { "them" },
                        wrote.describe(),
                        origin(source, key),
                        consequence,
                        fix,
                    ),
                });
            }
        }
    }
    warnings
}

/// Where a connector's converter comes from, for the message.
fn origin(cfg: &ConnectorConfig, key: &str) -> &'static str {
    if cfg.values.contains_key(key) {
        "(its own)"
    } else {
        "(the worker's)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::worker::WorkerOverrides;
    use std::path::PathBuf;

    fn worker(extra: &[(&str, &str)]) -> WorkerConfig {
        let mut w = WorkerConfig::load(&WorkerOverrides::default()).unwrap();
        for (k, v) in extra {
            w.values.insert(k.to_string(), v.to_string());
        }
        w
    }

    fn conn(file: &str, pairs: &[(&str, &str)]) -> ConnectorConfig {
        ConnectorConfig {
            name: file.trim_end_matches(".json").into(),
            path: PathBuf::from(file),
            values: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            written: Default::default(),
            initial_state: crate::config::loader::TargetState::Running,
        }
    }

    fn debezium(extra: &[(&str, &str)]) -> ConnectorConfig {
        let mut c = conn(
            "pg.json",
            &[
                ("connector.class", POSTGRES),
                ("topic.prefix", "dbserver1"),
                ("table.include.list", "public.customers"),
            ],
        );
        for (k, v) in extra {
            c.values.insert(k.to_string(), v.to_string());
        }
        c
    }

    fn sink(topics: &str, extra: &[(&str, &str)]) -> ConnectorConfig {
        let mut c = conn(
            "es.json",
            &[
                ("connector.class", "FileStreamSink"),
                ("topics", topics),
                ("file", "/dev/null"),
            ],
        );
        for (k, v) in extra {
            c.values.insert(k.to_string(), v.to_string());
        }
        c
    }

    const NO_SCHEMAS: &[(&str, &str)] = &[
        ("value.converter", JSON),
        ("value.converter.schemas.enable", "false"),
    ];

    #[test]
    fn registry_converters_reading_other_formats_are_warned() {
        let url = ("value.converter.schema.registry.url", "http://r:8081");
        let key_url = ("key.converter.schema.registry.url", "http://r:8081");
        let avro = [
            ("value.converter", AVRO),
            url,
            ("key.converter", AVRO),
            key_url,
        ];
        let protobuf = [
            ("value.converter", PROTOBUF),
            url,
            ("key.converter", PROTOBUF),
            key_url,
        ];
        // Protobuf written, Avro read: keys and values both fail.
        let w = check(
            &[
                debezium(&protobuf),
                sink("dbserver1.public.customers", &avro),
            ],
            &worker(&[]),
        );
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[1].message.contains("wire format"), "{}", w[1].message);
        assert!(
            w[1].message.contains(
                "set value.converter=io.confluent.connect.protobuf.ProtobufConverter in es.json"
            ),
            "{}",
            w[1].message
        );
        // JSON (the worker's) written, Avro read; Avro written, JSON read.
        let w = check(
            &[debezium(&[]), sink("dbserver1.public.customers", &avro)],
            &worker(&[]),
        );
        assert_eq!(w.len(), 2, "{w:?}");
        let w = check(
            &[debezium(&avro), sink("dbserver1.public.customers", &[])],
            &worker(&[]),
        );
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].message.contains("cannot read Confluent's binary"),
            "{}",
            w[0].message
        );
        // The same converter on both sides says nothing.
        let w = check(
            &[debezium(&avro), sink("dbserver1.public.customers", &avro)],
            &worker(&[]),
        );
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn debeziums_envelopes_read_with_short_protobuf_names_by_an_unwrapping_sink_are_warned() {
        let protobuf = [
            ("value.converter", PROTOBUF),
            ("value.converter.schema.registry.url", "http://r:8081"),
        ];
        let unwrap = [
            ("transforms", "unwrap"),
            ("transforms.unwrap.type", EXTRACT_NEW_RECORD_STATE),
        ];
        let sink_cfg: Vec<_> = protobuf.iter().chain(&unwrap).copied().collect();
        let w = check(
            &[
                debezium(&protobuf),
                sink("dbserver1.public.customers", &sink_cfg),
            ],
            &worker(&[]),
        );
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].message
                .contains("set value.converter.enhanced.protobuf.schema.support=true in es.json"),
            "{}",
            w[0].message
        );
        // With full names, or without unwrapping, or unwrapped at the source: nothing to say.
        let mut enhanced = sink_cfg.clone();
        enhanced.push(("value.converter.enhanced.protobuf.schema.support", "true"));
        let mut unwrapped_source: Vec<_> = protobuf.to_vec();
        unwrapped_source.extend(unwrap);
        for (src, snk) in [
            (
                debezium(&protobuf),
                sink("dbserver1.public.customers", &enhanced),
            ),
            (
                debezium(&protobuf),
                sink("dbserver1.public.customers", &protobuf),
            ),
            (
                debezium(&unwrapped_source),
                sink("dbserver1.public.customers", &sink_cfg),
            ),
        ] {
            let w = check(&[src, snk], &worker(&[]));
            assert!(w.is_empty(), "{w:?}");
        }
    }

    #[test]
    fn other_topic_naming_makes_debeziums_topics_unknown() {
        for extra in [
            ("topic.delimiter", "_"),
            (
                "topic.naming.strategy",
                "io.debezium.schema.DefaultTopicNamingStrategy",
            ),
        ] {
            let w = check(
                &[
                    debezium(&[extra]),
                    sink("dbserver1.public.customers", NO_SCHEMAS),
                ],
                &worker(&[]),
            );
            assert!(w.is_empty(), "{extra:?}: {w:?}");
        }
    }

    #[test]
    fn classic_debezium_to_schemaless_sink_is_warned_with_both_files_and_the_fix() {
        let w = check(
            &[
                debezium(&[]),
                sink("dbserver1.public.customers", NO_SCHEMAS),
            ],
            &worker(&[]),
        );
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].path, PathBuf::from("es.json"));
        assert_eq!(w[0].key.as_deref(), Some("value.converter"));
        let m = &w[0].message;
        for part in [
            "connector es reads dbserver1.public.customers with JsonConverter with schemas.enable=false (its own)",
            "connector pg (pg.json) writes it with JsonConverter with schemas.enable=true (the worker's)",
            "whole {\"schema\",\"payload\"} envelope",
            "set value.converter.schemas.enable=true in es.json",
        ] {
            assert!(m.contains(part), "{part:?} not in {m}");
        }
    }

    #[test]
    fn schemaless_source_read_with_schemas_is_warned() {
        let src = conn(
            "src.json",
            &[
                ("connector.class", FILE_SOURCE),
                ("topic", "lines"),
                ("value.converter", JSON),
                ("value.converter.schemas.enable", "false"),
            ],
        );
        let w = check(&[src, sink("lines", &[])], &worker(&[]));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].message.contains("fails to convert"),
            "{}",
            w[0].message
        );
        assert!(
            w[0].message.contains(&format!(
                "set value.converter={JSON} and value.converter.schemas.enable=false"
            )),
            "{}",
            w[0].message
        );
    }

    #[test]
    fn json_reading_the_text_string_converter_makes_of_a_struct_is_warned() {
        let string = "org.apache.kafka.connect.storage.StringConverter";
        let w = check(
            &[
                debezium(&[("value.converter", string)]),
                sink("dbserver1.public.customers", &[]),
            ],
            &worker(&[]),
        );
        assert_eq!(w.len(), 1, "{w:?}");
        let m = &w[0].message;
        for part in [
            "writes it with StringConverter (its own)",
            "Struct{...}",
            &format!(
                "set value.converter={JSON} and value.converter.schemas.enable=true in pg.json"
            ),
        ] {
            assert!(m.contains(part), "{part:?} not in {m}");
        }
    }

    #[test]
    fn readers_of_any_bytes_and_uncertain_pairs_say_nothing() {
        let string = "org.apache.kafka.connect.storage.StringConverter";
        let bytes = "org.apache.kafka.connect.converters.ByteArrayConverter";
        let file = |conv: &str| {
            conn(
                "src.json",
                &[
                    ("connector.class", FILE_SOURCE),
                    ("topic", "lines"),
                    ("value.converter", conv),
                ],
            )
        };
        let wk = worker(&[]);
        for (source, reads) in [
            // ByteArrayConverter and StringConverter read anything.
            (debezium(&[]), bytes),
            (debezium(&[]), string),
            (debezium(&[("value.converter", string)]), bytes),
            (file(JSON), bytes),
            (file(JSON), string),
            (file(bytes), string),
            // Lines written as text may well be JSON: not certain.
            (file(string), JSON),
            (file(bytes), JSON),
        ] {
            let topic = if source.name == "pg" {
                "dbserver1.public.customers"
            } else {
                "lines"
            };
            let w = check(&[source, sink(topic, &[("value.converter", reads)])], &wk);
            assert!(w.is_empty(), "{reads}: {w:?}");
        }
    }

    #[test]
    fn key_converters_are_compared_too_unless_keys_are_always_null() {
        let no_key_schemas = [
            ("key.converter", JSON),
            ("key.converter.schemas.enable", "false"),
        ];
        let w = check(
            &[
                debezium(&[]),
                sink("dbserver1.public.customers", &no_key_schemas),
            ],
            &worker(&[]),
        );
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].key.as_deref(), Some("key.converter"));
        assert!(w[0]
            .message
            .contains("set key.converter.schemas.enable=true in es.json"));
        // FileStream keys are null: null with any converter.
        let src = conn(
            "src.json",
            &[("connector.class", FILE_SOURCE), ("topic", "lines")],
        );
        assert!(check(&[src, sink("lines", &no_key_schemas)], &worker(&[])).is_empty());
    }

    #[test]
    fn matching_pipelines_say_nothing() {
        let wk = worker(&[]);
        // The shipped example: both sides JsonConverter with schemas, one explicit.
        let explicit = [("value.converter", JSON), ("key.converter", JSON)];
        assert!(check(
            &[debezium(&[]), sink("dbserver1.public.customers", &explicit)],
            &wk
        )
        .is_empty());
        // Both schemaless, each its own.
        assert!(check(
            &[
                debezium(NO_SCHEMAS),
                sink("dbserver1.public.customers", NO_SCHEMAS)
            ],
            &wk
        )
        .is_empty());
        // Both take a schemaless worker default.
        let schemaless = worker(&[("value.converter.schemas.enable", "false")]);
        assert!(check(
            &[debezium(&[]), sink("dbserver1.public.customers", &[])],
            &schemaless
        )
        .is_empty());
        // A topic the source does not write: another table, another prefix.
        assert!(check(
            &[debezium(&[]), sink("dbserver1.public.orders", NO_SCHEMAS)],
            &wk
        )
        .is_empty());
        assert!(check(
            &[debezium(&[]), sink("other.public.customers", NO_SCHEMAS)],
            &wk
        )
        .is_empty());
    }

    #[test]
    fn topics_regex_sinks_and_table_patterns() {
        let wk = worker(&[]);
        let src = conn(
            "src.json",
            &[("connector.class", FILE_SOURCE), ("topic", "lines-1")],
        );
        let mut re = sink("x", NO_SCHEMAS);
        re.values.remove("topics");
        re.values.insert("topics.regex".into(), "lines-.*".into());
        assert_eq!(check(&[src, re], &wk).len(), 1);
        // Debezium's include list is a list of regexes of schema.table.
        let pg = debezium(&[("table.include.list", "public\\.cust.*")]);
        assert_eq!(
            check(&[pg, sink("dbserver1.public.customers", NO_SCHEMAS)], &wk).len(),
            1
        );
        let all = debezium(&[("table.include.list", "")]);
        assert_eq!(
            check(&[all, sink("dbserver1.inventory.orders", NO_SCHEMAS)], &wk).len(),
            1
        );
    }

    #[test]
    fn exclusions_are_respected() {
        let wk = worker(&[]);
        let pg = debezium(&[
            ("table.include.list", ""),
            ("table.exclude.list", "public\\.audit.*"),
        ]);
        assert!(check(&[pg, sink("dbserver1.public.audit_log", NO_SCHEMAS)], &wk).is_empty());
        let pg = debezium(&[
            ("table.include.list", ""),
            ("schema.exclude.list", "internal"),
        ]);
        assert!(check(&[pg, sink("dbserver1.internal.jobs", NO_SCHEMAS)], &wk).is_empty());
        let pg = debezium(&[
            ("table.include.list", ""),
            ("schema.exclude.list", "internal"),
        ]);
        assert_eq!(
            check(&[pg, sink("dbserver1.public.jobs", NO_SCHEMAS)], &wk).len(),
            1
        );
    }

    #[test]
    fn named_tables_are_topics_a_sink_pattern_can_match() {
        let mut re = sink("x", NO_SCHEMAS);
        re.values.remove("topics");
        re.values
            .insert("topics.regex".into(), "dbserver1\\.public\\..*".into());
        let w = check(&[debezium(&[]), re], &worker(&[]));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].message.contains(
                "reads dbserver1.public.customers (its topics.regex dbserver1\\.public\\..*) with"
            ),
            "{}",
            w[0].message
        );
    }

    #[test]
    fn regex_router_on_known_topics_renames_them() {
        let wk = worker(&[]);
        let route = [
            ("transforms", "r"),
            ("transforms.r.type", "RegexRouter"),
            ("transforms.r.regex", "dbserver1\\.public\\.(.*)"),
            ("transforms.r.replacement", "cdc-$1"),
        ];
        let w = check(&[debezium(&route), sink("cdc-customers", NO_SCHEMAS)], &wk);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].message.contains("reads cdc-customers with"));
        assert!(check(
            &[
                debezium(&route),
                sink("dbserver1.public.customers", NO_SCHEMAS)
            ],
            &wk
        )
        .is_empty());
        // A regex that does not match the whole topic leaves it as it is, as in Connect.
        let miss = [
            ("transforms", "r"),
            ("transforms.r.type", "RegexRouter"),
            ("transforms.r.regex", "customers"),
            ("transforms.r.replacement", "x"),
        ];
        assert_eq!(
            check(
                &[
                    debezium(&miss),
                    sink("dbserver1.public.customers", NO_SCHEMAS)
                ],
                &wk
            )
            .len(),
            1
        );
    }

    #[test]
    fn rerouting_transforms_make_the_topic_unknown() {
        let wk = worker(&[]);
        let pattern = [("table.include.list", "public\\.cust.*")];
        for extra in [
            // RegexRouter over a pattern of topics.
            &[
                pattern[0],
                ("transforms", "r"),
                ("transforms.r.type", REGEX_ROUTER),
                ("transforms.r.regex", "x"),
                ("transforms.r.replacement", "y"),
            ][..],
            // RegexRouter that applies to some records only.
            &[
                ("transforms", "r"),
                ("transforms.r.type", REGEX_ROUTER),
                ("transforms.r.regex", "x"),
                ("transforms.r.replacement", "y"),
                ("transforms.r.predicate", "p"),
                ("predicates", "p"),
                ("predicates.p.type", "RecordIsTombstone"),
            ][..],
            &[
                ("transforms", "t"),
                ("transforms.t.type", "TimestampRouter"),
            ][..],
            &[
                ("transforms", "u"),
                ("transforms.u.type", EXTRACT_NEW_RECORD_STATE),
                ("transforms.u.route.by.field", "kind"),
            ][..],
        ] {
            let w = check(
                &[
                    debezium(extra),
                    sink("dbserver1.public.customers", NO_SCHEMAS),
                ],
                &wk,
            );
            assert!(w.is_empty(), "{extra:?}: {w:?}");
        }
        // ExtractNewRecordState without route.by.field keeps the topic.
        let unwrap = [
            ("transforms", "u"),
            ("transforms.u.type", EXTRACT_NEW_RECORD_STATE),
        ];
        assert_eq!(
            check(
                &[
                    debezium(&unwrap),
                    sink("dbserver1.public.customers", NO_SCHEMAS)
                ],
                &wk
            )
            .len(),
            1
        );
    }
}
