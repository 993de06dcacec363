//! `kconnect export`: each connector created on the cluster STOPPED, given kconnect's offsets,
//! marked STOPPED here, then resumed there. Every refusal is found before anything changes.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{json, Value as Json};

use super::{
    cluster_config, connector_files, load_worker, offsets_body, open_store, provider_lines, remote,
    shown_config, stem, MoveOptions, Place,
};
use crate::commands::client::{exit_of, fail, ClientError, Worker};
use crate::commands::Exit;
use crate::config::{ConnectorFile, TargetState};
use crate::offsets::OffsetStore;

/// One connector ready to go: the `POST /connectors` body and the `PATCH .../offsets` body.
struct Outgoing {
    name: String,
    config: BTreeMap<String, String>,
    offsets: Json,
    count: usize,
    /// The state it is to have there: what it has here (set through the REST API, else its
    /// file's `initial_state`), so a connector paused or stopped here is not started there.
    state: TargetState,
}

impl Outgoing {
    fn create_body(&self, config: Json) -> Json {
        json!({"name": self.name, "config": config, "initial_state": "STOPPED"})
    }
}

pub fn export(opts: MoveOptions, to: Place, replace: bool) -> Exit {
    match run(opts, to, replace) {
        Ok(()) => Exit::Ok,
        Err(code) => code,
    }
}

fn run(opts: MoveOptions, to: Place, replace: bool) -> Result<(), Exit> {
    let worker = load_worker(&opts.worker)?;
    let files = connector_files(&opts.paths).map_err(|m| {
        eprintln!("error: {m}");
        Exit::Config
    })?;
    let chosen = choose(files, &opts.names)?;
    let store = open_store(&worker.offsets_dir)?;
    let mut out = Vec::new();
    for file in chosen {
        if let Ok(Some(moved)) = store.moved(&file.name) {
            eprintln!(
                "error: connector {} was exported already; its offsets here are old: {}",
                file.name,
                crate::runtime::herder::moved_away(&file.name, &moved)
            );
            return Err(Exit::Config);
        }
        let config = cluster_config(&file.config, &worker);
        let lines = provider_lines(&config, &worker);
        if !lines.is_empty() {
            eprintln!(
                "note: connector {} reads settings through config providers; the cluster's workers resolve them with their own, so their worker config needs:\n  {}",
                file.name,
                lines.join("\n  ")
            );
        }
        let entries = store.list(Some(&file.name)).map_err(|e| {
            eprintln!("error: {e}");
            Exit::ConnectorFailed
        })?;
        let state = match store.target_state(&file.name) {
            Ok(Some(s)) if s == "PAUSED" => TargetState::Paused,
            Ok(Some(s)) if s == "STOPPED" => TargetState::Stopped,
            _ => file.initial_state,
        };
        out.push(Outgoing {
            state,
            name: file.name.clone(),
            offsets: offsets_body(&entries),
            count: entries.len(),
            config,
        });
    }
    let clients: Vec<&str> = worker
        .values
        .keys()
        .filter(|k| {
            ["producer.", "consumer.", "admin."]
                .iter()
                .any(|p| k.starts_with(p))
        })
        .map(|k| k.as_str())
        .collect();
    if !clients.is_empty() {
        eprintln!(
            "note: the worker's client settings ({}) are not carried: on the cluster its workers' own apply; set them there, or per connector as producer.override.* / consumer.override.* where the cluster's connector.client.config.override.policy allows",
            clients.join(", ")
        );
    }
    match to {
        Place::Dir(dir) => to_dir(&dir, &out, opts.dry_run),
        Place::Cluster(conn) if opts.dry_run => {
            dry_run(&conn.url, &out, replace);
            Ok(())
        }
        Place::Cluster(conn) => {
            let w = Worker::connect(&conn).map_err(|e| fail(&e))?;
            to_cluster(&w, &store, &out, replace)
        }
    }
}

/// The named connectors, or every one in the files.
fn choose(files: Vec<ConnectorFile>, names: &[String]) -> Result<Vec<ConnectorFile>, Exit> {
    if files.is_empty() {
        eprintln!("error: no connector files to export; give the files or directories kconnect run is given (--connectors PATH)");
        return Err(Exit::Config);
    }
    if names.is_empty() {
        return Ok(files);
    }
    let mut chosen = Vec::new();
    for name in names {
        match files.iter().find(|f| &f.name == name) {
            Some(f) => chosen.push(f.clone()),
            None => {
                eprintln!(
                    "error: no connector named {name} in the connector files; they hold {}",
                    files
                        .iter()
                        .map(|f| f.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                return Err(Exit::Config);
            }
        }
    }
    Ok(chosen)
}

fn dry_run(url: &str, out: &[Outgoing], replace: bool) {
    let url = url.trim_end_matches('/');
    println!("dry run: nothing is sent to {url} and nothing changes here");
    for o in out {
        let name = o.name.as_str();
        if replace {
            println!("\n# only if {url} has a connector {name} already (--replace):\nPUT {url}/connectors/{name}/stop\nDELETE {url}/connectors/{name}/offsets\nDELETE {url}/connectors/{name}");
        }
        let body = o.create_body(shown_config(&o.config));
        println!(
            "\nPOST {url}/connectors\n{}",
            serde_json::to_string_pretty(&body).unwrap_or_default()
        );
        if o.count > 0 {
            println!(
                "\nPATCH {url}/connectors/{name}/offsets\n{}",
                serde_json::to_string_pretty(&o.offsets).unwrap_or_default()
            );
        } else {
            println!(
                "\n# no offsets stored for {name}: it starts on the cluster as on a first run"
            );
        }
        match o.state {
            TargetState::Running => println!(
                "\n# then {name} is marked STOPPED here\nPUT {url}/connectors/{name}/resume"
            ),
            TargetState::Paused => println!(
                "\n# then {name} is marked STOPPED here; it is PAUSED here, so PAUSED there\nPUT {url}/connectors/{name}/pause"
            ),
            TargetState::Stopped => println!(
                "\n# then {name} is marked STOPPED here; it is STOPPED here, so it stays STOPPED there"
            ),
        }
    }
}

fn to_dir(dir: &std::path::Path, out: &[Outgoing], dry_run: bool) -> Result<(), Exit> {
    for o in out {
        let sub = dir.join(stem(&o.name));
        let connector = sub.join("connector.json");
        let offsets = sub.join("offsets.json");
        if dry_run {
            println!(
                "would write {} and {} ({} offset(s))",
                connector.display(),
                offsets.display(),
                o.count
            );
            continue;
        }
        let write = |path: &std::path::Path, body: &Json| {
            let mut text = serde_json::to_string_pretty(body).unwrap_or_default();
            text.push('\n');
            std::fs::create_dir_all(&sub)
                .map_err(|e| e.to_string())
                .and_then(|_| {
                    crate::runtime::herder::files::write_atomic(path, &text)
                        .map_err(|e| e.to_string())
                })
                .map_err(|e| {
                    eprintln!("error: cannot write {}: {e}", path.display());
                    Exit::Config
                })
        };
        write(&connector, &o.create_body(json!(o.config)))?;
        write(&offsets, &o.offsets)?;
        println!(
            "wrote {} with {} offset(s) to {}",
            o.name,
            o.count,
            sub.display()
        );
    }
    Ok(())
}

fn to_cluster(
    w: &Worker,
    store: &OffsetStore,
    out: &[Outgoing],
    replace: bool,
) -> Result<(), Exit> {
    remote::check_version(w).map_err(|e| match e {
        Ok(message) => {
            eprintln!("error: {message}; nothing was exported");
            Exit::Config
        }
        Err(e) => fail(&e),
    })?;
    let mut present = Vec::new();
    for o in out {
        if remote::exists(w, &o.name).map_err(|e| fail(&e))? {
            present.push(o.name.clone());
        }
    }
    if !present.is_empty() && !replace {
        eprintln!(
            "error: the cluster at {} has connector(s) named {} already; nothing was exported. Give --replace to stop and delete them there (with their offsets) and export kconnect's, or export under other names",
            w.url(),
            present.join(", ")
        );
        return Err(Exit::Config);
    }
    for o in out {
        let name = o.name.as_str();
        let step = |what: &str, e: &ClientError| {
            eprintln!(
                "error: exporting connector {name}: {what}: {}",
                crate::runtime::ErrorChain(e)
            );
            exit_of(e)
        };
        if present.contains(&o.name) {
            match remote::stop(w, name).map_err(|e| step("stopping it on the cluster", &e))? {
                Ok(()) => {}
                Err(m) => {
                    eprintln!("error: {m}");
                    return Err(Exit::Config);
                }
            }
            w.send(Method::DELETE, &["connectors", name, "offsets"], &[], None)
                .map_err(|e| step("deleting its offsets on the cluster (--replace)", &e))?;
            w.send(Method::DELETE, &["connectors", name], &[], None)
                .map_err(|e| step("deleting it on the cluster (--replace)", &e))?;
        }
        w.send(
            Method::POST,
            &["connectors"],
            &[],
            Some(&o.create_body(json!(o.config))),
        )
        .map_err(|e| step("creating it STOPPED on the cluster", &e))?;
        if o.count > 0 {
            w.send(
                Method::PATCH,
                &["connectors", name, "offsets"],
                &[],
                Some(&o.offsets),
            )
            .map_err(|e| {
                step(
                    "writing its offsets on the cluster (it is there, STOPPED: delete it there and export again)",
                    &e,
                )
            })?;
        }
        let mark = json!({
            "to": w.url(),
            "at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
        if let Err(e) = store.set_moved(name, Some(&mark)) {
            eprintln!("error: connector {name} is on the cluster, STOPPED, with its offsets, but cannot be marked STOPPED here: {e}; it was not resumed there");
            return Err(Exit::ConnectorFailed);
        }
        let (verb, there) = match o.state {
            TargetState::Running => (Some("resume"), "it runs there now"),
            TargetState::Paused => (Some("pause"), "it is PAUSED there, as it was here"),
            TargetState::Stopped => (None, "it is STOPPED there, as it was here"),
        };
        if let Some(verb) = verb {
            w.send(Method::PUT, &["connectors", name, verb], &[], None)
                .map_err(|e| {
                    step(
                        "starting it on the cluster (it is there, STOPPED, with its offsets, and STOPPED here: kconnect resume NAME --url URL starts it there)",
                        &e,
                    )
                })?;
        }
        println!(
            "exported {name} to {} with {} offset(s); {there}, and it stays STOPPED here (kconnect import --from {} {name} brings it back)",
            w.url(),
            o.count,
            w.url()
        );
    }
    Ok(())
}
