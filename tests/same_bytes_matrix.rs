//! The converter × transform × error-handling matrix, record by record, against the real Kafka
//! Connect 4.3.0 worker. tests/fixtures/reference/matrix/ holds the cases (connectors/, made by
//! make-cases.py), their inputs (input/, made by make-inputs.py: odd lines for the FileStream
//! source cases, records seeded into the sink cases' topics) and what the real worker wrote
//! (expected/, made by `make_golden` below through make-golden.sh). kconnect runs the same files
//! on a Tansu broker here; every record of every output topic (partition, key, value, headers)
//! and every sink file is compared, and each difference is shown line by line.
//!
//! Normalizations (the same on both sides, applied before the golden files were written):
//! - a topic whose records all have no key gets the partition `sticky` when they all went to
//!   one partition: which one the sticky partitioner picks is random in both workers;
//! - dead letter queue headers: `__connect.errors.exception.stacktrace` becomes `<stack trace>`
//!   and `__connect.errors.exception.message` `<message>` (Java stack frames and Jackson's
//!   message text cannot be reproduced; the class names, stage, topic, partition and offset are
//!   compared as they are);
//! - record timestamps are compared only on the dead letter queue (it keeps the seeded
//!   timestamps); a FileStreamSource record's timestamp is the time it was read.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use serde_json::{json, Value};

use support::{output_text, write};

const MATRIX: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/reference/matrix"
);

/// Cases where kconnect still differs from the real worker, each with the reason: they are
/// compared and their differences printed, but do not fail the test. One that starts to match
/// fails it, so the list stays true.
const KNOWN: &[(&str, &str)] = &[];

/// Lines left out of the comparison because the real worker is plainly wrong there: (output,
/// text that marks the line on either side, reason). docs/filestream.md says what kconnect does
/// instead.
const EXCLUDED: &[(&str, &str, &str)] = &[
    (
        "sinks/snk-dlq.txt",
        "a string",
        "Jackson reads `\"a string\" trailing` as \"a string\" and drops the rest; kconnect \
         refuses a value with trailing content (the record goes to the dead letter queue)",
    ),
    (
        "topics/dlq.jsonl",
        "\"key\":\"k7\"",
        "the same record, dead-lettered by kconnect only",
    ),
    (
        "sinks/*",
        "amount=-0.5",
        "a decimal written as a JSON number (`-0.5` for a scale-2 Decimal) keeps its own scale \
         in Connect (`-0.5`), which Connect then cannot write back (\"BigDecimal has mismatching \
         scale value for given Decimal schema\"); kconnect rescales it to the schema's scale \
         (`-0.50`)",
    ),
    (
        "topics/src-cast-many.jsonl",
        "1700000000123",
        "Java 17's Float.toString prints 1.70000004E12 where 1.7E12 reads back the same \
         (JDK-4511638, fixed in Java 19); kconnect prints the shortest form, as Java 19+ does",
    ),
    (
        "topics/src-cast-many.jsonl",
        "2147483647",
        "Java 17's Float.toString prints 2.14748365E9, digits beyond the shortest that reads \
         back (JDK-4511638, fixed in Java 19); kconnect prints 2.1474836E9 as Java 19+ does",
    ),
];

fn fixture(rel: &str) -> PathBuf {
    Path::new(MATRIX).join(rel)
}

/// Copies the inputs, fills in the worker and connector files, creates the output topics and
/// seeds the sink cases' input topics. Returns the worker file and the connector files.
fn setup(dir: &Path, bootstrap: &str) -> (PathBuf, Vec<PathBuf>) {
    for input in ["lines.txt", "numbers.txt"] {
        std::fs::copy(fixture("input").join(input), dir.join(input)).unwrap();
    }
    let rest = support::free_port().to_string();
    let fill = |path: &Path| {
        let text = std::fs::read_to_string(path)
            .unwrap()
            .replace("@DIR@", &dir.display().to_string())
            .replace("@BOOTSTRAP@", bootstrap)
            .replace("@REST_PORT@", &rest);
        write(dir, path.file_name().unwrap().to_str().unwrap(), &text)
    };
    let worker = fill(&fixture("worker.properties"));
    let mut names: Vec<PathBuf> = std::fs::read_dir(fixture("connectors"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let files = names.iter().map(|p| fill(p)).collect();
    for topic in topics() {
        let partitions = if topic.starts_with("dlq") { 1 } else { 3 };
        support::kafka::create_topic(bootstrap, &topic, partitions);
    }
    seed(bootstrap);
    (worker, files)
}

fn topics() -> Vec<String> {
    std::fs::read_to_string(fixture("topics.txt"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn sink_cases() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(fixture("connectors"))
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().into_string().unwrap();
            n.strip_prefix("snk-")
                .map(|_| n.trim_end_matches(".json").to_string())
        })
        .collect();
    v.sort();
    v
}

/// Bytes from a seed field: a string (UTF-8), null, or {"base64": ...}.
fn seed_bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Object(o) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(o["base64"].as_str().unwrap())
                .unwrap(),
        ),
        other => panic!("seed value {other}"),
    }
}

fn seed(bootstrap: &str) {
    let mut topics = std::collections::BTreeSet::new();
    let seeds: Vec<Value> = std::fs::read_to_string(fixture("input/seed.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for s in &seeds {
        topics.insert(s["topic"].as_str().unwrap().to_string());
    }
    for t in &topics {
        support::kafka::create_topic(bootstrap, t, 1);
    }
    let p: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("acks", "all")
        .set("linger.ms", "5")
        .create()
        .unwrap();
    for s in &seeds {
        let key = seed_bytes(&s["key"]);
        let value = seed_bytes(&s["value"]);
        let mut headers = OwnedHeaders::new();
        for h in s["headers"].as_array().unwrap() {
            headers = headers.insert(rdkafka::message::Header {
                key: h[0].as_str().unwrap(),
                value: Some(h[1].as_str().unwrap().as_bytes()),
            });
        }
        let mut rec: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(s["topic"].as_str().unwrap())
            .partition(s["partition"].as_i64().unwrap() as i32)
            .timestamp(s["timestamp"].as_i64().unwrap())
            .headers(headers);
        if let Some(k) = &key {
            rec = rec.key(k.as_slice());
        }
        if let Some(v) = &value {
            rec = rec.payload(v.as_slice());
        }
        // Wait for each record, so the seeded order is the topic's order.
        loop {
            match p.send(rec) {
                Ok(()) => break,
                Err((_, back)) => {
                    p.poll(Duration::from_millis(10));
                    rec = back;
                }
            }
        }
        p.flush(Duration::from_secs(30)).unwrap();
    }
}

/// Bytes as JSON: a string when they are UTF-8, else {"base64": ...}; null for none.
fn show(b: Option<&[u8]>) -> Value {
    match b {
        None => Value::Null,
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) => Value::String(s.to_string()),
            Err(_) => json!({"base64": base64::engine::general_purpose::STANDARD.encode(b)}),
        },
    }
}

/// One line per record, normalized as the module documentation says.
fn dump_topic(bootstrap: &str, topic: &str) -> String {
    let msgs = support::kafka::consume_all(bootstrap, topic);
    let keyless = msgs.iter().all(|m| m.key.is_none());
    let parts: std::collections::BTreeSet<i32> = msgs.iter().map(|m| m.partition).collect();
    let mut out = String::new();
    for m in &msgs {
        let partition = if keyless && parts.len() == 1 {
            json!("sticky")
        } else {
            json!(m.partition)
        };
        let headers: Vec<Value> = m
            .headers
            .iter()
            .map(|(k, v)| {
                let v = match k.as_str() {
                    "__connect.errors.exception.stacktrace" => json!("<stack trace>"),
                    "__connect.errors.exception.message" => json!("<message>"),
                    _ => show(v.as_deref()),
                };
                json!([k, v])
            })
            .collect();
        let mut line = json!({
            "partition": partition,
            "key": show(m.key.as_deref()),
            "value": show(m.value.as_deref()),
            "headers": headers,
        });
        if topic.starts_with("dlq") {
            line["timestamp"] = json!(m.timestamp);
        }
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

/// Every output: `topics/<topic>.jsonl` and `sinks/<case>.txt`.
fn dump(bootstrap: &str, dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for t in topics() {
        out.insert(format!("topics/{t}.jsonl"), dump_topic(bootstrap, &t));
    }
    for c in sink_cases() {
        let bytes = std::fs::read(dir.join(format!("{c}.txt"))).unwrap_or_default();
        // FileStreamSink text is UTF-8 (Java's PrintStream); lossy only shows a broken byte.
        out.insert(
            format!("sinks/{c}.txt"),
            String::from_utf8_lossy(&bytes).into_owned(),
        );
    }
    out
}

/// The case an output belongs to.
fn case_of(output: &str) -> String {
    let stem = output
        .rsplit('/')
        .next()
        .unwrap()
        .trim_end_matches(".jsonl")
        .trim_end_matches(".txt");
    match stem {
        dlq if dlq.starts_with("dlq") => format!("snk-{dlq}"),
        "routed-route" => "src-route".into(),
        s => s.into(),
    }
}

/// Groups record lines by partition (topics) so ordering is compared per partition.
fn by_partition(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for l in text.lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        m.entry(v["partition"].to_string())
            .or_default()
            .push(l.to_string());
    }
    m
}

/// The differences between ours and the real worker's, line by line (empty when equal).
fn differences(output: &str, ours: &str, real: &str) -> Vec<String> {
    let groups = |t: &str| {
        if output.starts_with("topics/") {
            by_partition(t)
        } else {
            BTreeMap::from([(
                "file".to_string(),
                t.split('\n')
                    .map(|l| l.escape_debug().to_string())
                    .collect(),
            )])
        }
    };
    let (o, r) = (groups(ours), groups(real));
    let mut diffs = Vec::new();
    let keys: std::collections::BTreeSet<&String> = o.keys().chain(r.keys()).collect();
    let none = Vec::new();
    for k in keys {
        let (a, b) = (o.get(k).unwrap_or(&none), r.get(k).unwrap_or(&none));
        for i in 0..a.len().max(b.len()) {
            let (x, y) = (a.get(i), b.get(i));
            if x != y {
                diffs.push(format!(
                    "{output} [{k}] line {}:\n  kconnect: {}\n  real:     {}",
                    i + 1,
                    x.map_or("(none)", |s| s.as_str()),
                    y.map_or("(none)", |s| s.as_str())
                ));
            }
        }
    }
    diffs
}

#[test]
fn matrix_matches_the_real_worker_record_by_record() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let (worker, files) = setup(d.path(), &k.bootstrap());
    let o = support::kconnect::once(d.path(), &k.bootstrap(), "offsets", &files)
        .arg("--worker")
        .arg(&worker)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", output_text(&o));
    let ours = dump(&k.bootstrap(), d.path());
    let mut failures = Vec::new();
    let mut records = 0;
    for (output, ours) in &ours {
        let real = std::fs::read_to_string(fixture("expected").join(output))
            .unwrap_or_else(|e| panic!("expected/{output}: {e}"));
        records += real.lines().count();
        let keep = |text: &str| -> String {
            text.split_inclusive('\n')
                .filter(|l| {
                    !EXCLUDED.iter().any(|(o, needle, _)| {
                        let matches = match o.strip_suffix('*') {
                            Some(prefix) => output.starts_with(prefix),
                            None => o == output,
                        };
                        matches && l.contains(needle)
                    })
                })
                .collect()
        };
        let diffs = differences(output, &keep(ours), &keep(&real));
        let case = case_of(output);
        match KNOWN.iter().find(|(c, _)| *c == case) {
            Some((_, why)) if diffs.is_empty() => failures.push(format!(
                "{case} is listed as a known difference ({why}) but now matches: remove it"
            )),
            Some((_, why)) => {
                eprintln!("known difference in {case} ({why}):\n{}", diffs.join("\n"))
            }
            None => failures.extend(diffs),
        }
    }
    eprintln!(
        "matrix: {} cases, {} outputs, {records} records/lines compared",
        std::fs::read_dir(fixture("connectors")).unwrap().count(),
        ours.len()
    );
    // Every difference goes to a file as well: the panic message shows the first ones.
    let report = Path::new(env!("CARGO_TARGET_TMPDIR")).join("same_bytes_matrix.diff");
    std::fs::write(&report, failures.join("\n")).unwrap();
    assert!(
        failures.is_empty(),
        "{} differences from the real worker (all of them in {}):\n{}",
        failures.len(),
        report.display(),
        failures
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Makes expected/ with the real worker (tests/fixtures/reference/matrix/make-golden.sh runs
/// this): the same setup on a Tansu of its own, `shared/reference/connect/run` over every case
/// until the outputs stop growing, then SIGTERM and the same dump the test makes.
#[test]
#[ignore = "needs the real Kafka Connect worker (Java); run by make-golden.sh"]
fn make_golden() {
    let run = std::env::var("KCONNECT_REFERENCE_RUN")
        .unwrap_or_else(|_| "/work/shared/reference/connect/run".into());
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let (worker, files) = setup(dir, &k.bootstrap());
    let log = std::fs::File::create(dir.join("worker.log")).unwrap();
    let mut child = std::process::Command::new(&run)
        .arg(&worker)
        .args(&files)
        .env("KCONNECT_REF_LOG_LEVEL", "WARN")
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", k.bootstrap())
        .create()
        .unwrap();
    let size = || {
        let mut n = 0i64;
        for t in topics() {
            let parts = if t.starts_with("dlq") { 1 } else { 3 };
            for p in 0..parts {
                n += c
                    .fetch_watermarks(&t, p, Duration::from_secs(5))
                    .map(|(_, hi)| hi)
                    .unwrap_or(0);
            }
        }
        for s in sink_cases() {
            n += std::fs::metadata(dir.join(format!("{s}.txt")))
                .map(|m| m.len() as i64)
                .unwrap_or(0);
        }
        n
    };
    let (mut prev, mut stable) = (-1, 0);
    for _ in 0..100 {
        std::thread::sleep(Duration::from_secs(3));
        assert!(child.try_wait().unwrap().is_none(), "the worker exited");
        let now = size();
        stable = if now > 0 && now == prev {
            stable + 1
        } else {
            0
        };
        prev = now;
        if stable >= 5 {
            break;
        }
    }
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
    let out = fixture("expected");
    let _ = std::fs::remove_dir_all(&out);
    for (name, text) in dump(&k.bootstrap(), dir) {
        let path = out.join(&name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    std::fs::copy(dir.join("worker.log"), "/tmp/matrix-worker.log").unwrap();
    eprintln!(
        "golden files in {} (worker log: /tmp/matrix-worker.log)",
        out.display()
    );
}
