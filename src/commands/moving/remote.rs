//! The few Connect REST requests export and import make, beyond the client's plain `send`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value as Json;

use crate::commands::client::{ClientError, Worker};

/// How long a connector on the cluster may take to reach STOPPED: Connect stops its tasks
/// with their graceful timeout (5 s by default), and commits their offsets on the way.
const STOP_LIMIT: Duration = Duration::from_secs(60);

/// Whether the cluster has a connector of that name.
pub(super) fn exists(w: &Worker, name: &str) -> Result<bool, ClientError> {
    match w.send(Method::GET, &["connectors", name], &[], None) {
        Ok(_) => Ok(true),
        Err(ClientError::Http { status: 404, .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

pub(super) fn json(w: &Worker, segments: &[&str], what: &str) -> Result<Json, ClientError> {
    w.send(Method::GET, segments, &[], None)?.json(w, what)
}

/// The connector's config (`GET /connectors/{name}/config`).
pub(super) fn config(w: &Worker, name: &str) -> Result<BTreeMap<String, String>, ClientError> {
    let body = json(w, &["connectors", name, "config"], "the connector's config")?;
    serde_json::from_value(body).map_err(|source| ClientError::NotConnect {
        url: w.url().to_string(),
        what: format!("the config of {name}"),
        source,
    })
}

/// Asks the cluster to stop the connector and waits until it is STOPPED with no task left:
/// Connect commits a task's offsets as it stops it, so only then are they final.
pub(super) fn stop(w: &Worker, name: &str) -> Result<Result<(), String>, ClientError> {
    w.send(Method::PUT, &["connectors", name, "stop"], &[], None)?;
    let start = Instant::now();
    loop {
        let status = json(w, &["connectors", name, "status"], "the status")?;
        let state = status
            .pointer("/connector/state")
            .and_then(|s| s.as_str())
            .unwrap_or("");
        let tasks = status
            .get("tasks")
            .and_then(|t| t.as_array())
            .map_or(0, |t| t.len());
        if state == "STOPPED" && tasks == 0 {
            return Ok(Ok(()));
        }
        if start.elapsed() > STOP_LIMIT {
            return Ok(Err(format!(
                "connector {name} on {} did not reach STOPPED within {}s (it is {state} with {tasks} task(s)); look at the worker's log, then try again",
                w.url(),
                STOP_LIMIT.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Export needs KIP-980's `initial_state` (Kafka Connect 3.7): an older worker ignores it and
/// would start the connector before its offsets are written. `GET /` says the version.
pub(super) fn check_version(w: &Worker) -> Result<(), Result<String, ClientError>> {
    let root = json(w, &[], "GET /").map_err(Err)?;
    let version = root.get("version").and_then(|v| v.as_str()).unwrap_or("");
    match version_at_least(version, (3, 7)) {
        Some(true) => Ok(()),
        Some(false) => Err(Ok(format!(
            "the worker at {} runs Kafka Connect {version}; export needs 3.7 or later (creating a connector STOPPED, KIP-980): an older worker would start it before its offsets are written",
            w.url()
        ))),
        None => Err(Ok(format!(
            "the worker at {} does not say its Kafka Connect version (GET / answered {root}); export needs 3.7 or later",
            w.url()
        ))),
    }
}

/// `3.7.1`, `4.0.0-SNAPSHOT` against Apache Kafka's (major, minor); Confluent Platform's
/// `7.7.0-ccs` / `-ce` numbering is its own (7.7 ships Kafka 3.7, 8.0 Kafka 4.0), compared as
/// such. `None` when it is not a version.
fn version_at_least(v: &str, want: (u32, u32)) -> Option<bool> {
    let mut parts = v.split(['.', '-']);
    let major: u32 = parts.next()?.parse().ok()?;
    let minor: u32 = parts.next()?.parse().ok()?;
    let confluent = v.contains("-ccs") || v.contains("-ce");
    let (major, minor) = match (confluent, major) {
        // Confluent 7.x carries Kafka 3.x; 8.x Kafka 4.x.
        (true, 7) => (3, minor),
        (true, m) if m >= 8 => (m - 4, minor),
        (true, _) => (2, 0),
        (false, _) => (major, minor),
    };
    Some((major, minor) >= want)
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_compare_by_major_and_minor() {
        use super::version_at_least as at_least;
        assert_eq!(at_least("4.3.0", (3, 7)), Some(true));
        assert_eq!(at_least("3.7.0", (3, 7)), Some(true));
        assert_eq!(at_least("3.6.2", (3, 7)), Some(false));
        assert_eq!(at_least("7.6.0-ccs", (3, 7)), Some(false));
        assert_eq!(at_least("7.7.1-ce", (3, 7)), Some(true));
        assert_eq!(at_least("8.0.0-ccs", (3, 7)), Some(true));
        assert_eq!(at_least("", (3, 7)), None);
    }
}
