//! Streaming: pgoutput changes read through `pg_logical_slot_get_binary_changes` on a
//! session-temporary copy of the durable slot, in large rounds, fetched through a cursor
//! `max.batch.size` rows at a time so a huge transaction never sits in our memory whole.
//! A reader thread owns that session and hands raw rows over a small bounded channel, so the
//! server decodes the next round while this side turns the last one into records.
//!
//! Offsets: each record carries `lsn_proc`, the end of the last transaction fully handed out
//! before it; the last record of a transaction carries its own end. A restart skips the
//! transactions that end at or before the stored `lsn_proc` and repeats the rest.

use std::collections::HashMap;
use std::sync::Arc;

use postgres::Client;

use super::db::{self, query_error, Catalog, PgError};
use super::events::{self, SourceInfo, TableRef};
use super::pgoutput::{self, Message, PG_EPOCH_OFFSET_US};
use super::snapshot::SnapshotFilter;
use super::PgConfig;
use crate::connectors::{ConnectError, Polled, StopFlag};
use crate::data::{ConnectRecord, SourceOffset, SourcePartition, SourceRecord, Value};

struct Txn {
    xid: u32,
    begin_lsn: u64,
    final_lsn: u64,
    commit_us: i64,
    skip: bool,
}

/// The flush position that covers everything inserted before `insert_lsn`: an insert
/// position just past a WAL page header has nothing between the page boundary and itself.
fn flushable(insert_lsn: u64) -> u64 {
    const PAGE: u64 = 8192;
    const LONG_HEADER: u64 = 40;
    if insert_lsn % PAGE <= LONG_HEADER {
        insert_lsn - insert_lsn % PAGE
    } else {
        insert_lsn
    }
}

/// What the reader thread hands over.
enum Chunk {
    Rows(Vec<(u64, Vec<u8>)>),
    /// A read of the slot ended: where the read slot now stands, whether it returned less
    /// than it could (caught up), and how far WAL was flushed before it began.
    RoundEnd {
        read_upto: u64,
        caught_up: bool,
        flushed_before: u64,
    },
    Failed(PgError),
}

/// Rows in flight between the reader thread and the task: a few fetches' worth.
const READ_AHEAD: usize = 4;

pub struct Stream {
    cfg: Arc<PgConfig>,
    partition: SourcePartition,
    upto: Option<u64>,
    /// Connection for catalog lookups (the reader's session is busy reading).
    client: Client,
    catalog: Catalog,
    chunks: crossbeam_channel::Receiver<Chunk>,
    reader_stop: Arc<std::sync::atomic::AtomicBool>,
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
    /// Where the read slot stands after the last complete round.
    read_upto: u64,
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.reader_stop
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The reading session: rounds of get_changes through a cursor, rows handed over as read.
struct Reader {
    cfg: Arc<PgConfig>,
    client: Client,
    read_slot: String,
    upto: Option<u64>,
    once: bool,
    stop: Arc<std::sync::atomic::AtomicBool>,
    out: crossbeam_channel::Sender<Chunk>,
}

impl Reader {
    fn run(mut self) {
        while !self.stop.load(std::sync::atomic::Ordering::SeqCst) {
            match self.round() {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    let _ = self.out.send(Chunk::Failed(e));
                    return;
                }
            }
        }
    }

    /// One read of the slot; false when the task no longer listens.
    fn round(&mut self) -> Result<bool, PgError> {
        // Logical decoding reads only flushed WAL; with synchronous_commit=off a commit is
        // visible before it is decodable, so --once needs to know what was flushed.
        let flushed_before = if self.upto.is_some() {
            let row = self
                .client
                .query_one("SELECT pg_current_wal_flush_lsn()::text", &[])
                .map_err(|e| query_error(&self.cfg, "reading pg_current_wal_flush_lsn()", e))?;
            db::parse_lsn(&row.get::<_, String>(0)).unwrap_or(0)
        } else {
            0
        };
        let upto = match self.upto {
            Some(l) => format!("{}::pg_lsn", db::literal(&db::format_lsn(l))),
            None => "NULL".into(),
        };
        let sql = format!(
            "BEGIN; DECLARE kc_changes NO SCROLL CURSOR FOR SELECT (lsn - '0/0'::pg_lsn)::int8, data \
             FROM pg_logical_slot_get_binary_changes({}, {upto}, {}, 'proto_version', '1', 'publication_names', {})",
            db::literal(&self.read_slot),
            self.cfg.chunk,
            db::literal(&self.cfg.publication)
        );
        let read_err =
            |cfg: &PgConfig, e| query_error(cfg, "reading changes from the replication slot", e);
        self.client
            .batch_execute(&sql)
            .map_err(|e| read_err(&self.cfg, e))?;
        let fetch = self
            .client
            .prepare(&format!("FETCH {} FROM kc_changes", self.cfg.max_batch))
            .map_err(|e| read_err(&self.cfg, e))?;
        let mut round_rows = 0;
        loop {
            let rows = self
                .client
                .query(&fetch, &[])
                .map_err(|e| read_err(&self.cfg, e))?;
            round_rows += rows.len();
            let n = rows.len();
            let owned: Vec<(u64, Vec<u8>)> = rows
                .iter()
                .map(|r| (r.get::<_, i64>(0) as u64, r.get::<_, &[u8]>(1).to_vec()))
                .collect();
            if !owned.is_empty() && self.out.send(Chunk::Rows(owned)).is_err() {
                return Ok(false);
            }
            if n < self.cfg.max_batch || self.stop.load(std::sync::atomic::Ordering::SeqCst) {
                break;
            }
        }
        self.client
            .batch_execute("CLOSE kc_changes; COMMIT")
            .map_err(|e| query_error(&self.cfg, "ending a read of the replication slot", e))?;
        let row = self
            .client
            .query_one(
                "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
                &[&self.read_slot],
            )
            .map_err(|e| query_error(&self.cfg, "reading the read slot's position", e))?;
        let at: Option<String> = row.get(0);
        let caught_up = round_rows < self.cfg.chunk;
        let end = Chunk::RoundEnd {
            read_upto: at.as_deref().and_then(db::parse_lsn).unwrap_or(0),
            caught_up,
            flushed_before,
        };
        if self.out.send(end).is_err() {
            return Ok(false);
        }
        if caught_up {
            let wait = if self.once {
                self.cfg
                    .poll_interval
                    .min(std::time::Duration::from_millis(50))
            } else {
                self.cfg.poll_interval
            };
            let deadline = std::time::Instant::now() + wait;
            while std::time::Instant::now() < deadline
                && !self.stop.load(std::sync::atomic::Ordering::SeqCst)
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
        Ok(true)
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
        // Another kconnect reading through this slot shows as an active read slot.
        let busy = client
            .query_opt(
                "SELECT active_pid FROM pg_replication_slots WHERE slot_name LIKE $1 || '\\_kc%' AND active_pid IS NOT NULL AND active_pid <> pg_backend_pid() LIMIT 1",
                &[&cfg.slot],
            )
            .map_err(|e| query_error(&cfg, "reading pg_replication_slots", e))?;
        if let Some(r) = busy {
            return Err(PgError::SlotInUse {
                slot: cfg.slot.clone(),
                pid: r.get(0),
            });
        }
        let pid: i32 = client
            .query_one("SELECT pg_backend_pid()", &[])
            .map_err(|e| query_error(&cfg, "reading pg_backend_pid()", e))?
            .get(0);
        let read_slot = format!("{}_kc{pid}", cfg.slot);
        let row = client
            .query_one(
                "SELECT lsn::text FROM pg_copy_logical_replication_slot($1, $2, true)",
                &[&cfg.slot, &read_slot],
            )
            .map_err(|e| {
                query_error(
                    &cfg,
                    &format!("copying replication slot {} to read from it", cfg.slot),
                    e,
                )
            })?;
        let start: String = row.get(0);
        tracing::info!(slot = %cfg.slot, from = %start, "streaming changes");
        let catalog_client = db::connect(&cfg)?;
        let (tx, rx) = crossbeam_channel::bounded(READ_AHEAD);
        let reader_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = Reader {
            cfg: cfg.clone(),
            client,
            read_slot,
            upto,
            once: upto.is_some(),
            stop: reader_stop.clone(),
            out: tx,
        };
        std::thread::Builder::new()
            .name("pg-reader".into())
            .spawn(move || reader.run())
            .map_err(|e| PgError::Protocol(format!("cannot start the reader thread: {e}")))?;
        Ok(Stream {
            cfg,
            partition,
            upto,
            client: catalog_client,
            catalog,
            chunks: rx,
            reader_stop,
            relations: HashMap::new(),
            filter,
            resume_proc,
            txn: None,
            buf: Vec::new(),
            last_proc: resume_proc,
            unfinished: false,
            last_handed_proc: 0,
            read_upto: 0,
        })
    }

    pub fn poll(&mut self, once: bool, stop: &StopFlag) -> Result<Polled, ConnectError> {
        let mut out: Vec<SourceRecord> = Vec::new();
        loop {
            let chunk = match self.chunks.recv_timeout(
                self.cfg
                    .poll_interval
                    .max(std::time::Duration::from_millis(10)),
            ) {
                Ok(c) => c,
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    return Ok(if out.is_empty() {
                        Polled::Idle
                    } else {
                        Polled::Records(out)
                    });
                }
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                    return Err(ConnectError::Retriable(
                        "the replication slot reader stopped; reconnecting".into(),
                    ));
                }
            };
            match chunk {
                Chunk::Rows(rows) => {
                    for (lsn, data) in &rows {
                        self.handle(*lsn, data, &mut out)?;
                    }
                }
                Chunk::RoundEnd {
                    read_upto,
                    caught_up,
                    flushed_before,
                } => {
                    self.read_upto = self.read_upto.max(read_upto);
                    if caught_up {
                        if !out.is_empty() {
                            return Ok(Polled::Records(out));
                        }
                        let reached = self.upto.is_some_and(|u| flushed_before >= flushable(u));
                        if once && reached {
                            return Ok(Polled::Finished);
                        }
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

    /// Where the durable slot may be confirmed when everything handed out is durable.
    pub fn safe_to_confirm(&self, committed_proc: u64) -> Option<u64> {
        let quiet = !self.unfinished
            && self.buf.is_empty()
            && self.txn.is_none()
            && committed_proc >= self.last_handed_proc;
        (quiet && self.read_upto > 0).then_some(self.read_upto)
    }

    /// The offset a heartbeat record carries: as far as is fully read and handed out.
    pub fn heartbeat_offset(&self) -> SourceOffset {
        let proc = if !self.unfinished && self.buf.is_empty() {
            self.last_proc.max(self.read_upto)
        } else {
            self.last_proc
        };
        let mut o = SourceOffset::with_capacity(3);
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
        let msg = pgoutput::decode(data).map_err(|e| ConnectError::Fatal(e.to_string()))?;
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
                        let key = t.key(&new, &self.cfg).map_err(ConnectError::Fatal)?;
                        let after = t.row(&new, &self.cfg).map_err(ConnectError::Fatal)?;
                        self.emit(&t, lsn, key, Some((Value::Null, after, "c")));
                    }
                }
            }
            Message::Update { rel, old, new } => {
                if let Some(t) = self.table(rel)? {
                    let new_key = t.key(&new, &self.cfg).map_err(ConnectError::Fatal)?;
                    let old_key = match &old {
                        Some((_, o)) if t.key_schema.is_some() => {
                            t.key(o, &self.cfg).map_err(ConnectError::Fatal)?
                        }
                        _ => None,
                    };
                    let after = t.row(&new, &self.cfg).map_err(ConnectError::Fatal)?;
                    if old_key.is_some() && old_key != new_key {
                        // A primary-key change: delete (and tombstone) the old key, create the new.
                        let before = t
                            .row(&old.as_ref().expect("old tuple").1, &self.cfg)
                            .map_err(ConnectError::Fatal)?;
                        self.emit(&t, lsn, old_key.clone(), Some((before, Value::Null, "d")));
                        if self.cfg.tombstones {
                            self.emit(&t, lsn, old_key, None);
                        }
                        self.emit(&t, lsn, new_key, Some((Value::Null, after, "c")));
                    } else if !self.cfg.skip_update {
                        let before = match &old {
                            Some((_, o)) => t.row(o, &self.cfg).map_err(ConnectError::Fatal)?,
                            None => Value::Null,
                        };
                        self.emit(&t, lsn, new_key, Some((before, after, "u")));
                    }
                }
            }
            Message::Delete { rel, old } => {
                if let Some(t) = self.table(rel)? {
                    if !self.cfg.skip_delete {
                        let key = t.key(&old.1, &self.cfg).map_err(ConnectError::Fatal)?;
                        let before = t.row(&old.1, &self.cfg).map_err(ConnectError::Fatal)?;
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
            None => Err(ConnectError::Fatal(format!(
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
        let mut offset = SourceOffset::with_capacity(5);
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
