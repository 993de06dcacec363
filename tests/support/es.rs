//! The Elasticsearch API the tests run (noida-db's), and reading it from tests: plain HTTP/1.1 over a socket, so the
//! checks do not go through the client library the sink itself uses.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{json, Value as Json};

use super::noida::noida;
use super::Service;

/// An Elasticsearch 8 REST API (noida-db).
pub struct Elastic {
    pub service: Service,
}

impl Elastic {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.service.port)
    }
}

pub fn elasticsearch() -> Elastic {
    Elastic {
        service: noida("elasticsearch"),
    }
}

pub fn http(base: &str, method: &str, path: &str, body: Option<&Json>) -> (u16, Json) {
    try_http(base, method, path, body).expect("a request to Elasticsearch")
}

/// `http`, with an unreachable server or a cut connection as an error (for callers that
/// poll a server that may be restarting).
pub fn try_http(
    base: &str,
    method: &str,
    path: &str,
    body: Option<&Json>,
) -> std::io::Result<(u16, Json)> {
    let hostport = base.trim_start_matches("http://").trim_end_matches('/');
    let mut s = TcpStream::connect(hostport)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nhost: {hostport}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp)?;
    let text = String::from_utf8_lossy(&resp);
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let payload = if chunked {
        let mut out = String::new();
        let mut r = rest;
        while let Some((size, tail)) = r.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.push_str(&tail[..n]);
            r = &tail[n + 2..];
        }
        out
    } else {
        rest.to_string()
    };
    Ok((status, serde_json::from_str(&payload).unwrap_or(Json::Null)))
}

/// One document's `_source`, if it exists.
pub fn doc(es: &str, index: &str, id: &str) -> Option<Json> {
    let enc: String = id
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let (status, j) = http(es, "GET", &format!("/{index}/_doc/{enc}"), None);
    (status == 200 && j["found"] == json!(true)).then(|| j["_source"].clone())
}

pub fn count(es: &str, index: &str) -> u64 {
    http(es, "POST", &format!("/{index}/_refresh"), None);
    let (_, j) = http(es, "GET", &format!("/{index}/_count"), None);
    j["count"].as_u64().unwrap_or(0)
}

/// Every document of an index as (id, source).
pub fn all_docs(es: &str, index: &str) -> Vec<(String, Json)> {
    http(es, "POST", &format!("/{index}/_refresh"), None);
    let (_, j) = http(
        es,
        "POST",
        &format!("/{index}/_search"),
        Some(&json!({"size": 10000, "query": {"match_all": {}}})),
    );
    j["hits"]["hits"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|h| {
            (
                h["_id"].as_str().unwrap_or("").to_string(),
                h["_source"].clone(),
            )
        })
        .collect()
}
