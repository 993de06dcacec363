//! The settings and what each `sslmode` means: which modes need TLS, which check the chain,
//! where the root certificate comes from, and what `validate` can tell without connecting.

use std::path::{Path, PathBuf};

use super::certs::{is_system, read};
use super::failure::TlsError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    /// libpq tries plain first and TLS if the server insists; connecting with `prefer`
    /// reaches the same servers (only the order differs), so it is treated as prefer.
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub const NAMES: &'static [&'static str] = &[
        "disable",
        "allow",
        "prefer",
        "require",
        "verify-ca",
        "verify-full",
    ];

    pub fn parse(s: &str) -> Option<SslMode> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    pub fn requires_tls(self) -> bool {
        matches!(
            self,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull
        )
    }

    pub(super) fn client_mode(self) -> postgres::config::SslMode {
        match self {
            SslMode::Disable => postgres::config::SslMode::Disable,
            SslMode::Allow | SslMode::Prefer => postgres::config::SslMode::Prefer,
            _ => postgres::config::SslMode::Require,
        }
    }
}

/// Where the settings came from, so messages name what the user actually wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spelling {
    /// Debezium's `database.sslmode`, `database.sslrootcert`, ...
    Debezium,
    /// Parameters of a JDBC or libpq `connection.url`.
    ConnectionUrl,
}

/// The TLS part of a connection's settings.
#[derive(Clone)]
pub struct TlsSettings {
    pub mode: SslMode,
    /// PEM file of the CA certificates that may sign the server's certificate, or `system`
    /// for the operating system's trust store (as libpq 16 accepts).
    pub root_cert: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub key_password: Option<String>,
    pub spelling: Spelling,
}

impl std::fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSettings")
            .field("mode", &self.mode)
            .field("root_cert", &self.root_cert)
            .field("client_cert", &self.client_cert)
            .field("client_key", &self.client_key)
            .field("key_password", &self.key_password.as_ref().map(|_| "****"))
            .finish()
    }
}

impl TlsSettings {
    /// libpq's, Debezium's and the JDBC driver's default: TLS when offered, unchecked.
    pub fn new(spelling: Spelling) -> TlsSettings {
        TlsSettings {
            mode: SslMode::Prefer,
            root_cert: None,
            client_cert: None,
            client_key: None,
            key_password: None,
            spelling,
        }
    }

    /// How the user names a setting (`sslrootcert` → `database.sslrootcert`).
    pub fn key(&self, param: &str) -> String {
        match self.spelling {
            Spelling::Debezium => format!("database.{param}"),
            // Messages about a URL's parameters say they are about connection.url.
            Spelling::ConnectionUrl => param.to_string(),
        }
    }

    /// What `kconnect validate` can tell without connecting: each problem with the setting
    /// it is about.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if matches!(self.mode, SslMode::VerifyCa | SslMode::VerifyFull)
            && self.effective_root_cert().is_none()
        {
            let e = self.no_root_cert();
            out.push((self.key("sslrootcert"), e.to_string()));
        }
        for (param, path) in [
            ("sslrootcert", &self.root_cert),
            ("sslcert", &self.client_cert),
            ("sslkey", &self.client_key),
        ] {
            let Some(path) = path else { continue };
            if param == "sslrootcert" && is_system(path) {
                continue;
            }
            if let Err(e) = read(&self.key(param), path) {
                out.push((self.key(param), e.to_string()));
            }
        }
        if self.client_cert.is_some() != self.client_key.is_some() {
            let e = self.half_client_cert();
            out.push((self.key("sslkey"), e.to_string()));
        }
        out
    }

    /// `sslrootcert`, or where libpq and the JDBC driver look when it is not set:
    /// `~/.postgresql/root.crt`, when that file exists.
    pub(super) fn effective_root_cert(&self) -> Option<PathBuf> {
        self.root_cert.clone().or_else(|| {
            let home = std::env::var_os("HOME")?;
            let p = Path::new(&home).join(".postgresql").join("root.crt");
            p.is_file().then_some(p)
        })
    }

    pub(super) fn no_root_cert(&self) -> TlsError {
        TlsError::NoRootCert {
            mode_key: self.key("sslmode"),
            mode: self.mode.name(),
            key: self.key("sslrootcert"),
        }
    }

    pub(super) fn half_client_cert(&self) -> TlsError {
        TlsError::HalfClientCert {
            cert_key: self.key("sslcert"),
            key_key: self.key("sslkey"),
        }
    }

    /// Whether the server's chain is checked: always in the verify modes, and in `require`
    /// when a root certificate is given (libpq does so for compatibility).
    pub(super) fn verifies_chain(&self) -> bool {
        match self.mode {
            SslMode::VerifyCa | SslMode::VerifyFull => true,
            SslMode::Require => self.effective_root_cert().is_some(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_map_to_the_client() {
        for name in SslMode::NAMES {
            assert_eq!(SslMode::parse(name).unwrap().name(), *name);
        }
        assert_eq!(SslMode::parse("Verify-Full"), Some(SslMode::VerifyFull));
        assert_eq!(SslMode::parse("on"), None);
        use postgres::config::SslMode as C;
        assert_eq!(SslMode::Allow.client_mode(), C::Prefer);
        assert_eq!(SslMode::VerifyCa.client_mode(), C::Require);
        assert_eq!(SslMode::Disable.client_mode(), C::Disable);
    }

    #[test]
    fn problems_name_the_setting_and_the_path() {
        let mut t = TlsSettings::new(Spelling::Debezium);
        t.mode = SslMode::VerifyFull;
        t.client_cert = Some("/nonexistent/client.crt".into());
        let problems = t.problems();
        let keys: Vec<&str> = problems.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "database.sslrootcert",
                "database.sslcert",
                "database.sslkey"
            ]
        );
        assert!(problems[0].1.contains("database.sslmode=verify-full"));
        assert!(problems[1].1.contains("/nonexistent/client.crt"));
        // require checks the chain only when a root certificate is given.
        t.mode = SslMode::Require;
        assert!(!t.verifies_chain());
        t.root_cert = Some("system".into());
        assert!(t.verifies_chain());
    }

    #[test]
    fn the_key_password_is_not_shown() {
        let mut t = TlsSettings::new(Spelling::ConnectionUrl);
        t.key_password = Some("hunter2".into());
        assert!(!format!("{t:?}").contains("hunter2"));
    }
}
