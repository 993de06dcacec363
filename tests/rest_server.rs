//! The REST server over real sockets: HTTP and HTTPS listeners, basic authentication as
//! Connect's extension configures it, a port in use, stopping; the routes' answers themselves
//! are unit-tested in `runtime::rest`.

#[path = "support/certs.rs"]
#[allow(dead_code)]
mod certs;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kconnect::api::PluginKind;
use kconnect::config::{TargetState, WorkerConfig};
use kconnect::runtime::control::*;
use kconnect::runtime::rest::{RestError, RestServer};

const PASSWORD: &str = "pa55-w0rd-never-shown";
const REFERENCE: &str = "${file:/etc/kconnect/secrets.properties:db.password}";

/// One connector whose config holds a config provider reference, as a herder keeps it.
struct OneConnector {
    worker: WorkerConfig,
}

impl OneConnector {
    fn connector(&self) -> ConnectorInfo {
        ConnectorInfo {
            name: "orders sink".into(),
            config: [
                ("connector.class", "FileStreamSink"),
                ("connection.password", REFERENCE),
                ("topics", "orders"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            tasks: vec![0],
            kind: PluginKind::Sink,
        }
    }
}

fn refused() -> ControlError {
    ControlError::BadRequest("not in this test".into())
}

impl Control for OneConnector {
    fn worker_id(&self) -> String {
        "127.0.0.1:0".into()
    }
    fn worker_config(&self) -> &WorkerConfig {
        &self.worker
    }
    fn connectors(&self) -> Vec<String> {
        vec!["orders sink".into()]
    }
    fn info(&self, name: &str) -> Result<ConnectorInfo, ControlError> {
        (name == "orders sink")
            .then(|| self.connector())
            .ok_or_else(|| ControlError::connector_not_found(name))
    }
    fn status(&self, name: &str) -> Result<ConnectorStatus, ControlError> {
        self.info(name).map(|i| ConnectorStatus {
            name: i.name,
            connector: StateInfo {
                state: State::Running,
                trace: None,
            },
            tasks: vec![],
            kind: i.kind,
            version: kconnect::connectors::find(
                i.config.get("connector.class").map_or("", |c| c.as_str()),
            )
            .map_or("", |p| p.desc.version()),
        })
    }
    fn create(
        &self,
        name: &str,
        config: BTreeMap<String, String>,
        _: TargetState,
    ) -> Result<ConnectorInfo, ControlError> {
        Ok(ConnectorInfo {
            name: name.into(),
            config,
            tasks: vec![],
            kind: PluginKind::Sink,
        })
    }
    fn put_config(
        &self,
        _: &str,
        _: BTreeMap<String, String>,
    ) -> Result<(bool, ConnectorInfo), ControlError> {
        Err(refused())
    }
    fn patch_config(
        &self,
        _: &str,
        _: BTreeMap<String, Option<String>>,
    ) -> Result<ConnectorInfo, ControlError> {
        Err(refused())
    }
    fn delete(&self, _: &str) -> Result<(), ControlError> {
        Err(refused())
    }
    fn set_target_state(&self, _: &str, _: TargetState) -> Result<(), ControlError> {
        Err(refused())
    }
    fn restart(&self, _: &str, _: bool, _: bool) -> Result<ConnectorStatus, ControlError> {
        Err(refused())
    }
    fn restart_task(&self, _: &str, _: usize) -> Result<(), ControlError> {
        Err(refused())
    }
    fn topics(&self, _: &str) -> Result<Vec<String>, ControlError> {
        Err(refused())
    }
    fn reset_topics(&self, _: &str) -> Result<(), ControlError> {
        Err(refused())
    }
    fn offsets(&self, _: &str) -> Result<Vec<OffsetView>, ControlError> {
        Err(refused())
    }
    fn alter_offsets(&self, _: &str, _: Vec<OffsetView>) -> Result<(), ControlError> {
        Err(refused())
    }
    fn reset_offsets(&self, _: &str) -> Result<(), ControlError> {
        Err(refused())
    }
    fn prometheus(&self) -> String {
        "kafka_connect_worker_connector_count 1\n".into()
    }
}

fn worker(pairs: &[(&str, &str)]) -> WorkerConfig {
    WorkerConfig {
        values: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        source: None,
        providers: Default::default(),
        offsets_dir: "offsets".into(),
    }
}

fn start(pairs: &[(&str, &str)]) -> Result<Option<RestServer>, RestError> {
    let w = worker(pairs);
    let server = RestServer::start(&w.clone(), Arc::new(OneConnector { worker: w }))?;
    if let Some(s) = &server {
        s.open();
    }
    Ok(server)
}

struct Answer {
    status: u16,
    headers: String,
    body: String,
}

fn exchange(
    stream: &mut dyn ReadWrite,
    method: &str,
    path: &str,
    extra: &str,
    body: &str,
) -> Answer {
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    Answer {
        status: head[9..12].parse().unwrap(),
        headers: head.to_ascii_lowercase(),
        body: body.to_string(),
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

fn http(port: u16, method: &str, path: &str, extra: &str, body: &str) -> Answer {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    exchange(&mut s, method, path, extra, body)
}

fn port_of(s: &RestServer) -> u16 {
    s.listeners()[0].port
}

#[test]
fn http_listener_answers_connect_api() {
    let server = start(&[("listeners", "http://127.0.0.1:0")])
        .unwrap()
        .unwrap();
    let port = port_of(&server);
    assert_eq!(
        server.advertised().url(),
        format!("http://127.0.0.1:{port}")
    );
    let a = http(port, "GET", "/connectors?expand=info", "", "");
    assert_eq!(a.status, 200);
    assert!(a.headers.contains("content-type: application/json"));
    let body: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    // A config comes back exactly as the control plane keeps it: the reference, not the secret.
    assert_eq!(
        body["orders sink"]["info"]["config"]["connection.password"],
        REFERENCE
    );
    let a = http(port, "GET", "/connectors/orders%20sink/config", "", "");
    assert_eq!(a.status, 200);
    assert!(a.body.contains(REFERENCE));
    let a = http(
        port,
        "POST",
        "/connectors",
        "",
        r#"{"name":"new one","config":{"connector.class":"FileStreamSink","topics":"t"}}"#,
    );
    assert_eq!(a.status, 201);
    // As JAX-RS builds it: from the address the client used (its Host header).
    assert!(
        a.headers
            .contains("location: http://localhost/connectors/new%20one"),
        "{}",
        a.headers
    );
    let a = http(port, "GET", "/metrics", "", "");
    assert!(a
        .headers
        .contains("content-type: text/plain; version=0.0.4"));
    assert_eq!(a.body, "kafka_connect_worker_connector_count 1\n");
    let a = http(port, "GET", "/no/such/path", "", "");
    assert_eq!(
        (a.status, a.body.as_str()),
        (404, r#"{"error_code":404,"message":"HTTP 404 Not Found"}"#)
    );
    let a = http(port, "POST", "/connectors", "", "{not json");
    assert_eq!(a.status, 400);
    let started = Instant::now();
    server.stop();
    assert!(started.elapsed() < Duration::from_secs(2), "stop is prompt");
    while TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "the port stays open"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn too_large_body_is_413() {
    let server = start(&[("listeners", "http://127.0.0.1:0")])
        .unwrap()
        .unwrap();
    let extra = format!("Content-Length: {}\r\n", 17 * 1024 * 1024);
    let mut s = TcpStream::connect(("127.0.0.1", port_of(&server))).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let req = format!("POST /connectors HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n{{");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    assert!(raw.starts_with("HTTP/1.1 413"), "{raw}");
}

#[test]
fn empty_listeners_is_no_server_and_bad_keys_are_refused() {
    assert!(start(&[("listeners", "")]).unwrap().is_none());
    let e = start(&[("listeners", "ftp://127.0.0.1:0")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("ftp://127.0.0.1:0") && e.contains("http://"),
        "{e}"
    );
    let e = start(&[
        ("listeners", "http://127.0.0.1:0"),
        ("rest.extension.classes", "com.example.MyExtension"),
    ])
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("com.example.MyExtension") && e.contains("rest.extension.classes"),
        "{e}"
    );
}

#[test]
fn port_in_use_names_the_listener() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let spec = format!("http://127.0.0.1:{port}");
    let e = start(&[("listeners", &spec)]).unwrap_err();
    assert!(matches!(e, RestError::PortInUse { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains(&spec) && msg.contains("already in use"),
        "{msg}"
    );
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Authorization: Basic {b64}\r\n")
}

fn jaas(dir: &Path, users: &str) -> String {
    let users_file = dir.join("users.properties");
    std::fs::write(&users_file, users).unwrap();
    let jaas = dir.join("connect_jaas.conf");
    std::fs::write(
        &jaas,
        format!(
            "KafkaConnect {{\n  org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required\n  file=\"{}\";\n}};\n",
            users_file.display()
        ),
    )
    .unwrap();
    jaas.display().to_string()
}

const BASIC_AUTH: &str =
    "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension";

#[test]
fn basic_auth_as_connects_extension() {
    let dir = tempfile::tempdir().unwrap();
    let jaas = jaas(dir.path(), &format!("# REST users\nadmin: {PASSWORD}\n"));
    let server = start(&[
        ("listeners", "http://127.0.0.1:0"),
        ("rest.extension.classes", BASIC_AUTH),
        ("kconnect.rest.jaas.config", &jaas),
    ])
    .unwrap()
    .unwrap();
    let port = port_of(&server);
    for extra in [
        String::new(),
        basic("admin", "wrong"),
        basic("root", PASSWORD),
        "Authorization: Bearer x\r\n".into(),
    ] {
        let a = http(port, "GET", "/connectors", &extra, "");
        assert_eq!(a.status, 401, "{extra}");
        assert_eq!(a.body, "User cannot access the resource.");
        assert!(a.headers.contains("www-authenticate: basic"));
        assert!(!a.body.contains(PASSWORD) && !a.headers.contains(PASSWORD));
    }
    let a = http(port, "GET", "/connectors", &basic("admin", PASSWORD), "");
    assert_eq!((a.status, a.body.as_str()), (200, r#"["orders sink"]"#));
    assert!(!a.body.contains(PASSWORD));
}

#[test]
fn basic_auth_setup_errors_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let e = start(&[
        ("listeners", "http://127.0.0.1:0"),
        ("rest.extension.classes", BASIC_AUTH),
    ])
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("kconnect.rest.jaas.config") && e.contains("KAFKA_OPTS"),
        "{e}"
    );
    let empty = jaas(dir.path(), "# nobody\n");
    let e = start(&[
        ("listeners", "http://127.0.0.1:0"),
        ("rest.extension.classes", BASIC_AUTH),
        ("kconnect.rest.jaas.config", &empty),
    ])
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("users.properties") && e.contains("no users"),
        "{e}"
    );
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn https(port: u16, ca: &Path, path: &str) -> Answer {
    use openssl::ssl::{SslConnector, SslMethod};
    let mut b = SslConnector::builder(SslMethod::tls()).unwrap();
    b.set_ca_file(ca).unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut tls = b.build().connect("localhost", tcp).unwrap();
    exchange(&mut tls, "GET", path, "", "")
}

#[test]
fn https_with_pem_and_pkcs12_keystores() {
    let dir = tempfile::tempdir().unwrap();
    let ca = certs::make_ca(dir.path(), "ca");
    let (crt, key) = certs::make_server_cert(dir.path(), &ca, "server");
    let (chain, key_pem) = (
        std::fs::read_to_string(&crt).unwrap(),
        std::fs::read_to_string(&key).unwrap(),
    );
    // PEM inline, under Connect's listener prefix.
    let server = start(&[
        ("listeners", "https://127.0.0.1:0"),
        ("listeners.https.ssl.keystore.type", "PEM"),
        ("listeners.https.ssl.keystore.certificate.chain", &chain),
        ("listeners.https.ssl.keystore.key", &key_pem),
    ])
    .unwrap()
    .unwrap();
    assert_eq!(
        server.advertised().url(),
        format!("https://127.0.0.1:{}", port_of(&server))
    );
    let a = https(port_of(&server), &ca.0, "/connectors");
    assert_eq!((a.status, a.body.as_str()), (200, r#"["orders sink"]"#));
    server.stop();
    // PKCS12 file through the worker's plain ssl.* keys (Connect's fallback).
    let p12 = dir.path().join("server.p12");
    openssl(
        dir.path(),
        &[
            "pkcs12",
            "-export",
            "-in",
            crt.to_str().unwrap(),
            "-inkey",
            key.to_str().unwrap(),
            "-out",
            p12.to_str().unwrap(),
            "-passout",
            &format!("pass:{PASSWORD}"),
        ],
    );
    let server = start(&[
        ("listeners", "https://127.0.0.1:0"),
        ("ssl.keystore.type", "PKCS12"),
        ("ssl.keystore.location", p12.to_str().unwrap()),
        ("ssl.keystore.password", PASSWORD),
    ])
    .unwrap()
    .unwrap();
    let a = https(port_of(&server), &ca.0, "/health");
    assert_eq!(a.status, 200);
    server.stop();
    // A PEM file with the certificate and an encrypted key, at ssl.keystore.location.
    let enc = dir.path().join("server-enc.key");
    openssl(
        dir.path(),
        &[
            "pkcs8",
            "-topk8",
            "-in",
            key.to_str().unwrap(),
            "-out",
            enc.to_str().unwrap(),
            "-v2",
            "aes-256-cbc",
            "-passout",
            &format!("pass:{PASSWORD}"),
        ],
    );
    let pem_file = dir.path().join("server.pem");
    std::fs::write(
        &pem_file,
        format!("{chain}{}", std::fs::read_to_string(&enc).unwrap()),
    )
    .unwrap();
    let pem_keys = |password: &str| {
        start(&[
            ("listeners", "https://127.0.0.1:0"),
            ("listeners.https.ssl.keystore.type", "PEM"),
            (
                "listeners.https.ssl.keystore.location",
                pem_file.to_str().unwrap(),
            ),
            ("listeners.https.ssl.key.password", password),
        ])
    };
    let server = pem_keys(PASSWORD).unwrap().unwrap();
    assert_eq!(https(port_of(&server), &ca.0, "/").status, 200);
    server.stop();
    let e = pem_keys("n0t-the-pa55").unwrap_err().to_string();
    assert!(
        e.contains("ssl.key.password") && !e.contains("n0t-the-pa55"),
        "{e}"
    );
    // A wrong password and a JKS keystore: errors that name the key and never the secret.
    let e = start(&[
        ("listeners", "https://127.0.0.1:0"),
        ("ssl.keystore.type", "PKCS12"),
        ("ssl.keystore.location", p12.to_str().unwrap()),
        ("ssl.keystore.password", "not-it"),
    ])
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("ssl.keystore.location") && e.contains("password") && !e.contains("not-it"),
        "{e}"
    );
    let e = start(&[
        ("listeners", "https://127.0.0.1:0"),
        ("listeners.https.ssl.keystore.location", "/etc/connect.jks"),
        ("listeners.https.ssl.keystore.password", PASSWORD),
    ])
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("listeners.https.ssl.keystore.type")
            && e.contains("keytool")
            && !e.contains(PASSWORD),
        "{e}"
    );
    let e = start(&[
        ("listeners", "https://127.0.0.1:0"),
        ("listeners.https.ssl.keystore.type", "PEM"),
        ("listeners.https.ssl.keystore.certificate.chain", &chain),
        ("listeners.https.ssl.keystore.key", &key_pem),
        ("listeners.https.ssl.client.auth", "required"),
    ])
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("ssl.client.auth") && !e.contains("PRIVATE KEY"),
        "{e}"
    );
}

/// Reads one keep-alive answer (with `Content-Length`): its length.
fn read_answer(conn: &mut std::io::BufReader<TcpStream>) -> usize {
    use std::io::BufRead;
    let mut length = None;
    let mut line = String::new();
    loop {
        line.clear();
        conn.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = Some(v.trim().parse().unwrap());
        }
    }
    let length = length.expect("a Content-Length");
    let mut body = vec![0; length];
    conn.read_exact(&mut body).unwrap();
    length
}

#[test]
fn keep_alive_answers_do_not_stall() {
    let server = start(&[("listeners", "http://127.0.0.1:0")])
        .unwrap()
        .unwrap();
    let mut conn =
        std::io::BufReader::new(TcpStream::connect(("127.0.0.1", port_of(&server))).unwrap());
    // Larger than one segment, so the body goes out apart from the headers.
    let path = "/connector-plugins/io.confluent.connect.jdbc.JdbcSinkConnector/config";
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    conn.get_mut().write_all(req.as_bytes()).unwrap();
    let n = read_answer(&mut conn);
    assert!(n > 8192, "{n} bytes");
    let started = Instant::now();
    for _ in 0..50 {
        conn.get_mut().write_all(req.as_bytes()).unwrap();
        read_answer(&mut conn);
    }
    // With Nagle's algorithm and the client's delayed ACK each answer waits 40 ms: 2 s.
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "50 keep-alive requests took {:?}",
        started.elapsed()
    );
}

/// Clients that connect and then send nothing, half a request head, or a body that never
/// comes, and a TLS client that never finishes its handshake: none holds up anyone else.
#[test]
fn stalled_clients_hold_nothing_up() {
    let dir = tempfile::tempdir().unwrap();
    let ca = certs::make_ca(dir.path(), "ca");
    let (crt, key) = certs::make_server_cert(dir.path(), &ca, "server");
    let (chain, key_pem) = (
        std::fs::read_to_string(&crt).unwrap(),
        std::fs::read_to_string(&key).unwrap(),
    );
    let http_server = start(&[("listeners", "http://127.0.0.1:0")])
        .unwrap()
        .unwrap();
    let port = port_of(&http_server);
    let mut stalled = Vec::new();
    for i in 0..8 {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        match i % 3 {
            0 => {}
            1 => s.write_all(b"GET /connectors HTTP/1.1\r\nHo").unwrap(),
            _ => s
                .write_all(b"POST /connectors HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
                .unwrap(),
        }
        stalled.push(s);
    }
    let started = Instant::now();
    for _ in 0..20 {
        let a = http(port, "GET", "/connectors", "", "");
        assert_eq!(a.status, 200);
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // A stop does not wait for them either (beyond its grace for requests in hand).
    let started = Instant::now();
    http_server.stop();
    assert!(
        started.elapsed() < Duration::from_secs(7),
        "{:?}",
        started.elapsed()
    );

    let https_server = start(&[
        ("listeners", "https://127.0.0.1:0"),
        ("listeners.https.ssl.keystore.type", "PEM"),
        ("listeners.https.ssl.keystore.certificate.chain", &chain),
        ("listeners.https.ssl.keystore.key", &key_pem),
    ])
    .unwrap()
    .unwrap();
    let port = port_of(&https_server);
    let silent: Vec<TcpStream> = (0..4)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    let started = Instant::now();
    let a = https(port, &ca.0, "/connectors");
    assert_eq!((a.status, a.body.as_str()), (200, r#"["orders sink"]"#));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    drop(silent);
    drop(stalled);
}
