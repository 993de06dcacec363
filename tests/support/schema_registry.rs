//! A Schema Registry for tests: Confluent's REST protocol for what the converters and
//! `CachedSchemaRegistryClient` use (register, lookup, schemas by id, subject versions,
//! compatibility checks and levels, error codes 40401/40402/40403/409/422), for Avro schemas
//! and for Protobuf schemas with their references, in process on a loopback port. No registry
//! can be installed on the test machines; `tests/avro_registry.rs` and
//! `tests/protobuf_registry.rs` prove this one speaks the protocol by pointing Confluent's own
//! client at it. Protobuf compatibility is checked on what a reader of the old or new schema
//! relies on: a message both have keeps each shared field number's type and label, keeps its
//! required fields, and no message is removed.
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
use kconnect::data::protobuf::model::{File, Label, Message};
use kconnect::data::protobuf::parse;
use serde_json::{json, Value};

#[derive(Default)]
struct State {
    /// Schema text by id - 1.
    schemas: Vec<String>,
    /// `schemaType` by id - 1 (AVRO, PROTOBUF).
    kinds: Vec<String>,
    /// `references` by id - 1.
    refs: Vec<Value>,
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

/// `test.User` with an `id`, and an optional `email` in its second version.
pub fn user_schema(with_email: bool) -> kconnect::data::SchemaRef {
    use kconnect::data::{schemas, Schema};
    let mut b = Schema::struct_builder()
        .name("test.User")
        .field("id", schemas::int32());
    if with_email {
        b = b.field("email", schemas::optional_string());
    }
    b.build()
}

pub fn user(schema: &kconnect::data::SchemaRef, id: i32) -> kconnect::data::Value {
    let mut s = kconnect::data::Struct::new(schema.clone());
    s.put("id", kconnect::data::Value::Int32(id));
    kconnect::data::Value::Struct(s)
}

/// The converter `class` created with `settings`.
pub fn converter(
    class: &str,
    settings: &[(&str, &str)],
    is_key: bool,
) -> Box<dyn kconnect::convert::Converter> {
    let cfg: std::collections::BTreeMap<String, String> = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let plugin = kconnect::convert::find_converter(class).unwrap();
    (plugin.create)(&cfg, is_key).unwrap_or_else(|p| panic!("{}: {}", p.key, p.message))
}

/// With `class`: the first of two URLs refused (failover to the second); the registry down
/// makes writing a new schema and reading an unknown id retriable failures; back up, the same
/// calls succeed; an id the registry does not have is a record's error, not retriable, and so
/// is data without the magic byte. Returns the registry and the reader for more checks.
pub fn outage_and_unknown_id(
    class: &str,
) -> (SchemaRegistry, Box<dyn kconnect::convert::Converter>) {
    let reg = schema_registry();
    // A port nothing listens on (this file is also built alone, by examples/test_registry.rs).
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = format!("http://127.0.0.1:{port}");
    let urls = format!("{dead},{}", reg.url);
    let mut w = converter(class, &[("schema.registry.url", &urls)], false);
    let s = user_schema(false);
    let mut out = Vec::new();
    w.from_connect("users", Some(&s), &user(&s, 1), &mut out)
        .unwrap();
    let written = out.clone();
    reg.set_down(true);
    let s2 = user_schema(true);
    let e = w
        .from_connect("users", Some(&s2), &user(&s2, 2), &mut out)
        .unwrap_err();
    assert!(e.is_retriable(), "{e}");
    let mut r = converter(class, &[("schema.registry.url", &reg.url)], false);
    let e = r.to_connect("users", Some(&written)).unwrap_err();
    assert!(e.is_retriable(), "{e}");
    reg.set_down(false);
    w.from_connect("users", Some(&s2), &user(&s2, 2), &mut out)
        .unwrap();
    r.to_connect("users", Some(&out)).unwrap();
    let mut unknown = out.clone();
    unknown[1..5].copy_from_slice(&77i32.to_be_bytes());
    let e = r.to_connect("users", Some(&unknown)).unwrap_err();
    assert!(!e.is_retriable(), "{e}");
    assert!(e.0.contains("40403"), "{e}");
    let e = r.to_connect("users", Some(b"no magic byte")).unwrap_err();
    assert!(e.0.contains("Unknown magic byte"), "{e}");
    (reg, r)
}

impl SchemaRegistry {
    /// Runs `scripts/<script> client URL`, Confluent's own registry client against this
    /// registry, and returns its `name=value` lines; `None` (saying why) without javac or the
    /// reference jar `jar`.
    pub fn confluent_client(&self, script: &str, jar: &str) -> Option<String> {
        let libs = std::env::var("KCONNECT_REF_CACHE")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| {
                std::path::PathBuf::from(std::env::var("HOME").unwrap())
                    .join(".cache/kconnect-reference")
            })
            .join("libs")
            .join(jar);
        let has_java = std::process::Command::new("javac")
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !has_java || !libs.exists() {
            eprintln!(
                "SKIPPED: needs javac and {} (run ../shared/reference/connect/run once)",
                libs.display()
            );
            return None;
        }
        let out =
            std::process::Command::new(format!("{}/scripts/{script}", env!("CARGO_MANIFEST_DIR")))
                .args(["client", &self.url])
                .output()
                .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(stdout)
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

/// Schema `id` is `text` of `kind`: the same text, or the same parsed schema (as the
/// registry compares canonical forms).
fn same(s: &State, id: i32, kind: &str, text: &str) -> bool {
    let i = id as usize - 1;
    let a = &s.schemas[i];
    s.kinds[i] == kind
        && (a == text
            || match (Parsed::parse(kind, a), Parsed::parse(kind, text)) {
                (Ok(x), Ok(y)) => x == y,
                _ => false,
            })
}

/// A schema as the registry understands it, to compare and to check compatibility.
#[derive(PartialEq)]
enum Parsed {
    Avro(Avro),
    Protobuf(File),
}

impl Parsed {
    fn parse(kind: &str, text: &str) -> Result<Parsed, ()> {
        match kind {
            "AVRO" => Avro::parse(text).map(Parsed::Avro).map_err(|_| ()),
            "PROTOBUF" => parse::parse(text).map(Parsed::Protobuf).map_err(|_| ()),
            _ => Err(()),
        }
    }

    /// Whether a reader with schema `self` can read data written with `writer`.
    fn can_read(&self, writer: &Parsed) -> bool {
        match (self, writer) {
            (Parsed::Avro(r), Parsed::Avro(w)) => can_read(r, w).is_ok(),
            (Parsed::Protobuf(r), Parsed::Protobuf(w)) => proto_can_read(r, w),
            _ => false,
        }
    }
}

fn proto_messages(f: &File) -> HashMap<String, &Message> {
    fn walk<'a>(m: &'a Message, out: &mut HashMap<String, &'a Message>) {
        out.insert(m.full_name.clone(), m);
        for n in &m.messages {
            walk(n, out);
        }
    }
    let mut out = HashMap::new();
    for m in &f.messages {
        walk(m, &mut out);
    }
    out
}

/// Protobuf readers ignore unknown fields and default missing ones, so what breaks is a
/// message gone, a field number whose type or label changed, or a required field that one
/// side has and the other lacks.
fn proto_can_read(reader: &File, writer: &File) -> bool {
    let (r, w) = (proto_messages(reader), proto_messages(writer));
    w.iter().all(|(name, wm)| {
        let Some(rm) = r.get(name) else {
            return false;
        };
        let required = |m: &Message, n: i32| {
            m.fields
                .iter()
                .any(|f| f.number == n && f.label == Label::Required)
        };
        rm.fields.iter().all(
            |rf| match wm.fields.iter().find(|f| f.number == rf.number) {
                Some(wf) => {
                    wf.type_name == rf.type_name
                        && (wf.label == Label::Repeated) == (rf.label == Label::Repeated)
                }
                None => rf.label != Label::Required,
            },
        ) && wm
            .fields
            .iter()
            .all(|wf| wf.label != Label::Required || required(rm, wf.number))
    })
}

fn level(s: &State, subject: &str) -> String {
    s.levels
        .get(subject)
        .or(s.global_level.as_ref())
        .cloned()
        .unwrap_or_else(|| "BACKWARD".into())
}

/// Whether `new` may join a subject whose versions are `old` (newest last), at `level`.
fn compatible(level: &str, new: &Parsed, old: &[Parsed]) -> bool {
    let against: &[Parsed] = if level.ends_with("_TRANSITIVE") {
        old
    } else {
        &old[old.len().saturating_sub(1)..]
    };
    let base = level.trim_end_matches("_TRANSITIVE");
    against.iter().all(|o| match base {
        "BACKWARD" => new.can_read(o),
        "FORWARD" => o.can_read(new),
        "FULL" => new.can_read(o) && o.can_read(new),
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
    let kind = body["schemaType"].as_str().unwrap_or("AVRO");
    // What the real registry adds to a schema's answer: its type unless Avro, its references.
    let typed = |s: &State, id: i32, mut v: Value| {
        let i = id as usize - 1;
        if s.kinds[i] != "AVRO" {
            v["schemaType"] = json!(s.kinds[i]);
        }
        if s.refs[i].as_array().is_some_and(|r| !r.is_empty()) {
            v["references"] = s.refs[i].clone();
        }
        v
    };
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
                Some(t) if id >= 1 => (200, typed(s, id as i32, json!({ "schema": t }))),
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
                typed(
                    s,
                    id,
                    json!({"subject": subject, "version": version, "id": id, "schema": s.schemas[id as usize - 1]}),
                ),
            ),
            Err(e) => e,
        },
        ("POST", ["subjects", subject]) => {
            let Some(ids) = subject_ids(s, subject) else {
                return err(404, 40401, &format!("Subject '{subject}' not found."));
            };
            for (i, id) in ids.iter().enumerate() {
                if same(s, *id, kind, schema_text) {
                    let v = json!({"subject": subject, "version": i + 1, "id": id, "schema": s.schemas[*id as usize - 1]});
                    return (200, typed(s, *id, v));
                }
            }
            err(404, 40403, "Schema not found")
        }
        ("POST", ["subjects", subject, "versions"]) => {
            let Ok(new) = Parsed::parse(kind, schema_text) else {
                return err(
                    422,
                    42201,
                    "Either the input schema or one its references is invalid",
                );
            };
            let ids = subject_ids(s, subject).unwrap_or_default();
            if let Some(id) = ids.iter().find(|id| same(s, **id, kind, schema_text)) {
                return (200, json!({ "id": id }));
            }
            let old: Vec<Parsed> = ids
                .iter()
                .filter_map(|id| {
                    let i = *id as usize - 1;
                    Parsed::parse(&s.kinds[i], &s.schemas[i]).ok()
                })
                .collect();
            if !compatible(&level(s, subject), &new, &old) {
                return err(
                    409,
                    409,
                    &format!("Schema being registered is incompatible with an earlier schema for subject \"{subject}\""),
                );
            }
            let id = match (1..=s.schemas.len() as i32).find(|id| same(s, *id, kind, schema_text)) {
                Some(id) => id,
                None => {
                    s.schemas.push(schema_text.to_string());
                    s.kinds.push(kind.to_string());
                    s.refs.push(body["references"].clone());
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
            let Ok(new) = Parsed::parse(kind, schema_text) else {
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
            let i = id as usize - 1;
            let Ok(old) = Parsed::parse(&s.kinds[i], &s.schemas[i]) else {
                return (200, json!({ "is_compatible": false }));
            };
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
