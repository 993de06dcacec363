//! Streaming: pgoutput changes over a replication connection (`START_REPLICATION`) from the
//! connector's slot, decoded by the server while this side turns earlier ones into records.
//! A reader thread owns the connection: it hands changes over in batches on a bounded
//! channel (`max.queue.size` changes), answers the server's keepalives, and reports the
//! position the task says is safe, which is all that moves the slot.
//!
//! Offsets: each record carries `lsn_proc`, the end of the last transaction fully handed out
//! before it; the last record of a transaction carries its own end. A restart skips the
//! transactions that end at or before the stored `lsn_proc`, and inside the stored change's
//! transaction the changes up to it (`resume.rs`).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use postgres::Client;

use super::db::{self, query_error, Catalog, PgError};
use super::events::{self, TableRef};
use super::incremental;
use super::lsn_flush::TimeoutWatch;
use super::metrics::PgMetrics;
use super::metrics::{StreamingMetrics, Tally};
use super::notify;
use super::replication::ReplicationConn;
use super::snapshot::{OnDemand, Snapshot, SnapshotFilter};
use super::PgConfig;
use crate::api::{ConnectError, Polled, ProgressHandle, StopFlag, TopicReader};
use crate::data::{SourceOffset, SourcePartition, SourceRecord};

mod changes;
mod messages;
mod read_only;
mod reader;
mod resume;
mod signals;

use changes::Txn;
use reader::{Batch, Chunk, Reader, Shared};

/// The position that covers everything inserted before `insert_lsn`: an insert position
/// just past a WAL page header has nothing between the page boundary and itself, and the
/// server's decoding stops at the boundary.
fn flushable(insert_lsn: u64) -> u64 {
    const PAGE: u64 = 8192;
    const LONG_HEADER: u64 = 40;
    if insert_lsn % PAGE <= LONG_HEADER {
        insert_lsn - insert_lsn % PAGE
    } else {
        insert_lsn
    }
}

pub struct Stream {
    cfg: Arc<PgConfig>,
    partition: SourcePartition,
    upto: Option<u64>,
    /// Connection for catalog lookups (the replication connection is busy streaming).
    client: Client,
    catalog: Catalog,
    chunks: crossbeam_channel::Receiver<Chunk>,
    /// Batches handed back to the reader to be filled again (their memory reused).
    spent: crossbeam_channel::Sender<Batch>,
    shared: Arc<Shared>,
    reader: Option<std::thread::JoinHandle<()>>,
    /// Relation OID → the captured table's schema, or `None` for tables not captured.
    relations: HashMap<u32, Option<TableRef>>,
    filter: Option<SnapshotFilter>,
    resume_proc: u64,
    /// The transaction the stored offset is inside, until the stream reaches it.
    resume_in: Option<resume::ResumeIn>,
    /// The WAL position of the last change message and how many came at it in a row.
    at_lsn: (u64, u64),
    /// While a change message is turned into records: how many before it at its position
    /// were handed out, which its records' offsets say (`lsn_events_processed`).
    done_at_lsn: u64,
    /// Records of changes at a stored position without a count, and (position, changes).
    held_records: Vec<SourceRecord>,
    held_at_lsn: (u64, u64),
    /// What becomes of the current change's records, and where its last one went in `buf`.
    replay: changes::Replay,
    last_change: Option<usize>,
    txn: Option<Txn>,
    /// Records of the open transaction not yet handed out.
    buf: Vec<SourceRecord>,
    /// End of the last transaction read completely.
    last_proc: u64,
    /// The last record handed out does not end its transaction.
    unfinished: bool,
    /// `lsn_proc` of the last transaction-ending record handed out.
    last_handed_proc: u64,
    /// Where the server's decoding stood at its last keepalive.
    read_upto: u64,
    /// `--once`: the server has decoded everything committed before the run began.
    reached: bool,
    metrics: StreamingMetrics,
    /// Changes counted since the last poll, for the metrics.
    tally: Tally,
    /// The incremental snapshot, running or not.
    inc: incremental::Context,
    /// Its offset keys, written into every record's offset while it runs.
    inc_state: Option<incremental::StoredState>,
    /// The schema of the table it reads.
    inc_table: Option<TableRef>,
    /// A snapshot resumed from the offsets reads its next chunk on the first poll.
    inc_resume: bool,
    /// The last transaction id seen (at first the stored offset's `txId`): what a read.only
    /// incremental snapshot's idle round compares with its readings.
    last_xid: Option<u32>,
    /// read.only: a window closed while changes were handled, and since when; the next chunk
    /// is read once the stream is caught up (see `read_due_chunk_unless_behind`).
    inc_chunk_due: bool,
    inc_chunk_due_since: Instant,
    /// When the file signal channel was last read.
    file_checked: Instant,
    /// The catalog session is set up for writing watermarks.
    inc_session: bool,
    /// Notifications made outside a transaction (a signal from the file channel, a start
    /// without a snapshot), handed out with the next poll.
    loose: Vec<SourceRecord>,
    /// Rows the incremental snapshot read from its current table (its notifications).
    inc_rows_scanned: u64,
    /// The Kafka signal channel's reader, and when it was last read (None: not yet).
    kafka_signals: Option<Box<dyn TopicReader>>,
    kafka_checked: Option<Instant>,
    /// Schemas and topic of logical decoding message events.
    messages: super::messages::Messages,
    /// Commit time of the last transaction begun (microseconds since the epoch), which
    /// Debezium's source block keeps for a non-transactional message.
    last_commit_us: i64,
    /// The LSN of a non-transactional message read since the last commit: Debezium's
    /// `sequence` then names it as the last commit.
    message_commit: Option<u64>,
    /// lsn.flush.timeout.ms over the reader's writes of the confirmed position.
    flush_watch: TimeoutWatch,
    /// A blocking snapshot asked for by signal, started once the signal's transaction is
    /// handed out; the one running, whose records go out before any further change; and the
    /// rest of the batch it interrupted, handled after it.
    blocking_request: Option<OnDemand>,
    blocking: Option<Box<Snapshot>>,
    held: Option<(Batch, usize)>,
    /// What a blocking snapshot reports to (progress lines, snapshot metrics).
    snapshot_ctx: Option<(ProgressHandle, PgMetrics)>,
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.metrics.connected.set_bool(false);
        // The reader ends the session and waits for the server to release the slot, so
        // whatever runs next (a reconnect, slot.drop.on.stop) finds it free.
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

impl Stream {
    pub fn open(
        cfg: Arc<PgConfig>,
        partition: SourcePartition,
        upto: Option<u64>,
        resume_proc: u64,
        filter: Option<SnapshotFilter>,
        catalog: Catalog,
        metrics: StreamingMetrics,
    ) -> Result<Stream, PgError> {
        let mut client = db::connect(&cfg)?;
        // The slot's confirmed position: status updates never report less (the server
        // would move the slot back).
        let row = client
            .query_opt(
                "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
                &[&cfg.slot],
            )
            .map_err(|e| query_error(&cfg, "reading pg_replication_slots", e))?;
        let confirmed = row
            .and_then(|r| r.get::<_, Option<String>>(0))
            .as_deref()
            .and_then(db::parse_lsn)
            .unwrap_or(0);
        // Logical decoding messages, which pgoutput sends on request from PostgreSQL 14 on.
        let version: String = client
            .query_one("SHOW server_version_num", &[])
            .map_err(|e| query_error(&cfg, "reading server_version_num", e))?
            .get(0);
        let messages = version.trim().parse::<u32>().is_ok_and(|v| v >= 140000);
        if cfg.read_only && version.trim().parse::<u32>().is_ok_and(|v| v < 130000) {
            return Err(PgError::Protocol(format!(
                "read.only=true needs PostgreSQL 13 or later (its watermarks are pg_current_snapshot() readings); {}:{} runs server_version_num {version}: upgrade it, or remove read.only",
                cfg.host, cfg.port
            )));
        }
        let mut conn = ReplicationConn::connect(&cfg)?;
        // Transactions that end before resume_proc are in Kafka already; the server skips
        // those that commit before the start position.
        let from = if filter.is_some() { 0 } else { resume_proc };
        conn.start_replication(&cfg, from, &cfg.publication, messages)?;
        tracing::info!(slot = %cfg.slot, from = %db::format_lsn(from.max(confirmed)), "streaming changes");
        let capacity = (cfg.max_queue / cfg.max_batch).max(2);
        let (tx, rx) = crossbeam_channel::bounded(capacity);
        let (spent, recycled) = crossbeam_channel::bounded(capacity);
        let shared = Arc::new(Shared::new(confirmed));
        let reader = Reader {
            cfg: cfg.clone(),
            conn,
            once: upto.is_some(),
            shared: shared.clone(),
            out: tx,
            recycled,
            received: 0,
            reported: confirmed,
            last_status: Instant::now(),
            status_interval: cfg.status_interval,
        };
        let reader = std::thread::Builder::new()
            .name("pg-reader".into())
            .spawn(move || reader.run())
            .map_err(|e| PgError::Protocol(format!("cannot start the reader thread: {e}")))?;
        metrics.connected.set_bool(true);
        Ok(Stream {
            flush_watch: TimeoutWatch::new(cfg.lsn_flush),
            messages: super::messages::Messages::new(&cfg),
            last_commit_us: events::now_ns() / 1000,
            message_commit: None,
            metrics,
            tally: Tally::default(),
            cfg,
            partition,
            upto,
            client,
            catalog,
            chunks: rx,
            spent,
            shared,
            reader: Some(reader),
            relations: HashMap::new(),
            filter,
            resume_proc,
            resume_in: None,
            at_lsn: (0, 0),
            done_at_lsn: 0,
            held_records: Vec::new(),
            held_at_lsn: (0, 0),
            replay: changes::Replay::Emit,
            last_change: None,
            txn: None,
            buf: Vec::new(),
            loose: Vec::new(),
            inc_rows_scanned: 0,
            kafka_signals: None,
            kafka_checked: None,
            last_proc: resume_proc,
            unfinished: false,
            last_handed_proc: 0,
            read_upto: 0,
            reached: false,
            inc_resume: false,
            last_xid: None,
            inc_chunk_due: false,
            inc_chunk_due_since: Instant::now(),
            inc_state: None,
            inc: incremental::Context::default(),
            inc_table: None,
            file_checked: Instant::now(),
            inc_session: false,
            blocking_request: None,
            blocking: None,
            held: None,
            snapshot_ctx: None,
        })
    }

    /// Where a blocking snapshot reports its progress and metrics.
    pub fn set_snapshot_context(&mut self, progress: ProgressHandle, metrics: PgMetrics) {
        self.snapshot_ctx = Some((progress, metrics));
    }

    /// Pauses streaming for the blocking snapshot asked for, as Debezium's coordinator does:
    /// its rows take the position of the last record handed out (everything before the
    /// signal's transaction end), so a restart during it resumes streaming after the signal
    /// and does not take the snapshot again.
    fn start_blocking(&mut self, out: &[SourceRecord]) -> Result<(), ConnectError> {
        let Some(mut request) = self.blocking_request.take() else {
            return Ok(());
        };
        request.offset = match out.last().or(self.loose.last()) {
            Some(r) => r.offset.clone(),
            None => {
                let mut o = SourceOffset::new();
                o.insert("lsn_proc", self.last_proc);
                o.insert("lsn_commit", self.last_proc);
                o.insert("lsn", self.last_proc);
                if let Some(state) = &self.inc_state {
                    state.write(&mut o);
                }
                o
            }
        };
        let (progress, metrics) = self.snapshot_ctx.clone().ok_or_else(|| {
            ConnectError::fatal(
                "a blocking snapshot was asked for, but this stream has no snapshot context",
            )
        })?;
        match Snapshot::blocking(
            self.cfg.clone(),
            self.partition.clone(),
            request,
            progress,
            metrics,
        ) {
            Ok(snapshot) => self.blocking = Some(Box::new(snapshot)),
            Err(e) => self.blocking_failed(&e.to_string()),
        }
        Ok(())
    }

    /// Debezium's coordinator logs a failed blocking snapshot and resumes streaming; its
    /// snapshot source reports it ABORTED. The snapshot is not taken again by itself.
    fn blocking_failed(&mut self, error: &str) {
        tracing::warn!("the blocking snapshot failed and is abandoned; streaming resumes (send the signal again to retry): {error}");
        self.blocking = None;
        self.notify(notify::INITIAL, "ABORTED", &[]);
    }

    /// The blocking snapshot's next records, or `None` once it is done (or none runs).
    fn poll_blocking(&mut self) -> Result<Option<Vec<SourceRecord>>, ConnectError> {
        let Some(b) = self.blocking.as_mut() else {
            return Ok(None);
        };
        match b.poll() {
            Err(e) => {
                self.blocking_failed(&e.to_string());
                Ok(None)
            }
            Ok(Some(records)) => Ok(Some(records)),
            Ok(None) => {
                self.blocking = None;
                tracing::info!("blocking snapshot completed: streaming resumes");
                Ok(None)
            }
        }
    }

    /// Handles a batch's changes from `from` on; stops after the transaction that asked for
    /// a blocking snapshot, starts it, and keeps the rest of the batch for after it.
    fn process(
        &mut self,
        batch: Batch,
        from: usize,
        out: &mut Vec<SourceRecord>,
    ) -> Result<(), ConnectError> {
        let mut stopped = None;
        for (i, (lsn, data)) in batch.iter().enumerate().skip(from) {
            self.handle(lsn, data, out)?;
            if self.blocking_request.is_some() && self.txn.is_none() {
                stopped = Some(i + 1);
                break;
            }
        }
        self.read_due_chunk_unless_behind()?;
        match stopped {
            Some(at) => {
                self.held = Some((batch, at));
                self.start_blocking(out)
            }
            None => {
                let _ = self.spent.try_send(batch);
                Ok(())
            }
        }
    }

    /// Takes over an incremental snapshot the stored offsets say was running: its next chunk
    /// is read at the first poll, as Debezium's `init` does.
    pub fn resume_incremental(&mut self, inc: incremental::Context, xid: Option<u32>) {
        self.last_xid = xid;
        self.inc_resume = inc.running();
        self.inc_state = inc.stored();
        self.inc = inc;
    }

    /// The next changes, and Debezium's streaming metrics brought up to date.
    pub fn poll(&mut self, once: bool, stop: &StopFlag) -> Result<Polled, ConnectError> {
        let polled = self.poll_changes(once, stop);
        let emitted = match &polled {
            Ok(Polled::Records(r)) => r.len(),
            _ => 0,
        };
        self.tally.flush(&self.metrics, emitted);
        polled
    }

    fn poll_changes(&mut self, once: bool, stop: &StopFlag) -> Result<Polled, ConnectError> {
        let mut out: Vec<SourceRecord> = Vec::new();
        if std::mem::take(&mut self.inc_resume) && self.cfg.signals.is_some() {
            tracing::info!("an incremental snapshot was in progress: reading its next chunk");
            if self.cfg.read_only {
                self.force_new_xid()?;
            }
            self.read_chunk()?;
        }
        self.poll_file()?;
        self.poll_kafka()?;
        out.append(&mut self.loose);
        loop {
            if self.blocking.is_some() {
                if !out.is_empty() {
                    return Ok(Polled::Records(out));
                }
                if let Some(records) = self.poll_blocking()? {
                    return Ok(Polled::Records(records));
                }
            }
            if self.blocking_request.is_some() && self.txn.is_none() {
                // From the file or Kafka channel, outside any transaction.
                self.start_blocking(&out)?;
                continue;
            }
            if let Some((batch, at)) = self.held.take() {
                self.process(batch, at, &mut out)?;
                continue;
            }
            // A read.only snapshot keeps a --once run streaming while it runs: its windows
            // close by what the stream shows (see the Timeout arm for when it cannot go on).
            if once && self.reached && out.is_empty() && !self.read_only_pending() {
                return Ok(Polled::Finished);
            }
            // Wait only while there is nothing to return: a change in the queue comes back
            // with this batch, one that has not arrived yet with the next.
            let next = if out.is_empty() {
                self.chunks.recv_timeout(
                    self.cfg
                        .poll_interval
                        .max(std::time::Duration::from_millis(10)),
                )
            } else {
                self.chunks.try_recv().map_err(|e| match e {
                    crossbeam_channel::TryRecvError::Empty => {
                        crossbeam_channel::RecvTimeoutError::Timeout
                    }
                    crossbeam_channel::TryRecvError::Disconnected => {
                        crossbeam_channel::RecvTimeoutError::Disconnected
                    }
                })
            };
            let chunk = match next {
                Ok(c) => c,
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    // Idle (Debezium's heartbeat to a read.only snapshot) only after a wait
                    // that brought nothing: with changes in hand they go out first, and the
                    // snapshot moves on at the end of each batch (read_due_chunk_unless_behind).
                    if out.is_empty() {
                        self.window_idle(&mut out)?;
                    }
                    if out.is_empty() && once && self.reached {
                        // Caught up, and the snapshot cannot go on without waiting for the
                        // database: the next run resumes it from the offsets.
                        return Ok(Polled::Finished);
                    }
                    return Ok(if out.is_empty() {
                        Polled::Idle
                    } else {
                        Polled::Records(out)
                    });
                }
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                    return Err(ConnectError::retriable(
                        "the replication slot reader stopped; reconnecting",
                    ));
                }
            };
            match chunk {
                Chunk::Changes(batch) => {
                    self.process(batch, 0, &mut out)?;
                    if self.blocking.is_some() {
                        continue;
                    }
                }
                Chunk::Position(at) => {
                    self.read_upto = self.read_upto.max(at);
                    if self.upto.is_some_and(|u| at >= flushable(u)) {
                        self.reached = true;
                    }
                    if out.is_empty() && (!(once && self.reached) || self.read_only_pending()) {
                        // Caught up: a read.only snapshot goes on as while idle, once
                        // nothing is queued behind this position.
                        if self.read_only_pending() && !self.chunks.is_empty() {
                            continue;
                        }
                        self.window_idle(&mut out)?;
                        return Ok(if !out.is_empty() {
                            Polled::Records(out)
                        } else if once && self.reached {
                            Polled::Finished
                        } else {
                            Polled::Idle
                        });
                    }
                }
                Chunk::Failed(e) => return Err(e.into()),
            }
            if out.len() >= self.cfg.max_batch || stop.is_stopped() {
                return Ok(Polled::Records(out));
            }
        }
    }

    /// Lets the slot move to what the store has made durable, or, when everything handed out
    /// is durable and no transaction is open, to where the server's decoding got: quiet
    /// captured tables then do not hold back the WAL other tables write. Never with
    /// lsn.flush.mode=manual. Fails when a confirmation is slower than lsn.flush.timeout.ms
    /// and lsn.flush.timeout.action says fail.
    pub fn confirm(&mut self, committed_proc: u64) -> Result<(), ConnectError> {
        if !self.cfg.lsn_flush.confirms() {
            return Ok(());
        }
        // A reader that has stopped writes nothing more: the next poll reports why and
        // reconnects, which is not a slow confirmation.
        let reading = self.reader.as_ref().is_some_and(|r| !r.is_finished());
        let overdue = self.shared.confirm_overdue().filter(|_| reading);
        let confirming = self.shared.confirm.load(Ordering::SeqCst);
        if let Err(e) = self.flush_watch.check(overdue, confirming) {
            return Err(ConnectError::fatal(e.0));
        }
        let quiet = !self.unfinished
            && self.held.is_none()
            && self.blocking.is_none()
            && self.buf.is_empty()
            && self.txn.is_none()
            && committed_proc >= self.last_handed_proc;
        let to = if quiet {
            committed_proc.max(self.read_upto).max(self.last_proc)
        } else {
            committed_proc
        };
        self.shared.raise_confirm(to);
        Ok(())
    }

    /// As far as is fully read and handed out.
    pub(super) fn heartbeat_position(&self) -> u64 {
        if !self.unfinished && self.buf.is_empty() && self.held.is_none() {
            self.last_proc.max(self.read_upto)
        } else {
            self.last_proc
        }
    }

    /// The offset a heartbeat record carries: at `heartbeat_position`.
    pub fn heartbeat_offset(&self) -> SourceOffset {
        let proc = self.heartbeat_position();
        let mut o = SourceOffset::new();
        o.insert("lsn_proc", proc);
        o.insert("lsn_commit", proc);
        o.insert("lsn", proc);
        // A heartbeat's offset may be the last one committed: it must not lose the snapshot.
        if let Some(state) = &self.inc_state {
            state.write(&mut o);
        }
        o
    }

    /// The Kafka signal channel's reader (signal.enabled.channels names kafka).
    pub fn set_signal_reader(&mut self, reader: Box<dyn TopicReader>) {
        self.kafka_signals = Some(reader);
    }

    /// A notification (notification.enabled.channels) among the stream's records: with the
    /// open transaction's, or on its own outside one, at a position already safe to resume
    /// from (and carrying the incremental snapshot's state, as every record's offset does).
    pub(super) fn notify(&mut self, aggregate: &str, kind: &str, data: &[(&str, String)]) {
        let id = match aggregate {
            notify::INCREMENTAL => self.inc.correlation_id.clone(),
            _ => None,
        };
        let Some(record) = notify::notification(&self.cfg, aggregate, kind, id.as_deref(), data)
        else {
            return;
        };
        let offset = match self.buf.last().or(self.loose.last()) {
            Some(r) => r.offset.clone(),
            None => self.heartbeat_offset(),
        };
        let r = SourceRecord {
            partition: self.partition.clone(),
            offset,
            record,
        };
        if self.txn.is_some() {
            self.buf.push(r);
        } else {
            self.loose.push(r);
        }
    }

    /// Resumes after the stored offset's change when it is inside a transaction, instead of
    /// at the transaction's start (see `resume.rs`).
    pub fn resume_within(&mut self, stored: &SourceOffset) {
        if self.filter.is_none() {
            self.resume_in = resume::ResumeIn::from_offset(stored);
        }
    }

    pub(super) fn hand_out(&mut self, out: &mut Vec<SourceRecord>) {
        out.append(&mut self.buf);
    }
}

#[cfg(test)]
mod tests {
    use super::flushable;

    #[test]
    fn insert_position_after_a_page_header_is_covered_by_the_page_boundary() {
        assert_eq!(flushable(0x1522A48), 0x1522A48);
        assert_eq!(flushable(0x1524018), 0x1524000);
        assert_eq!(flushable(0x2000028), 0x2000000);
    }
}
