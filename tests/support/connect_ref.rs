//! The real Kafka Connect 4.3.0 standalone worker (`shared/reference/connect/run`) with its
//! REST API on a free loopback port, for tests that move connectors between it and kconnect.
//! Tests skip (with a note on stderr) where it cannot run: no Java, or no reference checkout.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::rest::http::request;
use super::{eventually, free_port};

pub struct ConnectRef {
    child: Child,
    pub url: String,
    pub log: PathBuf,
}

/// The reference worker's start script: `KCONNECT_REFERENCE_RUN`, else the shared checkout.
fn run_script() -> Option<PathBuf> {
    let path = std::env::var("KCONNECT_REFERENCE_RUN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("/work/shared/reference/connect/run"));
    let java = Command::new("java")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    (path.is_file() && java).then_some(path)
}

impl ConnectRef {
    /// Starts a worker on `bootstrap` with `extra` worker lines, files in `dir`; `None` (the
    /// test skips) without Java or the reference.
    pub fn start(dir: &Path, bootstrap: &str, extra: &[&str]) -> Option<ConnectRef> {
        let Some(run) = run_script() else {
            eprintln!("skipped: the real Kafka Connect worker needs java and shared/reference/connect/run (KCONNECT_REFERENCE_RUN)");
            return None;
        };
        let port = free_port();
        let mut worker = format!(
            "bootstrap.servers={bootstrap}\noffset.storage.file.filename={}\noffset.flush.interval.ms=1000\nlisteners=http://127.0.0.1:{port}\nconsumer.session.timeout.ms=6000\nkey.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter=org.apache.kafka.connect.json.JsonConverter\n",
            dir.join("connect.offsets").display()
        );
        for line in extra {
            worker.push_str(line);
            worker.push('\n');
        }
        let props = dir.join("connect-worker.properties");
        std::fs::write(&props, worker).unwrap();
        let log = dir.join("connect.log");
        let child = Command::new(run)
            .arg(&props)
            .env("KCONNECT_REF_LOG_LEVEL", "WARN")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start the reference Connect worker");
        let mut w = ConnectRef {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        };
        let up = eventually(Duration::from_secs(90), || {
            if let Ok(Some(status)) = w.child.try_wait() {
                return Some(Err(status));
            }
            w.get("/connectors").filter(|(s, _)| *s == 200).map(Ok)
        });
        let up = up.and_then(|r| r.ok());
        assert!(
            up.is_some(),
            "the Connect worker did not come up:\n{}",
            w.log_text()
        );
        Some(w)
    }

    pub fn get(&self, path: &str) -> Option<(u16, serde_json::Value)> {
        let r = request(&self.url, "GET", path, None).ok()?;
        Some((r.status, serde_json::from_str(&r.body).unwrap_or_default()))
    }

    /// The connector's state and its number of tasks.
    pub fn state(&self, name: &str) -> Option<(String, usize)> {
        let (_, s) = self.get(&format!("/connectors/{name}/status"))?;
        Some((
            s.pointer("/connector/state")?.as_str()?.to_string(),
            s.get("tasks")?.as_array()?.len(),
        ))
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ConnectRef {
    fn drop(&mut self) {
        // SIGTERM: Connect stops gracefully; waited for a moment, then killed.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
