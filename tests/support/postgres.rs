//! A throwaway PostgreSQL cluster per test, with logical decoding on, optionally behind TLS,
//! client-certificate or password logins.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::certs::{make_ca, make_server_cert};
use super::{free_port, wait_for_port, Service};

/// A throwaway PostgreSQL cluster with logical decoding enabled.
pub struct Postgres {
    pub service: Service,
    pub socket_dir: PathBuf,
    pub(super) bin: PathBuf,
    /// The CA that signed the server's certificate, when started with TLS.
    pub tls_ca: Option<PathBuf>,
    /// Server settings beyond postgres_command's defaults, kept for restarts.
    pub(super) settings: Vec<String>,
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
    /// synchronous_commit on: a commit is acknowledged only once its WAL is written, so a
    /// crash restart (`restart`) keeps every acknowledged transaction, as a production server
    /// does (the default test cluster may lose the last ones, which a soak would count as loss).
    pub durable: bool,
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

pub(super) fn as_postgres(cmd: &Path) -> Command {
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
        if opts.durable {
            extra.push("synchronous_commit=on".to_string());
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
pub(super) fn postgres_command(
    bin: &Path,
    data: &Path,
    port: u16,
    sock: &Path,
    extra: &[String],
) -> Command {
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
