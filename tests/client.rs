//! `kconnect status|pause|resume|stop|restart` and `kconnect offsets ... --url` against a fake
//! Kafka Connect worker: a tiny HTTP server in the test that records each request and answers
//! with the real Kafka Connect 4.3.0 worker's bodies and statuses
//! (tests/fixtures/client/capture made them). Each test checks the request the command sent
//! (method, path, query, body), what it printed and its exit status. How the client reaches
//! the worker (credentials, TLS, refused connections, timeouts) is in client_connection.rs.

#[path = "support/fake_worker.rs"]
mod fake_worker;
mod support;

use serde_json::{json, Value as Json};

use fake_worker::{captured, client, run, stderr, stdout, Fake};
use support::output_text;

#[test]
fn status_of_every_connector_is_a_table_and_a_failed_task_exits_3() {
    let fake = Fake::start(&[("GET /connectors?expand=status", captured("expand_status"))]);
    let o = run(&fake, &["status"]);
    assert_eq!(o.status.code(), Some(3), "{}", output_text(&o));
    assert_eq!(fake.lines(), ["GET /connectors?expand=status"]);
    assert_eq!(
        stdout(&o),
        "CONNECTOR  TYPE    STATE    WORKER\n\
         clibad1    sink    RUNNING  127.0.0.1:18085\n\
         \x20 task 0           FAILED   127.0.0.1:18085\n\
         \x20     org.apache.kafka.connect.errors.ConnectException: Couldn't find or create file '/nonexistent/dir/out.txt' for FileStreamSinkTask\n\
         clisink1   sink    RUNNING  127.0.0.1:18085\n\
         \x20 task 0           RUNNING  127.0.0.1:18085\n\
         clisrc1    source  RUNNING  127.0.0.1:18085\n\
         \x20 task 0           RUNNING  127.0.0.1:18085\n"
    );
    let seen = &fake.seen()[0];
    assert!(!seen.headers.contains_key("authorization"));
    assert!(seen.headers["user-agent"].starts_with("kconnect/"));
}

#[test]
fn status_of_one_connector_and_json_prints_connects_body_as_sent() {
    let (code, body) = captured("status_clisrc1");
    let fake = Fake::start(&[("GET /connectors/clisrc1/status", (code, body.clone()))]);
    let o = run(&fake, &["status", "clisrc1", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
    assert_eq!(stdout(&o), format!("{}\n", body.trim_end()));
    let o = run(&fake, &["status", "clisrc1"]);
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
    assert!(stdout(&o).contains("clisrc1    source  RUNNING  127.0.0.1:18085\n"));
}

#[test]
fn an_unknown_connector_prints_connects_message_and_exits_1() {
    let fake = Fake::start(&[
        ("GET /connectors/nope/status", captured("status_missing")),
        ("PUT /connectors/nope/pause", captured("pause_missing")),
    ]);
    let o = run(&fake, &["status", "nope"]);
    assert_eq!(o.status.code(), Some(1), "{}", output_text(&o));
    assert_eq!(
        stderr(&o).trim(),
        "error: No status found for connector nope (HTTP 404 from GET /connectors/nope/status)"
    );
    assert_eq!(stdout(&o), "");
    let o = run(&fake, &["pause", "nope"]);
    assert_eq!(o.status.code(), Some(1), "{}", output_text(&o));
    assert!(
        stderr(&o).contains("Unknown connector nope"),
        "{}",
        output_text(&o)
    );
}

#[test]
fn pause_resume_and_stop_put_to_their_endpoints() {
    let fake = Fake::start(&[
        ("PUT /connectors/clisrc1/pause", captured("pause")),
        ("PUT /connectors/clisrc1/resume", captured("resume")),
        ("PUT /connectors/clisrc1/stop", captured("stop")),
    ]);
    for (verb, state) in [
        ("pause", "PAUSED"),
        ("resume", "RUNNING"),
        ("stop", "STOPPED"),
    ] {
        let o = run(&fake, &[verb, "clisrc1"]);
        assert_eq!(o.status.code(), Some(0), "{verb}: {}", output_text(&o));
        assert!(
            stdout(&o).contains(&format!("{verb} connector clisrc1")) && stdout(&o).contains(state),
            "{}",
            output_text(&o)
        );
    }
    assert_eq!(
        fake.lines(),
        [
            "PUT /connectors/clisrc1/pause",
            "PUT /connectors/clisrc1/resume",
            "PUT /connectors/clisrc1/stop"
        ]
    );
}

#[test]
fn restart_sends_includetasks_and_onlyfailed_only_when_asked() {
    let fake = Fake::start(&[
        ("POST /connectors/clisrc1/restart", captured("restart")),
        (
            "POST /connectors/clibad1/restart?includeTasks=true&onlyFailed=true",
            captured("restart_failed"),
        ),
        (
            "POST /connectors/clibad1/restart?includeTasks=true&onlyFailed=false",
            captured("restart_failed"),
        ),
        (
            "POST /connectors/clisrc1/tasks/0/restart",
            captured("restart_task"),
        ),
        (
            "POST /connectors/clisrc1/tasks/7/restart",
            captured("restart_task_missing"),
        ),
    ]);
    let o = run(&fake, &["restart", "clisrc1"]);
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
    assert_eq!(stdout(&o), "restarted connector clisrc1\n");

    // 202 with the status: the restarted task is RESTARTING, not a failure to report.
    let o = run(&fake, &["restart", "clibad1", "--tasks", "--failed"]);
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
    assert_eq!(
        stdout(&o),
        "CONNECTOR  TYPE  STATE       WORKER\n\
         clibad1    sink  RUNNING     127.0.0.1:18085\n\
         \x20 task 0         RESTARTING  127.0.0.1:18085\n"
    );
    let o = run(&fake, &["restart", "clibad1", "--tasks", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
    assert_eq!(
        stdout(&o).trim_end(),
        captured("restart_failed").1.trim_end()
    );

    let o = run(&fake, &["restart", "clisrc1", "--task", "0"]);
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
    assert_eq!(stdout(&o), "restarted task 0 of connector clisrc1\n");
    let o = run(&fake, &["restart", "clisrc1", "--task", "7"]);
    assert_eq!(o.status.code(), Some(1), "{}", output_text(&o));
    assert!(
        stderr(&o).contains("Task clisrc1-7 not found"),
        "{}",
        output_text(&o)
    );

    assert_eq!(
        fake.lines(),
        [
            "POST /connectors/clisrc1/restart",
            "POST /connectors/clibad1/restart?includeTasks=true&onlyFailed=true",
            "POST /connectors/clibad1/restart?includeTasks=true&onlyFailed=false",
            "POST /connectors/clisrc1/tasks/0/restart",
            "POST /connectors/clisrc1/tasks/7/restart",
        ]
    );
    // --task is one task; --tasks/--failed are about all of them.
    let o = run(&fake, &["restart", "clisrc1", "--task", "0", "--failed"]);
    assert_eq!(o.status.code(), Some(2), "{}", output_text(&o));
}

#[test]
fn offsets_with_url_use_kip_875_and_never_open_the_store() {
    let fake = Fake::start(&[
        ("GET /connectors", captured("connectors")),
        (
            "GET /connectors/clisrc1/offsets",
            captured("offsets_clisrc1"),
        ),
        (
            "GET /connectors/clisink1/offsets",
            captured("offsets_clisink1"),
        ),
        (
            "GET /connectors/clibad1/offsets",
            captured("offsets_clibad1"),
        ),
        (
            "PATCH /connectors/clisrc1/offsets",
            captured("offsets_patch"),
        ),
        (
            "DELETE /connectors/clisrc1/offsets",
            captured("offsets_reset"),
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let offsets = |args: &[&str]| {
        let mut all = vec!["offsets"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--url", &fake.url]);
        client(dir.path(), "http://127.0.0.1:1", &all)
            .output()
            .unwrap()
    };

    let o = offsets(&["list", "clisrc1", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
    let listed: Json = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        listed,
        json!([{"connector": "clisrc1", "type": "source",
                "partition": {"filename": "/tmp/kconnect-client-capture/in.txt"},
                "offset": {"position": 14}}])
    );

    let o = offsets(&["list"]);
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
    let text = stdout(&o);
    assert!(
        text.contains(r#"clisink1                     sink    {"kafka_partition":1,"kafka_topic":"kconnect-client-capture"} {"kafka_offset":3}"#),
        "{text}"
    );
    assert!(text.contains(r#"clisrc1                      source  {"filename":"/tmp/kconnect-client-capture/in.txt"} {"position":14}"#), "{text}");

    let o = offsets(&[
        "set",
        "clisrc1",
        "--partition",
        r#"{"filename":"/tmp/kconnect-client-capture/in.txt"}"#,
        "--offset",
        r#"{"position":4}"#,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
    assert_eq!(
        stdout(&o),
        "clisrc1: The offsets for this connector have been altered successfully\n"
    );
    let o = offsets(&["reset", "clisrc1"]);
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
    assert_eq!(
        stdout(&o),
        "clisrc1: The offsets for this connector have been reset successfully\n"
    );

    let seen = fake.seen();
    let lines: Vec<&str> = seen.iter().map(|s| s.line.as_str()).collect();
    assert_eq!(
        lines,
        [
            "GET /connectors/clisrc1/offsets",
            "GET /connectors",
            "GET /connectors/clibad1/offsets",
            "GET /connectors/clisink1/offsets",
            "GET /connectors/clisrc1/offsets",
            "PATCH /connectors/clisrc1/offsets",
            "DELETE /connectors/clisrc1/offsets",
        ]
    );
    let patch = &seen[5];
    assert_eq!(patch.headers["content-type"], "application/json");
    assert_eq!(
        serde_json::from_str::<Json>(&patch.body).unwrap(),
        json!({"offsets": [{"partition": {"filename": "/tmp/kconnect-client-capture/in.txt"},
                            "offset": {"position": 4}}]})
    );
    // `--offset null` removes the partition's offset, as Connect's PATCH does.
    let o = offsets(&[
        "set",
        "clisrc1",
        "--partition",
        r#"{"filename":"f"}"#,
        "--offset",
        "null",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
    let last = fake.seen().pop().unwrap();
    assert_eq!(
        serde_json::from_str::<Json>(&last.body).unwrap(),
        json!({"offsets": [{"partition": {"filename": "f"}, "offset": null}]})
    );
    assert!(
        !dir.path().join("offsets").exists(),
        "--url must not open (create) the local store"
    );
}

#[test]
fn an_offsets_edit_of_a_running_connector_says_how_to_stop_it() {
    let fake = Fake::start(&[(
        "PATCH /connectors/clisrc1/offsets",
        captured("offsets_patch_running"),
    )]);
    let dir = tempfile::tempdir().unwrap();
    let o = client(dir.path(), &fake.url, &[])
        .args(["offsets", "set", "clisrc1", "--url", &fake.url])
        .args([
            "--partition",
            r#"{"filename":"f"}"#,
            "--offset",
            r#"{"position":0}"#,
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", output_text(&o));
    let err = stderr(&o);
    assert!(
        err.contains("Connectors must be in the STOPPED state"),
        "{err}"
    );
    assert!(
        err.contains(&format!("kconnect stop clisrc1 --url {}", fake.url)),
        "{err}"
    );
    // Connector files and --force mean the local store; with --url they are a usage error.
    let o = client(dir.path(), &fake.url, &[])
        .args([
            "offsets",
            "set",
            "clisrc1",
            "connectors.d",
            "--url",
            &fake.url,
        ])
        .args(["--partition", "{}", "--offset", "null"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", output_text(&o));
    assert_eq!(fake.lines().len(), 1);
}

#[test]
fn names_are_percent_encoded_under_the_urls_own_path() {
    let (code, body) = captured("status_clisrc1");
    let fake = Fake::start(&[("GET /connect/connectors/my%20conn%2F1/status", (code, body))]);
    let dir = tempfile::tempdir().unwrap();
    let prefixed = format!("{}/connect/", fake.url);
    let o = client(dir.path(), &prefixed, &["status", "my conn/1"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
    // host:port alone is http://host:port, as curl takes it.
    let bare = fake.url.trim_start_matches("http://").to_string() + "/connect";
    let o = client(dir.path(), &bare, &["status", "my conn/1"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
}

#[test]
fn something_that_is_not_connect_is_said_so() {
    let fake = Fake::start(&[(
        "GET /connectors?expand=status",
        (200, "<html>It works!</html>".to_string()),
    )]);
    let o = run(&fake, &["status"]);
    assert_eq!(o.status.code(), Some(5), "{}", output_text(&o));
    assert!(
        stderr(&o).contains("is not Kafka Connect's JSON"),
        "{}",
        output_text(&o)
    );
}

#[test]
fn a_worker_that_ignores_expand_is_asked_connector_by_connector() {
    // Connect before 2.3 answers `?expand=status` with the plain list of names.
    let fake = Fake::start(&[
        ("GET /connectors?expand=status", captured("connectors")),
        ("GET /connectors/clisrc1/status", captured("status_clisrc1")),
        (
            "GET /connectors/clisink1/status",
            captured("status_clisrc1"),
        ),
        ("GET /connectors/clibad1/status", captured("restart_failed")),
    ]);
    let o = run(&fake, &["status"]);
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
    assert_eq!(
        fake.lines(),
        [
            "GET /connectors?expand=status",
            "GET /connectors/clibad1/status",
            "GET /connectors/clisink1/status",
            "GET /connectors/clisrc1/status",
        ]
    );
    let text = stdout(&o);
    assert!(
        text.starts_with("CONNECTOR  TYPE    STATE       WORKER\nclibad1    sink    RUNNING     127.0.0.1:18085\n  task 0           RESTARTING  127.0.0.1:18085\n"),
        "{text}"
    );
    let o = run(&fake, &["status", "--json"]);
    let json: Json = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["clibad1"]["status"]["tasks"][0]["state"], "RESTARTING");
    assert_eq!(json["clisrc1"]["status"]["type"], "source");
}
