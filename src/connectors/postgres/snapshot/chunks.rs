//! A chunked snapshot (snapshot.max.threads or snapshot.max.threads.multiplier above 1), as
//! Debezium 3.6.3 reads one: every table counted, keyed tables split into key ranges, and the
//! chunks read by several sessions at once, each in the one exported snapshot.
//!
//! The readers hold back rows as Debezium's chunk threads do, so that what reaches the task is
//! an order Debezium could have produced: nothing before the snapshot's first row, nothing of a
//! table before its first row, a table's last row after its other chunks, the snapshot's last
//! row after every other table. Each batch says where its rows sit in their chunk, which is
//! all the task needs for the markers.

use std::io::BufRead;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use postgres::Client;

use super::reader::{copy_error, hand_over, join_snapshot, Chunk, Handed, ReaderHandle, RowBatch};
use crate::connectors::postgres::config::Chunked;
use crate::connectors::postgres::db::{self, query_error, PgError, TableId};
use crate::connectors::postgres::events::TableRef;
use crate::connectors::postgres::PgConfig;

/// Where a chunk sits among the snapshot's chunks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct ChunkPlace {
    pub(super) first_of_table: bool,
    pub(super) last_of_table: bool,
    pub(super) first_of_snapshot: bool,
    pub(super) last_of_snapshot: bool,
}

/// Where a batch's rows sit in their chunk.
#[derive(Clone, Copy, Debug)]
pub(super) struct BatchPlace {
    pub(super) chunk: ChunkPlace,
    /// The batch starts with the chunk's first row.
    pub(super) first: bool,
    /// The batch ends with the chunk's last row.
    pub(super) last: bool,
}

impl BatchPlace {
    /// Debezium's marker of row `i` of `n` in this batch.
    pub(super) fn marker(&self, i: usize, n: usize) -> &'static str {
        let first = self.first && i == 0;
        let last = self.last && i + 1 == n;
        let c = &self.chunk;
        if last && c.last_of_snapshot {
            "last"
        } else if first && c.first_of_snapshot {
            "first"
        } else if last && c.last_of_table {
            "last_in_data_collection"
        } else if first && c.first_of_table {
            "first_in_data_collection"
        } else {
            "true"
        }
    }
}

/// A chunk's key range: its lower bound (inclusive), and its upper bound with whether it is
/// inclusive (the last chunk's, the table's largest key).
type KeyRange = (Option<String>, Option<(String, bool)>);

pub(super) struct ChunkJob {
    pub(super) table: usize,
    pub(super) query: String,
    pub(super) place: ChunkPlace,
}

/// Debezium's chunk count: `threads x multiplier`, fewer when the table has fewer rows.
pub(super) fn chunk_count(rows: u64, threads: usize, multiplier: usize) -> usize {
    if rows == 0 {
        return 1;
    }
    let desired = (threads * multiplier) as u64;
    let per_chunk = (rows / desired).max(1);
    desired.min((rows / per_chunk).max(1)) as usize
}

fn quoted(t: &TableId) -> String {
    format!("{}.{}", db::ident(&t.schema), db::ident(&t.name))
}

/// A row constructor of key values read as text: each is an untyped literal, which
/// PostgreSQL reads as its key column's type.
fn key_literal(values: &[Option<String>]) -> String {
    let v: Vec<String> = values
        .iter()
        .map(|v| v.as_deref().map_or("NULL".into(), db::literal))
        .collect();
    format!("({})", v.join(", "))
}

fn key_row(
    client: &mut Client,
    cfg: &PgConfig,
    sql: &str,
    n: usize,
) -> Result<Option<Vec<Option<String>>>, PgError> {
    let rows = client
        .query(sql, &[])
        .map_err(|e| query_error(cfg, "finding the snapshot's chunk boundaries", e))?;
    Ok(rows
        .first()
        .map(|r| (0..n).map(|i| r.get::<_, Option<String>>(i)).collect()))
}

/// Orders `tables` (and their `selects`) as snapshot.tables.order.by.row.count says and cuts
/// them into chunks, in the order Debezium hands them to its threads. Runs in the snapshot
/// transaction, so counts and boundaries are those of the rows the chunks read.
pub(super) fn plan(
    client: &mut Client,
    cfg: &PgConfig,
    chunked: &Chunked,
    tables: &mut Vec<(TableId, TableRef)>,
    selects: &mut Vec<String>,
) -> Result<Vec<ChunkJob>, PgError> {
    let mut counted = Vec::with_capacity(tables.len());
    for ((t, schema), select) in tables.drain(..).zip(selects.drain(..)) {
        let rows: i64 = client
            .query_one(&format!("SELECT COUNT(1) FROM {}", quoted(&t)), &[])
            .map_err(|e| {
                query_error(
                    cfg,
                    &format!("counting the rows of {}.{}", t.schema, t.name),
                    e,
                )
            })?
            .get(0);
        counted.push((t, schema, select, rows.max(0) as u64));
    }
    if let Some(ascending) = chunked.ascending {
        // Stable: tables of equal counts stay in name order, as Java's sorted stream keeps them.
        counted.sort_by(|a, b| {
            let o = a.3.cmp(&b.3);
            if ascending {
                o
            } else {
                o.reverse()
            }
        });
    }
    let table_count = counted.len();
    let mut jobs = Vec::new();
    for (order, (t, schema, select, rows)) in counted.into_iter().enumerate() {
        let full = format!("{}.{}", t.schema, t.name);
        let keys: Vec<String> = schema
            .key_columns
            .iter()
            .map(|&i| db::ident(&schema.columns[i].name))
            .collect();
        let first_table = order == 0;
        let last_table = order + 1 == table_count;
        let mut ranges: Vec<KeyRange> = Vec::new();
        if keys.is_empty() || cfg.select_overrides.contains_key(&full) {
            tracing::info!(table = %full, "snapshot reads the table as one chunk (no key, or a select override)");
            ranges.push((None, None));
        } else {
            let n = chunk_count(rows, chunked.threads, chunked.multiplier);
            let cols = keys.join(", ");
            // Aliased, so that ORDER BY sorts by the key, not by its text.
            let text: Vec<String> = keys
                .iter()
                .enumerate()
                .map(|(i, k)| format!("{k}::text AS chunk_key_{i}"))
                .collect();
            let text = text.join(", ");
            let mut bounds = Vec::new();
            let size = if n > 1 { rows / n as u64 } else { 0 };
            if size > 0 {
                for i in 1..n {
                    let sql = format!(
                        "SELECT {text} FROM {} ORDER BY {cols} OFFSET {} ROWS FETCH NEXT 1 ROWS ONLY",
                        quoted(&t),
                        i as u64 * size
                    );
                    if let Some(b) = key_row(client, cfg, &sql, keys.len())? {
                        bounds.push(key_literal(&b));
                    }
                }
            }
            let desc: Vec<String> = keys.iter().map(|k| format!("{k} DESC")).collect();
            let max = key_row(
                client,
                cfg,
                &format!(
                    "SELECT {text} FROM {} ORDER BY {} LIMIT 1",
                    quoted(&t),
                    desc.join(", ")
                ),
                keys.len(),
            )?
            .map(|m| key_literal(&m));
            let chunks = bounds.len() + 1;
            for i in 0..chunks {
                let lower = (i > 0).then(|| bounds[i - 1].clone());
                let upper = if i + 1 == chunks {
                    max.clone().map(|m| (m, true))
                } else {
                    Some((bounds[i].clone(), false))
                };
                ranges.push((lower, upper));
            }
            tracing::info!(table = %full, rows, chunks, "snapshot chunks");
        }
        let cols = keys.join(", ");
        let n = ranges.len();
        for (i, (lower, upper)) in ranges.into_iter().enumerate() {
            let mut cond = Vec::new();
            if let Some(l) = lower {
                cond.push(format!("({cols}) >= {l}"));
            }
            if let Some((u, inclusive)) = upper {
                cond.push(format!(
                    "({cols}) {} {u}",
                    if inclusive { "<=" } else { "<" }
                ));
            }
            let query = if cond.is_empty() {
                select.clone()
            } else {
                format!(
                    "SELECT * FROM ({select}) AS c WHERE {} ORDER BY {cols}",
                    cond.join(" AND ")
                )
            };
            jobs.push(ChunkJob {
                table: order,
                query,
                place: ChunkPlace {
                    first_of_table: i == 0,
                    last_of_table: i + 1 == n,
                    first_of_snapshot: first_table && i == 0,
                    last_of_snapshot: last_table && i + 1 == n,
                },
            });
        }
        tables.push((t, schema));
        selects.push(select);
    }
    Ok(jobs)
}

/// What the chunk readers wait for, as Debezium's latches.
#[derive(Default)]
struct Progress {
    first_emitted: bool,
    table_first: Vec<bool>,
    /// Chunks of each table done, the last one aside.
    chunks_done: Vec<usize>,
    chunks_total: Vec<usize>,
    rows: Vec<u64>,
    /// Tables whose last chunk is done, the snapshot's last table aside.
    tables_done: usize,
}

struct Shared {
    cfg: Arc<PgConfig>,
    snapshot_id: Option<String>,
    tables: Vec<String>,
    jobs: Vec<ChunkJob>,
    next: AtomicUsize,
    live: AtomicUsize,
    progress: Mutex<Progress>,
    changed: Condvar,
    stop: Arc<AtomicBool>,
    out: crossbeam_channel::Sender<Chunk>,
    recycled: crossbeam_channel::Receiver<RowBatch>,
}

/// Starts `threads` chunk readers on `jobs`.
pub(super) fn spawn(
    cfg: Arc<PgConfig>,
    snapshot_id: Option<String>,
    tables: Vec<String>,
    jobs: Vec<ChunkJob>,
    threads: usize,
) -> Result<ReaderHandle, PgError> {
    let (tx, rx) = crossbeam_channel::bounded(2 * threads);
    let (spent, recycled) = crossbeam_channel::bounded(2 * threads);
    let stop = Arc::new(AtomicBool::new(false));
    let mut progress = Progress {
        table_first: vec![false; tables.len()],
        chunks_done: vec![0; tables.len()],
        chunks_total: vec![0; tables.len()],
        rows: vec![0; tables.len()],
        ..Progress::default()
    };
    for j in &jobs {
        progress.chunks_total[j.table] += 1;
    }
    let threads = threads.clamp(1, jobs.len().max(1));
    let shared = Arc::new(Shared {
        cfg,
        snapshot_id,
        tables,
        jobs,
        next: AtomicUsize::new(0),
        live: AtomicUsize::new(threads),
        progress: Mutex::new(progress),
        changed: Condvar::new(),
        stop: stop.clone(),
        out: tx,
        recycled,
    });
    for n in 0..threads {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name(format!("pg-snapshot-{n}"))
            .spawn(move || shared.run())
            .map_err(|e| PgError::Protocol(format!("cannot start a snapshot reader: {e}")))?;
    }
    Ok(ReaderHandle::new(rx, spent, stop))
}

impl Shared {
    fn run(&self) {
        let result = join_snapshot(&self.cfg, self.snapshot_id.as_deref())
            .and_then(|mut client| self.read_jobs(&mut client));
        match result {
            Err(e) => {
                self.stop_all();
                let _ = self.out.send(Chunk::Failed(e));
            }
            Ok(true) => {
                if self.live.fetch_sub(1, Ordering::SeqCst) == 1 {
                    self.send(Chunk::Finished);
                }
            }
            Ok(false) => {}
        }
    }

    /// Wakes every waiting reader to stop (the task stopped listening, or a chunk failed).
    fn stop_all(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.changed.notify_all();
    }

    /// False once the snapshot is stopping.
    fn read_jobs(&self, client: &mut Client) -> Result<bool, PgError> {
        loop {
            let i = self.next.fetch_add(1, Ordering::SeqCst);
            let Some(job) = self.jobs.get(i) else {
                let _ = client.batch_execute("COMMIT");
                return Ok(true);
            };
            if !self.read_chunk(client, job)? {
                return Ok(false);
            }
        }
    }

    /// Waits until `ready` holds; false when stopping.
    fn wait(&self, ready: impl Fn(&Progress) -> bool) -> bool {
        let mut p = self.progress.lock().unwrap_or_else(|e| e.into_inner());
        while !ready(&p) {
            if self.stop.load(Ordering::SeqCst) {
                return false;
            }
            p = self
                .changed
                .wait_timeout(p, Duration::from_millis(100))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        !self.stop.load(Ordering::SeqCst)
    }

    fn update(&self, f: impl FnOnce(&mut Progress)) {
        let mut p = self.progress.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut p);
        drop(p);
        self.changed.notify_all();
    }

    /// Waits for what must be emitted before the chunk's first row.
    fn before_first(&self, job: &ChunkJob) -> bool {
        let t = job.table;
        if job.place.first_of_table {
            job.place.first_of_snapshot || self.wait(|p| p.first_emitted)
        } else {
            self.wait(|p| p.table_first[t])
        }
    }

    fn after_first(&self, job: &ChunkJob) {
        if job.place.first_of_table {
            let t = job.table;
            let first = job.place.first_of_snapshot;
            self.update(|p| {
                p.table_first[t] = true;
                p.first_emitted |= first;
            });
        }
    }

    /// Waits for what must be emitted before the last row of a table's last chunk.
    fn before_last(&self, job: &ChunkJob) -> bool {
        if !job.place.last_of_table {
            return true;
        }
        let t = job.table;
        let tables = self.tables.len();
        // The table's first row is this chunk's own when it is the table's first chunk.
        let own_first = job.place.first_of_table;
        self.wait(|p| (own_first || p.table_first[t]) && p.chunks_done[t] + 1 >= p.chunks_total[t])
            && (!job.place.last_of_snapshot || self.wait(|p| p.tables_done + 1 >= tables))
    }

    fn after_last(&self, job: &ChunkJob, rows: u64) -> bool {
        let t = job.table;
        let last_of_table = job.place.last_of_table;
        let last_of_snapshot = job.place.last_of_snapshot;
        let mut total = 0;
        self.update(|p| {
            p.rows[t] += rows;
            total = p.rows[t];
            if !last_of_table {
                p.chunks_done[t] += 1;
            } else if !last_of_snapshot {
                p.tables_done += 1;
            }
        });
        !last_of_table
            || self.send(Chunk::TableDone {
                table: t,
                rows: total,
            })
    }

    fn read_chunk(&self, client: &mut Client, job: &ChunkJob) -> Result<bool, PgError> {
        let what = || format!("snapshotting {}", self.tables[job.table]);
        let sql = format!("COPY ({}) TO STDOUT", job.query);
        let mut copy = client
            .copy_out(&sql)
            .map_err(|e| query_error(&self.cfg, &what(), e))?;
        let mut held: Option<RowBatch> = None;
        let mut batch = self.batch(job.table);
        let mut rows = 0u64;
        let mut sent_first = false;
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
                // A full batch is held until more rows follow it: only then is it known not to
                // end the chunk.
                let full = std::mem::replace(&mut batch, self.batch(job.table));
                if let Some(h) = held.replace(full) {
                    if !self.emit(job, h, &mut sent_first, false) {
                        return Ok(false);
                    }
                }
            }
        }
        drop(copy);
        let (before, last) = match (held, batch.ends.is_empty()) {
            (h, false) => (h, Some(batch)),
            (h, true) => (None, h),
        };
        if let Some(b) = before {
            if !self.emit(job, b, &mut sent_first, false) {
                return Ok(false);
            }
        }
        match last {
            Some(b) => {
                if !self.emit(job, b, &mut sent_first, true) {
                    return Ok(false);
                }
            }
            None => {
                // An empty chunk still lets the others on, as Debezium's empty-chunk handling.
                if job.place.first_of_table {
                    self.after_first(job);
                }
                if !self.before_last(job) {
                    return Ok(false);
                }
            }
        }
        Ok(self.after_last(job, rows))
    }

    fn emit(&self, job: &ChunkJob, mut b: RowBatch, sent_first: &mut bool, last: bool) -> bool {
        let first = !*sent_first;
        // A chunk's only row, first of its table, goes out as Debezium's first-row branch sends
        // it: without waiting for the table's other chunks or tables.
        let lone_first = first && job.place.first_of_table && b.ends.len() == 1;
        if first && !self.before_first(job) {
            return false;
        }
        if last && !lone_first && !self.before_last(job) {
            return false;
        }
        b.place = Some(BatchPlace {
            chunk: job.place,
            first,
            last,
        });
        if !self.send(Chunk::Rows(b)) {
            return false;
        }
        if first {
            *sent_first = true;
            self.after_first(job);
        }
        true
    }

    fn batch(&self, table: usize) -> RowBatch {
        RowBatch::reuse_or_new(&self.recycled, table, self.cfg.fetch_size)
    }

    /// False when the snapshot stops or the task no longer listens (which stops the other
    /// readers too).
    fn send(&self, chunk: Chunk) -> bool {
        match hand_over(&self.out, &self.stop, chunk) {
            Handed::Taken => true,
            Handed::Stopped => false,
            Handed::Gone => {
                self.stop_all();
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_count_is_debeziums() {
        assert_eq!(chunk_count(0, 4, 1), 1);
        assert_eq!(chunk_count(3, 4, 1), 3);
        assert_eq!(chunk_count(1000, 4, 1), 4);
        assert_eq!(chunk_count(1000, 4, 3), 12);
        assert_eq!(chunk_count(10, 2, 4), 8);
    }

    #[test]
    fn markers_follow_the_chunk_place() {
        let place = |fot, lot, fos, los| ChunkPlace {
            first_of_table: fot,
            last_of_table: lot,
            first_of_snapshot: fos,
            last_of_snapshot: los,
        };
        let b = BatchPlace {
            chunk: place(true, false, true, false),
            first: true,
            last: true,
        };
        assert_eq!(b.marker(0, 3), "first");
        assert_eq!(b.marker(1, 3), "true");
        assert_eq!(b.marker(2, 3), "true");
        let b = BatchPlace {
            chunk: place(false, true, false, false),
            first: true,
            last: true,
        };
        assert_eq!(b.marker(0, 2), "true");
        assert_eq!(b.marker(1, 2), "last_in_data_collection");
        let b = BatchPlace {
            chunk: place(true, true, false, true),
            first: true,
            last: true,
        };
        assert_eq!(b.marker(0, 2), "first_in_data_collection");
        assert_eq!(b.marker(1, 2), "last");
        assert_eq!(b.marker(0, 1), "last");
    }
}
