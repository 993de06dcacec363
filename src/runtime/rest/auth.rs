//! Basic authentication as Connect's `BasicAuthSecurityRestExtension` configures it: the
//! extension named in `rest.extension.classes`, the JAAS file (the JVM's
//! `java.security.auth.login.config`: here the worker key `kconnect.rest.jaas.config` or
//! `-Djava.security.auth.login.config=` in `KAFKA_OPTS`), its `KafkaConnect` entry with
//! `PropertyFileLoginModule` and the `file` of `user: password` lines.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;

use super::RestError;
use crate::config::WorkerConfig;

pub const BASIC_AUTH_EXTENSION: &str =
    "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension";
const LOGIN_MODULE: &str =
    "org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule";
pub const JAAS_KEY: &str = "kconnect.rest.jaas.config";

/// Connect's 401 body (`JaasBasicAuthFilter`), plain text.
pub const UNAUTHORIZED_BODY: &str = "User cannot access the resource.";

/// The users allowed in. Passwords are compared, never shown: `Debug` prints user names only.
pub struct BasicAuth {
    users: BTreeMap<String, String>,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth")
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl BasicAuth {
    /// Reads `rest.extension.classes`: `None` when empty, the basic-auth extension with its
    /// users, or an error naming any other extension (kconnect cannot load Java classes).
    pub fn from_worker(worker: &WorkerConfig) -> Result<Option<BasicAuth>, RestError> {
        let classes: Vec<&str> = worker
            .values
            .get("rest.extension.classes")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if let Some(other) = classes.iter().find(|c| **c != BASIC_AUTH_EXTENSION) {
            return Err(RestError::Config {
                key: "rest.extension.classes".into(),
                message: format!(
                    "{other} is not supported; kconnect implements only {BASIC_AUTH_EXTENSION}"
                ),
            });
        }
        if classes.is_empty() {
            return Ok(None);
        }
        let jaas = jaas_path(worker).ok_or_else(|| RestError::Config {
            key: JAAS_KEY.into(),
            message: format!("basic authentication needs the JAAS file: set {JAAS_KEY}=/path/connect_jaas.conf in the worker config, or -Djava.security.auth.login.config=/path/connect_jaas.conf in KAFKA_OPTS"),
        })?;
        let text = std::fs::read_to_string(&jaas).map_err(|e| RestError::Auth {
            file: jaas.clone(),
            message: format!("cannot read the JAAS file: {e}"),
        })?;
        let users_file = users_file(&text).map_err(|message| RestError::Auth {
            file: jaas.clone(),
            message,
        })?;
        let users_text = std::fs::read_to_string(&users_file).map_err(|e| RestError::Auth {
            file: users_file.clone(),
            message: format!("cannot read the users file: {e}"),
        })?;
        let users = crate::config::properties::parse(&users_text).map_err(|m| RestError::Auth {
            file: users_file.clone(),
            message: m,
        })?;
        // Connect's PropertyFileLoginModule lets everyone in when the file is empty; a
        // secured worker that is open by accident is worse than one that does not start.
        if users.is_empty() {
            return Err(RestError::Auth {
                file: users_file,
                message:
                    "no users; add `user: password` lines (Connect would let every request in)"
                        .into(),
            });
        }
        Ok(Some(BasicAuth { users }))
    }

    /// Whether an `Authorization` header value names a user with its password.
    pub fn allows(&self, header: Option<&str>) -> bool {
        let Some((user, password)) = header.and_then(credentials) else {
            return false;
        };
        self.users
            .get(&user)
            .is_some_and(|p| constant_time_eq(p.as_bytes(), password.as_bytes()))
    }
}

/// `Basic base64(user:password)`, as Connect's callback handler splits it.
fn credentials(header: &str) -> Option<(String, String)> {
    let (method, b64) = header.trim().split_once(' ')?;
    if !method.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (u, p) = text.split_once(':')?;
    (!u.is_empty()).then(|| (u.to_string(), p.to_string()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn jaas_path(worker: &WorkerConfig) -> Option<PathBuf> {
    if let Some(p) = worker
        .values
        .get(JAAS_KEY)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
    {
        return Some(PathBuf::from(p));
    }
    jaas_from_opts(&std::env::var("KAFKA_OPTS").ok()?)
}

/// The JAAS file a JVM started with these `KAFKA_OPTS` would read.
fn jaas_from_opts(opts: &str) -> Option<PathBuf> {
    opts.split_whitespace()
        .find_map(|o| o.strip_prefix("-Djava.security.auth.login.config="))
        .map(|p| PathBuf::from(p.trim_matches('"')))
}

/// The `file` option of the `KafkaConnect` entry's `PropertyFileLoginModule`.
fn users_file(jaas: &str) -> Result<PathBuf, String> {
    let text: String = jaas
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let start = text
        .find("KafkaConnect")
        .ok_or("no KafkaConnect { ... }; entry")?;
    let body = &text[start..];
    let open = body.find('{').ok_or("the KafkaConnect entry has no {")?;
    let close = body.find('}').ok_or("the KafkaConnect entry has no }")?;
    let entry = &body[open + 1..close];
    if !entry.contains(LOGIN_MODULE) {
        return Err(format!("the KafkaConnect entry must use {LOGIN_MODULE}"));
    }
    let file = entry
        .split_once("file")
        .and_then(|(_, rest)| rest.trim_start().strip_prefix('='))
        .map(str::trim_start)
        .and_then(|rest| rest.strip_prefix('"'))
        .and_then(|rest| rest.split_once('"'))
        .map(|(f, _)| f)
        .ok_or("the PropertyFileLoginModule has no file=\"/path/users.properties\" option")?;
    Ok(Path::new(file).to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(user: &str, pass: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        )
    }

    #[test]
    fn reads_connect_jaas_entry() {
        let jaas = r#"
            // the REST API's users
            KafkaConnect {
              org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required
              file="/etc/kafka/connect.password";
            };"#;
        assert_eq!(
            users_file(jaas).unwrap(),
            PathBuf::from("/etc/kafka/connect.password")
        );
        assert!(users_file("Other { x required; };")
            .unwrap_err()
            .contains("KafkaConnect"));
        assert!(
            users_file("KafkaConnect { some.Module required file=\"/x\"; };")
                .unwrap_err()
                .contains("PropertyFileLoginModule")
        );
    }

    #[test]
    fn jaas_file_from_kafka_opts() {
        assert_eq!(
            jaas_from_opts(
                "-Xmx1g -Djava.security.auth.login.config=/etc/kafka/connect_jaas.conf -Dx=y"
            ),
            Some(PathBuf::from("/etc/kafka/connect_jaas.conf"))
        );
        assert_eq!(jaas_from_opts("-Xmx1g"), None);
    }

    #[test]
    fn checks_credentials_like_connect() {
        let auth = BasicAuth {
            users: [("admin".to_string(), "s3cret: x".to_string())].into(),
        };
        assert!(auth.allows(Some(&header("admin", "s3cret: x"))));
        assert!(auth.allows(Some(
            &header("admin", "s3cret: x").replace("Basic", "basic")
        )));
        assert!(!auth.allows(Some(&header("admin", "wrong"))));
        assert!(!auth.allows(Some(&header("nobody", "s3cret: x"))));
        assert!(!auth.allows(Some("Bearer abc")));
        assert!(!auth.allows(Some("Basic !!!")));
        assert!(!auth.allows(None));
        assert!(!format!("{auth:?}").contains("s3cret"));
    }
}
