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

mod offsets;
pub use offsets::{offsets, OffsetsCommand};

/// Exit statuses, as documented in the README.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Config = 1,
    Usage = 2,
    ConnectorFailed = 3,
    StoreLocked = 4,
}

fn load_worker(o: &WorkerOverrides) -> Result<WorkerConfig, Exit> {
    WorkerConfig::load(o).map_err(|e| {
        eprintln!("error: {e}");
        Exit::Config
    })
}

pub fn run(paths: Vec<PathBuf>, overrides: WorkerOverrides, once: bool) -> Exit {
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
    }) {
        Ok(_) => Exit::Ok,
        Err(e) => {
            tracing::error!("{}", runtime::ErrorChain(&e));
            match e {
                WorkerError::Config(_) => Exit::Config,
                WorkerError::Store(StoreError::Locked { .. }) => Exit::StoreLocked,
                WorkerError::Store(_) | WorkerError::Kafka(_) | WorkerError::TasksFailed(_) => {
                    Exit::ConnectorFailed
                }
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
        s.push('\n');
        if !d.config.is_empty() {
            s.push_str("\n| key | type | default | description |\n|---|---|---|---|\n");
            for k in d.config {
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
    }
    s
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
        let _ = write!(out, "{}", plugins_markdown());
        return Exit::Ok;
    }
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
        let _ = writeln!(out, "  {}{alias}\n      {}", d.class, d.doc);
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
