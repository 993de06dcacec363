//! kconnect's REST API against the real Kafka Connect 4.3.0 worker's: the scenario in
//! tests/fixtures/rest (every endpoint of issue #17, success and error cases) replayed against a
//! long-running kconnect, each answer compared with the one the real worker gave
//! (`golden.json`, made by scripts/gen-rest-goldens), after the normalization and the
//! deliberate differences tests/fixtures/rest/README.md lists.
//!
//! With `KCONNECT_REST_URL` (and `KCONNECT_REST_DIR`, the directory the worker's connectors read
//! from) the same replay runs against that server instead, comparing with the golden answers as
//! recorded (no `differs` rule): `scripts/gen-rest-goldens --check` points it at a fresh real
//! worker, which must give no mismatch.

mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::{json, Value as Json};
use support::rest::{self, http, json as rjson, Answer, Differs, Step};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rest")
}

/// Kills the worker when the test ends, whatever way it ends.
struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn log_tail(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        let _ = f.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

#[test]
fn kconnect_answers_the_rest_scenario_as_the_real_connect_worker_does() {
    let (scenario, golden) = rest::load_fixtures(&fixtures());
    if let Ok(base) = std::env::var("KCONNECT_REST_URL") {
        let dir = std::env::var("KCONNECT_REST_DIR")
            .expect("KCONNECT_REST_DIR: the directory the worker at KCONNECT_REST_URL reads");
        rest::write_files(&scenario, Path::new(&dir));
        let subs = [("${DIR}".into(), dir), ("${RUN}".into(), rest::run_id())];
        let mismatches = rest::replay_against_connect(&base, &scenario, &golden, &subs);
        assert!(mismatches.is_empty(), "{}", rest::report(&mismatches));
        eprintln!(
            "{} steps replayed against {base}: no mismatch",
            scenario.steps.len()
        );
        return;
    }

    let kafka = std::env::var("KCONNECT_TEST_BROKER")
        .is_err()
        .then(support::tansu);
    let broker = kafka.as_ref().map_or_else(
        || std::env::var("KCONNECT_TEST_BROKER").unwrap(),
        |k| k.bootstrap(),
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let connectors = tmp.path().join("connectors.d");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&connectors).unwrap();
    rest::write_files(&scenario, &dir);
    let port = support::free_port();
    let worker_subs = [
        ("${DIR}".to_string(), dir.display().to_string()),
        ("${BROKER}".to_string(), broker),
        ("${PORT}".to_string(), port.to_string()),
    ];
    let worker_file = support::write(
        tmp.path(),
        "worker.properties",
        &rest::worker_properties(&scenario, &worker_subs),
    );
    let log_path = tmp.path().join("kconnect.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut cmd = support::kconnect(tmp.path());
    let child = support::with_rest_api(&mut cmd)
        .arg("run")
        .arg("--worker")
        .arg(&worker_file)
        .arg("--offsets")
        .arg(tmp.path().join("offsets"))
        .arg(&connectors)
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start kconnect");
    let mut worker = Worker(child);
    // Up when the port answers; given up on at once when kconnect exits.
    let up = support::eventually(Duration::from_secs(30), || {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(true);
        }
        worker.0.try_wait().ok().flatten().map(|_| false)
    });
    if up != Some(true) {
        let exited = worker.0.try_wait().ok().flatten();
        panic!(
            "kconnect did not serve its REST API on 127.0.0.1:{port} (worker key \
             `listeners=http://127.0.0.1:{port}`) within 30 s{}; its log:\n{}",
            exited.map_or(String::new(), |s| format!(" and exited with {s}")),
            log_tail(&log_path)
        );
    }
    let subs = [
        ("${DIR}".to_string(), dir.display().to_string()),
        ("${RUN}".to_string(), rest::run_id()),
    ];
    let mismatches = rest::replay(
        &format!("http://127.0.0.1:{port}"),
        &scenario,
        &golden,
        &subs,
    );
    drop(worker);
    assert!(
        mismatches.is_empty(),
        "{}\nkconnect's log (last lines):\n{}",
        rest::report(&mismatches),
        log_tail(&log_path)
    );
}

// The harness itself, with no service: the normalization, the `differs` rules and the report.

fn subs() -> Vec<(String, String)> {
    vec![
        ("${DIR}".into(), "/tmp/play-1".into()),
        ("${RUN}".into(), "r0123456789".into()),
    ]
}

#[test]
fn normalization_hides_what_legitimately_differs_and_nothing_else() {
    let raw = json!({
        "src-r0123456789": {"status": {
            "name": "src-r0123456789",
            "connector": {"state": "RUNNING", "worker_id": "127.0.0.1:18083", "version": "4.3.0"},
            "tasks": [{"id": 0, "state": "FAILED", "worker_id": "10.0.0.1:8083",
                       "trace": "org.apache.kafka.connect.errors.ConnectException: boom\n\tat ..."}],
            "type": "source"}},
        "file": "/tmp/play-1/in.txt",
        "commit": "a9ce3221537b8653",
        "kafka_cluster_id": "tansu_cluster",
        "logger": {"level": "DEBUG", "last_modified": 1764786000000u64},
        "root": {"level": "INFO", "last_modified": null},
        "topics": ["rg-r0123456789", "a-topic"],
        "offsets": [{"partition": {"kafka_partition": 1}}, {"partition": {"kafka_partition": 0}}],
        "position": 20
    });
    let n = rjson::normalize(&raw, &subs());
    assert_eq!(
        n,
        json!({
            "src-${RUN}": {"status": {
                "name": "src-${RUN}",
                "connector": {"state": "RUNNING", "worker_id": "${WORKER_ID}", "version": "${VERSION}"},
                "tasks": [{"id": 0, "state": "FAILED", "worker_id": "${WORKER_ID}", "trace": "${TRACE}"}],
                "type": "source"}},
            "file": "${DIR}/in.txt",
            "commit": "${COMMIT}",
            "kafka_cluster_id": "${KAFKA_CLUSTER_ID}",
            "logger": {"level": "DEBUG", "last_modified": "${TIMESTAMP}"},
            "root": {"level": "INFO", "last_modified": null},
            "topics": ["a-topic", "rg-${RUN}"],
            "offsets": [{"partition": {"kafka_partition": 1}}, {"partition": {"kafka_partition": 0}}],
            "position": 20
        })
    );
    // A state, a number or the order of objects is never normalized away.
    let other = rjson::normalize(&json!({"state": "PAUSED", "position": 6}), &subs());
    assert_eq!(other, json!({"state": "PAUSED", "position": 6}));
    // A connector's entry in the plugin list keeps its version; a transform's does not.
    let plugins = json!([
        {"class": "io.debezium.connector.postgresql.PostgresConnector", "type": "source", "version": "3.6.3.Final"},
        {"class": "org.apache.kafka.connect.transforms.Filter", "type": "transformation", "version": "4.3.0"}
    ]);
    assert_eq!(
        rjson::normalize(&plugins, &subs()),
        json!([
            {"class": "io.debezium.connector.postgresql.PostgresConnector", "type": "source", "version": "3.6.3.Final"},
            {"class": "org.apache.kafka.connect.transforms.Filter", "type": "transformation", "version": "${VERSION}"}
        ])
    );
}

#[test]
fn the_golden_answers_are_already_normalized() {
    // What the recorder (Python) wrote is a fixed point of the harness's (Rust) normalization:
    // one more sign that both normalize alike (`gen-rest-goldens --check` is the full proof).
    let (_, golden) = rest::load_fixtures(&fixtures());
    for answer in &golden.steps {
        if let Some(body) = &answer.json {
            assert_eq!(
                &rjson::normalize(body, &subs()),
                body,
                "step {}",
                answer.name
            );
        }
    }
}

#[test]
fn the_golden_file_answers_every_step_of_the_scenario_in_order() {
    let (scenario, golden) = rest::load_fixtures(&fixtures());
    let steps: Vec<&str> = scenario.steps.iter().map(|s| s.name.as_str()).collect();
    let answers: Vec<&str> = golden.steps.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        steps, answers,
        "regenerate golden.json with scripts/gen-rest-goldens"
    );
    assert_eq!(
        scenario.worker, golden.worker,
        "golden.json was recorded with another worker config"
    );
}

#[test]
fn every_deliberate_difference_says_why_and_changes_something() {
    let (scenario, golden) = rest::load_fixtures(&fixtures());
    for (step, answer) in scenario.steps.iter().zip(&golden.steps) {
        let Some(d) = &step.differs else { continue };
        assert!(
            !d.why.is_empty(),
            "step {}: `differs` without `why`",
            step.name
        );
        // Replaying Connect's own answer: a changed status or body must then show up, and
        // every pattern must match something in Connect's answer (no dead rule).
        let mismatches = rest::compare(step, answer, answer);
        assert_eq!(
            d.status.is_some() || d.json.is_some() || !d.remove.is_empty(),
            !mismatches.is_empty(),
            "step {}: {mismatches:?}",
            step.name
        );
        let body = answer.json.as_ref().unwrap_or(&Json::Null);
        for p in d
            .count
            .iter()
            .chain(&d.ignore)
            .chain(&d.only)
            .chain(&d.remove)
        {
            let mut doc = body.clone();
            for (kp, by) in &d.key_by {
                rjson::key_by(&mut doc, kp, by);
            }
            assert!(
                !rjson::expand(&doc, p).is_empty(),
                "step {}: {p} matches nothing",
                step.name
            );
        }
    }
}

fn step_with(differs: Differs) -> Step {
    Step {
        name: "s".into(),
        method: "GET".into(),
        path: "/x".into(),
        body: None,
        raw_body: None,
        wait: None,
        differs: Some(differs),
    }
}

fn answer(status: u16, body: Json) -> Answer {
    Answer {
        name: "s".into(),
        status,
        content_type: Some("application/json".into()),
        json: Some(body),
        text: None,
    }
}

#[test]
fn differs_rules_adjust_only_what_they_name() {
    // Issue #17: Connect's 500 for malformed JSON is 400 in kconnect, wording aside.
    let connect = answer(
        500,
        json!({"error_code": 500, "message": "Unexpected character"}),
    );
    let step = step_with(Differs {
        why: "issue #17".into(),
        status: Some(400),
        ignore: vec!["/message".into()],
        ..Differs::default()
    });
    let ours = answer(
        400,
        json!({"error_code": 400, "message": "malformed JSON at 1:2"}),
    );
    assert!(rest::compare(&step, &connect, &ours).is_empty());
    let missing = answer(400, json!({"error_code": 400}));
    let m = rest::compare(&step, &connect, &missing);
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(m[0].what, "body at /message");
    assert!(
        m[0].to_string().contains("on purpose: issue #17"),
        "{}",
        m[0]
    );

    // Connect's ghost task is removed from what is expected only.
    let ghost = answer(
        200,
        json!({"tasks": [{"id": 0}, {"id": 9, "state": "FAILED"}]}),
    );
    let step = step_with(Differs {
        why: "ghost".into(),
        remove: vec!["/tasks/1".into()],
        ..Differs::default()
    });
    assert!(rest::compare(&step, &ghost, &answer(200, json!({"tasks": [{"id": 0}]}))).is_empty());
    assert_eq!(rest::compare(&step, &ghost, &ghost).len(), 1);

    // Validate: keyed by key name, errors counted, only the named values compared.
    let connect = answer(
        200,
        json!({"name": "S", "error_count": 1, "configs": [
        {"definition": {"documentation": "Connect's"}, "value": {"name": "file", "errors": []}},
        {"definition": {}, "value": {"name": "topics", "errors": ["Must configure one of topics"]}}]}),
    );
    let ours = answer(
        200,
        json!({"name": "S", "error_count": 1, "configs": [
        {"definition": {}, "value": {"name": "topics", "errors": ["`topics` is missing; did you mean `topic`?"]}},
        {"definition": {"documentation": "ours"}, "value": {"name": "file", "errors": []}},
        {"definition": {}, "value": {"name": "kconnect.only", "errors": []}}]}),
    );
    let step = step_with(Differs {
        why: "validate".into(),
        key_by: [("/configs".to_string(), "/value/name".to_string())].into(),
        count: vec!["/configs/*/value/errors".into()],
        only: vec![
            "/name".into(),
            "/error_count".into(),
            "/configs/topics/value".into(),
            "/configs/file/value".into(),
        ],
        ..Differs::default()
    });
    assert!(rest::compare(&step, &connect, &ours).is_empty());
    let no_error = answer(
        200,
        json!({"name": "S", "error_count": 0, "configs": [
        {"value": {"name": "topics", "errors": []}}]}),
    );
    let whats: Vec<String> = rest::compare(&step, &connect, &no_error)
        .into_iter()
        .map(|m| m.what)
        .collect();
    assert_eq!(
        whats,
        [
            "body at /configs/file/value",
            "body at /configs/topics/value/errors",
            "body at /error_count"
        ]
    );

    // Plugin lists: only the plugins both ship, in any order.
    let connect = answer(
        200,
        json!([{"class": "B"}, {"class": "A"}, {"class": "JvmOnly"}]),
    );
    let ours = answer(
        200,
        json!([{"class": "A"}, {"class": "RustOnly"}, {"class": "B"}]),
    );
    let step = step_with(Differs {
        why: "plugins".into(),
        keep: Some(rest::Keep {
            pointer: String::new(),
            by: "/class".into(),
            values: vec!["A".into(), "B".into()],
        }),
        unordered: vec![String::new()],
        ..Differs::default()
    });
    assert!(rest::compare(&step, &connect, &ours).is_empty());
    let short = answer(200, json!([{"class": "A"}]));
    assert_eq!(rest::compare(&step, &connect, &short).len(), 1);
}

#[test]
fn a_mismatch_names_the_step_the_path_and_both_values() {
    let step = Step {
        differs: None,
        ..step_with(Differs::default())
    };
    let expected = answer(200, json!({"connector": {"state": "PAUSED"}, "tasks": []}));
    let mut got = answer(
        200,
        json!({"connector": {"state": "RUNNING"}, "tasks": [], "extra": 1}),
    );
    got.content_type = None;
    let m = rest::compare(&step, &expected, &got);
    let report = rest::report(&m);
    assert!(
        report.starts_with("3 mismatch(es) in 1 step(s)"),
        "{report}"
    );
    assert!(
        report.contains(
            "step `s` (GET /x): content type\n    expected: application/json\n    got:      None"
        ),
        "{report}"
    );
    assert!(
        report.contains(
            "body at /connector/state\n    expected: \"PAUSED\"\n    got:      \"RUNNING\""
        ),
        "{report}"
    );
    assert!(
        report.contains("body at /extra\n    expected: nothing\n    got:      1"),
        "{report}"
    );
    // No body where Connect sends none (202, 204).
    let mut empty = answer(202, Json::Null);
    empty.json = None;
    empty.content_type = None;
    assert!(rest::compare(&step, &empty, &empty).is_empty());
    assert_eq!(
        rest::compare(&step, &empty, &answer(202, json!({}))).len(),
        1
    );
}

#[test]
fn the_http_client_reads_chunked_and_sized_answers() {
    let chunked = b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n";
    let r = http::parse(chunked).unwrap();
    assert_eq!(
        (r.status, r.content_type.as_deref(), r.body.as_str()),
        (200, Some("application/json"), "{\"a\":1}")
    );
    let sized = b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}";
    let r = http::parse(sized).unwrap();
    assert_eq!(
        (r.status, r.content_type, r.body.as_str()),
        (404, None, "{}")
    );
    assert!(http::parse(b"garbage").is_err());
    // Read as far as the framing says, not to the end of a kept-alive connection.
    assert!(http::complete(chunked));
    assert!(!http::complete(&chunked[..chunked.len() - 5]));
    assert!(http::complete(sized));
    assert!(!http::complete(&sized[..sized.len() - 1]));
    assert!(http::complete(
        b"HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n"
    ));
    assert!(!http::complete(b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\n{}"));
}

/// A server answering each request with the next canned (status, body), recording what it got.
fn canned_server(
    answers: Vec<(u16, &'static str)>,
) -> (String, std::thread::JoinHandle<Vec<String>>) {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for (status, body) in answers {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap();
            let request = String::from_utf8_lossy(&buf[..n]).to_string();
            seen.push(request.lines().next().unwrap_or_default().to_string());
            let reply = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(reply.as_bytes()).unwrap();
        }
        seen
    });
    (base, handle)
}

#[test]
fn replay_waits_fills_placeholders_and_reports_each_difference() {
    let scenario: rest::Scenario = serde_json::from_value(json!({
        "files": {}, "worker": {},
        "steps": [
            {"name": "status", "method": "GET", "path": "/connectors/c-${RUN}/status",
             "wait": {"path": "/connectors/c-${RUN}/status", "until": {"/c-${RUN}/state": "RUNNING"}}},
            {"name": "create", "method": "POST", "path": "/connectors", "body": {"file": "${DIR}/in.txt"}}
        ]}))
    .unwrap();
    let golden: rest::Golden = serde_json::from_value(json!({
    "recorded_with": {}, "worker": {},
    "steps": [
        {"name": "status", "status": 200, "content_type": "application/json",
         "json": {"c-${RUN}": {"state": "RUNNING", "worker_id": "${WORKER_ID}"}}},
        {"name": "create", "status": 201, "content_type": "application/json",
         "json": {"file": "${DIR}/in.txt"}}
    ]}))
    .unwrap();
    let (base, server) = canned_server(vec![
        (200, r#"{"c-r1":{"state":"STARTING"}}"#),
        (200, r#"{"c-r1":{"state":"RUNNING"}}"#),
        (
            200,
            r#"{"c-r1":{"state":"RUNNING","worker_id":"127.0.0.1:1"}}"#,
        ),
        (400, r#"{"file":"/d/in.txt"}"#),
    ]);
    let subs = [
        ("${DIR}".to_string(), "/d".to_string()),
        ("${RUN}".to_string(), "r1".to_string()),
    ];
    let mismatches = rest::replay(&base, &scenario, &golden, &subs);
    let seen = server.join().unwrap();
    assert_eq!(
        seen,
        [
            "GET /connectors/c-r1/status HTTP/1.1",
            "GET /connectors/c-r1/status HTTP/1.1",
            "GET /connectors/c-r1/status HTTP/1.1",
            "POST /connectors HTTP/1.1"
        ]
    );
    // The wait polled until RUNNING; the worker id and the directory were normalized; the
    // one real difference is the status of `create`.
    assert_eq!(mismatches.len(), 1, "{}", rest::report(&mismatches));
    assert_eq!(
        (mismatches[0].step.as_str(), mismatches[0].what.as_str()),
        ("create", "status")
    );
    // With the server gone, the replay stops at the first request instead of waiting on each.
    let gone = rest::replay(&base, &scenario, &golden, &subs);
    assert!(
        gone.iter()
            .any(|m| m.what == "request" && m.got.contains("stopping the replay")),
        "{gone:?}"
    );
}
