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
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use postgres_protocol::message::frontend;

use super::db::{self, server_error, PgError};
use super::PgConfig;
use crate::connectors::pg_errors::ServerError;

mod auth;
mod socket;

use socket::{negotiate_tls, tcp_connect, Sock};

/// How long a read waits before the reader looks at its other duties (handing over what
/// it has, status updates, the stop flag).
const READ_TICK: Duration = Duration::from_millis(20);
/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01).
const PG_EPOCH_UNIX_US: i64 = 946_684_800_000_000;

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

    pub(super) fn protocol(&self, what: &str) -> PgError {
        PgError::Protocol(format!(
            "PostgreSQL at {} sent {what}; is it a PostgreSQL server?",
            self.addr
        ))
    }

    pub(super) fn lost(&self, e: io::Error) -> PgError {
        PgError::ConnectionLost {
            addr: self.addr.clone(),
            reason: e.to_string(),
        }
    }

    /// Starts streaming `slot` from `from` (the server starts at the slot's confirmed
    /// position when that is later).
    /// `messages` asks for logical decoding messages too, as Debezium does from PostgreSQL 14
    /// on (older servers refuse the option).
    pub fn start_replication(
        &mut self,
        cfg: &PgConfig,
        from: u64,
        publication: &str,
        messages: bool,
    ) -> Result<(), PgError> {
        // publication_names is a list of identifiers: quoted, the name keeps its case, as
        // the publication was created. slot.stream.params come first, as Debezium hands them
        // to the driver before its own options.
        let mut options = String::new();
        for (name, value) in &cfg.stream_params {
            options.push_str(&format!("{} {}, ", db::ident(name), db::literal(value)));
        }
        let sql = format!(
            "START_REPLICATION SLOT {} LOGICAL {} ({options}\"proto_version\" '1', \"publication_names\" {}{})",
            db::ident(&cfg.slot),
            db::format_lsn(from),
            db::literal(&db::ident(publication)),
            if messages { ", \"messages\" 'true'" } else { "" }
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
                    let mut context =
                        format!("starting to stream from replication slot {}", cfg.slot);
                    if !cfg.stream_params.is_empty() {
                        let names: Vec<&str> =
                            cfg.stream_params.iter().map(|(n, _)| n.as_str()).collect();
                        context.push_str(&format!(
                            " with the options of slot.stream.params ({})",
                            names.join(", ")
                        ));
                    }
                    return Err(server_error(cfg, &context, e));
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
                b'd' => {
                    return match copy_data(&self.buf[body]) {
                        Some(m) => Ok(Some(m)),
                        None => Err(self.protocol("an unknown replication message")),
                    }
                }
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

    pub(super) fn send(&mut self) -> Result<(), PgError> {
        let r = self
            .sock
            .write_all(&self.out)
            .and_then(|()| self.sock.flush());
        self.out.clear();
        r.map_err(|e| self.lost(e))
    }

    /// The next message during startup, where silence past connect.timeout.ms is a failure.
    pub(super) fn next_startup(&mut self) -> Result<Frame, PgError> {
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
            let header = frame_header(&self.buf[self.start..self.end]);
            if let Some((tag, total)) = header.map_err(|what| self.protocol(what))? {
                let s = self.start;
                if avail >= total {
                    self.start += total;
                    return Ok(Some((tag, s + 5..s + total)));
                }
                if total > self.buf.len() {
                    // A message larger than the buffer (a very wide row): make room for it.
                    self.buf.resize(total, 0);
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

/// The largest message length a PostgreSQL server sends: its message buffers stop at
/// `MaxAllocSize` (1 GiB - 1), plus the length word itself. A larger length is garbage, and
/// believing it would have the reader allocate up to 4 GiB for it.
const MAX_MESSAGE_LEN: usize = 0x3fff_ffff + 4;

/// The header of the backend message at the start of `buf`: its tag and the bytes the whole
/// message takes (tag, length word and body), or `None` while fewer than 5 bytes are there.
/// Public (through `postgres::fuzzing`) for the fuzz targets, which frame bytes with it.
pub fn frame_header(buf: &[u8]) -> Result<Option<(u8, usize)>, &'static str> {
    let Some(head) = buf.get(..5) else {
        return Ok(None);
    };
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len < 4 {
        return Err("a malformed message (a length below 4)");
    }
    if len > MAX_MESSAGE_LEN {
        return Err("a malformed message (a length above the 1 GiB PostgreSQL sends at most)");
    }
    Ok(Some((head[0], 1 + len)))
}

/// The streaming message in a CopyData body: XLogData (`w`, 25 header bytes) or a primary
/// keepalive (`k`, 18 bytes); `None` for anything else or a body too short for its kind.
pub fn copy_data(b: &[u8]) -> Option<WalMessage<'_>> {
    let u64_at = |at: usize| {
        b.get(at..at + 8)
            .map(|s| u64::from_be_bytes(s.try_into().expect("8 bytes")))
    };
    match b.first()? {
        b'w' if b.len() >= 25 => Some(WalMessage::XLogData {
            lsn: u64_at(1)?,
            data: &b[25..],
        }),
        b'k' if b.len() >= 18 => Some(WalMessage::Keepalive {
            wal_end: u64_at(1)?,
            reply: b[17] != 0,
        }),
        _ => None,
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn log_notice(body: &[u8]) {
    let n = ServerError::parse(body);
    tracing::info!("PostgreSQL: {}", n.message);
}
