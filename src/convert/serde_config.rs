//! The settings Confluent's schema-registry converters share (7.0.16): the registry client's
//! (URLs, credentials, TLS, timeouts, proxy) and the serializer's and deserializer's (subject
//! strategies, registering or looking up, the latest version). The Avro and Protobuf
//! converters each add their own data settings to these. Each is implemented, or refused by
//! name for the values kconnect does not implement.

use std::collections::BTreeMap;
use std::time::Duration;

use super::schema_registry::{HttpSettings, Registry};
use crate::api::{ConfigKey, Problem, Settings};

pub const STRATEGIES: &[&str] = &[
    "io.confluent.kafka.serializers.subject.TopicNameStrategy",
    "io.confluent.kafka.serializers.subject.RecordNameStrategy",
    "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy",
    "TopicNameStrategy",
    "RecordNameStrategy",
    "TopicRecordNameStrategy",
];

/// How a schema's subject is named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubjectStrategy {
    Topic,
    Record,
    TopicRecord,
}

impl SubjectStrategy {
    /// The subject of a record's schema on `topic`; `record` is the schema's full name.
    pub fn subject(self, topic: &str, is_key: bool, record: impl FnOnce() -> String) -> String {
        match self {
            SubjectStrategy::Topic => format!("{topic}-{}", if is_key { "key" } else { "value" }),
            SubjectStrategy::Record => record(),
            SubjectStrategy::TopicRecord => format!("{topic}-{}", record()),
        }
    }
}

/// The converter's keys: the shared ones, then the converter's own.
macro_rules! registry_keys {
    ($($own:expr),* $(,)?) => {
        &[
            $crate::api::ConfigKey::new("schema.registry.url", $crate::api::ConfigType::List, $crate::api::KeyDefault::Required,
                "Comma-separated registry URLs, tried in turn; mock://SCOPE is an in-process registry."),
            $crate::api::ConfigKey::new("auto.register.schemas", $crate::api::ConfigType::Boolean, $crate::api::KeyDefault::Value("true"),
                "Register each new schema; false looks the schema up instead (it must be registered)."),
            $crate::api::ConfigKey::new("use.latest.version", $crate::api::ConfigType::Boolean, $crate::api::KeyDefault::Value("false"),
                "With auto.register.schemas=false: write with the subject's latest schema."),
            $crate::api::ConfigKey::new("latest.compatibility.strict", $crate::api::ConfigType::Boolean, $crate::api::KeyDefault::Value("true"),
                "With use.latest.version: refuse when the latest schema cannot read the record's schema."),
            $crate::api::ConfigKey::new("normalize.schemas", $crate::api::ConfigType::Boolean, $crate::api::KeyDefault::Value("false"),
                "Ask the registry to normalize schemas when registering and looking up."),
            $crate::api::ConfigKey::new("max.schemas.per.subject", $crate::api::ConfigType::Int, $crate::api::KeyDefault::Value("1000"),
                "How many schemas one converter registers per subject before it refuses."),
            $crate::api::ConfigKey::new("key.subject.name.strategy", $crate::api::ConfigType::Class,
                $crate::api::KeyDefault::Value("io.confluent.kafka.serializers.subject.TopicNameStrategy"),
                "Subject of key schemas: TopicNameStrategy, RecordNameStrategy or TopicRecordNameStrategy.")
                .validator($crate::api::Validator::OneOf($crate::convert::serde_config::STRATEGIES)),
            $crate::api::ConfigKey::new("value.subject.name.strategy", $crate::api::ConfigType::Class,
                $crate::api::KeyDefault::Value("io.confluent.kafka.serializers.subject.TopicNameStrategy"),
                "Subject of value schemas: TopicNameStrategy, RecordNameStrategy or TopicRecordNameStrategy.")
                .validator($crate::api::Validator::OneOf($crate::convert::serde_config::STRATEGIES)),
            $crate::api::ConfigKey::new("basic.auth.credentials.source", $crate::api::ConfigType::String, $crate::api::KeyDefault::Value("URL"),
                "Where HTTP basic credentials come from: URL (user:pass@ in the URL) or USER_INFO.")
                .validator($crate::api::Validator::Honoured(&["URL", "USER_INFO"])),
            $crate::api::ConfigKey::new("basic.auth.user.info", $crate::api::ConfigType::Password, $crate::api::KeyDefault::Value(""),
                "user:password, with basic.auth.credentials.source=USER_INFO."),
            $crate::api::ConfigKey::new("schema.registry.basic.auth.user.info", $crate::api::ConfigType::Password, $crate::api::KeyDefault::Value(""),
                "The older name of basic.auth.user.info."),
            $crate::api::ConfigKey::new("schemas.cache.config", $crate::api::ConfigType::Int, $crate::api::KeyDefault::Value("1000"),
                "How many converted schemas to keep in each direction."),
            $crate::api::ConfigKey::new("scrub.invalid.names", $crate::api::ConfigType::Boolean, $crate::api::KeyDefault::Value("false"),
                "Replace characters Avro does not allow in names with _."),
            $crate::api::ConfigKey::new("http.connect.timeout.ms", $crate::api::ConfigType::Int, $crate::api::KeyDefault::Value("60000"),
                "Time to connect to the registry."),
            $crate::api::ConfigKey::new("http.read.timeout.ms", $crate::api::ConfigType::Int, $crate::api::KeyDefault::Value("60000"),
                "Time for the registry to answer."),
            $crate::api::ConfigKey::new("proxy.host", $crate::api::ConfigType::String, $crate::api::KeyDefault::Value(""),
                "HTTP proxy host for registry requests."),
            $crate::api::ConfigKey::new("proxy.port", $crate::api::ConfigType::Int, $crate::api::KeyDefault::Value("-1"),
                "HTTP proxy port."),
            $crate::api::ConfigKey::new("schema.registry.ssl.truststore.location", $crate::api::ConfigType::String, $crate::api::KeyDefault::None,
                "CA certificates to trust for https registries: PEM, or a PKCS12 store."),
            $crate::api::ConfigKey::new("schema.registry.ssl.truststore.password", $crate::api::ConfigType::Password, $crate::api::KeyDefault::None,
                "Password of a PKCS12 truststore."),
            $crate::api::ConfigKey::new("schema.registry.ssl.truststore.type", $crate::api::ConfigType::String, $crate::api::KeyDefault::Value("JKS"),
                "PKCS12 or PEM (a JKS store must be converted to PKCS12)."),
            $crate::api::ConfigKey::new("schema.registry.ssl.keystore.location", $crate::api::ConfigType::String, $crate::api::KeyDefault::None,
                "Client certificate and key for mutual TLS: PKCS12, or PEM with both."),
            $crate::api::ConfigKey::new("schema.registry.ssl.keystore.password", $crate::api::ConfigType::Password, $crate::api::KeyDefault::None,
                "Password of the PKCS12 keystore."),
            $crate::api::ConfigKey::new("schema.registry.ssl.keystore.type", $crate::api::ConfigType::String, $crate::api::KeyDefault::Value("JKS"),
                "PKCS12 or PEM."),
            $crate::api::ConfigKey::new("schema.registry.ssl.key.password", $crate::api::ConfigType::Password, $crate::api::KeyDefault::None,
                "Password of the key in the keystore (PKCS12: the same as the store's)."),
            $crate::api::ConfigKey::new("schema.registry.ssl.endpoint.identification.algorithm", $crate::api::ConfigType::String,
                $crate::api::KeyDefault::Value("https"), "https checks the registry's host name; empty does not."),
            $crate::api::ConfigKey::new("use.schema.id", $crate::api::ConfigType::Int, $crate::api::KeyDefault::Value("-1"),
                "Write with this fixed schema id: not implemented by kconnect (only -1).")
                .validator($crate::api::Validator::Honoured(&["-1"])),
            $crate::api::ConfigKey::new("id.compatibility.strict", $crate::api::ConfigType::Boolean, $crate::api::KeyDefault::Value("true"),
                "Only with use.schema.id, which kconnect does not implement; no effect."),
            $crate::api::ConfigKey::new("context.name.strategy", $crate::api::ConfigType::Class,
                $crate::api::KeyDefault::Value("io.confluent.kafka.serializers.context.NullContextNameStrategy"),
                "Registry contexts: kconnect implements only NullContextNameStrategy.")
                .validator($crate::api::Validator::Honoured(&["io.confluent.kafka.serializers.context.NullContextNameStrategy"])),
            $crate::api::ConfigKey::new("bearer.auth.credentials.source", $crate::api::ConfigType::String, $crate::api::KeyDefault::Value("STATIC_TOKEN"),
                "Bearer tokens to the registry are not implemented by kconnect (refused when set)."),
            $crate::api::ConfigKey::new("bearer.auth.token", $crate::api::ConfigType::Password, $crate::api::KeyDefault::Value(""),
                "Bearer tokens are not implemented by kconnect (must stay empty).")
                .validator($crate::api::Validator::Honoured(&[])),
            $crate::api::ConfigKey::new("schema.reflection", $crate::api::ConfigType::Boolean, $crate::api::KeyDefault::Value("false"),
                "Java reflection: not applicable (only false).")
                .validator($crate::api::Validator::Honoured(&["false"])),
            $($own),*
        ]
    };
}
pub(crate) use registry_keys;

/// Names that look like settings of newer converters or of TLS that kconnect does not implement.
const REFUSED: &[(&str, &str)] = &[
    ("schema.registry.ssl.protocol", "is not implemented by kconnect (TLS versions are the system OpenSSL's defaults); remove it"),
    ("schema.registry.ssl.enabled.protocols", "is not implemented by kconnect; remove it"),
    ("schema.registry.ssl.cipher.suites", "is not implemented by kconnect; remove it"),
    ("schema.registry.ssl.engine.factory.class", "is not implemented by kconnect (TLS is the system OpenSSL's); remove it"),
    ("schema.registry.ssl.provider", "is not implemented by kconnect; remove it"),
    ("schema.registry.ssl.keymanager.algorithm", "is not implemented by kconnect; remove it"),
    ("schema.registry.ssl.trustmanager.algorithm", "is not implemented by kconnect; remove it"),
    ("schema.registry.ssl.secure.random.implementation", "is not implemented by kconnect; remove it"),
    ("schema.registry.ssl.truststore.certificates", "(PEM text inline) is not implemented by kconnect; put the certificates in a file and name it in schema.registry.ssl.truststore.location"),
    ("schema.registry.ssl.keystore.certificate.chain", "(PEM text inline) is not implemented by kconnect; use schema.registry.ssl.keystore.location"),
    ("schema.registry.ssl.keystore.key", "(PEM text inline) is not implemented by kconnect; use schema.registry.ssl.keystore.location"),
    ("bearer.auth.logical.cluster", "is not implemented by kconnect (bearer tokens are not)"),
    ("bearer.auth.identity.pool.id", "is not implemented by kconnect (bearer tokens are not)"),
];

pub struct SerdeConfig {
    pub urls: Vec<String>,
    pub user_info: Option<String>,
    pub headers: Vec<(String, String)>,
    pub auto_register: bool,
    pub use_latest_version: bool,
    pub latest_compatibility_strict: bool,
    pub normalize: bool,
    pub key_strategy: SubjectStrategy,
    pub value_strategy: SubjectStrategy,
    pub cache_size: usize,
    pub max_schemas_per_subject: usize,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub proxy: Option<String>,
    pub root_cert: Option<reqwest::Certificate>,
    pub identity: Option<reqwest::Identity>,
    pub verify_hostname: bool,
}

fn strategy(v: &str) -> SubjectStrategy {
    match v.rsplit('.').next().unwrap_or(v) {
        "RecordNameStrategy" => SubjectStrategy::Record,
        "TopicRecordNameStrategy" => SubjectStrategy::TopicRecord,
        _ => SubjectStrategy::Topic,
    }
}

pub fn problem(key: &str, e: impl std::fmt::Display) -> Problem {
    Problem::new(key, e.to_string())
}

impl SerdeConfig {
    /// Checks every key against `keys` (the converter's whole list) and reads the shared ones.
    pub fn parse(
        keys: &[ConfigKey],
        cfg: &BTreeMap<String, String>,
    ) -> Result<SerdeConfig, Problem> {
        if let Some((key, why)) = REFUSED.iter().find(|(k, _)| cfg.contains_key(*k)) {
            return Err(Problem::new(*key, format!("{key} {why}")));
        }
        if cfg.contains_key("bearer.auth.credentials.source") {
            return Err(Problem::new(
                "bearer.auth.credentials.source",
                "bearer.auth.credentials.source: bearer-token authentication to the schema registry is not implemented by kconnect; use basic.auth.credentials.source with basic.auth.user.info",
            ));
        }
        if let Some(p) = crate::api::validate_keys(keys, cfg, "").into_iter().next() {
            return Err(p);
        }
        let s = Settings::new(keys, cfg);
        let b = |k: &str| s.bool(k).map_err(|e| problem(k, e));
        let i = |k: &str| s.i64(k).map_err(|e| problem(k, e));
        let urls = s.list("schema.registry.url");
        if urls.is_empty() {
            return Err(Problem::new(
                "schema.registry.url",
                "Missing required configuration \"schema.registry.url\" which has no default value.",
            ));
        }
        let source = s
            .choice("basic.auth.credentials.source")
            .map_err(|e| problem("basic.auth.credentials.source", e))?;
        let user_info = if source == "user_info" {
            let ui = s
                .string("basic.auth.user.info")
                .filter(|v| !v.is_empty())
                .or_else(|| {
                    s.string("schema.registry.basic.auth.user.info")
                        .filter(|v| !v.is_empty())
                });
            if ui.is_none() {
                return Err(Problem::new(
                    "basic.auth.user.info",
                    "basic.auth.credentials.source=USER_INFO needs basic.auth.user.info (user:password)",
                ));
            }
            ui
        } else {
            None
        };
        let headers = cfg
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix("request.header.")
                    .map(|h| (h.to_string(), v.clone()))
            })
            .collect();
        let proxy_host = s.string("proxy.host").unwrap_or_default();
        let proxy_port = i("proxy.port")?;
        let proxy = if proxy_host.is_empty() {
            None
        } else if proxy_port <= 0 {
            return Err(Problem::new(
                "proxy.port",
                "proxy.host is set: give proxy.port too",
            ));
        } else {
            Some(format!("http://{proxy_host}:{proxy_port}"))
        };
        let (root_cert, identity) = tls(&s)?;
        Ok(SerdeConfig {
            urls,
            user_info,
            headers,
            auto_register: b("auto.register.schemas")?,
            use_latest_version: b("use.latest.version")?,
            latest_compatibility_strict: b("latest.compatibility.strict")?,
            normalize: b("normalize.schemas")?,
            key_strategy: strategy(&s.string("key.subject.name.strategy").unwrap_or_default()),
            value_strategy: strategy(&s.string("value.subject.name.strategy").unwrap_or_default()),
            cache_size: i("schemas.cache.config")?.max(1) as usize,
            max_schemas_per_subject: i("max.schemas.per.subject")?.max(0) as usize,
            connect_timeout: Duration::from_millis(i("http.connect.timeout.ms")?.max(1) as u64),
            read_timeout: Duration::from_millis(i("http.read.timeout.ms")?.max(1) as u64),
            proxy,
            root_cert,
            identity,
            verify_hostname: !s
                .string("schema.registry.ssl.endpoint.identification.algorithm")
                .unwrap_or_else(|| "https".into())
                .is_empty(),
        })
    }

    pub fn registry(&self) -> Result<Registry, Problem> {
        if let Some(scope) = self.urls[0].strip_prefix("mock://") {
            return Ok(Registry::Mock(scope.to_string()));
        }
        Registry::http(HttpSettings {
            urls: self.urls.clone(),
            user_info: self.user_info.clone(),
            headers: self.headers.clone(),
            connect_timeout: self.connect_timeout,
            read_timeout: self.read_timeout,
            proxy: self.proxy.clone(),
            root_cert: self.root_cert.clone(),
            identity: self.identity.clone(),
            verify_hostname: self.verify_hostname,
        })
        .map_err(|e| Problem::new("schema.registry.url", e))
    }
}

fn tls(
    s: &Settings<'_>,
) -> Result<(Option<reqwest::Certificate>, Option<reqwest::Identity>), Problem> {
    let mut root = None;
    if let Some(path) = s
        .string("schema.registry.ssl.truststore.location")
        .filter(|p| !p.is_empty())
    {
        let key = "schema.registry.ssl.truststore.location";
        let bytes = std::fs::read(&path)
            .map_err(|e| Problem::new(key, format!("{key}: cannot read {path}: {e}")))?;
        let pem = if bytes.starts_with(b"-----") {
            bytes
        } else {
            let password = s
                .string("schema.registry.ssl.truststore.password")
                .unwrap_or_default();
            let p12 = openssl::pkcs12::Pkcs12::from_der(&bytes)
                .and_then(|p| p.parse2(&password))
                .map_err(|e| Problem::new(key, format!("{key}: {path} is neither PEM nor a PKCS12 store this password opens ({e}); JKS stores must be converted: keytool -importkeystore -srckeystore {path} -destkeystore ca.p12 -deststoretype PKCS12")))?;
            let mut pem = Vec::new();
            for c in p12.ca.into_iter().flatten().chain(p12.cert) {
                pem.extend(c.to_pem().map_err(|e| Problem::new(key, e.to_string()))?);
            }
            pem
        };
        root = Some(
            reqwest::Certificate::from_pem(&pem)
                .map_err(|e| Problem::new(key, format!("{key}: {path}: {e}")))?,
        );
    }
    let mut identity = None;
    if let Some(path) = s
        .string("schema.registry.ssl.keystore.location")
        .filter(|p| !p.is_empty())
    {
        let key = "schema.registry.ssl.keystore.location";
        let bytes = std::fs::read(&path)
            .map_err(|e| Problem::new(key, format!("{key}: cannot read {path}: {e}")))?;
        let id = if bytes.starts_with(b"-----") {
            reqwest::Identity::from_pkcs8_pem(&bytes, &bytes)
        } else {
            let password = s
                .string("schema.registry.ssl.keystore.password")
                .unwrap_or_default();
            reqwest::Identity::from_pkcs12_der(&bytes, &password)
        };
        identity = Some(id.map_err(|e| Problem::new(key, format!("{key}: {path} is neither a PKCS12 store schema.registry.ssl.keystore.password opens nor PEM with a certificate and a PKCS8 key ({e}); JKS stores must be converted to PKCS12")))?);
    }
    Ok((root, identity))
}
