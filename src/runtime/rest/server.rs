//! The HTTP side: hyper's HTTP/1.1 on one thread of its own, with every wait bounded so that no
//! client can hold the API up: a TLS handshake, the request head and the request body each
//! have a time limit, connections are capped, and the control plane is called on a small pool
//! of blocking threads. Basic authentication is checked before the body is read; bodies are
//! bounded by `MAX_BODY`.

use std::convert::Infallible;
use std::net::TcpListener as StdListener;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use super::auth::{BasicAuth, UNAUTHORIZED_BODY};
use super::listeners::{self, Advertised, Listener, Scheme};
use super::routes::{handle, Context, TopicTracking};
use super::{tls, Reply, Request, RestError, MAX_BODY};
use crate::config::WorkerConfig;
use crate::runtime::control::Control;

/// Open connections per listener. One more is accepted and closed at once: a client that opens
/// connections and sends nothing can exhaust this only for `HEAD_TIMEOUT`.
const MAX_CONNECTIONS: usize = 64;
/// Threads calling the control plane at once. Most answers come from memory; a few (offsets
/// edits, stop) wait for tasks, and those must not hold up the rest of the API.
const BLOCKING_THREADS: usize = 4;
/// From connecting (or the previous answer on a keep-alive connection) to the end of the
/// request head; an idle keep-alive connection is closed after it.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Reading the whole body: 16 MiB at a slow 600 KB/s still fits.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a stop lets requests in hand finish.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A running REST server; `stop` (or dropping it) closes the listeners and joins its thread.
pub struct RestServer {
    thread: Option<JoinHandle<()>>,
    stop: watch::Sender<bool>,
    /// Connections wait in the listen backlog until `open`: the ports are bound early (a
    /// port in use fails the start) but nothing is answered before the connectors are loaded.
    open: watch::Sender<bool>,
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
        let acceptor = if wanted.iter().any(|l| l.scheme == Scheme::Https) {
            let m = tls::load(worker)?;
            let listener = wanted
                .iter()
                .find(|l| l.scheme == Scheme::Https)
                .map(|l| l.spec.clone())
                .unwrap_or_default();
            let tls_err = |e: native_tls::Error| RestError::Tls {
                listener: listener.clone(),
                message: e.to_string(),
            };
            let identity =
                native_tls::Identity::from_pkcs8(&m.chain_pem, &m.key_pem).map_err(tls_err)?;
            let acceptor = native_tls::TlsAcceptor::new(identity).map_err(tls_err)?;
            Some(tokio_native_tls::TlsAcceptor::from(acceptor))
        } else {
            None
        };
        let mut sockets = Vec::new();
        let mut bound = Vec::new();
        for l in &wanted {
            let addr = l.bind_addr()?;
            let bind_err = |source: std::io::Error| {
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
            };
            let socket = StdListener::bind(addr).map_err(bind_err)?;
            socket.set_nonblocking(true).map_err(bind_err)?;
            let port = socket.local_addr().map(|a| a.port()).unwrap_or(l.port);
            sockets.push((socket, l.scheme));
            bound.push(Listener { port, ..l.clone() });
        }
        let advertised = listeners::advertised(worker, &bound)?;
        let shared = Arc::new(Shared {
            ctx: Context {
                control,
                base_url: advertised.url(),
                topic_tracking: TopicTracking {
                    enabled: worker
                        .settings()
                        .bool("topic.tracking.enable")
                        .unwrap_or(true),
                    allow_reset: worker
                        .settings()
                        .bool("topic.tracking.allow.reset")
                        .unwrap_or(true),
                },
            },
            auth,
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .max_blocking_threads(BLOCKING_THREADS)
            .thread_name("rest-handler")
            .build()
            .map_err(|source| RestError::Bind {
                listener: wanted[0].spec.clone(),
                addr: wanted[0]
                    .bind_addr()
                    .unwrap_or_else(|_| ([0, 0, 0, 0], 0).into()),
                source,
            })?;
        // Registering the sockets needs the runtime's reactor: done here, so a failure is a
        // start error and not a silent thread exit.
        let mut listening = Vec::new();
        {
            let _enter = runtime.enter();
            for ((socket, scheme), l) in sockets.into_iter().zip(&bound) {
                let socket = TcpListener::from_std(socket).map_err(|source| RestError::Bind {
                    listener: l.spec.clone(),
                    addr: l
                        .bind_addr()
                        .unwrap_or_else(|_| ([0, 0, 0, 0], l.port).into()),
                    source,
                })?;
                let tls = (scheme == Scheme::Https)
                    .then(|| acceptor.clone())
                    .flatten();
                listening.push((socket, scheme, tls));
                tracing::info!(listener = %l.spec, port = l.port, "REST API listening");
            }
        }
        let (stop, stopped) = watch::channel(false);
        let (open, mut opened) = watch::channel(false);
        let thread = std::thread::Builder::new()
            .name("rest".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let mut stopping = stopped.clone();
                    tokio::select! {
                        _ = opened.wait_for(|open| *open) => {}
                        _ = stopping.wait_for(|stop| *stop) => return,
                    }
                    let mut serving = Vec::new();
                    for (socket, scheme, tls) in listening {
                        serving.push(tokio::spawn(accept_loop(
                            socket,
                            scheme,
                            tls,
                            shared.clone(),
                            stopped.clone(),
                        )));
                    }
                    for s in serving {
                        let _ = s.await;
                    }
                });
                // Handlers still blocked in the control plane are not waited for.
                runtime.shutdown_timeout(Duration::from_millis(100));
            })
            .map_err(|source| RestError::Bind {
                listener: wanted[0].spec.clone(),
                addr: ([0, 0, 0, 0], 0).into(),
                source,
            })?;
        Ok(Some(RestServer {
            thread: Some(thread),
            stop,
            open,
            bound,
            advertised,
        }))
    }

    /// The address given out: `worker_id()` is what status bodies carry.
    pub fn advertised(&self) -> &Advertised {
        &self.advertised
    }

    /// Starts answering the connections waiting since `start`.
    pub fn open(&self) {
        let _ = self.open.send(true);
    }

    /// The listeners as bound (port 0 replaced by the port the system chose).
    pub fn listeners(&self) -> &[Listener] {
        &self.bound
    }

    /// Closes the listening sockets at once, lets requests in hand finish (up to a few
    /// seconds), and returns.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for RestServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

async fn accept_loop(
    socket: TcpListener,
    scheme: Scheme,
    tls: Option<tokio_native_tls::TlsAcceptor>,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let stream = tokio::select! {
            _ = stopped.changed() => break,
            accepted = socket.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(error = %e, "REST API: accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(
                max = MAX_CONNECTIONS,
                "REST API: too many open connections; closing a new one"
            );
            continue;
        };
        // Answers larger than one segment would otherwise wait for the client's delayed ACK.
        let _ = stream.set_nodelay(true);
        let (shared, tls, stopped) = (shared.clone(), tls.clone(), stopped.clone());
        connections.spawn(async move {
            let _slot = slot;
            match tls {
                None => serve(stream, scheme, shared, stopped).await,
                Some(acceptor) => {
                    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                    {
                        Ok(Ok(stream)) => serve(stream, scheme, shared, stopped).await,
                        Ok(Err(e)) => tracing::debug!(error = %e, "REST API: TLS handshake failed"),
                        Err(_) => tracing::debug!("REST API: TLS handshake timed out"),
                    }
                }
            }
        });
        // Reap finished connections so the set does not grow with the connection count.
        while connections.try_join_next().is_some() {}
    }
    drop(socket);
    let _ = tokio::time::timeout(STOP_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
}

async fn serve<S>(
    stream: S,
    scheme: Scheme,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |rq| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(answer(rq, scheme, shared).await) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stopped.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `scheme://host` from the `Host` header, when it is a plain `host[:port]` (anything else
/// could smuggle text into a `Location` header).
fn base_url(headers: &HeaderMap, scheme: Scheme) -> Option<String> {
    let host = header(headers, "host")?.trim();
    let plain = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b));
    plain.then(|| format!("{}://{host}", scheme.name()))
}

async fn answer(
    rq: hyper::Request<Incoming>,
    scheme: Scheme,
    shared: Arc<Shared>,
) -> hyper::Response<Full<Bytes>> {
    let method = rq.method().as_str().to_string();
    let url = rq
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let refused = shared
        .auth
        .as_ref()
        .is_some_and(|a| !a.allows(header(rq.headers(), "authorization")));
    let reply = if refused {
        Reply {
            status: 401,
            body: super::Body::Text(UNAUTHORIZED_BODY.into(), "text/plain"),
            location: None,
            allow: None,
        }
    } else {
        let content_type = header(rq.headers(), "content-type").map(str::to_string);
        let base = base_url(rq.headers(), scheme);
        match read_body(rq).await {
            Ok(body) => {
                let (method, url) = (method.clone(), url.clone());
                let call = tokio::task::spawn_blocking(move || {
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
                });
                call.await.unwrap_or_else(|e| {
                    tracing::error!(error = %e, "REST API: a request handler panicked");
                    Reply::error(500, "Internal error; the worker's log has the details")
                })
            }
            Err(r) => r,
        }
    };
    tracing::debug!(method = %method, path = %url.split('?').next().unwrap_or(""), status = reply.status, "REST request");
    respond(&reply)
}

fn respond(reply: &Reply) -> hyper::Response<Full<Bytes>> {
    let (bytes, content_type) = reply.encode();
    let mut resp = hyper::Response::new(Full::new(Bytes::from(bytes)));
    *resp.status_mut() = hyper::StatusCode::from_u16(reply.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = resp.headers_mut();
    let mut add = |k: &'static str, v: &str| {
        if let Ok(v) = HeaderValue::from_str(v) {
            headers.insert(k, v);
        }
    };
    if let Some(ct) = content_type {
        add("content-type", ct);
    }
    if let Some(l) = &reply.location {
        add("location", l);
    }
    if let Some(a) = &reply.allow {
        add("allow", a);
    }
    if reply.status == 401 {
        add("www-authenticate", "Basic realm=\"kconnect\"");
    }
    resp
}

/// The body, at most `MAX_BODY` bytes, within `BODY_TIMEOUT`; a larger one is 413 without
/// reading it all.
async fn read_body(rq: hyper::Request<Incoming>) -> Result<Vec<u8>, Reply> {
    let too_large = || {
        Reply::error(
            413,
            format!("The request body is larger than {MAX_BODY} bytes, the most kconnect reads"),
        )
    };
    let declared = header(rq.headers(), "content-length").and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large());
    }
    let limited = Limited::new(rq.into_body(), MAX_BODY);
    match tokio::time::timeout(BODY_TIMEOUT, limited.collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes().to_vec()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Ok(Err(e)) => Err(Reply::error(
            400,
            format!("Could not read the request body: {e}"),
        )),
        Err(_) => Err(Reply::error(
            408,
            format!(
                "The request body did not arrive within {} s",
                BODY_TIMEOUT.as_secs()
            ),
        )),
    }
}
