//! The JDBC sink's settings, read once per task from Confluent's keys (the connection URL is
//! read in `url`).

use std::collections::BTreeMap;
use std::time::Duration;

use super::url::parse_url;
use crate::api::{ConfigKey, ConfigType, KeyDefault, Settings, Validator};
use crate::connectors::pg_tls::TlsSettings;

pub const KEYS: &[ConfigKey] = &[
    ConfigKey::new(
        "connection.url",
        ConfigType::String,
        KeyDefault::Required,
        "JDBC connection URL (jdbc:postgresql://host:port/db?user=..&password=..) or a libpq postgres:// URL. TLS comes from its sslmode (disable, allow, prefer [default], require, verify-ca, verify-full), sslrootcert, sslcert, sslkey and sslpassword parameters.",
    )
    .validator(Validator::NonEmpty),
    ConfigKey::new(
        "connection.user",
        ConfigType::String,
        KeyDefault::None,
        "Database user; a user given in the URL takes precedence, as with the PostgreSQL JDBC driver.",
    ),
    ConfigKey::new(
        "connection.password",
        ConfigType::Password,
        KeyDefault::None,
        "Database password; a password given in the URL takes precedence.",
    ),
    ConfigKey::new(
        "connection.attempts",
        ConfigType::Int,
        KeyDefault::Value("3"),
        "How many times to try to connect before a put fails as retriable.",
    )
    .validator(Validator::AtLeast(1)),
    ConfigKey::new(
        "connection.backoff.ms",
        ConfigType::Long,
        KeyDefault::Value("10000"),
        "Wait between connection attempts.",
    )
    .validator(Validator::AtLeast(0)),
    ConfigKey::new(
        "insert.mode",
        ConfigType::String,
        KeyDefault::Value("insert"),
        "insert: plain INSERT; upsert: INSERT .. ON CONFLICT (pk) DO UPDATE; update: UPDATE by primary key.",
    )
    .validator(Validator::OneOf(&["insert", "upsert", "update"])),
    ConfigKey::new(
        "pk.mode",
        ConfigType::String,
        KeyDefault::Value("none"),
        "Where the primary key comes from: none, kafka (topic, partition, offset), record_key or record_value.",
    )
    .validator(Validator::OneOf(&["none", "kafka", "record_key", "record_value"])),
    ConfigKey::new(
        "pk.fields",
        ConfigType::List,
        KeyDefault::Value(""),
        "Primary key column names. kafka: three names (default __connect_topic,__connect_partition,__connect_offset); record_key: the key field(s), one name for a primitive key; record_value: the value fields (all when empty).",
    ),
    ConfigKey::new(
        "fields.whitelist",
        ConfigType::List,
        KeyDefault::Value(""),
        "Value fields to write (all when empty); primary key fields are always written.",
    ),
    ConfigKey::new(
        "delete.enabled",
        ConfigType::Boolean,
        KeyDefault::Value("false"),
        "Whether a tombstone (null value) deletes the row with the record key's primary key; needs pk.mode=record_key.",
    ),
    ConfigKey::new(
        "auto.create",
        ConfigType::Boolean,
        KeyDefault::Value("false"),
        "Create a missing table (CREATE TABLE) from the record schema.",
    ),
    ConfigKey::new(
        "auto.evolve",
        ConfigType::Boolean,
        KeyDefault::Value("false"),
        "Add columns (ALTER TABLE .. ADD) when the record schema has fields the table lacks.",
    ),
    ConfigKey::new(
        "table.name.format",
        ConfigType::String,
        KeyDefault::Value("${topic}"),
        "Destination table name; ${topic} is replaced by the record's topic. schema.table names a schema.",
    )
    .validator(Validator::NonEmpty),
    ConfigKey::new(
        "batch.size",
        ConfigType::Int,
        KeyDefault::Value("3000"),
        "Most rows written by one statement.",
    )
    .validator(Validator::AtLeast(1)),
    ConfigKey::new(
        "max.retries",
        ConfigType::Int,
        KeyDefault::Value("10"),
        "How many times a batch that failed because the database was unreachable is retried before the task fails, as Confluent's sink does, in `--once` runs. A long-running worker waits for the database instead: past max.retries it keeps retrying every retry.backoff.ms (at most 10 s) and says so once a minute, until the database is back.",
    )
    .validator(Validator::AtLeast(0)),
    ConfigKey::new(
        "retry.backoff.ms",
        ConfigType::Int,
        KeyDefault::Value("3000"),
        "Wait before a failed batch is retried.",
    )
    .validator(Validator::AtLeast(0)),
    ConfigKey::new(
        "db.timezone",
        ConfigType::String,
        KeyDefault::Value("UTC"),
        "Time zone (a PostgreSQL time zone name) in which Connect Timestamps are written to TIMESTAMP columns.",
    )
    .validator(Validator::NonEmpty),
    ConfigKey::new(
        "quote.sql.identifiers",
        ConfigType::String,
        KeyDefault::Value("always"),
        "always: quote table and column names; never: leave them unquoted (PostgreSQL folds them to lower case).",
    )
    .validator(Validator::OneOf(&["always", "never"])),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertMode {
    Insert,
    Upsert,
    Update,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PkMode {
    None,
    Kafka,
    RecordKey,
    RecordValue,
}

impl PkMode {
    pub fn name(self) -> &'static str {
        match self {
            PkMode::None => "none",
            PkMode::Kafka => "kafka",
            PkMode::RecordKey => "record_key",
            PkMode::RecordValue => "record_value",
        }
    }
}

pub const DEFAULT_KAFKA_PK_NAMES: [&str; 3] =
    ["__connect_topic", "__connect_partition", "__connect_offset"];

#[derive(Clone, Debug)]
pub struct JdbcSinkConfig {
    pub pg: postgres::Config,
    pub tls: TlsSettings,
    /// The URL without its password, for messages.
    pub url_display: String,
    pub connection_attempts: u32,
    pub connection_backoff: Duration,
    pub insert_mode: InsertMode,
    pub pk_mode: PkMode,
    pub pk_fields: Vec<String>,
    pub fields_whitelist: Vec<String>,
    pub delete_enabled: bool,
    pub auto_create: bool,
    pub auto_evolve: bool,
    pub table_name_format: String,
    pub batch_size: usize,
    pub max_retries: u32,
    pub retry_backoff: Duration,
    pub db_timezone: String,
    pub quote_identifiers: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Invalid(#[from] crate::api::InvalidConfig),
    #[error("Invalid value for configuration connection.url: {0}")]
    Url(String),
    #[error("Invalid configuration: {0}")]
    Combination(String),
}

impl JdbcSinkConfig {
    pub fn parse(values: &BTreeMap<String, String>) -> Result<JdbcSinkConfig, ConfigError> {
        let s = Settings::new(KEYS, values);
        let url = s.required_string("connection.url")?;
        let user = s.string("connection.user").filter(|u| !u.is_empty());
        let password = s.raw("connection.password").map(str::to_string);
        let (pg, tls, url_display) = parse_url(&url, user.as_deref(), password.as_deref())?;
        let insert_mode = match s.choice("insert.mode")?.as_str() {
            "upsert" => InsertMode::Upsert,
            "update" => InsertMode::Update,
            _ => InsertMode::Insert,
        };
        let pk_mode = match s.choice("pk.mode")?.as_str() {
            "kafka" => PkMode::Kafka,
            "record_key" => PkMode::RecordKey,
            "record_value" => PkMode::RecordValue,
            _ => PkMode::None,
        };
        let int = |k: &str| -> Result<i64, ConfigError> {
            let v = s.i64(k)?;
            if let Some(d) = KEYS.iter().find(|d| d.name == k) {
                d.check(&v.to_string())
                    .map_err(|reason| crate::api::InvalidConfig {
                        key: k.to_string(),
                        value: v.to_string(),
                        reason,
                    })?;
            }
            Ok(v)
        };
        let cfg = JdbcSinkConfig {
            pg,
            tls,
            url_display,
            connection_attempts: int("connection.attempts")? as u32,
            connection_backoff: Duration::from_millis(int("connection.backoff.ms")? as u64),
            insert_mode,
            pk_mode,
            pk_fields: s.list("pk.fields"),
            fields_whitelist: s.list("fields.whitelist"),
            delete_enabled: s.bool("delete.enabled")?,
            auto_create: s.bool("auto.create")?,
            auto_evolve: s.bool("auto.evolve")?,
            table_name_format: s.required_string("table.name.format")?,
            batch_size: int("batch.size")? as usize,
            max_retries: int("max.retries")? as u32,
            retry_backoff: Duration::from_millis(int("retry.backoff.ms")? as u64),
            db_timezone: s.required_string("db.timezone")?,
            quote_identifiers: s.choice("quote.sql.identifiers")? == "always",
        };
        if let Some(problem) = cfg.combination_problem() {
            return Err(ConfigError::Combination(problem));
        }
        Ok(cfg)
    }

    /// Checks Confluent's JdbcSinkConfig makes across keys, plus the ones its writer would
    /// only hit at the first record.
    pub fn combination_problem(&self) -> Option<String> {
        if self.delete_enabled && self.pk_mode != PkMode::RecordKey {
            return Some(format!(
                "delete.enabled=true requires pk.mode=record_key (pk.mode is {}): a tombstone only carries its key",
                self.pk_mode.name()
            ));
        }
        if self.pk_mode == PkMode::None && self.insert_mode != InsertMode::Insert {
            return Some(format!(
                "insert.mode={} needs a primary key: set pk.mode to kafka, record_key or record_value",
                if self.insert_mode == InsertMode::Upsert {
                    "upsert"
                } else {
                    "update"
                }
            ));
        }
        if self.pk_mode == PkMode::Kafka && !self.pk_fields.is_empty() && self.pk_fields.len() != 3
        {
            return Some(format!(
                "pk.mode=kafka takes either no pk.fields (defaults {}) or exactly 3, but pk.fields is {:?}",
                DEFAULT_KAFKA_PK_NAMES.join(","),
                self.pk_fields
            ));
        }
        None
    }
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
        let c = JdbcSinkConfig::parse(&values(&[("connection.url", "jdbc:postgresql://h/db")]))
            .unwrap();
        assert_eq!(c.insert_mode, InsertMode::Insert);
        assert_eq!(c.pk_mode, PkMode::None);
        assert_eq!(c.batch_size, 3000);
        assert_eq!(c.max_retries, 10);
        assert_eq!(c.retry_backoff, Duration::from_millis(3000));
        assert_eq!(c.table_name_format, "${topic}");
        assert_eq!(c.db_timezone, "UTC");
        assert!(c.quote_identifiers);
        assert!(!c.auto_create && !c.auto_evolve && !c.delete_enabled);
    }

    #[test]
    fn cross_key_problems() {
        let bad = |pairs: &[(&str, &str)]| {
            let mut v = values(&[("connection.url", "jdbc:postgresql://h/db")]);
            for (k, x) in pairs {
                v.insert(k.to_string(), x.to_string());
            }
            JdbcSinkConfig::parse(&v).err().map(|e| e.to_string())
        };
        assert!(
            bad(&[("delete.enabled", "true"), ("pk.mode", "record_value")])
                .unwrap()
                .contains("pk.mode=record_key")
        );
        assert!(bad(&[("insert.mode", "upsert")])
            .unwrap()
            .contains("primary key"));
        assert!(bad(&[("pk.mode", "kafka"), ("pk.fields", "a,b")]).is_some());
        assert!(bad(&[("delete.enabled", "true"), ("pk.mode", "record_key")]).is_none());
        assert!(bad(&[("batch.size", "0")]).unwrap().contains("batch.size"));
    }
}
