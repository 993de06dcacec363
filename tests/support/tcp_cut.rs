//! Cuts established TCP connections from outside, as a network blip or a firewall dropping a
//! session would: `ss -K` makes the kernel abort every client socket connected to a port
//! (the client's next read or write fails, the server gets a reset). Unlike a proxy this
//! reaches clients that learn their server's address from the server itself, as Kafka
//! clients do from the broker's metadata.
//!
//! It needs a kernel with socket destroy (CONFIG_INET_DIAG_DESTROY) and CAP_NET_ADMIN; callers
//! ask [`supported`] first and say so when it is not.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::OnceLock;

/// Aborts every established connection to 127.0.0.1:`port` from this machine's clients and
/// returns how many there were.
pub fn cut_clients_of(port: u16) -> usize {
    let out = Command::new("ss")
        .args([
            "-K",
            "-t",
            "-n",
            "dst",
            "127.0.0.1",
            "dport",
            "=",
            &port.to_string(),
        ])
        .output()
        .expect("run ss (iproute2)");
    // A header line, then one line per socket it aborted.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .count()
}

/// Whether [`cut_clients_of`] works here: a probe connection is cut and must fail.
pub fn supported() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        let probe = || -> std::io::Result<bool> {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let port = listener.local_addr()?.port();
            let mut client = TcpStream::connect(("127.0.0.1", port))?;
            let (_server, _) = listener.accept()?;
            if Command::new("ss").arg("-V").output().is_err() {
                return Ok(false);
            }
            cut_clients_of(port);
            client.set_read_timeout(Some(std::time::Duration::from_secs(1)))?;
            let mut b = [0u8; 1];
            // An aborted socket fails at once; an intact one times out on the read.
            Ok(client.write_all(b"x").is_err()
                || client.read(&mut b).is_err_and(|e| {
                    !matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    )
                }))
        };
        probe().unwrap_or(false)
    })
}
