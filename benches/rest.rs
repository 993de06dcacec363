//! Measures what the REST layer itself costs: `GET /connectors?expand=status` with 50
//! connectors over one keep-alive connection, against a control plane that answers from
//! memory, so the figure is the server's (parsing, routing, JSON) and not a herder's. Prints
//! requests/s and the mean latency. Run with `scripts/bench-rest` (release mode).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Instant;

use kconnect::api::PluginKind;
use kconnect::config::{TargetState, WorkerConfig};
use kconnect::runtime::control::*;
use kconnect::runtime::rest::RestServer;

const CONNECTORS: usize = 50;
const REQUESTS: usize = 5_000;

/// 50 running connectors with one task each; everything else is refused.
struct Fifty {
    worker: WorkerConfig,
    names: Vec<String>,
}

fn no() -> ControlError {
    ControlError::BadRequest("not measured".into())
}

impl Control for Fifty {
    fn worker_id(&self) -> String {
        "127.0.0.1:8083".into()
    }
    fn worker_config(&self) -> &WorkerConfig {
        &self.worker
    }
    fn connectors(&self) -> Vec<String> {
        self.names.clone()
    }
    fn info(&self, _: &str) -> Result<ConnectorInfo, ControlError> {
        Err(no())
    }
    fn status(&self, name: &str) -> Result<ConnectorStatus, ControlError> {
        let running = StateInfo {
            state: State::Running,
            trace: None,
        };
        Ok(ConnectorStatus {
            name: name.into(),
            connector: running.clone(),
            tasks: vec![TaskStatus {
                id: 0,
                status: running,
            }],
            kind: PluginKind::Source,
            version: "4.3.0",
        })
    }
    fn create(
        &self,
        _: &str,
        _: BTreeMap<String, String>,
        _: TargetState,
    ) -> Result<ConnectorInfo, ControlError> {
        Err(no())
    }
    fn put_config(
        &self,
        _: &str,
        _: BTreeMap<String, String>,
    ) -> Result<(bool, ConnectorInfo), ControlError> {
        Err(no())
    }
    fn patch_config(
        &self,
        _: &str,
        _: BTreeMap<String, Option<String>>,
    ) -> Result<ConnectorInfo, ControlError> {
        Err(no())
    }
    fn delete(&self, _: &str) -> Result<(), ControlError> {
        Err(no())
    }
    fn set_target_state(&self, _: &str, _: TargetState) -> Result<(), ControlError> {
        Err(no())
    }
    fn restart(&self, _: &str, _: bool, _: bool) -> Result<ConnectorStatus, ControlError> {
        Err(no())
    }
    fn restart_task(&self, _: &str, _: usize) -> Result<(), ControlError> {
        Err(no())
    }
    fn topics(&self, _: &str) -> Result<Vec<String>, ControlError> {
        Err(no())
    }
    fn reset_topics(&self, _: &str) -> Result<(), ControlError> {
        Err(no())
    }
    fn offsets(&self, _: &str) -> Result<Vec<OffsetView>, ControlError> {
        Err(no())
    }
    fn alter_offsets(&self, _: &str, _: Vec<OffsetView>) -> Result<(), ControlError> {
        Err(no())
    }
    fn reset_offsets(&self, _: &str) -> Result<(), ControlError> {
        Err(no())
    }
    fn prometheus(&self) -> String {
        String::new()
    }
}

/// One keep-alive request and its body's length.
fn get(conn: &mut BufReader<TcpStream>, path: &str) -> usize {
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    conn.get_mut().write_all(req.as_bytes()).unwrap();
    let mut length = 0;
    let mut line = String::new();
    loop {
        line.clear();
        conn.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    conn.read_exact(&mut body).unwrap();
    length
}

fn main() {
    let mut worker = WorkerConfig {
        values: BTreeMap::new(),
        source: None,
        providers: Default::default(),
        offsets_dir: "offsets".into(),
    };
    worker
        .values
        .insert("listeners".into(), "http://127.0.0.1:0".into());
    let control = Arc::new(Fifty {
        worker: worker.clone(),
        names: (0..CONNECTORS)
            .map(|i| format!("connector-{i:02}"))
            .collect(),
    });
    let server = RestServer::start(&worker, control).unwrap().unwrap();
    server.open();
    let port = server.listeners()[0].port;
    let mut conn = BufReader::new(TcpStream::connect(("127.0.0.1", port)).unwrap());
    let path = "/connectors?expand=status";
    let size = get(&mut conn, path);
    let started = Instant::now();
    for _ in 0..REQUESTS {
        get(&mut conn, path);
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "GET {path}, {CONNECTORS} connectors, {size} bytes: {:.0} requests/s, {:.0} µs each (one keep-alive connection)",
        REQUESTS as f64 / secs,
        secs * 1e6 / REQUESTS as f64
    );
    server.stop();
}
