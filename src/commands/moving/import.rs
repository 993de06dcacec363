//! `kconnect import`: each connector stopped on the cluster (so its offsets are final), its
//! config written to its connector file and its offsets into the local store, then unmarked
//! here so the next `kconnect run` runs it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::{Map as JsonMap, Value as Json};

use super::{
    carried, connector_files, load_worker, offsets_of, open_store, remote, stem, MoveOptions, Pair,
    Place, CONVERTER_KEYS,
};
use crate::commands::client::{exit_of, fail, ClientError, Worker};
use crate::commands::offsets::guess_kind;
use crate::commands::Exit;
use crate::config::{ConnectorFile, WorkerConfig};
use crate::offsets::OffsetStore;
use crate::runtime::herder::files::{self, ConnectorFiles};

/// A connector as the cluster (or the directory) holds it.
struct Incoming {
    name: String,
    config: BTreeMap<String, String>,
    offsets: Vec<Pair>,
    /// PAUSED on the cluster: it stays PAUSED here.
    paused: bool,
}

pub fn import(opts: MoveOptions, from: Place, into: Option<PathBuf>, delete: bool) -> Exit {
    match run(opts, from, into, delete) {
        Ok(()) => Exit::Ok,
        Err(code) => code,
    }
}

fn run(opts: MoveOptions, from: Place, into: Option<PathBuf>, delete: bool) -> Result<(), Exit> {
    let worker = load_worker(&opts.worker)?;
    // A directory that does not exist yet holds no connector: new ones go into it.
    let existing: Vec<PathBuf> = opts.paths.iter().filter(|p| p.exists()).cloned().collect();
    let files = connector_files(&existing).map_err(|m| {
        eprintln!("error: {m}");
        Exit::Config
    })?;
    let store = open_store(&worker.offsets_dir)?;
    let target = Target {
        files,
        into: into.or_else(|| opts.paths.first().cloned()),
        worker: &worker,
        store: &store,
    };
    match from {
        Place::Dir(dir) => {
            let names = if opts.names.is_empty() {
                names_in_dir(&dir)?
            } else {
                opts.names.clone()
            };
            for name in names {
                let inc = read_dir_entry(&dir, &name)?;
                let file = target.take(&inc)?;
                println!(
                    "imported {name} from {} with {} offset(s) into {}; kconnect run starts it",
                    dir.display(),
                    inc.offsets.len(),
                    file.display()
                );
            }
        }
        Place::Cluster(conn) => {
            let w = Worker::connect(&conn).map_err(|e| fail(&e))?;
            let names = if opts.names.is_empty() {
                target.moved_to(w.url())?
            } else {
                opts.names.clone()
            };
            for name in &names {
                if !remote::exists(&w, name).map_err(|e| fail(&e))? {
                    eprintln!(
                        "error: the cluster at {} has no connector named {name}; nothing was imported (kconnect status --url {} lists them)",
                        w.url(),
                        w.url()
                    );
                    return Err(Exit::Config);
                }
            }
            for name in names {
                let inc = from_cluster(&w, &name)?;
                let file = target.take(&inc)?;
                let there = if delete {
                    w.send(Method::DELETE, &["connectors", &name], &[], None)
                        .map_err(|e| step(&name, "deleting it on the cluster (--delete; it is imported and STOPPED there)", &e))?;
                    "deleted it there".to_string()
                } else {
                    "it stays STOPPED there (--delete removes it; never resume it there while it runs here)".to_string()
                };
                let here = if inc.paused {
                    "it was PAUSED there and stays PAUSED here (kconnect resume starts it once kconnect runs)"
                } else {
                    "kconnect run starts it here"
                };
                println!(
                    "imported {name} from {} with {} offset(s) into {}; {there}; {here}",
                    w.url(),
                    inc.offsets.len(),
                    file.display()
                );
            }
        }
    }
    Ok(())
}

fn step(name: &str, what: &str, e: &ClientError) -> Exit {
    eprintln!(
        "error: importing connector {name}: {what}: {}",
        crate::runtime::ErrorChain(e)
    );
    exit_of(e)
}

fn from_cluster(w: &Worker, name: &str) -> Result<Incoming, Exit> {
    let status = remote::json(w, &["connectors", name, "status"], "the status")
        .map_err(|e| step(name, "reading its status", &e))?;
    let paused = status.pointer("/connector/state").and_then(|s| s.as_str()) == Some("PAUSED");
    match remote::stop(w, name).map_err(|e| step(name, "stopping it on the cluster", &e))? {
        Ok(()) => {}
        Err(m) => {
            eprintln!("error: {m}");
            return Err(Exit::Config);
        }
    }
    let config = remote::config(w, name)
        .map_err(|e| step(name, "reading its config (it is STOPPED there now)", &e))?;
    let body = remote::json(w, &["connectors", name, "offsets"], "the offsets")
        .map_err(|e| step(name, "reading its offsets (it is STOPPED there now)", &e))?;
    let offsets = offsets_of(&body).ok_or_else(|| {
        eprintln!(
            "error: the offsets of {name} from {} are not Connect's {{\"offsets\": [{{\"partition\", \"offset\"}}]}}: {body}",
            w.url()
        );
        Exit::NoWorker
    })?;
    Ok(Incoming {
        name: name.to_string(),
        config,
        offsets,
        paused,
    })
}

fn names_in_dir(dir: &Path) -> Result<Vec<String>, Exit> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        eprintln!("error: cannot read the directory {}: {e}", dir.display());
        Exit::Config
    })?;
    let mut names = Vec::new();
    let mut subs: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    subs.sort();
    for sub in subs {
        let path = sub.join("connector.json");
        if path.is_file() {
            names.push(read_body(&path)?.0);
        }
    }
    if names.is_empty() {
        eprintln!(
            "error: {} holds no NAME/connector.json (what kconnect export --to-dir writes)",
            dir.display()
        );
        return Err(Exit::Config);
    }
    Ok(names)
}

fn read_json(path: &Path) -> Result<Json, Exit> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        eprintln!("error: cannot read {}: {e}", path.display());
        Exit::Config
    })?;
    serde_json::from_str(&text).map_err(|e| {
        eprintln!("error: {} is not JSON: {e}", path.display());
        Exit::Config
    })
}

/// A `POST /connectors` body: its name and config.
fn read_body(path: &Path) -> Result<(String, BTreeMap<String, String>), Exit> {
    let body = read_json(path)?;
    let name = body.get("name").and_then(|n| n.as_str()).map(String::from);
    let config = body
        .get("config")
        .and_then(|c| serde_json::from_value::<BTreeMap<String, String>>(c.clone()).ok());
    match (name, config) {
        (Some(n), Some(c)) => Ok((n, c)),
        _ => {
            eprintln!(
                "error: {} is not a connector body {{\"name\": .., \"config\": {{string settings}}}}",
                path.display()
            );
            Err(Exit::Config)
        }
    }
}

fn read_dir_entry(dir: &Path, name: &str) -> Result<Incoming, Exit> {
    let sub = dir.join(stem(name));
    let (found, config) = read_body(&sub.join("connector.json"))?;
    if found != name {
        eprintln!(
            "error: {} is connector {found}, not {name}",
            sub.join("connector.json").display()
        );
        return Err(Exit::Config);
    }
    let path = sub.join("offsets.json");
    let offsets = if path.exists() {
        offsets_of(&read_json(&path)?).ok_or_else(|| {
            eprintln!(
                "error: {} is not an offsets body {{\"offsets\": [{{\"partition\", \"offset\"}}]}}",
                path.display()
            );
            Exit::Config
        })?
    } else {
        Vec::new()
    };
    Ok(Incoming {
        name: name.to_string(),
        config,
        offsets,
        paused: false,
    })
}

/// Where imported connectors land: their files, and the offsets store.
struct Target<'a> {
    files: Vec<ConnectorFile>,
    into: Option<PathBuf>,
    worker: &'a WorkerConfig,
    store: &'a OffsetStore,
}

impl Target<'_> {
    /// The local connectors marked as exported to `url`.
    fn moved_to(&self, url: &str) -> Result<Vec<String>, Exit> {
        let names: Vec<String> = self
            .files
            .iter()
            .filter(|f| {
                matches!(self.store.moved(&f.name), Ok(Some(m)) if m.get("to").and_then(|t| t.as_str()) == Some(url))
            })
            .map(|f| f.name.clone())
            .collect();
        if names.is_empty() {
            eprintln!("error: no connector in the connector files was exported to {url}; name the connectors to import (kconnect status --url {url} lists them)");
            return Err(Exit::Usage);
        }
        Ok(names)
    }

    /// Writes the connector's file (unless it says the same already) and offsets, then
    /// unmarks it; returns its file.
    fn take(&self, inc: &Incoming) -> Result<PathBuf, Exit> {
        let local = self.files.iter().find(|f| f.name == inc.name);
        let base = local.map(|f| f.config.clone()).unwrap_or_default();
        let config = without_carried(&inc.config, &base, self.worker);
        let path = match local {
            Some(f) if f.config == config => f.path.clone(),
            Some(f) => {
                self.write_file(&f.path, &inc.name, &config)?;
                f.path.clone()
            }
            None => {
                let Some(dir) = self.into.as_ref() else {
                    eprintln!(
                        "error: nowhere to write connector {}: give --into DIR",
                        inc.name
                    );
                    return Err(Exit::Usage);
                };
                std::fs::create_dir_all(dir).map_err(|e| {
                    eprintln!("error: cannot create {}: {e}", dir.display());
                    Exit::Config
                })?;
                let path = ConnectorFiles::new(Some(dir.clone()), &[])
                    .path_for_new(&inc.name)
                    .map_err(|e| {
                        eprintln!("error: {e}");
                        Exit::Config
                    })?;
                self.write_file(&path, &inc.name, &config)?;
                path
            }
        };
        self.write_offsets(inc).map_err(|e| {
            eprintln!("error: connector {}: writing its offsets into the store: {e}; its file is {}; import it again", inc.name, path.display());
            Exit::ConnectorFailed
        })?;
        self.store
            .set_moved(&inc.name, None)
            .and_then(|_| {
                self.store
                    .set_target_state(&inc.name, inc.paused.then_some("PAUSED"))
            })
            .map_err(|e| {
                eprintln!("error: connector {}: {e}; import it again", inc.name);
                Exit::ConnectorFailed
            })?;
        Ok(path)
    }

    fn write_file(
        &self,
        path: &Path,
        name: &str,
        config: &BTreeMap<String, String>,
    ) -> Result<(), Exit> {
        files::write_atomic(path, &files::render(path, name, config)).map_err(|e| {
            eprintln!("error: connector {name}: {e}");
            Exit::Config
        })
    }

    /// The store holds exactly the incoming offsets afterwards: a partition it had that the
    /// cluster does not is removed.
    fn write_offsets(&self, inc: &Incoming) -> Result<(), crate::offsets::StoreError> {
        let incoming: Vec<&JsonMap<String, Json>> = inc.offsets.iter().map(|(p, _)| p).collect();
        for e in self.store.list(Some(&inc.name))? {
            let Some(p) = e.partition.as_object() else {
                continue;
            };
            if !incoming.contains(&p) {
                self.store.set(&inc.name, e.kind, p, None)?;
            }
        }
        for (p, o) in &inc.offsets {
            self.store.set(&inc.name, guess_kind(p), p, Some(o))?;
        }
        Ok(())
    }
}

/// The incoming config without the worker settings export carried into it: a converter group
/// (`value.converter` and its nested keys) the local file does not set and that equals this
/// worker's, and the like for `errors.retry.timeout`; so a round trip leaves the file as it was.
fn without_carried(
    incoming: &BTreeMap<String, String>,
    local: &BTreeMap<String, String>,
    worker: &WorkerConfig,
) -> BTreeMap<String, String> {
    let from_worker = carried(&BTreeMap::new(), worker);
    let mut out = incoming.clone();
    let group = |m: &BTreeMap<String, String>, key: &str| -> BTreeMap<String, String> {
        let nested = format!("{key}.");
        m.iter()
            .filter(|(k, _)| k.as_str() == key || k.starts_with(&nested))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    for key in CONVERTER_KEYS {
        let g = group(incoming, key);
        if !local.contains_key(*key) && !g.is_empty() && g == group(&from_worker, key) {
            for k in g.keys() {
                out.remove(k);
            }
        }
    }
    let retry = "errors.retry.timeout";
    if !local.contains_key(retry)
        && incoming.get(retry).is_some()
        && incoming.get(retry) == from_worker.get(retry)
    {
        out.remove(retry);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::WorkerOverrides;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_round_trip_takes_out_only_what_export_carried() {
        let worker = WorkerConfig::load(&WorkerOverrides::default()).unwrap();
        let file = map(&[("name", "a"), ("connector.class", "FileStreamSource")]);
        let sent = super::super::cluster_config(&file, &worker);
        assert_ne!(sent, file);
        assert_eq!(without_carried(&sent, &file, &worker), file);
        // Changed on the cluster: a converter group that differs from the worker's stays whole.
        let mut changed = sent.clone();
        changed.insert("value.converter.schemas.enable".into(), "false".into());
        let back = without_carried(&changed, &file, &worker);
        assert_eq!(back["value.converter.schemas.enable"], "false");
        assert_eq!(
            back["value.converter"],
            "org.apache.kafka.connect.json.JsonConverter"
        );
        assert!(!back.contains_key("key.converter"));
        // A converter the file sets itself is the file's, even when it equals the worker's.
        let own = map(&[
            ("name", "a"),
            (
                "key.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
        ]);
        assert_eq!(
            without_carried(&super::super::cluster_config(&own, &worker), &own, &worker),
            own
        );
    }
}
