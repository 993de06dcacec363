//! Helpers of the worker tests with Kafka's FileStream connectors (tests/worker_*.rs):
//! connector files, `--once` and long-running runs, and reading outputs and offsets back.

use std::path::Path;
use std::process::Stdio;

use serde_json::Value as Json;

use super::{kconnect, output_text, write};

pub fn source_conf(dir: &Path, name: &str, input: &Path, topic: &str) -> std::path::PathBuf {
    write(
        dir,
        &format!("{name}.json"),
        &serde_json::json!({
            "name": name,
            "config": {
                "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
                "file": input.display().to_string(),
                "topic": topic,
                "topic.creation.default.partitions": 1,
                "topic.creation.default.replication.factor": 1,
            }
        })
        .to_string(),
    )
}

pub fn sink_conf(dir: &Path, name: &str, output: &Path, topic: &str) -> std::path::PathBuf {
    write(
        dir,
        &format!("{name}.properties"),
        &format!(
            "name={name}\nconnector.class=FileStreamSink\nfile={}\ntopics={topic}\n",
            output.display()
        ),
    )
}

/// `kconnect run` (not --once) with offsets committed every `flush_ms`.
pub fn spawn_run(
    dir: &Path,
    bootstrap: &str,
    flush_ms: u64,
    connector: &Path,
    stderr: Stdio,
) -> std::process::Child {
    let worker = write(
        dir,
        "worker.properties",
        &format!("offset.flush.interval.ms={flush_ms}\n"),
    );
    kconnect(dir)
        .args(["run", "-b", bootstrap, "--offsets", "offsets", "--worker"])
        .arg(&worker)
        .arg(connector)
        .stderr(stderr)
        .spawn()
        .unwrap()
}

pub fn lines(n: std::ops::Range<usize>) -> String {
    n.map(|i| format!("line {i}\n")).collect()
}

pub fn offsets_json(dir: &Path, store: &str) -> Vec<Json> {
    let o = kconnect(dir)
        .args(["offsets", "list", "--json", "--offsets", store])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", output_text(&o));
    serde_json::from_slice::<Json>(&o.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

pub fn run_once(dir: &Path, bootstrap: &str, store: &str, files: &[&Path]) -> std::process::Output {
    super::kconnect::once(dir, bootstrap, store, files)
        .output()
        .unwrap()
}

/// Position (byte offset) → number of whole lines before it.
pub fn lines_before(text: &str, position: usize) -> usize {
    text.as_bytes()[..position]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
}
