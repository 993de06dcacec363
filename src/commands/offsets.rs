//! `kconnect offsets`: list, reset and set stored offsets. An edit is checked against the
//! shape the connector itself reads (`api::OffsetShape`), because the store takes any JSON and
//! a task silently ignores a partition or offset key it does not know.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map as JsonMap, Value as Json};

use super::Exit;
use crate::api::OffsetShape;
use crate::config::loader::{collect_paths, load_connector_file};
use crate::connectors;
use crate::offsets::{OffsetEntry, OffsetKind, OffsetStore, StoreError};

fn open_store(dir: &std::path::Path) -> Result<OffsetStore, Exit> {
    OffsetStore::open(dir).map_err(|e| {
        eprintln!("error: {e}");
        match e {
            StoreError::Locked { .. } => Exit::StoreLocked,
            _ => Exit::ConnectorFailed,
        }
    })
}

pub enum OffsetsCommand {
    List {
        connector: Option<String>,
        json: bool,
    },
    Reset {
        connector: String,
    },
    Set {
        connector: String,
        partition: String,
        offset: String,
        /// The connector files, as `run` takes them; the edit is checked against them.
        paths: Vec<PathBuf>,
        /// Write even when no connector of that name is in `paths`.
        force: bool,
    },
}

pub fn offsets(dir: PathBuf, cmd: OffsetsCommand) -> Exit {
    match cmd {
        OffsetsCommand::List { connector, json } => list(&dir, connector.as_deref(), json),
        OffsetsCommand::Reset { connector } => reset(&dir, &connector),
        OffsetsCommand::Set {
            connector,
            partition,
            offset,
            paths,
            force,
        } => set(&dir, &connector, &partition, &offset, &paths, force),
    }
}

/// "it holds offsets of a, b" or "it holds none", for a name the store does not know.
fn held(store: &OffsetStore) -> String {
    match store.connectors() {
        Ok(names) if names.is_empty() => "it holds no offsets".into(),
        Ok(names) => format!("it holds offsets of {}", names.join(", ")),
        Err(e) => format!("(cannot list it: {e})"),
    }
}

fn list(dir: &Path, connector: Option<&str>, json: bool) -> Exit {
    let store = match open_store(dir) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let entries = match store.list(connector) {
        Ok(entries) => entries,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::ConnectorFailed;
        }
    };
    if let (Some(name), true) = (connector, entries.is_empty()) {
        eprintln!(
            "error: no offsets of connector {name} in the offsets store {}; {} (check the name, or --offsets DIR for another store)",
            dir.display(),
            held(&store)
        );
        return Exit::Config;
    }
    print_entries(&entries, json, &format!("no offsets in {}", dir.display()));
    Exit::Ok
}

/// The offsets as `offsets list` shows them, from the local store or a worker's REST API
/// alike: a table, or with `--json` an array of `{connector, type, partition, offset}`.
pub(super) fn print_entries(entries: &[OffsetEntry], json: bool, none: &str) {
    let mut out = std::io::stdout().lock();
    if json {
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(entries).unwrap_or_default()
        );
    } else if entries.is_empty() {
        let _ = writeln!(out, "{none}");
    } else {
        let _ = writeln!(
            out,
            "{:<28} {:<7} {:<48} OFFSET",
            "CONNECTOR", "TYPE", "PARTITION"
        );
        for e in entries {
            let kind = match e.kind {
                OffsetKind::Source => "source",
                OffsetKind::Sink => "sink",
            };
            let _ = writeln!(
                out,
                "{:<28} {:<7} {:<48} {}",
                e.connector, kind, e.partition, e.offset
            );
        }
    }
}

fn reset(dir: &Path, connector: &str) -> Exit {
    let store = match open_store(dir) {
        Ok(s) => s,
        Err(code) => return code,
    };
    match store.reset(connector) {
        Ok(0) => {
            eprintln!(
                "error: no offsets of connector {connector} in the offsets store {}; {}",
                dir.display(),
                held(&store)
            );
            Exit::Config
        }
        Ok(n) => {
            println!("reset {n} partition(s) of {connector}; it starts over on its next run");
            Exit::Ok
        }
        Err(e) => {
            eprintln!("error: {e}");
            Exit::ConnectorFailed
        }
    }
}

/// A connector the edit is for, as its file says.
struct Found {
    shape: OffsetShape,
    settings: BTreeMap<String, String>,
}

/// The connector named `name` in the connector files; `None` when the files name none at all.
fn find_connector(name: &str, paths: &[PathBuf]) -> Result<Option<Found>, String> {
    let files = collect_paths(paths).map_err(|e| {
        format!("cannot read the connector files to check the edit against: {e}; give the files the connector runs from (as for kconnect run), or --force to write anyway")
    })?;
    let mut names = Vec::new();
    for path in files {
        let file = load_connector_file(&path).map_err(|e| e.to_string())?;
        if file.name != name {
            names.push(file.name);
            continue;
        }
        let class = file
            .config
            .get("connector.class")
            .map(|c| c.trim())
            .unwrap_or("");
        return match connectors::find(class) {
            Some(plugin) => Ok(Some(Found {
                shape: plugin.offsets,
                settings: file.config,
            })),
            None => Err(format!(
                "{}: connector {name} has connector.class \"{class}\", which kconnect does not know (kconnect plugins lists them)",
                path.display()
            )),
        };
    }
    if names.is_empty() {
        return Ok(None);
    }
    Err(format!(
        "no connector named {name} in {}; they hold {}. Give the files the connector runs from (as for kconnect run), or --force to write anyway",
        paths_text(paths),
        names.join(", ")
    ))
}

fn paths_text(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A partition and its new offset, `None` to remove it: KIP-875's `{"partition", "offset"}`.
pub(super) type Edit = (JsonMap<String, Json>, Option<JsonMap<String, Json>>);

/// `--partition` and `--offset` as JSON objects; an `--offset` of `null` removes the
/// partition's offset. Wrong JSON is a usage error, said on stderr.
pub(super) fn parse_edit(partition: &str, offset: &str) -> Result<Edit, Exit> {
    let parse = |what: &str, text: &str| -> Result<Json, Exit> {
        serde_json::from_str::<Json>(text).map_err(|e| {
            eprintln!(
                "error: --{what} must be JSON, e.g. '{{\"filename\":\"/data/in.txt\"}}': {e}"
            );
            Exit::Usage
        })
    };
    let p = match parse("partition", partition) {
        Ok(Json::Object(m)) => m,
        Ok(_) => {
            eprintln!("error: --partition must be a JSON object");
            return Err(Exit::Usage);
        }
        Err(c) => return Err(c),
    };
    let o = match parse("offset", offset) {
        Ok(Json::Object(m)) => Some(m),
        Ok(Json::Null) => None,
        Ok(_) => {
            eprintln!(
                "error: --offset must be a JSON object, or null to remove the partition's offset"
            );
            return Err(Exit::Usage);
        }
        Err(c) => return Err(c),
    };
    Ok((p, o))
}

fn set(
    dir: &Path,
    connector: &str,
    partition: &str,
    offset: &str,
    paths: &[PathBuf],
    force: bool,
) -> Exit {
    let (p, o) = match parse_edit(partition, offset) {
        Ok(edit) => edit,
        Err(code) => return code,
    };
    let found = match find_connector(connector, paths) {
        Ok(found) => found,
        Err(_) if force => None,
        Err(message) => {
            eprintln!("error: {message}; nothing was written");
            return Exit::Config;
        }
    };
    let kind = match (&found, force) {
        (Some(f), _) => match f.shape {
            OffsetShape::Sink => OffsetKind::Sink,
            OffsetShape::Source { .. } => OffsetKind::Source,
        },
        (None, true) => guess_kind(&p),
        (None, false) => {
            eprintln!(
                "error: no connector files at {} name connector {connector}; give the files it runs from (as for kconnect run), or --force to write anyway; nothing was written",
                paths_text(paths)
            );
            return Exit::Config;
        }
    };
    // Without the connector (--force) a sink's shape is still known: it is the same for all.
    let check = match &found {
        Some(f) => f.shape.check(&f.settings, &p, o.as_ref()),
        None if kind == OffsetKind::Sink => {
            OffsetShape::Sink.check(&Default::default(), &p, o.as_ref())
        }
        None => Ok(()),
    };
    if let Err(e) = check {
        eprintln!("error: connector {connector}: {e}; nothing was written");
        return Exit::Config;
    }
    let store = match open_store(dir) {
        Ok(s) => s,
        Err(code) => return code,
    };
    write(&store, connector, kind, p, o)
}

/// Connect's KIP-875 shape tells a sink partition by its `kafka_topic`.
pub(super) fn guess_kind(p: &JsonMap<String, Json>) -> OffsetKind {
    if p.contains_key("kafka_topic") {
        OffsetKind::Sink
    } else {
        OffsetKind::Source
    }
}

fn write(
    store: &OffsetStore,
    connector: &str,
    kind: OffsetKind,
    p: JsonMap<String, Json>,
    o: Option<JsonMap<String, Json>>,
) -> Exit {
    match store.set(connector, kind, &p, o.as_ref()) {
        Ok(()) => {
            println!(
                "set {connector} {} to {}",
                Json::Object(p),
                o.map(Json::Object).unwrap_or(Json::Null)
            );
            Exit::Ok
        }
        Err(e) => {
            eprintln!("error: {e}");
            Exit::ConnectorFailed
        }
    }
}
