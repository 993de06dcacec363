//! `io.debezium.connector.postgresql.PostgresConnector`: change data capture from PostgreSQL's
//! logical decoding (pgoutput), with Debezium's topics, schemas, events and offsets.
//!
//! Changes stream over a replication connection from the connector's slot (`slot.name`),
//! which is only ever confirmed up to what is in Kafka with its offset in the store
//! (`SourceTask::commit`), or, while the captured tables are quiet, to where the server's
//! decoding got. A snapshot is handed over to streaming by transaction id: a streamed
//! transaction that the snapshot's `pg_current_snapshot()` already saw is skipped, every
//! other one is emitted.

mod columns;
mod config;
mod db;
mod events;
mod failure;
#[doc(hidden)]
pub mod fuzzing;
mod incremental;
mod javaser;
mod keys;
mod lsn_flush;
mod messages;
mod metrics;
mod names;
mod notify;
mod pgoutput;
mod replica_identity;
mod replication;
mod reselect;
mod retries;
mod snapshot;
mod snapshotter;
mod stream;
mod stream_params;
mod topics;
mod types;
mod watermarks;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use postgres::Client;
use serde_json::{Map as JsonMap, Value as Json};

use crate::api::{
    ConnectError, ConnectorPlugin, Factory, OffsetKey, OffsetReader, OffsetShape, OffsetType,
    Outage, PluginDesc, PluginKind, Polled, Problem, ProgressHandle, Settings, SourceTask,
    SourceTaskContext, StopFlag,
};
use crate::data::{OffsetValue, SourceOffset, SourcePartition, SourceRecord};

pub use config::{PgConfig, KEYS};
use db::{query_error, Catalog, PgError};
use metrics::PgMetrics;
use snapshot::Snapshot;
use stream::Stream;

pub const PLUGIN: ConnectorPlugin = ConnectorPlugin {
    task_class: "io.debezium.connector.postgresql.PostgresConnectorTask",
    desc: PluginDesc {
        kind: PluginKind::Source,
        class: "io.debezium.connector.postgresql.PostgresConnector",
        aliases: &["PostgresConnector"],
        doc: "Streams every INSERT, UPDATE and DELETE of PostgreSQL tables (logical decoding, pgoutput) as Debezium change events; snapshots existing rows first.",
        config: KEYS,
    },
    factory: Factory::Source(create),
    validate,
    max_tasks: Some(1),
    offsets: OffsetShape::Source {
        partitions: |values| vec![partition_of(Settings::new(KEYS, values).string("topic.prefix").unwrap_or_default())],
        offset: OFFSET_KEYS,
    },
};

/// The keys of the offsets the snapshot and the stream write (Debezium's names): `lsn` in
/// every one, the rest where the phase has them.
const OFFSET_KEYS: &[OffsetKey] = &{
    const fn key(name: &'static str, ty: OffsetType, required: bool) -> OffsetKey {
        OffsetKey { name, ty, required }
    }
    [
        key("lsn", OffsetType::Position, true),
        key("lsn_proc", OffsetType::Position, false),
        key("lsn_commit", OffsetType::Position, false),
        key("txId", OffsetType::Position, false),
        key("ts_usec", OffsetType::Position, false),
        // Debezium 3.6's count of changes handed out at `lsn` (rows of one multi-row insert).
        key("lsn_events_processed", OffsetType::Position, false),
        // Debezium's kind of the last event (INSERT, COMMIT, ...); kconnect does not need it.
        key("messageType", OffsetType::Text, false),
        // true during the initial snapshot, "BLOCKING" during a blocking one.
        key(
            "snapshot",
            OffsetType::BoolOrName(&["INITIAL", "BLOCKING"]),
            false,
        ),
        key("last_snapshot_record", OffsetType::Bool, false),
        key("snapshot_completed", OffsetType::Bool, false),
        key("incremental_snapshot_collections", OffsetType::Text, false),
        key("incremental_snapshot_primary_key", OffsetType::Text, false),
        key("incremental_snapshot_maximum_key", OffsetType::Text, false),
        key(
            "incremental_snapshot_correlation_id",
            OffsetType::Text,
            false,
        ),
    ]
};

/// Debezium's source partition, `{"server": <topic.prefix>}`.
fn partition_of(prefix: String) -> JsonMap<String, Json> {
    let mut partition = JsonMap::new();
    partition.insert("server".into(), Json::String(prefix));
    partition
}

fn validate(values: &BTreeMap<String, String>) -> Vec<Problem> {
    config::validate(values)
}

fn create(ctx: SourceTaskContext) -> Result<Box<dyn SourceTask>, ConnectError> {
    let cfg = PgConfig::from_values(&ctx.config)
        .map_err(|e| ConnectError::fatal(e.to_string()).caused_by(e))?;
    if ctx
        .config
        .get("plugin.name")
        .is_none_or(|p| !p.trim().eq_ignore_ascii_case("pgoutput"))
    {
        tracing::warn!(connector = %ctx.connector,
            "plugin.name is not pgoutput; kconnect decodes with pgoutput, which gives the same events (set plugin.name=pgoutput to silence this)");
    }
    cfg.lsn_flush.log_mode();
    let partition = partition_of(cfg.prefix.clone());
    let metrics = PgMetrics::register(&ctx.metrics, &cfg.prefix);
    Ok(Box::new(PostgresSourceTask {
        metrics,
        cfg: Arc::new(cfg),
        connector: ctx.connector,
        once: ctx.once,
        offsets: ctx.offsets,
        progress: ctx.progress,
        stop: ctx.stop,
        partition: Arc::new(partition),
        phase: Phase::Start,
        ctl: None,
        slot_confirmed: 0,
        committed_proc: 0,
        last_heartbeat: Instant::now(),
        retries: retries::Retries::default(),
        outage: Outage::new(ctx.dependency_wait),
        snapshot_done: false,
        delays: Delays::default(),
        slot_tries: 0,
        topic_readers: ctx.topic_readers,
    }))
}

enum Phase {
    Start,
    Snapshot(Box<Snapshot>),
    Stream(Box<Stream>),
    Finished,
}

pub struct PostgresSourceTask {
    cfg: Arc<PgConfig>,
    connector: String,
    once: bool,
    offsets: Arc<dyn OffsetReader>,
    progress: ProgressHandle,
    stop: StopFlag,
    partition: SourcePartition,
    phase: Phase,
    /// Connection for slot housekeeping, apart from the one reading changes.
    ctl: Option<Client>,
    /// Where the durable slot's confirmed position is known to be.
    slot_confirmed: u64,
    /// The highest `lsn_proc` the store has made durable.
    committed_proc: u64,
    last_heartbeat: Instant,
    /// errors.max.retries used since change events last flowed.
    retries: retries::Retries,
    /// Retriable failures in a row; past the `--once` bound they end the run.
    outage: Outage,
    /// The snapshot's last record was polled; `phase_completed` says so once.
    snapshot_done: bool,
    /// Debezium's snapshot and streaming metrics.
    metrics: PgMetrics,
    delays: Delays,
    /// Tries of a replication slot another client holds, since the slot was last obtained.
    slot_tries: u32,
    /// Kafka topic readers from the worker (the Kafka signal channel).
    topic_readers: Option<crate::api::TopicReaders>,
}

/// snapshot.delay.ms and streaming.delay.ms: each waited once per task, before the snapshot
/// is taken and before the stream is opened (an open replication connection left unread
/// would be ended by the server's wal_sender_timeout).
#[derive(Default)]
struct Delays {
    until: Option<Instant>,
    snapshot_waited: bool,
    streaming_waited: bool,
    /// The slot was created by the start that chose to wait: the next start finds it made.
    slot_created: bool,
}

impl Delays {
    /// Starts a wait of `length` the first time `waited` is false; whether one is on.
    fn begin(waited: &mut bool, until: &mut Option<Instant>, length: Duration) -> bool {
        if *waited || length.is_zero() {
            return false;
        }
        *waited = true;
        *until = Some(Instant::now() + length);
        true
    }

    /// Naps for a moment while a wait is on; false once it is over.
    fn nap(&mut self, stop: &StopFlag) -> bool {
        let Some(until) = self.until else {
            return false;
        };
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() || stop.is_stopped() {
            self.until = None;
            return false;
        }
        crate::api::sleep_unless_stopped(stop, left.min(Duration::from_millis(200)));
        true
    }
}

/// What a stored offset says about where to resume.
#[derive(Debug, Default, PartialEq)]
pub struct StoredOffset {
    pub exists: bool,
    pub snapshot_incomplete: bool,
    /// Transactions whose commit is before this were fully delivered.
    pub lsn_proc: u64,
}

impl StoredOffset {
    pub fn read(o: Option<&SourceOffset>) -> StoredOffset {
        let Some(o) = o else {
            return StoredOffset::default();
        };
        let flag = |k: &str| o.get(k).and_then(OffsetValue::as_bool).unwrap_or(false);
        StoredOffset {
            exists: true,
            snapshot_incomplete: flag("snapshot") && !flag("last_snapshot_record"),
            lsn_proc: o.get("lsn_proc").and_then(OffsetValue::as_u64).unwrap_or(0),
        }
    }
}

impl PostgresSourceTask {
    fn ctl(&mut self) -> Result<&mut Client, PgError> {
        if self.ctl.as_mut().is_none_or(|c| c.is_closed()) {
            self.ctl = Some(db::connect(&self.cfg)?);
        }
        Ok(self.ctl.as_mut().expect("connected"))
    }

    /// Connects, checks the server, sets up the publication and slot, and decides whether to
    /// snapshot.
    fn start(&mut self) -> Result<Phase, ConnectError> {
        let cfg = self.cfg.clone();
        let stored_offset = self.offsets.offset(&self.partition)?;
        let stored = StoredOffset::read(stored_offset.as_ref());
        let once = self.once;
        let mode = cfg.snapshot_mode;
        let streams = mode.streams();
        let connector = self.connector.clone();
        let slot_created_before = self.delays.slot_created;
        let ctl = self.ctl()?;
        match db::check_wal_level(ctl, &cfg) {
            // Logical decoding is for streaming only, as Debezium says.
            Err(PgError::WalLevel(level)) if !streams => {
                tracing::warn!(connector = %connector,
                    "wal_level is {level}, not logical; no matter, as this snapshot.mode does not stream")
            }
            r => r?,
        }
        // As Debezium, at every start, before the offset and the slot are looked at.
        if cfg.guardrail_max > 0 {
            let tables = db::captured_tables(ctl, &cfg)?.len();
            retries::guardrail(&connector, cfg.guardrail_max, cfg.guardrail_fail, tables)?;
        }
        // In --once mode, everything committed before now is the work.
        let upto = if once {
            // The insert position, not pg_current_wal_lsn() (the write position), which lags
            // commits made with synchronous_commit=off.
            let row = ctl
                .query_one("SELECT pg_current_wal_insert_lsn()::text", &[])
                .map_err(|e| query_error(&cfg, "reading pg_current_wal_insert_lsn()", e))?;
            db::parse_lsn(&row.get::<_, String>(0))
        } else {
            None
        };
        // As Debezium, the offset is checked against the slot before the slot is created: a
        // start that fails on a lost slot must leave none for the next start to stream from.
        if streams
            && cfg.log_position_check
            && snapshotter::lost_slot_fails(mode, &stored)
            && !slot_created_before
            && !db::slot_exists(ctl, &cfg)?
        {
            return Err(ConnectError::fatal(snapshotter::lost_slot_error(
                mode, &stored, &cfg.slot,
            )));
        }
        // Without streaming Debezium creates neither publication nor slot.
        let mut slot = None;
        if streams {
            db::ensure_publication(ctl, &cfg)?;
            replica_identity::apply(ctl, &cfg)?;
            let Some(mut s) = self.obtain_slot()? else {
                return Ok(Phase::Start);
            };
            s.created |= std::mem::take(&mut self.delays.slot_created);
            self.slot_confirmed = s.confirmed_flush;
            slot = Some(s);
        }
        let slot_created = slot.as_ref().is_some_and(|s| s.created);
        self.committed_proc = stored.lsn_proc;
        let plan = snapshotter::plan(mode, &stored, slot_created).map_err(ConnectError::fatal)?;
        let snapshot = plan.snapshot;
        if plan.forget_offset {
            tracing::warn!(connector = %self.connector, slot = %cfg.slot,
                "the replication slot was missing and has been created again: the stored offset is forgotten (snapshot.mode.configuration.based.snapshot.on.data.error=true){}",
                if snapshot { " and the tables are snapshotted" } else { "; changes made while the slot was gone were not captured" });
        } else if slot_created && stored.exists && !snapshot {
            tracing::warn!(connector = %self.connector, slot = %cfg.slot,
                "the replication slot was missing and has been created again (internal.log.position.check.enable=false): changes made while it was gone were not captured; use snapshot.mode=when_needed to snapshot in that case");
        }
        if !snapshot && !streams {
            if mode == config::SnapshotMode::InitialOnly {
                tracing::info!(connector = %self.connector, "snapshot.mode=initial_only and the snapshot is complete: nothing to do");
            } else {
                tracing::info!(connector = %self.connector, "snapshot.mode=configuration_based with snapshot.data=false and start.stream=false: nothing to do");
            }
            return Ok(Phase::Finished);
        }
        let resume = if stored.snapshot_incomplete || snapshot || plan.forget_offset {
            0
        } else {
            stored.lsn_proc
        };
        let d = &mut self.delays;
        let wait = if snapshot {
            Delays::begin(&mut d.snapshot_waited, &mut d.until, cfg.snapshot_delay)
        } else {
            Delays::begin(&mut d.streaming_waited, &mut d.until, cfg.streaming_delay)
        };
        if wait {
            d.slot_created = slot_created;
            tracing::info!(connector = %self.connector,
                "waiting {} ms before {} ({})",
                if snapshot { cfg.snapshot_delay } else { cfg.streaming_delay }.as_millis(),
                if snapshot { "the snapshot" } else { "streaming" },
                if snapshot { "snapshot.delay.ms" } else { "streaming.delay.ms" });
            return Ok(Phase::Start);
        }
        if snapshot {
            // The snapshot may hide the transactions it saw from the stream only when no
            // earlier run can have put events in Kafka: otherwise a row an earlier attempt
            // emitted and that was deleted before this snapshot would never see its delete.
            // Without the filter the stream replays from the slot: duplicates, never a loss.
            let exact = slot_created && !stored.exists;
            if !exact {
                tracing::info!(connector = %self.connector,
                    "snapshotting again after an interrupted or earlier run: changes since the slot's position are streamed again after it (duplicates possible, nothing lost)");
            }
            let s = Snapshot::begin(
                cfg.clone(),
                self.partition.clone(),
                upto,
                resume,
                snapshot::Reading {
                    exact,
                    // Debezium reads a slot it just created in the slot's snapshot, whatever
                    // snapshot.isolation.mode says.
                    read_committed: cfg.snapshot_read_committed && !slot_created,
                },
                self.progress.clone(),
                self.metrics.clone(),
            )?;
            Ok(Phase::Snapshot(Box::new(s)))
        } else {
            let mut s = Stream::open(
                cfg.clone(),
                self.partition.clone(),
                upto,
                resume,
                None,
                Catalog::default(),
                self.metrics.streaming.clone(),
            )?;
            if let Some(o) = &stored_offset {
                let xid = match o.get("txId") {
                    Some(crate::data::OffsetValue::I64(x)) => u32::try_from(*x).ok(),
                    Some(crate::data::OffsetValue::U64(x)) => u32::try_from(*x).ok(),
                    _ => None,
                };
                s.resume_incremental(incremental::Context::load(o), xid);
                s.resume_within(o);
            }
            s.set_snapshot_context(self.progress.clone(), self.metrics.clone());
            // Debezium says so at every start that takes no snapshot.
            s.notify(notify::INITIAL, "SKIPPED", &[]);
            self.attach_signal_reader(&mut s)?;
            Ok(Phase::Stream(Box::new(s)))
        }
    }

    /// The Kafka signal channel's reader, from the worker (signal.enabled.channels=kafka).
    fn attach_signal_reader(&self, s: &mut Stream) -> Result<(), ConnectError> {
        let Some(kafka) = self.cfg.signals.as_ref().and_then(|sig| sig.kafka.as_ref()) else {
            return Ok(());
        };
        let Some(readers) = &self.topic_readers else {
            return Err(ConnectError::fatal(
                "the kafka signal channel needs Kafka clients, which this task was not given",
            ));
        };
        let reader = readers(&crate::api::TopicReaderSpec {
            topic: kafka.topic.clone(),
            partition: 0,
            settings: kafka.settings.clone(),
        })?;
        s.set_signal_reader(reader);
        Ok(())
    }

    fn step(&mut self) -> Result<Polled, ConnectError> {
        loop {
            match &mut self.phase {
                Phase::Start => {
                    if self.delays.nap(&self.stop) {
                        return Ok(Polled::Idle);
                    }
                    self.phase = self.start()?;
                    if self.delays.until.is_some() {
                        return Ok(Polled::Idle);
                    }
                }
                Phase::Snapshot(s) => match s.poll()? {
                    Some(records) if !records.is_empty() => return Ok(Polled::Records(records)),
                    Some(_) => {}
                    None => {
                        if self.cfg.snapshot_mode.streams() {
                            let d = &mut self.delays;
                            let length = self.cfg.streaming_delay;
                            if Delays::begin(&mut d.streaming_waited, &mut d.until, length) {
                                self.snapshot_done = true;
                                tracing::info!(connector = %self.connector,
                                    "snapshot complete; waiting {} ms before streaming (streaming.delay.ms)",
                                    length.as_millis());
                            }
                            if self.delays.nap(&self.stop) {
                                return Ok(Polled::Idle);
                            }
                        }
                        let done = std::mem::replace(&mut self.phase, Phase::Finished);
                        let Phase::Snapshot(s) = done else {
                            unreachable!()
                        };
                        self.snapshot_done = true;
                        if !self.cfg.snapshot_mode.streams() {
                            return Ok(Polled::Finished);
                        }
                        let mut stream = s.into_stream()?;
                        self.attach_signal_reader(&mut stream)?;
                        self.phase = Phase::Stream(Box::new(stream));
                    }
                },
                Phase::Stream(s) => {
                    let polled = s.poll(self.once, &self.stop)?;
                    s.confirm(self.committed_proc)?;
                    if let Some(hb) = self.heartbeat() {
                        if let Polled::Records(mut r) = polled {
                            r.push(hb);
                            return Ok(Polled::Records(r));
                        }
                        return Ok(Polled::Records(vec![hb]));
                    }
                    return Ok(polled);
                }
                Phase::Finished => return Ok(Polled::Finished),
            }
        }
    }

    fn heartbeat(&mut self) -> Option<SourceRecord> {
        let interval = self.cfg.heartbeat_interval?;
        if self.last_heartbeat.elapsed() < interval {
            return None;
        }
        self.last_heartbeat = Instant::now();
        if let Some(q) = self.cfg.heartbeat_query.clone() {
            match self.ctl() {
                Ok(c) => {
                    if let Err(e) = c.batch_execute(&q) {
                        tracing::warn!(connector = %self.connector, "heartbeat.action.query failed: {e}");
                    }
                }
                Err(e) => tracing::warn!(connector = %self.connector, "heartbeat: {e}"),
            }
        }
        let Phase::Stream(s) = &self.phase else {
            return None;
        };
        Some(SourceRecord {
            partition: self.partition.clone(),
            offset: s.heartbeat_offset(),
            record: events::heartbeat(&self.cfg),
        })
    }

    fn advance_slot(&mut self, to: u64) -> Result<(), PgError> {
        let cfg = self.cfg.clone();
        let ctl = self.ctl()?;
        let row = ctl
            .query_one(
                "SELECT end_lsn::text FROM pg_replication_slot_advance($1, $2::text::pg_lsn)",
                &[&cfg.slot, &db::format_lsn(to)],
            )
            .map_err(|e| {
                query_error(&cfg, &format!("advancing replication slot {}", cfg.slot), e)
            })?;
        let at = db::parse_lsn(&row.get::<_, String>(0)).unwrap_or(to);
        tracing::debug!(slot = %cfg.slot, lsn = %db::format_lsn(at), "confirmed replication slot position");
        self.slot_confirmed = self.slot_confirmed.max(at);
        Ok(())
    }

    /// Debezium's `SnapshotAborted` when a snapshot is left before its end.
    fn snapshot_interrupted(&self) {
        if matches!(self.phase, Phase::Snapshot(_)) {
            self.metrics.snapshot.running.set_bool(false);
            self.metrics.snapshot.aborted.set_bool(true);
        }
    }

    /// The slot, waiting for another client to let go of it as Debezium does:
    /// slot.max.retries tries slot.retry.delay.ms apart, then the task fails. None: asked to
    /// stop while waiting.
    fn obtain_slot(&mut self) -> Result<Option<db::SlotState>, ConnectError> {
        let cfg = self.cfg.clone();
        loop {
            match db::ensure_slot(self.ctl()?, &cfg) {
                Err(e @ PgError::SlotInUse { .. }) => {
                    if self.slot_tries >= cfg.slot_max_retries {
                        self.slot_tries = 0;
                        return Err(ConnectError::fatal(format!(
                            "unable to obtain the replication slot after {} retries {} ms apart (slot.max.retries, slot.retry.delay.ms): {e}",
                            cfg.slot_max_retries,
                            cfg.slot_retry_delay.as_millis()
                        )));
                    }
                    self.slot_tries += 1;
                    tracing::warn!(connector = %self.connector,
                        "{e}; trying again in {} ms (retry {} of slot.max.retries={})",
                        cfg.slot_retry_delay.as_millis(), self.slot_tries, cfg.slot_max_retries);
                    crate::api::sleep_unless_stopped(&self.stop, cfg.slot_retry_delay);
                    if self.stop.is_stopped() {
                        return Ok(None);
                    }
                }
                Err(e) => return Err(e.into()),
                Ok(slot) => {
                    self.slot_tries = 0;
                    return Ok(Some(slot));
                }
            }
        }
    }

    /// Drops everything connected so the next poll starts over from the stored offset.
    fn reset(&mut self) {
        self.snapshot_interrupted();
        self.phase = Phase::Start;
        self.ctl = None;
    }
}

impl SourceTask for PostgresSourceTask {
    fn poll(&mut self) -> Result<Polled, ConnectError> {
        match self.step() {
            Ok(p) => {
                self.outage.recovered();
                if let Polled::Records(r) = &p {
                    self.retries.polled(r);
                }
                Ok(p)
            }
            Err(e) => {
                let system = format!("PostgreSQL at {}:{}", self.cfg.host, self.cfg.port);
                let e = self.outage.failed(&system, e);
                if !e.is_retriable() {
                    return Err(e);
                }
                // Debezium counts the failures of its snapshot and stream (its change event
                // producer) against errors.max.retries; a start that cannot reach the server
                // is tried again every retriable.restart.connector.wait.ms without counting.
                let wait = self.cfg.restart_wait;
                let e = if matches!(self.phase, Phase::Snapshot(_) | Phase::Stream(_)) {
                    let max = self.cfg.errors_max_retries;
                    let (retry, e) = self.retries.take(max, e).inspect_err(|_| {
                        tracing::error!(connector = %self.connector,
                            "The maximum number of {} retries has been attempted",
                            max.unwrap_or_default());
                    })?;
                    tracing::warn!(connector = %self.connector,
                        "retry {retry} of {} (errors.max.retries) after a retriable failure: restarting the task in {} ms (retriable.restart.connector.wait.ms)",
                        max.map_or("unlimited".to_string(), |m| m.to_string()), wait.as_millis());
                    e
                } else {
                    e
                };
                // Start over from what is durable, after the wait; the worker reports the
                // outage once.
                self.reset();
                let wait = wait.min(self.outage.left().unwrap_or(wait));
                crate::api::sleep_unless_stopped(&self.stop, wait);
                // The bound may have passed while waiting: say so now, naming the server,
                // rather than after another attempt.
                Err(self.outage.failed(&system, e))
            }
        }
    }

    fn phase_completed(&mut self) -> bool {
        std::mem::take(&mut self.snapshot_done)
    }

    fn commit(
        &mut self,
        committed: &[(SourcePartition, SourceOffset)],
    ) -> Result<(), ConnectError> {
        let Some(proc) = committed
            .iter()
            .filter(|(p, _)| **p == *self.partition)
            .filter_map(|(_, o)| o.get("lsn_proc").and_then(OffsetValue::as_u64))
            .max()
        else {
            return Ok(());
        };
        self.committed_proc = self.committed_proc.max(proc);
        match &mut self.phase {
            // The replication connection holds the slot and reports the position itself.
            Phase::Stream(s) => s.confirm(self.committed_proc)?,
            // lsn.flush.mode=manual: the slot is left where it is.
            _ if !self.cfg.lsn_flush.confirms() => {}
            // Without streaming there is no slot to confirm.
            _ if proc > self.slot_confirmed && self.cfg.snapshot_mode.streams() => {
                self.advance_slot(proc)?
            }
            _ => {}
        }
        Ok(())
    }

    fn stop(&mut self) {
        self.snapshot_interrupted();
        self.phase = Phase::Finished;
        if self.cfg.slot_drop_on_stop && self.cfg.snapshot_mode.streams() {
            let cfg = self.cfg.clone();
            match self.ctl().map_err(|e| e.to_string()).and_then(|c| {
                c.execute("SELECT pg_drop_replication_slot($1)", &[&cfg.slot])
                    .map_err(|e| query_error(&cfg, "dropping the replication slot", e).to_string())
            }) {
                Ok(_) => {
                    tracing::info!(slot = %cfg.slot, "dropped replication slot (slot.drop.on.stop=true)")
                }
                Err(e) => {
                    tracing::warn!(slot = %cfg.slot, "could not drop the replication slot: {e}")
                }
            }
        }
        self.ctl = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_offsets_tell_where_to_resume() {
        assert_eq!(StoredOffset::read(None), StoredOffset::default());
        let mut o = SourceOffset::new();
        o.insert("snapshot", true);
        o.insert("lsn", 100);
        assert!(StoredOffset::read(Some(&o)).snapshot_incomplete);
        o.insert("last_snapshot_record", true);
        assert!(!StoredOffset::read(Some(&o)).snapshot_incomplete);
        let mut o = SourceOffset::new();
        o.insert("lsn_proc", 12345u64);
        let s = StoredOffset::read(Some(&o));
        assert!(s.exists && !s.snapshot_incomplete);
        assert_eq!(s.lsn_proc, 12345);
    }
}
