//! The reader thread: its own session in the exported snapshot, COPYing each table out and
//! handing the rows over in bounded batches, whose buffers come back to be reused.

use std::io::BufRead;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::chunks::BatchPlace;
use crate::connectors::postgres::db::{self, query_error, PgError};
use crate::connectors::postgres::PgConfig;

/// Rows of one table as COPY's text format sent them, each ending in a newline.
pub(super) struct RowBatch {
    pub(super) table: usize,
    pub(super) data: Vec<u8>,
    /// Where each row ends in `data`.
    pub(super) ends: Vec<u32>,
    /// In a chunked snapshot, where the rows sit in their chunk (their markers).
    pub(super) place: Option<BatchPlace>,
}

impl RowBatch {
    pub(super) fn new(table: usize, fetch_size: usize) -> RowBatch {
        RowBatch {
            table,
            data: Vec::with_capacity(BATCH_BYTES + 64 * 1024),
            ends: Vec::with_capacity(fetch_size.min(16 * 1024)),
            place: None,
        }
    }

    /// A batch handed back by the task (its memory reused), or a new one.
    pub(super) fn reuse_or_new(
        recycled: &crossbeam_channel::Receiver<RowBatch>,
        table: usize,
        fetch_size: usize,
    ) -> RowBatch {
        if let Ok(mut b) = recycled.try_recv() {
            b.table = table;
            b.data.clear();
            b.ends.clear();
            b.place = None;
            return b;
        }
        RowBatch::new(table, fetch_size)
    }

    /// Appends what COPY sent and marks each row end (a row ends at each newline; newlines
    /// inside values are escaped, and nothing relies on the server sending a row per
    /// message). Returns the rows completed, and whether the batch is full and ends on a
    /// row boundary, so it can be handed out.
    pub(super) fn take_copied(&mut self, buf: &[u8], fetch_size: usize) -> (u64, bool) {
        let base = self.data.len();
        self.data.extend_from_slice(buf);
        let before = self.ends.len();
        for p in memchr::memchr_iter(b'\n', &self.data[base..]) {
            self.ends.push((base + p + 1) as u32);
        }
        let whole = self
            .ends
            .last()
            .is_some_and(|&e| e as usize == self.data.len());
        let full = self.ends.len() >= fetch_size || self.data.len() >= BATCH_BYTES;
        ((self.ends.len() - before) as u64, whole && full)
    }
}

pub(super) enum Chunk {
    Rows(RowBatch),
    TableDone {
        table: usize,
        rows: u64,
    },
    /// Every table read.
    Finished,
    Failed(PgError),
}

/// What became of a chunk a reading thread handed over.
pub(super) enum Handed {
    Taken,
    /// The snapshot is stopping.
    Stopped,
    /// The task no longer listens.
    Gone,
}

/// Hands a chunk to the task, waiting while its queue is full, until `stop` is set.
pub(super) fn hand_over(
    out: &crossbeam_channel::Sender<Chunk>,
    stop: &AtomicBool,
    chunk: Chunk,
) -> Handed {
    let mut chunk = chunk;
    loop {
        if stop.load(Ordering::SeqCst) {
            return Handed::Stopped;
        }
        match out.send_timeout(chunk, std::time::Duration::from_millis(100)) {
            Ok(()) => return Handed::Taken,
            Err(crossbeam_channel::SendTimeoutError::Timeout(c)) => chunk = c,
            Err(crossbeam_channel::SendTimeoutError::Disconnected(_)) => return Handed::Gone,
        }
    }
}

/// Most bytes of rows in one batch.
pub(super) const BATCH_BYTES: usize = 1 << 20;
/// Batches between the reader and the task.
const READ_AHEAD: usize = 2;

/// The task's end of the reader thread. Dropping it stops the thread at its next hand-over;
/// it is not waited for (a COPY can sit behind a lock), its session ends with it.
pub(super) struct ReaderHandle {
    pub(super) chunks: crossbeam_channel::Receiver<Chunk>,
    /// Batches handed back to be filled again: their memory is reused, not freed on this
    /// thread and faulted in again on the reader's.
    pub(super) spent: crossbeam_channel::Sender<RowBatch>,
    stop: Arc<AtomicBool>,
}

impl ReaderHandle {
    pub(super) fn new(
        chunks: crossbeam_channel::Receiver<Chunk>,
        spent: crossbeam_channel::Sender<RowBatch>,
        stop: Arc<AtomicBool>,
    ) -> ReaderHandle {
        ReaderHandle {
            chunks,
            spent,
            stop,
        }
    }

    /// Starts the reader on `tables` (schema, name and SELECT of each, in snapshot
    /// order) in the exported snapshot `snapshot_id`, or with None in READ COMMITTED: each
    /// table as it is when its COPY starts.
    pub(super) fn spawn(
        cfg: Arc<PgConfig>,
        snapshot_id: Option<String>,
        tables: Vec<(String, String, String)>,
    ) -> Result<ReaderHandle, PgError> {
        let (tx, rx) = crossbeam_channel::bounded(READ_AHEAD);
        let (spent, recycled) = crossbeam_channel::bounded(READ_AHEAD);
        let stop = Arc::new(AtomicBool::new(false));
        let reader = Reader {
            cfg,
            snapshot_id,
            tables,
            stop: stop.clone(),
            out: tx,
            recycled,
        };
        std::thread::Builder::new()
            .name("pg-snapshot".into())
            .spawn(move || reader.run())
            .map_err(|e| PgError::Protocol(format!("cannot start the snapshot reader: {e}")))?;
        Ok(ReaderHandle {
            chunks: rx,
            spent,
            stop,
        })
    }
}

impl Drop for ReaderHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Reads every table with COPY in the exported snapshot and hands the rows over.
struct Reader {
    cfg: Arc<PgConfig>,
    snapshot_id: Option<String>,
    /// Schema, table and the SELECT whose rows are its snapshot, in snapshot order.
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
        let mut client = join_snapshot(&self.cfg, self.snapshot_id.as_deref())?;
        for (i, (schema, name, select)) in self.tables.iter().enumerate() {
            let sql = format!("COPY ({select}) TO STDOUT");
            let what = || format!("snapshotting {schema}.{name}");
            let mut copy = client
                .copy_out(&sql)
                .map_err(|e| query_error(&self.cfg, &what(), e))?;
            let mut batch = self.batch(i);
            let mut rows = 0u64;
            loop {
                let buf = copy
                    .fill_buf()
                    .map_err(|e| copy_error(&self.cfg, &what(), e))?;
                if buf.is_empty() {
                    break;
                }
                let n = buf.len();
                let (added, ready) = batch.take_copied(buf, self.cfg.fetch_size);
                copy.consume(n);
                rows += added;
                if ready {
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
        RowBatch::reuse_or_new(&self.recycled, table, self.cfg.fetch_size)
    }

    /// False when the snapshot stops or the task no longer listens.
    fn send(&self, chunk: Chunk) -> bool {
        matches!(hand_over(&self.out, &self.stop, chunk), Handed::Taken)
    }
}

/// A session in the exported snapshot `snapshot_id` (or, with None, in READ COMMITTED: each
/// query sees what is committed when it starts).
pub(super) fn join_snapshot(
    cfg: &PgConfig,
    snapshot_id: Option<&str>,
) -> Result<postgres::Client, PgError> {
    let mut client = db::connect(cfg)?;
    // A table read is one COPY, however long it takes (database.query.timeout.ms bounds
    // Debezium's snapshot cursor only until its first rows).
    let begin = match snapshot_id {
        Some(id) => format!(
            "SET statement_timeout = 0; BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT {}",
            db::literal(id)
        ),
        None => "SET statement_timeout = 0; BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY".into(),
    };
    client
        .batch_execute(&begin)
        .map_err(|e| query_error(cfg, "joining the snapshot transaction", e))?;
    Ok(client)
}

pub(super) fn copy_error(cfg: &PgConfig, what: &str, e: std::io::Error) -> PgError {
    match e
        .into_inner()
        .map(|inner| inner.downcast::<postgres::Error>())
    {
        Some(Ok(pe)) => query_error(cfg, what, *pe),
        Some(Err(other)) => PgError::Protocol(format!("{what}: {other}")),
        None => PgError::Protocol(format!("{what}: the COPY stream broke")),
    }
}
