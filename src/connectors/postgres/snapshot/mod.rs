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

use std::collections::BTreeMap;
use std::sync::Arc;

use postgres::Client;
use regex::Regex;

use super::db::{self, query_error, Catalog, PgError, TableId};
use super::events::{self, SourceInfo, TableRef};
use super::metrics::PgMetrics;
use super::notify;
use super::pgoutput::TupleValue;
use super::stream::Stream;
use super::PgConfig;
use crate::api::{ConnectError, Metric, ProgressHandle, ProgressLine};
use crate::data::{SourceOffset, SourcePartition, SourceRecord, Value};

mod chunks;
pub(super) mod copy_row;
mod filter;
mod progress;
mod reader;

use copy_row::{split_copy_row, Field};
pub use filter::SnapshotFilter;
use reader::{Chunk, ReaderHandle, RowBatch};

/// The row read before the one being handled: its event's markers depend on what follows.
/// A row read and converted, held until the next row says which marker it takes. A row that
/// cannot be converted never becomes pending (event.processing.failure.handling.mode warn or
/// skip), so the one before stays pending, as Debezium's buffering receiver keeps its last
/// dispatched record for the `last` marker.
struct Pending {
    table: usize,
    first_in_table: bool,
    key: Option<Value>,
    after: Value,
    /// A chunked snapshot's marker, known when the row is read.
    marker: Option<&'static str>,
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
    /// Unescaped column values of the row being handled, and where each column is.
    scratch: String,
    fields: Vec<Field>,
    /// The `source.sequence` of every snapshot event: `[null,"<snapshot lsn>"]`.
    sequence: compact_str::CompactString,
    done: bool,
    filter: SnapshotFilter,
    /// Whether the stream may skip what the snapshot saw (see `PostgresSourceTask::start`).
    exact: bool,
    ts_us: i64,
    /// The offset of every row but the last: the same for all of them.
    row_offset: SourceOffset,
    started: std::time::Instant,
    total: u64,
    /// Where the tables' progress lines go; shown on a terminal only.
    progress: ProgressHandle,
    /// The current table's progress line.
    bar: Option<Box<dyn ProgressLine>>,
    metrics: PgMetrics,
    /// `RowsScanned` of each table, in `tables` order.
    rows_scanned: Vec<Metric>,
    /// For the notifications (notification.enabled.channels): every captured table, in order,
    /// and the snapshotted ones as Debezium's HashSet of them lists them; STARTED is sent.
    captured_names: String,
    snapshotted_names: String,
    announced: bool,
    /// `source.lsn` and `source.txId` of every row: the snapshot's position, or for a
    /// blocking snapshot the signal's.
    source_lsn: i64,
    source_tx: Option<i64>,
    /// A blocking snapshot: its last row's offset says the snapshot completed.
    on_demand: bool,
    /// Chunks of several tables arrive interleaved (snapshot.max.threads): no table is "the
    /// current one".
    chunked: bool,
}

/// A blocking snapshot (an `execute-snapshot` signal of type `blocking`), as Debezium's
/// `getBlockingSnapshottingTask` describes it: the tables its data-collections match and the
/// statements its additional-conditions give, read while streaming waits, every row placed
/// at the stream's position.
pub struct OnDemand {
    /// The signal's data-collections: case-insensitive regexes over `schema.table`.
    pub tables: Vec<Regex>,
    /// `schema.table` → the SELECT statement an additional-condition's filter gives.
    pub selects: BTreeMap<String, String>,
    /// The stream's position where it paused (the signal's change event, when the signal
    /// came from the signal table): the rows' `source.lsn`, `source.txId` and `sequence`.
    pub lsn: u64,
    pub tx_id: Option<i64>,
    pub sequence: compact_str::CompactString,
    /// The offset streaming resumes from: every row's offset is this one with Debezium's
    /// `snapshot: BLOCKING` keys, so that a restart resumes streaming after the signal and
    /// does not take the snapshot again, as Debezium's does not.
    pub offset: SourceOffset,
}

/// Debezium's offset of a blocking snapshot's row: the stream's, with `snapshot` BLOCKING
/// and `snapshot_completed` false until the last row.
fn on_demand_offset(stream: &SourceOffset) -> SourceOffset {
    let mut offset = stream.clone();
    offset.insert("snapshot", "BLOCKING");
    offset.insert("last_snapshot_record", false);
    offset.insert("snapshot_completed", false);
    offset
}

/// How a snapshot reads its tables, which depends on what the start found.
#[derive(Clone, Copy, Debug)]
pub struct Reading {
    /// The stream may skip what the snapshot saw (see `PostgresSourceTask::start`).
    pub exact: bool,
    /// snapshot.isolation.mode read_committed or read_uncommitted, on a slot this start did
    /// not create: each table is read as it is when its COPY starts.
    pub read_committed: bool,
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

/// The query whose rows are a table's snapshot: every row, or the table's
/// snapshot.select.statement.overrides query. Debezium reads that query's columns by
/// position as the table's columns: one that returns fewer fails the snapshot (kconnect says
/// so before the first row), and columns past the table's are not read.
fn select_for(
    client: &mut Client,
    cfg: &PgConfig,
    t: &TableId,
    schema: &TableRef,
    on_demand: Option<&OnDemand>,
) -> Result<String, PgError> {
    let full = format!("{}.{}", t.schema, t.name);
    let overrides = on_demand.map_or(&cfg.select_overrides, |o| &o.selects);
    let Some(query) = overrides.get(&full) else {
        let cols: Vec<String> = schema.columns.iter().map(|c| db::ident(&c.name)).collect();
        let cols = if cols.is_empty() {
            "NULL".to_string()
        } else {
            cols.join(", ")
        };
        return Ok(format!(
            "SELECT {cols} FROM {}.{}",
            db::ident(&t.schema),
            db::ident(&t.name)
        ));
    };
    let key = match on_demand {
        Some(_) => {
            format!("the additional-conditions filter of {full} in the execute-snapshot signal")
        }
        None => format!("snapshot.select.statement.overrides.{full}"),
    };
    let statement = client
        .prepare(query)
        .map_err(|e| query_error(cfg, &format!("preparing {key} ({query})"), e))?;
    let returned: Vec<&str> = statement.columns().iter().map(|c| c.name()).collect();
    let wanted = schema.columns.len();
    let query = query.trim().trim_end_matches(';');
    if returned.len() < wanted {
        return Err(PgError::SnapshotQuery(format!(
            "{key} returns {} column(s) but {full} has {wanted}: its rows are read by position as the table's columns ({}), as Debezium reads them; select every column in the table's order",
            returned.len(),
            schema.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
        )));
    }
    if returned.len() == wanted {
        return Ok(query.to_string());
    }
    let first = &returned[..wanted];
    let unique = first
        .iter()
        .all(|n| returned.iter().filter(|m| *m == n).count() == 1);
    if !unique {
        return Err(PgError::SnapshotQuery(format!(
            "{key} returns more columns than {full} has and repeats a column name among them; return exactly the table's columns"
        )));
    }
    let cols: Vec<String> = first
        .iter()
        .map(|n| format!("o.{}", db::ident(n)))
        .collect();
    Ok(format!("SELECT {} FROM ({query}) AS o", cols.join(", ")))
}

/// snapshot.locking.mode=shared: every captured table IN ACCESS SHARE MODE until the snapshot
/// transaction ends, each lock waited for at most `timeout`.
fn lock_tables(
    client: &mut Client,
    cfg: &PgConfig,
    tables: &[TableId],
    timeout: std::time::Duration,
) -> Result<(), PgError> {
    if tables.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = tables
        .iter()
        .map(|t| format!("{}.{}", db::ident(&t.schema), db::ident(&t.name)))
        .collect();
    let sql = format!(
        "SET LOCAL lock_timeout = {}; LOCK TABLE {} IN ACCESS SHARE MODE",
        timeout.as_millis(),
        names.join(", ")
    );
    tracing::info!(tables = tables.len(), timeout_ms = %timeout.as_millis(), "locking the captured tables for the snapshot (snapshot.locking.mode=shared)");
    match client.batch_execute(&sql) {
        Err(e) if e.code().is_some_and(|c| c.code() == "55P03") => Err(PgError::SnapshotLock {
            tables: {
                let shown: Vec<String> = tables
                    .iter()
                    .take(5)
                    .map(|t| format!("{}.{}", t.schema, t.name))
                    .collect();
                match tables.len() {
                    0..=5 => shown.join(", "),
                    n => format!("{} and {} more", shown.join(", "), n - 5),
                }
            },
            timeout_ms: timeout.as_millis(),
            message: e
                .as_db_error()
                .map(|d| d.message().to_string())
                .unwrap_or_default(),
        }),
        r => r.map_err(|e| query_error(cfg, "locking the captured tables for the snapshot", e)),
    }
}

impl Snapshot {
    pub fn begin(
        cfg: Arc<PgConfig>,
        partition: SourcePartition,
        upto: Option<u64>,
        resume: u64,
        reading: Reading,
        progress: ProgressHandle,
        metrics: PgMetrics,
    ) -> Result<Snapshot, PgError> {
        Snapshot::open(
            cfg, partition, upto, resume, reading, progress, metrics, None,
        )
    }

    /// A blocking snapshot of the tables `on_demand` names, read in its own REPEATABLE READ
    /// transaction while the stream waits; `poll` hands its records out, and streaming goes on
    /// where it paused once it returns `None`.
    pub fn blocking(
        cfg: Arc<PgConfig>,
        partition: SourcePartition,
        on_demand: OnDemand,
        progress: ProgressHandle,
        metrics: PgMetrics,
    ) -> Result<Snapshot, PgError> {
        let reading = Reading {
            exact: false,
            read_committed: cfg.snapshot_read_committed,
        };
        Snapshot::open(
            cfg,
            partition,
            None,
            0,
            reading,
            progress,
            metrics,
            Some(on_demand),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn open(
        cfg: Arc<PgConfig>,
        partition: SourcePartition,
        upto: Option<u64>,
        resume: u64,
        reading: Reading,
        progress: ProgressHandle,
        metrics: PgMetrics,
        on_demand: Option<OnDemand>,
    ) -> Result<Snapshot, PgError> {
        let Reading {
            exact,
            read_committed,
        } = reading;
        let cfg_chunked = cfg.chunked.is_some();
        let mut client = db::connect(&cfg)?;
        // Locks come before the transaction's first query, which fixes its snapshot: the
        // rows read are then those of tables no schema change can touch until the end.
        let locked = match cfg.snapshot_lock_timeout {
            Some(_) => db::captured_tables(&mut client, &cfg)?,
            None => Vec::new(),
        };
        // READ COMMITTED (snapshot.isolation.mode): the catalog is read as of each query, and
        // the reader takes a new snapshot for each table.
        client
            .batch_execute(if read_committed {
                "BEGIN ISOLATION LEVEL READ COMMITTED"
            } else {
                "BEGIN ISOLATION LEVEL REPEATABLE READ"
            })
            .map_err(|e| query_error(&cfg, "starting the snapshot transaction", e))?;
        if let Some(timeout) = cfg.snapshot_lock_timeout {
            lock_tables(&mut client, &cfg, &locked, timeout)?;
        }
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
        let mut captured = Vec::new();
        for t in db::captured_tables(&mut client, &cfg)? {
            let full = format!("{}.{}", t.schema, t.name);
            let included = match &on_demand {
                Some(o) => o.tables.iter().any(|r| r.is_match(&full)),
                None => {
                    cfg.snapshot_include.is_empty()
                        || cfg.snapshot_include.iter().any(|r| r.is_match(&full))
                }
            };
            // A blocking snapshot's notifications list the tables it reads.
            if on_demand.is_none() || included {
                captured.push(full);
            }
            // The signal table's changes stream, but its rows are never snapshotted.
            if !included || cfg.filters.is_signal_table(&t.schema, &t.name) {
                continue;
            }
            let schema = Arc::new(catalog.table_from_catalog(&mut client, &cfg, &t)?);
            tables.push((t, schema));
        }
        let mut selects = Vec::with_capacity(tables.len());
        for (t, schema) in &tables {
            selects.push(select_for(
                &mut client,
                &cfg,
                t,
                schema,
                on_demand.as_ref(),
            )?);
        }
        if let Some(o) = &on_demand {
            tracing::info!(tables = ?tables.iter().map(|(t, _)| format!("{}.{}", t.schema, t.name)).collect::<Vec<_>>(),
                at = %db::format_lsn(o.lsn), "blocking snapshot started: streaming waits until it completes");
        }
        tracing::info!(tables = tables.len(), lsn = %db::format_lsn(lsn),
            isolation = if read_committed { "read committed" } else { "repeatable read" },
            threads = cfg.chunked.as_ref().map_or(1, |c| c.threads),
            "snapshot started");
        let snapshot_id = (!read_committed).then_some(snapshot_id);
        let reader = match &cfg.chunked {
            Some(chunked) => {
                let jobs = chunks::plan(&mut client, &cfg, chunked, &mut tables, &mut selects)?;
                let names = tables
                    .iter()
                    .map(|(t, _)| format!("{}.{}", t.schema, t.name))
                    .collect();
                chunks::spawn(cfg.clone(), snapshot_id, names, jobs, chunked.threads)?
            }
            None => ReaderHandle::spawn(
                cfg.clone(),
                snapshot_id,
                tables
                    .iter()
                    .zip(selects)
                    .map(|((t, _), select)| (t.schema.clone(), t.name.clone(), select))
                    .collect(),
            )?,
        };
        let m = &metrics.snapshot;
        m.running.set_bool(true);
        m.completed.set_bool(false);
        m.aborted.set_bool(false);
        m.total_tables.set(tables.len() as i64);
        m.remaining_tables.set(tables.len() as i64);
        m.duration_s.set(0);
        let rows_scanned = tables
            .iter()
            .map(|(t, _)| {
                let r = m.rows_scanned(&format!("{}.{}", t.schema, t.name));
                r.set(0);
                r
            })
            .collect();
        let ts_us = events::now_ns() / 1000;
        let (row_offset, sequence, source_lsn, source_tx) = match &on_demand {
            Some(o) => (
                on_demand_offset(&o.offset),
                o.sequence.clone(),
                o.lsn as i64,
                o.tx_id,
            ),
            None => (
                snapshot_offset(filter.lsn, tx_id, ts_us),
                compact_str::format_compact!("[null,\"{lsn}\"]"),
                filter.lsn as i64,
                Some(tx_id),
            ),
        };
        let snapshotted_names = notify::hash_set_order(
            tables
                .iter()
                .map(|(t, _)| format!("{}.{}", t.schema, t.name))
                .collect(),
        );
        Ok(Snapshot {
            cfg,
            partition,
            upto,
            resume,
            client,
            catalog,
            tables,
            reader,
            rows_in_table: 0,
            table_now: None,
            batch: None,
            pending: None,
            scratch: String::new(),
            fields: Vec::new(),
            sequence,
            done: false,
            filter,
            exact,
            ts_us,
            row_offset,
            started: std::time::Instant::now(),
            total: 0,
            progress,
            bar: None,
            metrics,
            rows_scanned,
            snapshotted_names,
            captured_names: captured.join(","),
            announced: false,
            source_lsn,
            source_tx,
            on_demand: on_demand.is_some(),
            chunked: cfg_chunked,
        })
    }

    /// A notification of the initial snapshot, placed among the records in `out`.
    fn notify(&self, kind: &str, data: &[(&str, String)], out: &mut Vec<SourceRecord>) {
        if let Some(record) = notify::notification(&self.cfg, notify::INITIAL, kind, None, data) {
            out.push(SourceRecord {
                partition: self.partition.clone(),
                offset: self.row_offset.clone(),
                record,
            });
        }
    }

    /// IN_PROGRESS for a table whose rows (or end, for an empty one) arrive first now.
    fn notify_table_start(&self, table: usize, out: &mut Vec<SourceRecord>) {
        if self.cfg.notifications.is_none() || self.table_now == Some(table) {
            return;
        }
        let (t, _) = &self.tables[table];
        self.notify(
            "IN_PROGRESS",
            &[
                (
                    "current_collection_in_progress",
                    format!("{}.{}", t.schema, t.name),
                ),
                ("data_collections", self.snapshotted_names.clone()),
            ],
            out,
        );
    }

    /// The event of the pending row, now that what follows it is known: the next row's table,
    /// or `None` when it was the snapshot's last row.
    fn record(&mut self, p: Pending, next: Option<usize>) -> SourceRecord {
        let last = next.is_none();
        let last_in_table = next != Some(p.table);
        // Debezium holds each snapshot record back until the next is read and marks the one
        // still held at the end `last`, whatever it was marked before: a one-row snapshot's
        // row is `last`, not `first`. `first` is the first table's first row (none when that
        // table is empty), and a table's only row is its last rather than its first.
        let marker = if last {
            "last"
        } else if let Some(m) = p.marker {
            m
        } else if p.first_in_table && p.table == 0 {
            "first"
        } else if last_in_table {
            "last_in_data_collection"
        } else if p.first_in_table {
            "first_in_data_collection"
        } else {
            "true"
        };
        let t = &self.tables[p.table].1;
        let source = events::source_value(
            &self.cfg,
            t,
            SourceInfo {
                ts_us: self.ts_us,
                snapshot: marker,
                sequence: self.sequence.clone(),
                tx_id: self.source_tx,
                lsn: Some(self.source_lsn),
                db: &self.cfg.dbname,
            },
        );
        let value = events::envelope(t, Value::Null, p.after, source, "r", Value::Null);
        let mut offset = self.row_offset.clone();
        if last {
            offset.insert("last_snapshot_record", true);
            if self.on_demand {
                offset.insert("snapshot_completed", true);
            }
        }
        SourceRecord {
            partition: self.partition.clone(),
            offset,
            record: events::record(&self.cfg, t, p.key, Some(value), None),
        }
    }

    /// A row's key and value struct, or `None` for a row that cannot be converted and that
    /// event.processing.failure.handling.mode skips.
    fn convert(
        &mut self,
        table: usize,
        raw: &[u8],
    ) -> Result<Option<(Option<Value>, Value)>, ConnectError> {
        let t = &self.tables[table].1;
        let raw = &raw[..raw.len().saturating_sub(1)];
        split_copy_row(raw, &mut self.scratch, &mut self.fields);
        let scratch = &self.scratch;
        let converted = self
            .fields
            .iter()
            .map(|f| match f {
                Field::Null => Ok(TupleValue::Null),
                Field::Raw(r) => std::str::from_utf8(&raw[r.clone()])
                    .map(TupleValue::Text)
                    .map_err(|_| "a value that is not UTF-8".to_string()),
                Field::Unescaped(r) => Ok(TupleValue::Text(&scratch[r.clone()])),
            })
            .collect::<Result<Vec<TupleValue<'_>>, String>>()
            .and_then(|tuple| Ok((t.key(&tuple, &self.cfg)?, t.row(&tuple, &self.cfg)?)));
        match converted {
            Ok(kv) => Ok(Some(kv)),
            Err(e) => {
                let position = format!(
                    "snapshot row {} of {}.{}",
                    self.rows_in_table, t.schema_name, t.table_name
                );
                self.cfg.failure_mode.handle(&position, &e)?;
                Ok(None)
            }
        }
    }

    /// Takes a row as the new pending one, emitting the one it follows.
    fn push_row(
        &mut self,
        table: usize,
        row: &[u8],
        marker: Option<&'static str>,
        out: &mut Vec<SourceRecord>,
    ) -> Result<(), ConnectError> {
        let first_in_table = self.rows_in_table == 0;
        self.rows_in_table += 1;
        let Some((key, after)) = self.convert(table, row)? else {
            return Ok(());
        };
        let next = Pending {
            table,
            first_in_table,
            key,
            after,
            marker,
        };
        if let Some(p) = self.pending.replace(next) {
            let record = self.record(p, Some(table));
            out.push(record);
        }
        Ok(())
    }

    /// The next records, `Some(empty)` never; `None` once every table is read.
    pub fn poll(&mut self) -> Result<Option<Vec<SourceRecord>>, ConnectError> {
        if self.done {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(self.cfg.max_batch);
        if !self.announced {
            self.announced = true;
            self.notify("STARTED", &[], &mut out);
        }
        while out.len() < self.cfg.max_batch {
            if let Some((batch, at)) = self.batch.take() {
                if at < batch.ends.len() {
                    let from = if at == 0 {
                        0
                    } else {
                        batch.ends[at - 1] as usize
                    };
                    let to = batch.ends[at] as usize;
                    let marker = batch.place.map(|p| p.marker(at, batch.ends.len()));
                    self.push_row(batch.table, &batch.data[from..to], marker, &mut out)?;
                    self.batch = Some((batch, at + 1));
                    continue;
                }
                let _ = self.reader.spent.try_send(batch);
            }
            match self.reader.chunks.recv() {
                Ok(Chunk::Rows(b)) if self.chunked => {
                    if self.table_now != Some(b.table) {
                        self.table_now = Some(b.table);
                        self.rows_in_table = 0;
                    }
                    self.batch = Some((b, 0));
                }
                Ok(Chunk::Rows(b)) => {
                    self.notify_table_start(b.table, &mut out);
                    self.enter_table(b.table);
                    if let Some(bar) = &self.bar {
                        bar.set_position(self.rows_in_table + b.ends.len() as u64);
                    }
                    self.batch = Some((b, 0));
                }
                Ok(Chunk::TableDone { table, rows }) => {
                    self.notify_table_start(table, &mut out);
                    self.table_done(table, rows);
                    if self.cfg.notifications.is_some() {
                        let (t, _) = &self.tables[table];
                        let scanned = format!("{}.{}", t.schema, t.name);
                        self.notify(
                            "TABLE_SCAN_COMPLETED",
                            &[
                                ("scanned_collection", scanned),
                                ("data_collections", self.captured_names.clone()),
                                ("total_rows_scanned", rows.to_string()),
                                ("status", "SUCCEEDED".into()),
                            ],
                            &mut out,
                        );
                    }
                }
                Ok(Chunk::Failed(e)) => return Err(e.into()),
                Err(_) => {
                    return Err(ConnectError::retriable(
                        "the snapshot reader stopped unexpectedly; starting over",
                    ))
                }
                Ok(Chunk::Finished) => {
                    // Every table read: the pending row was the snapshot's last.
                    if let Some(p) = self.pending.take() {
                        let record = self.record(p, None);
                        out.push(record);
                    }
                    if let Some(record) =
                        notify::notification(&self.cfg, notify::INITIAL, "COMPLETED", None, &[])
                    {
                        // As the last row's: the snapshot is complete.
                        let offset = out
                            .last()
                            .map(|r| r.offset.clone())
                            .unwrap_or_else(|| self.row_offset.clone());
                        out.push(SourceRecord {
                            partition: self.partition.clone(),
                            offset,
                            record,
                        });
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
        self.update_metrics(out.len());
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
        let mut stream = Stream::open(
            self.cfg,
            self.partition,
            self.upto,
            self.resume,
            self.exact.then_some(self.filter),
            self.catalog,
            self.metrics.streaming.clone(),
        )?;
        stream.set_snapshot_context(self.progress, self.metrics);
        Ok(stream)
    }
}
