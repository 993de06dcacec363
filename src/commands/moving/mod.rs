//! `kconnect export` and `kconnect import`: moving connectors with their offsets onto a Kafka
//! Connect cluster and back (KIP-875's offsets endpoints, KIP-980's `initial_state`), or into a
//! directory of REST bodies and back.
//!
//! The rule both keep: a connector never runs in two places at once. Export creates it on the
//! cluster STOPPED, writes the offsets, marks it STOPPED here (with where it went), and only
//! then resumes it there; import stops it there before reading its offsets, and unmarks it here
//! last. Both hold the offsets store's lock, which a running `kconnect run` holds too, so
//! neither works under a running local worker.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Map as JsonMap, Value as Json};

use super::Exit;
use crate::commands::client::Connection;
use crate::config::loader::{collect_paths, load_connector_file, read_settings, ConnectorFile};
use crate::config::{WorkerConfig, WorkerOverrides};
use crate::offsets::{OffsetEntry, OffsetStore, StoreError};

mod export;
mod import;
mod remote;

pub use export::export;
pub use import::import;

/// What both commands are given, as `run` is.
pub struct MoveOptions {
    /// The connector files or directories `run` is given.
    pub paths: Vec<PathBuf>,
    pub worker: WorkerOverrides,
    /// Only these connectors (default: see each command).
    pub names: Vec<String>,
    /// Print the requests (or files) instead of sending (writing) them.
    pub dry_run: bool,
}

/// Where connectors go to or come from.
pub enum Place {
    /// A Kafka Connect worker's REST API.
    Cluster(Connection),
    /// A directory of `<name>/connector.json` (the `POST /connectors` body) and
    /// `<name>/offsets.json` (the `PATCH /connectors/{name}/offsets` body).
    Dir(PathBuf),
}

/// Worker keys whose values the connector's config gets when it does not set its own: the
/// converters with their nested settings (as `runtime::converters` resolves them), and the
/// retry default kconnect's worker gives connectors.
const CONVERTER_KEYS: &[&str] = &["key.converter", "value.converter", "header.converter"];

/// The connector's config as the cluster is to run it: its file's settings as written
/// (config-provider references unresolved, so secrets stay out of the cluster's config topic),
/// plus the worker settings it relied on.
pub(crate) fn cluster_config(
    file: &BTreeMap<String, String>,
    worker: &WorkerConfig,
) -> BTreeMap<String, String> {
    let mut config = file.clone();
    config.extend(carried(file, worker));
    config
}

/// The worker settings a connector with these settings relies on.
pub(crate) fn carried(
    file: &BTreeMap<String, String>,
    worker: &WorkerConfig,
) -> BTreeMap<String, String> {
    // Nested converter settings as the worker file writes them: the loaded values have
    // config-provider references resolved, and a secret must not travel resolved.
    let raw = worker
        .source
        .as_deref()
        .and_then(|p| read_settings(p).ok())
        .unwrap_or_else(|| worker.values.clone());
    let mut out = BTreeMap::new();
    for key in CONVERTER_KEYS {
        if file.contains_key(*key) {
            continue;
        }
        let class = worker.settings().string(key).unwrap_or_default();
        out.insert(key.to_string(), class.trim().to_string());
        let prefix = format!("{key}.");
        for (k, v) in raw.range(prefix.clone()..) {
            if !k.starts_with(&prefix) {
                break;
            }
            out.insert(k.clone(), v.clone());
        }
    }
    if !file.contains_key("errors.retry.timeout") {
        if let Some(v) = worker.values.get("errors.retry.timeout") {
            out.insert("errors.retry.timeout".into(), v.clone());
        }
    }
    out
}

/// The worker lines the cluster's workers need for the config-provider references in
/// `config` (`${alias:...}`): Connect resolves them with its own workers' providers, which no
/// REST request can set.
pub(crate) fn provider_lines(
    config: &BTreeMap<String, String>,
    worker: &WorkerConfig,
) -> Vec<String> {
    let Some(list) = worker.values.get("config.providers") else {
        return Vec::new();
    };
    let used: Vec<&str> = crate::api::split_list(list)
        .into_iter()
        .filter(|alias| {
            let needle = format!("${{{alias}:");
            config.values().any(|v| v.contains(&needle))
        })
        .collect();
    if used.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![format!("config.providers={}", used.join(","))];
    for alias in used {
        let prefix = format!("config.providers.{alias}.");
        for (k, v) in worker.values.range(prefix.clone()..) {
            if !k.starts_with(&prefix) {
                break;
            }
            lines.push(format!("{k}={v}"));
        }
    }
    lines
}

/// The connector files named by `paths`, by connector name.
pub(crate) fn connector_files(paths: &[PathBuf]) -> Result<Vec<ConnectorFile>, String> {
    let files = collect_paths(paths).map_err(|e| {
        format!("{e}; give the connector files or directories kconnect run is given (--connectors PATH, default connectors.d)")
    })?;
    files
        .iter()
        .map(|p| load_connector_file(p).map_err(|e| e.to_string()))
        .collect()
}

/// The offsets store, or the reason it cannot be used now: a running `kconnect run` holds its
/// lock, and may be running the connector.
pub(crate) fn open_store(dir: &Path) -> Result<OffsetStore, Exit> {
    OffsetStore::open(dir).map_err(|e| match e {
        StoreError::Locked { dir, pid } => {
            eprintln!(
                "error: a kconnect run{} holds the offsets store {}, so it may be running the connectors; a connector must never run in two places at once: stop that run first (SIGTERM; it commits its offsets), then try again",
                pid.map(|p| format!(" (pid {p})")).unwrap_or_default(),
                dir.display()
            );
            Exit::StoreLocked
        }
        e => {
            eprintln!("error: {e}");
            Exit::ConnectorFailed
        }
    })
}

/// Connect's `PATCH /connectors/{name}/offsets` body for the stored offsets.
pub(crate) fn offsets_body(entries: &[OffsetEntry]) -> Json {
    let list: Vec<Json> = entries
        .iter()
        .map(|e| json!({"partition": e.partition, "offset": e.offset}))
        .collect();
    json!({ "offsets": list })
}

/// One `{"partition", "offset"}` of Connect's offsets bodies.
pub(crate) type Pair = (JsonMap<String, Json>, JsonMap<String, Json>);

/// The pairs of a `GET /connectors/{name}/offsets` (or `PATCH`) body; `None` when it is not
/// that shape.
pub(crate) fn offsets_of(body: &Json) -> Option<Vec<Pair>> {
    body.get("offsets")?
        .as_array()?
        .iter()
        .map(|o| {
            Some((
                o.get("partition")?.as_object()?.clone(),
                o.get("offset")?.as_object()?.clone(),
            ))
        })
        .collect()
}

/// The file name stem for a connector (its characters made safe), as the REST API's new files
/// get.
pub(crate) fn stem(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_start_matches('.').to_string();
    if s.is_empty() {
        "connector".into()
    } else {
        s
    }
}

/// The config with secret values shown as `[hidden]`, for a dry run's output.
pub(crate) fn shown_config(config: &BTreeMap<String, String>) -> Json {
    let class = config
        .get("connector.class")
        .map(|c| c.trim())
        .unwrap_or("");
    let defs: Vec<&[crate::api::ConfigKey]> = crate::connectors::find(class)
        .map(|p| vec![p.desc.config])
        .unwrap_or_default();
    let map: JsonMap<String, Json> = config
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                Json::from(crate::config::display_value(k, v, &defs)),
            )
        })
        .collect();
    Json::Object(map)
}

fn load_worker(o: &WorkerOverrides) -> Result<WorkerConfig, Exit> {
    WorkerConfig::load(o).map_err(|e| {
        eprintln!("error: {e}");
        Exit::Config
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_worker_converters_travel_unless_the_connector_names_its_own() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("worker.properties");
        std::fs::write(
            &path,
            "value.converter=org.apache.kafka.connect.storage.StringConverter\nkey.converter.schemas.enable=false\nkey.converter.x=${env:SECRET_X}\nconfig.providers=env\nconfig.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider\nerrors.retry.timeout=5000\n",
        )
        .unwrap();
        std::env::set_var("SECRET_X", "resolved");
        let worker = WorkerConfig::load(&WorkerOverrides {
            worker_file: Some(path),
            ..Default::default()
        })
        .unwrap();
        let file = map(&[
            ("connector.class", "FileStreamSource"),
            (
                "value.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
            ("value.converter.schemas.enable", "false"),
            ("file", "${env:IN}"),
        ]);
        let c = cluster_config(&file, &worker);
        assert_eq!(
            c["key.converter"],
            "org.apache.kafka.connect.json.JsonConverter"
        );
        assert_eq!(c["key.converter.schemas.enable"], "false");
        // As written: the secret is resolved by the cluster's own provider.
        assert_eq!(c["key.converter.x"], "${env:SECRET_X}");
        assert_eq!(
            c["value.converter"],
            "org.apache.kafka.connect.json.JsonConverter"
        );
        assert_eq!(c["value.converter.schemas.enable"], "false");
        assert_eq!(
            c["header.converter"],
            "org.apache.kafka.connect.storage.SimpleHeaderConverter"
        );
        assert_eq!(c["errors.retry.timeout"], "5000");
        assert_eq!(
            provider_lines(&c, &worker),
            vec![
                "config.providers=env".to_string(),
                "config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider".into()
            ]
        );
    }

    #[test]
    fn offsets_bodies_read_back() {
        let body = json!({"offsets": [
            {"partition": {"filename": "/in"}, "offset": {"position": 12}},
            {"partition": {"kafka_topic": "t", "kafka_partition": 0}, "offset": {"kafka_offset": 3}}
        ]});
        let pairs = offsets_of(&body).unwrap();
        assert_eq!(pairs.len(), 2);
        assert_eq!(pairs[1].1["kafka_offset"], 3);
        assert!(offsets_of(&json!({"offsets": [{"partition": 1}]})).is_none());
        assert_eq!(stem("../a b"), "_a_b");
    }
}
