//! `kconnect offsets list|set|reset ... --url URL`: the same commands as on the local store,
//! through a worker's KIP-875 endpoints (`GET`, `PATCH`, `DELETE /connectors/{name}/offsets`).
//! The store is never opened: the worker holds it, and checks an edit against the connector
//! it runs (Connect answers 400 unless the connector is STOPPED).

use reqwest::Method;
use serde_json::{json, Map as JsonMap, Value as Json};

use super::fail;
use super::http::{ClientError, Connection, Worker};
use crate::commands::offsets::{guess_kind, parse_edit, print_entries, OffsetsCommand};
use crate::commands::Exit;
use crate::offsets::OffsetEntry;

pub fn offsets(conn: &Connection, cmd: OffsetsCommand) -> Exit {
    if let OffsetsCommand::Set { paths, force, .. } = &cmd {
        if !paths.is_empty() || *force {
            eprintln!(
                "error: with --url the worker checks the edit against the connector it runs; connector files (PATH) and --force are for the local store (without --url)"
            );
            return Exit::Usage;
        }
    }
    let worker = match Worker::connect(conn) {
        Ok(w) => w,
        Err(e) => return fail(&e),
    };
    let result = match cmd {
        OffsetsCommand::List { connector, json } => list(&worker, connector.as_deref(), json),
        OffsetsCommand::Reset { connector } => {
            let r = worker.send(Method::DELETE, &path(&connector), &[], None);
            done(&worker, &connector, r)
        }
        OffsetsCommand::Set {
            connector,
            partition,
            offset,
            ..
        } => {
            let (p, o) = match parse_edit(&partition, &offset) {
                Ok(edit) => edit,
                Err(code) => return code,
            };
            let body = json!({"offsets": [{"partition": p, "offset": o}]});
            let r = worker.send(Method::PATCH, &path(&connector), &[], Some(&body));
            done(&worker, &connector, r)
        }
    };
    result.unwrap_or_else(|e| fail(&e))
}

fn path(connector: &str) -> [&str; 3] {
    ["connectors", connector, "offsets"]
}

fn list(w: &Worker, connector: Option<&str>, json: bool) -> Result<Exit, ClientError> {
    let names = match connector {
        Some(name) => vec![name.to_string()],
        None => {
            let answer = w.send(Method::GET, &["connectors"], &[], None)?;
            serde_json::from_str::<Vec<String>>(&answer.body).map_err(|source| {
                ClientError::NotConnect {
                    url: w.url().to_string(),
                    what: "GET /connectors".into(),
                    source,
                }
            })?
        }
    };
    let mut entries = Vec::new();
    for name in &names {
        let answer = w.send(Method::GET, &path(name), &[], None)?;
        let body: Offsets =
            serde_json::from_str(&answer.body).map_err(|source| ClientError::NotConnect {
                url: w.url().to_string(),
                what: format!("the offsets of {name}"),
                source,
            })?;
        entries.extend(body.offsets.into_iter().map(|o| OffsetEntry {
            connector: name.clone(),
            kind: guess_kind(&o.partition),
            partition: Json::Object(o.partition),
            offset: o.offset,
        }));
    }
    let none = match connector {
        Some(name) => format!(
            "no offsets of connector {name} on the worker at {}",
            w.url()
        ),
        None => format!("no offsets on the worker at {}", w.url()),
    };
    print_entries(&entries, json, &none);
    Ok(Exit::Ok)
}

/// KIP-875's `{"offsets": [{"partition": {..}, "offset": {..}}]}`.
#[derive(serde::Deserialize)]
struct Offsets {
    offsets: Vec<PartitionOffset>,
}

#[derive(serde::Deserialize)]
struct PartitionOffset {
    partition: JsonMap<String, Json>,
    #[serde(default)]
    offset: Json,
}

/// Connect answers an alter or reset with `{"message": ".. altered successfully"}`; a
/// connector that is not STOPPED is refused, and the hint says how to stop it.
fn done(
    w: &Worker,
    connector: &str,
    result: Result<super::http::Answer, ClientError>,
) -> Result<Exit, ClientError> {
    match result {
        Ok(answer) => {
            let message = serde_json::from_str::<Json>(&answer.body)
                .ok()
                .and_then(|b| b.get("message").and_then(Json::as_str).map(String::from))
                .unwrap_or_else(|| "done".into());
            println!("{connector}: {message}");
            Ok(Exit::Ok)
        }
        Err(e @ ClientError::Http { status: 400, .. }) if e.to_string().contains("STOPPED") => {
            let code = fail(&e);
            eprintln!(
                "hint: `kconnect stop {connector} --url {url}` stops it; after the edit `kconnect resume {connector} --url {url}` starts it from the new offsets",
                url = w.url()
            );
            Ok(code)
        }
        Err(e) => Err(e),
    }
}
