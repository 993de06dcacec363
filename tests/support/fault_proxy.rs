//! A small HTTP proxy in front of an Elasticsearch API that injects faults into `_bulk`
//! requests: an error status without forwarding, a connection reset after the request reached
//! Elasticsearch, or a rewritten answer in which some items failed. Other requests pass.
//! One std thread per client connection; requests are forwarded one at a time.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this status (429, 503, ..) without forwarding.
    Status(u16),
    /// Forward, then drop the connection without an answer (Elasticsearch did the work).
    ResetAfterForward,
    /// Drop the connection before forwarding.
    ResetBeforeForward,
    /// Forward, then mark every `n`th item of the answer as rejected with 429.
    FailEveryNthItem(usize),
}

#[derive(Default)]
struct Plan {
    queue: VecDeque<Fault>,
    /// Applied to every bulk request once the queue is empty.
    always: Option<Fault>,
    /// Held before forwarding each bulk request, so requests overlap.
    delay: std::time::Duration,
    /// The bodies of the bulk requests Elasticsearch received, when asked to keep them.
    forwarded: Option<Vec<Vec<u8>>>,
}

pub struct FaultProxy {
    pub port: u16,
    plan: Arc<Mutex<Plan>>,
    stop: Arc<AtomicBool>,
    pub bulk_requests: Arc<AtomicUsize>,
    pub faults_injected: Arc<AtomicUsize>,
    /// The request line and headers of every bulk request, lower-cased.
    pub bulk_heads: Arc<Mutex<Vec<String>>>,
    /// Bulk requests being handled now, and the most ever at once.
    active: Arc<AtomicUsize>,
    pub max_active: Arc<AtomicUsize>,
}

impl FaultProxy {
    pub fn start(upstream_port: u16) -> FaultProxy {
        FaultProxy::start_with(upstream_port, None)
    }

    /// An https front end: TLS (with this acceptor's client-certificate policy) terminated
    /// here, plain HTTP to Elasticsearch.
    pub fn start_tls(upstream_port: u16, acceptor: openssl::ssl::SslAcceptor) -> FaultProxy {
        FaultProxy::start_with(upstream_port, Some(Arc::new(acceptor)))
    }

    fn start_with(upstream_port: u16, tls: Option<Arc<openssl::ssl::SslAcceptor>>) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let plan = Arc::new(Mutex::new(Plan::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let bulk_requests = Arc::new(AtomicUsize::new(0));
        let faults_injected = Arc::new(AtomicUsize::new(0));
        let bulk_heads = Arc::new(Mutex::new(Vec::new()));
        let active = Arc::new(AtomicUsize::new(0));
        let max_active = Arc::new(AtomicUsize::new(0));
        let (p, s, b, f, h) = (
            plan.clone(),
            stop.clone(),
            bulk_requests.clone(),
            faults_injected.clone(),
            bulk_heads.clone(),
        );
        let (a, m) = (active.clone(), max_active.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (p, b, f, h) = (p.clone(), b.clone(), f.clone(), h.clone());
                let counters = (a.clone(), m.clone());
                let tls = tls.clone();
                std::thread::spawn(move || match tls {
                    None => {
                        let _ = serve(conn, upstream_port, &p, &b, &f, &h, &counters);
                    }
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(conn) {
                            let _ = serve(stream, upstream_port, &p, &b, &f, &h, &counters);
                        }
                    }
                });
            }
        });
        FaultProxy {
            port,
            plan,
            stop,
            bulk_requests,
            faults_injected,
            bulk_heads,
            active,
            max_active,
        }
    }

    /// Holds every bulk request this long before forwarding it.
    pub fn delay(&self, d: std::time::Duration) {
        self.plan.lock().unwrap().delay = d;
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Faults for the next bulk requests, in order.
    pub fn push(&self, faults: impl IntoIterator<Item = Fault>) {
        self.plan.lock().unwrap().queue.extend(faults);
    }

    /// Keeps the body of every bulk request forwarded from now on (see `take_forwarded`).
    pub fn keep_forwarded(&self) {
        self.plan
            .lock()
            .unwrap()
            .forwarded
            .get_or_insert_with(Vec::new);
    }

    /// The bodies of the bulk requests forwarded since the last call.
    pub fn take_forwarded(&self) -> Vec<Vec<u8>> {
        self.plan
            .lock()
            .unwrap()
            .forwarded
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// A fault for every bulk request after the queued ones (None: pass them through).
    pub fn always(&self, fault: Option<Fault>) {
        self.plan.lock().unwrap().always = fault;
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

struct Message {
    head: String,
    body: Vec<u8>,
}

fn read_message<S: Read>(r: &mut BufReader<S>) -> std::io::Result<Option<Message>> {
    read_message_of(r, false)
}

fn read_message_of<S: Read>(
    r: &mut BufReader<S>,
    head_only: bool,
) -> std::io::Result<Option<Message>> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        if line == "\r\n" && head.is_empty() {
            continue;
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let mut len = 0usize;
    let mut chunked = false;
    for l in head.lines() {
        let lower = l.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
    }
    let mut body = Vec::new();
    if head_only {
        return Ok(Some(Message { head, body }));
    }
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        head = head
            .lines()
            .filter(|l| !l.to_ascii_lowercase().starts_with("transfer-encoding:"))
            .map(|l| format!("{l}\r\n"))
            .collect::<String>();
        head.truncate(head.len() - 2);
        head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    } else {
        body.resize(len, 0);
        r.read_exact(&mut body)?;
    }
    Ok(Some(Message { head, body }))
}

fn with_length(head: &str, len: usize) -> String {
    let mut out = String::new();
    for l in head.split("\r\n") {
        if l.is_empty() {
            continue;
        }
        if l.to_ascii_lowercase().starts_with("content-length:") {
            out.push_str(&format!("content-length: {len}\r\n"));
        } else {
            out.push_str(l);
            out.push_str("\r\n");
        }
    }
    out.push_str("\r\n");
    out
}

fn forward(upstream_port: u16, req: &Message) -> std::io::Result<Message> {
    let up = TcpStream::connect(("127.0.0.1", upstream_port))?;
    let mut w = up.try_clone()?;
    w.write_all(req.head.as_bytes())?;
    w.write_all(&req.body)?;
    w.flush()?;
    let mut r = BufReader::new(up);
    read_message_of(&mut r, req.head.starts_with("HEAD"))?
        .ok_or_else(|| std::io::Error::other("upstream closed"))
}

/// Streams the proxy serves: plain TCP, which can be reset, or TLS, which is just closed.
pub trait AsRawFdOpt {
    fn reset(&mut self);
}

impl AsRawFdOpt for TcpStream {
    fn reset(&mut self) {
        reset(self)
    }
}

impl AsRawFdOpt for openssl::ssl::SslStream<TcpStream> {
    fn reset(&mut self) {
        reset(self.get_ref())
    }
}

fn reset(conn: &TcpStream) {
    // SO_LINGER 0 makes close send a RST, as a crashed peer or a middlebox would.
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket and a correctly sized option value.
    unsafe {
        libc::setsockopt(
            conn.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    let _ = conn.shutdown(Shutdown::Both);
}

fn serve<S: Read + Write + AsRawFdOpt>(
    conn: S,
    upstream_port: u16,
    plan: &Mutex<Plan>,
    bulks: &AtomicUsize,
    injected: &AtomicUsize,
    heads: &Mutex<Vec<String>>,
    (active, max_active): &(Arc<AtomicUsize>, Arc<AtomicUsize>),
) -> std::io::Result<()> {
    let mut r = BufReader::new(conn);
    while let Some(req) = read_message(&mut r)? {
        let is_bulk = req.head.starts_with("POST") && req.head.contains("/_bulk");
        let fault = if is_bulk {
            bulks.fetch_add(1, Ordering::SeqCst);
            heads.lock().unwrap().push(req.head.to_ascii_lowercase());
            let now = active.fetch_add(1, Ordering::SeqCst) + 1;
            max_active.fetch_max(now, Ordering::SeqCst);
            let (fault, delay) = {
                let mut p = plan.lock().unwrap();
                (p.queue.pop_front().or_else(|| p.always.clone()), p.delay)
            };
            std::thread::sleep(delay);
            fault
        } else {
            None
        };
        if fault.is_some() {
            injected.fetch_add(1, Ordering::SeqCst);
        }
        let forwards = !matches!(
            fault,
            Some(Fault::Status(_)) | Some(Fault::ResetBeforeForward)
        );
        let result = answer(&req, fault, upstream_port, r.get_mut());
        if is_bulk && forwards && result.is_ok() {
            if let Some(kept) = plan.lock().unwrap().forwarded.as_mut() {
                kept.push(req.body.clone());
            }
        }
        if is_bulk {
            active.fetch_sub(1, Ordering::SeqCst);
        }
        if !result? {
            return Ok(());
        }
    }
    Ok(())
}

/// Answers one request; `Ok(false)` when the connection was dropped.
fn answer<S: Write + AsRawFdOpt>(
    req: &Message,
    fault: Option<Fault>,
    upstream_port: u16,
    out: &mut S,
) -> std::io::Result<bool> {
    {
        match fault {
            None => {
                let resp = forward(upstream_port, req)?;
                out.write_all(resp.head.as_bytes())?;
                out.write_all(&resp.body)?;
            }
            Some(Fault::Status(code)) => {
                let body = format!(
                    "{{\"error\":{{\"type\":\"injected\",\"reason\":\"fault proxy answered {code}\"}},\"status\":{code}}}"
                );
                let head = format!(
                    "HTTP/1.1 {code} Injected\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                out.write_all(head.as_bytes())?;
                out.write_all(body.as_bytes())?;
            }
            Some(Fault::ResetBeforeForward) => {
                out.reset();
                return Ok(false);
            }
            Some(Fault::ResetAfterForward) => {
                let _ = forward(upstream_port, req)?;
                out.reset();
                return Ok(false);
            }
            Some(Fault::FailEveryNthItem(n)) => {
                let resp = forward(upstream_port, req)?;
                let mut j: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
                if let Some(items) = j["items"].as_array_mut() {
                    for (i, item) in items.iter_mut().enumerate() {
                        if i % n.max(1) != 0 {
                            continue;
                        }
                        if let Some(obj) = item.as_object_mut() {
                            for (_, res) in obj.iter_mut() {
                                res["status"] = 429.into();
                                res["error"] = serde_json::json!({
                                    "type": "es_rejected_execution_exception",
                                    "reason": "injected by the fault proxy"
                                });
                            }
                        }
                    }
                    j["errors"] = true.into();
                }
                let body = serde_json::to_vec(&j).unwrap();
                out.write_all(with_length(&resp.head, body.len()).as_bytes())?;
                out.write_all(&body)?;
            }
        }
        out.flush()?;
    }
    Ok(true)
}
