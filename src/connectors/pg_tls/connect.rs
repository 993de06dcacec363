//! Connecting: through the `postgres` crate (TLS built only when the server agrees, unless
//! there is something to verify or present), or a handshake over a stream the replication
//! protocol opened itself.

use std::sync::{Arc, Mutex};

use openssl::ssl::SslVerifyMode;
use openssl::x509::X509VerifyResult;
use postgres::config::Host;
use postgres::tls::{MakeTlsConnect, TlsConnect};
use postgres::Socket;
use postgres_openssl::MakeTlsConnector;

use super::failure::{classify, ssl_verify_failed, tls_failure, ConnectFailure, TlsError};
use super::settings::{SslMode, TlsSettings};

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
