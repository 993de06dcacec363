//! The reader thread: its own session in the exported snapshot, COPYing each table out and
//! handing the rows over in bounded batches, whose buffers come back to be reused.

use std::io::BufRead;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::connectors::postgres::db::{self, query_error, PgError};
use crate::connectors::postgres::PgConfig;

/// Rows of one table as COPY's text format sent them, each ending in a newline.
pub(super) struct RowBatch {
    pub(super) table: usize,
    pub(super) data: Vec<u8>,
    /// Where each row ends in `data`.
    pub(super) ends: Vec<u32>,
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

/// Most bytes of rows in one batch.
const BATCH_BYTES: usize = 1 << 20;
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
    /// Starts the reader on `tables` (schema, name and SELECT of each, in snapshot
    /// order) in the exported snapshot `snapshot_id`.
    pub(super) fn spawn(
        cfg: Arc<PgConfig>,
        snapshot_id: String,
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
    snapshot_id: String,
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
        let mut client = db::connect(&self.cfg)?;
        // A table read is one COPY, however long it takes (database.query.timeout.ms bounds
        // Debezium's snapshot cursor only until its first rows).
        client
            .batch_execute(&format!(
                "SET statement_timeout = 0; BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT {}",
                db::literal(&self.snapshot_id)
            ))
            .map_err(|e| query_error(&self.cfg, "joining the snapshot transaction", e))?;
        for (i, (schema, name, select)) in self.tables.iter().enumerate() {
            let sql = format!("COPY ({select}) TO STDOUT");
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
