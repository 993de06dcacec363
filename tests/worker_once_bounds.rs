//! Every wait of a `--once` run has an end, and failures surface at once: an unreachable
//! PostgreSQL or Elasticsearch ends the run with exit 3 and one message naming where, within
//! `kconnect.once.dependency.timeout.ms`; `--deadline` bounds the whole run and keeps what was
//! delivered; a sink whose every document is refused fails at once, not on the next record.

mod support;

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::json;
use support::es_sink;
use support::kafka;

const BOUND: &str = "3000";

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn unreachable_postgres_ends_a_once_run_within_the_bound() {
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let body = json!({"name": "pg-source", "config": {
        "connector.class": "PostgresConnector", "database.hostname": "127.0.0.1",
        "database.port": port.to_string(), "database.user": "postgres", "database.password": "s3cret",
        "database.dbname": "postgres", "topic.prefix": "dbserver1", "plugin.name": "pgoutput"}});
    support::write(dir.path(), "connectors.d/pg.json", &body.to_string());
    let started = Instant::now();
    let out = support::pg_source::once_command(dir.path(), &k.bootstrap())
        .env("KCONNECT_KCONNECT_ONCE_DEPENDENCY_TIMEOUT_MS", BOUND)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let took = started.elapsed();
    let text = support::output_text(&out);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(took < Duration::from_secs(20), "took {took:?}: {text}");
    let err = stderr(&out);
    let addr = format!("PostgreSQL at 127.0.0.1:{port} still failing");
    assert_eq!(err.matches("giving up this --once run").count(), 1, "{err}");
    assert!(err.contains(&addr), "{err}");
    assert!(err.contains("last error: cannot reach PostgreSQL"), "{err}");
    assert!(!err.contains("s3cret"), "the password leaked: {err}");
}

#[test]
fn unreachable_elasticsearch_ends_a_once_run_and_keeps_nothing_undelivered() {
    let e = es_sink::env();
    let topic = "orders";
    kafka::create_topic(&e.kafka.bootstrap(), topic, 1);
    e.produce(topic, &[(Some("1".into()), Some(r#"{"n":1}"#.into()))]);
    let port = support::free_port();
    let url = format!("http://127.0.0.1:{port}");
    e.connector("es", topic, &url, &[("schema.ignore", "true")]);
    let started = Instant::now();
    let out = support::kconnect(e.dir.path())
        .args(["run", "--once", "-b", &e.kafka.bootstrap(), "connectors.d"])
        .env("KCONNECT_KCONNECT_ONCE_DEPENDENCY_TIMEOUT_MS", BOUND)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let took = started.elapsed();
    let text = support::output_text(&out);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(took < Duration::from_secs(40), "took {took:?}: {text}");
    let err = stderr(&out);
    let addr = format!("Elasticsearch at http://127.0.0.1:{port} still failing");
    assert_eq!(err.matches("giving up this --once run").count(), 1, "{err}");
    assert!(err.contains(&addr), "{err}");
    assert!(err.contains("es task 0"), "names the connector: {err}");
    assert!(e.committed("es", topic).unwrap_or(0) == 0, "{text}");
}

/// A FileStream source on a file that keeps growing never finishes: the deadline stops it,
/// what Kafka acknowledged is committed, and the run says why it exited 3.
#[test]
fn a_deadline_stops_a_run_that_never_finishes_and_commits_what_was_delivered() {
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    let body = json!({"name": "grow", "config": {
        "connector.class": "FileStreamSource", "file": input.display().to_string(),
        "topic": "lines"}});
    support::write(dir.path(), "connectors.d/grow.json", &body.to_string());
    let mut f = std::fs::File::create(&input).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                writeln!(f, "line {n}").unwrap();
                f.flush().unwrap();
                n += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let started = Instant::now();
    let out = support::kconnect(dir.path())
        .args(["run", "--deadline", "3s", "-b", &k.bootstrap(), "--offsets"])
        .arg(dir.path().join("offsets"))
        .arg(dir.path().join("connectors.d"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let took = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    let text = support::output_text(&out);
    assert_eq!(out.status.code(), Some(3), "{text}");
    // The deadline plus task.shutdown.graceful.timeout.ms (5 s) and start-up.
    assert!(took < Duration::from_secs(12), "took {took:?}: {text}");
    let err = stderr(&out);
    assert_eq!(err.matches("--deadline of 3 s passed").count(), 1, "{err}");
    let listed = support::kconnect(dir.path())
        .args(["offsets", "list", "--json", "grow", "--offsets"])
        .arg(dir.path().join("offsets"))
        .output()
        .unwrap();
    let offsets: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let position = offsets[0]["offset"]["position"].as_i64().unwrap_or(0);
    let delivered = kafka::consume_all(&k.bootstrap(), "lines");
    assert!(!delivered.is_empty(), "{text}");
    // The committed position is past at least the first delivered line, and never past
    // what Kafka has (each line is "line N\n").
    let bytes: usize = delivered
        .iter()
        .map(|m| m.value.as_ref().map_or(0, |v| v.len() + 1))
        .sum();
    assert!(
        position > 0 && position as usize <= bytes,
        "{position} vs {bytes}: {offsets}"
    );
}

/// Every document refused (a mapping conflict, behavior.on.malformed.documents=fail): the
/// long-running worker logs the FAILED task once, seconds after the refusal, without waiting
/// for another record or retrying the commit every interval.
#[test]
fn a_sink_whose_documents_are_all_refused_fails_at_once() {
    let e = es_sink::env();
    let topic = "measurements";
    kafka::create_topic(&e.kafka.bootstrap(), topic, 1);
    let es = e.es.url();
    let (status, _) = support::es::http(
        &es,
        "PUT",
        "/measurements",
        Some(&json!({"mappings": {"properties": {"n": {"type": "long"}}}})),
    );
    assert_eq!(status, 200);
    e.produce(
        topic,
        &[
            (Some("1".into()), Some(r#"{"n":"one"}"#.into())),
            (Some("2".into()), Some(r#"{"n":"two"}"#.into())),
        ],
    );
    e.connector(
        "refused",
        topic,
        &es,
        &[
            ("behavior.on.malformed.documents", "fail"),
            ("schema.ignore", "true"),
        ],
    );
    let log = e.dir.path().join("kconnect.log");
    let mut child = support::kconnect(e.dir.path())
        .args(["run", "-b", &e.kafka.bootstrap(), "connectors.d"])
        .env("KCONNECT_OFFSET_FLUSH_INTERVAL_MS", "60000")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let failed = support::eventually(Duration::from_secs(30), || {
        let t = std::fs::read_to_string(&log).unwrap_or_default();
        t.contains("task FAILED").then_some(started.elapsed())
    });
    std::thread::sleep(Duration::from_secs(2));
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let took = failed.expect("the task never became FAILED");
    assert!(
        took < Duration::from_secs(15),
        "FAILED after {took:?}: {text}"
    );
    assert_eq!(text.matches("task FAILED").count(), 1, "{text}");
    assert!(
        text.contains("measurements-0@0"),
        "names the record: {text}"
    );
    assert!(!text.contains("offset commit failed, will retry"), "{text}");
    assert_eq!(e.committed("refused", topic).unwrap_or(0), 0, "{text}");
}

#[test]
fn unreachable_jdbc_target_ends_a_once_run_within_the_bound() {
    use support::jdbc_sink;
    let e = jdbc_sink::env();
    let topic = "accounts";
    let value = jdbc_sink::envelope(
        &jdbc_sink::struct_schema("accounts", &[jdbc_sink::field("id", "int32", false)]),
        json!({"id": 1}),
    );
    jdbc_sink::produce(&e, topic, &[(None, Some(value))]);
    let port = support::free_port();
    let mut conn = jdbc_sink::connector(&e, "jdbc", topic, &[("connection.backoff.ms", "500")]);
    conn["connection.url"] = json!(format!(
        "jdbc:postgresql://127.0.0.1:{port}/postgres?user=postgres&password=s3cret"
    ));
    let dir = e.dir.path();
    support::write(dir, "connectors.d/jdbc.json", &conn.to_string());
    let started = Instant::now();
    let out = support::kconnect::once(
        dir,
        &e.kafka.bootstrap(),
        dir.join("offsets"),
        [dir.join("connectors.d/jdbc.json")],
    )
    .env("KCONNECT_KCONNECT_ONCE_DEPENDENCY_TIMEOUT_MS", BOUND)
    .env("NO_COLOR", "1")
    .output()
    .unwrap();
    let took = started.elapsed();
    let text = support::output_text(&out);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(took < Duration::from_secs(20), "took {took:?}: {text}");
    let err = stderr(&out);
    assert_eq!(err.matches("giving up this --once run").count(), 1, "{err}");
    assert!(
        err.contains("PostgreSQL at jdbc:postgresql://127.0.0.1:"),
        "{err}"
    );
    assert!(err.contains("still failing after"), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(!err.contains("s3cret"), "the password leaked: {err}");
}
