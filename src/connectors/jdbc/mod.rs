//! `io.confluent.connect.jdbc.JdbcSinkConnector` for PostgreSQL: records into tables, with
//! Confluent's settings, column types and insert/upsert/update/delete semantics.
//!
//! Each `put` is one transaction: the records are written (see `writer`) and committed before
//! `put` returns, so the offsets the worker commits afterwards never pass a row that is not in
//! the database. A lost connection fails the put as retriable and the worker hands the same
//! records back; since nothing of a failed transaction remains, the retry writes them whole.

mod config;
mod copy_text;
mod dialect;
mod fields;
mod url;
mod writer;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::api::{
    ConnectError, ConnectorPlugin, Factory, Outage, OutageReporter, PluginDesc, PluginKind,
    Problem, SinkTask, SinkTaskContext, StopFlag, TopicPartition,
};
use crate::connectors::pg_errors::{describe, describe_extra};
use crate::connectors::pg_tls::{self, ConnectFailure};
use crate::data::SinkRecord;

pub use config::{JdbcSinkConfig, KEYS};

pub const SINK_PLUGIN: ConnectorPlugin = ConnectorPlugin {
    task_class: "io.confluent.connect.jdbc.sink.JdbcSinkTask",
    desc: PluginDesc {
        kind: PluginKind::Sink,
        class: "io.confluent.connect.jdbc.JdbcSinkConnector",
        aliases: &["JdbcSinkConnector", "JdbcSink"],
        doc: "Writes records into PostgreSQL tables (insert, upsert, update, delete on tombstones), creating and evolving tables from record schemas.",
        config: KEYS,
    },
    factory: Factory::Sink(create),
    validate,
    max_tasks: None,
    offsets: crate::api::OffsetShape::Sink,
};

fn validate(values: &BTreeMap<String, String>) -> Vec<Problem> {
    match JdbcSinkConfig::parse(values) {
        Ok(c) => c
            .tls
            .problems()
            .into_iter()
            .map(|(param, m)| {
                Problem::new(
                    "connection.url",
                    format!("{m} (parameter {param} of connection.url)"),
                )
            })
            .collect(),
        // Each key's own type and choices are checked from KEYS by the generic validation.
        Err(config::ConfigError::Invalid(_)) => Vec::new(),
        Err(config::ConfigError::Url(m)) => vec![Problem::new("connection.url", m)],
        Err(config::ConfigError::Combination(m)) => {
            let key = if m.starts_with("delete.enabled") {
                "delete.enabled"
            } else if m.starts_with("insert.mode") {
                "insert.mode"
            } else {
                "pk.fields"
            };
            vec![Problem::new(key, m)]
        }
    }
}

/// Why a write failed: bad data (the task fails, or errors.tolerance decides) or the database
/// (retried while it looks transient).
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{0}")]
    Data(String),
    #[error("{context}: {message}")]
    Db {
        context: String,
        message: String,
        transient: bool,
        #[source]
        source: Option<postgres::Error>,
    },
}

impl WriteError {
    fn db(context: impl Into<String>, e: postgres::Error) -> WriteError {
        WriteError::Db {
            context: context.into(),
            message: describe(&e),
            transient: is_transient(&e),
            source: Some(e),
        }
    }

    /// DDL that lost a race with another task creating the same table or column succeeds
    /// when retried (the retry sees the table as it now is).
    fn ddl(context: impl Into<String>, e: postgres::Error) -> WriteError {
        let raced = e
            .code()
            .is_some_and(|c| matches!(c.code(), "23505" | "42P07" | "42701"));
        let mut w = WriteError::db(context, e);
        if let WriteError::Db { transient, .. } = &mut w {
            *transient |= raced;
        }
        w
    }

    fn io(context: impl Into<String>, e: std::io::Error) -> WriteError {
        WriteError::Db {
            context: context.into(),
            message: e.to_string(),
            transient: true,
            source: None,
        }
    }

    /// Replaces the server's message (to name the table instead of a staging table).
    fn with_message(self, m: String) -> WriteError {
        match self {
            WriteError::Db {
                context,
                transient,
                source,
                ..
            } => {
                let extra = source.as_ref().map(describe_extra).unwrap_or_default();
                WriteError::Db {
                    context,
                    message: format!("{m}{extra}"),
                    transient,
                    source,
                }
            }
            other => other,
        }
    }

    fn is_transient(&self) -> bool {
        matches!(
            self,
            WriteError::Db {
                transient: true,
                ..
            }
        )
    }

    /// Undefined table or column: what cached table metadata runs into after someone else
    /// dropped or altered the table.
    fn is_stale_metadata(&self) -> bool {
        match self {
            WriteError::Db {
                source: Some(e), ..
            } => e
                .code()
                .is_some_and(|c| matches!(c.code(), "42P01" | "42703")),
            _ => false,
        }
    }
}

/// Connection loss, server shutdown, resource exhaustion and transaction conflicts pass with
/// time; data and schema errors do not.
fn is_transient(e: &postgres::Error) -> bool {
    match e.code() {
        None => true,
        Some(code) => {
            let c = code.code();
            c.starts_with("08")
                || c.starts_with("53")
                || c.starts_with("57P")
                || c == "40001"
                || c == "40P01"
                || c == "55P03"
        }
    }
}

pub struct JdbcSinkTask {
    connector: String,
    cfg: Arc<JdbcSinkConfig>,
    client: Option<postgres::Client>,
    writer: writer::Writer,
    remaining_retries: u32,
    /// Transient failures in a row; past the `--once` bound they end the run.
    outage: Outage,
    /// A long-running worker (no `--once` bound): past max.retries the database is waited for,
    /// said once a minute, instead of the task failing.
    ride_out: bool,
    down: OutageReporter,
    stop: StopFlag,
    /// `errors.tolerance=all`: records the database refuses are skipped, not fatal.
    tolerate_all: bool,
    /// Where skipped records go: the worker logs them per errors.log.* and dead-letters them.
    errant: crate::api::ErrantRecordReporter,
    /// Records written and the time spent writing them, reported at stop: the sink's own
    /// rate, apart from the broker's and the converters'.
    written: u64,
    busy: std::time::Duration,
}

fn create(ctx: SinkTaskContext) -> Result<Box<dyn SinkTask>, ConnectError> {
    let cfg = JdbcSinkConfig::parse(&ctx.config).map_err(|e| {
        ConnectError::fatal(format!("connector {}: {e}", ctx.connector)).caused_by(e)
    })?;
    let cfg = Arc::new(cfg);
    Ok(Box::new(JdbcSinkTask {
        connector: ctx.connector,
        remaining_retries: cfg.max_retries,
        outage: Outage::new(ctx.dependency_wait),
        ride_out: ctx.dependency_wait.is_none(),
        down: OutageReporter::for_task(format!("PostgreSQL at {}", cfg.url_display), &ctx.waiting),
        writer: writer::Writer::new(cfg.clone()),
        cfg,
        client: None,
        stop: ctx.stop.clone(),
        tolerate_all: ctx
            .config
            .get("errors.tolerance")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("all")),
        errant: ctx.errant,
        written: 0,
        busy: std::time::Duration::ZERO,
    }))
}

impl JdbcSinkTask {
    fn connect(&mut self) -> Result<(), WriteError> {
        if self.client.as_ref().is_some_and(|c| !c.is_closed()) {
            return Ok(());
        }
        self.client = None;
        // A new session has none of the old one's temporary tables.
        self.writer.reset();
        let mut attempt = 0;
        loop {
            attempt += 1;
            match pg_tls::connect(&self.cfg.pg, &self.cfg.tls) {
                Ok(mut client) => {
                    // A commit must be on disk before put returns and offsets move past
                    // it: a server running with synchronous_commit=off would lose the last
                    // transactions in a crash, so this session waits for the local flush.
                    let set_tz = format!(
                        "SET TIME ZONE '{}'",
                        self.cfg.db_timezone.replace('\'', "''")
                    );
                    let durable = client
                        .query_one("SELECT current_setting('synchronous_commit')", &[])
                        .and_then(|row| {
                            if row.get::<_, String>(0) == "off" {
                                client.batch_execute("SET synchronous_commit = local")
                            } else {
                                Ok(())
                            }
                        });
                    if let Err(e) = durable {
                        return Err(WriteError::db("cannot set up the session", e));
                    }
                    if let Err(e) = client.batch_execute(&set_tz) {
                        if is_transient(&e) {
                            return Err(WriteError::db("cannot set up the session", e));
                        }
                        return Err(WriteError::Data(format!(
                            "Invalid value {} for configuration db.timezone: PostgreSQL does not know this time zone ({})",
                            self.cfg.db_timezone,
                            describe(&e)
                        )));
                    }
                    tracing::info!(connector = %self.connector, url = %self.cfg.url_display, "connected to PostgreSQL");
                    self.client = Some(client);
                    return Ok(());
                }
                Err(ConnectFailure::Postgres(e)) => {
                    let context = format!(
                        "cannot connect to PostgreSQL at {} (attempt {attempt} of {})",
                        self.cfg.url_display, self.cfg.connection_attempts
                    );
                    // Wrong credentials or database: check connection.url, connection.user and
                    // connection.password; waiting does not help.
                    let fatal = e
                        .code()
                        .is_some_and(|c| c.code().starts_with("28") || c.code() == "3D000");
                    if fatal {
                        return Err(WriteError::Data(format!(
                            "{context}: {}; check connection.url, connection.user and connection.password",
                            describe(&e)
                        )));
                    }
                    self.outage.begin();
                    if attempt >= self.cfg.connection_attempts
                        || self.stop.is_stopped()
                        || self.outage.expired()
                    {
                        return Err(WriteError::db(context, e));
                    }
                    tracing::warn!(connector = %self.connector, "{context}: {}", describe(&e));
                    crate::api::sleep_unless_stopped(&self.stop, self.cfg.connection_backoff);
                }
                // Certificates and TLS settings do not change by waiting.
                Err(tls) => {
                    return Err(WriteError::Data(format!(
                        "cannot connect to PostgreSQL with connection.url {}: {tls} (TLS settings are parameters of connection.url)",
                        self.cfg.url_display
                    )));
                }
            }
        }
    }

    fn write(&mut self, records: &[SinkRecord], skip: &HashSet<usize>) -> Result<(), WriteError> {
        self.connect()?;
        let client = self.client.as_mut().expect("connected");
        let mut tx = client
            .transaction()
            .map_err(|e| WriteError::db("cannot begin a transaction", e))?;
        self.writer.write(&mut tx, records, skip)?;
        tx.commit()
            .map_err(|e| WriteError::db("cannot commit the transaction", e))?;
        self.writer.committed();
        Ok(())
    }
}

impl SinkTask for JdbcSinkTask {
    fn put(&mut self, records: &[SinkRecord]) -> Result<(), ConnectError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut skip = HashSet::new();
        let mut refreshed = false;
        loop {
            let started = std::time::Instant::now();
            let result = self.write(records, &skip);
            self.busy += started.elapsed();
            let Err(e) = result else {
                self.remaining_retries = self.cfg.max_retries;
                self.outage.recovered();
                self.down.ok();
                self.written += (records.len() - skip.len()) as u64;
                return Ok(());
            };
            // The transaction rolled back: forget tables it created or altered.
            self.writer.reset();
            if !e.is_transient() && !refreshed && e.is_stale_metadata() {
                // The table was dropped or changed behind our back: write again with fresh
                // metadata (which may create or evolve it, or explain what is wrong).
                refreshed = true;
                continue;
            }
            if !e.is_transient() {
                // With errors.tolerance=all a record the database refuses is skipped, as
                // Confluent's sink does through Connect's errant record reporter, and the
                // rest of the batch is written again without it.
                match self.writer.failed_record {
                    Some(i) if self.tolerate_all && skip.insert(i) => {
                        tracing::debug!(connector = %self.connector, "skipping record {} that cannot be written (errors.tolerance=all): {e}", writer::coords(&records[i]));
                        self.errant.report(&records[i], &e.to_string());
                        continue;
                    }
                    _ => return Err(ConnectError::fatal(e.to_string())),
                }
            }
            self.client = None;
            let system = format!("PostgreSQL at {}", self.cfg.url_display);
            let bounded = self
                .outage
                .failed(&system, ConnectError::retriable(e.to_string()));
            if !bounded.is_retriable() {
                return Err(bounded);
            }
            if self.remaining_retries == 0 && self.ride_out {
                // Confluent's sink would fail here and wait for a restart; a long-running
                // worker waits for the database instead, as for its other dependencies.
                self.down.failed(&format_args!(
                    "{e}; max.retries ({}) passed, retrying every {} ms until it is back",
                    self.cfg.max_retries,
                    self.cfg
                        .retry_backoff
                        .min(crate::api::outage_report::RIDE_OUT_CAP)
                        .as_millis()
                ));
                crate::api::sleep_unless_stopped(
                    &self.stop,
                    self.cfg
                        .retry_backoff
                        .min(crate::api::outage_report::RIDE_OUT_CAP),
                );
                return Err(ConnectError::retriable(e.to_string()));
            }
            if self.remaining_retries == 0 {
                return Err(ConnectError::fatal(format!(
                    "{e}; giving up after max.retries={} retries",
                    self.cfg.max_retries
                )));
            }
            self.remaining_retries -= 1;
            tracing::warn!(
                connector = %self.connector,
                remaining = self.remaining_retries,
                "write failed, retrying in {} ms: {e}",
                self.cfg.retry_backoff.as_millis()
            );
            crate::api::sleep_unless_stopped(&self.stop, self.cfg.retry_backoff);
            return Err(ConnectError::retriable(e.to_string()));
        }
    }

    /// Every put committed its own transaction, so there is nothing left to make durable.
    fn flush(&mut self, _offsets: &HashMap<TopicPartition, i64>) -> Result<(), ConnectError> {
        Ok(())
    }

    fn stop(&mut self) {
        self.client = None;
        let secs = self.busy.as_secs_f64();
        tracing::info!(
            connector = %self.connector,
            records = self.written,
            write_seconds = format!("{secs:.3}"),
            rows_per_second = if secs > 0.0 { (self.written as f64 / secs) as u64 } else { 0 },
            "JDBC sink stopped"
        );
    }
}
