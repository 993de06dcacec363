//! A TLS-terminating TCP proxy: clients speak TLS to it, it speaks plain bytes to the upstream
//! port. Tansu has no TLS listener, so this is what puts a real TLS handshake (and a real
//! certificate check by librdkafka) between kconnect and the broker.
//!
//! One thread per connection: an SSL stream cannot be split between a reader and a writer
//! thread, so each thread polls both sockets and moves whatever is ready, with short socket
//! timeouts so a half-read TLS record never stalls the other direction.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use openssl::ssl::{ErrorCode, SslAcceptor, SslStream};

pub struct TlsProxy {
    pub port: u16,
    stop: Arc<AtomicBool>,
    /// Connections whose TLS handshake succeeded, and those whose handshake failed.
    pub handshakes: Arc<AtomicUsize>,
    pub failed_handshakes: Arc<AtomicUsize>,
}

impl TlsProxy {
    /// Listens on `listener` (already bound, so its port can be advertised before the
    /// upstream starts) and forwards to 127.0.0.1:`upstream_port`.
    pub fn start(listener: TcpListener, upstream_port: u16, acceptor: SslAcceptor) -> TlsProxy {
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let handshakes = Arc::new(AtomicUsize::new(0));
        let failed_handshakes = Arc::new(AtomicUsize::new(0));
        let acceptor = Arc::new(acceptor);
        let (s, ok, bad) = (stop.clone(), handshakes.clone(), failed_handshakes.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (acceptor, s, ok, bad) = (acceptor.clone(), s.clone(), ok.clone(), bad.clone());
                std::thread::spawn(move || {
                    let _ = conn.set_nodelay(true);
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
                    let tls = match acceptor.accept(conn) {
                        Ok(t) => t,
                        Err(_) => {
                            bad.fetch_add(1, Ordering::SeqCst);
                            return;
                        }
                    };
                    ok.fetch_add(1, Ordering::SeqCst);
                    let Ok(upstream) = TcpStream::connect(("127.0.0.1", upstream_port)) else {
                        return;
                    };
                    pipe(tls, upstream, &s);
                });
            }
        });
        TlsProxy {
            port,
            stop,
            handshakes,
            failed_handshakes,
        }
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Readable within `ms` milliseconds, per fd.
fn poll_readable(fds: [i32; 2], ms: i32) -> [bool; 2] {
    let mut p = [
        libc::pollfd {
            fd: fds[0],
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: fds[1],
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    let n = unsafe { libc::poll(p.as_mut_ptr(), 2, ms) };
    if n <= 0 {
        return [false, false];
    }
    // Errors and hang-ups count as readable: the read then reports them.
    [p[0].revents != 0, p[1].revents != 0]
}

fn pipe(mut tls: SslStream<TcpStream>, mut upstream: TcpStream, stop: &AtomicBool) {
    let quick = Some(Duration::from_millis(20));
    let _ = tls.get_ref().set_read_timeout(quick);
    let _ = upstream.set_read_timeout(quick);
    let _ = upstream.set_nodelay(true);
    let fds = [tls.get_ref().as_raw_fd(), upstream.as_raw_fd()];
    let mut buf = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::SeqCst) {
        // Bytes OpenSSL already decrypted are not visible to poll.
        let [mut from_client, from_upstream] = if tls.ssl().pending() > 0 {
            [true, poll_readable(fds, 0)[1]]
        } else {
            poll_readable(fds, 100)
        };
        if tls.ssl().pending() > 0 {
            from_client = true;
        }
        if from_client {
            match tls.ssl_read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    if upstream.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
                Err(e) if matches!(e.code(), ErrorCode::WANT_READ | ErrorCode::WANT_WRITE) => {}
                Err(e) if e.code() == ErrorCode::SYSCALL && e.io_error().is_some_and(timed_out) => {
                }
                Err(_) => return,
            }
        }
        if from_upstream {
            match upstream.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    if tls.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
                Err(e) if timed_out(&e) => {}
                Err(_) => return,
            }
        }
    }
}

fn timed_out(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}
