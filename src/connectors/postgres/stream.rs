//! Streaming: pgoutput changes over a replication connection (`START_REPLICATION`) from the
//! connector's slot, decoded by the server while this side turns earlier ones into records.
//! A reader thread owns the connection: it hands changes over in batches on a bounded
//! channel (`max.queue.size` changes), answers the server's keepalives, and reports the
//! position the task says is safe, which is all that moves the slot.
//!
//! Offsets: each record carries `lsn_proc`, the end of the last transaction fully handed out
//! before it; the last record of a transaction carries its own end. A restart skips the
//! transactions that end at or before the stored `lsn_proc` and repeats the rest.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use postgres::Client;

use super::db::{self, query_error, Catalog, PgError};
use super::events::{self, SourceInfo, TableRef};
use super::pgoutput::{self, Message, PG_EPOCH_OFFSET_US};
use super::replication::{ReplicationConn, WalMessage};
use super::snapshot::SnapshotFilter;
use super::PgConfig;
use crate::api::{ConnectError, Polled, StopFlag};
use crate::data::{ConnectRecord, SourceOffset, SourcePartition, SourceRecord, Value};

struct Txn {
    xid: u32,
    begin_lsn: u64,
    final_lsn: u64,
    commit_us: i64,
    skip: bool,
}

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

/// pgoutput messages read together, in one buffer: one allocation per batch, not per change,
/// and freed by the task in one go.
struct Batch {
    data: Vec<u8>,
    /// Each message's WAL position and where it ends in `data`.
    index: Vec<(u64, u32)>,
}

impl Batch {
    fn push(&mut self, lsn: u64, msg: &[u8]) {
        self.data.extend_from_slice(msg);
        self.index.push((lsn, self.data.len() as u32));
    }

    fn iter(&self) -> impl Iterator<Item = (u64, &[u8])> {
        let mut from = 0;
        self.index.iter().map(move |&(lsn, end)| {
            let msg = &self.data[from..end as usize];
            from = end as usize;
            (lsn, msg)
        })
    }
}

/// What the reader thread hands over.
enum Chunk {
    Changes(Batch),
    /// The server has decoded everything before this position (a keepalive).
    Position(u64),
    Failed(PgError),
}

/// A batch is handed over when it has this many bytes, `max.batch.size` changes, or has
/// waited this long for more.
const BATCH_BYTES: usize = 256 << 10;
const BATCH_WAIT: Duration = Duration::from_millis(5);
/// The least time between two status updates that move the slot.
const CONFIRM_EVERY: Duration = Duration::from_secs(1);
/// How often `--once` asks the server where its decoding stands, while waiting for the end.
const ONCE_PROBE: Duration = Duration::from_millis(50);

/// Shared between the task and the reader thread.
struct Shared {
    stop: AtomicBool,
    /// Where the slot may be confirmed: only ever raised, by the task.
    confirm: AtomicU64,
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
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // The reader ends the session and waits for the server to release the slot, so
        // whatever runs next (a reconnect, slot.drop.on.stop) finds it free.
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

/// The reading side: owns the replication connection.
struct Reader {
    cfg: Arc<PgConfig>,
    conn: ReplicationConn,
    once: bool,
    shared: Arc<Shared>,
    out: crossbeam_channel::Sender<Chunk>,
    recycled: crossbeam_channel::Receiver<Batch>,
    /// The furthest position the server has sent.
    received: u64,
    /// The `flush` position last reported.
    reported: u64,
    last_status: Instant,
    status_interval: Duration,
}

impl Reader {
    fn run(mut self) {
        if let Err(e) = self.stream() {
            let _ = self.out.send(Chunk::Failed(e));
        }
        // Report the last safe position before leaving, so a graceful stop leaves the slot
        // where the stored offsets are.
        let _ = self.status(false, true);
        self.conn.close();
    }

    /// An empty batch: a spent one when the task has handed one back.
    fn batch(&self) -> Batch {
        match self.recycled.try_recv() {
            Ok(mut b) => {
                b.data.clear();
                b.index.clear();
                b
            }
            Err(_) => Batch {
                data: Vec::with_capacity(BATCH_BYTES + 64 * 1024),
                index: Vec::with_capacity(self.cfg.max_batch.min(16 * 1024)),
            },
        }
    }

    fn stream(&mut self) -> Result<(), PgError> {
        let mut batch = self.batch();
        let mut batch_since = Instant::now();
        let mut last_probe = Instant::now();
        loop {
            if self.shared.stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            let mut position = None;
            match self.conn.recv()? {
                Some(WalMessage::XLogData { lsn, data }) => {
                    if batch.index.is_empty() {
                        batch_since = Instant::now();
                    }
                    batch.push(lsn, data);
                    self.received = self.received.max(lsn);
                }
                Some(WalMessage::Keepalive { wal_end, reply }) => {
                    self.received = self.received.max(wal_end);
                    position = Some(wal_end);
                    if reply {
                        self.status(false, true)?;
                    }
                }
                None => {
                    // Nothing new: in --once mode ask where decoding stands (the server
                    // answers a status update that requests a reply with a keepalive).
                    if self.once && batch.index.is_empty() && last_probe.elapsed() >= ONCE_PROBE {
                        last_probe = Instant::now();
                        self.status(true, true)?;
                    }
                }
            }
            let full = batch.index.len() >= self.cfg.max_batch || batch.data.len() >= BATCH_BYTES;
            if !batch.index.is_empty()
                && (full || position.is_some() || batch_since.elapsed() >= BATCH_WAIT)
                && !self.deliver(Chunk::Changes(std::mem::replace(&mut batch, self.batch())))?
            {
                return Ok(());
            }
            if let Some(p) = position {
                if !self.deliver(Chunk::Position(p))? {
                    return Ok(());
                }
            }
            self.status(false, false)?;
        }
    }

    /// Hands a chunk to the task, waiting while its queue is full; meanwhile the server still
    /// hears from us, or it would end the connection at wal_sender_timeout. False when the
    /// task is gone.
    fn deliver(&mut self, chunk: Chunk) -> Result<bool, PgError> {
        let mut chunk = chunk;
        loop {
            match self.out.send_timeout(chunk, Duration::from_millis(100)) {
                Ok(()) => return Ok(true),
                Err(crossbeam_channel::SendTimeoutError::Timeout(c)) => {
                    if self.shared.stop.load(Ordering::SeqCst) {
                        return Ok(false);
                    }
                    self.status(false, false)?;
                    chunk = c;
                }
                Err(crossbeam_channel::SendTimeoutError::Disconnected(_)) => return Ok(false),
            }
        }
    }

    /// Sends a status update when one is due: every `status.update.interval.ms`, and at most
    /// every second when the confirmable position moved. `now` sends one regardless.
    fn status(&mut self, reply: bool, now: bool) -> Result<(), PgError> {
        let confirm = self.shared.confirm.load(Ordering::SeqCst);
        let since = self.last_status.elapsed();
        let due = now
            || since >= self.status_interval
            || (confirm > self.reported && since >= CONFIRM_EVERY);
        if !due {
            return Ok(());
        }
        self.conn
            .send_status(self.received.max(confirm), confirm, reply)?;
        if confirm > self.reported {
            tracing::debug!(slot = %self.cfg.slot, lsn = %db::format_lsn(confirm), "confirmed replication slot position");
        }
        self.reported = confirm;
        self.last_status = Instant::now();
        Ok(())
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
        let mut conn = ReplicationConn::connect(&cfg)?;
        // Transactions that end before resume_proc are in Kafka already; the server skips
        // those that commit before the start position.
        let from = if filter.is_some() { 0 } else { resume_proc };
        conn.start_replication(&cfg, from, &cfg.publication)?;
        tracing::info!(slot = %cfg.slot, from = %db::format_lsn(from.max(confirmed)), "streaming changes");
        let capacity = (cfg.max_queue / cfg.max_batch).max(2);
        let (tx, rx) = crossbeam_channel::bounded(capacity);
        let (spent, recycled) = crossbeam_channel::bounded(capacity);
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            confirm: AtomicU64::new(confirmed),
        });
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
        Ok(Stream {
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
            txn: None,
            buf: Vec::new(),
            last_proc: resume_proc,
            unfinished: false,
            last_handed_proc: 0,
            read_upto: 0,
            reached: false,
        })
    }

    pub fn poll(&mut self, once: bool, stop: &StopFlag) -> Result<Polled, ConnectError> {
        let mut out: Vec<SourceRecord> = Vec::new();
        loop {
            if once && self.reached && out.is_empty() {
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
                    for (lsn, data) in batch.iter() {
                        self.handle(lsn, data, &mut out)?;
                    }
                    let _ = self.spent.try_send(batch);
                }
                Chunk::Position(at) => {
                    self.read_upto = self.read_upto.max(at);
                    if self.upto.is_some_and(|u| at >= flushable(u)) {
                        self.reached = true;
                    }
                    if out.is_empty() && !(once && self.reached) {
                        return Ok(Polled::Idle);
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
    /// captured tables then do not hold back the WAL other tables write.
    pub fn confirm(&self, committed_proc: u64) {
        let quiet = !self.unfinished
            && self.buf.is_empty()
            && self.txn.is_none()
            && committed_proc >= self.last_handed_proc;
        let to = if quiet {
            committed_proc.max(self.read_upto).max(self.last_proc)
        } else {
            committed_proc
        };
        self.shared.confirm.fetch_max(to, Ordering::SeqCst);
    }

    /// The offset a heartbeat record carries: as far as is fully read and handed out.
    pub fn heartbeat_offset(&self) -> SourceOffset {
        let proc = if !self.unfinished && self.buf.is_empty() {
            self.last_proc.max(self.read_upto)
        } else {
            self.last_proc
        };
        let mut o = SourceOffset::new();
        o.insert("lsn_proc", proc);
        o.insert("lsn_commit", proc);
        o.insert("lsn", proc);
        o
    }

    fn hand_out(&mut self, out: &mut Vec<SourceRecord>) {
        out.append(&mut self.buf);
    }

    fn handle(
        &mut self,
        lsn: u64,
        data: &[u8],
        out: &mut Vec<SourceRecord>,
    ) -> Result<(), ConnectError> {
        let msg =
            pgoutput::decode(data).map_err(|e| ConnectError::fatal(e.to_string()).caused_by(e))?;
        match msg {
            Message::Begin {
                final_lsn,
                commit_ts,
                xid,
            } => {
                if self.filter.as_ref().is_some_and(|f| final_lsn > f.lsn) {
                    self.filter = None;
                }
                let seen = self.filter.as_ref().is_some_and(|f| f.saw(xid));
                self.txn = Some(Txn {
                    xid,
                    begin_lsn: lsn,
                    final_lsn,
                    commit_us: commit_ts + PG_EPOCH_OFFSET_US,
                    skip: seen || final_lsn < self.resume_proc,
                });
            }
            Message::Commit { end_lsn, .. } => {
                if let Some(last) = self.buf.last_mut() {
                    last.offset.insert("lsn_proc", end_lsn);
                    self.last_handed_proc = end_lsn;
                    self.unfinished = false;
                    self.hand_out(out);
                }
                self.last_proc = self.last_proc.max(end_lsn);
                self.txn = None;
            }
            Message::Relation(rel) => {
                let captured = self.cfg.filters.table_included(&rel.namespace, &rel.name);
                let table = if captured {
                    let t = self
                        .catalog
                        .table_from_relation(&mut self.client, &self.cfg, &rel)?;
                    Some(Arc::new(t))
                } else {
                    None
                };
                self.relations.insert(rel.oid, table);
            }
            Message::Insert { rel, new } => {
                if let Some(t) = self.table(rel)? {
                    if !self.cfg.skip_create {
                        let key = t.key(&new, &self.cfg).map_err(ConnectError::fatal)?;
                        let after = t.row(&new, &self.cfg).map_err(ConnectError::fatal)?;
                        self.emit(&t, lsn, key, Some((Value::Null, after, "c")));
                    }
                }
            }
            Message::Update { rel, old, new } => {
                if let Some(t) = self.table(rel)? {
                    let new_key = t.key(&new, &self.cfg).map_err(ConnectError::fatal)?;
                    let old_key = match &old {
                        Some((_, o)) if t.key_schema.is_some() => {
                            t.key(o, &self.cfg).map_err(ConnectError::fatal)?
                        }
                        _ => None,
                    };
                    let after = t.row(&new, &self.cfg).map_err(ConnectError::fatal)?;
                    if old_key.is_some() && old_key != new_key {
                        // A primary-key change: delete (and tombstone) the old key, create the new.
                        let before = t
                            .row(&old.as_ref().expect("old tuple").1, &self.cfg)
                            .map_err(ConnectError::fatal)?;
                        self.emit(&t, lsn, old_key.clone(), Some((before, Value::Null, "d")));
                        if self.cfg.tombstones {
                            self.emit(&t, lsn, old_key, None);
                        }
                        self.emit(&t, lsn, new_key, Some((Value::Null, after, "c")));
                    } else if !self.cfg.skip_update {
                        let before = match &old {
                            Some((_, o)) => t.row(o, &self.cfg).map_err(ConnectError::fatal)?,
                            None => Value::Null,
                        };
                        self.emit(&t, lsn, new_key, Some((before, after, "u")));
                    }
                }
            }
            Message::Delete { rel, old } => {
                if let Some(t) = self.table(rel)? {
                    if !self.cfg.skip_delete {
                        let key = t.key(&old.1, &self.cfg).map_err(ConnectError::fatal)?;
                        let before = t.row(&old.1, &self.cfg).map_err(ConnectError::fatal)?;
                        self.emit(&t, lsn, key.clone(), Some((before, Value::Null, "d")));
                        if self.cfg.tombstones {
                            self.emit(&t, lsn, key, None);
                        }
                    }
                }
            }
            Message::Truncate { rels } => {
                if !self.cfg.skip_truncate {
                    for rel in rels {
                        if let Some(t) = self.table(rel)? {
                            self.emit(&t, lsn, None, Some((Value::Null, Value::Null, "t")));
                        }
                    }
                }
            }
            Message::Origin | Message::Type | Message::Other => {}
        }
        if self.buf.len() > self.cfg.max_batch {
            // A large transaction: hand out what is read, except the last record, which stays
            // to be marked as the transaction's end when its commit arrives.
            let last = self.buf.pop();
            self.unfinished = true;
            self.hand_out(out);
            self.buf.extend(last);
        }
        Ok(())
    }

    /// The captured table of a change in a transaction being emitted.
    fn table(&mut self, rel: u32) -> Result<Option<TableRef>, ConnectError> {
        if self.txn.as_ref().is_none_or(|t| t.skip) {
            return Ok(None);
        }
        match self.relations.get(&rel) {
            Some(t) => Ok(t.clone()),
            None => Err(ConnectError::fatal(format!(
                "pgoutput sent a change for relation {rel} before describing it; the slot's stream is inconsistent"
            ))),
        }
    }

    fn emit(
        &mut self,
        t: &TableRef,
        lsn: u64,
        key: Option<Value>,
        change: Option<(Value, Value, &str)>,
    ) {
        let txn = self.txn.as_ref().expect("inside a transaction");
        let record = match change {
            Some((before, after, op)) => {
                let source = events::source_value(
                    &self.cfg,
                    t,
                    SourceInfo {
                        ts_us: txn.commit_us,
                        snapshot: "false",
                        sequence: compact_str::format_compact!("[\"{}\",\"{lsn}\"]", txn.begin_lsn),
                        tx_id: Some(txn.xid as i64),
                        lsn: Some(lsn as i64),
                        db: &self.cfg.dbname,
                    },
                );
                let value = events::envelope(t, before, after, source, op);
                if op == "t" {
                    ConnectRecord::new(t.topic.clone()).with_value(Some(t.envelope.clone()), value)
                } else {
                    events::record(t, key, Some(value))
                }
            }
            None => events::record(t, key, None),
        };
        let mut offset = SourceOffset::new();
        offset.insert("lsn_proc", self.last_proc);
        offset.insert("lsn_commit", txn.final_lsn);
        offset.insert("lsn", lsn);
        offset.insert("txId", txn.xid);
        offset.insert("ts_usec", txn.commit_us);
        self.buf.push(SourceRecord {
            partition: self.partition.clone(),
            offset,
            record,
        });
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
