//! The connection to Elasticsearch: the `elasticsearch` crate's transport set up from the
//! connector's settings (several nodes, basic auth, TLS stores, gzip, timeouts, proxy), plus
//! the few index-management calls the sink makes before writing.

use std::time::Duration;

use elasticsearch::auth::{ClientCertificate, Credentials};
use elasticsearch::cert::{Certificate, CertificateValidation};
use elasticsearch::http::headers::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use elasticsearch::http::transport::{
    MultiNodeConnectionPool, SingleNodeConnectionPool, Transport, TransportBuilder,
};
use elasticsearch::http::{Method, StatusCode, Url};
use serde_json::Value as Json;

use super::config::{EsConfig, Tls};

/// Why a request did not get a usable answer, sorted by what the caller should do.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// Connection refused or reset, timeout, 429, 5xx: worth retrying.
    #[error("{0}")]
    Transient(String),
    /// Anything else (bad request, authentication): retrying will not help.
    #[error("{0}")]
    Permanent(String),
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SetupError(pub String);

pub fn build_transport(cfg: &EsConfig) -> Result<Transport, SetupError> {
    let mut urls = Vec::with_capacity(cfg.urls.len());
    for u in &cfg.urls {
        let url = Url::parse(u)
            .map_err(|e| SetupError(format!("connection.url: {u} is not a valid URL: {e}")))?;
        urls.push(url);
    }
    let mut builder = if urls.len() == 1 {
        TransportBuilder::new(SingleNodeConnectionPool::new(urls.remove(0)))
    } else {
        TransportBuilder::new(MultiNodeConnectionPool::round_robin(urls, None))
    };
    builder = builder
        .request_body_compression(cfg.compression)
        .timeout(cfg.request_timeout)
        .enable_meta_header(false);
    if let (Some(user), Some(pass)) = (&cfg.username, &cfg.password) {
        // A header rather than Credentials::Basic, so a client certificate can be used too.
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        let mut v = HeaderValue::from_str(&format!("Basic {token}")).map_err(|_| {
            SetupError(
                "connection.username contains characters not allowed in an HTTP header".into(),
            )
        })?;
        v.set_sensitive(true);
        builder = builder.header(AUTHORIZATION, v);
    }
    match &cfg.proxy {
        Some(p) => {
            let url = Url::parse(&format!("http://{}:{}", p.host, p.port)).map_err(|e| {
                SetupError(format!(
                    "proxy.host/proxy.port: {}:{} is not a valid proxy address: {e}",
                    p.host, p.port
                ))
            })?;
            builder = builder.proxy(url, p.username.as_deref(), p.password.as_deref());
        }
        None => builder = builder.disable_proxy(),
    }
    if let Some(tls) = &cfg.tls {
        builder = apply_tls(builder, tls)?;
    }
    builder
        .build()
        .map_err(|e| SetupError(format!("cannot set up the Elasticsearch client: {e}")))
}

fn read_store(path: &str, key: &str) -> Result<Vec<u8>, SetupError> {
    std::fs::read(path).map_err(|e| SetupError(format!("{key}: cannot read {path}: {e}")))
}

fn is_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).take(4096).any(|w| w == b"-----BEGIN ")
}

fn apply_tls(mut builder: TransportBuilder, tls: &Tls) -> Result<TransportBuilder, SetupError> {
    if let Some(path) = &tls.truststore {
        let key = "elastic.https.ssl.truststore.location";
        let bytes = read_store(path, key)?;
        let pem = if is_pem(&bytes) {
            bytes
        } else {
            let store = openssl::pkcs12::Pkcs12::from_der(&bytes)
                .and_then(|p| p.parse2(tls.truststore_password.as_deref().unwrap_or("")))
                .map_err(|e| {
                    SetupError(format!(
                        "{key}: {path} is neither PEM nor a PKCS12 store this password opens ({e}); JKS stores must be converted: keytool -importkeystore -srckeystore {path} -destkeystore ca.p12 -deststoretype PKCS12"
                    ))
                })?;
            let mut pem = Vec::new();
            for c in store.ca.into_iter().flatten().chain(store.cert) {
                pem.extend(c.to_pem().map_err(|e| SetupError(format!("{key}: {e}")))?);
            }
            pem
        };
        let cert = Certificate::from_pem(&pem)
            .map_err(|e| SetupError(format!("{key}: {path} holds no usable certificate: {e}")))?;
        builder = builder.cert_validation(if tls.verify_hostname {
            CertificateValidation::Full(cert)
        } else {
            CertificateValidation::Certificate(cert)
        });
    } else if !tls.verify_hostname {
        return Err(SetupError(
            "elastic.https.ssl.endpoint.identification.algorithm is empty but no elastic.https.ssl.truststore.location is set; give the CA to trust".into(),
        ));
    }
    if let Some(path) = &tls.keystore {
        let key = "elastic.https.ssl.keystore.location";
        let bytes = read_store(path, key)?;
        let password = tls.keystore_password.clone().unwrap_or_default();
        let der = if is_pem(&bytes) {
            pem_to_pkcs12(&bytes, &password)
                .map_err(|e| SetupError(format!("{key}: {path}: {e}")))?
        } else {
            openssl::pkcs12::Pkcs12::from_der(&bytes)
                .and_then(|p| p.parse2(&password))
                .map_err(|e| {
                    SetupError(format!(
                        "{key}: {path} is neither PEM nor a PKCS12 store that elastic.https.ssl.keystore.password opens ({e}); JKS stores must be converted to PKCS12"
                    ))
                })?;
            bytes
        };
        builder = builder.auth(Credentials::Certificate(ClientCertificate::Pkcs12(
            der,
            Some(password),
        )));
    }
    Ok(builder)
}

/// A PEM certificate chain and private key as one PKCS12 archive, the form the TLS stack takes.
fn pem_to_pkcs12(pem: &[u8], password: &str) -> Result<Vec<u8>, String> {
    let key = openssl::pkey::PKey::private_key_from_pem(pem)
        .map_err(|e| format!("no unencrypted private key in the PEM file: {e}"))?;
    let mut chain = openssl::x509::X509::stack_from_pem(pem)
        .map_err(|e| format!("cannot read the certificates: {e}"))?;
    if chain.is_empty() {
        return Err("no certificate in the PEM file".into());
    }
    let leaf = chain.remove(0);
    let mut cas = openssl::stack::Stack::new().map_err(|e| e.to_string())?;
    for c in chain {
        cas.push(c).map_err(|e| e.to_string())?;
    }
    openssl::pkcs12::Pkcs12::builder()
        .name("kconnect")
        .pkey(&key)
        .cert(&leaf)
        .ca(cas)
        .build2(password)
        .and_then(|p| p.to_der())
        .map_err(|e| format!("cannot build a PKCS12 archive: {e}"))
}

pub fn is_transient_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// Sends one request and returns its status and body.
pub async fn request(
    transport: &Transport,
    method: Method,
    path: &str,
    body: Option<bytes::Bytes>,
    ndjson: bool,
    timeout: Duration,
) -> Result<(StatusCode, bytes::Bytes), RequestError> {
    let mut headers = HeaderMap::new();
    if ndjson {
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-ndjson"),
        );
    }
    let resp = transport
        .send(method, path, headers, None::<&()>, body, Some(timeout))
        .await
        .map_err(|e| {
            RequestError::Transient(format!(
                "{method:?} {path}: {}",
                if e.is_timeout() {
                    format!("no answer within {} ms", timeout.as_millis())
                } else {
                    describe(&e)
                }
            ))
        })?;
    let status = resp.status_code();
    let bytes = resp.bytes().await.map_err(|e| {
        RequestError::Transient(format!(
            "{method:?} {path}: reading the answer failed: {}",
            describe(&e)
        ))
    })?;
    Ok((status, bytes))
}

/// An error with its chain of causes (reqwest's top-level message alone says little).
fn describe(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        src = c.source();
    }
    s
}

/// `error.type: error.reason` of an Elasticsearch error answer, or its start.
pub fn error_summary(body: &[u8]) -> String {
    if let Ok(j) = serde_json::from_slice::<Json>(body) {
        let e = &j["error"];
        if let Some(ty) = e["type"].as_str() {
            return format!("{ty}: {}", e["reason"].as_str().unwrap_or(""));
        }
        if let Some(s) = e.as_str() {
            return s.to_string();
        }
    }
    let text = String::from_utf8_lossy(body);
    text.chars().take(300).collect()
}
