//! noida-db, one server that speaks both the Kafka protocol and Elasticsearch's REST API; the
//! tests start it for one of the two at a time.

use std::process::{Command, Stdio};
use std::time::Duration;

use super::{free_port, python_out, wait_for_port, Service};

/// noida-db's server binary itself: its `noida-db` launcher (a Python entry point) does not
/// pass a kill on, so stopping the launcher would leave the server running.
fn noida_bin() -> String {
    static BIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        python_out("import noida_db, os; p = os.path.join(os.path.dirname(noida_db.__file__), 'noida-db'); print(p if os.path.exists(p) else 'noida-db')")
    })
    .clone()
}

fn spawn(service: &str, port: u16, dir: &std::path::Path) -> std::process::Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("noida.log"))
        .unwrap();
    Command::new(noida_bin())
        .args([
            "start",
            "--only",
            service,
            &format!("--{service}-port"),
            &port.to_string(),
            "--data-dir",
        ])
        .arg(dir.join("data"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start noida-db (pip install noida-db)")
}

/// noida-db running one service (kafka or elasticsearch).
pub fn noida(service: &str) -> Service {
    for _ in 0..5 {
        if let Some(s) = noida_on(service, free_port()) {
            return s;
        }
    }
    panic!("noida-db {service} did not start");
}

/// noida-db on a given port (e.g. one a client was already told to use), if it starts.
pub fn noida_on(service: &str, port: u16) -> Option<Service> {
    let dir = tempfile::tempdir().unwrap();
    let child = spawn(service, port, dir.path());
    if wait_for_port(port, Duration::from_secs(20)) {
        return Some(Service { child, port, dir });
    }
    let mut c = child;
    let _ = c.kill();
    let _ = c.wait();
    None
}

/// Kills the server (an outage), then, after `down`, starts it again on the same port and
/// data, as a restarted broker would be.
pub fn restart(s: &mut Service, service: &str, down: Duration) {
    let _ = s.child.kill();
    let _ = s.child.wait();
    std::thread::sleep(down);
    s.child = spawn(service, s.port, s.dir.path());
    assert!(
        wait_for_port(s.port, Duration::from_secs(20)),
        "noida-db {service} did not restart"
    );
}

/// Stops the server with SIGTERM and waits for it to exit. noida-db writes its data out only
/// on a clean shutdown (a SIGKILL loses what it took since it started), and a request it
/// answers while shutting down may be acknowledged and still not kept: a caller that must not
/// lose data holds its clients still meanwhile.
pub fn stop_clean(s: &mut Service, service: &str) {
    // SAFETY: signalling our own child by its pid.
    unsafe { libc::kill(s.child.id() as i32, libc::SIGTERM) };
    let start = std::time::Instant::now();
    while s.child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(30) {
            panic!("noida-db {service} did not stop within 30 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts a server stopped by `stop_clean` again, on the same port and data.
pub fn start_again(s: &mut Service, service: &str) {
    s.child = spawn(service, s.port, s.dir.path());
    assert!(
        wait_for_port(s.port, Duration::from_secs(20)),
        "noida-db {service} did not restart"
    );
}

/// `stop_clean`, `down` later `start_again`.
pub fn restart_clean(s: &mut Service, service: &str, down: Duration) {
    stop_clean(s, service);
    std::thread::sleep(down);
    start_again(s, service);
}
