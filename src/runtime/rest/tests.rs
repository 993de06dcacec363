//! Every route, status code and error body, against an in-memory control plane.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value as Json};

use super::*;
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
    assert_eq!(body(&r)["version"], json!(env!("CARGO_PKG_VERSION")));
    assert!(body(&r).get("commit").is_some() && body(&r).get("kafka_cluster_id").is_some());
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

#[test]
fn list_and_expand() {
    let (c, _) = ctx();
    assert_eq!(
        body(&call(&c, "GET", "/connectors", "")),
        json!(["broken", "src", "with space"])
    );
    assert_eq!(
        body(&call(&c, "GET", "/connectors/", "")),
        json!(["broken", "src", "with space"])
    );
    let both = body(&call(
        &c,
        "GET",
        "/connectors?expand=status&expand=info",
        "",
    ));
    let src = &both["src"];
    assert_eq!(
        src["status"]["connector"],
        json!({"state":"RUNNING","worker_id":"127.0.0.1:8083","version":env!("CARGO_PKG_VERSION")})
    );
    assert_eq!(src["info"]["tasks"], json!([{"connector":"src","task":0}]));
    assert_eq!(src["info"]["type"], json!("source"));
    let keys: Vec<&String> = src.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["status", "info"], "Connect's order");
    let info = body(&call(&c, "GET", "/connectors?expand=info", ""));
    assert!(info["src"].get("status").is_none());
    assert_eq!(info["broken"]["info"]["name"], json!("broken"));
}

#[test]
fn one_connector_bodies() {
    let (c, _) = ctx();
    let info = body(&call(&c, "GET", "/connectors/src", ""));
    assert_eq!(info["config"]["file"], json!("/in.txt"));
    assert_eq!(info["tasks"], json!([{"connector":"src","task":0}]));
    assert_eq!(
        body(&call(&c, "GET", "/connectors/src/config", ""))["topic"],
        json!("t")
    );
    let tasks = body(&call(&c, "GET", "/connectors/src/tasks", ""));
    assert_eq!(tasks[0]["id"], json!({"connector":"src","task":0}));
    assert_eq!(tasks[0]["config"]["topic"], json!("t"));
    let st = body(&call(&c, "GET", "/connectors/broken/status", ""));
    assert_eq!(st["tasks"][0]["state"], json!("FAILED"));
    assert_eq!(st["tasks"][0]["trace"], json!("boom: the file went away"));
    assert!(
        st["connector"].get("trace").is_none(),
        "a trace only when FAILED"
    );
    assert_eq!(st["type"], json!("source"));
    let t = body(&call(&c, "GET", "/connectors/src/tasks/0/status", ""));
    assert_eq!(
        t,
        json!({"id":0,"state":"RUNNING","worker_id":"127.0.0.1:8083","version":env!("CARGO_PKG_VERSION")})
    );
    assert_eq!(
        error(&call(&c, "GET", "/connectors/src/tasks/5/status", "")),
        (404, "No status found for task src-5".into())
    );
    assert_eq!(
        error(&call(&c, "GET", "/connectors/src/tasks/x/status", "")).0,
        404
    );
    assert_eq!(
        body(&call(&c, "GET", "/connectors/src/topics", "")),
        json!({"src":{"topics":["t"]}})
    );
    assert_eq!(
        error(&call(&c, "GET", "/connectors/nope", "")),
        (404, "Connector nope not found".into())
    );
    assert_eq!(
        error(&call(&c, "GET", "/connectors/nope/status", "")),
        (404, "No status found for connector nope".into())
    );
}

#[test]
fn names_are_percent_decoded() {
    let (c, _) = ctx();
    assert_eq!(
        body(&call(&c, "GET", "/connectors/with%20space/status", ""))["name"],
        json!("with space")
    );
    let r = call(
        &c,
        "POST",
        "/connectors",
        r#"{"name":"a/b c","config":{"connector.class":"FileStreamSource","topic":"t"}}"#,
    );
    assert_eq!(r.status, 201);
    assert_eq!(
        r.location.as_deref(),
        Some("http://127.0.0.1:8083/connectors/a%2Fb%20c")
    );
    assert_eq!(
        body(&call(&c, "GET", "/connectors/a%2Fb%20c", ""))["name"],
        json!("a/b c")
    );
    assert_eq!(error(&call(&c, "GET", "/connectors/%ff", "")).0, 400);
}

#[test]
fn create_checks_as_connect() {
    let (c, fake) = ctx();
    let r = call(
        &c,
        "POST",
        "/connectors",
        r#"{"name":"n","config":{"connector.class":"FileStreamSource","topic":"x","tasks.max":2},"initial_state":"PAUSED"}"#,
    );
    assert_eq!(r.status, 201);
    assert_eq!(
        r.location.as_deref(),
        Some("http://127.0.0.1:8083/connectors/n")
    );
    assert_eq!(
        body(&r)["config"]["name"],
        json!("n"),
        "the name joins the config"
    );
    assert_eq!(
        body(&r)["config"]["tasks.max"],
        json!("2"),
        "numbers are accepted as strings"
    );
    assert!(fake.last().starts_with("create n PAUSED"));
    assert_eq!(
        error(&call(
            &c,
            "POST",
            "/connectors",
            r#"{"name":"src","config":{"connector.class":"FileStreamSource"}}"#
        )),
        (409, "Connector src already exists".into())
    );
    assert_eq!(
        error(&call(
            &c,
            "POST",
            "/connectors",
            r#"{"name":"a","config":{"name":"b"}}"#
        )),
        (
            400,
            "Connector name configuration (b) doesn't match connector name in the URL (a)".into()
        )
    );
    // Connect answers these three 500.
    let (s, m) = error(&call(&c, "POST", "/connectors", "{bad"));
    assert_eq!(s, 400);
    assert!(m.contains("not valid JSON"), "{m}");
    let (s, m) = error(&call(
        &c,
        "POST",
        "/connectors",
        r#"{"name":"x","config":{"connector.class":"FileStreamSource","topic":"t"},"initial_state":"BOGUS"}"#,
    ));
    assert_eq!(s, 400);
    assert!(
        m.contains("BOGUS") && m.contains("RUNNING, PAUSED, STOPPED"),
        "{m}"
    );
    assert_eq!(
        error(&call(&c, "POST", "/connectors", r#"{"name":"x"}"#)).0,
        400
    );
    let (s, m) = error(&call(
        &c,
        "POST",
        "/connectors",
        r#"{"config":{"connector.class":"FileStreamSource"}}"#,
    ));
    assert_eq!(s, 400);
    assert!(m.starts_with("Connector configuration is invalid and contains the following 2 error(s):\nInvalid value  for configuration name: String may not be empty\n"), "{m}");
    assert!(
        m.contains("Missing required configuration \"topic\""),
        "{m}"
    );
    assert_eq!(
        error(&call(
            &c,
            "POST",
            "/connectors",
            r#"{"name":"x","config":{"a":{"b":1}}}"#
        ))
        .0,
        400
    );
    let r = handle(
        &c,
        &Request {
            method: "POST",
            url: "/connectors",
            body: b"{}",
            content_type: Some("text/plain"),
        },
    );
    assert_eq!(error(&r).0, 415);
}

#[test]
fn config_put_and_patch() {
    let (c, fake) = ctx();
    let r = call(
        &c,
        "PUT",
        "/connectors/new/config",
        r#"{"connector.class":"FileStreamSource","topic":"t2"}"#,
    );
    assert_eq!(r.status, 201);
    assert_eq!(
        r.location.as_deref(),
        Some("http://127.0.0.1:8083/connectors/new")
    );
    assert!(fake.last().contains("\"name\": \"new\""));
    let r = call(
        &c,
        "PUT",
        "/connectors/new/config",
        r#"{"connector.class":"FileStreamSource","topic":"t3"}"#,
    );
    assert_eq!((r.status, r.location.clone()), (200, None));
    assert_eq!(body(&r)["config"]["topic"], json!("t3"));
    assert_eq!(
        error(&call(
            &c,
            "PUT",
            "/connectors/new/config",
            r#"{"name":"other"}"#
        ))
        .0,
        400
    );
    let r = call(
        &c,
        "PATCH",
        "/connectors/src/config",
        r#"{"topic":"u","file":null}"#,
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        body(&r)["config"],
        json!({"connector.class":"FileStreamSource","name":"src","topic":"u"})
    );
    assert_eq!(
        error(&call(
            &c,
            "PATCH",
            "/connectors/nope/config",
            r#"{"a":"b"}"#
        ))
        .0,
        404
    );
    assert_eq!(
        error(&call(&c, "PATCH", "/connectors/src/config", "[1]")).0,
        400
    );
}

#[test]
fn delete_pause_resume_stop() {
    let (c, _) = ctx();
    assert_eq!(call(&c, "PUT", "/connectors/src/pause", "").status, 202);
    assert_eq!(
        body(&call(&c, "GET", "/connectors/src/status", ""))["connector"]["state"],
        json!("PAUSED")
    );
    assert_eq!(call(&c, "PUT", "/connectors/src/resume", "").status, 202);
    let r = call(&c, "PUT", "/connectors/src/stop", "");
    assert_eq!((r.status, r.body.clone()), (204, Body::Empty));
    assert_eq!(
        error(&call(&c, "PUT", "/connectors/nope/pause", "")),
        (404, "Unknown connector nope".into())
    );
    assert_eq!(call(&c, "DELETE", "/connectors/src", "").status, 204);
    assert_eq!(
        error(&call(&c, "DELETE", "/connectors/src", "")),
        (404, "Connector src not found".into())
    );
    assert_eq!(
        call(&c, "PUT", "/connectors/broken/topics/reset", "").status,
        202
    );
}

#[test]
fn restarts() {
    let (c, fake) = ctx();
    let r = call(&c, "POST", "/connectors/broken/restart", "");
    assert_eq!((r.status, r.body.clone()), (204, Body::Empty));
    assert_eq!(fake.last(), "restart broken false false");
    let r = call(
        &c,
        "POST",
        "/connectors/broken/restart?includeTasks=true&onlyFailed=TRUE",
        "",
    );
    assert_eq!(r.status, 202);
    assert_eq!(fake.last(), "restart broken true true");
    assert_eq!(body(&r)["tasks"][0]["state"], json!("RESTARTING"));
    assert_eq!(body(&r)["connector"]["state"], json!("RUNNING"));
    let r = call(&c, "POST", "/connectors/src/restart?includeTasks=true", "");
    assert_eq!(body(&r)["connector"]["state"], json!("RESTARTING"));
    assert_eq!(
        call(&c, "POST", "/connectors/src/tasks/0/restart", "").status,
        204
    );
    let before = body(&call(&c, "GET", "/connectors/src/status", ""));
    assert_eq!(
        error(&call(&c, "POST", "/connectors/src/tasks/9/restart", "")),
        (404, "Task src-9 not found".into())
    );
    assert_eq!(
        body(&call(&c, "GET", "/connectors/src/status", "")),
        before,
        "no ghost task"
    );
    assert_eq!(
        error(&call(&c, "POST", "/connectors/nope/restart", "")).0,
        404
    );
}

#[test]
fn offsets() {
    let (c, _) = ctx();
    assert_eq!(
        body(&call(&c, "GET", "/connectors/src/offsets", "")),
        json!({"offsets":[{"partition":{"filename":"/in.txt"},"offset":{"position":10}}]})
    );
    let patch = r#"{"offsets":[{"partition":{"filename":"/in.txt"},"offset":{"position":3}}]}"#;
    let (s, m) = error(&call(&c, "PATCH", "/connectors/src/offsets", patch));
    assert_eq!(s, 400);
    assert!(m.contains("STOPPED"));
    call(&c, "PUT", "/connectors/src/stop", "");
    let r = call(&c, "PATCH", "/connectors/src/offsets", patch);
    assert_eq!(
        body(&r),
        json!({"message":"The offsets for this connector have been altered successfully"})
    );
    assert_eq!(
        body(&call(&c, "GET", "/connectors/src/offsets", ""))["offsets"][0]["offset"]["position"],
        json!(3)
    );
    let r = call(
        &c,
        "PATCH",
        "/connectors/src/offsets",
        r#"{"offsets":[{"partition":{"filename":"/in.txt"},"offset":null}]}"#,
    );
    assert_eq!(r.status, 200);
    for bad in [
        r#"{}"#,
        r#"{"offsets":[]}"#,
        r#"{"offsets":[{"offset":{"p":1}}]}"#,
        r#"{"offsets":[{"partition":{"f":[1]},"offset":{"p":1}}]}"#,
        r#"{"offsets":[{"partition":{"f":"x"},"offset":5}]}"#,
    ] {
        assert_eq!(
            error(&call(&c, "PATCH", "/connectors/src/offsets", bad)).0,
            400,
            "{bad}"
        );
    }
    let r = call(&c, "DELETE", "/connectors/src/offsets", "");
    assert_eq!(
        body(&r),
        json!({"message":"The offsets for this connector have been reset successfully"})
    );
    assert_eq!(
        body(&call(&c, "GET", "/connectors/src/offsets", "")),
        json!({"offsets":[]})
    );
    assert_eq!(
        error(&call(&c, "GET", "/connectors/nope/offsets", "")).0,
        404
    );
}

#[test]
fn connector_plugins() {
    let (c, _) = ctx();
    let only = body(&call(&c, "GET", "/connector-plugins", ""));
    let all = body(&call(
        &c,
        "GET",
        "/connector-plugins?connectorsOnly=false",
        "",
    ));
    let types = |j: &Json| {
        j.as_array()
            .unwrap()
            .iter()
            .map(|p| p["type"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert!(types(&only).iter().all(|t| t == "source" || t == "sink"));
    for t in [
        "converter",
        "header_converter",
        "transformation",
        "predicate",
    ] {
        assert!(types(&all).iter().any(|x| x == t), "{t}");
    }
    assert!(only.as_array().unwrap().iter().any(|p| p == &json!({"class":"org.apache.kafka.connect.file.FileStreamSourceConnector","type":"source","version":env!("CARGO_PKG_VERSION")})));
    let cfg = body(&call(
        &c,
        "GET",
        "/connector-plugins/FileStreamSource/config",
        "",
    ));
    let topic = cfg
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "topic")
        .unwrap();
    assert_eq!(topic["type"], json!("STRING"));
    assert_eq!(topic["required"], json!(true));
    for f in [
        "default_value",
        "importance",
        "documentation",
        "group",
        "order_in_group",
        "width",
        "display_name",
        "dependents",
    ] {
        assert!(topic.get(f).is_some(), "{f}");
    }
    let name = cfg
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "name")
        .expect("a connector lists the framework's keys too");
    assert_eq!(
        (
            &name["group"],
            &name["order_in_group"],
            &name["display_name"]
        ),
        (&json!("Common"), &json!(1), &json!("Connector name"))
    );
    assert_eq!(
        (&topic["group"], &topic["order_in_group"], &topic["width"]),
        (&Json::Null, &json!(-1), &json!("NONE"))
    );
    let cast = body(&call(
        &c,
        "GET",
        "/connector-plugins/org.apache.kafka.connect.transforms.Cast$Value/config",
        "",
    ));
    assert!(cast.as_array().unwrap().iter().any(|k| k["name"] == "spec"));
    assert_eq!(
        error(&call(&c, "GET", "/connector-plugins/Nope/config", "")),
        (404, "Unknown plugin Nope.".into())
    );
}

#[test]
fn validate() {
    let (c, _) = ctx();
    let r = call(
        &c,
        "PUT",
        "/connector-plugins/FileStreamSource/config/validate",
        r#"{"connector.class":"FileStreamSource","topic":"t","tasks.max":"x","topik":"y"}"#,
    );
    assert_eq!(r.status, 200);
    let b = body(&r);
    assert_eq!(b["name"], json!("FileStreamSource"));
    let configs = b["configs"].as_array().unwrap();
    let entry = |n: &str| {
        configs
            .iter()
            .find(|e| e["definition"]["name"] == n)
            .unwrap_or_else(|| panic!("{n}"))
    };
    let errs = |n: &str| entry(n)["value"]["errors"].as_array().unwrap().clone();
    assert_eq!(
        errs("name"),
        [json!(
            "Missing required configuration \"name\" which has no default value."
        )]
    );
    assert_eq!(
        errs("tasks.max"),
        [json!(
            "Invalid value x for configuration tasks.max: Not a number of type INT"
        )]
    );
    assert!(errs("topik")[0]
        .as_str()
        .unwrap()
        .contains("did you mean topic?"));
    assert!(errs("topic").is_empty());
    assert_eq!(entry("topic")["value"]["value"], json!("t"));
    assert_eq!(
        entry("transforms")["value"]["value"],
        json!(""),
        "defaults shown as Connect"
    );
    assert_eq!(entry("file")["value"]["value"], Json::Null);
    assert_eq!(entry("name")["definition"]["group"], json!("Common"));
    assert_eq!(b["error_count"], json!(3));
    let (s, m) = error(&call(
        &c,
        "PUT",
        "/connector-plugins/FileStreamSource/config/validate",
        r#"{"connector.class":"FileStreamSourc"}"#,
    ));
    assert_eq!(s, 400);
    assert!(m.contains("did you mean"), "{m}");
    assert_eq!(
        error(&call(
            &c,
            "PUT",
            "/connector-plugins/FileStreamSource/config/validate",
            r#"{"topic":"t"}"#
        ))
        .0,
        400
    );
    let (s, m) = error(&call(
        &c,
        "PUT",
        "/connector-plugins/FileStreamSink/config/validate",
        r#"{"connector.class":"FileStreamSource"}"#,
    ));
    assert_eq!(s, 400);
    assert!(m.contains("does not match"), "{m}");
    let b = body(&call(
        &c,
        "PUT",
        "/connector-plugins/FileStreamSink/config/validate",
        r#"{"connector.class":"FileStreamSink","name":"a"}"#,
    ));
    assert_eq!(
        b["error_count"],
        json!(2),
        "Connect reports the topics problem on both keys: {b}"
    );
    assert!(b["groups"]
        .as_array()
        .unwrap()
        .contains(&json!("Error Handling")));
    let r = call(&c, "PUT", "/connector-plugins/org.apache.kafka.connect.file.FileStreamSourceConnector/config/validate", r#"{"connector.class":"FileStreamSource","name":"a","topic":"t"}"#);
    assert_eq!(body(&r)["error_count"], json!(0));
}

#[test]
fn loggers() {
    let seen = loggers::install_for_tests();
    let (c, _) = ctx();
    let all = body(&call(&c, "GET", "/admin/loggers", ""));
    assert_eq!(all["root"], json!({"level":"INFO","last_modified":null}));
    assert_eq!(all["org.apache.kafka.clients"]["level"], json!("WARN"));
    let r = call(
        &c,
        "PUT",
        "/admin/loggers/org.apache.kafka.connect.file",
        r#"{"level":"DEBUG"}"#,
    );
    assert_eq!(body(&r), json!(["org.apache.kafka.connect.file"]));
    let last = seen.lock().unwrap().last().cloned().unwrap();
    assert!(
        last.contains("kconnect::connectors::file=debug")
            && last.contains("rdkafka=warn")
            && last.starts_with("info"),
        "{last}"
    );
    let one = body(&call(
        &c,
        "GET",
        "/admin/loggers/org.apache.kafka.connect.file",
        "",
    ));
    assert_eq!(one["level"], json!("DEBUG"));
    assert!(one["last_modified"].is_u64());
    let r = call(
        &c,
        "PUT",
        "/admin/loggers/org.apache.kafka.connect",
        r#"{"level":"TRACE"}"#,
    );
    let changed = body(&r);
    assert!(changed
        .as_array()
        .unwrap()
        .contains(&json!("org.apache.kafka.connect.file")));
    let last = seen.lock().unwrap().last().cloned().unwrap();
    assert!(
        last.contains("kconnect=trace") && !last.contains("kconnect::connectors::file="),
        "{last}"
    );
    assert_eq!(
        body(&call(
            &c,
            "GET",
            "/admin/loggers/org.apache.kafka.connect.runtime",
            ""
        ))["level"],
        json!("TRACE")
    );
    assert_eq!(
        error(&call(
            &c,
            "PUT",
            "/admin/loggers/root",
            r#"{"level":"BOGUS"}"#
        )),
        (404, "invalid log level 'BOGUS'.".into())
    );
    assert_eq!(
        error(&call(&c, "PUT", "/admin/loggers/root", "{}")),
        (
            400,
            "Desired 'level' parameter was not specified in request.".into()
        )
    );
    assert_eq!(
        error(&call(&c, "GET", "/admin/loggers/never.heard.of", "")),
        (404, "Logger never.heard.of not found.".into())
    );
    assert_eq!(
        error(&call(
            &c,
            "PUT",
            "/admin/loggers/never.heard.of",
            r#"{"level":"INFO"}"#
        ))
        .0,
        404
    );
    // The loggers share the process's one filter, so this test has them to itself.
    let r = call(
        &c,
        "PUT",
        "/admin/loggers/io.debezium?scope=cluster",
        r#"{"level":"DEBUG"}"#,
    );
    assert_eq!((r.status, r.body), (204, Body::Empty));
    assert_eq!(
        body(&call(&c, "GET", "/admin/loggers/io.debezium", ""))["level"],
        json!("DEBUG")
    );
    let r = call(&c, "PUT", "/admin/loggers/root", r#"{"level":"INFO"}"#);
    assert_eq!(r.status, 200);
    assert_eq!(
        seen.lock().unwrap().last().unwrap(),
        "info",
        "root replaces every level under it"
    );
}

#[test]
fn connect_edge_answers() {
    let (c, _) = ctx();
    let b = body(&call(&c, "GET", "/connectors?expand=bogus", ""));
    assert_eq!(b["src"], json!({}), "any expand gives Connect's object");
    assert_eq!(
        error(&call(&c, "GET", "/connectors/nope/tasks/0/status", "")),
        (404, "No status found for task nope-0".into())
    );
    let r = call(&c, "HEAD", "/connectors", "");
    assert_eq!(r.status, 200);
    let r = call(&c, "OPTIONS", "/connectors", "");
    assert_eq!(r.allow.as_deref(), Some("GET, POST, HEAD, OPTIONS"));
    assert_eq!(
        error(&call(&c, "HEAD", "/connectors/src/restart", "")).0,
        405
    );
    call(&c, "PUT", "/connectors/src/stop", "");
    for b in ["{}", r#"{"offsets":[]}"#] {
        assert_eq!(
            error(&call(&c, "PATCH", "/connectors/src/offsets", b)),
            (
                400,
                "Partitions / offsets need to be provided for an alter offsets request".into()
            )
        );
    }
}
