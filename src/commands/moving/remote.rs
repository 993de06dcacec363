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
