//! The initial snapshot: every captured table read inside one REPEATABLE READ transaction,
//! in name order, each row an `op: r` event with Debezium's snapshot markers. The
//! transaction's `pg_current_snapshot()` becomes the stream's filter, which is what makes the
//! hand-over exact.
//!
//! Rows are read by a reader thread with its own session that imports the transaction's
//! snapshot (`pg_export_snapshot`) and COPYs each table out: the server sends rows while the
//! task turns earlier ones into records, with no round trip per `snapshot.fetch.size` rows.
//! Rows cross over in batches of at most `snapshot.fetch.size` rows (and 1 MB), a few batches
//! at a time, so memory stays bounded whatever the table's size.

use std::io::BufRead;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use postgres::Client;

use super::db::{self, query_error, Catalog, PgError, TableId};
use super::events::{self, SourceInfo, TableRef};
use super::pgoutput::TupleValue;
use super::stream::Stream;
use super::PgConfig;
use crate::api::{ConnectError, ProgressHandle, ProgressLine};
use crate::data::{SourceOffset, SourcePartition, SourceRecord, Value};

/// Which transactions a snapshot saw: those that precede `xmin`, and those that precede
/// `xmax` and are not in `xip`. Transaction ids are compared modulo 2^32 as PostgreSQL does.
#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotFilter {
    pub xmin: u32,
    pub xmax: u32,
    pub xip: Vec<u32>,
    /// WAL position when the snapshot was taken: transactions committed later are not in it.
    pub lsn: u64,
}

fn precedes(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

impl SnapshotFilter {
    /// Parses `pg_current_snapshot()`'s text ("xmin:xmax:xip,xip"), 64-bit ids included.
    pub fn parse(text: &str, lsn: u64) -> Option<SnapshotFilter> {
        let mut it = text.split(':');
        let low = |s: &str| s.trim().parse::<u64>().ok().map(|v| v as u32);
        let xmin = low(it.next()?)?;
        let xmax = low(it.next()?)?;
        let xip = match it.next() {
            Some(s) if !s.is_empty() => s.split(',').map(low).collect::<Option<Vec<_>>>()?,
            _ => Vec::new(),
        };
        Some(SnapshotFilter {
            xmin,
            xmax,
            xip,
            lsn,
        })
    }

    /// Whether the snapshot already contains this transaction's effects.
    pub fn saw(&self, xid: u32) -> bool {
        if precedes(xid, self.xmin) {
            return true;
        }
        precedes(xid, self.xmax) && !self.xip.contains(&xid)
    }
}

/// Rows of one table as COPY's text format sent them, each ending in a newline.
struct RowBatch {
    table: usize,
    data: Vec<u8>,
    /// Where each row ends in `data`.
    ends: Vec<u32>,
}

enum Chunk {
    Rows(RowBatch),
    TableDone {
        table: usize,
        rows: u64,
    },
    /// Every table read.
    Finished,
    Failed(PgError),
}

/// Most bytes of rows in one batch.
const BATCH_BYTES: usize = 1 << 20;
/// Batches between the reader and the task.
const READ_AHEAD: usize = 2;

/// The row read before the one being handled: its event's markers depend on what follows.
struct Pending {
    table: usize,
    first_in_table: bool,
    raw: Vec<u8>,
}

pub struct Snapshot {
    cfg: Arc<PgConfig>,
    partition: SourcePartition,
    upto: Option<u64>,
    resume: u64,
    client: Client,
    catalog: Catalog,
    tables: Vec<(TableId, TableRef)>,
    reader: ReaderHandle,
    /// Rows handed out from the table being read.
    rows_in_table: u64,
    table_now: Option<usize>,
    /// A batch being turned into records, and how far.
    batch: Option<(RowBatch, usize)>,
    pending: Option<Pending>,
    /// A spare row buffer, swapped with `pending`'s.
    spare: Vec<u8>,
    /// Unescaped column values of the row being handled, and where each column is.
    scratch: String,
    fields: Vec<Field>,
    /// The `source.sequence` of every snapshot event: `[null,"<snapshot lsn>"]`.
    sequence: compact_str::CompactString,
    emitted_any: bool,
    done: bool,
    filter: SnapshotFilter,
    /// Whether the stream may skip what the snapshot saw (see `PostgresSourceTask::start`).
    exact: bool,
    tx_id: i64,
    ts_us: i64,
    /// The offset of every row but the last: the same for all of them.
    row_offset: SourceOffset,
    started: std::time::Instant,
    total: u64,
    /// Where the tables' progress lines go; shown on a terminal only.
    progress: ProgressHandle,
    /// The current table's progress line.
    bar: Option<Box<dyn ProgressLine>>,
}

/// Debezium's offset of a snapshot row (`last_snapshot_record` false until the last row).
fn snapshot_offset(lsn: u64, tx_id: i64, ts_us: i64) -> SourceOffset {
    let mut offset = SourceOffset::new();
    offset.insert("last_snapshot_record", false);
    offset.insert("lsn", lsn);
    offset.insert("txId", tx_id);
    offset.insert("ts_usec", ts_us);
    offset.insert("snapshot", true);
    offset
}

/// The task's end of the reader thread. Dropping it stops the thread at its next hand-over;
/// it is not waited for (a COPY can sit behind a lock), its session ends with it.
struct ReaderHandle {
    chunks: crossbeam_channel::Receiver<Chunk>,
    /// Batches handed back to be filled again: their memory is reused, not freed on this
    /// thread and faulted in again on the reader's.
    spent: crossbeam_channel::Sender<RowBatch>,
    stop: Arc<AtomicBool>,
}

impl Drop for ReaderHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Reads every table with COPY in the exported snapshot and hands the rows over.
struct Reader {
    cfg: Arc<PgConfig>,
    snapshot_id: String,
    /// Schema, table and column list of each table, in snapshot order.
    tables: Vec<(String, String, String)>,
    stop: Arc<AtomicBool>,
    out: crossbeam_channel::Sender<Chunk>,
    recycled: crossbeam_channel::Receiver<RowBatch>,
}

impl Reader {
    fn run(self) {
        if let Err(e) = self.read_all() {
            let _ = self.out.send(Chunk::Failed(e));
        }
    }

    fn read_all(&self) -> Result<(), PgError> {
        let mut client = db::connect(&self.cfg)?;
        client
            .batch_execute(&format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT {}",
                db::literal(&self.snapshot_id)
            ))
            .map_err(|e| query_error(&self.cfg, "joining the snapshot transaction", e))?;
        for (i, (schema, name, cols)) in self.tables.iter().enumerate() {
            let sql = format!(
                "COPY (SELECT {cols} FROM {}.{}) TO STDOUT",
                db::ident(schema),
                db::ident(name)
            );
            let what = || format!("snapshotting {schema}.{name}");
            let mut copy = client
                .copy_out(&sql)
                .map_err(|e| query_error(&self.cfg, &what(), e))?;
            let mut batch = self.batch(i);
            let mut rows = 0u64;
            loop {
                let buf = copy.fill_buf().map_err(|e| self.copy_error(&what(), e))?;
                if buf.is_empty() {
                    break;
                }
                // A row ends at each newline (newlines inside values are escaped); the server
                // sends a row per message, but nothing here relies on that.
                let n = buf.len();
                let base = batch.data.len();
                batch.data.extend_from_slice(buf);
                copy.consume(n);
                for p in memchr::memchr_iter(b'\n', &batch.data[base..]) {
                    batch.ends.push((base + p + 1) as u32);
                    rows += 1;
                }
                let whole = batch
                    .ends
                    .last()
                    .is_some_and(|&e| e as usize == batch.data.len());
                if whole
                    && (batch.ends.len() >= self.cfg.fetch_size || batch.data.len() >= BATCH_BYTES)
                {
                    let full = std::mem::replace(&mut batch, self.batch(i));
                    if !self.send(Chunk::Rows(full)) {
                        return Ok(());
                    }
                }
            }
            drop(copy);
            if !batch.ends.is_empty() && !self.send(Chunk::Rows(batch)) {
                return Ok(());
            }
            if !self.send(Chunk::TableDone { table: i, rows }) {
                return Ok(());
            }
        }
        let _ = client.batch_execute("COMMIT");
        self.send(Chunk::Finished);
        Ok(())
    }

    fn batch(&self, table: usize) -> RowBatch {
        if let Ok(mut b) = self.recycled.try_recv() {
            b.table = table;
            b.data.clear();
            b.ends.clear();
            return b;
        }
        RowBatch {
            table,
            data: Vec::with_capacity(BATCH_BYTES + 64 * 1024),
            ends: Vec::with_capacity(self.cfg.fetch_size.min(16 * 1024)),
        }
    }

    fn copy_error(&self, what: &str, e: std::io::Error) -> PgError {
        match e
            .into_inner()
            .map(|inner| inner.downcast::<postgres::Error>())
        {
            Some(Ok(pe)) => query_error(&self.cfg, what, *pe),
            Some(Err(other)) => PgError::Protocol(format!("{what}: {other}")),
            None => PgError::Protocol(format!("{what}: the COPY stream broke")),
        }
    }

    /// False when the task no longer listens.
    fn send(&self, chunk: Chunk) -> bool {
        let mut chunk = chunk;
        loop {
            if self.stop.load(Ordering::SeqCst) {
                return false;
            }
            match self
                .out
                .send_timeout(chunk, std::time::Duration::from_millis(100))
            {
                Ok(()) => return true,
                Err(crossbeam_channel::SendTimeoutError::Timeout(c)) => chunk = c,
                Err(crossbeam_channel::SendTimeoutError::Disconnected(_)) => return false,
            }
        }
    }
}

/// One column of a COPY text row: `\N` is NULL; backslash escapes are undone into
/// `scratch`, whose range is returned.
enum Field {
    Null,
    Raw(std::ops::Range<usize>),
    Unescaped(std::ops::Range<usize>),
}

/// Splits a COPY text row (without its newline) into fields, unescaping into `scratch`.
fn split_copy_row(row: &[u8], scratch: &mut String, out: &mut Vec<Field>) {
    out.clear();
    scratch.clear();
    let mut start = 0;
    loop {
        let end = row[start..]
            .iter()
            .position(|&b| b == b'\t')
            .map_or(row.len(), |p| start + p);
        let f = &row[start..end];
        if f == b"\\N" {
            out.push(Field::Null);
        } else if !f.contains(&b'\\') {
            out.push(Field::Raw(start..end));
        } else {
            let from = scratch.len();
            let mut bytes = Vec::with_capacity(f.len());
            let mut it = f.iter().copied().peekable();
            while let Some(b) = it.next() {
                if b != b'\\' {
                    bytes.push(b);
                    continue;
                }
                match it.next() {
                    Some(b'b') => bytes.push(8),
                    Some(b'f') => bytes.push(12),
                    Some(b'n') => bytes.push(b'\n'),
                    Some(b'r') => bytes.push(b'\r'),
                    Some(b't') => bytes.push(b'\t'),
                    Some(b'v') => bytes.push(11),
                    Some(d @ b'0'..=b'7') => {
                        let mut v = (d - b'0') as u32;
                        for _ in 0..2 {
                            match it.peek() {
                                Some(&o @ b'0'..=b'7') => {
                                    v = v * 8 + (o - b'0') as u32;
                                    it.next();
                                }
                                _ => break,
                            }
                        }
                        bytes.push(v as u8);
                    }
                    Some(b'x') => {
                        let mut v = 0u32;
                        let mut digits = 0;
                        while digits < 2 {
                            match it.peek().and_then(|c| (*c as char).to_digit(16)) {
                                Some(h) => {
                                    v = v * 16 + h;
                                    it.next();
                                    digits += 1;
                                }
                                None => break,
                            }
                        }
                        if digits == 0 {
                            bytes.push(b'x');
                        } else {
                            bytes.push(v as u8);
                        }
                    }
                    Some(other) => bytes.push(other),
                    None => bytes.push(b'\\'),
                }
            }
            scratch.push_str(&String::from_utf8_lossy(&bytes));
            out.push(Field::Unescaped(from..scratch.len()));
        }
        if end >= row.len() {
            break;
        }
        start = end + 1;
    }
}

impl Snapshot {
    pub fn begin(
        cfg: Arc<PgConfig>,
        partition: SourcePartition,
        upto: Option<u64>,
        resume: u64,
        exact: bool,
        progress: ProgressHandle,
    ) -> Result<Snapshot, PgError> {
        let mut client = db::connect(&cfg)?;
        client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            .map_err(|e| query_error(&cfg, "starting the snapshot transaction", e))?;
        let row = client
            .query_one(
                "SELECT pg_current_snapshot()::text, pg_current_wal_insert_lsn()::text, txid_current(), pg_export_snapshot()",
                &[],
            )
            .map_err(|e| query_error(&cfg, "taking the snapshot", e))?;
        let lsn = db::parse_lsn(&row.get::<_, String>(1)).unwrap_or(0);
        let snap: String = row.get(0);
        let filter = SnapshotFilter::parse(&snap, lsn)
            .ok_or_else(|| PgError::Protocol(format!("unexpected pg_current_snapshot() {snap}")))?;
        let tx_id: i64 = row.get(2);
        let snapshot_id: String = row.get(3);
        let mut catalog = Catalog::default();
        let mut tables = Vec::new();
        for t in db::captured_tables(&mut client, &cfg)? {
            let schema = Arc::new(catalog.table_from_catalog(&mut client, &cfg, &t)?);
            tables.push((t, schema));
        }
        tracing::info!(tables = tables.len(), lsn = %db::format_lsn(lsn), "snapshot started");
        let (tx, rx) = crossbeam_channel::bounded(READ_AHEAD);
        let (spent, recycled) = crossbeam_channel::bounded(READ_AHEAD);
        let stop = Arc::new(AtomicBool::new(false));
        let reader = Reader {
            cfg: cfg.clone(),
            snapshot_id,
            tables: tables
                .iter()
                .map(|(t, schema)| {
                    let cols: Vec<String> =
                        schema.columns.iter().map(|c| db::ident(&c.name)).collect();
                    let cols = if cols.is_empty() {
                        "NULL".to_string()
                    } else {
                        cols.join(", ")
                    };
                    (t.schema.clone(), t.name.clone(), cols)
                })
                .collect(),
            stop: stop.clone(),
            out: tx,
            recycled,
        };
        std::thread::Builder::new()
            .name("pg-snapshot".into())
            .spawn(move || reader.run())
            .map_err(|e| PgError::Protocol(format!("cannot start the snapshot reader: {e}")))?;
        let ts_us = events::now_ns() / 1000;
        let row_offset = snapshot_offset(filter.lsn, tx_id, ts_us);
        Ok(Snapshot {
            cfg,
            partition,
            upto,
            resume,
            client,
            catalog,
            tables,
            reader: ReaderHandle {
                chunks: rx,
                spent,
                stop,
            },
            rows_in_table: 0,
            table_now: None,
            batch: None,
            pending: None,
            spare: Vec::new(),
            scratch: String::new(),
            fields: Vec::new(),
            sequence: compact_str::format_compact!("[null,\"{lsn}\"]"),
            emitted_any: false,
            done: false,
            filter,
            exact,
            tx_id,
            ts_us,
            row_offset,
            started: std::time::Instant::now(),
            total: 0,
            progress,
            bar: None,
        })
    }

    /// Makes `table` the one being read: its progress line and log.
    fn enter_table(&mut self, table: usize) {
        if self.table_now == Some(table) {
            return;
        }
        self.table_now = Some(table);
        self.rows_in_table = 0;
        if self.progress.is_shown() {
            let (t, _) = &self.tables[table];
            let estimate: i64 = self
                .client
                .query_one(
                    "SELECT reltuples::int8 FROM pg_class WHERE oid = $1",
                    &[&t.oid],
                )
                .map(|r| r.get(0))
                .unwrap_or(-1);
            let label = format!("snapshot {}.{}", t.schema, t.name);
            let estimate = u64::try_from(estimate).ok().filter(|&n| n > 0);
            self.bar = Some(self.progress.line(&label, "rows", estimate));
        }
    }

    fn table_done(&mut self, table: usize, rows: u64) {
        self.enter_table(table);
        if let Some(bar) = self.bar.take() {
            bar.finish();
        }
        let (t, _) = &self.tables[table];
        tracing::info!(table = %format!("{}.{}", t.schema, t.name), rows, "snapshot of table done");
    }

    /// The event of the pending row, now that what follows it is known: the next row's table,
    /// or `None` when it was the snapshot's last row.
    fn record(&mut self, p: &Pending, next: Option<usize>) -> Result<SourceRecord, ConnectError> {
        let last = next.is_none();
        let last_in_table = next != Some(p.table);
        let marker = if !self.emitted_any {
            "first"
        } else if last {
            "last"
        } else if p.first_in_table {
            "first_in_data_collection"
        } else if last_in_table {
            "last_in_data_collection"
        } else {
            "true"
        };
        self.emitted_any = true;
        let t = &self.tables[p.table].1;
        let raw = &p.raw[..p.raw.len().saturating_sub(1)];
        split_copy_row(raw, &mut self.scratch, &mut self.fields);
        let scratch = &self.scratch;
        let tuple: Vec<TupleValue<'_>> = self
            .fields
            .iter()
            .map(|f| match f {
                Field::Null => Ok(TupleValue::Null),
                Field::Raw(r) => std::str::from_utf8(&raw[r.clone()])
                    .map(TupleValue::Text)
                    .map_err(|_| "a value that is not UTF-8".to_string()),
                Field::Unescaped(r) => Ok(TupleValue::Text(&scratch[r.clone()])),
            })
            .collect::<Result<_, String>>()
            .map_err(ConnectError::fatal)?;
        let after = t.row(&tuple, &self.cfg).map_err(ConnectError::fatal)?;
        let key = t.key(&tuple, &self.cfg).map_err(ConnectError::fatal)?;
        let source = events::source_value(
            &self.cfg,
            t,
            SourceInfo {
                ts_us: self.ts_us,
                snapshot: marker,
                sequence: self.sequence.clone(),
                tx_id: Some(self.tx_id),
                lsn: Some(self.filter.lsn as i64),
                db: &self.cfg.dbname,
            },
        );
        let value = events::envelope(t, Value::Null, after, source, "r");
        let mut offset = self.row_offset.clone();
        if last {
            offset.insert("last_snapshot_record", true);
        }
        Ok(SourceRecord {
            partition: self.partition.clone(),
            offset,
            record: events::record(t, key, Some(value)),
        })
    }

    /// Takes a row as the new pending one, emitting the one it follows.
    fn push_row(
        &mut self,
        table: usize,
        row: &[u8],
        out: &mut Vec<SourceRecord>,
    ) -> Result<(), ConnectError> {
        let first_in_table = self.rows_in_table == 0;
        self.rows_in_table += 1;
        let mut raw = std::mem::take(&mut self.spare);
        raw.clear();
        raw.extend_from_slice(row);
        let next = Pending {
            table,
            first_in_table,
            raw,
        };
        if let Some(p) = self.pending.replace(next) {
            out.push(self.record(&p, Some(table))?);
            self.spare = p.raw;
        }
        Ok(())
    }

    /// The next records, `Some(empty)` never; `None` once every table is read.
    pub fn poll(&mut self) -> Result<Option<Vec<SourceRecord>>, ConnectError> {
        if self.done {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(self.cfg.max_batch);
        while out.len() < self.cfg.max_batch {
            if let Some((batch, at)) = self.batch.take() {
                if at < batch.ends.len() {
                    let from = if at == 0 {
                        0
                    } else {
                        batch.ends[at - 1] as usize
                    };
                    let to = batch.ends[at] as usize;
                    self.push_row(batch.table, &batch.data[from..to], &mut out)?;
                    self.batch = Some((batch, at + 1));
                    continue;
                }
                let _ = self.reader.spent.try_send(batch);
            }
            match self.reader.chunks.recv() {
                Ok(Chunk::Rows(b)) => {
                    self.enter_table(b.table);
                    if let Some(bar) = &self.bar {
                        bar.set_position(self.rows_in_table + b.ends.len() as u64);
                    }
                    self.batch = Some((b, 0));
                }
                Ok(Chunk::TableDone { table, rows }) => self.table_done(table, rows),
                Ok(Chunk::Failed(e)) => return Err(e.into()),
                Err(_) => {
                    return Err(ConnectError::retriable(
                        "the snapshot reader stopped unexpectedly; starting over",
                    ))
                }
                Ok(Chunk::Finished) => {
                    // Every table read: the pending row was the snapshot's last.
                    if let Some(p) = self.pending.take() {
                        out.push(self.record(&p, None)?);
                    }
                    self.done = true;
                    let secs = self.started.elapsed().as_secs_f64().max(1e-3);
                    self.total += out.len() as u64;
                    tracing::info!(
                        rows = self.total,
                        rows_per_s = (self.total as f64 / secs) as u64,
                        "snapshot completed"
                    );
                    break;
                }
            }
        }
        if !self.done {
            self.total += out.len() as u64;
        }
        if out.is_empty() && self.done {
            return Ok(None);
        }
        Ok(Some(out))
    }

    /// Ends the snapshot transaction and streams from the slot, skipping what it saw.
    pub fn into_stream(mut self) -> Result<Stream, ConnectError> {
        self.client
            .batch_execute("COMMIT")
            .map_err(|e| query_error(&self.cfg, "ending the snapshot transaction", e))?;
        Ok(Stream::open(
            self.cfg,
            self.partition,
            self.upto,
            self.resume,
            self.exact.then_some(self.filter),
            self.catalog,
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(row: &[u8]) -> Vec<Option<String>> {
        let mut scratch = String::new();
        let mut out = Vec::new();
        split_copy_row(row, &mut scratch, &mut out);
        out.iter()
            .map(|f| match f {
                Field::Null => None,
                Field::Raw(r) => Some(String::from_utf8(row[r.clone()].to_vec()).unwrap()),
                Field::Unescaped(r) => Some(scratch[r.clone()].to_string()),
            })
            .collect()
    }

    #[test]
    fn copy_rows_split_and_unescape() {
        assert_eq!(
            fields(b"1\tplain\t\\N\t"),
            [
                Some("1".into()),
                Some("plain".into()),
                None,
                Some("".into())
            ]
        );
        // bytea's hex output, a tab and a newline inside text, octal and hex escapes.
        assert_eq!(
            fields(b"\\\\x0aff\ta\\tb\\nc\t\\101\\x42\t\\\\N"),
            [
                Some("\\x0aff".into()),
                Some("a\tb\nc".into()),
                Some("AB".into()),
                Some("\\N".into())
            ]
        );
        assert_eq!(fields(b""), [Some("".into())]);
    }

    #[test]
    fn snapshot_filter_knows_what_it_saw() {
        let f = SnapshotFilter::parse("100:105:101,103", 0).unwrap();
        assert!(f.saw(99) && f.saw(100) && f.saw(102) && f.saw(104));
        assert!(!f.saw(101) && !f.saw(103) && !f.saw(105) && !f.saw(200));
        // 64-bit ids from a cluster past its first wraparound epoch.
        let f = SnapshotFilter::parse("4294967396:4294967400:", 0).unwrap();
        assert!(f.saw(99) && !f.saw(104));
    }
}
