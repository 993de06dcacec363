//! Debezium PostgreSQL connector settings: the same names and defaults, so a Debezium
//! connector file runs unchanged.

use std::collections::BTreeMap;
use std::time::Duration;

use regex::{Regex, RegexBuilder};

use super::types::DecimalMode;
use crate::api::{ConfigKey, ConfigType, InvalidConfig, KeyDefault, Problem, Settings, Validator};
use crate::connectors::pg_tls::{Spelling, SslMode, TlsSettings};

pub const KEYS: &[ConfigKey] = &[
    ConfigKey::new("topic.prefix", ConfigType::String, KeyDefault::Required,
        "Prefix of every topic name; also the logical server name in the source block and the offsets' partition.")
        .validator(Validator::NonEmpty),
    ConfigKey::new("database.hostname", ConfigType::String, KeyDefault::Required,
        "PostgreSQL server host."),
    ConfigKey::new("database.port", ConfigType::Int, KeyDefault::Value("5432"),
        "PostgreSQL server port."),
    ConfigKey::new("database.user", ConfigType::String, KeyDefault::Required,
        "User to connect as; needs REPLICATION (or superuser) and SELECT on captured tables."),
    ConfigKey::new("database.password", ConfigType::Password, KeyDefault::None,
        "Password of database.user."),
    ConfigKey::new("database.dbname", ConfigType::String, KeyDefault::Required,
        "Database to capture."),
    ConfigKey::new("database.sslmode", ConfigType::String, KeyDefault::Value("prefer"),
        "Encryption of the connection: disable (plain), allow or prefer (TLS when the server offers it, certificate not checked), require (TLS or no connection), verify-ca (TLS, server certificate signed by database.sslrootcert), verify-full (verify-ca and the certificate names database.hostname).")
        .validator(Validator::OneOf(SslMode::NAMES)),
    ConfigKey::new("database.sslrootcert", ConfigType::String, KeyDefault::None,
        "PEM file with the CA certificate(s) the server's certificate must be signed by, the only CAs trusted (system: the operating system's trust store); when not set, ~/.postgresql/root.crt if it exists, as libpq. Needed by verify-ca and verify-full; makes require check the chain too."),
    ConfigKey::new("database.sslcert", ConfigType::String, KeyDefault::None,
        "PEM file with the client certificate to present, for servers that authenticate clients by certificate; goes with database.sslkey."),
    ConfigKey::new("database.sslkey", ConfigType::String, KeyDefault::None,
        "File with the private key of database.sslcert (PEM, or DER PKCS#8 as the JDBC driver reads)."),
    ConfigKey::new("database.sslpassword", ConfigType::Password, KeyDefault::None,
        "Password that decrypts database.sslkey, when the key is encrypted."),
    ConfigKey::new("database.connect.timeout.ms", ConfigType::Long, KeyDefault::Value("30000"),
        "How long to wait for a connection."),
    ConfigKey::new("plugin.name", ConfigType::String, KeyDefault::Value("decoderbufs"),
        "Logical decoding plugin. kconnect decodes pgoutput; decoderbufs is read as pgoutput (same events).")
        .validator(Validator::OneOf(&["decoderbufs", "pgoutput"])),
    ConfigKey::new("slot.name", ConfigType::String, KeyDefault::Value("debezium"),
        "Logical replication slot; created when missing."),
    ConfigKey::new("slot.drop.on.stop", ConfigType::Boolean, KeyDefault::Value("false"),
        "Drop the slot when the task stops (changes made while stopped are then lost)."),
    ConfigKey::new("publication.name", ConfigType::String, KeyDefault::Value("dbz_publication"),
        "pgoutput publication."),
    ConfigKey::new("publication.autocreate.mode", ConfigType::String, KeyDefault::Value("all_tables"),
        "all_tables: create the publication FOR ALL TABLES; filtered: for the captured tables (kept in sync); no_tables: empty; disabled: it must exist.")
        .validator(Validator::OneOf(&["all_tables", "disabled", "filtered", "no_tables"])),
    ConfigKey::new("snapshot.mode", ConfigType::String, KeyDefault::Value("initial"),
        "initial: snapshot when no offset exists, then stream; always: snapshot at every start; no_data: stream only; initial_only: snapshot, then stop; when_needed: snapshot when there is no offset or the slot was lost.")
        .validator(Validator::OneOf(&["initial", "always", "no_data", "never", "initial_only", "when_needed"])),
    ConfigKey::new("snapshot.fetch.size", ConfigType::Int, KeyDefault::Value("10240"),
        "Rows fetched per round trip while snapshotting.")
        .validator(Validator::AtLeast(1)),
    ConfigKey::new("schema.include.list", ConfigType::List, KeyDefault::None,
        "Regexes of schemas to capture."),
    ConfigKey::new("schema.exclude.list", ConfigType::List, KeyDefault::None,
        "Regexes of schemas not to capture."),
    ConfigKey::new("table.include.list", ConfigType::List, KeyDefault::None,
        "Regexes of schema.table to capture."),
    ConfigKey::new("table.exclude.list", ConfigType::List, KeyDefault::None,
        "Regexes of schema.table not to capture."),
    ConfigKey::new("column.include.list", ConfigType::List, KeyDefault::None,
        "Regexes of schema.table.column to include in change values."),
    ConfigKey::new("column.exclude.list", ConfigType::List, KeyDefault::None,
        "Regexes of schema.table.column to leave out of change values."),
    ConfigKey::new("message.key.columns", ConfigType::String, KeyDefault::None,
        "Key columns per table: schema.table:col1,col2;other.table:col."),
    ConfigKey::new("decimal.handling.mode", ConfigType::String, KeyDefault::Value("precise"),
        "numeric and money as Connect Decimal (precise), double or string.")
        .validator(Validator::OneOf(&["precise", "double", "string"])),
    ConfigKey::new("time.precision.mode", ConfigType::String, KeyDefault::Value("adaptive"),
        "Temporal types' representation; kconnect implements adaptive.")
        .validator(Validator::OneOf(&["adaptive"])),
    ConfigKey::new("binary.handling.mode", ConfigType::String, KeyDefault::Value("bytes"),
        "bytea as bytes.")
        .validator(Validator::OneOf(&["bytes"])),
    ConfigKey::new("interval.handling.mode", ConfigType::String, KeyDefault::Value("numeric"),
        "interval as MicroDuration microseconds.")
        .validator(Validator::OneOf(&["numeric"])),
    ConfigKey::new("money.fraction.digits", ConfigType::Int, KeyDefault::Value("2"),
        "Scale of money values."),
    ConfigKey::new("tombstones.on.delete", ConfigType::Boolean, KeyDefault::Value("true"),
        "Follow each delete event with a tombstone (same key, null value) for log compaction."),
    ConfigKey::new("skipped.operations", ConfigType::List, KeyDefault::Value("t"),
        "Operations not to emit: c, u, d, t, or none.")
        .validator(Validator::OneOf(&["c", "u", "d", "t", "none"])),
    ConfigKey::new("unavailable.value.placeholder", ConfigType::String, KeyDefault::Value("__debezium_unavailable_value"),
        "Written for unchanged TOASTed values the database did not send."),
    ConfigKey::new("heartbeat.interval.ms", ConfigType::Int, KeyDefault::Value("0"),
        "Emit a heartbeat record this often (0: never). kconnect advances the slot while captured tables are quiet without them.")
        .validator(Validator::AtLeast(0)),
    ConfigKey::new("heartbeat.topics.prefix", ConfigType::String, KeyDefault::Value("__debezium-heartbeat"),
        "Heartbeat topic: <prefix>.<topic.prefix>."),
    ConfigKey::new("heartbeat.action.query", ConfigType::String, KeyDefault::None,
        "SQL run on every heartbeat."),
    ConfigKey::new("max.batch.size", ConfigType::Int, KeyDefault::Value("2048"),
        "Most records one poll returns.")
        .validator(Validator::AtLeast(1)),
    ConfigKey::new("max.queue.size", ConfigType::Int, KeyDefault::Value("8192"),
        "Most changes read from the server and not yet turned into records (the reader's queue).")
        .validator(Validator::AtLeast(1)),
    ConfigKey::new("status.update.interval.ms", ConfigType::Int, KeyDefault::Value("10000"),
        "How often the replication connection reports its position to the server, at the least (the slot also moves within a second of offsets being committed).")
        .validator(Validator::AtLeast(1)),
    ConfigKey::new("poll.interval.ms", ConfigType::Long, KeyDefault::Value("500"),
        "Wait when there is nothing new.")
        .validator(Validator::AtLeast(0)),
    ConfigKey::new("provide.transaction.metadata", ConfigType::Boolean, KeyDefault::Value("false"),
        "Transaction metadata events (not supported by kconnect; must stay false).")
        .validator(Validator::OneOf(&["false"])),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotMode {
    Initial,
    Always,
    NoData,
    InitialOnly,
    WhenNeeded,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublicationMode {
    AllTables,
    Filtered,
    NoTables,
    Disabled,
}

/// Which tables and columns are captured (Debezium's `RelationalTableFilters`).
#[derive(Clone, Debug, Default)]
pub struct Filters {
    schema_include: Vec<Regex>,
    schema_exclude: Vec<Regex>,
    table_include: Vec<Regex>,
    table_exclude: Vec<Regex>,
    column_include: Vec<Regex>,
    column_exclude: Vec<Regex>,
    key_columns: Vec<(Regex, Vec<String>)>,
}

const SYSTEM_SCHEMAS: &[&str] = &["pg_catalog", "information_schema", "pg_toast"];

impl Filters {
    pub fn table_included(&self, schema: &str, table: &str) -> bool {
        if SYSTEM_SCHEMAS.contains(&schema) || schema.starts_with("pg_temp") {
            return false;
        }
        let any = |rs: &[Regex], s: &str| rs.iter().any(|r| r.is_match(s));
        if !self.schema_include.is_empty() && !any(&self.schema_include, schema) {
            return false;
        }
        if any(&self.schema_exclude, schema) {
            return false;
        }
        let full = format!("{schema}.{table}");
        if !self.table_include.is_empty() && !any(&self.table_include, &full) {
            return false;
        }
        !any(&self.table_exclude, &full)
    }

    pub fn column_included(&self, schema: &str, table: &str, column: &str) -> bool {
        if self.column_include.is_empty() && self.column_exclude.is_empty() {
            return true;
        }
        let full = format!("{schema}.{table}.{column}");
        if !self.column_include.is_empty() {
            return self.column_include.iter().any(|r| r.is_match(&full));
        }
        !self.column_exclude.iter().any(|r| r.is_match(&full))
    }

    /// Key columns from message.key.columns for this table, if configured.
    pub fn key_columns(&self, schema: &str, table: &str) -> Option<&[String]> {
        let full = format!("{schema}.{table}");
        self.key_columns
            .iter()
            .find(|(r, _)| r.is_match(&full))
            .map(|(_, cols)| cols.as_slice())
    }
}

#[derive(Clone, Debug)]
pub struct PgConfig {
    pub prefix: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub dbname: String,
    pub tls: TlsSettings,
    pub connect_timeout: Duration,
    pub slot: String,
    pub slot_drop_on_stop: bool,
    pub publication: String,
    pub publication_mode: PublicationMode,
    pub snapshot_mode: SnapshotMode,
    pub fetch_size: usize,
    pub filters: Filters,
    pub decimal_mode: DecimalMode,
    pub money_digits: i32,
    pub tombstones: bool,
    pub skip_create: bool,
    pub skip_update: bool,
    pub skip_delete: bool,
    pub skip_truncate: bool,
    pub placeholder: String,
    pub heartbeat_interval: Option<Duration>,
    pub heartbeat_topic: String,
    pub heartbeat_query: Option<String>,
    pub max_batch: usize,
    pub max_queue: usize,
    /// At least this often the replication connection tells the server where it stands;
    /// the server ends a connection silent for `wal_sender_timeout`.
    pub status_interval: Duration,
    pub poll_interval: Duration,
}

/// A regex matched against the whole name, case-insensitively, as Debezium's lists are.
fn anchored(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(&format!("^(?:{pattern})$"))
        .case_insensitive(true)
        .build()
        .map_err(|e| format!("not a valid regular expression: {e}"))
}

fn regexes(s: &Settings, key: &str) -> Result<Vec<Regex>, InvalidConfig> {
    s.list(key)
        .iter()
        .map(|p| {
            anchored(p).map_err(|reason| InvalidConfig {
                key: key.into(),
                value: p.clone(),
                reason,
            })
        })
        .collect()
}

fn parse_key_columns(v: &str) -> Result<Vec<(Regex, Vec<String>)>, String> {
    let mut out = Vec::new();
    for part in v.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (table, cols) = part
            .rsplit_once(':')
            .ok_or_else(|| format!("'{part}' is not <schema.table>:<column>[,<column>...]"))?;
        let cols: Vec<String> = cols
            .split(',')
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect();
        if cols.is_empty() {
            return Err(format!("'{part}' names no columns"));
        }
        out.push((anchored(table.trim())?, cols));
    }
    Ok(out)
}

/// The database.ssl* keys; empty paths count as unset, as Debezium's do.
fn tls_settings(s: &Settings) -> Result<TlsSettings, InvalidConfig> {
    let mode = s.choice("database.sslmode")?;
    let path = |key: &str| {
        s.string(key)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from)
    };
    Ok(TlsSettings {
        mode: SslMode::parse(&mode).ok_or_else(|| InvalidConfig {
            key: "database.sslmode".into(),
            value: mode.clone(),
            reason: format!("must be one of {}", SslMode::NAMES.join(", ")),
        })?,
        root_cert: path("database.sslrootcert"),
        client_cert: path("database.sslcert"),
        client_key: path("database.sslkey"),
        key_password: s.raw("database.sslpassword").map(str::to_string),
        spelling: Spelling::Debezium,
    })
}

impl PgConfig {
    pub fn from_values(values: &BTreeMap<String, String>) -> Result<PgConfig, InvalidConfig> {
        let s = Settings::new(KEYS, values);
        let invalid = |key: &str, value: String, reason: &str| InvalidConfig {
            key: key.into(),
            value,
            reason: reason.into(),
        };
        let tls = tls_settings(&s)?;
        let skipped: Vec<String> = s.list("skipped.operations");
        let skip = |op: &str| skipped.iter().any(|x| x.eq_ignore_ascii_case(op));
        let key_columns = match s.string("message.key.columns") {
            Some(v) if !v.is_empty() => {
                parse_key_columns(&v).map_err(|r| invalid("message.key.columns", v.clone(), &r))?
            }
            _ => Vec::new(),
        };
        let heartbeat_ms = s.i64("heartbeat.interval.ms")?;
        Ok(PgConfig {
            prefix: s.required_string("topic.prefix")?,
            host: s.required_string("database.hostname")?,
            port: u16::try_from(s.i64("database.port")?).map_err(|_| {
                invalid(
                    "database.port",
                    s.string("database.port").unwrap_or_default(),
                    "not a port number",
                )
            })?,
            user: s.required_string("database.user")?,
            password: s.string("database.password"),
            dbname: s.required_string("database.dbname")?,
            tls,
            connect_timeout: Duration::from_millis(
                s.i64("database.connect.timeout.ms")?.max(1) as u64
            ),
            slot: s.required_string("slot.name")?,
            slot_drop_on_stop: s.bool("slot.drop.on.stop")?,
            publication: s.required_string("publication.name")?,
            publication_mode: match s.choice("publication.autocreate.mode")?.as_str() {
                "filtered" => PublicationMode::Filtered,
                "no_tables" => PublicationMode::NoTables,
                "disabled" => PublicationMode::Disabled,
                _ => PublicationMode::AllTables,
            },
            snapshot_mode: match s.choice("snapshot.mode")?.as_str() {
                "always" => SnapshotMode::Always,
                "no_data" | "never" => SnapshotMode::NoData,
                "initial_only" => SnapshotMode::InitialOnly,
                "when_needed" => SnapshotMode::WhenNeeded,
                _ => SnapshotMode::Initial,
            },
            fetch_size: s.i64("snapshot.fetch.size")?.max(1) as usize,
            filters: Filters {
                schema_include: regexes(&s, "schema.include.list")?,
                schema_exclude: regexes(&s, "schema.exclude.list")?,
                table_include: regexes(&s, "table.include.list")?,
                table_exclude: regexes(&s, "table.exclude.list")?,
                column_include: regexes(&s, "column.include.list")?,
                column_exclude: regexes(&s, "column.exclude.list")?,
                key_columns,
            },
            decimal_mode: match s.choice("decimal.handling.mode")?.as_str() {
                "double" => DecimalMode::Double,
                "string" => DecimalMode::String,
                _ => DecimalMode::Precise,
            },
            money_digits: s.i64("money.fraction.digits")? as i32,
            tombstones: s.bool("tombstones.on.delete")?,
            skip_create: skip("c"),
            skip_update: skip("u"),
            skip_delete: skip("d"),
            skip_truncate: skip("t"),
            placeholder: s
                .string("unavailable.value.placeholder")
                .unwrap_or_default(),
            heartbeat_interval: (heartbeat_ms > 0)
                .then(|| Duration::from_millis(heartbeat_ms as u64)),
            heartbeat_topic: format!(
                "{}.{}",
                s.string("heartbeat.topics.prefix").unwrap_or_default(),
                s.required_string("topic.prefix")?
            ),
            heartbeat_query: s.string("heartbeat.action.query").filter(|q| !q.is_empty()),
            max_batch: s.i64("max.batch.size")?.max(1) as usize,
            max_queue: s.i64("max.queue.size")?.max(1) as usize,
            status_interval: Duration::from_millis(
                s.i64("status.update.interval.ms")?.max(1) as u64
            ),
            poll_interval: Duration::from_millis(s.i64("poll.interval.ms")?.max(0) as u64),
        })
    }
}

/// Cross-key checks for `kconnect validate`.
pub fn validate(values: &BTreeMap<String, String>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let s = Settings::new(KEYS, values);
    for key in [
        "schema.include.list",
        "schema.exclude.list",
        "table.include.list",
        "table.exclude.list",
        "column.include.list",
        "column.exclude.list",
    ] {
        if let Err(e) = regexes(&s, key) {
            problems.push(Problem::new(key, e.to_string()));
        }
    }
    for (a, b) in [
        ("schema.include.list", "schema.exclude.list"),
        ("table.include.list", "table.exclude.list"),
        ("column.include.list", "column.exclude.list"),
    ] {
        if !s.list(a).is_empty() && !s.list(b).is_empty() {
            problems.push(Problem::new(
                b,
                format!("\"{a}\" is already specified; set only one of {a} and {b}"),
            ));
        }
    }
    if let Some(v) = s.string("message.key.columns").filter(|v| !v.is_empty()) {
        if let Err(r) = parse_key_columns(&v) {
            problems.push(Problem::new("message.key.columns", r));
        }
    }
    // A bad sslmode itself is reported by the key's own validator.
    if let Ok(tls) = tls_settings(&s) {
        for (key, message) in tls.problems() {
            problems.push(Problem::new(&key, message));
        }
    }
    problems
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

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("topic.prefix", "dbserver1"),
            ("database.hostname", "h"),
            ("database.user", "u"),
            ("database.dbname", "d"),
        ]
    }

    #[test]
    fn defaults_are_debeziums() {
        let c = PgConfig::from_values(&values(&base())).unwrap();
        assert_eq!(c.slot, "debezium");
        assert_eq!(c.publication, "dbz_publication");
        assert_eq!(c.port, 5432);
        assert_eq!(c.snapshot_mode, SnapshotMode::Initial);
        assert!(c.skip_truncate && !c.skip_delete && c.tombstones);
        assert_eq!(c.heartbeat_topic, "__debezium-heartbeat.dbserver1");
        assert!(c.filters.table_included("public", "customers"));
        assert!(!c.filters.table_included("pg_catalog", "pg_class"));
    }

    #[test]
    fn filters_match_whole_names() {
        let mut v = base();
        v.push(("table.include.list", "public.cust.*,inventory.orders"));
        v.push(("column.exclude.list", "public.customers.email"));
        v.push(("message.key.columns", "inventory.orders:customer_id,id"));
        let c = PgConfig::from_values(&values(&v)).unwrap();
        assert!(c.filters.table_included("public", "customers"));
        assert!(!c.filters.table_included("public", "xcustomers"));
        assert!(c.filters.table_included("inventory", "orders"));
        assert!(!c.filters.column_included("public", "customers", "email"));
        assert!(c.filters.column_included("public", "customers", "email2"));
        assert_eq!(
            c.filters.key_columns("inventory", "orders").unwrap(),
            ["customer_id", "id"]
        );
        let mut v = base();
        v.push(("table.include.list", "a"));
        v.push(("table.exclude.list", "b"));
        v.push(("message.key.columns", "nocolon"));
        assert_eq!(validate(&values(&v)).len(), 2);
    }

    #[test]
    fn tls_settings_are_read_and_checked() {
        let c = PgConfig::from_values(&values(&base())).unwrap();
        assert_eq!(c.tls.mode, SslMode::Prefer, "Debezium's default");
        let mut v = base();
        v.push(("database.sslmode", "verify-full"));
        v.push(("database.sslpassword", "k3y"));
        let c = PgConfig::from_values(&values(&v)).unwrap();
        assert_eq!(c.tls.mode, SslMode::VerifyFull);
        assert_eq!(c.tls.key_password.as_deref(), Some("k3y"));
        let problems = validate(&values(&v));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].key, "database.sslrootcert");
        v.push(("database.sslrootcert", "/nonexistent/ca.pem"));
        let problems = validate(&values(&v));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].message.contains("/nonexistent/ca.pem"));
    }
}
