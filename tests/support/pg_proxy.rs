//! A TCP proxy in front of PostgreSQL that turns the first logins away as a server that is
//! starting up does (FATAL, SQLSTATE 57P03), then passes connections through: to test that
//! clients take that for a passing state, not for a wrong user or database.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub struct StartingUpProxy {
    pub port: u16,
    /// Logins turned away so far.
    pub refused: Arc<AtomicUsize>,
}

impl StartingUpProxy {
    /// Refuses the first `refusals` connections, forwards the rest to 127.0.0.1:`upstream`.
    pub fn start(upstream: u16, refusals: usize) -> StartingUpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let refused = Arc::new(AtomicUsize::new(0));
        let count = refused.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                if count.load(Ordering::SeqCst) < refusals {
                    count.fetch_add(1, Ordering::SeqCst);
                    std::thread::spawn(move || {
                        let _ = refuse(conn);
                    });
                } else {
                    std::thread::spawn(move || {
                        let _ = pass(conn, upstream);
                    });
                }
            }
        });
        StartingUpProxy { port, refused }
    }
}

fn read_packet(c: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    c.read_exact(&mut len)?;
    let mut body = vec![0u8; (u32::from_be_bytes(len) as usize).saturating_sub(4)];
    c.read_exact(&mut body)?;
    Ok(body)
}

/// Answers an SSLRequest with "no TLS", reads the startup message and answers it with the
/// error PostgreSQL sends while it starts up.
fn refuse(mut c: TcpStream) -> std::io::Result<()> {
    let mut first = read_packet(&mut c)?;
    // SSLRequest (80877103) or GSSENCRequest (80877104): not here.
    while first.len() == 4
        && matches!(
            u32::from_be_bytes(first[..4].try_into().unwrap()),
            80877103 | 80877104
        )
    {
        c.write_all(b"N")?;
        first = read_packet(&mut c)?;
    }
    let mut fields = Vec::new();
    for (k, v) in [
        (b'S', "FATAL"),
        (b'V', "FATAL"),
        (b'C', "57P03"),
        (b'M', "the database system is starting up"),
    ] {
        fields.push(k);
        fields.extend_from_slice(v.as_bytes());
        fields.push(0);
    }
    fields.push(0);
    let mut msg = vec![b'E'];
    msg.extend_from_slice(&(fields.len() as u32 + 4).to_be_bytes());
    msg.extend_from_slice(&fields);
    c.write_all(&msg)?;
    c.shutdown(Shutdown::Both)
}

fn pass(client: TcpStream, upstream: u16) -> std::io::Result<()> {
    let server = TcpStream::connect(("127.0.0.1", upstream))?;
    let (mut cr, mut sw) = (client.try_clone()?, server.try_clone()?);
    let (mut sr, mut cw) = (server, client);
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut cr, &mut sw);
        let _ = sw.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut sr, &mut cw);
    let _ = cw.shutdown(Shutdown::Write);
    let _ = up.join();
    Ok(())
}
