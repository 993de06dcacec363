//! What each subcommand does, behind the thin CLI in `main.rs`. Each returns the process exit
//! status documented in the README.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value as Json};

use crate::api::{KeyDefault, PluginKind};
use crate::config::{WorkerConfig, WorkerOverrides};
use crate::offsets::StoreError;
use crate::runtime::registry;
use crate::runtime::validate::load_and_validate;
use crate::runtime::{self, RunOptions, WorkerError};

pub mod client;
pub mod moving;
mod offsets;
pub use moving::{export, import, MoveOptions, Place};
pub use offsets::{offsets, OffsetsCommand};

/// Exit statuses, as documented in the README.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Config = 1,
    Usage = 2,
    ConnectorFailed = 3,
    StoreLocked = 4,
    /// A client command (`status`, `pause`, `offsets --url`, ...) found no Kafka Connect
    /// worker at its URL: nothing listens there, it timed out, or it is not Connect.
    NoWorker = 5,
}

fn load_worker(o: &WorkerOverrides) -> Result<WorkerConfig, Exit> {
    WorkerConfig::load(o).map_err(|e| {
        eprintln!("error: {e}");
        Exit::Config
    })
}

/// A `--deadline` value: a number with a unit (`500ms`, `90s`, `5m`, `2h`); a bare number is
/// seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a duration; write e.g. 90s, 5m or 1h"))?;
    let ms = match unit.trim() {
        "ms" => 1,
        "" | "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?}; use ms, s, m or h (e.g. 90s)"
            ))
        }
    };
    match n.checked_mul(ms) {
        Some(0) | None => Err(format!("{text:?} must be more than zero and at most years")),
        Some(v) => Ok(Duration::from_millis(v)),
    }
}

pub fn run(
    paths: Vec<PathBuf>,
    overrides: WorkerOverrides,
    once: bool,
    deadline: Option<Duration>,
) -> Exit {
    let worker = match load_worker(&overrides) {
        Ok(w) => w,
        Err(code) => return code,
    };
    let broker_wait = std::env::var("KCONNECT_BROKER_WAIT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_secs(30));
    match runtime::run(RunOptions {
        paths,
        worker,
        once,
        broker_wait,
        deadline,
    }) {
        Ok(_) => Exit::Ok,
        Err(e) => {
            tracing::error!("{}", runtime::ErrorChain(&e));
            match e {
                WorkerError::Config(_) | WorkerError::Rest(_) | WorkerError::OnceSubscribe => {
                    Exit::Config
                }
                WorkerError::Store(StoreError::Locked { .. }) => Exit::StoreLocked,
                WorkerError::Store(_)
                | WorkerError::Kafka(_)
                | WorkerError::TasksFailed(_)
                | WorkerError::Deadline { .. } => Exit::ConnectorFailed,
            }
        }
    }
}

pub fn validate(paths: Vec<PathBuf>, overrides: WorkerOverrides) -> Exit {
    let worker = match load_worker(&overrides) {
        Ok(w) => w,
        Err(code) => return code,
    };
    let report = load_and_validate(&paths, &worker);
    let mut out = std::io::stdout().lock();
    for w in &report.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    for p in &report.problems {
        let _ = writeln!(out, "error: {p}");
    }
    if report.ok() {
        let _ = writeln!(
            out,
            "{} connector(s) valid: {}",
            report.connectors.len(),
            report
                .connectors
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        Exit::Ok
    } else {
        let _ = writeln!(out, "{} problem(s) found", report.problems.len());
        Exit::Config
    }
}

fn key_json(k: &crate::api::ConfigKey) -> Json {
    json!({
        "name": k.name,
        "type": k.ty.name(),
        "default": match k.default { KeyDefault::Value(v) => Json::String(v.into()), _ => Json::Null },
        "required": k.default == KeyDefault::Required,
        "secret": k.is_secret(),
        "doc": k.doc,
    })
}

pub fn plugins_json() -> Json {
    let list: Vec<Json> = registry::all()
        .iter()
        .map(|d| {
            json!({
                "class": d.class,
                "aliases": d.aliases,
                "type": d.kind.name(),
                "version": d.version(),
                "matches": d.upstream().project,
                "doc": d.doc,
                "config": d.config.iter().map(key_json).collect::<Vec<_>>(),
            })
        })
        .collect();
    Json::Array(list)
}

/// The reference section of the README, generated from the same registry.
pub fn plugins_markdown() -> String {
    let mut s = String::new();
    let mut last: Option<PluginKind> = None;
    for d in registry::all() {
        if last != Some(d.kind) {
            s.push_str(&format!(
                "\n### {}\n",
                match d.kind {
                    PluginKind::Source => "Source connectors",
                    PluginKind::Sink => "Sink connectors",
                    PluginKind::Converter => "Converters",
                    PluginKind::HeaderConverter => "Header converters",
                    PluginKind::Transformation => "Transforms",
                    PluginKind::Predicate => "Predicates",
                }
            ));
            last = Some(d.kind);
        }
        s.push_str(&format!("\n#### `{}`\n\n", d.class));
        if !d.aliases.is_empty() {
            s.push_str(&format!(
                "Aliases: {}. ",
                d.aliases
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        s.push_str(d.doc);
        let up = d.upstream();
        s.push_str(&format!(" Matches {} {}.\n", up.project, up.version));
        key_table(&mut s, d.config);
    }
    s
}

/// The worker file's settings (Connect's StandaloneConfig keys and kconnect's own), in the
/// same table form as the plugins' (docs/reference.md).
pub fn worker_markdown() -> String {
    let mut s = String::from(
        "\n### Worker\n\nThe worker file (`--worker`), as Connect's standalone worker reads it; `producer.*`, `consumer.*`, `admin.*` and `security.protocol`/`ssl.*`/`sasl.*` go to the Kafka clients (README, Configuration).\n",
    );
    key_table(&mut s, crate::config::worker::WORKER_KEYS);
    s
}

fn key_table(s: &mut String, keys: &[crate::api::ConfigKey]) {
    if keys.is_empty() {
        return;
    }
    s.push_str("\n| key | type | default | description |\n|---|---|---|---|\n");
    for k in keys {
        s.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            k.name,
            k.ty.name(),
            match k.default {
                KeyDefault::Value(v) => format!("`{v}`"),
                KeyDefault::Required => "required".into(),
                KeyDefault::None => "".into(),
            },
            k.doc.replace('|', "\\|")
        ));
    }
}

pub fn plugins(as_json: bool, markdown: bool) -> Exit {
    let mut out = std::io::stdout().lock();
    if as_json {
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&plugins_json()).unwrap_or_default()
        );
        return Exit::Ok;
    }
    if markdown {
        let _ = write!(out, "{}{}", worker_markdown(), plugins_markdown());
        return Exit::Ok;
    }
    let _ = writeln!(
        out,
        "kconnect {}; each plugin with the Java implementation and version it matches",
        env!("CARGO_PKG_VERSION")
    );
    let mut last = None;
    for d in registry::all() {
        if last != Some(d.kind) {
            let _ = writeln!(out, "\n{}:", d.kind.name());
            last = Some(d.kind);
        }
        let alias = d
            .aliases
            .first()
            .map(|a| format!(" ({a})"))
            .unwrap_or_default();
        let up = d.upstream();
        let _ = writeln!(
            out,
            "  {}{alias}  matches {} {}\n      {}",
            d.class, up.project, up.version, d.doc
        );
        for k in d.config {
            let _ = writeln!(
                out,
                "      {:<44} {:<8} {:<22} {}",
                k.name,
                k.ty.name(),
                k.default_display(),
                k.doc
            );
        }
    }
    Exit::Ok
}
#[cfg(test)]
mod deadline_tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn deadlines_take_a_unit_and_refuse_nonsense() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("12"), Ok(Duration::from_secs(12)));
        assert!(parse_duration("0s").unwrap_err().contains("more than zero"));
        assert!(parse_duration("5 days")
            .unwrap_err()
            .contains("unknown unit"));
        assert!(parse_duration("soon")
            .unwrap_err()
            .contains("not a duration"));
    }
}
