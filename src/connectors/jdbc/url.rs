//! Connection URLs in the JDBC form users' existing files carry
//! (`jdbc:postgresql://host:port/db?user=..`), as a libpq `postgres://` URL or keyword string;
//! all end up as one `postgres::Config` and the TLS settings.

use std::str::FromStr;
use std::time::Duration;

use super::config::ConfigError;
use crate::connectors::pg_tls::{Spelling, SslMode, TlsSettings};

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a JDBC PostgreSQL URL or a libpq URL / keyword string into a client config.
/// Credentials in the URL win over `connection.user` / `connection.password`, as they do with
/// the PostgreSQL JDBC driver.
pub fn parse_url(
    url: &str,
    user: Option<&str>,
    password: Option<&str>,
) -> Result<(postgres::Config, TlsSettings, String), ConfigError> {
    let url = url.trim();
    let mut cfg;
    let mut tls = TlsParams::default();
    if let Some(rest) = url.strip_prefix("jdbc:postgresql:") {
        cfg = postgres::Config::new();
        let (main, query) = match rest.split_once('?') {
            Some((m, q)) => (m, Some(q)),
            None => (rest, None),
        };
        let (hosts, db) = if let Some(r) = main.strip_prefix("//") {
            match r.split_once('/') {
                Some((h, d)) => (h, d),
                None => (r, ""),
            }
        } else {
            // jdbc:postgresql:database and jdbc:postgresql:/ mean localhost:5432.
            ("", main.trim_start_matches('/'))
        };
        let hosts = if hosts.is_empty() { "localhost" } else { hosts };
        for h in hosts.split(',') {
            let (host, port) = split_host_port(h)?;
            cfg.host(&host);
            cfg.port(port);
        }
        let db = percent_decode(db);
        if !db.is_empty() {
            cfg.dbname(&db);
        }
        if let Some(q) = query {
            for pair in q.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                let v = percent_decode(v);
                match k {
                    "user" => {
                        cfg.user(&v);
                    }
                    "password" => {
                        cfg.password(v.as_bytes());
                    }
                    "sslmode" | "ssl" | "sslrootcert" | "sslcert" | "sslkey" | "sslpassword"
                    | "sslfactory" => tls.set(k, v),
                    "ApplicationName" | "applicationName" => {
                        cfg.application_name(&v);
                    }
                    "connectTimeout" => {
                        if let Ok(secs) = v.parse::<u64>() {
                            if secs > 0 {
                                cfg.connect_timeout(Duration::from_secs(secs));
                            }
                        }
                    }
                    "options" => {
                        cfg.options(&v);
                    }
                    // Driver tuning (prepareThreshold, reWriteBatchedInserts, ..) has no
                    // meaning for this client.
                    _ => {}
                }
            }
        }
    } else if url.starts_with("postgres://")
        || url.starts_with("postgresql://")
        || url.contains('=')
    {
        // The client's parser knows only disable/prefer/require and no certificate files:
        // the TLS parameters are taken out and handled here.
        let rest = tls.take_from_libpq(url);
        cfg = postgres::Config::from_str(&rest).map_err(|e| ConfigError::Url(e.to_string()))?;
        if cfg.get_hosts().is_empty() {
            cfg.host("localhost");
        }
    } else {
        return Err(ConfigError::Url(format!(
            "{} is neither a jdbc:postgresql:// URL nor a postgres:// URL",
            redact_url(url)
        )));
    }
    if cfg.get_user().is_none() {
        if let Some(u) = user {
            cfg.user(u);
        }
    }
    if cfg.get_password().is_none() {
        if let Some(p) = password {
            cfg.password(p.as_bytes());
        }
    }
    if cfg.get_connect_timeout().is_none() {
        cfg.connect_timeout(Duration::from_secs(10));
    }
    if cfg.get_application_name().is_none() {
        cfg.application_name("kconnect-jdbc-sink");
    }
    cfg.keepalives(true);
    Ok((cfg, tls.settings()?, redact_url(url)))
}

/// The URL's TLS parameters, as the PostgreSQL JDBC driver reads them.
#[derive(Default)]
struct TlsParams {
    sslmode: Option<String>,
    ssl: Option<String>,
    factory: Option<String>,
    root_cert: Option<String>,
    cert: Option<String>,
    key: Option<String>,
    password: Option<String>,
}

impl TlsParams {
    fn set(&mut self, k: &str, v: String) {
        let slot = match k {
            "sslmode" => &mut self.sslmode,
            "ssl" => &mut self.ssl,
            "sslfactory" => &mut self.factory,
            "sslrootcert" => &mut self.root_cert,
            "sslcert" => &mut self.cert,
            "sslkey" => &mut self.key,
            "sslpassword" => &mut self.password,
            _ => return,
        };
        *slot = Some(v);
    }

    /// Removes the TLS parameters from a libpq URL (`?sslmode=..&..`) or keyword string
    /// (`sslmode=.. host=..`), keeping them here; returns the rest.
    fn take_from_libpq(&mut self, url: &str) -> String {
        let is_ssl = |k: &str| {
            matches!(
                k,
                "sslmode" | "sslrootcert" | "sslcert" | "sslkey" | "sslpassword"
            )
        };
        if url.contains("://") {
            let Some((main, query)) = url.split_once('?') else {
                return url.to_string();
            };
            let mut kept = Vec::new();
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                if is_ssl(k) {
                    self.set(k, percent_decode(v));
                } else {
                    kept.push(pair);
                }
            }
            if kept.is_empty() {
                main.to_string()
            } else {
                format!("{main}?{}", kept.join("&"))
            }
        } else {
            let mut kept = Vec::new();
            for word in url.split_whitespace() {
                match word.split_once('=') {
                    Some((k, v)) if is_ssl(k.trim()) => {
                        self.set(k.trim(), v.trim_matches('\'').to_string())
                    }
                    _ => kept.push(word),
                }
            }
            kept.join(" ")
        }
    }

    fn settings(self) -> Result<TlsSettings, ConfigError> {
        let mut tls = TlsSettings::new(Spelling::ConnectionUrl);
        let path = |v: Option<String>| {
            v.filter(|v| !v.trim().is_empty())
                .map(|v| std::path::PathBuf::from(v.trim()))
        };
        tls.root_cert = path(self.root_cert);
        tls.client_cert = path(self.cert);
        tls.client_key = path(self.key);
        tls.key_password = self.password;
        tls.mode = match (&self.sslmode, &self.ssl) {
            (Some(m), _) => SslMode::parse(m).ok_or_else(|| {
                ConfigError::Url(format!(
                    "sslmode={m} is not a TLS mode; use one of {}",
                    SslMode::NAMES.join(", ")
                ))
            })?,
            // The driver's older switch: ssl=true alone means verify-full.
            (None, Some(s)) if s.eq_ignore_ascii_case("true") || s.is_empty() => {
                SslMode::VerifyFull
            }
            (None, Some(_)) => SslMode::Disable,
            (None, None) => SslMode::Prefer,
        };
        // The driver's NonValidatingFactory encrypts without checking the certificate.
        if self
            .factory
            .as_deref()
            .is_some_and(|f| f.ends_with("NonValidatingFactory"))
            && matches!(tls.mode, SslMode::VerifyCa | SslMode::VerifyFull)
        {
            tls.mode = SslMode::Require;
        }
        Ok(tls)
    }
}

fn split_host_port(h: &str) -> Result<(String, u16), ConfigError> {
    let h = h.trim();
    // [::1]:5432
    if let Some(r) = h.strip_prefix('[') {
        let (host, rest) = r
            .split_once(']')
            .ok_or_else(|| ConfigError::Url(format!("bad IPv6 host {h}")))?;
        let port = match rest.strip_prefix(':') {
            Some(p) => p
                .parse()
                .map_err(|_| ConfigError::Url(format!("bad port in {h}")))?,
            None => 5432,
        };
        return Ok((host.to_string(), port));
    }
    match h.rsplit_once(':') {
        Some((host, port)) => Ok((
            host.to_string(),
            port.parse()
                .map_err(|_| ConfigError::Url(format!("bad port {port:?} in host {h}")))?,
        )),
        None => Ok((h.to_string(), 5432)),
    }
}

/// The URL with any password replaced, safe for logs and errors.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_string();
    // password=... and sslpassword=... in a query string or keyword form
    let mut from = 0;
    while let Some(i) = out[from..].find("password=") {
        let start = from + i + "password=".len();
        let end = out[start..]
            .find(['&', ' '])
            .map(|e| start + e)
            .unwrap_or(out.len());
        out.replace_range(start..end, "****");
        from = start + "****".len();
    }
    // user:password@ in a libpq URL
    if let Some(scheme_end) = out.find("://") {
        let auth_start = scheme_end + 3;
        if let Some(at) = out[auth_start..].find('@') {
            let auth = &out[auth_start..auth_start + at];
            if let Some(colon) = auth.find(':') {
                out.replace_range(auth_start + colon + 1..auth_start + at, "****");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jdbc_url_with_credentials_in_query() {
        let (c, _, shown) = parse_url(
            "jdbc:postgresql://db.example:6543/sales?user=app&password=s%40cret&sslmode=disable",
            Some("other"),
            Some("other-pw"),
        )
        .unwrap();
        assert_eq!(c.get_user(), Some("app"));
        assert_eq!(c.get_password(), Some(&b"s@cret"[..]));
        assert_eq!(c.get_dbname(), Some("sales"));
        assert_eq!(c.get_ports(), &[6543]);
        assert!(!shown.contains("s%40cret"), "{shown}");
    }

    #[test]
    fn jdbc_url_takes_user_from_settings_and_default_port() {
        let (c, tls, _) =
            parse_url("jdbc:postgresql://localhost/postgres", Some("u"), Some("p")).unwrap();
        assert_eq!(tls.mode, SslMode::Prefer, "the JDBC driver's default");
        assert_eq!(c.get_user(), Some("u"));
        assert_eq!(c.get_password(), Some(&b"p"[..]));
        assert_eq!(c.get_ports(), &[5432]);
    }

    #[test]
    fn libpq_url_and_redaction() {
        let (c, _, shown) = parse_url("postgres://me:pw@127.0.0.1:5433/x", None, None).unwrap();
        assert_eq!(c.get_user(), Some("me"));
        assert_eq!(shown, "postgres://me:****@127.0.0.1:5433/x");
        assert!(parse_url("mysql://x", None, None).is_err());
        assert!(parse_url("jdbc:postgresql://h/db?sslmode=sometimes", None, None).is_err());
    }

    #[test]
    fn tls_parameters_in_jdbc_and_libpq_urls() {
        let (_, tls, shown) = parse_url(
            "jdbc:postgresql://h/db?sslmode=verify-full&sslrootcert=/etc/ca.pem&sslcert=/c.pem&sslkey=/k.pk8&sslpassword=k3y&password=pw",
            None,
            None,
        )
        .unwrap();
        assert_eq!(tls.mode, SslMode::VerifyFull);
        assert_eq!(
            tls.root_cert.as_deref(),
            Some(std::path::Path::new("/etc/ca.pem"))
        );
        assert_eq!(
            tls.client_key.as_deref(),
            Some(std::path::Path::new("/k.pk8"))
        );
        assert_eq!(tls.key_password.as_deref(), Some("k3y"));
        assert!(!shown.contains("k3y") && !shown.contains("=pw"), "{shown}");
        assert!(!format!("{tls:?}").contains("k3y"));

        let (c, tls, _) = parse_url(
            "postgres://me@h:5433/x?sslmode=verify-ca&sslrootcert=/ca.pem&application_name=a",
            None,
            None,
        )
        .unwrap();
        assert_eq!(tls.mode, SslMode::VerifyCa);
        assert_eq!(c.get_application_name(), Some("a"));
        let (_, tls, _) = parse_url("host=h dbname=x sslmode=require user=u", None, None).unwrap();
        assert_eq!(tls.mode, SslMode::Require);

        let mode = |url: &str| parse_url(url, None, None).unwrap().1.mode;
        assert_eq!(mode("jdbc:postgresql://h/db?ssl=true"), SslMode::VerifyFull);
        assert_eq!(
            mode("jdbc:postgresql://h/db?ssl=true&sslfactory=org.postgresql.ssl.NonValidatingFactory"),
            SslMode::Require
        );
        assert_eq!(mode("jdbc:postgresql://h/db?sslmode=allow"), SslMode::Allow);
    }
}
