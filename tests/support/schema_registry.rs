//! A Schema Registry for tests: Confluent's REST protocol for what the converters and
//! `CachedSchemaRegistryClient` use (register, lookup, schemas by id, subject versions,
//! compatibility checks and levels, error codes 40401/40402/40403/409/422), in process on a
//! loopback port. No registry can be installed on the test machines; `tests/avro_registry.rs`
//! proves this one speaks the protocol by pointing Confluent's own client at it.
//!
//! Tests can take it down (connections are dropped unanswered, as a dead registry's are),
//! require basic credentials, and count requests to check the converters' caching.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use kconnect::convert::avro::compat::can_read;
use kconnect::convert::avro::schema::Avro;
use serde_json::{json, Value};

#[derive(Default)]
struct State {
    /// Schema text by id - 1.
    schemas: Vec<String>,
    /// Per subject: the ids of its versions, version n at n - 1.
    subjects: Vec<(String, Vec<i32>)>,
    global_level: Option<String>,
    levels: HashMap<String, String>,
    /// "METHOD path" of every request answered.
    requests: Vec<String>,
}

pub struct SchemaRegistry {
    pub url: String,
    state: Arc<Mutex<State>>,
    down: Arc<AtomicBool>,
    auth: Arc<Mutex<Option<String>>>,
    stop: Arc<AtomicBool>,
    refused: Arc<std::sync::atomic::AtomicUsize>,
}

impl Drop for SchemaRegistry {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

pub fn schema_registry() -> SchemaRegistry {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let reg = SchemaRegistry {
        url,
        state: Arc::default(),
        down: Arc::default(),
        auth: Arc::default(),
        stop: Arc::default(),
        refused: Arc::default(),
    };
    let (state, down, auth, stop, refused) = (
        reg.state.clone(),
        reg.down.clone(),
        reg.auth.clone(),
        reg.stop.clone(),
        reg.refused.clone(),
    );
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let Ok(conn) = conn else { continue };
            if down.load(Ordering::SeqCst) {
                refused.fetch_add(1, Ordering::SeqCst);
                drop(conn);
                continue;
            }
            let (state, down, auth) = (state.clone(), down.clone(), auth.clone());
            std::thread::spawn(move || serve(conn, &state, &down, &auth));
        }
    });
    reg
}

impl SchemaRegistry {
    /// Down: every connection is closed unanswered until `set_down(false)`.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// Connections dropped unanswered while down: how often a client tried.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }

    /// Requires HTTP basic credentials `user:password` on every request.
    pub fn require_auth(&self, user_info: &str) {
        *self.auth.lock().unwrap() = Some(user_info.to_string());
    }

    /// How many requests matched `METHOD path-prefix`.
    pub fn count(&self, prefix: &str) -> usize {
        let s = self.state.lock().unwrap();
        s.requests.iter().filter(|r| r.starts_with(prefix)).count()
    }

    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn subject_versions(&self, subject: &str) -> Vec<String> {
        let s = self.state.lock().unwrap();
        s.subjects
            .iter()
            .find(|(n, _)| n == subject)
            .map(|(_, ids)| {
                ids.iter()
                    .map(|i| s.schemas[*i as usize - 1].clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn serve(conn: TcpStream, state: &Mutex<State>, down: &AtomicBool, auth: &Mutex<Option<String>>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("").to_string();
        let mut length = 0usize;
        let mut authorization = None;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                match k.trim().to_ascii_lowercase().as_str() {
                    "content-length" => length = v.trim().parse().unwrap_or(0),
                    "authorization" => authorization = Some(v.trim().to_string()),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if down.load(Ordering::SeqCst) {
            return;
        }
        let (status, answer) = if !authorized(auth, authorization.as_deref()) {
            (401, json!({"error_code": 401, "message": "Unauthorized"}))
        } else {
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let mut s = state.lock().unwrap();
            let path = target.split('?').next().unwrap_or("").to_string();
            s.requests.push(format!("{method} {path}"));
            let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
            route(&mut s, &method, &path, query, &body)
        };
        let text = answer.to_string();
        let reason = if status < 300 { "OK" } else { "Error" };
        let resp = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/vnd.schemaregistry.v1+json\r\nContent-Length: {}\r\n\r\n{text}",
            text.len()
        );
        if conn.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}

fn authorized(auth: &Mutex<Option<String>>, header: Option<&str>) -> bool {
    use base64::Engine;
    let Some(want) = auth.lock().unwrap().clone() else {
        return true;
    };
    let Some(got) = header.and_then(|h| h.strip_prefix("Basic ")) else {
        return false;
    };
    base64::engine::general_purpose::STANDARD
        .decode(got.trim())
        .map(|d| d == want.as_bytes())
        .unwrap_or(false)
}

fn err(status: u16, code: i64, message: &str) -> (u16, Value) {
    (status, json!({"error_code": code, "message": message}))
}

fn decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The same schema: the same text, or the same parsed schema (as the registry compares
/// canonical forms).
fn same(a: &str, b: &str) -> bool {
    a == b
        || match (Avro::parse(a), Avro::parse(b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
}

fn level(s: &State, subject: &str) -> String {
    s.levels
        .get(subject)
        .or(s.global_level.as_ref())
        .cloned()
        .unwrap_or_else(|| "BACKWARD".into())
}

/// Whether `new` may join a subject whose versions are `old` (newest last), at `level`.
fn compatible(level: &str, new: &Avro, old: &[Avro]) -> bool {
    let against: &[Avro] = if level.ends_with("_TRANSITIVE") {
        old
    } else {
        &old[old.len().saturating_sub(1)..]
    };
    let base = level.trim_end_matches("_TRANSITIVE");
    against.iter().all(|o| match base {
        "BACKWARD" => can_read(new, o).is_ok(),
        "FORWARD" => can_read(o, new).is_ok(),
        "FULL" => can_read(new, o).is_ok() && can_read(o, new).is_ok(),
        _ => true,
    })
}

fn subject_ids(s: &State, subject: &str) -> Option<Vec<i32>> {
    s.subjects
        .iter()
        .find(|(n, _)| n == subject)
        .map(|(_, v)| v.clone())
}

fn version_of(s: &State, subject: &str, v: &str) -> Result<(i32, i32), (u16, Value)> {
    let ids = subject_ids(s, subject)
        .ok_or_else(|| err(404, 40401, &format!("Subject '{subject}' not found.")))?;
    let n = if v == "latest" || v == "-1" {
        ids.len() as i32
    } else {
        v.parse::<i32>().map_err(|_| {
            err(
                422,
                42202,
                "The specified version is not a valid version id.",
            )
        })?
    };
    match ids.get((n as usize).wrapping_sub(1)) {
        Some(id) if n >= 1 => Ok((n, *id)),
        _ => Err(err(404, 40402, &format!("Version {v} not found."))),
    }
}

fn route(s: &mut State, method: &str, path: &str, query: &str, body: &Value) -> (u16, Value) {
    let segs: Vec<String> = path.trim_matches('/').split('/').map(decode).collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let schema_text = body["schema"].as_str().unwrap_or("");
    match (method, segs.as_slice()) {
        ("GET", ["subjects"]) => (
            200,
            json!(s
                .subjects
                .iter()
                .map(|(n, _)| n.clone())
                .collect::<Vec<_>>()),
        ),
        ("GET", ["schemas", "ids", id]) => {
            let id: usize = id.parse().unwrap_or(0);
            match s.schemas.get(id.wrapping_sub(1)) {
                Some(t) if id >= 1 => (200, json!({ "schema": t })),
                _ => err(404, 40403, "Schema not found"),
            }
        }
        ("GET", ["subjects", subject, "versions"]) => match subject_ids(s, subject) {
            Some(ids) => (200, json!((1..=ids.len()).collect::<Vec<_>>())),
            None => err(404, 40401, &format!("Subject '{subject}' not found.")),
        },
        ("GET", ["subjects", subject, "versions", v]) => match version_of(s, subject, v) {
            Ok((version, id)) => (
                200,
                json!({"subject": subject, "version": version, "id": id, "schema": s.schemas[id as usize - 1]}),
            ),
            Err(e) => e,
        },
        ("POST", ["subjects", subject]) => {
            let Some(ids) = subject_ids(s, subject) else {
                return err(404, 40401, &format!("Subject '{subject}' not found."));
            };
            for (i, id) in ids.iter().enumerate() {
                if same(&s.schemas[*id as usize - 1], schema_text) {
                    return (
                        200,
                        json!({"subject": subject, "version": i + 1, "id": id, "schema": s.schemas[*id as usize - 1]}),
                    );
                }
            }
            err(404, 40403, "Schema not found")
        }
        ("POST", ["subjects", subject, "versions"]) => {
            let Ok(new) = Avro::parse(schema_text) else {
                return err(
                    422,
                    42201,
                    "Either the input schema or one its references is invalid",
                );
            };
            let ids = subject_ids(s, subject).unwrap_or_default();
            if let Some(id) = ids
                .iter()
                .find(|id| same(&s.schemas[**id as usize - 1], schema_text))
            {
                return (200, json!({ "id": id }));
            }
            let old: Vec<Avro> = ids
                .iter()
                .filter_map(|id| Avro::parse(&s.schemas[*id as usize - 1]).ok())
                .collect();
            if !compatible(&level(s, subject), &new, &old) {
                return err(
                    409,
                    409,
                    &format!("Schema being registered is incompatible with an earlier schema for subject \"{subject}\""),
                );
            }
            let id = match s.schemas.iter().position(|t| same(t, schema_text)) {
                Some(i) => i as i32 + 1,
                None => {
                    s.schemas.push(schema_text.to_string());
                    s.schemas.len() as i32
                }
            };
            match s.subjects.iter_mut().find(|(n, _)| n == subject) {
                Some((_, v)) => v.push(id),
                None => s.subjects.push((subject.to_string(), vec![id])),
            }
            (200, json!({ "id": id }))
        }
        ("POST", ["compatibility", "subjects", subject, "versions", v]) => {
            let Ok(new) = Avro::parse(schema_text) else {
                return err(
                    422,
                    42201,
                    "Either the input schema or one its references is invalid",
                );
            };
            let (_, id) = match version_of(s, subject, v) {
                Ok(x) => x,
                Err(e) => return e,
            };
            let old = Avro::parse(&s.schemas[id as usize - 1]).unwrap();
            let ok = compatible(&level(s, subject), &new, &[old]);
            let _ = query;
            (200, json!({ "is_compatible": ok }))
        }
        ("PUT", ["config"]) | ("PUT", ["config", _]) => {
            let Some(l) = body["compatibility"].as_str().map(str::to_ascii_uppercase) else {
                return err(422, 42203, "Invalid compatibility level");
            };
            let valid = [
                "NONE",
                "BACKWARD",
                "FORWARD",
                "FULL",
                "BACKWARD_TRANSITIVE",
                "FORWARD_TRANSITIVE",
                "FULL_TRANSITIVE",
            ];
            if !valid.contains(&l.as_str()) {
                return err(422, 42203, "Invalid compatibility level");
            }
            match segs.get(1) {
                Some(subject) => {
                    s.levels.insert(subject.to_string(), l.clone());
                }
                None => s.global_level = Some(l.clone()),
            }
            (200, json!({ "compatibility": l }))
        }
        ("GET", ["config"]) => (200, json!({"compatibilityLevel": level(s, "")})),
        ("GET", ["config", subject]) => match s.levels.get(*subject) {
            Some(l) => (200, json!({ "compatibilityLevel": l })),
            None if query.contains("defaultToGlobal=true") => {
                (200, json!({"compatibilityLevel": level(s, subject)}))
            }
            None => err(
                404,
                40408,
                &format!(
                    "Subject '{subject}' does not have subject-level compatibility configured"
                ),
            ),
        },
        _ => err(404, 404, &format!("HTTP 404 Not Found: {method} {path}")),
    }
}
