//! Every route, status code and error body, against an in-memory control plane: the fake
//! and the paths every route shares here, connectors in `connectors.rs`, plugins and loggers in
//! `plugins.rs`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value as Json};

use super::*;

mod connectors;
mod plugins;
use crate::api::PluginKind;
use crate::config::{TargetState, WorkerConfig};
use crate::runtime::control::*;

struct Conn {
    config: BTreeMap<String, String>,
    target: TargetState,
    failed_task: bool,
}

/// A herder in a map: enough behaviour for every route to have something to say.
struct Fake {
    conns: Mutex<BTreeMap<String, Conn>>,
    offsets: Mutex<Vec<OffsetView>>,
    calls: Mutex<Vec<String>>,
    worker: WorkerConfig,
}

fn state(t: TargetState) -> State {
    match t {
        TargetState::Running => State::Running,
        TargetState::Paused => State::Paused,
        TargetState::Stopped => State::Stopped,
    }
}

impl Fake {
    fn new() -> Arc<Fake> {
        let f = Fake {
            conns: Mutex::new(BTreeMap::new()),
            offsets: Mutex::new(vec![OffsetView {
                partition: json!({"filename": "/in.txt"}).as_object().unwrap().clone(),
                offset: Some(json!({"position": 10}).as_object().unwrap().clone()),
            }]),
            calls: Mutex::new(Vec::new()),
            worker: WorkerConfig {
                values: BTreeMap::new(),
                source: None,
                providers: Default::default(),
                offsets_dir: "offsets".into(),
            },
        };
        for (name, failed) in [("src", false), ("with space", false), ("broken", true)] {
            f.conns.lock().unwrap().insert(
                name.into(),
                Conn {
                    config: source_config(name),
                    target: TargetState::Running,
                    failed_task: failed,
                },
            );
        }
        Arc::new(f)
    }

    fn log(&self, s: String) {
        self.calls.lock().unwrap().push(s);
    }

    fn last(&self) -> String {
        self.calls
            .lock()
            .unwrap()
            .last()
            .cloned()
            .unwrap_or_default()
    }
}

fn source_config(name: &str) -> BTreeMap<String, String> {
    [
        ("connector.class", "FileStreamSource"),
        ("file", "/in.txt"),
        ("topic", "t"),
        ("name", name),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

impl Control for Fake {
    fn worker_id(&self) -> String {
        "127.0.0.1:8083".into()
    }
    fn worker_config(&self) -> &WorkerConfig {
        &self.worker
    }
    fn connectors(&self) -> Vec<String> {
        self.conns.lock().unwrap().keys().cloned().collect()
    }
    fn info(&self, name: &str) -> Result<ConnectorInfo, ControlError> {
        let c = self.conns.lock().unwrap();
        let c = c
            .get(name)
            .ok_or_else(|| ControlError::connector_not_found(name))?;
        Ok(ConnectorInfo {
            name: name.into(),
            config: c.config.clone(),
            tasks: if c.target == TargetState::Stopped {
                vec![]
            } else {
                vec![0]
            },
            kind: PluginKind::Source,
        })
    }
    fn status(&self, name: &str) -> Result<ConnectorStatus, ControlError> {
        let c = self.conns.lock().unwrap();
        let c = c.get(name).ok_or_else(|| {
            ControlError::NotFound(format!("No status found for connector {name}"))
        })?;
        let task = if c.failed_task {
            StateInfo {
                state: State::Failed,
                trace: Some("boom: the file went away".into()),
            }
        } else {
            StateInfo {
                state: state(c.target),
                trace: None,
            }
        };
        Ok(ConnectorStatus {
            name: name.into(),
            connector: StateInfo {
                state: state(c.target),
                trace: None,
            },
            tasks: vec![TaskStatus {
                id: 0,
                status: task,
            }],
            kind: PluginKind::Source,
            version: crate::api::Upstream::KAFKA.version,
        })
    }
    fn create(
        &self,
        name: &str,
        config: BTreeMap<String, String>,
        initial: TargetState,
    ) -> Result<ConnectorInfo, ControlError> {
        if self.conns.lock().unwrap().contains_key(name) {
            return Err(ControlError::Conflict(format!(
                "Connector {name} already exists"
            )));
        }
        self.log(format!("create {name} {initial} {config:?}"));
        self.conns.lock().unwrap().insert(
            name.into(),
            Conn {
                config,
                target: initial,
                failed_task: false,
            },
        );
        self.info(name)
    }
    fn put_config(
        &self,
        name: &str,
        config: BTreeMap<String, String>,
    ) -> Result<(bool, ConnectorInfo), ControlError> {
        let created = !self.conns.lock().unwrap().contains_key(name);
        self.log(format!("put {name} {config:?}"));
        self.conns.lock().unwrap().insert(
            name.into(),
            Conn {
                config,
                target: TargetState::Running,
                failed_task: false,
            },
        );
        Ok((created, self.info(name)?))
    }
    fn patch_config(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> Result<ConnectorInfo, ControlError> {
        {
            let mut c = self.conns.lock().unwrap();
            let c = c
                .get_mut(name)
                .ok_or_else(|| ControlError::connector_not_found(name))?;
            for (k, v) in patch {
                match v {
                    Some(v) => c.config.insert(k, v),
                    None => c.config.remove(&k),
                };
            }
        }
        self.info(name)
    }
    fn delete(&self, name: &str) -> Result<(), ControlError> {
        self.conns
            .lock()
            .unwrap()
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| ControlError::connector_not_found(name))
    }
    fn set_target_state(&self, name: &str, s: TargetState) -> Result<(), ControlError> {
        let mut c = self.conns.lock().unwrap();
        let c = c
            .get_mut(name)
            .ok_or_else(|| ControlError::NotFound(format!("Unknown connector {name}")))?;
        c.target = s;
        Ok(())
    }
    fn restart(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<ConnectorStatus, ControlError> {
        self.log(format!("restart {name} {include_tasks} {only_failed}"));
        let mut s = self.status(name)?;
        if !only_failed {
            s.connector.state = State::Restarting;
        }
        for t in &mut s.tasks {
            if include_tasks && (!only_failed || t.status.state == State::Failed) {
                t.status = StateInfo {
                    state: State::Restarting,
                    trace: None,
                };
            }
        }
        Ok(s)
    }
    fn restart_task(&self, name: &str, task: usize) -> Result<(), ControlError> {
        self.info(name)?;
        if task != 0 {
            return Err(ControlError::NotFound(format!(
                "Task {name}-{task} not found"
            )));
        }
        self.log(format!("restart_task {name} {task}"));
        Ok(())
    }
    fn topics(&self, name: &str) -> Result<Vec<String>, ControlError> {
        self.info(name).map(|_| vec!["t".into()])
    }
    fn reset_topics(&self, name: &str) -> Result<(), ControlError> {
        self.info(name)
            .map(|_| self.log(format!("reset_topics {name}")))
    }
    fn offsets(&self, name: &str) -> Result<Vec<OffsetView>, ControlError> {
        self.info(name)?;
        Ok(self.offsets.lock().unwrap().clone())
    }
    fn alter_offsets(&self, name: &str, offsets: Vec<OffsetView>) -> Result<(), ControlError> {
        if self.conns.lock().unwrap().get(name).map(|c| c.target) != Some(TargetState::Stopped) {
            return Err(ControlError::BadRequest(format!("Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint")));
        }
        *self.offsets.lock().unwrap() = offsets;
        Ok(())
    }
    fn reset_offsets(&self, name: &str) -> Result<(), ControlError> {
        self.info(name)?;
        self.offsets.lock().unwrap().clear();
        Ok(())
    }
    fn prometheus(&self) -> String {
        "# TYPE kafka_connect_worker_connector_count gauge\nkafka_connect_worker_connector_count 3\n".into()
    }
}

fn ctx() -> (Context, Arc<Fake>) {
    let fake = Fake::new();
    (
        Context {
            control: fake.clone(),
            base_url: "http://127.0.0.1:8083".into(),
            topic_tracking: Default::default(),
        },
        fake,
    )
}

fn call(ctx: &Context, method: &str, url: &str, body: &str) -> Reply {
    handle(
        ctx,
        &Request {
            method,
            url,
            body: body.as_bytes(),
            content_type: Some("application/json"),
            base_url: None,
        },
    )
}

fn body(r: &Reply) -> Json {
    match &r.body {
        Body::Json(j) => (**j).clone(),
        other => panic!("not JSON: {other:?}"),
    }
}

fn error(r: &Reply) -> (u16, String) {
    let b = body(r);
    assert_eq!(b["error_code"], json!(r.status), "error_code is the status");
    (r.status, b["message"].as_str().unwrap().to_string())
}

#[test]
fn root_health_and_metrics() {
    let (c, _) = ctx();
    let r = call(&c, "GET", "/", "");
    assert_eq!(r.status, 200);
    assert_eq!(body(&r)["version"], json!("4.3.0"));
    let commit = body(&r)["commit"].as_str().unwrap().to_string();
    assert!(
        commit.starts_with(concat!("kconnect-", env!("CARGO_PKG_VERSION"), "-")),
        "{commit}"
    );
    assert!(body(&r).get("kafka_cluster_id").is_some());
    let r = call(&c, "GET", "/health", "");
    assert_eq!(
        body(&r),
        json!({"status":"healthy","message":"Worker has completed startup and is ready to handle requests."})
    );
    let r = call(&c, "GET", "/metrics", "");
    match r.body {
        Body::Text(t, ct) => {
            assert!(t.contains("kafka_connect_worker_connector_count 3"));
            assert_eq!(ct, "text/plain; version=0.0.4; charset=utf-8");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_path_and_wrong_method() {
    let (c, _) = ctx();
    assert_eq!(
        error(&call(&c, "GET", "/nothing", "")),
        (404, "HTTP 404 Not Found".into())
    );
    let r = call(&c, "DELETE", "/connector-plugins", "");
    assert_eq!(error(&r), (405, "HTTP 405 Method Not Allowed".into()));
    assert_eq!(r.allow.as_deref(), Some("GET"));
    assert_eq!(
        error(&call(&c, "GET", "/connectors/a/b/c/d/e/f", "")).0,
        404
    );
}
