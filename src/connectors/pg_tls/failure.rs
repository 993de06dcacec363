//! What a failed connection reports: each TLS failure names the setting to change, and the
//! client's own failures are passed on for the caller to classify.

use openssl::x509::X509VerifyResult;

use super::settings::TlsSettings;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{key} names {path}, which cannot be read ({reason}); give the path of an existing file readable by kconnect")]
    Unreadable {
        key: String,
        path: String,
        reason: String,
    },
    #[error("{key} names {path}, which is not {what} ({reason})")]
    Malformed {
        key: String,
        path: String,
        what: &'static str,
        reason: String,
    },
    #[error("{mode_key}={mode} checks the server's certificate against a CA, but {key} is not set and there is no ~/.postgresql/root.crt; set it to the CA certificate (PEM) that signed the server's certificate, or use {mode_key}=require to encrypt without checking")]
    NoRootCert {
        mode_key: String,
        mode: &'static str,
        key: String,
    },
    #[error("{cert_key} and {key_key} go together: set both to present a client certificate")]
    HalfClientCert { cert_key: String, key_key: String },
    #[error("cannot set up TLS: {0}")]
    Setup(#[from] openssl::error::ErrorStack),
}

/// Why a connection failed: TLS problems carry their own remedy, anything else is the
/// client's error for the caller to classify.
#[derive(Debug, thiserror::Error)]
pub enum ConnectFailure {
    #[error(transparent)]
    Setup(#[from] TlsError),
    #[error("TLS to PostgreSQL at {addr}: certificate verify failed ({detail}); {remedy}")]
    Verify {
        addr: String,
        detail: String,
        remedy: String,
    },
    #[error("PostgreSQL at {addr} does not offer TLS, but {mode_key}={mode} requires it; turn ssl on in the server's postgresql.conf, or use {mode_key}=prefer or disable")]
    NoServerTls {
        addr: String,
        mode_key: String,
        mode: &'static str,
    },
    #[error("PostgreSQL at {addr} accepts only TLS connections ({message}), but {mode_key}=disable; set {mode_key} to prefer, require, verify-ca or verify-full")]
    ServerNeedsTls {
        addr: String,
        mode_key: String,
        message: String,
    },
    #[error("TLS handshake with PostgreSQL at {addr} failed: {detail}; check {mode_key} and the certificate settings")]
    Handshake {
        addr: String,
        mode_key: String,
        detail: String,
    },
    #[error(transparent)]
    Postgres(postgres::Error),
}

impl ConnectFailure {
    /// TLS failures are about settings or certificates: retrying does not help.
    pub fn is_tls(&self) -> bool {
        !matches!(self, ConnectFailure::Postgres(_))
    }
}

/// X509_V_ERR_HOSTNAME_MISMATCH: the chain is fine, the name is not.
const HOSTNAME_MISMATCH: i32 = 62;

impl TlsSettings {
    fn remedy(&self, verify: Option<X509VerifyResult>, hosts: &str) -> String {
        if verify.is_some_and(|v| v.as_raw() == HOSTNAME_MISMATCH) {
            return format!(
                "the server's certificate was not issued for {hosts}: connect with a host name the certificate names, or use {}=verify-ca to check only the chain",
                self.key("sslmode")
            );
        }
        format!(
            "set {} to the CA that signed the server's certificate, or use {}=require to encrypt without checking",
            self.key("sslrootcert"),
            self.key("sslmode")
        )
    }
}

/// Whether OpenSSL gave up because the server's certificate did not verify.
pub(super) fn ssl_verify_failed(e: &openssl::ssl::Error) -> bool {
    e.ssl_error().is_some_and(|stack| {
        stack
            .errors()
            .iter()
            .any(|x| x.reason() == Some("certificate verify failed"))
    })
}

/// The failure to report for a failed handshake: a verification failure says which
/// setting to change, anything else names the mode.
pub(super) fn tls_failure(
    tls: &TlsSettings,
    addr: &str,
    hosts: &str,
    detail: String,
    verify_failed: bool,
    verify: Option<X509VerifyResult>,
) -> ConnectFailure {
    let reason = verify.filter(|v| *v != X509VerifyResult::OK);
    if verify_failed || reason.is_some() {
        return ConnectFailure::Verify {
            addr: addr.to_string(),
            detail: reason
                .map(|v| v.error_string().to_string())
                .unwrap_or(detail),
            remedy: tls.remedy(reason, hosts),
        };
    }
    ConnectFailure::Handshake {
        addr: addr.to_string(),
        mode_key: tls.key("sslmode"),
        detail,
    }
}

/// The server refused a plain connection because its pg_hba.conf has only `hostssl` lines
/// for us ("... no encryption"), while the settings do not ask for TLS.
pub fn server_needs_tls(
    tls: &TlsSettings,
    addr: &str,
    code: &str,
    message: &str,
) -> Option<ConnectFailure> {
    (code == "28000" && message.contains("no encryption") && !tls.mode.requires_tls()).then(|| {
        ConnectFailure::ServerNeedsTls {
            addr: addr.to_string(),
            mode_key: tls.key("sslmode"),
            message: message.to_string(),
        }
    })
}

/// The error when the server answers an SSLRequest with 'N' but the mode requires TLS.
pub fn no_server_tls(tls: &TlsSettings, addr: &str) -> ConnectFailure {
    ConnectFailure::NoServerTls {
        addr: addr.to_string(),
        mode_key: tls.key("sslmode"),
        mode: tls.mode.name(),
    }
}

/// Turns the client's error into one that says what to change, for the TLS cases.
pub(super) fn classify(
    e: postgres::Error,
    tls: &TlsSettings,
    addr: &str,
    hosts: &str,
    verify: Option<X509VerifyResult>,
) -> ConnectFailure {
    if let Some(db) = e.as_db_error() {
        if let Some(f) = server_needs_tls(tls, addr, db.code().code(), db.message()) {
            return f;
        }
        return ConnectFailure::Postgres(e);
    }
    // tokio-postgres reports every TLS failure with this text and the cause as its source.
    if !e.to_string().starts_with("error performing TLS handshake") {
        return ConnectFailure::Postgres(e);
    }
    let mut detail = String::new();
    let mut verify_failed = false;
    let mut src = std::error::Error::source(&e);
    while let Some(inner) = src {
        if let Some(ssl) = inner.downcast_ref::<openssl::ssl::Error>() {
            verify_failed |= ssl_verify_failed(ssl);
        }
        if detail.is_empty() {
            detail = inner.to_string();
        }
        src = inner.source();
    }
    if detail == "server does not support TLS" {
        return no_server_tls(tls, addr);
    }
    tls_failure(tls, addr, hosts, detail, verify_failed, verify)
}
