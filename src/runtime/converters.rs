//! Which converters a task uses. As in Connect: a connector that names its own
//! `value.converter` configures it from its own `value.converter.*` keys; otherwise the
//! worker's converter and the worker's nested keys apply.

use std::collections::BTreeMap;

use crate::api::{unknown_class_message, PluginKind, Problem};
use crate::config::worker::strip_prefix;
use crate::config::{ConnectorConfig, WorkerConfig};
use crate::convert::{find_converter, find_header_converter, Converter, HeaderConverter};

pub struct TaskConverters {
    pub key: Box<dyn Converter>,
    pub value: Box<dyn Converter>,
    pub header: Box<dyn HeaderConverter>,
    pub key_class: String,
    pub value_class: String,
    pub header_class: String,
}

/// The class and nested settings that apply for `key` (`key.converter`, ...).
pub fn resolve(
    worker: &WorkerConfig,
    connector: &ConnectorConfig,
    key: &str,
) -> (String, BTreeMap<String, String>, &'static str) {
    match connector.values.get(key) {
        Some(class) => (
            class.trim().to_string(),
            strip_prefix(&connector.values, &format!("{key}.")),
            "connector",
        ),
        None => (
            worker.settings().string(key).unwrap_or_default(),
            strip_prefix(&worker.values, &format!("{key}.")),
            "worker",
        ),
    }
}

pub fn build(
    worker: &WorkerConfig,
    connector: &ConnectorConfig,
) -> Result<TaskConverters, Problem> {
    let make = |key: &str, is_key: bool| -> Result<(Box<dyn Converter>, String), Problem> {
        let (class, nested, origin) = resolve(worker, connector, key);
        let plugin = find_converter(&class).ok_or_else(|| {
            Problem::new(
                key,
                unknown_class("converter", &class, PluginKind::Converter, origin),
            )
        })?;
        let conv = (plugin.create)(&nested, is_key)
            .map_err(|p| Problem::new(format!("{key}.{}", p.key), p.message))?;
        Ok((conv, plugin.desc.class.to_string()))
    };
    let (key, key_class) = make("key.converter", true)?;
    let (value, value_class) = make("value.converter", false)?;
    let (hclass, hnested, origin) = resolve(worker, connector, "header.converter");
    let hp = find_header_converter(&hclass).ok_or_else(|| {
        Problem::new(
            "header.converter",
            unknown_class(
                "header converter",
                &hclass,
                PluginKind::HeaderConverter,
                origin,
            ),
        )
    })?;
    let header = (hp.create)(&hnested)
        .map_err(|p| Problem::new(format!("header.converter.{}", p.key), p.message))?;
    Ok(TaskConverters {
        key,
        value,
        header,
        key_class,
        value_class,
        header_class: hp.desc.class.to_string(),
    })
}

/// A converter class nobody has; `origin` says which file named it.
fn unknown_class(what: &str, class: &str, kind: PluginKind, origin: &str) -> String {
    let names = super::registry::names(&[kind]);
    unknown_class_message(what, class, names, || "kconnect plugins lists them".into())
        + &format!(" (from the {origin} config)")
}
