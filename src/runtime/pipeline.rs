//! Whole-pipeline checks, which a Connect worker cannot make because it sees one connector at
//! a time: kconnect has every connector file of a run, so it knows which source writes which
//! topic with which converter, and can say when a sink in the same files reads that topic
//! with another one. The classic case is Debezium writing JSON with schemas (the worker's
//! default) and an Elasticsearch sink reading with `value.converter.schemas.enable=false`:
//! every document is then the whole `{"schema","payload"}` envelope, which Elasticsearch
//! refuses to map.

use regex::Regex;

use super::converters::resolve;
use super::sink::TopicSelection;
use crate::api::split_list;
use crate::config::{ConnectorConfig, WorkerConfig};
use crate::connectors;
use crate::convert::find_converter;
use crate::transform::find_transform;

use super::validate::FileProblem;

const JSON: &str = "org.apache.kafka.connect.json.JsonConverter";
const FILE_SOURCE: &str = "org.apache.kafka.connect.file.FileStreamSourceConnector";
const POSTGRES: &str = "io.debezium.connector.postgresql.PostgresConnector";
/// Transforms that can send a record to a topic the files do not name.
const ROUTERS: &[&str] = &[
    "org.apache.kafka.connect.transforms.RegexRouter",
    "org.apache.kafka.connect.transforms.TimestampRouter",
];
const EXTRACT_NEW_RECORD_STATE: &str = "io.debezium.transforms.ExtractNewRecordState";

/// The bytes a converter writes or expects: its class and, for JsonConverter, whether the
/// `{"schema","payload"}` envelope is there.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Format {
    class: String,
    schemas: Option<bool>,
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
        Some(Format {
            class: class.to_string(),
            schemas,
        })
    }

    fn describe(&self) -> String {
        let short = self.class.rsplit('.').next().unwrap_or(&self.class);
        match self.schemas {
            Some(true) => format!("{short} with schemas"),
            Some(false) => format!("{short} without schemas"),
            None => short.to_string(),
        }
    }

    /// The settings a sink that reads with `reads` needs to read what this format writes: only
    /// `schemas.enable` when the sink names the same class itself.
    fn settings(&self, key: &str, reads: &Format, sink_names_it: bool) -> String {
        match self.schemas {
            Some(s) if sink_names_it && reads.class == self.class => {
                format!("{key}.schemas.enable={s}")
            }
            Some(s) => format!("{key}={} and {key}.schemas.enable={s}", self.class),
            None => format!("{key}={}", self.class),
        }
    }

    /// What a sink reading `self` bytes with `reads` gets, where that is certain.
    fn consequence(&self, reads: &Format) -> &'static str {
        match (self.schemas, reads.schemas) {
            (Some(true), Some(false)) => {
                " (each record arrives as the whole {\"schema\",\"payload\"} envelope)"
            }
            (Some(false), Some(true)) => {
                " (each record fails to convert: JsonConverter with schemas.enable=true needs the {\"schema\",\"payload\"} envelope)"
            }
            _ => "",
        }
    }
}

/// The topics a source writes, as far as its files tell.
enum Written {
    Topics(Vec<String>),
    /// Debezium: `<topic.prefix>.<schema>.<table>` for the captured tables.
    Matching(Regex),
}

impl Written {
    fn of(cfg: &ConnectorConfig) -> Option<Written> {
        if reroutes(cfg) {
            return None;
        }
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
                let prefix = regex::escape(get("topic.prefix"));
                let tables = split_list(get("table.include.list")).join("|");
                let schemas = split_list(get("schema.include.list")).join("|");
                let rest = match (tables.is_empty(), schemas.is_empty()) {
                    (false, _) => format!("(?:{tables})"),
                    (true, false) => format!("(?:{schemas})\\.[^.]+"),
                    (true, true) => "[^.]+\\.[^.]+".into(),
                };
                Regex::new(&format!("^{prefix}\\.{rest}$"))
                    .ok()
                    .map(Written::Matching)
            }
            _ => None,
        }
    }

    /// The topics of `sink` that this source writes. A sink's `topics.regex` is compared
    /// only with named topics: whether two patterns share a topic is not worth guessing.
    fn read_by(&self, sink: &TopicSelection) -> Vec<String> {
        match (self, sink) {
            (Written::Topics(t), sel) => t.iter().filter(|t| sel.matches(t)).cloned().collect(),
            (Written::Matching(re), TopicSelection::List(topics)) => {
                topics.iter().filter(|t| re.is_match(t)).cloned().collect()
            }
            (Written::Matching(_), TopicSelection::Regex(_)) => Vec::new(),
        }
    }
}

/// Whether a transform of the connector may change the topic: then nothing is known.
fn reroutes(cfg: &ConnectorConfig) -> bool {
    let Some(list) = cfg.values.get("transforms") else {
        return false;
    };
    split_list(list).into_iter().any(|alias| {
        let ty = cfg
            .values
            .get(&format!("transforms.{alias}.type"))
            .and_then(|t| find_transform(t))
            .map(|t| t.desc.class)
            .unwrap_or("");
        ROUTERS.contains(&ty)
            || (ty == EXTRACT_NEW_RECORD_STATE
                && cfg
                    .values
                    .get(&format!("transforms.{alias}.route.by.field"))
                    .is_some_and(|f| !f.trim().is_empty()))
    })
}

/// One warning per sink, source and converter whose formats differ, naming both files, the
/// topics and the settings that make the sink read what the source writes.
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
        for (source, w) in &written {
            let topics = w.read_by(&selection);
            if topics.is_empty() {
                continue;
            }
            for key in ["key.converter", "value.converter"] {
                let (Some(wrote), Some(reads)) = (
                    Format::of(worker, source, key),
                    Format::of(worker, sink, key),
                ) else {
                    continue;
                };
                if wrote == reads {
                    continue;
                }
                warnings.push(FileProblem {
                    path: sink.path.clone(),
                    key: Some(key.into()),
                    message: format!(
                        "connector {} reads {} with {} {}, but connector {} ({}) writes {} with {} {}{}; to read what it writes, set {} in {}",
                        sink.name,
                        topics.join(", "),
                        reads.describe(),
                        origin(sink, key),
                        source.name,
                        source.path.display(),
                        if topics.len() == 1 { "it" } else { "them" },
                        wrote.describe(),
                        origin(source, key),
                        wrote.consequence(&reads),
                        wrote.settings(key, &reads, sink.values.contains_key(key)),
                        sink.path.display(),
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
            "reads dbserver1.public.customers with JsonConverter without schemas (its own)",
            "connector pg (pg.json) writes it with JsonConverter with schemas (the worker's)",
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
    fn string_bytes_and_json_differ() {
        let string = "org.apache.kafka.connect.storage.StringConverter";
        let bytes = "org.apache.kafka.connect.converters.ByteArrayConverter";
        for (wrote, reads, expect) in [
            (
                string,
                JSON,
                "set value.converter=org.apache.kafka.connect.storage.StringConverter in",
            ),
            (JSON, bytes, "with ByteArrayConverter (its own)"),
            (bytes, string, "writes it with ByteArrayConverter (its own)"),
        ] {
            let src = conn(
                "src.json",
                &[
                    ("connector.class", FILE_SOURCE),
                    ("topic", "lines"),
                    ("value.converter", wrote),
                ],
            );
            let w = check(
                &[src, sink("lines", &[("value.converter", reads)])],
                &worker(&[]),
            );
            assert_eq!(w.len(), 1, "{wrote} -> {reads}: {w:?}");
            assert!(
                w[0].message.contains(expect),
                "{expect:?} not in {}",
                w[0].message
            );
        }
    }

    #[test]
    fn key_converters_are_compared_too() {
        let w = check(
            &[
                debezium(&[]),
                sink(
                    "dbserver1.public.customers",
                    &[("key.converter", "StringConverter")],
                ),
            ],
            &worker(&[]),
        );
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].key.as_deref(), Some("key.converter"));
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
    fn rerouting_transforms_make_the_topic_unknown() {
        let wk = worker(&[]);
        for extra in [
            &[
                ("transforms", "r"),
                (
                    "transforms.r.type",
                    "org.apache.kafka.connect.transforms.RegexRouter",
                ),
                ("transforms.r.regex", "x"),
                ("transforms.r.replacement", "y"),
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
