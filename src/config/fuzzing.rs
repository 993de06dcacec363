//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz) and for `tests/fuzz_corpus.rs`,
//! which replays their committed corpora in a plain `cargo test`: bytes in, every parse of a
//! connector or worker file run on them. Each entry panics only where a parse panicked, or
//! where an error came back without saying what is wrong. Not an API; hidden from the docs.

use std::collections::BTreeMap;
use std::path::Path;

use super::connector::{COMMON_KEYS, SINK_KEYS, SOURCE_KEYS};
use super::loader::{parse_connector_file, parse_settings};
use super::providers::{Providers, ENV_CLASS};
use super::worker::{WorkerConfig, WORKER_KEYS};
use crate::api::validate_keys;

/// The file name the first byte picks (its low bit: JSON or `.properties`) and the text after
/// it; `None` for bytes that are not UTF-8, which reading the file already refuses.
fn file_of<'a>(data: &'a [u8], stem: &str) -> Option<(std::path::PathBuf, &'a str)> {
    let (&first, rest) = data.split_first()?;
    let ext = if first & 1 == 0 { "json" } else { "properties" };
    let text = std::str::from_utf8(rest).ok()?;
    Some((format!("{stem}.{ext}").into(), text))
}

/// Providers that resolve `${env:...}` only: the fuzzer must not make `${file:...}` read
/// whatever path it writes.
fn env_only() -> Providers {
    let worker = BTreeMap::from([
        ("config.providers".to_string(), "env".to_string()),
        (
            "config.providers.env.class".to_string(),
            ENV_CLASS.to_string(),
        ),
    ]);
    Providers::from_worker(&worker).expect("env provider")
}

fn said_why(e: &dyn std::fmt::Display, path: &Path) {
    let text = e.to_string();
    assert!(
        text.contains(&path.display().to_string()) && text.len() > path.as_os_str().len() + 2,
        "an error that does not say which file or why: {text:?}"
    );
}

/// The references in `values`, checked and resolved the way a connector's are.
fn providers(values: &BTreeMap<String, String>) {
    let _ = Providers::with_defaults().unknown_references(values);
    let mut resolved = values.clone();
    if let Err(e) = env_only().resolve(&mut resolved) {
        assert!(!e.to_string().is_empty());
    }
}

/// `.properties` text as kconnect writes it for REST-created connectors must read back as the
/// same settings, or an edit through the API would change other keys.
fn properties_round_trip(values: &BTreeMap<String, String>) {
    let text = super::properties::write(values, "header\nline");
    let back = super::properties::parse(&text).expect("written properties read back");
    assert_eq!(&back, values, "properties written as {text:?}");
}

/// A connector file: JSON (flat or the REST body) or `.properties`, then its keys checked and
/// its config provider references resolved.
pub fn connector_file(data: &[u8]) {
    let Some((path, text)) = file_of(data, "connector") else {
        return;
    };
    match parse_connector_file(&path, text) {
        Ok(file) => {
            for defs in [COMMON_KEYS, SINK_KEYS, SOURCE_KEYS] {
                for p in validate_keys(defs, &file.config, "") {
                    assert!(!p.message.is_empty());
                }
            }
            providers(&file.config);
            properties_round_trip(&file.config);
        }
        Err(e) => said_why(&e, &path),
    }
}

/// A worker file, its keys checked, its providers declared and resolved (`env` only), and
/// the settings the worker reads from it.
pub fn worker_file(data: &[u8]) {
    let Some((path, text)) = file_of(data, "worker") else {
        return;
    };
    let values = match parse_settings(&path, text) {
        Ok(v) => v,
        Err(e) => return said_why(&e, &path),
    };
    properties_round_trip(&values);
    for p in validate_keys(WORKER_KEYS, &values, "") {
        assert!(!p.message.is_empty());
    }
    match Providers::from_worker(&values) {
        Ok(declared) => {
            let _ = declared.is_empty();
            let _ = declared.unknown_references(&values);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    providers(&values);
    let worker = WorkerConfig {
        values,
        source: Some(path),
        providers: env_only(),
        offsets_dir: "offsets".into(),
    };
    let _ = worker.bootstrap_servers();
    let _ = worker.offset_flush_interval();
    let _ = worker.offset_flush_timeout();
    let _ = worker.shutdown_timeout();
    let _ = worker.once_dependency_timeout();
    let _ = worker.connectors_dir();
    let _ = worker.topic_creation_enabled();
    let _ = worker.with_prefix("producer.");
}
