//! A long-running `kconnect run` (no `--once`) driven as an operator drives one: through its REST
//! API and with signals, for the control-plane tests (tests/worker_control*.rs). Every start
//! writes the worker file with a fresh listener port, so a restart never races the previous
//! process for its port; the connectors directory and the offsets store stay.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use super::rest::http;
use super::{eventually, free_port, kconnect, write};

/// One kconnect process over `root`: `root/connectors.d` is its connectors directory,
/// `root/offsets` its store, `root/kconnect-N.log` what start N printed.
pub struct Worker {
    pub child: Child,
    pub base: String,
    pub root: PathBuf,
    pub log: PathBuf,
}

/// Converters that keep a line a line on the topic, so tests compare text.
const STRING_CONVERTERS: &str = "key.converter=org.apache.kafka.connect.storage.StringConverter\n\
value.converter=org.apache.kafka.connect.storage.StringConverter\n";

pub fn connectors_dir(root: &Path) -> PathBuf {
    root.join("connectors.d")
}

/// Starts kconnect with `env` added to its environment and waits until its REST API answers.
pub fn start(root: &Path, broker: &str, env: &[(&str, &str)]) -> Worker {
    start_with(root, broker, env, &[])
}

/// As `start`, with environment variables removed too (`NOTIFY_SOCKET`, `WATCHDOG_PID`, ...
/// when the test runner itself runs under systemd).
pub fn start_with(root: &Path, broker: &str, env: &[(&str, &str)], unset: &[&str]) -> Worker {
    launch(root, broker, env, unset, 300)
}

/// As `start`, committing source offsets every `flush_ms` (offset.flush.interval.ms).
pub fn start_flushing(root: &Path, broker: &str, flush_ms: u64) -> Worker {
    launch(root, broker, &[], &[], flush_ms)
}

fn launch(
    root: &Path,
    broker: &str,
    env: &[(&str, &str)],
    unset: &[&str],
    flush_ms: u64,
) -> Worker {
    std::fs::create_dir_all(connectors_dir(root)).unwrap();
    let port = free_port();
    let worker = write(
        root,
        "worker.properties",
        &format!(
            "bootstrap.servers={broker}\nlisteners=http://127.0.0.1:{port}\n\
             offset.flush.interval.ms={flush_ms}\n{STRING_CONVERTERS}"
        ),
    );
    let n = (1..).find(|n| !root.join(format!("kconnect-{n}.log")).exists());
    let log = root.join(format!("kconnect-{}.log", n.unwrap()));
    let out = std::fs::File::create(&log).unwrap();
    let mut cmd = kconnect(root);
    super::with_rest_api(&mut cmd);
    cmd.args(["run", "--worker"])
        .arg(&worker)
        .arg("--offsets")
        .arg(root.join("offsets"))
        .arg(connectors_dir(root))
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(out));
    for var in unset {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("start kconnect");
    let mut w = Worker {
        child,
        base: format!("http://127.0.0.1:{port}"),
        root: root.to_path_buf(),
        log,
    };
    let up = eventually(Duration::from_secs(30), || {
        if http::request(&w.base, "GET", "/", None).is_ok() {
            return Some(true);
        }
        w.child.try_wait().ok().flatten().map(|_| false)
    });
    assert_eq!(
        up,
        Some(true),
        "kconnect did not serve its REST API at {} within 30 s; its log:\n{}",
        w.base,
        w.log_tail()
    );
    w
}

impl Worker {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The last lines kconnect printed, for failure messages.
    pub fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut text);
        }
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }

    /// One request; the status and the body as JSON (`Null` when empty, a string when not JSON).
    pub fn call(&self, method: &str, path: &str, body: Option<&Json>) -> (u16, Json) {
        let text = body.map(|b| b.to_string());
        let r = http::request(&self.base, method, path, text.as_deref())
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\nlog:\n{}", self.log_tail()));
        let json = if r.body.is_empty() {
            Json::Null
        } else {
            serde_json::from_str(&r.body).unwrap_or(Json::String(r.body))
        };
        (r.status, json)
    }

    /// `call`, asserting the status.
    pub fn expect(&self, method: &str, path: &str, body: Option<&Json>, status: u16) -> Json {
        let (got, json) = self.call(method, path, body);
        assert_eq!(
            got,
            status,
            "{method} {path} answered {json}\nlog:\n{}",
            self.log_tail()
        );
        json
    }

    /// `GET /connectors/{name}/status`, or `None` while it answers anything but 200.
    pub fn status(&self, name: &str) -> Option<Json> {
        match self.call("GET", &format!("/connectors/{name}/status"), None) {
            (200, s) => Some(s),
            _ => None,
        }
    }

    /// Waits until `ok` holds for the connector's status; panics with the last status seen.
    pub fn wait_status(&self, name: &str, what: &str, ok: impl Fn(&Json) -> bool) -> Json {
        let mut last = Json::Null;
        eventually(Duration::from_secs(30), || {
            last = self.status(name).unwrap_or(Json::Null);
            ok(&last).then(|| last.clone())
        })
        .unwrap_or_else(|| {
            panic!(
                "connector {name}: {what} not seen within 30 s; last status {last}\nlog:\n{}",
                self.log_tail()
            )
        })
    }

    /// Waits for the connector and its task 0 to be in `state`.
    /// Waits until `GET /connectors` lists exactly `names` (in any order).
    pub fn wait_connectors(&self, names: &[&str]) {
        let mut want: Vec<&str> = names.to_vec();
        want.sort();
        let mut last = Json::Null;
        eventually(Duration::from_secs(30), || {
            last = self.call("GET", "/connectors", None).1;
            let mut got: Vec<&str> = last.as_array()?.iter().filter_map(|n| n.as_str()).collect();
            got.sort();
            (got == want).then_some(())
        })
        .unwrap_or_else(|| {
            panic!(
                "GET /connectors: {want:?} expected within 30 s, last {last}\nlog:\n{}",
                self.log_tail()
            )
        });
    }

    /// Creates a FileStream source through the API and waits until it runs.
    pub fn run_source(&self, name: &str, input: &Path, topic: &str) {
        self.expect(
            "POST",
            "/connectors",
            Some(&serde_json::json!({"name": name, "config": source_config(input, topic)})),
            201,
        );
        self.wait_state(name, "RUNNING");
    }

    pub fn wait_state(&self, name: &str, state: &str) -> Json {
        self.wait_status(name, &format!("connector and task 0 {state}"), |s| {
            s["connector"]["state"] == state && s["tasks"][0]["state"] == state
        })
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on the pid of a child this test started and has not reaped.
        let r = unsafe { libc::kill(self.pid(), sig) };
        assert_eq!(r, 0, "kill({}, {sig})", self.pid());
    }

    /// SIGTERM, then waits (at most 30 s) for the process to end.
    pub fn terminate(mut self) -> ExitStatus {
        self.signal(libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "kconnect did not stop within 30 s of SIGTERM; log:\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: no graceful stop, no commit; the process is reaped.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A FileStreamSource connector's config, as a REST body's `config`.
pub fn source_config(input: &Path, topic: &str) -> Json {
    serde_json::json!({
        "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
        "file": input.display().to_string(),
        "topic": topic,
        "tasks.max": "1",
        // One partition, so the topic's order is the file's.
        "topic.creation.default.partitions": "1",
        "topic.creation.default.replication.factor": "1",
    })
}

/// A FileStreamSink connector's config.
pub fn sink_config(output: &Path, topics: &str) -> Json {
    serde_json::json!({
        "connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
        "file": output.display().to_string(),
        "topics": topics,
    })
}

/// Writes a connector file `dir/<name>.json` in Connect's REST body form.
pub fn write_connector(dir: &Path, name: &str, config: &Json) -> PathBuf {
    let body = serde_json::json!({"name": name, "config": config});
    write(
        dir,
        &format!("{name}.json"),
        &serde_json::to_string_pretty(&body).unwrap(),
    )
}

/// Appends text to a file.
pub fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// The values of a topic's records, as text.
pub fn values(bootstrap: &str, topic: &str) -> Vec<String> {
    super::kafka::consume_all(bootstrap, topic)
        .iter()
        .map(|m| m.value_str().unwrap_or_default())
        .collect()
}

/// Waits until the topic holds at least `n` records; returns their values.
pub fn wait_records(bootstrap: &str, topic: &str, n: usize) -> Vec<String> {
    let mut last = Vec::new();
    eventually(Duration::from_secs(30), || {
        last = values(bootstrap, topic);
        (last.len() >= n).then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "{topic}: {n} records expected within 30 s, {} seen: {last:?}",
            last.len()
        )
    });
    last
}
