//! From a request to an answer: Connect's paths and methods, 404 for a path it does not have,
//! 405 for a method a path does not take, names percent-decoded.

use std::sync::Arc;

use serde_json::Value as Json;

use super::{connectors, loggers, offsets, plugins, Reply, Request};
use crate::runtime::control::Control;

/// What every route may use: the worker's control plane and the address the worker gives out.
#[derive(Clone)]
pub struct Context {
    pub control: Arc<dyn Control>,
    /// The advertised `http://host:port`, for `Location` headers of requests without `Host`.
    pub base_url: String,
    /// `topic.tracking.enable` and `topic.tracking.allow.reset`.
    pub topic_tracking: TopicTracking,
}

/// What the worker lets the topics endpoints do.
#[derive(Clone, Copy, Debug)]
pub struct TopicTracking {
    pub enabled: bool,
    pub allow_reset: bool,
}

impl Default for TopicTracking {
    fn default() -> TopicTracking {
        TopicTracking {
            enabled: true,
            allow_reset: true,
        }
    }
}

/// The parsed request: decoded path segments and query pairs.
pub(super) struct Call<'a> {
    pub method: &'a str,
    pub segments: Vec<String>,
    pub query: Vec<(String, String)>,
    pub body: &'a [u8],
    pub content_type: Option<&'a str>,
    pub base_url: Option<&'a str>,
}

impl Call<'_> {
    /// Every value of a query parameter (`expand` may be repeated).
    pub fn params<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.query
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A boolean query parameter as JAX-RS reads it: "true" in any case is true, anything
    /// else false.
    pub fn flag(&self, name: &str, default: bool) -> bool {
        self.params(name)
            .last()
            .map_or(default, |v| v.eq_ignore_ascii_case("true"))
    }

    /// The body as JSON: a malformed body is 400 (Connect answers 500), a body that is not
    /// JSON by its content type 415 as in Connect.
    pub fn json(&self) -> Result<Json, Reply> {
        if let Some(ct) = self.content_type {
            let ct = ct.split(';').next().unwrap_or("").trim();
            if !ct.is_empty() && !ct.eq_ignore_ascii_case("application/json") {
                return Err(Reply::error(415, "HTTP 415 Unsupported Media Type"));
            }
        }
        serde_json::from_slice(self.body)
            .map_err(|e| Reply::error(400, format!("The request body is not valid JSON: {e}")))
    }
}

/// Answers one request.
pub fn handle(ctx: &Context, req: &Request<'_>) -> Reply {
    let (path, query) = req.url.split_once('?').unwrap_or((req.url, ""));
    let segments: Option<Vec<String>> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| decode(s, false))
        .collect();
    let Some(segments) = segments else {
        return Reply::error(400, "The request path is not valid percent-encoded UTF-8");
    };
    let query = query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Some((decode(k, true)?, decode(v, true)?))
        })
        .collect();
    let call = Call {
        method: req.method,
        segments,
        query,
        body: req.body,
        content_type: req.content_type,
        base_url: req.base_url,
    };
    let Some(allowed) = allowed(&call.segments) else {
        return Reply::error(404, "HTTP 404 Not Found");
    };
    // JAX-RS answers HEAD as GET without the body (hyper leaves the body out) and
    // OPTIONS with the methods a path takes.
    let get_like = call.method == "HEAD" && allowed.contains(&"GET");
    if call.method == "OPTIONS" {
        let mut methods: Vec<&str> = allowed.to_vec();
        if methods.contains(&"GET") {
            methods.push("HEAD");
        }
        methods.push("OPTIONS");
        let list = methods.join(", ");
        return Reply {
            status: 200,
            body: super::Body::Text(list.clone(), "text/plain"),
            location: None,
            allow: Some(list),
        };
    }
    if get_like {
        return dispatch(
            ctx,
            &Call {
                method: "GET",
                ..call
            },
        );
    }
    if !allowed.contains(&call.method) {
        let mut r = Reply::error(405, "HTTP 405 Method Not Allowed");
        r.allow = Some(allowed.join(", "));
        return r;
    }
    dispatch(ctx, &call)
}

/// The methods a path takes; `None` when Connect has no such path.
fn allowed(segments: &[String]) -> Option<&'static [&'static str]> {
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    Some(match s.as_slice() {
        [] | ["health"] | ["metrics"] => &["GET"],
        ["connectors"] => &["GET", "POST"],
        ["connectors", _] => &["GET", "DELETE"],
        ["connectors", _, "config"] => &["GET", "PUT", "PATCH"],
        ["connectors", _, "status" | "tasks" | "topics"] => &["GET"],
        ["connectors", _, "tasks", _, "status"] => &["GET"],
        ["connectors", _, "tasks", _, "restart"] | ["connectors", _, "restart"] => &["POST"],
        ["connectors", _, "topics", "reset"] => &["PUT"],
        ["connectors", _, "pause" | "resume" | "stop"] => &["PUT"],
        ["connectors", _, "offsets"] => &["GET", "PATCH", "DELETE"],
        ["connector-plugins"] | ["admin", "loggers"] => &["GET"],
        ["connector-plugins", _, "config"] => &["GET"],
        ["connector-plugins", _, "config", "validate"] => &["PUT"],
        ["admin", "loggers", _] => &["GET", "PUT"],
        _ => return None,
    })
}

fn dispatch(ctx: &Context, call: &Call<'_>) -> Reply {
    let c = ctx.control.as_ref();
    let s: Vec<&str> = call.segments.iter().map(String::as_str).collect();
    match (call.method, s.as_slice()) {
        ("GET", []) => Reply::json(200, root()),
        ("GET", ["health"]) => Reply::json(
            200,
            serde_json::json!({"status": "healthy", "message": "Worker has completed startup and is ready to handle requests."}),
        ),
        ("GET", ["metrics"]) => Reply {
            status: 200,
            body: super::Body::Text(c.prometheus(), "text/plain; version=0.0.4; charset=utf-8"),
            location: None,
            allow: None,
        },
        ("GET", ["connectors"]) => connectors::list(c, call),
        ("POST", ["connectors"]) => connectors::create(ctx, call),
        ("GET", ["connectors", n]) => connectors::info(c, n),
        ("DELETE", ["connectors", n]) => result(c.delete(n), 204),
        ("GET", ["connectors", n, "config"]) => connectors::config(c, n),
        ("PUT", ["connectors", n, "config"]) => connectors::put_config(ctx, call, n),
        ("PATCH", ["connectors", n, "config"]) => connectors::patch_config(c, call, n),
        ("GET", ["connectors", n, "status"]) => connectors::status(c, n),
        ("GET", ["connectors", n, "tasks"]) => connectors::tasks(c, n),
        ("GET", ["connectors", n, "tasks", t, "status"]) => connectors::task_status(c, n, t),
        ("POST", ["connectors", n, "tasks", t, "restart"]) => connectors::restart_task(c, n, t),
        ("GET" | "PUT", ["connectors", _, "topics", ..]) if !ctx.topic_tracking.enabled => {
            Reply::error(403, "Topic tracking is disabled.")
        }
        ("PUT", ["connectors", _, "topics", "reset"]) if !ctx.topic_tracking.allow_reset => {
            Reply::error(403, "Topic tracking reset is disabled.")
        }
        ("GET", ["connectors", n, "topics"]) => connectors::topics(c, n),
        ("PUT", ["connectors", n, "topics", "reset"]) => result(c.reset_topics(n), 202),
        ("PUT", ["connectors", n, "pause"]) => connectors::target(c, n, "pause"),
        ("PUT", ["connectors", n, "resume"]) => connectors::target(c, n, "resume"),
        ("PUT", ["connectors", n, "stop"]) => connectors::target(c, n, "stop"),
        ("POST", ["connectors", n, "restart"]) => connectors::restart(c, call, n),
        ("GET", ["connectors", n, "offsets"]) => offsets::get(c, n),
        ("PATCH", ["connectors", n, "offsets"]) => offsets::alter(c, call, n),
        ("DELETE", ["connectors", n, "offsets"]) => offsets::reset(c, n),
        ("GET", ["connector-plugins"]) => plugins::list(call),
        ("GET", ["connector-plugins", p, "config"]) => plugins::config(p),
        ("PUT", ["connector-plugins", p, "config", "validate"]) => plugins::validate(c, call, p),
        ("GET", ["admin", "loggers"]) => loggers::list(),
        ("GET", ["admin", "loggers", l]) => loggers::get(l),
        ("PUT", ["admin", "loggers", l]) => loggers::put(call, l),
        _ => Reply::error(404, "HTTP 404 Not Found"),
    }
}

/// `GET /`: the Kafka Connect version whose REST API and plugins kconnect matches (tools such
/// as kcctl decide from it which endpoints exist), and in `commit` kconnect's own version and
/// build (`KCONNECT_GIT_COMMIT`); `kafka_cluster_id` is empty, since asking the broker for it
/// on every call would make this cheap probe depend on Kafka.
fn root() -> Json {
    serde_json::json!({
        "version": crate::api::Upstream::KAFKA.version,
        "commit": format!(
            "kconnect-{}-{}",
            env!("CARGO_PKG_VERSION"),
            option_env!("KCONNECT_GIT_COMMIT").unwrap_or("unknown")
        ),
        "kafka_cluster_id": "",
    })
}

/// An answer with no body, or the control plane's error.
pub(super) fn result(r: Result<(), crate::runtime::control::ControlError>, status: u16) -> Reply {
    match r {
        Ok(()) => Reply::empty(status),
        Err(e) => e.into(),
    }
}

/// Percent-decoding; in a query `+` is a space as well.
fn decode(s: &str, plus_is_space: bool) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Percent-encodes a path segment for a `Location` header.
pub(super) fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
