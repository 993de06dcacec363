//! The settings of Confluent's `ElasticsearchSinkConnector`, with its names and defaults, read
//! once into a typed struct so the hot path never looks a key up.
//!
//! Longer than 600 lines because half of it is `KEYS`, the table of Confluent's settings.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::api::{ConfigKey, ConfigType, KeyDefault, Problem, Settings, Validator};

pub const KEYS: &[ConfigKey] = &[
    ConfigKey::new(
        "connection.url",
        ConfigType::List,
        KeyDefault::Required,
        "Elasticsearch HTTP URLs, comma separated (http://es1:9200,http://es2:9200); requests are spread over them round-robin.",
    )
    .validator(Validator::NonEmpty),
    ConfigKey::new(
        "connection.username",
        ConfigType::String,
        KeyDefault::None,
        "User for basic authentication; used only when connection.password is set too.",
    ),
    ConfigKey::new(
        "connection.password",
        ConfigType::Password,
        KeyDefault::None,
        "Password for basic authentication; used only when connection.username is set too.",
    ),
    ConfigKey::new(
        "batch.size",
        ConfigType::Int,
        KeyDefault::Value("2000"),
        "Most records in one bulk request.",
    )
    .validator(Validator::Between(1, 1_000_000)),
    ConfigKey::new(
        "bulk.size.bytes",
        ConfigType::Long,
        KeyDefault::Value("5242880"),
        "Most bytes of actions and documents in one bulk request (a single larger document is sent alone).",
    )
    .validator(Validator::AtLeast(1)),
    ConfigKey::new(
        "max.in.flight.requests",
        ConfigType::Int,
        KeyDefault::Value("5"),
        "Most bulk requests outstanding at once; put blocks when they are all busy.",
    )
    .validator(Validator::Between(1, 1000)),
    ConfigKey::new(
        "max.buffered.records",
        ConfigType::Int,
        KeyDefault::Value("20000"),
        "Most records held before Elasticsearch acknowledged them; put blocks (and consumption pauses) beyond it.",
    )
    .validator(Validator::Between(1, i32::MAX as i64)),
    ConfigKey::new(
        "linger.ms",
        ConfigType::Long,
        KeyDefault::Value("1"),
        "How long a bulk request that is not full waits for more records before it is sent.",
    )
    .validator(Validator::Between(0, 604_800_000)),
    ConfigKey::new(
        "flush.timeout.ms",
        ConfigType::Long,
        KeyDefault::Value("180000"),
        "How long a flush, or a put waiting for buffer room, waits for Elasticsearch before giving up.",
    )
    .validator(Validator::AtLeast(1000)),
    ConfigKey::new(
        "flush.synchronously",
        ConfigType::Boolean,
        KeyDefault::Value("false"),
        "true: an offset commit waits for every record put so far and commits nothing if that times out (needed with topic-renaming transforms). false: a commit that times out commits the acknowledged prefix.",
    ),
    ConfigKey::new(
        "max.retries",
        ConfigType::Int,
        KeyDefault::Value("5"),
        "Retries of a bulk request (or of its failed items) after 429, 5xx, timeouts or connection errors before the task fails, as Confluent's sink does, in `--once` runs. A long-running worker rides out such an outage instead: past max.retries it keeps retrying at most 10 s apart and says so once a minute, until Elasticsearch is back.",
    )
    .validator(Validator::AtLeast(0)),
    ConfigKey::new(
        "retry.backoff.ms",
        ConfigType::Long,
        KeyDefault::Value("100"),
        "Wait before the first retry; doubles with each retry, with random jitter.",
    )
    .validator(Validator::AtLeast(0)),
    ConfigKey::new(
        "connection.compression",
        ConfigType::Boolean,
        KeyDefault::Value("false"),
        "Gzip request bodies.",
    ),
    ConfigKey::new(
        "connection.timeout.ms",
        ConfigType::Int,
        KeyDefault::Value("1000"),
        "Time allowed for connecting; added to read.timeout.ms to bound each request as a whole.",
    )
    .validator(Validator::AtLeast(0)),
    ConfigKey::new(
        "read.timeout.ms",
        ConfigType::Int,
        KeyDefault::Value("3000"),
        "Time allowed for Elasticsearch to answer a request; a timed-out request is retried.",
    )
    .validator(Validator::AtLeast(0)),
    ConfigKey::new(
        "key.ignore",
        ConfigType::Boolean,
        KeyDefault::Value("false"),
        "true: document ids are <topic>+<partition>+<offset>; false: the record key is the id.",
    ),
    ConfigKey::new(
        "schema.ignore",
        ConfigType::Boolean,
        KeyDefault::Value("false"),
        "true: leave the mapping to Elasticsearch; false: create the index mapping from the value schema.",
    ),
    ConfigKey::new(
        "topic.key.ignore",
        ConfigType::List,
        KeyDefault::Value(""),
        "Topics for which key.ignore is true whatever key.ignore says.",
    ),
    ConfigKey::new(
        "topic.schema.ignore",
        ConfigType::List,
        KeyDefault::Value(""),
        "Topics for which schema.ignore is true whatever schema.ignore says.",
    ),
    ConfigKey::new(
        "compact.map.entries",
        ConfigType::Boolean,
        KeyDefault::Value("true"),
        "Write string-keyed maps as JSON objects; false writes every map as [{\"key\":..,\"value\":..}].",
    ),
    ConfigKey::new(
        "drop.invalid.message",
        ConfigType::Boolean,
        KeyDefault::Value("false"),
        "Skip (and log) records that cannot be turned into a document instead of failing the task.",
    ),
    ConfigKey::new(
        "behavior.on.null.values",
        ConfigType::String,
        KeyDefault::Value("fail"),
        "Records with a null value (tombstones): fail the task, ignore them, or delete the document with the record's key.",
    )
    .validator(Validator::OneOf(&["ignore", "delete", "fail"])),
    ConfigKey::new(
        "behavior.on.malformed.documents",
        ConfigType::String,
        KeyDefault::Value("fail"),
        "Documents Elasticsearch rejects as malformed (mapping or parsing errors): fail the task, warn and skip, or skip.",
    )
    .validator(Validator::OneOf(&["ignore", "warn", "fail"])),
    ConfigKey::new(
        "write.method",
        ConfigType::String,
        KeyDefault::Value("insert"),
        "insert replaces the whole document; upsert merges the record's fields into it (creating it if missing).",
    )
    .validator(Validator::OneOf(&["insert", "upsert"])),
    ConfigKey::new(
        "external.version.header",
        ConfigType::String,
        KeyDefault::Value(""),
        "Header whose (integer) value is the document's external version instead of the Kafka offset.",
    ),
    ConfigKey::new(
        "data.stream.type",
        ConfigType::String,
        KeyDefault::Value("none"),
        "Write to the data stream <type>-<dataset>-<namespace> instead of an index named after the topic.",
    )
    .validator(Validator::OneOf(&["none", "logs", "metrics"])),
    ConfigKey::new(
        "data.stream.dataset",
        ConfigType::String,
        KeyDefault::Value(""),
        "The dataset part of the data stream name; required with data.stream.type.",
    ),
    ConfigKey::new(
        "data.stream.namespace",
        ConfigType::String,
        KeyDefault::Value("${topic}"),
        "The namespace part of the data stream name; ${topic} is replaced by the topic.",
    ),
    ConfigKey::new(
        "data.stream.timestamp.field",
        ConfigType::List,
        KeyDefault::Value(""),
        "Value fields tried in order for the document's @timestamp; empty uses the record timestamp.",
    ),
    ConfigKey::new(
        "elastic.security.protocol",
        ConfigType::String,
        KeyDefault::Value("PLAINTEXT"),
        "SSL to use the elastic.https.ssl.* trust and key stores for https URLs.",
    )
    .validator(Validator::OneOf(&["PLAINTEXT", "SSL"])),
    ConfigKey::new(
        "elastic.https.ssl.truststore.location",
        ConfigType::String,
        KeyDefault::None,
        "CA certificates to trust: a PEM file or a PKCS12 store (JKS stores must be converted to PKCS12).",
    ),
    ConfigKey::new(
        "elastic.https.ssl.truststore.password",
        ConfigType::Password,
        KeyDefault::None,
        "Password of a PKCS12 trust store.",
    ),
    ConfigKey::new(
        "elastic.https.ssl.truststore.type",
        ConfigType::String,
        KeyDefault::Value("JKS"),
        "Accepted for compatibility; the store's format (PEM or PKCS12) is read from the file itself.",
    ),
    ConfigKey::new(
        "elastic.https.ssl.keystore.location",
        ConfigType::String,
        KeyDefault::None,
        "Client certificate and key: a PKCS12 store, or a PEM file holding the certificate chain and an unencrypted PKCS8 key.",
    ),
    ConfigKey::new(
        "elastic.https.ssl.keystore.password",
        ConfigType::Password,
        KeyDefault::None,
        "Password of a PKCS12 key store.",
    ),
    ConfigKey::new(
        "elastic.https.ssl.keystore.type",
        ConfigType::String,
        KeyDefault::Value("JKS"),
        "Accepted for compatibility; the store's format (PEM or PKCS12) is read from the file itself.",
    ),
    ConfigKey::new(
        "elastic.https.ssl.key.password",
        ConfigType::Password,
        KeyDefault::None,
        "Accepted for compatibility; a PKCS12 key is opened with elastic.https.ssl.keystore.password.",
    ),
    ConfigKey::new(
        "elastic.https.ssl.endpoint.identification.algorithm",
        ConfigType::String,
        KeyDefault::Value("https"),
        "https checks the server's host name against its certificate; empty turns that check off.",
    ),
    ConfigKey::new(
        "proxy.host",
        ConfigType::String,
        KeyDefault::Value(""),
        "HTTP proxy host; empty for none.",
    ),
    ConfigKey::new(
        "proxy.port",
        ConfigType::Int,
        KeyDefault::Value("8080"),
        "HTTP proxy port.",
    )
    .validator(Validator::Between(1, 65535)),
    ConfigKey::new(
        "proxy.username",
        ConfigType::String,
        KeyDefault::None,
        "HTTP proxy user.",
    ),
    ConfigKey::new(
        "proxy.password",
        ConfigType::Password,
        KeyDefault::None,
        "HTTP proxy password.",
    ),
    ConfigKey::new(
        "log.sensitive.data",
        ConfigType::Boolean,
        KeyDefault::Value("false"),
        "Include document contents in error messages and logs.",
    ),
    ConfigKey::new(
        "type.name",
        ConfigType::String,
        KeyDefault::None,
        "Has no effect: mapping types were removed from Elasticsearch 8 and from the connector in v11. Accepted so old configs run.",
    ),
    ConfigKey::new(
        "schema.enable",
        ConfigType::String,
        KeyDefault::None,
        "Has no effect on this connector: converters decide schemas (value.converter.schemas.enable). Accepted so old configs run.",
    ),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NullValues {
    Ignore,
    Delete,
    Fail,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformed {
    Ignore,
    Warn,
    Fail,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteMethod {
    Insert,
    Upsert,
}

#[derive(Clone, Debug, Default)]
pub struct Tls {
    pub truststore: Option<String>,
    pub truststore_password: Option<String>,
    pub keystore: Option<String>,
    pub keystore_password: Option<String>,
    pub verify_hostname: bool,
}

#[derive(Clone, Debug)]
pub struct Proxy {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// Everything the task reads, parsed once.
#[derive(Clone, Debug)]
pub struct EsConfig {
    pub urls: Vec<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub batch_size: usize,
    pub bulk_size_bytes: usize,
    pub max_in_flight: usize,
    /// A long-running worker (no `--once` bound): requests that keep failing transiently
    /// (unreachable, timing out, 429 or 5xx) are retried past max.retries, at most
    /// `RIDE_OUT_CAP` apart, and said once a minute, until Elasticsearch is back.
    pub ride_out: bool,
    pub max_buffered: usize,
    pub linger: Duration,
    pub flush_timeout: Duration,
    pub flush_synchronously: bool,
    pub max_retries: u32,
    pub retry_backoff: Duration,
    pub compression: bool,
    pub request_timeout: Duration,
    pub key_ignore: bool,
    pub schema_ignore: bool,
    pub topic_key_ignore: Vec<String>,
    pub topic_schema_ignore: Vec<String>,
    pub compact_map_entries: bool,
    pub drop_invalid: bool,
    pub null_values: NullValues,
    pub malformed: Malformed,
    pub write_method: WriteMethod,
    pub external_version_header: Option<String>,
    /// `<type>-<dataset>` when writing to data streams.
    pub data_stream: Option<(String, String)>,
    pub data_stream_namespace: String,
    pub data_stream_timestamp_fields: Vec<String>,
    pub tls: Option<Tls>,
    pub proxy: Option<Proxy>,
    pub log_sensitive: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl From<crate::api::InvalidConfig> for ConfigError {
    fn from(e: crate::api::InvalidConfig) -> Self {
        ConfigError(e.to_string())
    }
}

fn opt(s: &Settings<'_>, key: &str) -> Option<String> {
    s.string(key).filter(|v| !v.is_empty())
}

impl EsConfig {
    pub fn from_values(values: &BTreeMap<String, String>) -> Result<EsConfig, ConfigError> {
        let s = Settings::new(KEYS, values);
        let problems = cross_checks(values);
        if let Some(p) = problems.first() {
            return Err(ConfigError(format!("{}: {}", p.key, p.message)));
        }
        let urls = s.list("connection.url");
        if urls.is_empty() {
            return Err(ConfigError(
                "connection.url: Missing required configuration; give the Elasticsearch URL(s), e.g. http://localhost:9200".into(),
            ));
        }
        let (username, password) = match (
            opt(&s, "connection.username"),
            opt(&s, "connection.password"),
        ) {
            (Some(u), Some(p)) => (Some(u), Some(p)),
            _ => (None, None),
        };
        let null_values = match s.choice("behavior.on.null.values")?.as_str() {
            "ignore" => NullValues::Ignore,
            "delete" => NullValues::Delete,
            _ => NullValues::Fail,
        };
        let malformed = match s.choice("behavior.on.malformed.documents")?.as_str() {
            "ignore" => Malformed::Ignore,
            "warn" => Malformed::Warn,
            _ => Malformed::Fail,
        };
        let write_method = match s.choice("write.method")?.as_str() {
            "upsert" => WriteMethod::Upsert,
            _ => WriteMethod::Insert,
        };
        let ds_type = s.choice("data.stream.type")?;
        let data_stream = if ds_type == "none" {
            None
        } else {
            Some((ds_type, s.string("data.stream.dataset").unwrap_or_default()))
        };
        let tls = if s.choice("elastic.security.protocol")? == "ssl" {
            Some(Tls {
                truststore: opt(&s, "elastic.https.ssl.truststore.location"),
                truststore_password: opt(&s, "elastic.https.ssl.truststore.password"),
                keystore: opt(&s, "elastic.https.ssl.keystore.location"),
                keystore_password: opt(&s, "elastic.https.ssl.keystore.password"),
                verify_hostname: !s
                    .string("elastic.https.ssl.endpoint.identification.algorithm")
                    .unwrap_or_default()
                    .is_empty(),
            })
        } else {
            None
        };
        let proxy = opt(&s, "proxy.host").map(|host| Proxy {
            host,
            port: s.i64("proxy.port").unwrap_or(8080) as u16,
            username: opt(&s, "proxy.username"),
            password: opt(&s, "proxy.password"),
        });
        let ms = |k: &str| -> Result<Duration, ConfigError> {
            Ok(Duration::from_millis(s.i64(k)?.max(0) as u64))
        };
        Ok(EsConfig {
            urls,
            username,
            password,
            batch_size: s.i64("batch.size")?.max(1) as usize,
            bulk_size_bytes: s.i64("bulk.size.bytes")?.max(1) as usize,
            max_in_flight: s.i64("max.in.flight.requests")?.max(1) as usize,
            ride_out: false,
            max_buffered: s.i64("max.buffered.records")?.max(1) as usize,
            linger: ms("linger.ms")?,
            flush_timeout: ms("flush.timeout.ms")?,
            flush_synchronously: s.bool("flush.synchronously")?,
            max_retries: s.i64("max.retries")?.max(0) as u32,
            retry_backoff: ms("retry.backoff.ms")?,
            compression: s.bool("connection.compression")?,
            request_timeout: ms("connection.timeout.ms")? + ms("read.timeout.ms")?,
            key_ignore: s.bool("key.ignore")?,
            schema_ignore: s.bool("schema.ignore")?,
            topic_key_ignore: s.list("topic.key.ignore"),
            topic_schema_ignore: s.list("topic.schema.ignore"),
            compact_map_entries: s.bool("compact.map.entries")?,
            drop_invalid: s.bool("drop.invalid.message")?,
            null_values,
            malformed,
            write_method,
            external_version_header: opt(&s, "external.version.header"),
            data_stream,
            data_stream_namespace: s
                .string("data.stream.namespace")
                .unwrap_or_else(|| "${topic}".into()),
            data_stream_timestamp_fields: s.list("data.stream.timestamp.field"),
            tls,
            proxy,
            log_sensitive: s.bool("log.sensitive.data")?,
        })
    }

    pub fn ignore_key(&self, topic: &str) -> bool {
        self.key_ignore || self.topic_key_ignore.iter().any(|t| t == topic)
    }

    pub fn ignore_schema(&self, topic: &str) -> bool {
        self.schema_ignore || self.topic_schema_ignore.iter().any(|t| t == topic)
    }
}

/// Elasticsearch's rules for a data stream's dataset: lower case, no `-`, none of `\/*?"<>| ,#`.
fn dataset_problem(dataset: &str) -> Option<String> {
    if dataset.is_empty() {
        return Some("must be set when data.stream.type is logs or metrics".into());
    }
    if dataset.len() > 100 {
        return Some("must be at most 100 characters".into());
    }
    if dataset
        .chars()
        .any(|c| c.is_uppercase() || "\\/*?\"<>| ,#:-".contains(c))
        || dataset.starts_with(['_', '+', '.'])
    {
        return Some(
            "must be lower case and contain none of \\ / * ? \" < > | space , # : - and not start with _ + or ."
                .into(),
        );
    }
    None
}

/// The checks across keys that Confluent's validator makes.
pub fn cross_checks(values: &BTreeMap<String, String>) -> Vec<Problem> {
    let s = Settings::new(KEYS, values);
    let mut problems = Vec::new();
    let user = opt(&s, "connection.username");
    let pass = opt(&s, "connection.password");
    if user.is_some() != pass.is_some() {
        let missing = if user.is_some() {
            "connection.password"
        } else {
            "connection.username"
        };
        problems.push(Problem::new(
            missing,
            "Both connection.username and connection.password must be set for basic authentication",
        ));
    }
    let ssl = s
        .choice("elastic.security.protocol")
        .map(|p| p == "ssl")
        .unwrap_or(false);
    for url in s.list("connection.url") {
        let lower = url.to_ascii_lowercase();
        if !lower.starts_with("http://") && !lower.starts_with("https://") {
            problems.push(Problem::new(
                "connection.url",
                format!("{url} is not an http:// or https:// URL"),
            ));
        } else if url.split('/').nth(2).is_some_and(|host| host.contains('@')) {
            problems.push(Problem::new(
                "connection.url",
                "a URL carries credentials; put them in connection.username and connection.password (which are kept out of logs)",
            ));
        } else if ssl && lower.starts_with("http://") {
            problems.push(Problem::new(
                "connection.url",
                format!(
                    "{url} is not https but elastic.security.protocol is SSL; use https:// URLs"
                ),
            ));
        }
    }
    let ds = s
        .choice("data.stream.type")
        .unwrap_or_else(|_| "none".into());
    if ds != "none" {
        let dataset = s.string("data.stream.dataset").unwrap_or_default();
        if let Some(p) = dataset_problem(&dataset) {
            problems.push(Problem::new("data.stream.dataset", p));
        }
        if s.choice("write.method")
            .map(|m| m == "upsert")
            .unwrap_or(false)
        {
            problems.push(Problem::new(
                "write.method",
                "upsert cannot be used with data streams (data.stream.type); they only accept inserts",
            ));
        }
        if s.choice("behavior.on.null.values")
            .map(|m| m == "delete")
            .unwrap_or(false)
        {
            problems.push(Problem::new(
                "behavior.on.null.values",
                "delete cannot be used with data streams (data.stream.type); use ignore or fail",
            ));
        }
    } else if !s
        .string("data.stream.dataset")
        .unwrap_or_default()
        .is_empty()
    {
        problems.push(Problem::new(
            "data.stream.type",
            "data.stream.dataset is set but data.stream.type is none; set it to logs or metrics",
        ));
    }
    problems
}

pub fn validate(values: &BTreeMap<String, String>) -> Vec<Problem> {
    cross_checks(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_match_confluent() {
        let c = EsConfig::from_values(&values(&[(
            "connection.url",
            "http://a:9200,http://b:9200",
        )]))
        .unwrap();
        assert_eq!(c.urls, vec!["http://a:9200", "http://b:9200"]);
        assert_eq!(c.batch_size, 2000);
        assert_eq!(c.bulk_size_bytes, 5 * 1024 * 1024);
        assert_eq!(c.max_in_flight, 5);
        assert_eq!(c.max_buffered, 20000);
        assert_eq!(c.linger, Duration::from_millis(1));
        assert_eq!(c.flush_timeout, Duration::from_millis(180000));
        assert_eq!(c.max_retries, 5);
        assert_eq!(c.retry_backoff, Duration::from_millis(100));
        assert_eq!(c.request_timeout, Duration::from_millis(4000));
        assert!(!c.key_ignore && !c.schema_ignore && c.compact_map_entries);
        assert_eq!(c.null_values, NullValues::Fail);
        assert_eq!(c.malformed, Malformed::Fail);
        assert_eq!(c.write_method, WriteMethod::Insert);
        assert!(c.data_stream.is_none() && c.tls.is_none());
    }

    #[test]
    fn leftover_keys_are_accepted_without_problems() {
        let v = values(&[
            ("connection.url", "http://localhost:9200"),
            ("type.name", "customer_event"),
            ("schema.enable", "false"),
        ]);
        assert!(cross_checks(&v).is_empty());
        assert!(EsConfig::from_values(&v).is_ok());
    }

    #[test]
    fn cross_checks_report_what_to_fix() {
        let v = values(&[
            ("connection.url", "http://h:9200"),
            ("connection.username", "u"),
        ]);
        assert_eq!(cross_checks(&v)[0].key, "connection.password");
        let v = values(&[("connection.url", "http://u:p@h:9200")]);
        assert!(!cross_checks(&v)[0].message.contains("u:p"));
        let v = values(&[("connection.url", "h:9200")]);
        assert!(cross_checks(&v)[0].message.contains("not an http"));
        let v = values(&[
            ("connection.url", "http://h:9200"),
            ("elastic.security.protocol", "SSL"),
        ]);
        assert!(cross_checks(&v)[0].message.contains("use https"));
        let v = values(&[
            ("connection.url", "http://h:9200"),
            ("data.stream.type", "logs"),
        ]);
        assert_eq!(cross_checks(&v)[0].key, "data.stream.dataset");
        let v = values(&[
            ("connection.url", "http://h:9200"),
            ("data.stream.type", "logs"),
            ("data.stream.dataset", "app"),
            ("write.method", "upsert"),
        ]);
        assert_eq!(cross_checks(&v)[0].key, "write.method");
        let v = values(&[
            ("connection.url", "http://h:9200"),
            ("data.stream.type", "logs"),
            ("data.stream.dataset", "Bad-Name"),
        ]);
        assert_eq!(cross_checks(&v)[0].key, "data.stream.dataset");
    }
}
