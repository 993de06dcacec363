//! `/connectors` and everything under one connector but its offsets: listing, creating,
//! configs, status, tasks, topics, pause/resume/stop and restarts.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use super::routes::{encode_segment, result, Call, Context};
use super::{bodies, plugins, Reply};
use crate::config::TargetState;
use crate::runtime::control::{Control, ControlError};

/// `GET /connectors`, with `?expand=status` and/or `?expand=info` (repeated, as Connect).
pub fn list(c: &dyn Control, call: &Call<'_>) -> Reply {
    let names = c.connectors();
    let (status, info) = (
        call.params("expand").any(|e| e == "status"),
        call.params("expand").any(|e| e == "info"),
    );
    // Any `expand`, even one Connect does not know, turns the list into an object.
    if call.params("expand").next().is_none() {
        return Reply::json(200, Json::from(names));
    }
    let worker_id = c.worker_id();
    let mut out = Map::new();
    for n in names {
        let mut entry = Map::new();
        // A connector deleted between the listing and this call is left out, as Connect does.
        if status {
            match c.status(&n) {
                Ok(s) => entry.insert("status".into(), bodies::status(&s, &worker_id)),
                Err(_) => continue,
            };
        }
        if info {
            match c.info(&n) {
                Ok(i) => entry.insert("info".into(), bodies::info(&i)),
                Err(_) => continue,
            };
        }
        out.insert(n, Json::Object(entry));
    }
    Reply::json(200, Json::Object(out))
}

/// `POST /connectors`: `{"name", "config", "initial_state"?}`.
pub fn create(ctx: &Context, call: &Call<'_>) -> Reply {
    let body = match call.json() {
        Ok(Json::Object(m)) => m,
        Ok(_) => {
            return Reply::error(
                400,
                "The request body must be a JSON object: {\"name\": ..., \"config\": {...}}",
            )
        }
        Err(r) => return r,
    };
    let name = match body.get("name") {
        None | Some(Json::Null) => String::new(),
        Some(Json::String(s)) => s.clone(),
        Some(_) => return Reply::error(400, "name must be a string"),
    };
    let mut config = match body.get("config") {
        Some(v @ Json::Object(_)) => match config_map(v) {
            Ok(m) => m,
            Err(r) => return r,
        },
        // Connect answers 500 with a NullPointerException here.
        _ => return Reply::error(400, "The request has no connector config; the body must be {\"name\": ..., \"config\": {...}}"),
    };
    let initial = match body.get("initial_state") {
        None | Some(Json::Null) => TargetState::Running,
        Some(Json::String(s)) => match s.to_ascii_uppercase().as_str() {
            "RUNNING" => TargetState::Running,
            "PAUSED" => TargetState::Paused,
            "STOPPED" => TargetState::Stopped,
            _ => {
                return Reply::error(
                    400,
                    format!("initial_state \"{s}\" is not one of RUNNING, PAUSED, STOPPED"),
                )
            }
        },
        Some(other) => {
            return Reply::error(
                400,
                format!("initial_state {other} is not one of RUNNING, PAUSED, STOPPED"),
            )
        }
    };
    if let Some(r) = name_mismatch(&config, &name) {
        return r;
    }
    if name.trim().is_empty() {
        let mut errors = vec![format!(
            "Invalid value {name} for configuration name: String may not be empty"
        )];
        errors.extend(plugins::problems(ctx.control.as_ref(), &config));
        return invalid(errors);
    }
    config.insert("name".into(), name.clone());
    match ctx.control.create(&name, config, initial) {
        Ok(info) => created(ctx, call, &name, &info),
        Err(e) => e.into(),
    }
}

/// Connect's answer to an invalid config, listing every problem.
fn invalid(errors: Vec<String>) -> Reply {
    Reply::error(400, format!(
        "Connector configuration is invalid and contains the following {} error(s):\n{}\nYou can also find the above list of errors at the endpoint `/connector-plugins/{{connectorType}}/config/validate`",
        errors.len(),
        errors.join("\n")
    ))
}

fn created(
    ctx: &Context,
    call: &Call<'_>,
    name: &str,
    info: &crate::runtime::control::ConnectorInfo,
) -> Reply {
    let mut r = Reply::json(201, bodies::info(info));
    let base = call.base_url.unwrap_or(&ctx.base_url);
    r.location = Some(format!("{base}/connectors/{}", encode_segment(name)));
    r
}

/// Connect's check that `config.name`, when given, is the connector's name.
fn name_mismatch(config: &BTreeMap<String, String>, name: &str) -> Option<Reply> {
    let n = config.get("name")?;
    (n != name).then(|| {
        Reply::error(400, format!("Connector name configuration ({n}) doesn't match connector name in the URL ({name})"))
    })
}

/// A JSON object of settings as strings: numbers and booleans are accepted as Connect's
/// Jackson accepts them; nested objects, arrays and nulls are not settings.
fn config_map(v: &Json) -> Result<BTreeMap<String, String>, Reply> {
    let Json::Object(m) = v else {
        return Err(Reply::error(
            400,
            "The connector config must be a JSON object of settings",
        ));
    };
    m.iter()
        .map(|(k, v)| match scalar(v) {
            Some(Some(s)) => Ok((k.clone(), s)),
            _ => Err(Reply::error(
                400,
                format!("The value of {k} must be a string, a number or a boolean"),
            )),
        })
        .collect()
}

/// `Some(None)` for null; `None` for what is not a scalar.
fn scalar(v: &Json) -> Option<Option<String>> {
    match v {
        Json::Null => Some(None),
        Json::String(s) => Some(Some(s.clone())),
        Json::Number(n) => Some(Some(n.to_string())),
        Json::Bool(b) => Some(Some(b.to_string())),
        _ => None,
    }
}

pub fn info(c: &dyn Control, name: &str) -> Reply {
    match c.info(name) {
        Ok(i) => Reply::json(200, bodies::info(&i)),
        Err(e) => e.into(),
    }
}

pub fn config(c: &dyn Control, name: &str) -> Reply {
    match c.info(name) {
        Ok(i) => Reply::json(200, serde_json::to_value(&i.config).unwrap_or_default()),
        Err(e) => e.into(),
    }
}

/// `PUT /connectors/{name}/config`: 201 with `Location` when it created the connector.
pub fn put_config(ctx: &Context, call: &Call<'_>, name: &str) -> Reply {
    let mut config = match call.json().and_then(|v| config_map(&v)) {
        Ok(m) => m,
        Err(r) => return r,
    };
    if let Some(r) = name_mismatch(&config, name) {
        return r;
    }
    config.insert("name".into(), name.to_string());
    match ctx.control.put_config(name, config) {
        Ok((true, info)) => created(ctx, call, name, &info),
        Ok((false, info)) => Reply::json(200, bodies::info(&info)),
        Err(e) => e.into(),
    }
}

/// `PATCH /connectors/{name}/config` (KIP-477): a null value removes the key.
pub fn patch_config(c: &dyn Control, call: &Call<'_>, name: &str) -> Reply {
    let body = match call.json() {
        Ok(Json::Object(m)) => m,
        Ok(_) => return Reply::error(400, "The patch must be a JSON object of settings"),
        Err(r) => return r,
    };
    let mut patch = BTreeMap::new();
    for (k, v) in &body {
        match scalar(v) {
            Some(v) => patch.insert(k.clone(), v),
            None => {
                return Reply::error(
                    400,
                    format!("The value of {k} must be a string, a number, a boolean or null"),
                )
            }
        };
    }
    if let Some(Some(n)) = patch.get("name") {
        if n != name {
            return Reply::error(400, format!("Connector name configuration ({n}) doesn't match connector name in the URL ({name})"));
        }
    }
    match c.patch_config(name, patch) {
        Ok(info) => Reply::json(200, bodies::info(&info)),
        Err(e) => e.into(),
    }
}

pub fn status(c: &dyn Control, name: &str) -> Reply {
    match c.status(name) {
        Ok(s) => Reply::json(200, bodies::status(&s, &c.worker_id())),
        Err(e) => e.into(),
    }
}

/// `GET /connectors/{name}/tasks`: Connect 4.x's `[{"id": {...}, "config": {...}}]`. The
/// config is the connector's (kconnect's tasks run with their connector's settings) with the
/// `task.class` Connect adds.
pub fn tasks(c: &dyn Control, name: &str) -> Reply {
    match c.info(name) {
        Ok(mut i) => {
            let class = i.config.get("connector.class").cloned().unwrap_or_default();
            if let Some(p) = crate::connectors::find(&class) {
                i.config.insert("task.class".into(), p.task_class.into());
            }
            Reply::json(
            200,
            Json::from(
                i.tasks
                    .iter()
                    .map(|t| serde_json::json!({"id": bodies::task_id(name, *t), "config": i.config}))
                    .collect::<Vec<_>>(),
            ),
        )
        }
        Err(e) => e.into(),
    }
}

fn task_number(name: &str, task: &str) -> Result<usize, Reply> {
    task.parse().map_err(|_| {
        Reply::error(
            404,
            format!("Task {name}-{task} not found: task ids are numbers"),
        )
    })
}

pub fn task_status(c: &dyn Control, name: &str, task: &str) -> Reply {
    let id = match task_number(name, task) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match c.status(name) {
        Ok(s) => match s.tasks.iter().find(|t| t.id == id) {
            Some(t) => Reply::json(200, bodies::task_status(t, &c.worker_id(), s.version)),
            None => Reply::error(404, format!("No status found for task {name}-{id}")),
        },
        Err(ControlError::NotFound(_)) => {
            Reply::error(404, format!("No status found for task {name}-{id}"))
        }
        Err(e) => e.into(),
    }
}

pub fn restart_task(c: &dyn Control, name: &str, task: &str) -> Reply {
    match task_number(name, task) {
        Ok(id) => result(c.restart_task(name, id), 204),
        Err(r) => r,
    }
}

pub fn topics(c: &dyn Control, name: &str) -> Reply {
    match c.topics(name) {
        Ok(t) => Reply::json(200, serde_json::json!({ name: {"topics": t} })),
        Err(e) => e.into(),
    }
}

/// `PUT /pause` and `/resume` answer 202, `/stop` 204, as Connect.
pub fn target(c: &dyn Control, name: &str, what: &str) -> Reply {
    let (state, status) = match what {
        "pause" => (TargetState::Paused, 202),
        "resume" => (TargetState::Running, 202),
        _ => (TargetState::Stopped, 204),
    };
    result(c.set_target_state(name, state), status)
}

/// `POST /connectors/{name}/restart`: with neither `includeTasks` nor `onlyFailed` only the
/// connector restarts and the answer is 204; otherwise 202 with the status showing what is
/// RESTARTING.
pub fn restart(c: &dyn Control, call: &Call<'_>, name: &str) -> Reply {
    let (tasks, failed) = (
        call.flag("includeTasks", false),
        call.flag("onlyFailed", false),
    );
    match c.restart(name, tasks, failed) {
        Ok(_) if !tasks && !failed => Reply::empty(204),
        Ok(s) => Reply::json(202, bodies::status(&s, &c.worker_id())),
        Err(e) => e.into(),
    }
}
