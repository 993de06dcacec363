//! The fuzz targets' committed corpora (`fuzz/corpus/<target>/`, crash inputs included),
//! replayed through the same entry functions the cargo-fuzz targets call, in a plain
//! `cargo test` without nightly or cargo-fuzz: an input that once crashed or hung a parser
//! keeps failing here if the fix is undone. Fuzzing itself is `scripts/fuzz` (docs/fuzzing.md).

use std::path::Path;
use std::time::{Duration, Instant};

use kconnect::config::fuzzing::{connector_file, worker_file};
use kconnect::connectors::elasticsearch::fuzzing::bulk_response;
use kconnect::connectors::postgres::fuzzing::{pgoutput, replication_stream};
use kconnect::convert::fuzzing::json_converter;

/// A fuzz target's entry: bytes in, a panic for a crash.
type Entry = fn(&[u8]);

const TARGETS: &[(&str, Entry)] = &[
    ("connector_file", connector_file),
    ("worker_file", worker_file),
    ("json_converter", json_converter),
    ("pgoutput", pgoutput),
    ("replication_stream", replication_stream),
    ("es_bulk_response", bulk_response),
];

/// Far above what any input takes (milliseconds in a debug build): a parse this slow is named
/// with its file. One that never returns is for the fuzzer's own `-timeout` to catch.
const SLOW: Duration = Duration::from_secs(5);

#[test]
fn every_corpus_file_parses_without_panicking() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut failures = Vec::new();
    for (target, entry) in TARGETS {
        let dir = root.join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("dir entry").path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{}: no corpus", dir.display());
        for file in files {
            let data = std::fs::read(&file).expect("corpus file");
            let started = Instant::now();
            if std::panic::catch_unwind(|| entry(&data)).is_err() {
                failures.push(format!("{target}: {} panicked", file.display()));
            }
            if started.elapsed() > SLOW {
                failures.push(format!(
                    "{target}: {} took {:?}",
                    file.display(),
                    started.elapsed()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
