//! A Schema Registry client for the REST calls Confluent's converters make: register, look up,
//! fetch by id (with the schema's references), a subject's version, latest version. Shared by
//! the Avro and Protobuf converters; a schema's type is `AVRO` unless said otherwise. `mock://SCOPE` is an in-process registry shared by every
//! converter of the process that names the same scope, as Confluent's `MockSchemaRegistry`.
//!
//! A registry that cannot be reached, times out or answers 5xx is a retriable failure (the
//! record is converted again later); an answer that says no (unknown id, incompatible schema) is
//! a failure of that record.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde_json::json;

/// What kind of schema a request is about (the registry's `schemaType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaKind {
    Avro,
    Protobuf,
}

impl SchemaKind {
    pub fn name(self) -> &'static str {
        match self {
            SchemaKind::Avro => "AVRO",
            SchemaKind::Protobuf => "PROTOBUF",
        }
    }

    /// The request body for a schema: Avro's carries no `schemaType`, as Confluent's client
    /// sends it.
    fn body(self, schema: &str) -> serde_json::Value {
        match self {
            SchemaKind::Avro => json!({ "schema": schema }),
            k => json!({ "schemaType": k.name(), "schema": schema }),
        }
    }
}

/// A schema's reference to another subject's version (Protobuf imports).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub name: String,
    pub subject: String,
    pub version: i32,
}

/// A schema fetched by id or by subject and version.
#[derive(Clone, Debug)]
pub struct Fetched {
    pub schema: String,
    pub references: Vec<Reference>,
}

fn references(r: &serde_json::Value) -> Vec<Reference> {
    r["references"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| {
            Some(Reference {
                name: x["name"].as_str()?.to_string(),
                subject: x["subject"].as_str()?.to_string(),
                version: x["version"].as_i64()? as i32,
            })
        })
        .collect()
}

/// A failure talking to the registry as a record's error: retriable when it may pass (the
/// record is converted again later), a data error otherwise.
pub fn registry_error(what: String, e: RegistryError) -> crate::data::DataError {
    match e {
        RegistryError::Unavailable(m) => crate::data::DataError::retriable(format!("{what}: {m}")),
        r @ RegistryError::Rejected { .. } => crate::data::DataError::new(format!("{what}: {r}")),
    }
}

#[derive(Debug)]
pub enum RegistryError {
    /// The registry could not be asked or did not answer properly: worth trying again.
    Unavailable(String),
    /// The registry answered with an error (`error_code` as Confluent's, e.g. 40403).
    Rejected {
        status: u16,
        error_code: i64,
        message: String,
    },
}

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegistryError::Unavailable(m) => write!(f, "{m}"),
            RegistryError::Rejected {
                status,
                error_code,
                message,
            } => write!(f, "{message}; error code: {error_code} (HTTP {status})"),
        }
    }
}

/// What `/subjects/{s}/versions/{v}` and the lookup answer.
#[derive(Clone, Debug)]
pub struct SubjectVersion {
    pub id: i32,
    pub version: i32,
    pub schema: String,
}

pub struct HttpSettings {
    pub urls: Vec<String>,
    pub user_info: Option<String>,
    pub headers: Vec<(String, String)>,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub proxy: Option<String>,
    pub root_cert: Option<reqwest::Certificate>,
    pub identity: Option<reqwest::Identity>,
    pub verify_hostname: bool,
}

pub enum Registry {
    Mock(String),
    /// The HTTP client is made on first use: `kconnect validate` and the REST API's validation
    /// (which runs inside an async runtime, where a blocking client may not be dropped) create
    /// converters without talking to the registry.
    Http {
        settings: Box<HttpSettings>,
        client: OnceLock<reqwest::blocking::Client>,
    },
}

#[derive(Default)]
struct MockState {
    schemas: Vec<(SchemaKind, String)>,
    subjects: HashMap<String, Vec<i32>>,
}

fn mocks() -> &'static Mutex<HashMap<String, MockState>> {
    static M: OnceLock<Mutex<HashMap<String, MockState>>> = OnceLock::new();
    M.get_or_init(Default::default)
}

fn not_found(code: i64, message: String) -> RegistryError {
    RegistryError::Rejected {
        status: 404,
        error_code: code,
        message,
    }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

impl Registry {
    /// Checks what can be checked without a client (header names, the proxy URL).
    pub fn http(s: HttpSettings) -> Result<Registry, String> {
        for (k, v) in &s.headers {
            reqwest::header::HeaderName::from_bytes(k.as_bytes())
                .map_err(|e| format!("request.header.{k}: not a valid header name ({e})"))?;
            reqwest::header::HeaderValue::from_str(v)
                .map_err(|e| format!("request.header.{k}: not a valid header value ({e})"))?;
        }
        if let Some(p) = &s.proxy {
            reqwest::Proxy::all(p).map_err(|e| format!("proxy.host: {e}"))?;
        }
        Ok(Registry::Http {
            settings: Box::new(s),
            client: OnceLock::new(),
        })
    }

    fn client(s: &HttpSettings) -> Result<reqwest::blocking::Client, String> {
        let mut b = reqwest::blocking::Client::builder()
            .connect_timeout(s.connect_timeout)
            .timeout(s.read_timeout)
            .danger_accept_invalid_hostnames(!s.verify_hostname);
        let mut headers = reqwest::header::HeaderMap::new();
        for (k, v) in &s.headers {
            let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
                .map_err(|e| format!("request.header.{k}: not a valid header name ({e})"))?;
            let value = reqwest::header::HeaderValue::from_str(v)
                .map_err(|e| format!("request.header.{k}: not a valid header value ({e})"))?;
            headers.insert(name, value);
        }
        b = b.default_headers(headers);
        if let Some(p) = &s.proxy {
            b = b.proxy(reqwest::Proxy::all(p).map_err(|e| format!("proxy.host: {e}"))?);
        } else {
            b = b.no_proxy();
        }
        if let Some(c) = &s.root_cert {
            b = b.add_root_certificate(c.clone());
        }
        if let Some(i) = &s.identity {
            b = b.identity(i.clone());
        }
        b.build()
            .map_err(|e| format!("cannot set up the HTTP client for the schema registry: {e}"))
    }

    /// One request, tried on each URL in turn until one answers (Confluent's failover).
    fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value, RegistryError> {
        let Registry::Http { settings, client } = self else {
            unreachable!("mock registries answer in process")
        };
        let client = match client.get() {
            Some(c) => c,
            None => {
                let c = Self::client(settings).map_err(|m| RegistryError::Rejected {
                    status: 0,
                    error_code: 0,
                    message: m,
                })?;
                client.get_or_init(|| c)
            }
        };
        let (urls, user_info) = (&settings.urls, &settings.user_info);
        let mut last = String::new();
        for base in urls {
            let (base, url_auth) = split_userinfo(base);
            let mut req = client
                .request(method.clone(), format!("{}{path}", base.trim_end_matches('/')))
                .header("Accept", "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json; qs=0.9, application/json; qs=0.5");
            let auth = user_info.clone().or(url_auth);
            if let Some(ui) = auth {
                let (u, p) = ui.split_once(':').unwrap_or((ui.as_str(), ""));
                req = req.basic_auth(u, Some(p));
            }
            if let Some(b) = &body {
                req = req
                    .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                    .body(b.to_string());
            }
            match req.send() {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let text = resp.text().unwrap_or_default();
                    if (200..300).contains(&status) {
                        return serde_json::from_str(&text).map_err(|e| {
                            RegistryError::Unavailable(format!(
                                "schema registry {base} answered {path} with something that is not JSON ({e})"
                            ))
                        });
                    }
                    let err: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                    let code = err["error_code"].as_i64().unwrap_or(status as i64);
                    let message = err["message"]
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| text.chars().take(200).collect());
                    if status >= 500 || status == 408 || status == 429 {
                        last = format!(
                            "schema registry {base} answered {path} with HTTP {status}: {message}"
                        );
                        continue;
                    }
                    return Err(RegistryError::Rejected {
                        status,
                        error_code: code,
                        message,
                    });
                }
                Err(e) => {
                    let mut chain = e.to_string();
                    let mut src = std::error::Error::source(&e);
                    while let Some(c) = src {
                        chain.push_str(": ");
                        chain.push_str(&c.to_string());
                        src = c.source();
                    }
                    // A certificate the client does not trust will not become trusted by
                    // waiting: that is the configuration's error, not an outage.
                    if chain.to_ascii_lowercase().contains("certificate") {
                        return Err(RegistryError::Rejected {
                            status: 0,
                            error_code: 0,
                            message: format!(
                                "TLS to the schema registry at {base} failed ({chain}); check schema.registry.ssl.truststore.location"
                            ),
                        });
                    }
                    last = format!("cannot reach the schema registry at {base} ({chain})");
                }
            }
        }
        Err(RegistryError::Unavailable(last))
    }

    pub fn register(
        &self,
        subject: &str,
        schema: &str,
        normalize: bool,
    ) -> Result<i32, RegistryError> {
        self.register_as(SchemaKind::Avro, subject, schema, normalize)
    }

    pub fn register_as(
        &self,
        kind: SchemaKind,
        subject: &str,
        schema: &str,
        normalize: bool,
    ) -> Result<i32, RegistryError> {
        match self {
            Registry::Mock(scope) => {
                let mut all = mocks().lock().expect("mock registry lock");
                let st = all.entry(scope.clone()).or_default();
                let id = match st
                    .schemas
                    .iter()
                    .position(|(k, s)| *k == kind && s == schema)
                {
                    Some(i) => i as i32 + 1,
                    None => {
                        st.schemas.push((kind, schema.to_string()));
                        st.schemas.len() as i32
                    }
                };
                let versions = st.subjects.entry(subject.to_string()).or_default();
                if !versions.contains(&id) {
                    versions.push(id);
                }
                Ok(id)
            }
            Registry::Http { .. } => {
                let q = if normalize { "?normalize=true" } else { "" };
                let r = self.call(
                    reqwest::Method::POST,
                    &format!("/subjects/{}/versions{q}", enc(subject)),
                    Some(kind.body(schema)),
                )?;
                r["id"].as_i64().map(|i| i as i32).ok_or_else(|| {
                    RegistryError::Unavailable(format!(
                        "registry answered a registration without an id: {r}"
                    ))
                })
            }
        }
    }

    /// The id and version `schema` has under `subject` (40403 when it is not there).
    pub fn lookup(
        &self,
        subject: &str,
        schema: &str,
        normalize: bool,
    ) -> Result<SubjectVersion, RegistryError> {
        self.lookup_as(SchemaKind::Avro, subject, schema, normalize)
    }

    pub fn lookup_as(
        &self,
        kind: SchemaKind,
        subject: &str,
        schema: &str,
        normalize: bool,
    ) -> Result<SubjectVersion, RegistryError> {
        match self {
            Registry::Mock(scope) => {
                let all = mocks().lock().expect("mock registry lock");
                let st = all.get(scope);
                let versions = st
                    .and_then(|s| s.subjects.get(subject))
                    .ok_or_else(|| not_found(40401, format!("Subject '{subject}' not found.")))?;
                let st = st.expect("checked");
                for (i, id) in versions.iter().enumerate() {
                    let (k, text) = &st.schemas[*id as usize - 1];
                    if *k == kind && text == schema {
                        return Ok(SubjectVersion {
                            id: *id,
                            version: i as i32 + 1,
                            schema: schema.to_string(),
                        });
                    }
                }
                Err(not_found(40403, "Schema not found".into()))
            }
            Registry::Http { .. } => {
                let q = if normalize { "?normalize=true" } else { "" };
                let r = self.call(
                    reqwest::Method::POST,
                    &format!("/subjects/{}{q}", enc(subject)),
                    Some(kind.body(schema)),
                )?;
                parse_subject_version(&r)
            }
        }
    }

    pub fn schema_by_id(&self, id: i32, subject: Option<&str>) -> Result<String, RegistryError> {
        self.fetch_by_id(SchemaKind::Avro, id, subject)
            .map(|f| f.schema)
    }

    /// Schema `id`, which must be of `kind`, with its references.
    pub fn fetch_by_id(
        &self,
        kind: SchemaKind,
        id: i32,
        subject: Option<&str>,
    ) -> Result<Fetched, RegistryError> {
        let wrong = |t: &str| RegistryError::Rejected {
            status: 200,
            error_code: 0,
            message: format!(
                "schema {id} is a {t} schema, not {}",
                match kind {
                    SchemaKind::Avro => "Avro",
                    SchemaKind::Protobuf => "Protobuf",
                }
            ),
        };
        match self {
            Registry::Mock(scope) => {
                let all = mocks().lock().expect("mock registry lock");
                let (k, text) = all
                    .get(scope)
                    .and_then(|s| s.schemas.get((id as usize).wrapping_sub(1)))
                    .cloned()
                    .ok_or_else(|| not_found(40403, "Schema not found".into()))?;
                if k != kind {
                    return Err(wrong(k.name()));
                }
                Ok(Fetched {
                    schema: text,
                    references: Vec::new(),
                })
            }
            Registry::Http { .. } => {
                let q = match subject {
                    Some(s) => format!("?fetchMaxId=false&subject={}", enc(s)),
                    None => "?fetchMaxId=false".into(),
                };
                let r = self.call(reqwest::Method::GET, &format!("/schemas/ids/{id}{q}"), None)?;
                let t = r["schemaType"].as_str().unwrap_or("AVRO");
                if t != kind.name() {
                    return Err(wrong(t));
                }
                let schema = r["schema"].as_str().map(str::to_string).ok_or_else(|| {
                    RegistryError::Unavailable(format!(
                        "registry answered schema {id} without its text"
                    ))
                })?;
                Ok(Fetched {
                    schema,
                    references: references(&r),
                })
            }
        }
    }

    /// A subject's version, with the schema's references: how a reference is followed.
    pub fn fetch_version(&self, subject: &str, version: i32) -> Result<Fetched, RegistryError> {
        match self {
            Registry::Mock(scope) => {
                let all = mocks().lock().expect("mock registry lock");
                let st = all.get(scope);
                let id = st
                    .and_then(|s| s.subjects.get(subject))
                    .and_then(|v| v.get((version as usize).wrapping_sub(1)))
                    .ok_or_else(|| not_found(40402, format!("Version {version} not found.")))?;
                Ok(Fetched {
                    schema: st.expect("checked").schemas[*id as usize - 1].1.clone(),
                    references: Vec::new(),
                })
            }
            Registry::Http { .. } => {
                let r = self.call(
                    reqwest::Method::GET,
                    &format!("/subjects/{}/versions/{version}", enc(subject)),
                    None,
                )?;
                let schema = r["schema"].as_str().map(str::to_string).ok_or_else(|| {
                    RegistryError::Unavailable(format!(
                        "registry answered {subject} version {version} without its text"
                    ))
                })?;
                Ok(Fetched {
                    schema,
                    references: references(&r),
                })
            }
        }
    }

    pub fn latest(&self, subject: &str) -> Result<SubjectVersion, RegistryError> {
        match self {
            Registry::Mock(scope) => {
                let all = mocks().lock().expect("mock registry lock");
                let st = all.get(scope);
                let versions = st
                    .and_then(|s| s.subjects.get(subject))
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| not_found(40401, format!("Subject '{subject}' not found.")))?;
                let id = *versions.last().expect("non-empty");
                Ok(SubjectVersion {
                    id,
                    version: versions.len() as i32,
                    schema: st.expect("checked").schemas[id as usize - 1].1.clone(),
                })
            }
            Registry::Http { .. } => {
                let r = self.call(
                    reqwest::Method::GET,
                    &format!("/subjects/{}/versions/latest", enc(subject)),
                    None,
                )?;
                parse_subject_version(&r)
            }
        }
    }
}

fn parse_subject_version(r: &serde_json::Value) -> Result<SubjectVersion, RegistryError> {
    match (
        r["id"].as_i64(),
        r["version"].as_i64(),
        r["schema"].as_str(),
    ) {
        (Some(id), Some(version), Some(schema)) => Ok(SubjectVersion {
            id: id as i32,
            version: version as i32,
            schema: schema.to_string(),
        }),
        _ => Err(RegistryError::Unavailable(format!(
            "registry answered without id, version and schema: {r}"
        ))),
    }
}

/// `https://user:pass@host` → the URL without credentials, and `user:pass` (for
/// basic.auth.credentials.source=URL).
pub fn split_userinfo(url: &str) -> (String, Option<String>) {
    if let Ok(u) = url::Url::parse(url) {
        if !u.username().is_empty() {
            let user = percent(u.username());
            let pass = percent(u.password().unwrap_or(""));
            let mut clean = u.clone();
            let _ = clean.set_username("");
            let _ = clean.set_password(None);
            return (
                clean.as_str().trim_end_matches('/').to_string(),
                Some(format!("{user}:{pass}")),
            );
        }
    }
    (url.trim_end_matches('/').to_string(), None)
}

fn percent(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
