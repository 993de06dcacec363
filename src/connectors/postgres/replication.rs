//! A replication connection (`replication=database`) and the streaming protocol over it:
//! `START_REPLICATION ... LOGICAL`, then changes as CopyData while the server decodes, the
//! protocol pg_recvlogical and Debezium read with. The `postgres` crate does not speak COPY
//! BOTH, and the SQL interface decodes a whole read before returning its first change, so
//! the server's decoding and ours would take turns instead of running side by side.
//!
//! Blocking I/O for the reader thread: framing, TLS negotiation and the authentication
//! exchange are here; message encodings, MD5 and SCRAM come from `postgres-protocol`, TLS
//! from the same OpenSSL settings as every other connection (`pg_tls`).

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::ssl::{SslRef, SslStream};
use postgres_protocol::authentication::md5_hash;
use postgres_protocol::authentication::sasl::{self, ChannelBinding, ScramSha256};
use postgres_protocol::message::frontend;

use super::db::{self, server_error, PgError};
use super::PgConfig;
use crate::connectors::pg_errors::ServerError;
use crate::connectors::pg_tls::{self, SslMode};

/// How long a read waits before the reader looks at its other duties (handing over what
/// it has, status updates, the stop flag).
const READ_TICK: Duration = Duration::from_millis(20);
/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01).
const PG_EPOCH_UNIX_US: i64 = 946_684_800_000_000;

enum Sock {
    Plain(TcpStream),
    Tls(Box<SslStream<TcpStream>>),
    Unix(UnixStream),
}

impl Sock {
    fn set_timeouts(&self, read: Option<Duration>, write: Option<Duration>) -> io::Result<()> {
        match self {
            Sock::Plain(s) => {
                s.set_read_timeout(read)?;
                s.set_write_timeout(write)
            }
            Sock::Tls(s) => {
                s.get_ref().set_read_timeout(read)?;
                s.get_ref().set_write_timeout(write)
            }
            Sock::Unix(s) => {
                s.set_read_timeout(read)?;
                s.set_write_timeout(write)
            }
        }
    }
}

impl Read for Sock {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Sock::Plain(s) => s.read(buf),
            Sock::Tls(s) => s.read(buf),
            Sock::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Sock {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sock::Plain(s) => s.write(buf),
            Sock::Tls(s) => s.write(buf),
            Sock::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sock::Plain(s) => s.flush(),
            Sock::Tls(s) => s.flush(),
            Sock::Unix(s) => s.flush(),
        }
    }
}

/// What the server sends while streaming.
pub enum WalMessage<'a> {
    /// One pgoutput message, at the WAL position of the record it came from.
    XLogData { lsn: u64, data: &'a [u8] },
    /// The server has decoded everything before `wal_end`; `reply` asks for a status update
    /// now, or the server ends the connection at `wal_sender_timeout`.
    Keepalive { wal_end: u64, reply: bool },
}

pub struct ReplicationConn {
    sock: Sock,
    /// Bytes read and not yet consumed: `buf[start..end]`.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    out: BytesMut,
    addr: String,
    /// The server process serving this connection.
    pub backend_pid: i32,
}

/// A message read: its tag and where its body is in the read buffer.
type Frame = (u8, std::ops::Range<usize>);

impl ReplicationConn {
    /// Connects and authenticates as `cfg` says, with the session settings that fix how
    /// pgoutput renders values as text (pgoutput runs in this session).
    pub fn connect(cfg: &PgConfig) -> Result<ReplicationConn, PgError> {
        let unix = cfg.host.starts_with('/');
        let addr = if unix {
            format!("{}/.s.PGSQL.{}", cfg.host, cfg.port)
        } else if cfg.host.contains(':') {
            format!("[{}]:{}", cfg.host, cfg.port)
        } else {
            format!("{}:{}", cfg.host, cfg.port)
        };
        let unreachable = |reason: String| PgError::Unreachable {
            addr: addr.clone(),
            reason,
        };
        let timeout = (!cfg.connect_timeout.is_zero()).then_some(cfg.connect_timeout);
        let sock = if unix {
            Sock::Unix(UnixStream::connect(&addr).map_err(|e| unreachable(e.to_string()))?)
        } else {
            let tcp = tcp_connect(&cfg.host, cfg.port, timeout).map_err(unreachable)?;
            tcp.set_nodelay(true)
                .and_then(|()| socket2::SockRef::from(&tcp).set_keepalive(true))
                .map_err(|e| unreachable(e.to_string()))?;
            negotiate_tls(cfg, &addr, tcp, timeout)?
        };
        sock.set_timeouts(timeout, timeout)
            .map_err(|e| unreachable(e.to_string()))?;
        let mut conn = ReplicationConn {
            sock,
            buf: vec![0; 256 * 1024],
            start: 0,
            end: 0,
            out: BytesMut::with_capacity(256),
            addr: addr.clone(),
            backend_pid: 0,
        };
        conn.startup(cfg)?;
        conn.sock
            .set_timeouts(Some(READ_TICK), Some(Duration::from_secs(60)))
            .map_err(|e| conn.lost(e))?;
        Ok(conn)
    }

    fn startup(&mut self, cfg: &PgConfig) -> Result<(), PgError> {
        let params = [
            ("user", cfg.user.as_str()),
            ("database", cfg.dbname.as_str()),
            ("replication", "database"),
            ("application_name", "kconnect"),
            ("client_encoding", "UTF8"),
            // pgoutput writes column values with their types' text output, shaped by these.
            ("DateStyle", "ISO, MDY"),
            ("IntervalStyle", "iso_8601"),
            ("TimeZone", "UTC"),
            ("bytea_output", "hex"),
            ("extra_float_digits", "1"),
            ("lc_monetary", "C"),
        ];
        self.out.clear();
        frontend::startup_message(params, &mut self.out).map_err(|e| self.lost(e))?;
        self.send()?;
        let binding = match &self.sock {
            Sock::Tls(s) => tls_server_end_point(s.ssl()),
            _ => None,
        };
        let tls = matches!(self.sock, Sock::Tls(_));
        let mut scram: Option<ScramSha256> = None;
        loop {
            let (tag, body) = self.next_startup()?;
            let body = self.buf[body].to_vec();
            match tag {
                b'R' => {
                    let code = i32::from_be_bytes(
                        body[..4]
                            .try_into()
                            .map_err(|_| self.protocol("a truncated authentication request"))?,
                    );
                    let rest = &body[4..];
                    match code {
                        0 => {}
                        3 => {
                            let pw = password(cfg)?;
                            frontend::password_message(pw.as_bytes(), &mut self.out)
                                .map_err(|e| self.lost(e))?;
                            self.send()?;
                        }
                        5 => {
                            let pw = password(cfg)?;
                            let salt: [u8; 4] = rest
                                .get(..4)
                                .and_then(|s| s.try_into().ok())
                                .ok_or_else(|| self.protocol("an MD5 request without salt"))?;
                            let hash = md5_hash(cfg.user.as_bytes(), pw.as_bytes(), salt);
                            frontend::password_message(hash.as_bytes(), &mut self.out)
                                .map_err(|e| self.lost(e))?;
                            self.send()?;
                        }
                        10 => {
                            let pw = password(cfg)?;
                            let offered: Vec<&[u8]> = rest
                                .split(|&b| b == 0)
                                .filter(|m| !m.is_empty())
                                .collect();
                            let plus = offered.contains(&sasl::SCRAM_SHA_256_PLUS.as_bytes());
                            let (mechanism, cb) = match &binding {
                                Some(b) if plus => (
                                    sasl::SCRAM_SHA_256_PLUS,
                                    ChannelBinding::tls_server_end_point(b.clone()),
                                ),
                                _ if offered.contains(&sasl::SCRAM_SHA_256.as_bytes()) => (
                                    sasl::SCRAM_SHA_256,
                                    if tls && binding.is_some() {
                                        ChannelBinding::unrequested()
                                    } else {
                                        ChannelBinding::unsupported()
                                    },
                                ),
                                _ => {
                                    return Err(self.login(
                                        cfg,
                                        "the server offers no SASL mechanism kconnect supports (SCRAM-SHA-256)",
                                    ))
                                }
                            };
                            tracing::debug!(mechanism, "authenticating the replication connection");
                            let s = ScramSha256::new(pw.as_bytes(), cb);
                            frontend::sasl_initial_response(mechanism, s.message(), &mut self.out)
                                .map_err(|e| self.lost(e))?;
                            scram = Some(s);
                            self.send()?;
                        }
                        11 => {
                            let s = scram
                                .as_mut()
                                .ok_or_else(|| self.protocol("SCRAM data before SCRAM began"))?;
                            s.update(rest).map_err(|e| {
                                self.login(cfg, &format!("SCRAM authentication failed: {e}"))
                            })?;
                            frontend::sasl_response(s.message(), &mut self.out)
                                .map_err(|e| self.lost(e))?;
                            self.send()?;
                        }
                        12 => {
                            let s = scram
                                .as_mut()
                                .ok_or_else(|| self.protocol("SCRAM data before SCRAM began"))?;
                            s.finish(rest).map_err(|e| {
                                self.login(
                                    cfg,
                                    &format!("the server's SCRAM proof did not verify: {e}"),
                                )
                            })?;
                        }
                        other => {
                            return Err(self.login(
                                cfg,
                                &format!("the server asks for an authentication method kconnect does not support (request {other}: Kerberos, GSSAPI or SSPI); use password, md5, scram-sha-256 or cert authentication for this user"),
                            ))
                        }
                    }
                }
                b'E' => return Err(self.startup_error(cfg, ServerError::parse(&body))),
                b'K' => {
                    if let Some(pid) = body.get(..4) {
                        self.backend_pid = i32::from_be_bytes(pid.try_into().expect("4 bytes"));
                    }
                }
                b'Z' => return Ok(()),
                _ => {}
            }
        }
    }

    fn startup_error(&self, cfg: &PgConfig, e: ServerError) -> PgError {
        if let Some(f) = pg_tls::server_needs_tls(&cfg.tls, &self.addr, &e.code, &e.message) {
            return PgError::Tls(f);
        }
        if e.code.starts_with("28") || e.code == "3D000" {
            if e.message.contains("certificate") {
                return PgError::CertLogin {
                    user: cfg.user.clone(),
                    db: cfg.dbname.clone(),
                    message: e.message,
                };
            }
            return self.login(cfg, &e.message);
        }
        server_error(cfg, "opening a replication connection", e)
    }

    fn login(&self, cfg: &PgConfig, message: &str) -> PgError {
        PgError::Login {
            user: cfg.user.clone(),
            db: cfg.dbname.clone(),
            message: message.to_string(),
        }
    }

    fn protocol(&self, what: &str) -> PgError {
        PgError::Protocol(format!(
            "PostgreSQL at {} sent {what}; is it a PostgreSQL server?",
            self.addr
        ))
    }

    fn lost(&self, e: io::Error) -> PgError {
        PgError::ConnectionLost {
            addr: self.addr.clone(),
            reason: e.to_string(),
        }
    }

    /// Starts streaming `slot` from `from` (the server starts at the slot's confirmed
    /// position when that is later).
    pub fn start_replication(
        &mut self,
        cfg: &PgConfig,
        from: u64,
        publication: &str,
    ) -> Result<(), PgError> {
        // publication_names is a list of identifiers: quoted, the name keeps its case, as
        // the publication was created.
        let sql = format!(
            "START_REPLICATION SLOT {} LOGICAL {} (\"proto_version\" '1', \"publication_names\" {})",
            db::ident(&cfg.slot),
            db::format_lsn(from),
            db::literal(&db::ident(publication))
        );
        self.out.clear();
        frontend::query(&sql, &mut self.out).map_err(|e| self.lost(e))?;
        self.send()?;
        let deadline = Instant::now() + cfg.connect_timeout.max(Duration::from_secs(30));
        loop {
            let Some((tag, body)) = self.next()? else {
                if Instant::now() > deadline {
                    return Err(PgError::ConnectionLost {
                        addr: self.addr.clone(),
                        reason: "the server did not start streaming in time".into(),
                    });
                }
                continue;
            };
            match tag {
                b'W' => return Ok(()),
                b'E' => {
                    let e = ServerError::parse(&self.buf[body]);
                    return Err(server_error(
                        cfg,
                        &format!("starting to stream from replication slot {}", cfg.slot),
                        e,
                    ));
                }
                b'N' => log_notice(&self.buf[body]),
                _ => {}
            }
        }
    }

    /// The next streaming message, or `None` when nothing arrived for a short while.
    pub fn recv(&mut self) -> Result<Option<WalMessage<'_>>, PgError> {
        loop {
            let Some((tag, body)) = self.next()? else {
                return Ok(None);
            };
            let b = &self.buf[body.clone()];
            match tag {
                b'd' => match b.first() {
                    Some(b'w') if b.len() >= 25 => {
                        let lsn = u64::from_be_bytes(b[1..9].try_into().expect("8 bytes"));
                        return Ok(Some(WalMessage::XLogData {
                            lsn,
                            data: &self.buf[body.start + 25..body.end],
                        }));
                    }
                    Some(b'k') if b.len() >= 18 => {
                        return Ok(Some(WalMessage::Keepalive {
                            wal_end: u64::from_be_bytes(b[1..9].try_into().expect("8 bytes")),
                            reply: b[17] != 0,
                        }))
                    }
                    _ => return Err(self.protocol("an unknown replication message")),
                },
                b'E' => {
                    let e = ServerError::parse(b);
                    return Err(PgError::Server {
                        context: format!(
                            "PostgreSQL ended the replication stream from {}",
                            self.addr
                        ),
                        error: e,
                    });
                }
                b'c' => {
                    return Err(PgError::ConnectionLost {
                        addr: self.addr.clone(),
                        reason: "the server ended the replication stream".into(),
                    })
                }
                b'N' => log_notice(b),
                _ => {}
            }
        }
    }

    /// A standby status update: what was received, and what may be confirmed (the slot's
    /// `confirmed_flush_lsn` follows `flush`).
    pub fn send_status(&mut self, received: u64, flush: u64, reply: bool) -> Result<(), PgError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or(0)
            - PG_EPOCH_UNIX_US;
        self.out.clear();
        self.out.extend_from_slice(b"d");
        self.out.extend_from_slice(&38u32.to_be_bytes());
        self.out.extend_from_slice(b"r");
        self.out.extend_from_slice(&received.to_be_bytes());
        self.out.extend_from_slice(&flush.to_be_bytes());
        self.out.extend_from_slice(&flush.to_be_bytes());
        self.out.extend_from_slice(&now.to_be_bytes());
        self.out.extend_from_slice(&[reply as u8]);
        self.send()
    }

    /// Ends the session and waits until the server has let go of the slot: the server closes
    /// the socket only after releasing it, so a reconnect or a slot drop right after this
    /// does not find the slot still active.
    pub fn close(mut self) {
        self.out.clear();
        frontend::terminate(&mut self.out);
        if self.send().is_err() {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut scratch = [0u8; 16 * 1024];
        while Instant::now() < deadline {
            match self.sock.read(&mut scratch) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    fn send(&mut self) -> Result<(), PgError> {
        let r = self
            .sock
            .write_all(&self.out)
            .and_then(|()| self.sock.flush());
        self.out.clear();
        r.map_err(|e| self.lost(e))
    }

    /// The next message during startup, where silence past connect.timeout.ms is a failure.
    fn next_startup(&mut self) -> Result<Frame, PgError> {
        match self.next()? {
            Some(f) => Ok(f),
            None => Err(PgError::Unreachable {
                addr: self.addr.clone(),
                reason: "the server did not answer within connect.timeout.ms".into(),
            }),
        }
    }

    /// The next complete message, reading more when needed; `None` when a read times out.
    fn next(&mut self) -> Result<Option<Frame>, PgError> {
        loop {
            let avail = self.end - self.start;
            if avail >= 5 {
                let s = self.start;
                let len = u32::from_be_bytes(self.buf[s + 1..s + 5].try_into().expect("4 bytes"))
                    as usize;
                if len < 4 {
                    return Err(self.protocol("a malformed message"));
                }
                if avail > len {
                    self.start += 1 + len;
                    return Ok(Some((self.buf[s], s + 5..s + 1 + len)));
                }
                if 1 + len > self.buf.len() {
                    // A message larger than the buffer (a very wide row): make room for it.
                    self.buf.resize(1 + len, 0);
                }
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// Reads what the socket has; false when the read timed out.
    fn fill(&mut self) -> Result<bool, PgError> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.buf.len() - self.end < 16 * 1024 && self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let grown = self.buf.len() * 2;
            self.buf.resize(grown, 0);
        }
        loop {
            match self.sock.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    return Err(PgError::ConnectionLost {
                        addr: self.addr.clone(),
                        reason: "the server closed the connection".into(),
                    })
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => return Ok(false),
                Err(e) => return Err(self.lost(e)),
            }
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn password(cfg: &PgConfig) -> Result<&str, PgError> {
    cfg.password.as_deref().ok_or_else(|| PgError::Login {
        user: cfg.user.clone(),
        db: cfg.dbname.clone(),
        message: "the server asks for a password and database.password is not set".into(),
    })
}

fn log_notice(body: &[u8]) {
    let n = ServerError::parse(body);
    tracing::info!("PostgreSQL: {}", n.message);
}

fn tcp_connect(host: &str, port: u16, timeout: Option<Duration>) -> Result<TcpStream, String> {
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    let mut last = format!("{host} resolves to no address");
    for a in addrs {
        let r = match timeout {
            Some(t) => TcpStream::connect_timeout(&a, t),
            None => TcpStream::connect(a),
        };
        match r {
            Ok(s) => return Ok(s),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

/// SSLRequest and the handshake, as `database.sslmode` says.
fn negotiate_tls(
    cfg: &PgConfig,
    addr: &str,
    mut tcp: TcpStream,
    timeout: Option<Duration>,
) -> Result<Sock, PgError> {
    if cfg.tls.mode == SslMode::Disable {
        return Ok(Sock::Plain(tcp));
    }
    let unreachable = |e: io::Error| PgError::Unreachable {
        addr: addr.to_string(),
        reason: e.to_string(),
    };
    tcp.set_read_timeout(timeout).map_err(unreachable)?;
    tcp.set_write_timeout(timeout).map_err(unreachable)?;
    let mut req = BytesMut::new();
    frontend::ssl_request(&mut req);
    tcp.write_all(&req).map_err(unreachable)?;
    let mut answer = [0u8; 1];
    tcp.read_exact(&mut answer).map_err(unreachable)?;
    match answer[0] {
        b'S' => {
            let s = pg_tls::handshake(&cfg.tls, &cfg.host, addr, tcp).map_err(PgError::Tls)?;
            Ok(Sock::Tls(Box::new(s)))
        }
        b'N' if cfg.tls.mode.requires_tls() => {
            Err(PgError::Tls(pg_tls::no_server_tls(&cfg.tls, addr)))
        }
        b'N' => Ok(Sock::Plain(tcp)),
        other => Err(PgError::Protocol(format!(
            "PostgreSQL at {addr} answered the TLS request with {:?}; is it a PostgreSQL server?",
            other as char
        ))),
    }
}

/// RFC 5929's tls-server-end-point binding: the hash of the server's certificate, with the
/// certificate's own signature hash (SHA-256 in place of MD5 and SHA-1).
fn tls_server_end_point(ssl: &SslRef) -> Option<Vec<u8>> {
    let cert = ssl.peer_certificate()?;
    let algorithms = cert
        .signature_algorithm()
        .object()
        .nid()
        .signature_algorithms()?;
    let md = match algorithms.digest {
        Nid::MD5 | Nid::SHA1 => MessageDigest::sha256(),
        nid => MessageDigest::from_nid(nid)?,
    };
    cert.digest(md).ok().map(|d| d.to_vec())
}
