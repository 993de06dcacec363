//! Kafka Connect's REST API over the worker's control plane (`runtime::control::Control`):
//! the same paths, methods, status codes and JSON bodies as Connect 4.x, so its users' tools
//! and scripts work unchanged. The HTTP side (`server`) only moves bytes; `routes` decides
//! every answer from a method, a URL and a body, so it is tested without sockets. What
//! differs from Connect, and why, is in docs/rest.md.

pub mod auth;
mod bodies;
mod connect_meta;
mod connectors;
pub mod listeners;
pub mod loggers;
mod offsets;
mod plugins;
mod routes;
mod server;
mod tls;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

use serde_json::Value as Json;

pub use listeners::{Advertised, Listener, Scheme};
pub use routes::{handle, Context};
pub use server::RestServer;

/// The largest request body read (Connect has no bound); a larger one is answered 413.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// Why the REST server could not start. Messages name the listener, key or file at fault and
/// never a password or key material.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    #[error("REST listener {listener}: {message}")]
    Listener { listener: String, message: String },
    #[error("REST listener {listener}: port {port} is already in use by another process; stop it or choose another port in the worker's listeners key")]
    PortInUse {
        listener: String,
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("REST listener {listener}: cannot listen on {addr}: {source}")]
    Bind {
        listener: String,
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("REST listener {listener}: cannot set up TLS: {message}")]
    Tls { listener: String, message: String },
    #[error("worker config {key}: {message}")]
    Config { key: String, message: String },
    #[error("REST basic authentication, {}: {message}", file.display())]
    Auth { file: PathBuf, message: String },
}

/// One answer: the status, the body and the headers Connect sends with it.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: Body,
    /// `Location` of a created connector.
    pub location: Option<String>,
    /// `Allow` of a 405.
    pub allow: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    Empty,
    /// Boxed: a JSON value is large, and a `Reply` travels in every `Result`.
    Json(Box<Json>),
    /// Text with its content type (Prometheus' exposition format, the 401 body).
    Text(String, &'static str),
}

impl Reply {
    pub fn json(status: u16, body: Json) -> Reply {
        Reply {
            status,
            body: Body::Json(Box::new(body)),
            location: None,
            allow: None,
        }
    }

    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            body: Body::Empty,
            location: None,
            allow: None,
        }
    }

    /// Connect's error body, `{"error_code": status, "message": ...}`.
    pub fn error(status: u16, message: impl Into<String>) -> Reply {
        Reply::json(
            status,
            serde_json::json!({"error_code": status, "message": message.into()}),
        )
    }

    /// The body as bytes and its content type.
    pub fn encode(&self) -> (Vec<u8>, Option<&'static str>) {
        match &self.body {
            Body::Empty => (Vec::new(), None),
            Body::Json(j) => (
                serde_json::to_vec(j).unwrap_or_default(),
                Some("application/json"),
            ),
            Body::Text(t, ct) => (t.clone().into_bytes(), Some(ct)),
        }
    }
}

impl From<crate::runtime::control::ControlError> for Reply {
    fn from(e: crate::runtime::control::ControlError) -> Reply {
        Reply::error(e.http_status(), e.to_string())
    }
}

/// What the client sent, as the routes see it.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    pub method: &'a str,
    /// Path and query, still percent-encoded.
    pub url: &'a str,
    pub body: &'a [u8],
    pub content_type: Option<&'a str>,
    /// `scheme://host` as the client addressed the worker (its `Host` header), for `Location`
    /// headers as JAX-RS builds them; `None` falls back to the advertised address.
    pub base_url: Option<&'a str>,
}
