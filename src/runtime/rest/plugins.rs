//! `/connector-plugins`: the plugin list, a plugin's config definitions (Connect 4.x's
//! `ConfigKeyInfo`) and config validation (Connect's `ConfigInfos`), all read from kconnect's
//! registry and checked by `runtime::validate`, so the REST API says what `kconnect validate`
//! says, "did you mean" included.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{json, Value as Json};

use super::connect_meta::framework;
use super::routes::Call;
use super::Reply;
use crate::api::{ConfigKey, KeyDefault, PluginDesc, PluginKind, Validator};
use crate::config::{ConnectorConfig, TargetState};
use crate::runtime::control::Control;
use crate::runtime::registry;
use crate::runtime::validate::validate_connector;

/// `GET /connector-plugins[?connectorsOnly=false]`.
pub fn list(call: &Call<'_>) -> Reply {
    let only = call.flag("connectorsOnly", true);
    let mut plugins: Vec<PluginDesc> = registry::all()
        .into_iter()
        .filter(|d| !only || matches!(d.kind, PluginKind::Source | PluginKind::Sink))
        .collect();
    // Connect's order: by type (sinks, sources, transforms, predicates, converters, header
    // converters), then by class.
    plugins.sort_by_key(|d| {
        let rank = match d.kind {
            PluginKind::Sink => 0,
            PluginKind::Source => 1,
            PluginKind::Transformation => 2,
            PluginKind::Predicate => 3,
            PluginKind::Converter => 4,
            PluginKind::HeaderConverter => 5,
        };
        (rank, d.class)
    });
    let out: Vec<Json> = plugins
        .iter()
        .map(|d| json!({"class": d.class, "type": d.kind.name(), "version": d.version()}))
        .collect();
    Reply::json(200, Json::from(out))
}

fn find(name: &str) -> Option<PluginDesc> {
    registry::all().into_iter().find(|d| d.matches(name))
}

/// `GET /connector-plugins/{plugin}/config`, by class or alias: a plugin's keys; for a
/// connector its own followed by the framework's, as Connect 4.x lists them.
pub fn config(plugin: &str) -> Reply {
    let Some(d) = find(plugin) else {
        return Reply::error(404, format!("Unknown plugin {plugin}."));
    };
    let keys: Vec<&ConfigKey> = match crate::connectors::find(d.class) {
        Some(c) => registry::connector_keys(c).into_iter().flatten().collect(),
        None => d.config.iter().collect(),
    };
    Reply::json(
        200,
        Json::from(
            keys.into_iter()
                .map(|k| definition(k, d.version()))
                .collect::<Vec<_>>(),
        ),
    )
}

/// Connect's `ConfigKeyInfo`. The framework's keys carry Connect's importance, group, order,
/// width and display name (`connect_meta`); a plugin's own keys Connect's defaults for a key
/// defined without them (no group, order -1, width NONE, the name as display name), with
/// `MEDIUM` importance, which kconnect's definitions do not record.
/// `connector.plugin.version` defaults to the connector's own version, as Connect shows it.
fn definition(k: &ConfigKey, plugin_version: &str) -> Json {
    let (importance, group, order, width, display) = match framework(k.name) {
        Some(&(_, i, g, o, w, d)) => (i, Some(g), o, w, d),
        None => ("MEDIUM", None, -1, "NONE", k.name),
    };
    json!({
        "name": k.name,
        "type": k.ty.name().to_ascii_uppercase(),
        "required": k.default == KeyDefault::Required,
        "default_value": match k.default {
            _ if k.name == "connector.plugin.version" => Json::from(plugin_version),
            KeyDefault::Value(v) => Json::from(v),
            _ => Json::Null,
        },
        "importance": importance,
        "documentation": k.doc,
        "group": group,
        "order_in_group": order,
        "width": width,
        "display_name": display,
        "dependents": [],
    })
}

fn recommended(k: &ConfigKey) -> Vec<&'static str> {
    match k.validator {
        Validator::OneOf(v) => v.to_vec(),
        _ => Vec::new(),
    }
}

/// kconnect's checks of a config the REST API was given: `(key, message)` for every problem.
/// References to config providers are resolved for checking only; a message that shows a
/// resolved value shows the reference instead, so no secret comes back.
fn check(c: &dyn Control, values: &BTreeMap<String, String>) -> Vec<(Option<String>, String)> {
    let worker = c.worker_config();
    let mut found: Vec<(Option<String>, String)> = worker
        .providers
        .unknown_references(values)
        .into_iter()
        .map(|(k, alias)| {
            (
                Some(k),
                format!(
                    "refers to config provider '{alias}', which the worker config does not declare"
                ),
            )
        })
        .collect();
    let mut resolved = values.clone();
    if let Err(e) = worker.providers.resolve(&mut resolved) {
        found.push((None, e.to_string()));
        resolved = values.clone();
    }
    let cfg = ConnectorConfig {
        name: values.get("name").cloned().unwrap_or_default(),
        path: PathBuf::from("(REST request)"),
        values: resolved.clone(),
        written: values.clone(),
        initial_state: TargetState::Running,
    };
    found.extend(validate_connector(&cfg, worker).0);
    for (_, m) in &mut found {
        for (k, raw) in values {
            match resolved.get(k) {
                Some(r) if r != raw && !r.is_empty() => *m = m.replace(r.as_str(), raw),
                _ => {}
            }
        }
    }
    found
}

/// The problems as lines of Connect's "Connector configuration is invalid" message; the
/// `name` key's own problem is the caller's.
pub fn problems(c: &dyn Control, values: &BTreeMap<String, String>) -> Vec<String> {
    check(c, values)
        .into_iter()
        .filter(|(k, _)| k.as_deref() != Some("name"))
        .map(|(k, m)| match k {
            Some(k) if !m.contains(&k) => format!("{k}: {m}"),
            _ => m,
        })
        .collect()
}

/// `PUT /connector-plugins/{plugin}/config/validate`: Connect's `ConfigInfos`.
pub fn validate(c: &dyn Control, call: &Call<'_>, plugin: &str) -> Reply {
    let values: BTreeMap<String, String> = match call.json() {
        Ok(Json::Object(m)) => m
            .into_iter()
            .filter_map(|(k, v)| match v {
                Json::String(s) => Some((k, s)),
                Json::Null => None,
                other => Some((k, other.to_string())),
            })
            .collect(),
        Ok(_) => return Reply::error(400, "The body must be a JSON object of settings"),
        Err(r) => return r,
    };
    let Some(class) = values.get("connector.class").map(|s| s.trim().to_string()) else {
        return Reply::error(
            400,
            format!("The config has no connector.class; add \"connector.class\": \"{plugin}\""),
        );
    };
    let Some(connector) = crate::connectors::find(&class) else {
        // kconnect's message, with its "did you mean"; Connect answers 500 here.
        let msg = check(c, &values)
            .into_iter()
            .map(|(_, m)| m)
            .next()
            .unwrap_or_default();
        return Reply::error(400, msg);
    };
    if !connector.desc.matches(plugin)
        && find(plugin).map(|d| d.class) != Some(connector.desc.class)
    {
        return Reply::error(
            400,
            format!("Included connector type {class} does not match request type {plugin}"),
        );
    }
    let mut found = check(c, &values);
    // Connect reports a problem of the topics/topics.regex pair on both keys.
    let pair: Vec<_> = found
        .iter()
        .filter(|(k, m)| k.as_deref() == Some("topics") && m.contains("topics.regex"))
        .map(|(_, m)| (Some("topics.regex".to_string()), m.clone()))
        .collect();
    found.extend(pair);
    // Connect lists the framework's keys before the connector's own.
    let key_sets = registry::connector_keys(connector);
    let ordered: Vec<&ConfigKey> = key_sets[1..]
        .iter()
        .chain(&key_sets[..1])
        .flat_map(|s| s.iter())
        .collect();
    let mut configs = Vec::new();
    let mut groups: Vec<&str> = Vec::new();
    let mut error_count = 0;
    for k in ordered {
        let errors: Vec<String> = take(&mut found, k.name);
        error_count += errors.len();
        let value = match (values.get(k.name), k.default) {
            (Some(v), _) => Json::from(shown(k.name, v)),
            (None, KeyDefault::Value(d)) => Json::from(d),
            (None, _) => Json::Null,
        };
        if let Some(g) = framework(k.name).map(|m| m.2) {
            if !groups.contains(&g) {
                groups.push(g);
            }
        }
        configs.push(json!({
            "definition": definition(k, connector.desc.version()),
            "value": {"name": k.name, "value": value, "recommended_values": recommended(k), "errors": errors, "visible": true},
        }));
    }
    // Problems of keys no definition covers (unknown keys, transforms.*): Connect's shape has
    // room for them only as entries of their own.
    let mut rest: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, m) in found {
        rest.entry(k.unwrap_or_default()).or_default().push(m);
    }
    for (k, errors) in rest {
        error_count += errors.len();
        configs.push(json!({
            "definition": {"name": k, "type": "STRING", "required": false, "default_value": null, "importance": "MEDIUM",
                "documentation": "", "group": null, "order_in_group": -1, "width": "NONE", "display_name": k, "dependents": []},
            "value": {"name": k, "value": values.get(&k).map(|v| shown(&k, v)), "recommended_values": [], "errors": errors, "visible": true},
        }));
    }
    Reply::json(
        200,
        json!({
            "name": plugin,
            "error_count": error_count,
            "groups": groups,
            "configs": configs,
        }),
    )
}

/// The problems of one key, removed from `found`.
fn take(found: &mut Vec<(Option<String>, String)>, key: &str) -> Vec<String> {
    let mut out = Vec::new();
    found.retain(|(k, m)| {
        if k.as_deref() == Some(key) {
            out.push(m.clone());
            false
        } else {
            true
        }
    });
    out
}

/// A value as the validation body shows it: secrets as Connect shows passwords.
fn shown<'a>(key: &str, v: &'a str) -> &'a str {
    crate::config::display_value(key, v, &[])
}
