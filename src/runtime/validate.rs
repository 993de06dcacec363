//! Loading and checking connector files as a whole: every problem in every file, each with
//! its file and key, before anything runs. `kconnect validate` prints them; `kconnect run`
//! refuses to start on any.

use std::collections::HashMap;
use std::path::PathBuf;

use super::registry::{self, connector_keys};
use super::sink::TopicSelection;
use crate::api::{did_you_mean, unknown_class_message, validate_keys, PluginKind};
use crate::config::connector::PASSTHROUGH_PREFIXES;
use crate::config::loader::{collect_paths, load_connector_file, ConnectorFile, LoadError};
use crate::config::{ConnectorConfig, WorkerConfig};
use crate::connectors;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileProblem {
    pub path: PathBuf,
    /// The key at fault, when one is.
    pub key: Option<String>,
    pub message: String,
}

impl std::fmt::Display for FileProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.key {
            Some(k) => write!(f, "{}: {}: {}", self.path.display(), k, self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

/// Warnings are printed but do not stop a run.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub connectors: Vec<ConnectorConfig>,
    pub problems: Vec<FileProblem>,
    pub warnings: Vec<FileProblem>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Keys the Confluent and Debezium connectors used to have and that existing files still
/// carry: accepted, with a warning that they do nothing.
const LEGACY_KEYS: &[(&str, &str)] = &[
    (
        "type.name",
        "was removed in version 11 of the Elasticsearch connector; documents have no type",
    ),
    (
        "schema.enable",
        "is not a setting of this connector; converters take value.converter.schemas.enable",
    ),
];

pub fn load_and_validate(paths: &[PathBuf], worker: &WorkerConfig) -> Report {
    load_all(paths, worker, false)
}

/// As `load_and_validate`, but a directory with no connector files yet is fine: a
/// long-running worker with a REST API starts empty and takes connectors by request.
pub fn load_and_validate_maybe_empty(paths: &[PathBuf], worker: &WorkerConfig) -> Report {
    load_all(paths, worker, true)
}

fn load_all(paths: &[PathBuf], worker: &WorkerConfig, allow_empty: bool) -> Report {
    let mut report = Report::default();
    let files = match collect_paths(paths) {
        Ok(f) => f,
        Err(e) => {
            report.problems.push(FileProblem {
                path: e.path().to_path_buf(),
                key: None,
                message: e.to_string(),
            });
            return report;
        }
    };
    if files.is_empty() && !allow_empty {
        let path = paths.first().cloned().unwrap_or_default();
        report.problems.push(FileProblem {
            path,
            key: None,
            message: "no connector files (*.json, *.properties) found".into(),
        });
        return report;
    }
    let mut names: HashMap<String, PathBuf> = HashMap::new();
    for path in files {
        let file = match load_connector_file(&path) {
            Ok(f) => f,
            Err(e) => {
                report.problems.push(FileProblem {
                    path,
                    key: None,
                    message: strip_path(&e.to_string(), &e_path(&e)),
                });
                continue;
            }
        };
        if let Some(first) = names.get(&file.name) {
            report.problems.push(FileProblem {
                path: path.clone(),
                key: Some("name".into()),
                message: format!(
                    "duplicate connector name \"{}\", also used by {}; names must be unique",
                    file.name,
                    first.display()
                ),
            });
        } else {
            names.insert(file.name.clone(), path.clone());
        }
        let (cfg, problems, warnings) = check_connector(file, worker);
        report.problems.extend(problems);
        report.warnings.extend(warnings);
        if let Some(cfg) = cfg {
            report.connectors.push(cfg);
        }
    }
    report
        .warnings
        .extend(super::pipeline_check::check(&report.connectors, worker));
    report
}

/// One connector, from a file or a REST request: its config provider references resolved
/// (the written values are kept beside them) and every key checked. `None` when any
/// problem was found.
pub fn check_connector(
    file: ConnectorFile,
    worker: &WorkerConfig,
) -> (Option<ConnectorConfig>, Vec<FileProblem>, Vec<FileProblem>) {
    let path = file.path.clone();
    let problem = |key: Option<String>, message: String| FileProblem {
        path: path.clone(),
        key,
        message,
    };
    let mut problems = Vec::new();
    let mut values = file.config.clone();
    for (key, alias) in worker.providers.unknown_references(&values) {
        problems.push(problem(
            Some(key),
            format!(
                "refers to config provider '{alias}', which the worker config does not declare; add config.providers={alias} and config.providers.{alias}.class to the --worker file"
            ),
        ));
    }
    if let Err(e) = worker.providers.resolve(&mut values) {
        problems.push(problem(None, e.to_string()));
        return (None, problems, Vec::new());
    }
    let cfg = ConnectorConfig {
        name: file.name,
        path: file.path,
        values,
        written: file.config,
        initial_state: file.initial_state,
    };
    let (found, warned) = validate_connector(&cfg, worker);
    problems.extend(found.into_iter().map(|(k, m)| problem(k, m)));
    let warnings = warned.into_iter().map(|(k, m)| problem(k, m)).collect();
    if problems.is_empty() {
        (Some(cfg), problems, warnings)
    } else {
        (None, problems, warnings)
    }
}

fn e_path(e: &LoadError) -> String {
    e.path().display().to_string()
}

fn strip_path(msg: &str, path: &str) -> String {
    msg.strip_prefix(path)
        .and_then(|m| m.strip_prefix(": "))
        .unwrap_or(msg)
        .to_string()
}

type Found = Vec<(Option<String>, String)>;

/// Checks one connector; returns (problems, warnings).
pub fn validate_connector(cfg: &ConnectorConfig, worker: &WorkerConfig) -> (Found, Found) {
    let mut problems: Found = Vec::new();
    let mut warnings: Found = Vec::new();
    let class = cfg.class();
    if class.is_empty() {
        problems.push((
            Some("connector.class".into()),
            "Missing required configuration \"connector.class\" which has no default value.".into(),
        ));
        return (problems, warnings);
    }
    let Some(plugin) = connectors::find(class) else {
        let names = registry::names(&[PluginKind::Source, PluginKind::Sink]);
        let message = unknown_class_message("connector", class, names, || {
            format!(
                "kconnect runs: {}",
                connectors::registry()
                    .iter()
                    .map(|c| c.desc.class)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
        problems.push((Some("connector.class".into()), message));
        return (problems, warnings);
    };
    let key_sets = connector_keys(plugin);
    for defs in &key_sets {
        for p in validate_keys(defs, &cfg.values, "") {
            problems.push((Some(p.key), p.message));
        }
    }
    for p in (plugin.validate)(&cfg.values) {
        problems.push((Some(p.key), p.message));
    }
    // The worker's converter version requirements hold for connectors that use its converters.
    for conv in ["key", "value", "header"] {
        let (class_key, version_key) = (
            format!("{conv}.converter"),
            format!("{conv}.converter.plugin.version"),
        );
        let Some(spec) = worker.values.get(&version_key) else {
            continue;
        };
        if cfg.values.contains_key(&class_key) {
            continue;
        }
        let class = worker.settings().string(&class_key).unwrap_or_default();
        let desc = if conv == "header" {
            crate::convert::find_header_converter(&class).map(|p| p.desc)
        } else {
            crate::convert::find_converter(&class).map(|p| p.desc)
        };
        if let Some(d) = desc {
            if let Err(m) = crate::api::version::check(d.class, d.version(), spec) {
                problems.push((Some(version_key), format!("the worker's {m}")));
            }
        }
    }
    if let Some(spec) = cfg.values.get("connector.plugin.version") {
        if let Err(m) = crate::api::version::check(plugin.desc.class, plugin.desc.version(), spec) {
            problems.push((Some("connector.plugin.version".into()), m));
        }
    }
    for p in crate::transform::validate(&cfg.values) {
        problems.push((Some(p.key), p.message));
    }
    let policy = crate::config::worker::OverridePolicy::parse(
        worker
            .values
            .get("connector.client.config.override.policy")
            .map_or("", String::as_str),
    )
    .unwrap_or(crate::config::worker::OverridePolicy::All);
    for key in cfg.values.keys() {
        let client_key = [
            "producer.override.",
            "consumer.override.",
            "admin.override.",
        ]
        .iter()
        .find_map(|p| key.strip_prefix(p));
        if let Some(client_key) = client_key.filter(|k| !policy.allows(k)) {
            problems.push((
                Some(key.clone()),
                format!(
                    "The '{}' policy does not allow '{client_key}' to be overridden in the connector configuration.",
                    policy.name()
                ),
            ));
        }
    }
    for (key, message) in crate::config::client_keys::refused_java_classes(
        &cfg.values,
        &[
            "producer.override.",
            "consumer.override.",
            "admin.override.",
        ],
    ) {
        problems.push((Some(key), message));
    }
    if let Err(p) = super::converters::build(worker, cfg) {
        problems.push((Some(p.key), p.message));
    }
    if !plugin.is_source() {
        match TopicSelection::from_config(cfg) {
            Err(e) => problems.push((Some("topics".into()), e.to_string())),
            Ok(sel) => {
                if let Some(dlq) = cfg
                    .values
                    .get("errors.deadletterqueue.topic.name")
                    .map(|s| s.trim())
                    .filter(|s| !s.is_empty())
                {
                    if sel.matches(dlq) {
                        problems.push((Some("errors.deadletterqueue.topic.name".into()), format!("the dead letter queue topic {dlq} is also a topic this connector consumes; that would loop")));
                    }
                }
            }
        }
    }
    // Settings of the real plugin that only tune its JVM: accepted, but said so.
    for def in key_sets.iter().flat_map(|d| d.iter()).filter(|k| k.inert) {
        if cfg.values.contains_key(def.name) {
            warnings.push((
                Some(def.name.to_string()),
                format!(
                    "{} has no effect in kconnect: {}",
                    def.name,
                    def.doc.trim_end_matches('.')
                ),
            ));
        }
    }
    // Keys nobody reads: a near miss of a known key is almost certainly a typo.
    let known: Vec<&str> = key_sets
        .iter()
        .flat_map(|d| d.iter().map(|k| k.name))
        .collect();
    for key in cfg.values.keys() {
        let refused = problems
            .iter()
            .any(|(k, _)| k.as_deref() == Some(key.as_str()));
        // Checked before the known keys: a connector may list a legacy key so that old
        // files run, and its users must still hear that it does nothing.
        if let Some((_, why)) = LEGACY_KEYS.iter().find(|(k, _)| k == key) {
            warnings.push((Some(key.clone()), format!("{key} {why}; it has no effect")));
            continue;
        }
        if known.contains(&key.as_str())
            || known.iter().any(|k| parameter_key_matches(k, key))
            || is_passthrough(key)
            || refused
        {
            continue;
        }
        match did_you_mean(key, known.iter().copied()) {
            Some(m) => problems.push((
                Some(key.clone()),
                format!(
                    "unknown setting {key} for {}; did you mean {m}?",
                    plugin.desc.class
                ),
            )),
            None => warnings.push((
                Some(key.clone()),
                format!(
                    "{key} is not a setting of {}; it is ignored",
                    plugin.desc.class
                ),
            )),
        }
    }
    let (nested_problems, nested_warnings) = super::nested::check(&cfg.values, &problems);
    problems.extend(nested_problems);
    warnings.extend(nested_warnings);
    for (key, message) in super::kafka::unsecured_clients(worker, cfg, plugin.is_source()) {
        warnings.push((Some(key), message));
    }
    if !cfg.values.contains_key("value.converter")
        && cfg.values.keys().any(|k| k.starts_with("value.converter."))
    {
        warnings.push((Some("value.converter".into()), "value.converter.* settings apply only when the connector also sets value.converter (as in Connect); the worker's converter settings are used".into()));
    }
    if !cfg.values.contains_key("key.converter")
        && cfg.values.keys().any(|k| k.starts_with("key.converter."))
    {
        warnings.push((Some("key.converter".into()), "key.converter.* settings apply only when the connector also sets key.converter (as in Connect); the worker's converter settings are used".into()));
    }
    if !cfg.values.contains_key("header.converter")
        && cfg
            .values
            .keys()
            .any(|k| k.starts_with("header.converter."))
    {
        warnings.push((Some("header.converter".into()), "header.converter.* settings apply only when the connector also sets header.converter (as in Connect); the worker's header converter settings are used".into()));
    }
    (problems, warnings)
}

/// Whether `key` is an instance of a known key that carries a parameter in its name, written
/// as Debezium's ConfigDef writes it: `column.mask.with.(d+).chars` (a number),
/// `column.mask.hash.([^.]+).with.salt.(.+)` (a name without dots, then anything).
fn parameter_key_matches(name: &str, key: &str) -> bool {
    if !name.contains('(') {
        return false;
    }
    let mut pattern = String::from("^");
    let mut rest = name;
    while !rest.is_empty() {
        let (part, len) = if rest.starts_with("(d+)") {
            (r"\d+".to_string(), 4)
        } else if rest.starts_with("([^.]+)") {
            (r"[^.]+".to_string(), 7)
        } else if rest.starts_with("(.+)") {
            (".+".to_string(), 4)
        } else {
            let c = rest.chars().next().expect("not empty");
            (regex::escape(&c.to_string()), c.len_utf8())
        };
        pattern.push_str(&part);
        rest = &rest[len..];
    }
    pattern.push('$');
    regex::Regex::new(&pattern).is_ok_and(|re| re.is_match(key))
}

fn is_passthrough(key: &str) -> bool {
    PASSTHROUGH_PREFIXES.iter().any(|p| key.starts_with(p))
}
