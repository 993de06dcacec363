//! Connect's `listeners` and `rest.advertised.*` worker keys: where the REST server binds and
//! the address it gives out (status bodies' `worker_id`, the `Location` of a created
//! connector).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

use super::RestError;
use crate::config::WorkerConfig;

/// kconnect's default: loopback only, where Connect's `http://:8083` binds every interface
/// with no authentication.
pub const DEFAULT_LISTENERS: &str = "http://127.0.0.1:8083";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// One entry of `listeners`, as written (kept for messages) and as resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listener {
    pub spec: String,
    pub scheme: Scheme,
    /// Empty: every interface, as in Connect.
    pub host: String,
    pub port: u16,
}

impl Listener {
    /// The socket address to bind; an empty host binds every IPv4 interface.
    pub fn bind_addr(&self) -> Result<SocketAddr, RestError> {
        if self.host.is_empty() {
            return Ok(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                self.port,
            ));
        }
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        (host, self.port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(|| RestError::Listener {
                listener: self.spec.clone(),
                message: format!("cannot resolve the host {host}"),
            })
    }
}

impl fmt::Display for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.spec)
    }
}

/// Reads `listeners`: `None` when it is set empty (no REST server).
pub fn listeners(worker: &WorkerConfig) -> Result<Option<Vec<Listener>>, RestError> {
    let raw = worker
        .values
        .get("listeners")
        .map(String::as_str)
        .unwrap_or(DEFAULT_LISTENERS);
    let specs: Vec<&str> = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if specs.is_empty() {
        return Ok(None);
    }
    specs
        .into_iter()
        .map(parse)
        .collect::<Result<_, _>>()
        .map(Some)
}

/// `http://host:port`, `https://:8443`, `http://[::1]:8083`.
pub fn parse(spec: &str) -> Result<Listener, RestError> {
    let bad = |message: String| RestError::Listener {
        listener: spec.to_string(),
        message,
    };
    let (scheme, rest) = spec
        .split_once("://")
        .ok_or_else(|| bad("expected protocol://host:port, e.g. http://127.0.0.1:8083".into()))?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => {
            return Err(bad(format!(
                "unsupported protocol {other}; listeners are http:// or https://"
            )))
        }
    };
    let rest = rest.trim_end_matches('/');
    let (host, port) = rest
        .rsplit_once(':')
        .filter(|(h, _)| !h.ends_with(':') || h.starts_with('['))
        .ok_or_else(|| bad("the port is missing, e.g. http://127.0.0.1:8083".into()))?;
    let port: u16 = port
        .parse()
        .map_err(|_| bad(format!("{port} is not a port number")))?;
    Ok(Listener {
        spec: spec.to_string(),
        scheme,
        host: host.to_string(),
        port,
    })
}

/// The address the worker gives out: `rest.advertised.listener` picks the listener by
/// protocol, `rest.advertised.host.name` and `rest.advertised.port` replace its host and
/// port, as Connect's `RestServer.advertisedUrl` does; an unspecified host falls back to
/// the machine's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advertised {
    pub scheme: Scheme,
    pub host: String,
    pub port: u16,
}

impl Advertised {
    /// `host:port`, the `worker_id` of status bodies.
    pub fn worker_id(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme.name(), self.worker_id())
    }
}

/// The address the worker will give out, from the config alone (before anything is bound),
/// for a herder that needs its `worker_id` early; `None` when no REST server is configured.
/// A listener on port 0 gives port 0 here; `RestServer::advertised` has the bound one.
pub fn planned(worker: &WorkerConfig) -> Result<Option<Advertised>, RestError> {
    match listeners(worker)? {
        Some(ls) => advertised(worker, &ls).map(Some),
        None => Ok(None),
    }
}

/// `bound` are the listeners as bound (a port 0 replaced by the one the system chose).
pub fn advertised(worker: &WorkerConfig, bound: &[Listener]) -> Result<Advertised, RestError> {
    let get = |k: &str| {
        worker
            .values
            .get(k)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    };
    let chosen = match get("rest.advertised.listener") {
        Some(p) => {
            let want = p.to_ascii_lowercase();
            bound
                .iter()
                .find(|l| l.scheme.name() == want)
                .ok_or_else(|| RestError::Config {
                    key: "rest.advertised.listener".into(),
                    message: format!("no listener uses {p}; listeners has {}", names(bound)),
                })?
        }
        None => bound
            .iter()
            .find(|l| l.scheme == Scheme::Http)
            .unwrap_or(&bound[0]),
    };
    let host = match get("rest.advertised.host.name") {
        Some(h) => h.to_string(),
        None if chosen.host.is_empty() || chosen.host == "0.0.0.0" => local_hostname(),
        None => chosen.host.clone(),
    };
    let port = match get("rest.advertised.port") {
        Some(p) => p.parse().map_err(|_| RestError::Config {
            key: "rest.advertised.port".into(),
            message: format!("{p} is not a port number"),
        })?,
        None => chosen.port,
    };
    Ok(Advertised {
        scheme: chosen.scheme,
        host,
        port,
    })
}

fn names(ls: &[Listener]) -> String {
    ls.iter()
        .map(|l| l.spec.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn local_hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        if let Ok(s) = std::str::from_utf8(&buf[..end]) {
            if !s.is_empty() {
                return s.to_string();
            }
        }
    }
    "localhost".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(pairs: &[(&str, &str)]) -> WorkerConfig {
        WorkerConfig {
            values: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            source: None,
            providers: Default::default(),
            offsets_dir: "offsets".into(),
        }
    }

    #[test]
    fn parses_connect_listener_forms() {
        let l = parse("http://:8083").unwrap();
        assert_eq!(
            (l.scheme, l.host.as_str(), l.port),
            (Scheme::Http, "", 8083)
        );
        assert_eq!(l.bind_addr().unwrap().to_string(), "0.0.0.0:8083");
        let l = parse("HTTPS://[::1]:8443").unwrap();
        assert_eq!((l.scheme, l.host.as_str()), (Scheme::Https, "[::1]"));
        assert_eq!(l.bind_addr().unwrap().to_string(), "[::1]:8443");
        assert!(parse("ftp://x:1").unwrap_err().to_string().contains("ftp"));
        assert!(parse("http://host")
            .unwrap_err()
            .to_string()
            .contains("port"));
        assert!(parse("127.0.0.1:8083").is_err());
    }

    #[test]
    fn default_empty_and_several() {
        let d = listeners(&worker(&[])).unwrap().unwrap();
        assert_eq!(d[0].spec, DEFAULT_LISTENERS);
        assert!(listeners(&worker(&[("listeners", " ")])).unwrap().is_none());
        let two = listeners(&worker(&[("listeners", "http://a:1, https://b:2")]))
            .unwrap()
            .unwrap();
        assert_eq!(two.len(), 2);
    }

    #[test]
    fn advertised_follows_connect_keys() {
        let ls = vec![
            parse("http://127.0.0.1:1").unwrap(),
            parse("https://127.0.0.1:2").unwrap(),
        ];
        let a = advertised(&worker(&[]), &ls).unwrap();
        assert_eq!(a.url(), "http://127.0.0.1:1");
        let w = worker(&[
            ("rest.advertised.listener", "https"),
            ("rest.advertised.host.name", "connect.example"),
            ("rest.advertised.port", "9443"),
        ]);
        assert_eq!(
            advertised(&w, &ls).unwrap().url(),
            "https://connect.example:9443"
        );
        let w = worker(&[
            ("listeners", "http://127.0.0.1:8083"),
            ("rest.advertised.host.name", "w1"),
        ]);
        assert_eq!(planned(&w).unwrap().unwrap().worker_id(), "w1:8083");
        assert!(planned(&worker(&[("listeners", "")])).unwrap().is_none());
        let w = worker(&[("rest.advertised.port", "x")]);
        assert!(advertised(&w, &ls)
            .unwrap_err()
            .to_string()
            .contains("rest.advertised.port"));
    }
}
