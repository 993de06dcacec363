//! The AvroConverter's settings: those of Confluent's `AvroConverterConfig` 7.0.16 (its
//! serializer, deserializer, registry client and AvroData settings). Each is implemented, or
//! refused by name for the values kconnect does not implement.

use std::collections::BTreeMap;
use std::time::Duration;

use super::registry::{HttpSettings, Registry};
use super::{AvroDataOptions, SubjectStrategy};
use crate::api::{ConfigKey, ConfigType, KeyDefault, Problem, Settings, Validator};

const STRATEGIES: &[&str] = &[
    "io.confluent.kafka.serializers.subject.TopicNameStrategy",
    "io.confluent.kafka.serializers.subject.RecordNameStrategy",
    "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy",
    "TopicNameStrategy",
    "RecordNameStrategy",
    "TopicRecordNameStrategy",
];

pub const KEYS: &[ConfigKey] = &[
    ConfigKey::new("schema.registry.url", ConfigType::List, KeyDefault::Required,
        "Comma-separated registry URLs, tried in turn; mock://SCOPE is an in-process registry."),
    ConfigKey::new("auto.register.schemas", ConfigType::Boolean, KeyDefault::Value("true"),
        "Register each new schema; false looks the schema up instead (it must be registered)."),
    ConfigKey::new("use.latest.version", ConfigType::Boolean, KeyDefault::Value("false"),
        "With auto.register.schemas=false: write with the subject's latest schema."),
    ConfigKey::new("latest.compatibility.strict", ConfigType::Boolean, KeyDefault::Value("true"),
        "With use.latest.version: refuse when the latest schema cannot read the record's schema."),
    ConfigKey::new("normalize.schemas", ConfigType::Boolean, KeyDefault::Value("false"),
        "Ask the registry to normalize schemas when registering and looking up."),
    ConfigKey::new("max.schemas.per.subject", ConfigType::Int, KeyDefault::Value("1000"),
        "How many schemas one converter registers per subject before it refuses."),
    ConfigKey::new("key.subject.name.strategy", ConfigType::Class,
        KeyDefault::Value("io.confluent.kafka.serializers.subject.TopicNameStrategy"),
        "Subject of key schemas: TopicNameStrategy, RecordNameStrategy or TopicRecordNameStrategy.")
        .validator(Validator::OneOf(STRATEGIES)),
    ConfigKey::new("value.subject.name.strategy", ConfigType::Class,
        KeyDefault::Value("io.confluent.kafka.serializers.subject.TopicNameStrategy"),
        "Subject of value schemas: TopicNameStrategy, RecordNameStrategy or TopicRecordNameStrategy.")
        .validator(Validator::OneOf(STRATEGIES)),
    ConfigKey::new("basic.auth.credentials.source", ConfigType::String, KeyDefault::Value("URL"),
        "Where HTTP basic credentials come from: URL (user:pass@ in the URL) or USER_INFO.")
        .validator(Validator::Honoured(&["URL", "USER_INFO"])),
    ConfigKey::new("basic.auth.user.info", ConfigType::Password, KeyDefault::Value(""),
        "user:password, with basic.auth.credentials.source=USER_INFO."),
    ConfigKey::new("schema.registry.basic.auth.user.info", ConfigType::Password, KeyDefault::Value(""),
        "The older name of basic.auth.user.info."),
    ConfigKey::new("schemas.cache.config", ConfigType::Int, KeyDefault::Value("1000"),
        "How many converted schemas to keep in each direction."),
    ConfigKey::new("enhanced.avro.schema.support", ConfigType::Boolean, KeyDefault::Value("false"),
        "Keep Avro enums (and their symbols) and full names of union members."),
    ConfigKey::new("connect.meta.data", ConfigType::Boolean, KeyDefault::Value("true"),
        "Write connect.name/version/doc/default/parameters into Avro schemas and read them back."),
    ConfigKey::new("scrub.invalid.names", ConfigType::Boolean, KeyDefault::Value("false"),
        "Replace characters Avro does not allow in names with _."),
    ConfigKey::new("allow.optional.map.keys", ConfigType::Boolean, KeyDefault::Value("false"),
        "Write maps with optional string keys as Avro maps."),
    ConfigKey::new("avro.use.logical.type.converters", ConfigType::Boolean, KeyDefault::Value("false"),
        "Confluent's logical type conversions: writing is unchanged, reading logical types fails as in 7.0.16."),
    ConfigKey::new("http.connect.timeout.ms", ConfigType::Int, KeyDefault::Value("60000"),
        "Time to connect to the registry."),
    ConfigKey::new("http.read.timeout.ms", ConfigType::Int, KeyDefault::Value("60000"),
        "Time for the registry to answer."),
    ConfigKey::new("proxy.host", ConfigType::String, KeyDefault::Value(""),
        "HTTP proxy host for registry requests."),
    ConfigKey::new("proxy.port", ConfigType::Int, KeyDefault::Value("-1"),
        "HTTP proxy port."),
    ConfigKey::new("schema.registry.ssl.truststore.location", ConfigType::String, KeyDefault::None,
        "CA certificates to trust for https registries: PEM, or a PKCS12 store."),
    ConfigKey::new("schema.registry.ssl.truststore.password", ConfigType::Password, KeyDefault::None,
        "Password of a PKCS12 truststore."),
    ConfigKey::new("schema.registry.ssl.truststore.type", ConfigType::String, KeyDefault::Value("JKS"),
        "PKCS12 or PEM (a JKS store must be converted to PKCS12)."),
    ConfigKey::new("schema.registry.ssl.keystore.location", ConfigType::String, KeyDefault::None,
        "Client certificate and key for mutual TLS: PKCS12, or PEM with both."),
    ConfigKey::new("schema.registry.ssl.keystore.password", ConfigType::Password, KeyDefault::None,
        "Password of the PKCS12 keystore."),
    ConfigKey::new("schema.registry.ssl.keystore.type", ConfigType::String, KeyDefault::Value("JKS"),
        "PKCS12 or PEM."),
    ConfigKey::new("schema.registry.ssl.key.password", ConfigType::Password, KeyDefault::None,
        "Password of the key in the keystore (PKCS12: the same as the store's)."),
    ConfigKey::new("schema.registry.ssl.endpoint.identification.algorithm", ConfigType::String,
        KeyDefault::Value("https"), "https checks the registry's host name; empty does not."),
    // Settings of the real converter kconnect implements only at their defaults.
    ConfigKey::new("use.schema.id", ConfigType::Int, KeyDefault::Value("-1"),
        "Write with this fixed schema id: not implemented by kconnect (only -1).")
        .validator(Validator::Honoured(&["-1"])),
    ConfigKey::new("id.compatibility.strict", ConfigType::Boolean, KeyDefault::Value("true"),
        "Only with use.schema.id, which kconnect does not implement; no effect."),
    ConfigKey::new("context.name.strategy", ConfigType::Class,
        KeyDefault::Value("io.confluent.kafka.serializers.context.NullContextNameStrategy"),
        "Registry contexts: kconnect implements only NullContextNameStrategy.")
        .validator(Validator::Honoured(&["io.confluent.kafka.serializers.context.NullContextNameStrategy"])),
    ConfigKey::new("bearer.auth.credentials.source", ConfigType::String, KeyDefault::Value("STATIC_TOKEN"),
        "Bearer tokens to the registry are not implemented by kconnect (refused when set)."),
    ConfigKey::new("bearer.auth.token", ConfigType::Password, KeyDefault::Value(""),
        "Bearer tokens are not implemented by kconnect (must stay empty).")
        .validator(Validator::Honoured(&[])),
    ConfigKey::new("schema.reflection", ConfigType::Boolean, KeyDefault::Value("false"),
        "Java reflection: not applicable (only false).")
        .validator(Validator::Honoured(&["false"])),
    ConfigKey::new("specific.avro.reader", ConfigType::Boolean, KeyDefault::Value("false"),
        "Java generated classes: not applicable (only false).")
        .validator(Validator::Honoured(&["false"])),
    ConfigKey::new("avro.reflection.allow.null", ConfigType::Boolean, KeyDefault::Value("false"),
        "Java reflection: not applicable (only false).")
        .validator(Validator::Honoured(&["false"])),
    ConfigKey::new("avro.remove.java.properties", ConfigType::Boolean, KeyDefault::Value("false"),
        "Removing avro.java.string properties: not implemented by kconnect (only false).")
        .validator(Validator::Honoured(&["false"])),
    ConfigKey::new("discard.type.doc.default", ConfigType::Boolean, KeyDefault::Value("false"),
        "The deprecated doc/default handling: not implemented by kconnect (only false).")
        .validator(Validator::Honoured(&["false"])),
    ConfigKey::new("missing.id.cache.ttl.sec", ConfigType::Long, KeyDefault::Value("0"),
        "Caching unknown ids: not implemented by kconnect (only 0).")
        .validator(Validator::Honoured(&["0"])),
    ConfigKey::new("missing.schema.cache.ttl.sec", ConfigType::Long, KeyDefault::Value("0"),
        "Caching unknown schemas: not implemented by kconnect (only 0).")
        .validator(Validator::Honoured(&["0"])),
    ConfigKey::new("missing.cache.size", ConfigType::Int, KeyDefault::Value("10000"),
        "Size of the cache of unknown ids; kconnect keeps none (no effect with the TTLs at 0)."),
];

/// Names that look like settings of newer converters or of TLS that kconnect does not implement.
const REFUSED: &[(&str, &str)] = &[
    ("ignore.default.for.nullables", "is not a setting of Confluent's AvroConverter 7.0.16, which kconnect reproduces (7.0.16 would ignore it and write defaults of nullable fields as it always does); remove it"),
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

pub struct AvroConfig {
    pub urls: Vec<String>,
    pub user_info: Option<String>,
    pub headers: Vec<(String, String)>,
    pub data: AvroDataOptions,
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

fn problem(key: &str, e: impl std::fmt::Display) -> Problem {
    Problem::new(key, e.to_string())
}

impl AvroConfig {
    pub fn parse(cfg: &BTreeMap<String, String>) -> Result<AvroConfig, Problem> {
        if let Some((key, why)) = REFUSED.iter().find(|(k, _)| cfg.contains_key(*k)) {
            return Err(Problem::new(*key, format!("{key} {why}")));
        }
        if cfg.contains_key("bearer.auth.credentials.source") {
            return Err(Problem::new(
                "bearer.auth.credentials.source",
                "bearer.auth.credentials.source: bearer-token authentication to the schema registry is not implemented by kconnect; use basic.auth.credentials.source with basic.auth.user.info",
            ));
        }
        if let Some(p) = crate::api::validate_keys(KEYS, cfg, "").into_iter().next() {
            return Err(p);
        }
        let s = Settings::new(KEYS, cfg);
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
        let data = AvroDataOptions {
            connect_meta_data: b("connect.meta.data")?,
            enhanced_avro_schema_support: b("enhanced.avro.schema.support")?,
            scrub_invalid_names: b("scrub.invalid.names")?,
            allow_optional_map_keys: b("allow.optional.map.keys")?,
            use_logical_type_converters: b("avro.use.logical.type.converters")?,
        };
        Ok(AvroConfig {
            urls,
            user_info,
            headers,
            data,
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
