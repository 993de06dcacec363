//! A fake Kafka Connect worker for the client tests: a tiny HTTP/1.1 server on loopback that
//! answers `METHOD /path?query` with canned statuses and bodies (the real worker's, from
//! tests/fixtures/client) and records every request it gets.

// Each test file that includes this uses a part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use crate::support::kconnect;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/client");

/// One captured answer: its status and body, as the real worker sent them.
pub fn captured(name: &str) -> (u16, String) {
    let codes = std::fs::read_to_string(format!("{FIXTURES}/codes.txt")).unwrap();
    let status = codes
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} not in codes.txt"))
        .parse()
        .unwrap();
    let body = std::fs::read_to_string(format!("{FIXTURES}/{name}.json")).unwrap();
    (status, body)
}

/// A request as the fake worker saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    /// `METHOD /path?query`, exactly as sent.
    pub line: String,
    pub headers: HashMap<String, String>,
    pub body: String,
}

/// The fake worker: answers `METHOD /path?query` with a canned status and body, anything else
/// with Connect's 404, and records every request.
pub struct Fake {
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    pub fn start(routes: &[(&str, (u16, String))]) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let routes: HashMap<String, (u16, String)> = routes
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                if let Some(req) = serve(stream, &routes) {
                    log.lock().unwrap().push(req);
                }
            }
        });
        Fake { url, seen }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The request lines, in order.
    pub fn lines(&self) -> Vec<String> {
        self.seen().into_iter().map(|s| s.line).collect()
    }
}

/// Reads one request, answers it and closes the connection.
fn serve(stream: TcpStream, routes: &HashMap<String, (u16, String)>) -> Option<Seen> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut first = String::new();
    reader.read_line(&mut first).ok()?;
    let mut parts = first.split_whitespace();
    let line = format!("{} {}", parts.next()?, parts.next()?);
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    let (status, answer) = routes.get(&line).cloned().unwrap_or_else(|| {
        (
            404,
            format!(r#"{{"error_code":404,"message":"fake worker: no route for {line}"}}"#),
        )
    });
    let mut out = stream;
    let content_type = if answer.is_empty() {
        String::new()
    } else if answer.starts_with(['{', '[']) {
        "Content-Type: application/json\r\n".into()
    } else {
        "Content-Type: text/plain\r\n".into()
    };
    let _ = write!(
        out,
        "HTTP/1.1 {status} X\r\n{content_type}Content-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    );
    let _ = out.flush();
    Some(Seen {
        line,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// `kconnect ARGS` against `url`, with no credentials or proxies from the environment.
pub fn client(dir: &Path, url: &str, args: &[&str]) -> Command {
    let mut c = kconnect(dir);
    c.args(args).env("KCONNECT_URL", url);
    for v in [
        "KCONNECT_USER",
        "KCONNECT_PASSWORD",
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        c.env_remove(v);
    }
    c
}

pub fn run(fake: &Fake, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    client(dir.path(), &fake.url, args).output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
