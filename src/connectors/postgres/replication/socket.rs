//! The socket under a replication connection: TCP or a Unix socket, and TLS negotiated with
//! an SSLRequest as `database.sslmode` says (the handshake itself is `pg_tls`'s).

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use bytes::BytesMut;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::ssl::{SslRef, SslStream};
use postgres_protocol::message::frontend;

use crate::connectors::pg_tls::{self, SslMode};
use crate::connectors::postgres::db::PgError;
use crate::connectors::postgres::PgConfig;

pub(super) enum Sock {
    Plain(TcpStream),
    Tls(Box<SslStream<TcpStream>>),
    Unix(UnixStream),
}

impl Sock {
    pub(super) fn set_timeouts(
        &self,
        read: Option<Duration>,
        write: Option<Duration>,
    ) -> io::Result<()> {
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

pub(super) fn tcp_connect(
    host: &str,
    port: u16,
    timeout: Option<Duration>,
) -> Result<TcpStream, String> {
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
pub(super) fn negotiate_tls(
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
pub(super) fn tls_server_end_point(ssl: &SslRef) -> Option<Vec<u8>> {
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
