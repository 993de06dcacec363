//! Talking to a Kafka Connect worker's REST API (kconnect's or a JVM worker's): the URL, basic
//! authentication, TLS trust, and Connect's error bodies turned into errors that say what to do.
//!
//! It uses reqwest because the Elasticsearch sink already links it (with native-tls, that is
//! the system's OpenSSL), so the client adds no HTTP or TLS stack of its own to the binary.

use std::error::Error as _;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::{Method, Url};
use serde_json::Value as Json;

/// The default `--url`: where `kconnect run` serves the REST API unless `listeners` says
/// otherwise.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8083";

/// How long a connection may take to open. Loopback and LAN workers answer in milliseconds; a
/// firewall that drops packets should not leave the command hanging.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a whole request may take unless `--timeout` says. Connect's own REST timeout for
/// herder requests is 90 s (a restart waits for the connector to stop), so this leaves it
/// room to answer first.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(100);

/// Where the worker is and how to prove who we are; what the common flags say.
#[derive(Clone, Debug, Default)]
pub struct Connection {
    /// `--url` / `KCONNECT_URL`; `host:port` alone means `http://host:port`.
    pub url: String,
    /// `--user`: basic authentication, as Connect's `BasicAuthSecurityRestExtension` checks it.
    pub user: Option<String>,
    /// `--password-file`: the password is its first line. Without it, `KCONNECT_PASSWORD`.
    /// (There is no password flag: it would land in shell history and `ps`.)
    pub password_file: Option<PathBuf>,
    /// `--insecure`: accept any certificate and host name (a test worker's self-signed one).
    pub insecure: bool,
    /// `--cacert`: PEM certificates to trust besides the system's.
    pub cacert: Option<PathBuf>,
    /// `--timeout`: how long a request may take (default `REQUEST_TIMEOUT`); a health check
    /// wants seconds.
    pub timeout: Option<Duration>,
}

/// Why a request to the worker did not get the answer asked for.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("--url {url:?} is not a URL ({source}); write e.g. http://127.0.0.1:8083")]
    BadUrl {
        url: String,
        source: url::ParseError,
    },
    #[error("--url {url:?}: a Connect worker speaks http or https, not {scheme}")]
    BadScheme { url: String, scheme: String },
    #[error("--user {user} needs a password: set KCONNECT_PASSWORD or give --password-file FILE")]
    NoPassword { user: String },
    #[error("--password-file {} is the password of --user USER (or KCONNECT_USER), which is missing", path.display())]
    PasswordWithoutUser { path: PathBuf },
    #[error("cannot read the password file {}", path.display())]
    PasswordFile { path: PathBuf, source: io::Error },
    #[error("cannot read the CA certificate file {}", path.display())]
    CaCertRead { path: PathBuf, source: io::Error },
    #[error("{} holds no PEM certificate to trust (give --cacert a PEM file, as for curl)", path.display())]
    CaCertBad {
        path: PathBuf,
        source: reqwest::Error,
    },
    #[error("cannot set up the HTTP client")]
    Setup { source: reqwest::Error },
    /// The runtime the requests run on could not start (out of file descriptors or threads).
    #[error("cannot start the HTTP client's runtime")]
    Runtime { source: io::Error },
    #[error("no worker listens at {url} (connection refused). Start one with `kconnect run` (it serves the REST API on the worker key `listeners`, {DEFAULT_URL} by default), or point --url or KCONNECT_URL at the worker")]
    Refused { url: String, source: reqwest::Error },
    #[error("the worker at {url} did not answer {what} within {:?}; it may be overloaded or busy stopping a connector; try again (--timeout gives it longer) or check its log", timeout)]
    Timeout {
        url: String,
        what: String,
        timeout: Duration,
        source: reqwest::Error,
    },
    #[error("cannot reach a worker at {url}; check the address (--url or KCONNECT_URL), and for HTTPS --cacert or --insecure")]
    Unreachable { url: String, source: reqwest::Error },
    #[error("the worker at {url} refused the credentials of user {user} (HTTP 401{}); check --user and the password in KCONNECT_PASSWORD or --password-file", server_says(.message))]
    BadCredentials {
        url: String,
        user: String,
        message: String,
    },
    #[error("the worker at {url} wants credentials (HTTP 401{}); give --user USER with the password in KCONNECT_PASSWORD or --password-file FILE", server_says(.message))]
    NeedsCredentials { url: String, message: String },
    /// Any other error answer: Connect's `message` says why.
    #[error("{message} (HTTP {status} from {what})")]
    Http {
        status: u16,
        what: String,
        message: String,
    },
    #[error("the answer to {what} from {url} is not Kafka Connect's JSON ({source}); is {url} a Kafka Connect worker?")]
    NotConnect {
        url: String,
        what: String,
        source: serde_json::Error,
    },
}

fn server_says(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

impl ClientError {
    /// True when no worker answered at all (as opposed to a worker refusing the request).
    pub fn no_answer(&self) -> bool {
        matches!(
            self,
            ClientError::Refused { .. }
                | ClientError::Timeout { .. }
                | ClientError::Unreachable { .. }
                | ClientError::NotConnect { .. }
        )
    }

    /// True when the command line itself is wrong (a flag, a file a flag names).
    pub fn usage(&self) -> bool {
        matches!(
            self,
            ClientError::BadUrl { .. }
                | ClientError::BadScheme { .. }
                | ClientError::NoPassword { .. }
                | ClientError::PasswordWithoutUser { .. }
                | ClientError::PasswordFile { .. }
                | ClientError::CaCertRead { .. }
                | ClientError::CaCertBad { .. }
        )
    }
}

/// A successful answer: its status (200, 202, 204, ...) and body, empty when there is none.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    /// The body as JSON; `what` names the request for the error.
    pub fn json(&self, worker: &Worker, what: &str) -> Result<Json, ClientError> {
        serde_json::from_str(&self.body).map_err(|source| ClientError::NotConnect {
            url: worker.shown.clone(),
            what: what.to_string(),
            source,
        })
    }
}

/// One worker's REST API. Requests run one at a time on a current-thread runtime: a command
/// makes one or a few, so a thread pool would only cost start-up time.
pub struct Worker {
    base: Url,
    /// The URL without credentials, for messages.
    shown: String,
    auth: Option<(String, String)>,
    timeout: Duration,
    http: reqwest::Client,
    rt: tokio::runtime::Runtime,
}

impl Worker {
    pub fn connect(c: &Connection) -> Result<Worker, ClientError> {
        let base = parse_url(&c.url)?;
        let mut shown_url = base.clone();
        let _ = shown_url.set_username("");
        let _ = shown_url.set_password(None);
        let shown = shown_url.as_str().trim_end_matches('/').to_string();
        let auth = match &c.user {
            None => match &c.password_file {
                Some(path) => return Err(ClientError::PasswordWithoutUser { path: path.clone() }),
                None => None,
            },
            Some(user) => Some((user.clone(), password(user, c.password_file.as_deref())?)),
        };
        let timeout = c.timeout.unwrap_or(REQUEST_TIMEOUT);
        let mut builder = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .timeout(timeout)
            .user_agent(concat!("kconnect/", env!("CARGO_PKG_VERSION")));
        if c.insecure {
            builder = builder
                .danger_accept_invalid_certs(true)
                .danger_accept_invalid_hostnames(true);
        }
        if let Some(path) = &c.cacert {
            let pem = std::fs::read(path).map_err(|source| ClientError::CaCertRead {
                path: path.clone(),
                source,
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|source| {
                ClientError::CaCertBad {
                    path: path.clone(),
                    source,
                }
            })?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .build()
            .map_err(|source| ClientError::Setup { source })?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| ClientError::Runtime { source })?;
        Ok(Worker {
            base,
            shown,
            auth,
            timeout,
            http,
            rt,
        })
    }

    /// The worker's URL as messages show it (never with credentials).
    pub fn url(&self) -> &str {
        &self.shown
    }

    /// Sends `method` to the path made of `segments` (each percent-encoded: a connector name
    /// may hold `/` or spaces), under the URL's own path, so a worker behind a reverse proxy's
    /// prefix works. A non-2xx answer is an error carrying Connect's `message`.
    pub fn send(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<&Json>,
    ) -> Result<Answer, ClientError> {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let what = format!("{method} {}", &url[url::Position::BeforePath..]);
        let mut request = self.http.request(method, url);
        if let Some((user, password)) = &self.auth {
            request = request.basic_auth(user, Some(password));
        }
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let (status, text) = self
            .rt
            .block_on(async {
                let response = request.send().await?;
                let status = response.status();
                Ok::<_, reqwest::Error>((status, response.text().await?))
            })
            .map_err(|e| self.transport_error(e, &what))?;
        if status.is_success() {
            return Ok(Answer {
                status: status.as_u16(),
                body: text,
            });
        }
        let message = error_message(&text, status);
        Err(match (status.as_u16(), &self.auth) {
            (401, Some((user, _))) => ClientError::BadCredentials {
                url: self.shown.clone(),
                user: user.clone(),
                message,
            },
            (401, None) => ClientError::NeedsCredentials {
                url: self.shown.clone(),
                message,
            },
            (code, _) => ClientError::Http {
                status: code,
                what,
                message,
            },
        })
    }

    fn transport_error(&self, source: reqwest::Error, what: &str) -> ClientError {
        // The message names the worker's URL already (without credentials).
        let source = source.without_url();
        let url = self.shown.clone();
        if source.is_timeout() {
            return ClientError::Timeout {
                url,
                what: what.to_string(),
                timeout: self.timeout,
                source,
            };
        }
        let mut cause = source.source();
        while let Some(e) = cause {
            if let Some(io) = e.downcast_ref::<io::Error>() {
                if io.kind() == io::ErrorKind::ConnectionRefused {
                    return ClientError::Refused { url, source };
                }
            }
            cause = e.source();
        }
        ClientError::Unreachable { url, source }
    }
}

/// `host:port` is taken as `http://host:port`, as curl does.
fn parse_url(text: &str) -> Result<Url, ClientError> {
    let trimmed = text.trim();
    let full = if trimmed.contains("://") {
        trimmed.to_string()
    } else {
        format!("http://{trimmed}")
    };
    let url = Url::parse(&full).map_err(|source| ClientError::BadUrl {
        url: without_userinfo(text),
        source,
    })?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(ClientError::BadScheme {
            url: without_userinfo(text),
            scheme: other.to_string(),
        }),
    }
}

/// `http://user:password@host` as `http://***@host`: a URL that did not parse is echoed in
/// the error, never the password someone put in it.
fn without_userinfo(text: &str) -> String {
    let start = text.find("://").map(|i| i + 3).unwrap_or(0);
    let authority_end = text[start..]
        .find(['/', '?', '#'])
        .map(|i| start + i)
        .unwrap_or(text.len());
    match text[start..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &text[..start], &text[start + at..]),
        None => text.to_string(),
    }
}

/// The password for `--user`: the first line of `--password-file`, else `KCONNECT_PASSWORD`.
fn password(user: &str, file: Option<&Path>) -> Result<String, ClientError> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|source| ClientError::PasswordFile {
            path: path.to_path_buf(),
            source,
        })?;
        return Ok(text.lines().next().unwrap_or("").to_string());
    }
    std::env::var("KCONNECT_PASSWORD").map_err(|_| ClientError::NoPassword {
        user: user.to_string(),
    })
}

/// Connect's `{"error_code": .., "message": ..}`, or the body's text when it is something
/// else (a proxy's page), or the status's reason when there is no body.
fn error_message(body: &str, status: reqwest::StatusCode) -> String {
    if let Ok(Json::Object(o)) = serde_json::from_str::<Json>(body) {
        if let Some(Json::String(m)) = o.get("message") {
            return m.clone();
        }
    }
    let text = body.trim();
    if text.is_empty() {
        status.canonical_reason().unwrap_or("").to_string()
    } else {
        text.lines().next().unwrap_or(text).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_host_and_port_is_http() {
        assert_eq!(
            parse_url("localhost:8083").unwrap().as_str(),
            "http://localhost:8083/"
        );
        assert_eq!(
            parse_url("https://w:8443/connect/").unwrap().as_str(),
            "https://w:8443/connect/"
        );
        assert!(matches!(
            parse_url("http://[::1"),
            Err(ClientError::BadUrl { .. })
        ));
        assert!(matches!(
            parse_url("ftp://w:21"),
            Err(ClientError::BadScheme { .. })
        ));
        let e = parse_url("http://alice:s3cret@[::1:8083/x")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("http://***@[::1:8083/x") && !e.contains("s3cret"),
            "{e}"
        );
        assert_eq!(without_userinfo("w:8083/a@b"), "w:8083/a@b");
    }

    #[test]
    fn connects_message_is_what_an_error_says() {
        let s = reqwest::StatusCode::NOT_FOUND;
        assert_eq!(
            error_message(r#"{"error_code":404,"message":"Connector x not found"}"#, s),
            "Connector x not found"
        );
        assert_eq!(error_message("", s), "Not Found");
        assert_eq!(
            error_message(
                "<html>\nbad gateway</html>",
                reqwest::StatusCode::BAD_GATEWAY
            ),
            "<html>"
        );
    }
}
