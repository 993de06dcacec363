//! `kconnect status|pause|resume|stop|restart` and `kconnect offsets ... --url` against a fake
//! Kafka Connect worker: a tiny HTTP server in the test that records each request and answers
//! with the real Kafka Connect 4.3.0 worker's bodies and statuses
//! (tests/fixtures/client/capture made them). Each test checks the request the command sent
//! (method, path, query, body, auth header), what it printed and its exit status.

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value as Json};

use support::{kconnect, output_text};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/client");

/// One captured answer: its status and body, as the real worker sent them.
fn captured(name: &str) -> (u16, String) {
    let codes = std::fs::read_to_string(format!("{FIXTURES}/codes.txt")).unwrap();
    let status = codes
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} not in codes.txt"))
        .parse()
        .unwrap();
    let body = std::fs::read_to_string(format!("{FIXTURES}/{name}.json")).unwrap();
    (status, body)
}

/// A request as the fake worker saw it.
#[derive(Clone, Debug)]
struct Seen {
    /// `METHOD /path?query`, exactly as sent.
    line: String,
    headers: HashMap<String, String>,
    body: String,
}

/// The fake worker: answers `METHOD /path?query` with a canned status and body, anything else
/// with Connect's 404, and records every request.
struct Fake {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    fn start(routes: &[(&str, (u16, String))]) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let routes: HashMap<String, (u16, String)> = routes
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                if let Some(req) = serve(stream, &routes) {
                    log.lock().unwrap().push(req);
                }
            }
        });
        Fake { url, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The request lines, in order.
    fn lines(&self) -> Vec<String> {
        self.seen().into_iter().map(|s| s.line).collect()
    }
}

/// Reads one request, answers it and closes the connection.
fn serve(stream: TcpStream, routes: &HashMap<String, (u16, String)>) -> Option<Seen> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut first = String::new();
    reader.read_line(&mut first).ok()?;
    let mut parts = first.split_whitespace();
    let line = format!("{} {}", parts.next()?, parts.next()?);
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    let (status, answer) = routes.get(&line).cloned().unwrap_or_else(|| {
        (
            404,
            format!(r#"{{"error_code":404,"message":"fake worker: no route for {line}"}}"#),
        )
    });
    let mut out = stream;
    let content_type = if answer.is_empty() {
        String::new()
    } else if answer.starts_with(['{', '[']) {
        "Content-Type: application/json\r\n".into()
    } else {
        "Content-Type: text/plain\r\n".into()
    };
    let _ = write!(
        out,
        "HTTP/1.1 {status} X\r\n{content_type}Content-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    );
    let _ = out.flush();
    Some(Seen {
        line,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// `kconnect ARGS` against `url`, with no credentials or proxies from the environment.
fn client(dir: &Path, url: &str, args: &[&str]) -> Command {
    let mut c = kconnect(dir);
    c.args(args).env("KCONNECT_URL", url);
    for v in [
        "KCONNECT_USER",
        "KCONNECT_PASSWORD",
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        c.env_remove(v);
    }
    c
}

fn run(fake: &Fake, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    client(dir.path(), &fake.url, args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

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
fn basic_auth_from_the_environment_or_a_file_and_never_printed() {
    let (code, body) = captured("status_clisrc1");
    let fake = Fake::start(&[("GET /connectors/clisrc1/status", (code, body))]);
    let dir = tempfile::tempdir().unwrap();
    let o = client(
        dir.path(),
        &fake.url,
        &["status", "clisrc1", "--user", "alice"],
    )
    .env("KCONNECT_PASSWORD", "s3cret:pw")
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
    let file = support::write(dir.path(), "pw", "fr0m-file\n");
    let o = client(
        dir.path(),
        &fake.url,
        &["status", "clisrc1", "--user", "bob"],
    )
    .arg("--password-file")
    .arg(&file)
    .env("KCONNECT_PASSWORD", "not-this-one")
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
    let auth: Vec<String> = fake
        .seen()
        .iter()
        .map(|s| s.headers["authorization"].clone())
        .collect();
    // base64("alice:s3cret:pw"), base64("bob:fr0m-file")
    assert_eq!(
        auth,
        ["Basic YWxpY2U6czNjcmV0OnB3", "Basic Ym9iOmZyMG0tZmlsZQ=="]
    );

    // --user with no password anywhere is a usage error, before any request.
    let o = client(dir.path(), &fake.url, &["status", "--user", "carol"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", output_text(&o));
    assert!(
        stderr(&o).contains("KCONNECT_PASSWORD"),
        "{}",
        output_text(&o)
    );
    assert_eq!(fake.seen().len(), 2);
}

#[test]
fn a_wrong_password_is_refused_with_a_message_that_names_the_user_not_the_password() {
    // What Connect's BasicAuthSecurityRestExtension answers a bad login.
    let refused = (401, "User cannot access the resource.".to_string());
    let fake = Fake::start(&[("GET /connectors?expand=status", refused)]);
    let dir = tempfile::tempdir().unwrap();
    let o = client(dir.path(), &fake.url, &["status", "--user", "alice"])
        .env("KCONNECT_PASSWORD", "wrong-pw")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", output_text(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "the worker at {} refused the credentials of user alice (HTTP 401: User cannot access the resource.)",
            fake.url
        )),
        "{err}"
    );
    assert!(!output_text(&o).contains("wrong-pw"));
    // Without --user: the worker wants credentials, and the message says how to give them.
    let o = client(dir.path(), &fake.url, &["status"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", output_text(&o));
    assert!(
        stderr(&o).contains("wants credentials"),
        "{}",
        output_text(&o)
    );
    assert!(stderr(&o).contains("--user USER"), "{}", output_text(&o));
}

#[test]
fn no_worker_listening_names_the_url_and_how_to_start_one() {
    let port = support::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["status"][..],
        &["pause", "c"],
        &["offsets", "list", "--url", url.as_str()],
    ] {
        let o = client(dir.path(), &url, args).output().unwrap();
        assert_eq!(o.status.code(), Some(5), "{args:?}: {}", output_text(&o));
        let err = stderr(&o);
        assert!(
            err.starts_with(&format!(
                "error: no worker listens at {url} (connection refused)"
            )),
            "{err}"
        );
        assert!(err.contains("kconnect run"), "{err}");
    }
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
