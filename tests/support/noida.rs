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

/// noida-db running one service (kafka or elasticsearch).
pub fn noida(service: &str) -> Service {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..5 {
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("noida.log")).unwrap();
        let child = Command::new(noida_bin())
            .args([
                "start",
                "--only",
                service,
                &format!("--{service}-port"),
                &port.to_string(),
                "--data-dir",
            ])
            .arg(dir.path().join("data"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start noida-db (pip install noida-db)");
        if wait_for_port(port, Duration::from_secs(20)) {
            return Service { child, port, dir };
        }
        let mut c = child;
        let _ = c.kill();
        let _ = c.wait();
    }
    panic!("noida-db {service} did not start");
}
