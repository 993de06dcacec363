//! The HTTP side: one tiny_http server per listener, a small fixed pool of handler threads
//! each, basic authentication before anything else, bodies bounded by `MAX_BODY`.

use std::io::Read;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use tiny_http::{Header, Response, Server, SslConfig};

use super::auth::{BasicAuth, UNAUTHORIZED_BODY};
use super::listeners::{self, Advertised, Listener, Scheme};
use super::routes::{handle, Context};
use super::{tls, Reply, Request, RestError, MAX_BODY};
use crate::config::WorkerConfig;
use crate::runtime::control::Control;

/// Handler threads per listener. Requests are answered from memory by the control plane; the
/// threads are for clients that send a large body slowly (tiny_http reads bodies over 1 KiB in
/// the handler): four such clients at once are needed to hold the API up.
const HANDLERS: usize = 4;

/// A running REST server; `stop` (or dropping it) closes the listeners and joins the threads.
pub struct RestServer {
    servers: Vec<Arc<Server>>,
    threads: Vec<JoinHandle<()>>,
    stopping: Arc<AtomicBool>,
    bound: Vec<Listener>,
    advertised: Advertised,
}

impl std::fmt::Debug for RestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestServer")
            .field("listeners", &self.bound)
            .field("advertised", &self.advertised)
            .finish()
    }
}

struct Shared {
    ctx: Context,
    auth: Option<BasicAuth>,
}

impl RestServer {
    /// Starts the listeners the worker config names; `Ok(None)` when `listeners` is empty.
    /// Everything is checked before the first port is bound: an unsupported extension, a
    /// missing users file or an unreadable keystore fail the start, never the first request.
    pub fn start(
        worker: &WorkerConfig,
        control: Arc<dyn Control>,
    ) -> Result<Option<RestServer>, RestError> {
        let Some(wanted) = listeners::listeners(worker)? else {
            return Ok(None);
        };
        let auth = BasicAuth::from_worker(worker)?;
        let material = if wanted.iter().any(|l| l.scheme == Scheme::Https) {
            Some(tls::load(worker)?)
        } else {
            None
        };
        let mut servers = Vec::new();
        let mut bound = Vec::new();
        for l in &wanted {
            let addr = l.bind_addr()?;
            let socket = TcpListener::bind(addr).map_err(|source| {
                if source.kind() == std::io::ErrorKind::AddrInUse {
                    RestError::PortInUse {
                        listener: l.spec.clone(),
                        port: addr.port(),
                        source,
                    }
                } else {
                    RestError::Bind {
                        listener: l.spec.clone(),
                        addr,
                        source,
                    }
                }
            })?;
            // Accepted sockets inherit TCP_NODELAY on Linux: tiny_http writes a body larger
            // than its buffer apart from the headers, and Nagle's algorithm would hold it for the
            // client's delayed ACK (40 ms a request on a keep-alive connection).
            let _ = socket2::SockRef::from(&socket).set_tcp_nodelay(true);
            let port = socket.local_addr().map(|a| a.port()).unwrap_or(l.port);
            let ssl = match (l.scheme, &material) {
                (Scheme::Https, Some(m)) => Some(SslConfig {
                    certificate: m.chain_pem.clone(),
                    private_key: m.key_pem.clone(),
                }),
                _ => None,
            };
            let server = Server::from_listener(socket, ssl).map_err(|e| RestError::Tls {
                listener: l.spec.clone(),
                message: e.to_string(),
            })?;
            servers.push(Arc::new(server));
            bound.push(Listener { port, ..l.clone() });
        }
        let advertised = listeners::advertised(worker, &bound)?;
        let shared = Arc::new(Shared {
            ctx: Context {
                control,
                base_url: advertised.url(),
            },
            auth,
        });
        let stopping = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for (server, l) in servers.iter().zip(&bound) {
            for i in 0..HANDLERS {
                let (server, shared, stopping) = (server.clone(), shared.clone(), stopping.clone());
                let scheme = l.scheme;
                let t = std::thread::Builder::new()
                    .name(format!("rest-{}-{i}", l.port))
                    .spawn(move || serve(&server, scheme, &shared, &stopping))
                    .map_err(|source| RestError::Bind {
                        listener: l.spec.clone(),
                        addr: l
                            .bind_addr()
                            .unwrap_or_else(|_| ([0, 0, 0, 0], l.port).into()),
                        source,
                    })?;
                threads.push(t);
            }
            tracing::info!(listener = %l.spec, port = l.port, "REST API listening");
        }
        Ok(Some(RestServer {
            servers,
            threads,
            stopping,
            bound,
            advertised,
        }))
    }

    /// The address given out: `worker_id()` is what status bodies carry.
    pub fn advertised(&self) -> &Advertised {
        &self.advertised
    }

    /// The listeners as bound (port 0 replaced by the port the system chose).
    pub fn listeners(&self) -> &[Listener] {
        &self.bound
    }

    /// Stops accepting, lets the handlers finish the request in hand, and returns.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        for s in &self.servers {
            for _ in 0..HANDLERS {
                s.unblock();
            }
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        // Dropping the servers closes the listening sockets.
        self.servers.clear();
    }
}

impl Drop for RestServer {
    fn drop(&mut self) {
        if !self.threads.is_empty() {
            self.shutdown();
        }
    }
}

fn serve(server: &Server, scheme: Scheme, shared: &Shared, stopping: &AtomicBool) {
    while !stopping.load(Ordering::SeqCst) {
        match server.recv() {
            Ok(rq) => answer(rq, scheme, shared),
            // Unblocked by stop(), or an accept error already logged by tiny_http.
            Err(_) => continue,
        }
    }
}

fn header<'a>(rq: &'a tiny_http::Request, name: &str) -> Option<&'a str> {
    rq.headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

/// `scheme://host` from the `Host` header, when it is a plain `host[:port]` (anything else
/// could smuggle text into a `Location` header).
fn base_url(rq: &tiny_http::Request, scheme: Scheme) -> Option<String> {
    let host = header(rq, "Host")?.trim();
    let plain = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b));
    plain.then(|| format!("{}://{host}", scheme.name()))
}

fn answer(mut rq: tiny_http::Request, scheme: Scheme, shared: &Shared) {
    let method = rq.method().as_str().to_string();
    let url = rq.url().to_string();
    let reply = if shared
        .auth
        .as_ref()
        .is_some_and(|a| !a.allows(header(&rq, "Authorization")))
    {
        Reply {
            status: 401,
            body: super::Body::Text(UNAUTHORIZED_BODY.into(), "text/plain"),
            location: None,
            allow: None,
        }
    } else {
        match read_body(&mut rq) {
            Ok(body) => {
                let content_type = header(&rq, "Content-Type").map(str::to_string);
                let base = base_url(&rq, scheme);
                handle(
                    &shared.ctx,
                    &Request {
                        method: &method,
                        url: &url,
                        body: &body,
                        content_type: content_type.as_deref(),
                        base_url: base.as_deref(),
                    },
                )
            }
            Err(r) => r,
        }
    };
    tracing::debug!(method = %method, path = %url.split('?').next().unwrap_or(""), status = reply.status, "REST request");
    let (bytes, content_type) = reply.encode();
    let mut resp = Response::from_data(bytes).with_status_code(reply.status);
    let mut add = |k: &str, v: &str| {
        if let Ok(h) = Header::from_bytes(k.as_bytes(), v.as_bytes()) {
            resp.add_header(h);
        }
    };
    if let Some(ct) = content_type {
        add("Content-Type", ct);
    }
    if let Some(l) = &reply.location {
        add("Location", l);
    }
    if let Some(a) = &reply.allow {
        add("Allow", a);
    }
    if reply.status == 401 {
        add("WWW-Authenticate", "Basic realm=\"kconnect\"");
    }
    let _ = rq.respond(resp);
}

/// The body, at most `MAX_BODY` bytes; a larger one is 413 without reading it all.
fn read_body(rq: &mut tiny_http::Request) -> Result<Vec<u8>, Reply> {
    let too_large = || {
        Reply::error(
            413,
            format!("The request body is larger than {MAX_BODY} bytes, the most kconnect reads"),
        )
    };
    if rq.body_length().is_some_and(|n| n > MAX_BODY) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    rq.as_reader()
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| Reply::error(400, format!("Could not read the request body: {e}")))?;
    if body.len() > MAX_BODY {
        return Err(too_large());
    }
    Ok(body)
}
