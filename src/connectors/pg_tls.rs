//! TLS to PostgreSQL, shared by the PostgreSQL source and the JDBC sink. The modes mean what
//! they mean to libpq, Debezium and the PostgreSQL JDBC driver, so a connector file that
//! works against a server there works here: `prefer` encrypts without checking who answers,
//! `require` insists on encryption, and only `verify-ca`/`verify-full` check certificates.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use openssl::pkey::{PKey, Private};
use openssl::ssl::{SslConnector, SslConnectorBuilder, SslMethod, SslVerifyMode};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::{X509VerifyResult, X509};
use postgres::config::Host;
use postgres::tls::{MakeTlsConnect, TlsConnect};
use postgres::Socket;
use postgres_openssl::MakeTlsConnector;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    /// libpq tries plain first and TLS if the server insists; connecting with `prefer`
    /// reaches the same servers (only the order differs), so it is treated as prefer.
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub const NAMES: &'static [&'static str] = &[
        "disable",
        "allow",
        "prefer",
        "require",
        "verify-ca",
        "verify-full",
    ];

    pub fn parse(s: &str) -> Option<SslMode> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    pub fn requires_tls(self) -> bool {
        matches!(
            self,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull
        )
    }

    fn client_mode(self) -> postgres::config::SslMode {
        match self {
            SslMode::Disable => postgres::config::SslMode::Disable,
            SslMode::Allow | SslMode::Prefer => postgres::config::SslMode::Prefer,
            _ => postgres::config::SslMode::Require,
        }
    }
}

/// Where the settings came from, so messages name what the user actually wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spelling {
    /// Debezium's `database.sslmode`, `database.sslrootcert`, ...
    Debezium,
    /// Parameters of a JDBC or libpq `connection.url`.
    ConnectionUrl,
}

/// The TLS part of a connection's settings.
#[derive(Clone)]
pub struct TlsSettings {
    pub mode: SslMode,
    /// PEM file of the CA certificates that may sign the server's certificate, or `system`
    /// for the operating system's trust store (as libpq 16 accepts).
    pub root_cert: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub key_password: Option<String>,
    pub spelling: Spelling,
}

impl std::fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSettings")
            .field("mode", &self.mode)
            .field("root_cert", &self.root_cert)
            .field("client_cert", &self.client_cert)
            .field("client_key", &self.client_key)
            .field("key_password", &self.key_password.as_ref().map(|_| "****"))
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{key} names {path}, which cannot be read ({reason}); give the path of an existing file readable by kconnect")]
    Unreadable {
        key: String,
        path: String,
        reason: String,
    },
    #[error("{key} names {path}, which is not {what} ({reason})")]
    Malformed {
        key: String,
        path: String,
        what: &'static str,
        reason: String,
    },
    #[error("{mode_key}={mode} checks the server's certificate against a CA, but {key} is not set and there is no ~/.postgresql/root.crt; set it to the CA certificate (PEM) that signed the server's certificate, or use {mode_key}=require to encrypt without checking")]
    NoRootCert {
        mode_key: String,
        mode: &'static str,
        key: String,
    },
    #[error("{cert_key} and {key_key} go together: set both to present a client certificate")]
    HalfClientCert { cert_key: String, key_key: String },
    #[error("cannot set up TLS: {0}")]
    Setup(#[from] openssl::error::ErrorStack),
}

/// Why a connection failed: TLS problems carry their own remedy, anything else is the
/// client's error for the caller to classify.
#[derive(Debug, thiserror::Error)]
pub enum ConnectFailure {
    #[error(transparent)]
    Setup(#[from] TlsError),
    #[error("TLS to PostgreSQL at {addr}: certificate verify failed ({detail}); {remedy}")]
    Verify {
        addr: String,
        detail: String,
        remedy: String,
    },
    #[error("PostgreSQL at {addr} does not offer TLS, but {mode_key}={mode} requires it; turn ssl on in the server's postgresql.conf, or use {mode_key}=prefer or disable")]
    NoServerTls {
        addr: String,
        mode_key: String,
        mode: &'static str,
    },
    #[error("PostgreSQL at {addr} accepts only TLS connections ({message}), but {mode_key}=disable; set {mode_key} to prefer, require, verify-ca or verify-full")]
    ServerNeedsTls {
        addr: String,
        mode_key: String,
        message: String,
    },
    #[error("TLS handshake with PostgreSQL at {addr} failed: {detail}; check {mode_key} and the certificate settings")]
    Handshake {
        addr: String,
        mode_key: String,
        detail: String,
    },
    #[error(transparent)]
    Postgres(postgres::Error),
}

impl ConnectFailure {
    /// TLS failures are about settings or certificates: retrying does not help.
    pub fn is_tls(&self) -> bool {
        !matches!(self, ConnectFailure::Postgres(_))
    }
}

/// X509_V_ERR_HOSTNAME_MISMATCH: the chain is fine, the name is not.
const HOSTNAME_MISMATCH: i32 = 62;

impl TlsSettings {
    /// libpq's, Debezium's and the JDBC driver's default: TLS when offered, unchecked.
    pub fn new(spelling: Spelling) -> TlsSettings {
        TlsSettings {
            mode: SslMode::Prefer,
            root_cert: None,
            client_cert: None,
            client_key: None,
            key_password: None,
            spelling,
        }
    }

    /// How the user names a setting (`sslrootcert` → `database.sslrootcert`).
    pub fn key(&self, param: &str) -> String {
        match self.spelling {
            Spelling::Debezium => format!("database.{param}"),
            // Messages about a URL's parameters say they are about connection.url.
            Spelling::ConnectionUrl => param.to_string(),
        }
    }

    /// What `kconnect validate` can tell without connecting: each problem with the setting
    /// it is about.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if matches!(self.mode, SslMode::VerifyCa | SslMode::VerifyFull)
            && self.effective_root_cert().is_none()
        {
            let e = self.no_root_cert();
            out.push((self.key("sslrootcert"), e.to_string()));
        }
        for (param, path) in [
            ("sslrootcert", &self.root_cert),
            ("sslcert", &self.client_cert),
            ("sslkey", &self.client_key),
        ] {
            let Some(path) = path else { continue };
            if param == "sslrootcert" && is_system(path) {
                continue;
            }
            if let Err(e) = read(&self.key(param), path) {
                out.push((self.key(param), e.to_string()));
            }
        }
        if self.client_cert.is_some() != self.client_key.is_some() {
            let e = self.half_client_cert();
            out.push((self.key("sslkey"), e.to_string()));
        }
        out
    }

    /// `sslrootcert`, or where libpq and the JDBC driver look when it is not set:
    /// `~/.postgresql/root.crt`, when that file exists.
    fn effective_root_cert(&self) -> Option<PathBuf> {
        self.root_cert.clone().or_else(|| {
            let home = std::env::var_os("HOME")?;
            let p = Path::new(&home).join(".postgresql").join("root.crt");
            p.is_file().then_some(p)
        })
    }

    fn no_root_cert(&self) -> TlsError {
        TlsError::NoRootCert {
            mode_key: self.key("sslmode"),
            mode: self.mode.name(),
            key: self.key("sslrootcert"),
        }
    }

    fn half_client_cert(&self) -> TlsError {
        TlsError::HalfClientCert {
            cert_key: self.key("sslcert"),
            key_key: self.key("sslkey"),
        }
    }

    /// Whether the server's chain is checked: always in the verify modes, and in `require`
    /// when a root certificate is given (libpq does so for compatibility).
    fn verifies_chain(&self) -> bool {
        match self.mode {
            SslMode::VerifyCa | SslMode::VerifyFull => true,
            SslMode::Require => self.effective_root_cert().is_some(),
            _ => false,
        }
    }

    fn builder(&self) -> Result<SslConnectorBuilder, TlsError> {
        let mut b = SslConnector::builder(SslMethod::tls_client())?;
        if self.verifies_chain() {
            match &self.effective_root_cert() {
                Some(p) if is_system(p) => b.set_default_verify_paths()?,
                Some(p) => {
                    let key = self.key("sslrootcert");
                    let certs = X509::stack_from_pem(&read(&key, p)?)
                        .map_err(|e| malformed(&key, p, "a PEM certificate file", e))?;
                    if certs.is_empty() {
                        return Err(TlsError::Malformed {
                            key,
                            path: p.display().to_string(),
                            what: "a PEM certificate file",
                            reason: "no certificate in it".into(),
                        });
                    }
                    // Only these CAs, as libpq: the builder starts from the system's store,
                    // which would let any public CA vouch for the server.
                    let mut store = X509StoreBuilder::new()?;
                    for c in certs {
                        store.add_cert(c)?;
                    }
                    b.set_cert_store(store.build());
                }
                None => return Err(self.no_root_cert()),
            }
            b.set_verify(SslVerifyMode::PEER);
        } else {
            b.set_verify(SslVerifyMode::NONE);
        }
        match (&self.client_cert, &self.client_key) {
            (None, None) => {}
            (Some(cert), Some(key_path)) => {
                let key = self.key("sslcert");
                let mut chain = X509::stack_from_pem(&read(&key, cert)?)
                    .map_err(|e| malformed(&key, cert, "a PEM certificate file", e))?
                    .into_iter();
                let Some(first) = chain.next() else {
                    return Err(TlsError::Malformed {
                        key,
                        path: cert.display().to_string(),
                        what: "a PEM certificate file",
                        reason: "no certificate in it".into(),
                    });
                };
                b.set_certificate(&first)?;
                for c in chain {
                    b.add_extra_chain_cert(c)?;
                }
                let pkey = self.private_key(key_path)?;
                b.set_private_key(&pkey)?;
                b.check_private_key().map_err(|e| TlsError::Malformed {
                    key: self.key("sslkey"),
                    path: key_path.display().to_string(),
                    what: "the private key of sslcert's certificate",
                    reason: e.to_string(),
                })?;
            }
            _ => return Err(self.half_client_cert()),
        }
        Ok(b)
    }

    /// The connector for these settings, built once per process and per version of the
    /// files: building one reads the system's whole CA bundle (tens of milliseconds), and
    /// every connection (replication, catalog, snapshot, each reconnect) needs one. A changed
    /// certificate or key file (rotation) gives a new connector, as libpq reads them anew.
    fn connector(&self) -> Result<SslConnector, TlsError> {
        type Cache = Mutex<Vec<(ConnectorKey, SslConnector)>>;
        static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
        let key = ConnectorKey::of(self);
        let cache = CACHE.get_or_init(Cache::default);
        if let Some((_, c)) = cache
            .lock()
            .expect("connector cache")
            .iter()
            .find(|(k, _)| *k == key)
        {
            return Ok(c.clone());
        }
        let built = self.builder()?.build();
        let mut cache = cache.lock().expect("connector cache");
        cache.retain(|(k, _)| !k.same_settings(&key));
        cache.push((key, built.clone()));
        Ok(built)
    }

    /// PEM (PKCS#1 or PKCS#8) as libpq reads, or DER PKCS#8 (`.pk8`) as the JDBC driver
    /// reads; encrypted ones with `sslpassword`.
    fn private_key(&self, path: &Path) -> Result<PKey<Private>, TlsError> {
        let key = self.key("sslkey");
        let bytes = read(&key, path)?;
        let pw = self.key_password.as_deref().map(str::as_bytes);
        let parsed = if bytes.starts_with(b"-----") {
            match pw {
                Some(pw) => PKey::private_key_from_pem_passphrase(&bytes, pw),
                None => PKey::private_key_from_pem(&bytes),
            }
        } else {
            match pw {
                Some(pw) => PKey::private_key_from_pkcs8_passphrase(&bytes, pw),
                None => PKey::private_key_from_der(&bytes),
            }
        };
        parsed.map_err(|e| {
            let hint = if pw.is_some() {
                format!("; check {}", self.key("sslpassword"))
            } else {
                format!("; if the key is encrypted, set {}", self.key("sslpassword"))
            };
            TlsError::Malformed {
                key: key.clone(),
                path: path.display().to_string(),
                what: "a private key kconnect can read",
                reason: format!("{e}{hint}"),
            }
        })
    }

    fn remedy(&self, verify: Option<X509VerifyResult>, hosts: &str) -> String {
        if verify.is_some_and(|v| v.as_raw() == HOSTNAME_MISMATCH) {
            return format!(
                "the server's certificate was not issued for {hosts}: connect with a host name the certificate names, or use {}=verify-ca to check only the chain",
                self.key("sslmode")
            );
        }
        format!(
            "set {} to the CA that signed the server's certificate, or use {}=require to encrypt without checking",
            self.key("sslrootcert"),
            self.key("sslmode")
        )
    }
}

/// What a built connector depends on: the settings and when each file last changed.
#[derive(PartialEq)]
struct ConnectorKey {
    mode: SslMode,
    files: [Option<(PathBuf, Option<SystemTime>)>; 3],
    key_password: Option<String>,
}

impl ConnectorKey {
    fn of(tls: &TlsSettings) -> ConnectorKey {
        let file = |p: &Option<PathBuf>| {
            p.as_ref().map(|p| {
                let modified = std::fs::metadata(p).and_then(|m| m.modified()).ok();
                (p.clone(), modified)
            })
        };
        ConnectorKey {
            mode: tls.mode,
            files: [
                file(&tls.effective_root_cert()),
                file(&tls.client_cert),
                file(&tls.client_key),
            ],
            key_password: tls.key_password.clone(),
        }
    }

    /// Same settings, whatever the files' times: an entry this one replaces.
    fn same_settings(&self, other: &ConnectorKey) -> bool {
        self.mode == other.mode
            && self.key_password == other.key_password
            && self
                .files
                .iter()
                .zip(&other.files)
                .all(|(a, b)| a.as_ref().map(|f| &f.0) == b.as_ref().map(|f| &f.0))
    }
}

fn is_system(p: &Path) -> bool {
    p.as_os_str() == "system"
}

fn read(key: &str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::Unreadable {
        key: key.to_string(),
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn malformed(
    key: &str,
    path: &Path,
    what: &'static str,
    e: openssl::error::ErrorStack,
) -> TlsError {
    TlsError::Malformed {
        key: key.to_string(),
        path: path.display().to_string(),
        what,
        reason: e.to_string(),
    }
}

/// host:port of every host the config names, for messages.
pub fn addresses(config: &postgres::Config) -> String {
    let ports = config.get_ports();
    config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            match h {
                Host::Tcp(h) if h.contains(':') => format!("[{h}]:{port}"),
                Host::Tcp(h) => format!("{h}:{port}"),
                #[cfg(unix)]
                Host::Unix(p) => p.display().to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn host_names(config: &postgres::Config) -> String {
    config
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(h) => h.clone(),
            #[cfg(unix)]
            Host::Unix(p) => p.display().to_string(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Connects as `config` says, with TLS as `tls` says.
pub fn connect(
    config: &postgres::Config,
    tls: &TlsSettings,
) -> Result<postgres::Client, ConnectFailure> {
    let mut config = config.clone();
    config.ssl_mode(tls.mode.client_mode());
    let addr = addresses(&config);
    let hosts = host_names(&config);
    if tls.mode == SslMode::Disable {
        return config
            .connect(postgres::NoTls)
            .map_err(|e| classify(e, tls, &addr, &hosts, None));
    }
    if !tls.verifies_chain() && tls.client_cert.is_none() && tls.client_key.is_none() {
        // Nothing to verify and nothing to present: the connector is built only if the
        // server agrees to TLS, so `prefer` against a server without it never reads the
        // system's CA bundle (tens of milliseconds, most of a connection's start-up).
        return config
            .connect(LazyTls(tls.clone()))
            .map_err(|e| classify(e, tls, &addr, &hosts, None));
    }
    let mut connector = MakeTlsConnector::new(tls.connector()?);
    let verify_full = tls.mode == SslMode::VerifyFull;
    let verifies = tls.verifies_chain();
    // The first verification error of the handshake, to say what was wrong with the
    // certificate (OpenSSL's own error only says that verification failed).
    let seen: Arc<Mutex<Option<X509VerifyResult>>> = Arc::default();
    let slot = seen.clone();
    connector.set_callback(move |ssl, _domain| {
        if !verify_full {
            ssl.set_verify_hostname(false);
        }
        if verifies {
            let slot = slot.clone();
            ssl.set_verify_callback(SslVerifyMode::PEER, move |ok, ctx| {
                if !ok {
                    slot.lock().expect("verify slot").get_or_insert(ctx.error());
                }
                ok
            });
        }
        Ok(())
    });
    config.connect(connector).map_err(|e| {
        let seen = *seen.lock().expect("verify slot");
        classify(e, tls, &addr, &hosts, seen)
    })
}

/// TLS for settings that verify nothing, set up when the server answers the SSLRequest.
struct LazyTls(TlsSettings);

/// [`LazyTls`] for one host (its name goes out as SNI, as libpq sends it).
struct LazyTlsConnect {
    tls: TlsSettings,
    domain: String,
}

impl MakeTlsConnect<Socket> for LazyTls {
    type Stream = postgres_openssl::TlsStream<Socket>;
    type TlsConnect = LazyTlsConnect;
    type Error = std::convert::Infallible;

    fn make_tls_connect(&mut self, domain: &str) -> Result<LazyTlsConnect, Self::Error> {
        Ok(LazyTlsConnect {
            tls: self.0.clone(),
            domain: domain.to_string(),
        })
    }
}

impl TlsConnect<Socket> for LazyTlsConnect {
    type Stream = postgres_openssl::TlsStream<Socket>;
    type Error = Box<dyn std::error::Error + Send + Sync>;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Stream, Self::Error>> + Send>,
    >;

    fn connect(self, stream: Socket) -> Self::Future {
        let connector = match self.tls.connector() {
            Ok(c) => c,
            Err(e) => return Box::pin(std::future::ready(Err(e.into()))),
        };
        let mut make = MakeTlsConnector::new(connector);
        // Nothing is verified, so neither is the host name.
        make.set_callback(|ssl, _domain| {
            ssl.set_verify_hostname(false);
            Ok(())
        });
        match MakeTlsConnect::<Socket>::make_tls_connect(&mut make, &self.domain) {
            Ok(tc) => tc.connect(stream),
            Err(e) => Box::pin(std::future::ready(Err(e.into()))),
        }
    }
}

/// TLS over a stream that has already asked the server for it (SSLRequest answered 'S'), for
/// connections the `postgres` crate cannot make (the replication protocol). Verifies and
/// reports exactly as [`connect`] does.
pub fn handshake<S: std::io::Read + std::io::Write + std::fmt::Debug>(
    tls: &TlsSettings,
    host: &str,
    addr: &str,
    stream: S,
) -> Result<openssl::ssl::SslStream<S>, ConnectFailure> {
    let connector = tls.connector()?;
    let mut config = connector.configure().map_err(TlsError::from)?;
    if tls.mode != SslMode::VerifyFull {
        config.set_verify_hostname(false);
    }
    let seen: Arc<Mutex<Option<X509VerifyResult>>> = Arc::default();
    if tls.verifies_chain() {
        let slot = seen.clone();
        config.set_verify_callback(SslVerifyMode::PEER, move |ok, ctx| {
            if !ok {
                slot.lock().expect("verify slot").get_or_insert(ctx.error());
            }
            ok
        });
    }
    config.connect(host, stream).map_err(|e| {
        let seen = *seen.lock().expect("verify slot");
        let (detail, verify_failed) = match &e {
            openssl::ssl::HandshakeError::SetupFailure(stack) => (stack.to_string(), false),
            openssl::ssl::HandshakeError::Failure(mid)
            | openssl::ssl::HandshakeError::WouldBlock(mid) => {
                let err = mid.error();
                let detail = match err.io_error() {
                    Some(io) if io.kind() == std::io::ErrorKind::WouldBlock => {
                        "the server did not answer in time".to_string()
                    }
                    Some(io) => io.to_string(),
                    None => err
                        .ssl_error()
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| err.to_string()),
                };
                (detail, ssl_verify_failed(err))
            }
        };
        tls_failure(tls, addr, host, detail, verify_failed, seen)
    })
}

/// Whether OpenSSL gave up because the server's certificate did not verify.
fn ssl_verify_failed(e: &openssl::ssl::Error) -> bool {
    e.ssl_error().is_some_and(|stack| {
        stack
            .errors()
            .iter()
            .any(|x| x.reason() == Some("certificate verify failed"))
    })
}

/// The failure to report for a failed handshake: a verification failure says which
/// setting to change, anything else names the mode.
fn tls_failure(
    tls: &TlsSettings,
    addr: &str,
    hosts: &str,
    detail: String,
    verify_failed: bool,
    verify: Option<X509VerifyResult>,
) -> ConnectFailure {
    let reason = verify.filter(|v| *v != X509VerifyResult::OK);
    if verify_failed || reason.is_some() {
        return ConnectFailure::Verify {
            addr: addr.to_string(),
            detail: reason
                .map(|v| v.error_string().to_string())
                .unwrap_or(detail),
            remedy: tls.remedy(reason, hosts),
        };
    }
    ConnectFailure::Handshake {
        addr: addr.to_string(),
        mode_key: tls.key("sslmode"),
        detail,
    }
}

/// The server refused a plain connection because its pg_hba.conf has only `hostssl` lines
/// for us ("... no encryption"), while the settings do not ask for TLS.
pub fn server_needs_tls(
    tls: &TlsSettings,
    addr: &str,
    code: &str,
    message: &str,
) -> Option<ConnectFailure> {
    (code == "28000" && message.contains("no encryption") && !tls.mode.requires_tls()).then(|| {
        ConnectFailure::ServerNeedsTls {
            addr: addr.to_string(),
            mode_key: tls.key("sslmode"),
            message: message.to_string(),
        }
    })
}

/// The error when the server answers an SSLRequest with 'N' but the mode requires TLS.
pub fn no_server_tls(tls: &TlsSettings, addr: &str) -> ConnectFailure {
    ConnectFailure::NoServerTls {
        addr: addr.to_string(),
        mode_key: tls.key("sslmode"),
        mode: tls.mode.name(),
    }
}

/// Turns the client's error into one that says what to change, for the TLS cases.
fn classify(
    e: postgres::Error,
    tls: &TlsSettings,
    addr: &str,
    hosts: &str,
    verify: Option<X509VerifyResult>,
) -> ConnectFailure {
    if let Some(db) = e.as_db_error() {
        if let Some(f) = server_needs_tls(tls, addr, db.code().code(), db.message()) {
            return f;
        }
        return ConnectFailure::Postgres(e);
    }
    // tokio-postgres reports every TLS failure with this text and the cause as its source.
    if !e.to_string().starts_with("error performing TLS handshake") {
        return ConnectFailure::Postgres(e);
    }
    let mut detail = String::new();
    let mut verify_failed = false;
    let mut src = std::error::Error::source(&e);
    while let Some(inner) = src {
        if let Some(ssl) = inner.downcast_ref::<openssl::ssl::Error>() {
            verify_failed |= ssl_verify_failed(ssl);
        }
        if detail.is_empty() {
            detail = inner.to_string();
        }
        src = inner.source();
    }
    if detail == "server does not support TLS" {
        return no_server_tls(tls, addr);
    }
    tls_failure(tls, addr, hosts, detail, verify_failed, verify)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_map_to_the_client() {
        for name in SslMode::NAMES {
            assert_eq!(SslMode::parse(name).unwrap().name(), *name);
        }
        assert_eq!(SslMode::parse("Verify-Full"), Some(SslMode::VerifyFull));
        assert_eq!(SslMode::parse("on"), None);
        use postgres::config::SslMode as C;
        assert_eq!(SslMode::Allow.client_mode(), C::Prefer);
        assert_eq!(SslMode::VerifyCa.client_mode(), C::Require);
        assert_eq!(SslMode::Disable.client_mode(), C::Disable);
    }

    #[test]
    fn problems_name_the_setting_and_the_path() {
        let mut t = TlsSettings::new(Spelling::Debezium);
        t.mode = SslMode::VerifyFull;
        t.client_cert = Some("/nonexistent/client.crt".into());
        let problems = t.problems();
        let keys: Vec<&str> = problems.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "database.sslrootcert",
                "database.sslcert",
                "database.sslkey"
            ]
        );
        assert!(problems[0].1.contains("database.sslmode=verify-full"));
        assert!(problems[1].1.contains("/nonexistent/client.crt"));
        // require checks the chain only when a root certificate is given.
        t.mode = SslMode::Require;
        assert!(!t.verifies_chain());
        t.root_cert = Some("system".into());
        assert!(t.verifies_chain());
    }

    #[test]
    fn the_key_password_is_not_shown() {
        let mut t = TlsSettings::new(Spelling::ConnectionUrl);
        t.key_password = Some("hunter2".into());
        assert!(!format!("{t:?}").contains("hunter2"));
    }
}
