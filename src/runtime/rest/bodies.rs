//! Connect's JSON bodies for the control plane's values: `ConnectorInfo`,
//! `ConnectorStateInfo` and the task entries, field for field and in Connect's order.

use serde_json::{json, Map, Value as Json};

use crate::api::PluginKind;
use crate::runtime::control::{ConnectorInfo, ConnectorStatus, StateInfo, TaskStatus};

pub fn kind(k: PluginKind) -> &'static str {
    match k {
        PluginKind::Source => "source",
        PluginKind::Sink => "sink",
        other => other.name(),
    }
}

/// `{"state", "worker_id", "version", "trace"?}`; the trace only for FAILED, as Connect.
/// `version` is the connector plugin's, as in Connect.
fn state(s: &StateInfo, worker_id: &str, version: &str) -> Map<String, Json> {
    let mut m = Map::new();
    m.insert("state".into(), s.state.name().into());
    m.insert("worker_id".into(), worker_id.into());
    m.insert("version".into(), version.into());
    if let Some(t) = &s.trace {
        m.insert("trace".into(), t.as_str().into());
    }
    m
}

pub fn task_status(t: &TaskStatus, worker_id: &str, version: &str) -> Json {
    let mut m = Map::new();
    m.insert("id".into(), t.id.into());
    m.extend(state(&t.status, worker_id, version));
    Json::Object(m)
}

pub fn status(s: &ConnectorStatus, worker_id: &str) -> Json {
    json!({
        "name": s.name,
        "connector": Json::Object(state(&s.connector, worker_id, s.version)),
        "tasks": s.tasks.iter().map(|t| task_status(t, worker_id, s.version)).collect::<Vec<_>>(),
        "type": kind(s.kind),
    })
}

pub fn task_id(name: &str, task: usize) -> Json {
    json!({"connector": name, "task": task})
}

pub fn info(i: &ConnectorInfo) -> Json {
    json!({
        "name": i.name,
        "config": i.config,
        "tasks": i.tasks.iter().map(|t| task_id(&i.name, *t)).collect::<Vec<_>>(),
        "type": kind(i.kind),
    })
}
