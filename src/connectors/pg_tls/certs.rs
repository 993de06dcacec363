//! Certificates and keys read from their files into an OpenSSL connector, cached per process
//! and per version of the files.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use openssl::pkey::{PKey, Private};
use openssl::ssl::{SslConnector, SslConnectorBuilder, SslMethod, SslVerifyMode};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::X509;

use super::failure::TlsError;
use super::settings::{SslMode, TlsSettings};

impl TlsSettings {
    fn builder(&self) -> Result<SslConnectorBuilder, TlsError> {
        let mut b = SslConnector::builder(SslMethod::tls_client())?;
        if self.verifies_chain() {
            match &self.effective_root_cert() {
                Some(p) if is_system(p) => b.set_default_verify_paths()?,
                Some(p) => {
                    let key = self.key("sslrootcert");
                    let certs = X509::stack_from_pem(&read(&key, p)?)
                        .map_err(|e| malformed(&key, p, "a PEM certificate file", e))?;
                    if certs.is_empty() {
                        return Err(TlsError::Malformed {
                            key,
                            path: p.display().to_string(),
                            what: "a PEM certificate file",
                            reason: "no certificate in it".into(),
                        });
                    }
                    // Only these CAs, as libpq: the builder starts from the system's store,
                    // which would let any public CA vouch for the server.
                    let mut store = X509StoreBuilder::new()?;
                    for c in certs {
                        store.add_cert(c)?;
                    }
                    b.set_cert_store(store.build());
                }
                None => return Err(self.no_root_cert()),
            }
            b.set_verify(SslVerifyMode::PEER);
        } else {
            b.set_verify(SslVerifyMode::NONE);
        }
        match (&self.client_cert, &self.client_key) {
            (None, None) => {}
            (Some(cert), Some(key_path)) => {
                let key = self.key("sslcert");
                let mut chain = X509::stack_from_pem(&read(&key, cert)?)
                    .map_err(|e| malformed(&key, cert, "a PEM certificate file", e))?
                    .into_iter();
                let Some(first) = chain.next() else {
                    return Err(TlsError::Malformed {
                        key,
                        path: cert.display().to_string(),
                        what: "a PEM certificate file",
                        reason: "no certificate in it".into(),
                    });
                };
                b.set_certificate(&first)?;
                for c in chain {
                    b.add_extra_chain_cert(c)?;
                }
                let pkey = self.private_key(key_path)?;
                b.set_private_key(&pkey)?;
                b.check_private_key().map_err(|e| TlsError::Malformed {
                    key: self.key("sslkey"),
                    path: key_path.display().to_string(),
                    what: "the private key of sslcert's certificate",
                    reason: e.to_string(),
                })?;
            }
            _ => return Err(self.half_client_cert()),
        }
        Ok(b)
    }

    /// The connector for these settings, built once per process and per version of the
    /// files: building one reads the system's whole CA bundle (tens of milliseconds), and
    /// every connection (replication, catalog, snapshot, each reconnect) needs one. A changed
    /// certificate or key file (rotation) gives a new connector, as libpq reads them anew.
    pub(super) fn connector(&self) -> Result<SslConnector, TlsError> {
        type Cache = Mutex<Vec<(ConnectorKey, SslConnector)>>;
        static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
        let key = ConnectorKey::of(self);
        let cache = CACHE.get_or_init(Cache::default);
        if let Some((_, c)) = cache
            .lock()
            .expect("connector cache")
            .iter()
            .find(|(k, _)| *k == key)
        {
            return Ok(c.clone());
        }
        let built = self.builder()?.build();
        let mut cache = cache.lock().expect("connector cache");
        cache.retain(|(k, _)| !k.same_settings(&key));
        cache.push((key, built.clone()));
        Ok(built)
    }

    /// PEM (PKCS#1 or PKCS#8) as libpq reads, or DER PKCS#8 (`.pk8`) as the JDBC driver
    /// reads; encrypted ones with `sslpassword`.
    fn private_key(&self, path: &Path) -> Result<PKey<Private>, TlsError> {
        let key = self.key("sslkey");
        let bytes = read(&key, path)?;
        let pw = self.key_password.as_deref().map(str::as_bytes);
        let parsed = if bytes.starts_with(b"-----") {
            match pw {
                Some(pw) => PKey::private_key_from_pem_passphrase(&bytes, pw),
                None => PKey::private_key_from_pem(&bytes),
            }
        } else {
            match pw {
                Some(pw) => PKey::private_key_from_pkcs8_passphrase(&bytes, pw),
                None => PKey::private_key_from_der(&bytes),
            }
        };
        parsed.map_err(|e| {
            let hint = if pw.is_some() {
                format!("; check {}", self.key("sslpassword"))
            } else {
                format!("; if the key is encrypted, set {}", self.key("sslpassword"))
            };
            TlsError::Malformed {
                key: key.clone(),
                path: path.display().to_string(),
                what: "a private key kconnect can read",
                reason: format!("{e}{hint}"),
            }
        })
    }
}

/// What a built connector depends on: the settings and when each file last changed.
#[derive(PartialEq)]
struct ConnectorKey {
    mode: SslMode,
    files: [Option<(PathBuf, Option<SystemTime>)>; 3],
    key_password: Option<String>,
}

impl ConnectorKey {
    fn of(tls: &TlsSettings) -> ConnectorKey {
        let file = |p: &Option<PathBuf>| {
            p.as_ref().map(|p| {
                let modified = std::fs::metadata(p).and_then(|m| m.modified()).ok();
                (p.clone(), modified)
            })
        };
        ConnectorKey {
            mode: tls.mode,
            files: [
                file(&tls.effective_root_cert()),
                file(&tls.client_cert),
                file(&tls.client_key),
            ],
            key_password: tls.key_password.clone(),
        }
    }

    /// Same settings, whatever the files' times: an entry this one replaces.
    fn same_settings(&self, other: &ConnectorKey) -> bool {
        self.mode == other.mode
            && self.key_password == other.key_password
            && self
                .files
                .iter()
                .zip(&other.files)
                .all(|(a, b)| a.as_ref().map(|f| &f.0) == b.as_ref().map(|f| &f.0))
    }
}

pub(super) fn is_system(p: &Path) -> bool {
    p.as_os_str() == "system"
}

pub(super) fn read(key: &str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::Unreadable {
        key: key.to_string(),
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn malformed(
    key: &str,
    path: &Path,
    what: &'static str,
    e: openssl::error::ErrorStack,
) -> TlsError {
    TlsError::Malformed {
        key: key.to_string(),
        path: path.display().to_string(),
        what,
        reason: e.to_string(),
    }
}
