//! The initial snapshot: every captured table read inside one REPEATABLE READ transaction,
//! in name order, `snapshot.fetch.size` rows per round trip through a cursor, each row an
//! `op: r` event with Debezium's snapshot markers. The transaction's `pg_current_snapshot()`
//! becomes the stream's filter, which is what makes the hand-over exact.

use std::collections::VecDeque;
use std::sync::Arc;

use postgres::{Client, SimpleQueryMessage, SimpleQueryRow};

use super::db::{self, query_error, Catalog, PgError, TableId};
use super::events::{self, SourceInfo, TableRef};
use super::pgoutput::TupleValue;
use super::stream::Stream;
use super::PgConfig;
use crate::connectors::ConnectError;
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

struct Pending {
    table: TableRef,
    row: SimpleQueryRow,
    first_in_table: bool,
}

pub struct Snapshot {
    cfg: Arc<PgConfig>,
    partition: SourcePartition,
    upto: Option<u64>,
    resume: u64,
    client: Client,
    catalog: Catalog,
    tables: Vec<TableId>,
    next_table: usize,
    current: Option<TableRef>,
    rows_in_table: u64,
    cursor_open: bool,
    rows: VecDeque<SimpleQueryRow>,
    pending: Option<Pending>,
    emitted_any: bool,
    done: bool,
    filter: SnapshotFilter,
    /// Whether the stream may skip what the snapshot saw (see `PostgresSourceTask::start`).
    exact: bool,
    tx_id: i64,
    ts_us: i64,
    started: std::time::Instant,
    total: u64,
    /// The current table's progress line, on a terminal only.
    bar: Option<indicatif::ProgressBar>,
}

/// A progress line for one table: rows, rows/s and, from the planner's row estimate, an ETA.
fn table_bar(name: &str, estimate: i64) -> Option<indicatif::ProgressBar> {
    let multi = crate::runtime::progress::multi()?;
    let (bar, template) = if estimate > 0 {
        (
            indicatif::ProgressBar::new(estimate as u64),
            "snapshot {prefix} {bar:30} {human_pos}/~{human_len} rows, {rate}, eta {eta}",
        )
    } else {
        (
            indicatif::ProgressBar::no_length(),
            "snapshot {prefix} {human_pos} rows, {rate}",
        )
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style.with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0} rows/s", state.per_sec());
            },
        ));
    }
    bar.set_prefix(name.to_string());
    Some(multi.add(bar))
}

impl Snapshot {
    pub fn begin(
        cfg: Arc<PgConfig>,
        partition: SourcePartition,
        upto: Option<u64>,
        resume: u64,
        exact: bool,
    ) -> Result<Snapshot, PgError> {
        let mut client = db::connect(&cfg)?;
        client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            .map_err(|e| query_error(&cfg, "starting the snapshot transaction", e))?;
        let row = client
            .query_one(
                "SELECT pg_current_snapshot()::text, pg_current_wal_insert_lsn()::text, txid_current()",
                &[],
            )
            .map_err(|e| query_error(&cfg, "taking the snapshot", e))?;
        let lsn = db::parse_lsn(&row.get::<_, String>(1)).unwrap_or(0);
        let snap: String = row.get(0);
        let filter = SnapshotFilter::parse(&snap, lsn)
            .ok_or_else(|| PgError::Protocol(format!("unexpected pg_current_snapshot() {snap}")))?;
        let tx_id: i64 = row.get(2);
        let tables = db::captured_tables(&mut client, &cfg)?;
        tracing::info!(tables = tables.len(), lsn = %db::format_lsn(lsn), "snapshot started");
        Ok(Snapshot {
            cfg,
            partition,
            upto,
            resume,
            client,
            catalog: Catalog::default(),
            tables,
            next_table: 0,
            current: None,
            rows_in_table: 0,
            cursor_open: false,
            rows: VecDeque::new(),
            pending: None,
            emitted_any: false,
            done: false,
            filter,
            exact,
            tx_id,
            ts_us: events::now_ns() / 1000,
            started: std::time::Instant::now(),
            total: 0,
            bar: None,
        })
    }

    fn next_row(&mut self) -> Result<Option<Pending>, PgError> {
        loop {
            if let Some(row) = self.rows.pop_front() {
                let first_in_table = self.rows_in_table == 0;
                self.rows_in_table += 1;
                return Ok(Some(Pending {
                    table: self.current.clone().expect("table open"),
                    row,
                    first_in_table,
                }));
            }
            if self.cursor_open {
                let sql = format!("FETCH {} FROM kc_snapshot", self.cfg.fetch_size);
                let msgs = self
                    .client
                    .simple_query(&sql)
                    .map_err(|e| query_error(&self.cfg, "reading snapshot rows", e))?;
                for m in msgs {
                    if let SimpleQueryMessage::Row(r) = m {
                        self.rows.push_back(r);
                    }
                }
                if let Some(bar) = &self.bar {
                    bar.set_position(self.rows_in_table + self.rows.len() as u64);
                }
                if self.rows.is_empty() {
                    if let Some(bar) = self.bar.take() {
                        bar.finish_and_clear();
                    }
                    self.client
                        .batch_execute("CLOSE kc_snapshot")
                        .map_err(|e| query_error(&self.cfg, "closing the snapshot cursor", e))?;
                    self.cursor_open = false;
                    if let Some(t) = &self.current {
                        tracing::info!(table = %format!("{}.{}", t.schema_name, t.table_name),
                            rows = self.rows_in_table, "snapshot of table done");
                    }
                }
                continue;
            }
            let Some(t) = self.tables.get(self.next_table) else {
                return Ok(None);
            };
            self.next_table += 1;
            let table = Arc::new(self.catalog.table_from_catalog(
                &mut self.client,
                &self.cfg,
                t,
            )?);
            let cols: Vec<String> = table.columns.iter().map(|c| db::ident(&c.name)).collect();
            let sql = format!(
                "DECLARE kc_snapshot NO SCROLL CURSOR FOR SELECT {} FROM {}.{}",
                if cols.is_empty() {
                    "NULL".to_string()
                } else {
                    cols.join(", ")
                },
                db::ident(&t.schema),
                db::ident(&t.name)
            );
            self.client.batch_execute(&sql).map_err(|e| {
                query_error(
                    &self.cfg,
                    &format!("snapshotting {}.{}", t.schema, t.name),
                    e,
                )
            })?;
            if crate::runtime::progress::multi().is_some() {
                let estimate: i64 = self
                    .client
                    .query_one(
                        "SELECT reltuples::int8 FROM pg_class WHERE oid = $1",
                        &[&t.oid],
                    )
                    .map(|r| r.get(0))
                    .unwrap_or(-1);
                self.bar = table_bar(&format!("{}.{}", t.schema, t.name), estimate);
            }
            self.current = Some(table);
            self.rows_in_table = 0;
            self.cursor_open = true;
        }
    }

    fn record(&mut self, p: Pending, next: Option<&Pending>) -> Result<SourceRecord, ConnectError> {
        let last = next.is_none();
        let last_in_table = !next.is_some_and(|n| Arc::ptr_eq(&n.table, &p.table));
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
        let t = &p.table;
        let tuple: Vec<TupleValue<'_>> = (0..p.row.len())
            .map(|i| match p.row.get(i) {
                Some(s) => TupleValue::Text(s),
                None => TupleValue::Null,
            })
            .collect();
        let after = t.row(&tuple, &self.cfg).map_err(ConnectError::Fatal)?;
        let key = t.key(&tuple, &self.cfg).map_err(ConnectError::Fatal)?;
        let source = events::source_value(
            &self.cfg,
            t,
            SourceInfo {
                ts_us: self.ts_us,
                snapshot: marker,
                sequence: compact_str::format_compact!("[null,\"{}\"]", self.filter.lsn),
                tx_id: Some(self.tx_id),
                lsn: Some(self.filter.lsn as i64),
                db: &self.cfg.dbname,
            },
        );
        let value = events::envelope(t, Value::Null, after, source, "r");
        let mut offset = SourceOffset::with_capacity(5);
        offset.insert("last_snapshot_record", last);
        offset.insert("lsn", self.filter.lsn);
        offset.insert("txId", self.tx_id);
        offset.insert("ts_usec", self.ts_us);
        offset.insert("snapshot", true);
        Ok(SourceRecord {
            partition: self.partition.clone(),
            offset,
            record: events::record(t, key, Some(value)),
        })
    }

    /// The next records, `Some(empty)` never; `None` once every table is read.
    pub fn poll(&mut self) -> Result<Option<Vec<SourceRecord>>, ConnectError> {
        if self.done {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(self.cfg.max_batch);
        while out.len() < self.cfg.max_batch {
            let next = self.next_row()?;
            if let Some(p) = self.pending.take() {
                out.push(self.record(p, next.as_ref())?);
            }
            match next {
                Some(n) => self.pending = Some(n),
                None => {
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
