//! Debezium PostgreSQL connector settings: the same names and defaults, so a Debezium
//! connector file runs unchanged.

use std::collections::BTreeMap;
use std::time::Duration;

use regex::{Regex, RegexBuilder};

use super::columns::{self, Rule};
use super::failure::FailureMode;
pub use super::keys::KEYS;
use super::lsn_flush::LsnFlush;
use super::messages::PrefixFilter;
use super::names::{Adjustment, NameAdjusters};
use super::reselect::{post_processors, Reselector};
use super::topics::{topic_naming, TopicNaming};
use super::types::{BinaryMode, DecimalMode, Modes, TimeMode};
use super::{replica_identity, stream_params};
use crate::api::{InvalidConfig, Problem, Settings};
use crate::connectors::pg_tls::{Spelling, SslMode, TlsSettings};
use crate::data::Headers;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotMode {
    Initial,
    Always,
    NoData,
    InitialOnly,
    WhenNeeded,
    ConfigurationBased(ConfigurationBased),
}

/// snapshot.mode=configuration_based: Debezium's ConfigurationBasedSnapshotter answers each
/// of its questions with one of the `snapshot.mode.configuration.based.*` settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigurationBased {
    /// snapshot.data: snapshot at every start, whatever the offsets say.
    pub data: bool,
    /// snapshot.schema: PostgreSQL keeps no schema history, so this only lets a start after
    /// an interrupted snapshot go on streaming when snapshot.data is false.
    pub schema: bool,
    /// start.stream
    pub stream: bool,
    /// snapshot.on.schema.error: Debezium then needs a stored offset to start from.
    pub on_schema_error: bool,
    /// snapshot.on.data.error: a lost slot makes the offset forgotten instead of a failure.
    pub on_data_error: bool,
}

impl SnapshotMode {
    /// Debezium's `Snapshotter.shouldStream()`: without streaming there is no slot and no
    /// publication, and the task ends after its snapshot.
    pub fn streams(self) -> bool {
        match self {
            SnapshotMode::InitialOnly => false,
            SnapshotMode::ConfigurationBased(c) => c.stream,
            _ => true,
        }
    }
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
    /// The signal table (schema, table): always captured, as Debezium adds it to the filter.
    signal_table: Option<(String, String)>,
}

const SYSTEM_SCHEMAS: &[&str] = &["pg_catalog", "information_schema", "pg_toast"];

impl Filters {
    pub fn table_included(&self, schema: &str, table: &str) -> bool {
        // PostGIS's spatial_ref_sys lives in the user's schema; Debezium counts it as a system
        // table wherever it is.
        if SYSTEM_SCHEMAS.contains(&schema)
            || schema.starts_with("pg_temp")
            || table.eq_ignore_ascii_case("spatial_ref_sys")
        {
            return false;
        }
        if self
            .signal_table
            .as_ref()
            .is_some_and(|(s, t)| s == schema && t == table)
        {
            return true;
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

    /// The signal data collection: captured (its changes stream) but never in a snapshot, as
    /// Debezium leaves it out of `prepareTables`.
    pub fn is_signal_table(&self, schema: &str, table: &str) -> bool {
        self.signal_table
            .as_ref()
            .is_some_and(|(s, t)| s == schema && t == table)
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
    /// slot.max.retries and slot.retry.delay.ms: how long a slot another client holds is
    /// waited for before the task fails, as Debezium does.
    pub slot_max_retries: u32,
    pub slot_retry_delay: Duration,
    /// errors.max.retries: how many retriable failures of the snapshot or the stream in a
    /// row restart the task before one fails it (`None`: -1, without limit).
    pub errors_max_retries: Option<u32>,
    /// retriable.restart.connector.wait.ms: the wait before each restart.
    pub restart_wait: Duration,
    /// guardrail.collections.max (0: no limit) and whether exceeding it fails the start.
    pub guardrail_max: u32,
    pub guardrail_fail: bool,
    pub publication: String,
    pub publication_mode: PublicationMode,
    pub snapshot_mode: SnapshotMode,
    /// snapshot.isolation.mode read_committed or read_uncommitted (the same in PostgreSQL):
    /// a snapshot on a slot this start did not create reads each table as it is when its
    /// read begins, as Debezium's READ COMMITTED transaction does.
    pub snapshot_read_committed: bool,
    pub fetch_size: usize,
    pub filters: Filters,
    pub decimal_mode: DecimalMode,
    /// binary.handling.mode
    pub binary_mode: BinaryMode,
    /// interval.handling.mode=string
    pub interval_string: bool,
    /// time.precision.mode
    pub time_mode: TimeMode,
    /// hstore.handling.mode=map
    pub hstore_map: bool,
    /// include.unknown.datatypes
    pub include_unknown: bool,
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
    /// Debezium's `__debezium.context.*` headers (extended.headers.enabled); the run id in
    /// them is new each time a task starts, which is when this is built.
    pub context_headers: Option<Headers>,
    /// column.truncate.to.N.chars, column.mask.with.N.chars and column.mask.hash[.v2].*
    /// settings, in key order; each table schema resolves them per column once.
    pub column_rules: Vec<Rule>,
    /// schema.name.adjustment.mode and field.name.adjustment.mode, shared by every table
    /// schema so that two names adjusted into one are caught.
    pub names: std::sync::Arc<NameAdjusters>,
    /// provide.transaction.metadata: the topic of the BEGIN and END events.
    pub transaction_topic: Option<String>,
    /// database.initial.statements, split as Debezium splits them.
    pub initial_statements: Vec<String>,
    /// database.query.timeout.ms in whole seconds, as JDBC's setQueryTimeout takes it (0: none).
    pub query_timeout_s: i64,
    /// snapshot.locking.mode=shared: the captured tables are locked IN ACCESS SHARE MODE for
    /// the snapshot transaction, each lock waited for at most snapshot.lock.timeout.ms.
    pub snapshot_lock_timeout: Option<Duration>,
    pub snapshot_delay: Duration,
    pub streaming_delay: Duration,
    /// snapshot.include.collection.list; empty: every captured table.
    pub snapshot_include: Vec<Regex>,
    /// snapshot.select.statement.overrides: `schema.table` -> the query that replaces its read.
    pub select_overrides: BTreeMap<String, String>,
    /// snapshot.max.threads, snapshot.max.threads.multiplier and
    /// snapshot.tables.order.by.row.count: `None` reads one table at a time, in order.
    pub chunked: Option<Chunked>,
    /// signal.data.collection with the source channel enabled, and the incremental
    /// snapshot settings.
    pub signals: Option<Signals>,
    /// message.prefix.include.list / message.prefix.exclude.list.
    pub message_prefixes: PrefixFilter,
    /// topic.naming.strategy and topic.delimiter.
    pub topics: TopicNaming,
    /// publish.via.partition.root: the publication kconnect creates publishes partitions'
    /// changes as their root table's.
    pub publish_via_root: bool,
    /// read.only: incremental snapshots write nothing to the database; their windows are
    /// bounded by pg_current_snapshot() readings (Debezium reads this key although its
    /// ConfigDef does not list it).
    pub read_only: bool,
    /// internal.log.position.check.enable: a stored offset whose slot is gone fails the start
    /// (unless the snapshot mode fills the gap), as Debezium's log position check.
    pub log_position_check: bool,
    /// notification.enabled.channels (sink, log); None when empty.
    pub notifications: Option<Notifications>,
    /// lsn.flush.mode (or flush.lsn.source), lsn.flush.timeout.ms and .action.
    pub lsn_flush: LsnFlush,
    /// slot.stream.params: extra options of START_REPLICATION.
    pub stream_params: Vec<(String, String)>,
    /// replica.identity.autoset.values; None when not set.
    pub replica_identity: Option<Vec<super::replica_identity::Rule>>,
    /// event.processing.failure.handling.mode.
    pub failure_mode: FailureMode,
    /// post.processors: Debezium's reselect post processors, applied in order.
    pub reselectors: Vec<Reselector>,
}

/// Where snapshot progress is reported, as Debezium's notification channels.
#[derive(Clone, Debug)]
pub struct Notifications {
    /// The sink channel's topic (notification.sink.topic.name).
    pub sink_topic: Option<String>,
    /// The log channel: each notification an INFO line.
    pub log: bool,
}

/// notification.enabled.channels and the sink channel's topic, which it then needs.
fn notifications(s: &Settings) -> Result<Option<Notifications>, InvalidConfig> {
    let channels = s.list("notification.enabled.channels");
    if channels.is_empty() {
        return Ok(None);
    }
    let sink = channels.iter().any(|c| c.trim() == "sink");
    let sink_topic = s
        .string("notification.sink.topic.name")
        .filter(|t| !t.trim().is_empty());
    if sink && sink_topic.is_none() {
        return Err(InvalidConfig {
            key: "notification.sink.topic.name".into(),
            value: String::new(),
            reason: "the sink notification channel is enabled (notification.enabled.channels) but has no topic; set notification.sink.topic.name".into(),
        });
    }
    Ok(Some(Notifications {
        sink_topic: sink.then_some(sink_topic).flatten(),
        log: channels.iter().any(|c| c.trim() == "log"),
    }))
}

/// How signals arrive and incremental snapshots read.
#[derive(Clone, Debug)]
pub struct Signals {
    /// The signal table: schema and table name.
    pub schema: String,
    pub table: String,
    /// `signal.enabled.channels` names `source`: rows inserted into the table are signals.
    /// Without it, the table's rows are streamed and nothing else happens, as in Debezium.
    pub source: bool,
    /// incremental.snapshot.chunk.size
    pub chunk_size: usize,
    /// incremental.snapshot.watermarking.strategy=insert_delete: a window closes by
    /// deleting its open row instead of inserting a close row.
    pub insert_delete: bool,
    /// The file channel's file (signal.enabled.channels names `file`).
    pub file: Option<std::path::PathBuf>,
    /// signal.poll.interval.ms
    pub poll_interval: Duration,
    /// The Kafka channel (`signal.enabled.channels` names `kafka`).
    pub kafka: Option<KafkaSignals>,
}

/// Debezium's Kafka signal channel: partition 0 of `topic`, read by a consumer of these
/// settings (Java consumer properties: `signal.consumer.*`, `bootstrap.servers` and `group.id`).
#[derive(Clone, Debug)]
pub struct KafkaSignals {
    pub topic: String,
    pub settings: BTreeMap<String, String>,
    /// signal.kafka.poll.timeout.ms: how long a read of the channel waits for a signal.
    pub poll_timeout: Duration,
}

/// The Kafka signal channel's settings, as Debezium's KafkaSignalChannel reads them: the topic
/// defaults to `<topic.prefix>-signal`, the group to `kafka-signal`, and the brokers are
/// required (they need not be the worker's).
fn kafka_signals(
    s: &Settings,
    values: &BTreeMap<String, String>,
    prefix: &str,
) -> Result<Option<KafkaSignals>, InvalidConfig> {
    if !s
        .list("signal.enabled.channels")
        .iter()
        .any(|c| c.trim() == "kafka")
    {
        return Ok(None);
    }
    let Some(bootstrap) = s
        .string("signal.kafka.bootstrap.servers")
        .filter(|b| !b.trim().is_empty())
    else {
        return Err(InvalidConfig {
            key: "signal.kafka.bootstrap.servers".into(),
            value: String::new(),
            reason: "the kafka signal channel is enabled (signal.enabled.channels) but has no brokers; set signal.kafka.bootstrap.servers (usually the worker's bootstrap.servers)".into(),
        });
    };
    let mut settings: BTreeMap<String, String> = values
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("signal.consumer.")?.to_string(), v.clone())))
        .collect();
    settings
        .entry("bootstrap.servers".into())
        .or_insert(bootstrap);
    settings.entry("group.id".into()).or_insert_with(|| {
        s.string("signal.kafka.groupId")
            .unwrap_or_else(|| "kafka-signal".into())
    });
    Ok(Some(KafkaSignals {
        topic: s
            .string("signal.kafka.topic")
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| format!("{prefix}-signal")),
        settings,
        poll_timeout: Duration::from_millis(s.i64("signal.kafka.poll.timeout.ms")?.max(0) as u64),
    }))
}

/// `read.only`, which Debezium reads as a boolean outside its ConfigDef (default false).
fn read_only(values: &BTreeMap<String, String>) -> Result<bool, InvalidConfig> {
    match values
        .get("read.only")
        .map(|v| v.trim().to_ascii_lowercase())
    {
        None => Ok(false),
        Some(v) if v == "true" => Ok(true),
        Some(v) if v == "false" || v.is_empty() => Ok(false),
        Some(v) => Err(InvalidConfig {
            key: "read.only".into(),
            value: v,
            reason: "must be true or false".into(),
        }),
    }
}

/// `signal.data.collection`: `schema.table`, or `database.schema.table` naming this database.
fn signal_table(s: &Settings, dbname: &str) -> Result<Option<(String, String)>, InvalidConfig> {
    let list = s.list("signal.data.collection");
    let invalid = |value: String, reason: &str| InvalidConfig {
        key: "signal.data.collection".into(),
        value,
        reason: reason.into(),
    };
    match list.as_slice() {
        [] => Ok(None),
        [one] => {
            let parts: Vec<&str> = one.trim().split('.').collect();
            match parts.as_slice() {
                [schema, table] => Ok(Some((schema.to_string(), table.to_string()))),
                [db, schema, table] if *db == dbname => {
                    Ok(Some((schema.to_string(), table.to_string())))
                }
                _ => Err(invalid(one.clone(), "must be <schema>.<table> (or <database.dbname>.<schema>.<table>)")),
            }
        }
        _ => Err(invalid(
            list.join(","),
            "names more than one table; a PostgreSQL connector reads one database, so it has one signal table",
        )),
    }
}

/// A regex matched against the whole name, case-insensitively, as Debezium's lists are.
pub(super) fn anchored(pattern: &str) -> Result<Regex, String> {
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

/// The column transformation settings among `values` (keys with a parameter in their name).
fn column_rules(values: &BTreeMap<String, String>) -> Result<Vec<Rule>, InvalidConfig> {
    let mut rules = Vec::new();
    for (key, value) in values {
        let propagate = match key.as_str() {
            "column.propagate.source.type" => Some(columns::Action::PropagateColumn),
            "datatype.propagate.source.type" => Some(columns::Action::PropagateType),
            _ => None,
        };
        let invalid = |reason: String| InvalidConfig {
            key: key.clone(),
            value: value.clone(),
            reason,
        };
        let Some(action) = propagate
            .map_or_else(|| columns::parse_key(key), |a| Ok(Some(a)))
            .map_err(invalid)?
        else {
            continue;
        };
        let columns = crate::api::split_list(value)
            .into_iter()
            .map(|p| anchored(p).map_err(invalid))
            .collect::<Result<Vec<_>, _>>()?;
        rules.push(Rule {
            key: key.clone(),
            columns,
            action,
        });
    }
    Ok(rules)
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
    /// The settings that decide how column types are written.
    pub fn type_modes(&self) -> Modes {
        Modes {
            binary: self.binary_mode,
            interval_string: self.interval_string,
            time: self.time_mode,
            hstore_map: self.hstore_map,
            include_unknown: self.include_unknown,
        }
    }

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
        let lsn_flush = LsnFlush::from_settings(&s)?;
        let prefix = s.required_string("topic.prefix")?;
        let dbname = s.required_string("database.dbname")?;
        let signal = signal_table(&s, &dbname)?;
        let channels = s.list("signal.enabled.channels");
        let chunk_size = s.i64("incremental.snapshot.chunk.size")?.max(1) as usize;
        let poll_interval = Duration::from_millis(s.i64("signal.poll.interval.ms")?.max(0) as u64);
        let kafka = kafka_signals(&s, values, &prefix)?;
        let read_only = read_only(values)?;
        // read.only snapshots write no watermarks, so the file and Kafka channels need no table.
        let other_channel = channels
            .iter()
            .any(|c| matches!(c.trim(), "file" | "kafka"));
        let signal_or_none = signal
            .clone()
            .or_else(|| (read_only && other_channel).then(|| (String::new(), String::new())));
        let signals = signal_or_none.map(|(schema, table)| Signals {
            kafka,
            schema,
            table,
            source: channels.iter().any(|c| c.trim() == "source"),
            chunk_size,
            insert_delete: s
                .string("incremental.snapshot.watermarking.strategy")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("insert_delete")),
            file: channels.iter().any(|c| c.trim() == "file").then(|| {
                s.string("signal.file")
                    .unwrap_or_else(|| "file-signals.txt".into())
                    .into()
            }),
            poll_interval,
        });
        let topics = topic_naming(&s)?;
        Ok(PgConfig {
            prefix: prefix.clone(),
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
            dbname,
            tls,
            connect_timeout: Duration::from_millis(
                s.i64("database.connect.timeout.ms")?.max(1) as u64
            ),
            slot: s.required_string("slot.name")?,
            slot_drop_on_stop: s.bool("slot.drop.on.stop")?,
            slot_max_retries: s.i64("slot.max.retries")?.clamp(0, u32::MAX as i64) as u32,
            slot_retry_delay: Duration::from_millis(s.i64("slot.retry.delay.ms")?.max(0) as u64),
            // As Debezium's ErrorHandler: -1 is unlimited, any other value below 1 is none.
            errors_max_retries: match s.i64("errors.max.retries")? {
                -1 => None,
                n => Some(n.clamp(0, u32::MAX as i64) as u32),
            },
            restart_wait: Duration::from_millis(
                s.i64("retriable.restart.connector.wait.ms")?.max(1) as u64,
            ),
            guardrail_max: s
                .i64("guardrail.collections.max")?
                .clamp(0, u32::MAX as i64) as u32,
            guardrail_fail: s.choice("guardrail.collections.limit.action")? == "fail",
            publication: s.required_string("publication.name")?,
            publication_mode: match s.choice("publication.autocreate.mode")?.as_str() {
                "filtered" => PublicationMode::Filtered,
                "no_tables" => PublicationMode::NoTables,
                "disabled" => PublicationMode::Disabled,
                _ => PublicationMode::AllTables,
            },
            snapshot_mode: match s.choice("snapshot.mode")?.as_str() {
                "always" => SnapshotMode::Always,
                "no_data" => SnapshotMode::NoData,
                "initial_only" => SnapshotMode::InitialOnly,
                "when_needed" => SnapshotMode::WhenNeeded,
                "configuration_based" => {
                    let b = |k: &str| s.bool(&format!("snapshot.mode.configuration.based.{k}"));
                    SnapshotMode::ConfigurationBased(ConfigurationBased {
                        data: b("snapshot.data")?,
                        schema: b("snapshot.schema")?,
                        stream: b("start.stream")?,
                        on_schema_error: b("snapshot.on.schema.error")?,
                        on_data_error: b("snapshot.on.data.error")?,
                    })
                }
                _ => SnapshotMode::Initial,
            },
            snapshot_read_committed: matches!(
                s.choice("snapshot.isolation.mode")?.as_str(),
                "read_committed" | "read_uncommitted"
            ),
            fetch_size: s.i64("snapshot.fetch.size")?.max(1) as usize,
            filters: Filters {
                schema_include: regexes(&s, "schema.include.list")?,
                schema_exclude: regexes(&s, "schema.exclude.list")?,
                table_include: regexes(&s, "table.include.list")?,
                table_exclude: regexes(&s, "table.exclude.list")?,
                column_include: regexes(&s, "column.include.list")?,
                column_exclude: regexes(&s, "column.exclude.list")?,
                key_columns,
                signal_table: signal,
            },
            decimal_mode: match s.choice("decimal.handling.mode")?.as_str() {
                "double" => DecimalMode::Double,
                "string" => DecimalMode::String,
                _ => DecimalMode::Precise,
            },
            binary_mode: match s.choice("binary.handling.mode")?.as_str() {
                "base64" => BinaryMode::Base64,
                "base64-url-safe" => BinaryMode::Base64UrlSafe,
                "hex" => BinaryMode::Hex,
                _ => BinaryMode::Bytes,
            },
            interval_string: s.choice("interval.handling.mode")? == "string",
            time_mode: match s.choice("time.precision.mode")?.as_str() {
                "adaptive_time_microseconds" => TimeMode::AdaptiveTimeMicroseconds,
                "connect" => TimeMode::Connect,
                "isostring" => TimeMode::IsoString,
                _ => TimeMode::Adaptive,
            },
            include_unknown: s.bool("include.unknown.datatypes")?,
            hstore_map: s.choice("hstore.handling.mode")? == "map",
            money_digits: s.i64("money.fraction.digits")? as i32,
            tombstones: s.bool("tombstones.on.delete")?,
            skip_create: skip("c"),
            skip_update: skip("u"),
            skip_delete: skip("d"),
            skip_truncate: skip("t"),
            placeholder: s
                .string("unavailable.value.placeholder")
                .unwrap_or_default(),
            heartbeat_interval: lsn_flush.heartbeat_fallback(
                (heartbeat_ms > 0).then(|| Duration::from_millis(heartbeat_ms as u64)),
                s.bool("provide.transaction.metadata")?,
            ),
            heartbeat_topic: match s.string("topic.heartbeat.name").filter(|n| !n.is_empty()) {
                Some(name) => name,
                None => topics.joined(
                    &s.string("topic.heartbeat.prefix")
                        .filter(|p| !p.is_empty())
                        .or_else(|| s.string("heartbeat.topics.prefix"))
                        .unwrap_or_default(),
                    &s.required_string("topic.prefix")?,
                ),
            },
            heartbeat_query: s.string("heartbeat.action.query").filter(|q| !q.is_empty()),
            max_batch: s.i64("max.batch.size")?.max(1) as usize,
            max_queue: s.i64("max.queue.size")?.max(1) as usize,
            status_interval: Duration::from_millis(
                s.i64("status.update.interval.ms")?.max(1) as u64
            ),
            poll_interval: Duration::from_millis(s.i64("poll.interval.ms")?.max(0) as u64),
            context_headers: s
                .bool("extended.headers.enabled")?
                .then(|| super::events::context_headers(&prefix)),
            column_rules: column_rules(values)?,
            transaction_topic: s.bool("provide.transaction.metadata")?.then(|| {
                topics.joined(
                    &prefix,
                    &s.string("topic.transaction")
                        .filter(|t| !t.is_empty())
                        .unwrap_or_else(|| "transaction".into()),
                )
            }),
            initial_statements: split_statements(
                &s.string("database.initial.statements").unwrap_or_default(),
            ),
            query_timeout_s: s.i64("database.query.timeout.ms")?.max(0) / 1000,
            snapshot_lock_timeout: (s.choice("snapshot.locking.mode")? == "shared").then(|| {
                Duration::from_millis(
                    s.i64("snapshot.lock.timeout.ms").unwrap_or(10_000).max(0) as u64
                )
            }),
            snapshot_delay: Duration::from_millis(s.i64("snapshot.delay.ms")?.max(0) as u64),
            streaming_delay: Duration::from_millis(s.i64("streaming.delay.ms")?.max(0) as u64),
            snapshot_include: regexes(&s, "snapshot.include.collection.list")?,
            select_overrides: select_overrides(values)?,
            chunked: chunked(&s, values)?,
            names: std::sync::Arc::new(NameAdjusters::new(
                Adjustment::parse(&s.choice("schema.name.adjustment.mode")?),
                Adjustment::parse(&s.choice("field.name.adjustment.mode")?),
            )),
            signals,
            notifications: notifications(&s)?,
            failure_mode: FailureMode::parse(&s.choice("event.processing.failure.handling.mode")?),
            reselectors: post_processors(values)?,
            publish_via_root: s.bool("publish.via.partition.root")?,
            log_position_check: s.bool("internal.log.position.check.enable")?,
            read_only,
            topics,
            message_prefixes: PrefixFilter {
                include: regexes(&s, "message.prefix.include.list")?,
                exclude: regexes(&s, "message.prefix.exclude.list")?,
            },
            lsn_flush,
            stream_params: stream_params::parse(
                &s.string("slot.stream.params").unwrap_or_default(),
            )?,
            replica_identity: replica_identity::parse(
                values
                    .get("replica.identity.autoset.values")
                    .map(|v| v.trim()),
            )?,
        })
    }
}

/// Debezium's split of database.initial.statements: at each `;`, where `;;` is a semicolon
/// inside a statement; blank statements dropped.
pub fn split_statements(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ';' {
            if chars.peek() == Some(&';') {
                chars.next();
                current.push(';');
                continue;
            }
            out.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    out.push(current);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

const OVERRIDES: &str = "snapshot.select.statement.overrides";

/// snapshot.select.statement.overrides and its per-table keys: every table named has its
/// query, and every query's table is named (Debezium would silently not use it).
/// A chunked snapshot (Debezium 3.6.3's, with snapshot.max.threads or its multiplier above 1).
#[derive(Clone, Debug, PartialEq)]
pub struct Chunked {
    /// Connections reading chunks at once.
    pub threads: usize,
    /// Chunks per table per thread.
    pub multiplier: usize,
    /// snapshot.tables.order.by.row.count: `Some(true)` ascending, `Some(false)` descending.
    pub ascending: Option<bool>,
}

fn chunked(
    s: &Settings,
    values: &BTreeMap<String, String>,
) -> Result<Option<Chunked>, InvalidConfig> {
    const MULTIPLIER: &str = "snapshot.max.threads.multiplier";
    if let Some((key, value)) = values.iter().find(|(k, _)| {
        k.strip_prefix(MULTIPLIER)
            .is_some_and(|rest| rest.starts_with('.'))
    }) {
        return Err(InvalidConfig {
            key: key.clone(),
            value: value.clone(),
            reason: format!("a per-table {MULTIPLIER} is not implemented by kconnect, which refuses to run rather than ignore it: remove it and set {MULTIPLIER} for every table, or run this connector on Kafka Connect"),
        });
    }
    let threads = s.i64("snapshot.max.threads")?.max(1) as usize;
    let multiplier = s.i64(MULTIPLIER)?.max(1) as usize;
    if threads == 1 && multiplier == 1 {
        return Ok(None);
    }
    for legacy in [
        "legacy.snapshot.max.threads",
        "internal.legacy.snapshot.max.threads",
    ] {
        if values.contains_key(legacy) && s.bool(legacy)? {
            return Err(InvalidConfig {
                key: legacy.into(),
                value: "true".into(),
                reason: format!("Debezium's legacy table-per-thread snapshot is not implemented by kconnect, which reads a parallel snapshot in key-range chunks (Debezium 3.6.3's default): remove {legacy}, or set snapshot.max.threads and {MULTIPLIER} to 1"),
            });
        }
    }
    if !s.list("notification.enabled.channels").is_empty() {
        return Err(InvalidConfig {
            key: "notification.enabled.channels".into(),
            value: s.list("notification.enabled.channels").join(","),
            reason: "the notifications of a chunked snapshot (Debezium's per-chunk progress) are not implemented by kconnect, which refuses to run rather than leave them out: remove notification.enabled.channels, or set snapshot.max.threads and snapshot.max.threads.multiplier to 1".into(),
        });
    }
    let ascending = match s.choice("snapshot.tables.order.by.row.count")?.as_str() {
        "ascending" => Some(true),
        "descending" => Some(false),
        _ => None,
    };
    Ok(Some(Chunked {
        threads,
        multiplier,
        ascending,
    }))
}

fn select_overrides(
    values: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, InvalidConfig> {
    let named: Vec<String> = values
        .get(OVERRIDES)
        .map(|v| {
            v.split(',')
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let mut out = BTreeMap::new();
    for table in &named {
        let key = format!("{OVERRIDES}.{table}");
        match values.get(&key).map(|q| q.trim()).filter(|q| !q.is_empty()) {
            Some(q) => {
                out.insert(table.clone(), q.to_string());
            }
            None => {
                return Err(InvalidConfig {
                    key: OVERRIDES.into(),
                    value: values.get(OVERRIDES).cloned().unwrap_or_default(),
                    reason: format!("{table} is named but {key} (its SELECT statement) is not set; add it, or remove {table} from the list"),
                })
            }
        }
    }
    let prefix = format!("{OVERRIDES}.");
    for (key, value) in values.range(prefix.clone()..) {
        let Some(table) = key.strip_prefix(&prefix) else {
            break;
        };
        if !named.iter().any(|t| t == table) {
            return Err(InvalidConfig {
                key: key.clone(),
                value: value.clone(),
                reason: format!("{table} is not named in {OVERRIDES}, so Debezium would not use this query; add {table} to {OVERRIDES}, or remove this key"),
            });
        }
    }
    Ok(out)
}

/// Debezium settings whose names carry a parameter, which a key table cannot list, that
/// kconnect does not implement, and `database.*` keys Debezium hands to the JDBC driver. Each
/// is refused. (The column transformations, `column.mask.with.5.chars` and the like, are
/// read by `column_rules`.)
fn unsupported_pattern(key: &str) -> Option<&'static str> {
    let driver_property = key.starts_with("database.") && !KEYS.iter().any(|k| k.name == key);
    driver_property.then_some("is a PostgreSQL JDBC driver property, which Debezium passes on")
}

/// Cross-key checks for `kconnect validate`.
pub fn validate(values: &BTreeMap<String, String>) -> Vec<Problem> {
    let mut problems = Vec::new();
    for key in values.keys() {
        if let Some(what) = unsupported_pattern(key) {
            let message = if key.starts_with("database.") && !key.starts_with("database.ssl") {
                format!("{key} {what}; kconnect does not support driver properties yet: remove it, or run this connector on Kafka Connect")
            } else {
                format!("{key} {what} in Debezium; kconnect does not implement it yet and refuses to run rather than ignore it: remove it, or run this connector on Kafka Connect")
            };
            problems.push(Problem::new(key, message));
        }
    }
    if let Err(e) = select_overrides(values) {
        problems.push(Problem::new(&e.key, e.to_string()));
    }
    if let Err(e) = post_processors(values) {
        problems.push(Problem::new(&e.key, e.to_string()));
    }
    if let Err(e) = chunked(&Settings::new(KEYS, values), values) {
        problems.push(Problem::new(&e.key, e.to_string()));
    }
    for (key, value) in values {
        let one = BTreeMap::from([(key.clone(), value.clone())]);
        if let Err(e) = column_rules(&one) {
            problems.push(Problem::new(&e.key, e.to_string()));
        }
    }
    let read_only = match read_only(values) {
        Ok(r) => r,
        Err(e) => {
            problems.push(Problem::new(&e.key, e.to_string()));
            false
        }
    };
    let s = Settings::new(KEYS, values);
    let channels = s.list("signal.enabled.channels");
    if channels.iter().any(|c| c.trim() == "kafka")
        && s.list("signal.data.collection").is_empty()
        && !read_only
    {
        problems.push(Problem::new(
            "signal.enabled.channels",
            "the kafka signal channel needs signal.data.collection (incremental snapshots write their watermarks there) unless read.only=true: set one of them, or remove kafka".to_string(),
        ));
    }
    if let Some(prefix) = s.string("topic.prefix") {
        if let Err(e) = kafka_signals(&s, values, &prefix) {
            problems.push(Problem::new(&e.key, e.to_string()));
        }
    }
    if channels.iter().any(|c| c.trim() == "file")
        && s.list("signal.data.collection").is_empty()
        && !read_only
    {
        problems.push(Problem::new(
            "signal.enabled.channels",
            "the file signal channel needs signal.data.collection (incremental snapshots write their watermarks there) unless read.only=true: set one of them, or remove file".to_string(),
        ));
    }
    if let Err(e) = notifications(&s) {
        problems.push(Problem::new(&e.key, e.to_string()));
    }
    if let Err(e) = stream_params::parse(&s.string("slot.stream.params").unwrap_or_default()) {
        problems.push(Problem::new(&e.key, e.to_string()));
    }
    let autoset = values.get("replica.identity.autoset.values");
    if let Err(e) = replica_identity::parse(autoset.map(|v| v.trim())) {
        problems.push(Problem::new(&e.key, e.to_string()));
    }
    // (A strategy kconnect does not implement is reported by the key's own validator.)
    if let Some(e) = topic_naming(&s)
        .err()
        .filter(|e| e.key == "topic.delimiter")
    {
        problems.push(Problem::new(&e.key, e.to_string()));
    }
    if let Some(dbname) = s.string("database.dbname") {
        if let Err(e) = signal_table(&s, &dbname) {
            problems.push(Problem::new(&e.key, e.to_string()));
        }
    }
    for key in [
        "schema.include.list",
        "schema.exclude.list",
        "table.include.list",
        "table.exclude.list",
        "column.include.list",
        "column.exclude.list",
        "message.prefix.include.list",
        "message.prefix.exclude.list",
    ] {
        if let Err(e) = regexes(&s, key) {
            problems.push(Problem::new(key, e.to_string()));
        }
    }
    for (a, b) in [
        ("schema.include.list", "schema.exclude.list"),
        ("table.include.list", "table.exclude.list"),
        ("column.include.list", "column.exclude.list"),
        ("message.prefix.include.list", "message.prefix.exclude.list"),
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

    #[test]
    fn initial_statements_split_as_debezium_splits_them() {
        assert_eq!(
            split_statements("SET a = 1; SET b = 'x;;y' ;; ;"),
            ["SET a = 1", "SET b = 'x;y' ;"]
        );
        assert!(split_statements("  ").is_empty());
        assert_eq!(split_statements("SELECT 1"), ["SELECT 1"]);
    }

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
        assert!(!c.filters.table_included("public", "spatial_ref_sys"));
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
    fn signal_settings_are_read_and_what_is_missing_refused() {
        let mut v = base();
        v.push(("signal.data.collection", "public.dbz_signal"));
        v.push((
            "incremental.snapshot.watermarking.strategy",
            "INSERT_DELETE",
        ));
        let c = PgConfig::from_values(&values(&v)).unwrap();
        let s = c.signals.unwrap();
        assert_eq!(
            (s.schema.as_str(), s.table.as_str()),
            ("public", "dbz_signal")
        );
        assert!(s.source && s.insert_delete && s.file.is_none());
        assert_eq!(s.chunk_size, 1024);
        assert!(c.filters.table_included("public", "dbz_signal"));
        assert!(validate(&values(&v)).is_empty());
        let mut bad = base();
        bad.push(("read.only", "maybe"));
        bad.push(("signal.enabled.channels", "file"));
        bad.push(("signal.data.collection", "a.b.c.d"));
        let keys: Vec<String> = validate(&values(&bad)).into_iter().map(|p| p.key).collect();
        assert!(keys.contains(&"read.only".to_string()), "{keys:?}");
        assert!(
            keys.contains(&"signal.data.collection".to_string()),
            "{keys:?}"
        );
    }

    #[test]
    fn topic_naming_is_read_and_what_is_missing_refused() {
        let mut v = base();
        v.push((
            "topic.naming.strategy",
            "io.debezium.schema.DefaultTopicNamingStrategy",
        ));
        v.push(("topic.delimiter", "_"));
        v.push(("provide.transaction.metadata", "true"));
        let c = PgConfig::from_values(&values(&v)).unwrap();
        assert_eq!(
            c.topics.table_topic("dbserver1", "public", "a"),
            "dbserver1_a"
        );
        assert_eq!(
            c.transaction_topic.as_deref(),
            Some("dbserver1_transaction")
        );
        assert_eq!(c.heartbeat_topic, "__debezium-heartbeat_dbserver1");
        v.push(("topic.heartbeat.name", "shared-heartbeats"));
        let c = PgConfig::from_values(&values(&v)).unwrap();
        assert_eq!(c.heartbeat_topic, "shared-heartbeats");
        let mut bad = base();
        bad.push(("topic.delimiter", "/"));
        let problems = validate(&values(&bad));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].key, "topic.delimiter");
        let mut regex = base();
        regex.push((
            "topic.naming.strategy",
            "io.debezium.schema.SchemaRegexTopicNamingStrategy",
        ));
        let e = PgConfig::from_values(&values(&regex)).unwrap_err();
        assert_eq!(e.key, "topic.regex");
        regex.push(("topic.regex", "(.*)_x"));
        regex.push(("topic.replacement", "$1"));
        let c = PgConfig::from_values(&values(&regex)).unwrap();
        assert_eq!(c.topics.table_topic("p", "s", "t_x"), "p.s.t");
        let mut other = base();
        other.push(("topic.naming.strategy", "com.example.Naming"));
        let e = PgConfig::from_values(&values(&other)).unwrap_err();
        assert_eq!(e.key, "topic.naming.strategy");
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
