//! `kconnect status|pause|resume|stop|restart` and `kconnect offsets ... --url`: a client of
//! Kafka Connect's REST API, for a running kconnect or any Connect worker, for people without
//! curl and for scripts that want exit statuses instead of parsing JSON.
//!
//! Exit statuses (README): 0 done; 1 the worker refused the request (its message is printed);
//! 2 a bad command line or a file a flag names cannot be read; 3 `status` shows a FAILED
//! connector or task; 5 no Kafka Connect worker answered at the URL.

use std::io::Write;

use reqwest::Method;
use serde_json::Value as Json;

use super::Exit;
use crate::runtime::ErrorChain;

mod http;
mod offsets;
mod table;

pub use http::{ClientError, Connection, Worker, DEFAULT_URL};
pub use offsets::offsets;
pub use table::{render, Instance, Status};

/// What to ask the worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientCommand {
    /// One connector's status, or every connector's (`GET /connectors?expand=status`).
    Status {
        name: Option<String>,
        json: bool,
    },
    /// `PUT /connectors/{name}/pause|resume|stop`.
    Pause {
        name: String,
    },
    Resume {
        name: String,
    },
    Stop {
        name: String,
    },
    /// `POST /connectors/{name}/restart`, with Connect's `includeTasks` and `onlyFailed`.
    Restart {
        name: String,
        include_tasks: bool,
        only_failed: bool,
        json: bool,
    },
    /// `POST /connectors/{name}/tasks/{task}/restart`.
    RestartTask {
        name: String,
        task: u32,
    },
}

/// Runs one client command and says how it went, as an exit status.
pub fn client(conn: &Connection, cmd: ClientCommand) -> Exit {
    let result = Worker::connect(conn).and_then(|w| run(&w, cmd));
    match result {
        Ok(exit) => exit,
        Err(e) => fail(&e),
    }
}

/// Prints the error with its causes and maps it to the README's exit status.
pub(super) fn fail(e: &ClientError) -> Exit {
    eprintln!("error: {}", ErrorChain(e));
    exit_of(e)
}

pub(super) fn exit_of(e: &ClientError) -> Exit {
    if e.no_answer() {
        Exit::NoWorker
    } else if e.usage() {
        Exit::Usage
    } else {
        Exit::Config
    }
}

fn run(w: &Worker, cmd: ClientCommand) -> Result<Exit, ClientError> {
    match cmd {
        ClientCommand::Status { name, json } => status(w, name.as_deref(), json),
        ClientCommand::Pause { name } => target_state(w, &name, "pause", "PAUSED"),
        ClientCommand::Resume { name } => target_state(w, &name, "resume", "RUNNING"),
        ClientCommand::Stop { name } => target_state(w, &name, "stop", "STOPPED"),
        ClientCommand::Restart {
            name,
            include_tasks,
            only_failed,
            json,
        } => restart(w, &name, include_tasks, only_failed, json),
        ClientCommand::RestartTask { name, task } => {
            let id = task.to_string();
            w.send(
                Method::POST,
                &["connectors", &name, "tasks", &id, "restart"],
                &[],
                None,
            )?;
            println!("restarted task {id} of connector {name}");
            Ok(Exit::Ok)
        }
    }
}

fn status(w: &Worker, name: Option<&str>, json: bool) -> Result<Exit, ClientError> {
    let answer = match name {
        Some(name) => w.send(Method::GET, &["connectors", name, "status"], &[], None)?,
        None => w.send(Method::GET, &["connectors"], &[("expand", "status")], None)?,
    };
    // Connect's body as it came, so `jq` reads what the worker said.
    let mut body = answer.body.trim_end().to_string();
    let statuses = match name {
        Some(_) => vec![parse_status(w, &answer.json(w, "the status")?)?],
        None => match answer.json(w, "the connector list")? {
            // A worker older than Connect 2.3 (KIP-465) ignores `expand` and lists names:
            // ask each, and answer --json in the shape `expand=status` has.
            Json::Array(names) => {
                let (list, map) = one_by_one(w, &names)?;
                body = Json::Object(map).to_string();
                list
            }
            expanded_map => expanded(w, expanded_map)?,
        },
    };
    let mut out = std::io::stdout().lock();
    if json {
        let _ = writeln!(out, "{body}");
    } else if statuses.is_empty() {
        let _ = writeln!(out, "no connectors on the worker at {}", w.url());
    } else {
        let _ = out.write_all(render(&statuses).as_bytes());
    }
    Ok(if statuses.iter().any(Status::failed) {
        Exit::ConnectorFailed
    } else {
        Exit::Ok
    })
}

fn parse_status(w: &Worker, json: &Json) -> Result<Status, ClientError> {
    serde_json::from_value(json.clone()).map_err(|source| ClientError::NotConnect {
        url: w.url().to_string(),
        what: "the status".into(),
        source,
    })
}

/// `{"name": {"status": {...}}, ...}`, sorted by name (a JVM worker's map has no order).
fn expanded(w: &Worker, json: Json) -> Result<Vec<Status>, ClientError> {
    let Json::Object(map) = json else {
        return Err(not_connect(w, "the connector list"));
    };
    let mut list = map
        .values()
        .map(|v| {
            v.get("status")
                .ok_or_else(|| not_connect(w, "the connector list"))
                .and_then(|s| parse_status(w, s))
        })
        .collect::<Result<Vec<_>, _>>()?;
    list.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(list)
}

/// Each named connector's status, one request each, sorted by name; and the answers as
/// `{"name": {"status": {...}}}`.
fn one_by_one(
    w: &Worker,
    names: &[Json],
) -> Result<(Vec<Status>, serde_json::Map<String, Json>), ClientError> {
    let mut list = Vec::with_capacity(names.len());
    let mut map = serde_json::Map::new();
    for name in names {
        let name = name
            .as_str()
            .ok_or_else(|| not_connect(w, "the connector list"))?;
        let answer = w.send(Method::GET, &["connectors", name, "status"], &[], None)?;
        let json = answer.json(w, "the status")?;
        list.push(parse_status(w, &json)?);
        map.insert(name.to_string(), serde_json::json!({ "status": json }));
    }
    list.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((list, map))
}

fn not_connect(w: &Worker, what: &str) -> ClientError {
    ClientError::NotConnect {
        url: w.url().to_string(),
        what: what.to_string(),
        source: serde::de::Error::custom("an object of connector statuses was expected"),
    }
}

/// Pause, resume and stop are asynchronous in Connect (202, or 204 for stop): the answer
/// means the worker took the request, not that the state was reached.
fn target_state(w: &Worker, name: &str, verb: &str, state: &str) -> Result<Exit, ClientError> {
    w.send(Method::PUT, &["connectors", name, verb], &[], None)?;
    println!(
        "asked the worker to {verb} connector {name}; `kconnect status {name}` shows when it is {state}"
    );
    Ok(Exit::Ok)
}

fn restart(
    w: &Worker,
    name: &str,
    include_tasks: bool,
    only_failed: bool,
    json: bool,
) -> Result<Exit, ClientError> {
    // Without either flag the request is the plain one every Connect version knows (204);
    // with one, both parameters are sent (KIP-745, Connect 3.0+), answered 202 with the status.
    let query: &[(&str, &str)] = if include_tasks || only_failed {
        &[
            ("includeTasks", bool_text(include_tasks)),
            ("onlyFailed", bool_text(only_failed)),
        ]
    } else {
        &[]
    };
    let answer = w.send(Method::POST, &["connectors", name, "restart"], query, None)?;
    let mut out = std::io::stdout().lock();
    if answer.body.trim().is_empty() {
        let _ = writeln!(out, "restarted connector {name}");
    } else if json {
        let _ = writeln!(out, "{}", answer.body.trim_end());
    } else {
        let status = parse_status(w, &answer.json(w, "the restart")?)?;
        let _ = out.write_all(render(std::slice::from_ref(&status)).as_bytes());
    }
    Ok(Exit::Ok)
}

fn bool_text(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}
