//! Signals from the signal table and incremental snapshots, as Debezium's source channel and
//! `SignalBasedIncrementalSnapshotChangeEventSource` do them (DBLog's watermarks).
//!
//! A signal row is acted on when the stream decodes it, before its own change event is
//! emitted. A chunk is read synchronously: a `snapshot-window-open` row is inserted, the
//! chunk is selected by key order (`key > last AND NOT key > max`, `LIMIT chunk size`), and a
//! `snapshot-window-close` row is inserted (or, with insert_delete, the open row deleted).
//! Changes streamed between the two marks evict their keys from the chunk; when the close mark
//! arrives the rest of the chunk goes out as `op: r` events with `source.snapshot:
//! incremental`, and the next chunk is read.

use std::sync::Arc;

use regex::Regex;
use serde_json::Value as Json;

use super::Stream;
use crate::api::ConnectError;
use crate::connectors::postgres::db::{self, query_error, TableId};
use crate::connectors::postgres::events::{self, SourceInfo, TableRef};
use crate::connectors::postgres::incremental::{self, Collection, WindowRow};
use crate::connectors::postgres::notify;
use crate::connectors::postgres::pgoutput::TupleValue;
use crate::connectors::postgres::snapshot::copy_row::{split_copy_row, Field};
use crate::connectors::postgres::snapshot::OnDemand;
use crate::data::{SourceOffset, SourceRecord, Value};

const OPEN: &str = "snapshot-window-open";
const CLOSE: &str = "snapshot-window-close";

/// A signal: the signal table's first three columns, as Debezium reads them.
pub(super) struct Signal {
    pub id: String,
    pub kind: String,
    pub data: Option<String>,
}

impl Signal {
    /// A signal as the file and Kafka channels carry it: `{"id", "type", "data"}`, `data` a
    /// JSON document kept as its text; `None` without a type.
    fn from_json(j: &Json) -> Option<Signal> {
        let text = |v: &Json| match v {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        Some(Signal {
            id: j.get("id").map(text).unwrap_or_default(),
            kind: text(j.get("type")?),
            data: j.get("data").map(|d| d.to_string()),
        })
    }

    pub(super) fn from_tuple(t: &[TupleValue<'_>]) -> Option<Signal> {
        let text = |i: usize| match t.get(i) {
            Some(TupleValue::Text(s)) => Some(s.to_string()),
            _ => None,
        };
        Some(Signal {
            id: text(0)?,
            kind: text(1)?,
            data: text(2),
        })
    }
}

fn db_error(what: &str) -> impl Fn(db::PgError) -> ConnectError + '_ {
    move |e| {
        let retriable = e.is_transient();
        let msg = format!("{what}: {e}");
        if retriable {
            ConnectError::retriable(msg).caused_by(e)
        } else {
            ConnectError::fatal(msg).caused_by(e)
        }
    }
}

impl Stream {
    /// Whether `t` is the signal table and signals arrive by it.
    pub(super) fn is_signal_table(&self, t: &TableRef) -> bool {
        self.cfg
            .signals
            .as_ref()
            .is_some_and(|s| s.source && s.schema == t.schema_name && s.table == t.table_name)
    }

    /// `lsn`: where the signal row is in the stream, `None` for other channels.
    pub(super) fn signal(&mut self, s: Signal, lsn: Option<u64>) -> Result<(), ConnectError> {
        tracing::debug!(id = %s.id, kind = %s.kind, "signal");
        let data: Json = s
            .data
            .as_deref()
            .filter(|d| !d.trim().is_empty())
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or(Json::Null);
        match s.kind.as_str() {
            "execute-snapshot" => self.execute_snapshot(&s.id, &data, lsn)?,
            "stop-snapshot" => {
                if kind_is_blocking(&data) {
                    tracing::warn!(id = %s.id, "stop-snapshot of type blocking: a blocking snapshot cannot be stopped (Debezium's cannot either); ignored");
                } else if self.inc.running() {
                    let list = collections(&data);
                    if list.is_empty() {
                        self.inc.to_stop.push(".*".into());
                    } else {
                        self.inc.to_stop.extend(list);
                    }
                }
            }
            "pause-snapshot" => {
                if self.inc.running() && !self.inc.paused {
                    tracing::info!("incremental snapshot paused");
                    self.inc.paused = true;
                    self.notify_incremental("PAUSED", vec![("data_collections", self.inc_names())]);
                }
            }
            "resume-snapshot" => {
                if self.inc.running() && self.inc.paused {
                    tracing::info!("incremental snapshot resumed");
                    self.inc.paused = false;
                    self.notify_incremental(
                        "RESUMED",
                        vec![("data_collections", self.inc_names())],
                    );
                    self.read_chunk()?;
                }
            }
            "log" => {
                let message = data.get("message").and_then(Json::as_str).unwrap_or("");
                tracing::info!(signal = %s.id, "{message}");
            }
            OPEN | CLOSE if lsn.is_none() || self.txn.is_none() => {
                tracing::warn!(id = %s.id, "a window mark from outside the signal table; ignored");
            }
            OPEN => {
                if self.expected_chunk(&s.id) {
                    self.inc.window_open = true;
                }
            }
            CLOSE => {
                if self.expected_chunk(&s.id) {
                    self.inc.window_open = false;
                    self.send_window(lsn.unwrap_or_default());
                    self.read_chunk()?;
                }
            }
            other => tracing::warn!(id = %s.id, "unknown signal type '{other}'; ignored"),
        }
        self.inc_state = self.inc.stored();
        Ok(())
    }

    /// The file channel (`signal.file`): each line a JSON signal; the file is emptied once
    /// read, as Debezium's `FileSignalChannel` does.
    pub(super) fn poll_file(&mut self) -> Result<(), ConnectError> {
        let Some(sig) = self.cfg.signals.clone() else {
            return Ok(());
        };
        let Some(path) = &sig.file else {
            return Ok(());
        };
        if self.file_checked.elapsed() < sig.poll_interval {
            return Ok(());
        }
        self.file_checked = std::time::Instant::now();
        let Ok(text) = std::fs::read_to_string(path) else {
            return Ok(());
        };
        if text.is_empty() {
            return Ok(());
        }
        std::fs::write(path, b"").map_err(|e| {
            ConnectError::fatal(format!(
                "cannot empty the signal file {} after reading it: {e}; signals in it would be run again at every read",
                path.display()
            ))
        })?;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let parsed = serde_json::from_str::<Json>(line)
                .ok()
                .filter(|j| j.get("id").is_some())
                .and_then(|j| Signal::from_json(&j));
            match parsed {
                Some(signal) => {
                    tracing::info!(id = %signal.id, kind = %signal.kind, file = %path.display(), "signal from the file channel");
                    self.signal(signal, None)?;
                }
                _ => {
                    tracing::warn!(file = %path.display(), "skipped a line of the signal file that is not a JSON signal with id and type")
                }
            }
        }
        Ok(())
    }

    /// The Kafka channel (Debezium's KafkaSignalChannel): messages of partition 0 of the
    /// signal topic whose key is the connector's topic.prefix and whose value is a JSON signal
    /// `{"id", "type", "data"}`; read every signal.poll.interval.ms, the first time waiting a
    /// little for the consumer to find its position, so that a `--once` run sees the signals
    /// already there.
    pub(super) fn poll_kafka(&mut self) -> Result<(), ConnectError> {
        let Some(kafka) = self.cfg.signals.as_ref().and_then(|s| s.kafka.clone()) else {
            return Ok(());
        };
        let interval = self
            .cfg
            .signals
            .as_ref()
            .map(|s| s.poll_interval)
            .unwrap_or_default();
        let wait = match self.kafka_checked {
            Some(at) if at.elapsed() < interval => return Ok(()),
            Some(_) => kafka.poll_timeout,
            None => kafka.poll_timeout.max(std::time::Duration::from_secs(3)),
        };
        let Some(reader) = self.kafka_signals.as_mut() else {
            return Ok(());
        };
        self.kafka_checked = Some(std::time::Instant::now());
        let messages = reader.poll(wait)?;
        for m in messages {
            let key = m.key.as_deref().map(String::from_utf8_lossy);
            if key.as_deref() != Some(self.cfg.prefix.as_str()) {
                tracing::info!(topic = %kafka.topic, offset = m.offset, "signal key '{}' doesn't match the connector's name '{}'; ignored", key.unwrap_or_default(), self.cfg.prefix);
                continue;
            }
            let parsed = m
                .value
                .as_deref()
                .filter(|v| !v.is_empty())
                .and_then(|v| serde_json::from_slice::<Json>(v).ok())
                .and_then(|j| Signal::from_json(&j));
            match parsed {
                Some(signal) => {
                    tracing::info!(id = %signal.id, kind = %signal.kind, topic = %kafka.topic, offset = m.offset, "signal from the kafka channel");
                    self.signal(signal, None)?;
                }
                _ => {
                    tracing::warn!(topic = %kafka.topic, offset = m.offset, "skipped a message of the signal topic that is not a JSON signal with a type")
                }
            }
        }
        Ok(())
    }

    fn expected_chunk(&self, id: &str) -> bool {
        let ok = self
            .inc
            .chunk_id
            .as_deref()
            .is_some_and(|c| id.starts_with(c));
        if !ok {
            tracing::debug!(id, "window mark of another chunk; ignored");
        }
        ok
    }

    fn execute_snapshot(
        &mut self,
        id: &str,
        data: &Json,
        lsn: Option<u64>,
    ) -> Result<(), ConnectError> {
        if kind_is_blocking(data) {
            self.request_blocking(id, data, lsn);
            return Ok(());
        }
        let requested = collections(data);
        if requested.is_empty() {
            tracing::warn!(id, "execute-snapshot names no data-collections; ignored");
            return Ok(());
        }
        let conditions: Vec<(Regex, String)> = match data.get("additional-conditions") {
            Some(Json::Array(items)) => items
                .iter()
                .filter_map(|c| {
                    let coll = c.get("data-collection")?.as_str()?;
                    let filter = c.get("filter")?.as_str()?;
                    Some((
                        Regex::new(&format!("^(?:{coll})$")).ok()?,
                        filter.to_string(),
                    ))
                })
                .collect(),
            _ => Vec::new(),
        };
        let surrogate = data
            .get("surrogate-key")
            .and_then(Json::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let start = !self.inc.running();
        for name in self.expand(&requested)? {
            let condition = conditions
                .iter()
                .find(|(re, _)| re.is_match(&name))
                .map(|(_, f)| f.clone())
                .filter(|f| !f.is_empty());
            self.inc.collections.push_back(Collection {
                id: name,
                condition,
                surrogate_key: surrogate.clone(),
            });
        }
        self.inc.correlation_id = Some(id.to_string());
        tracing::info!(signal = id, tables = ?self.inc.collections.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), "incremental snapshot requested");
        if start {
            self.inc_rows_scanned = 0;
            self.notify_incremental("STARTED", vec![("data_collections", self.inc_names())]);
            self.read_chunk()?;
        }
        Ok(())
    }

    /// An execute-snapshot of type blocking: streaming pauses once the signal's transaction
    /// is handed out (at once for the file and Kafka channels) and the snapshot runs; see
    /// `Stream::start_blocking`. Debezium runs one blocking snapshot at a time: a second
    /// signal while one waits replaces it.
    fn request_blocking(&mut self, id: &str, data: &Json, lsn: Option<u64>) {
        let requested = collections(data);
        if requested.is_empty() {
            tracing::warn!(
                id,
                "execute-snapshot of type blocking names no data-collections; ignored"
            );
            return;
        }
        let mut tables = Vec::new();
        for r in &requested {
            match regex::RegexBuilder::new(&format!("^(?:{r})$"))
                .case_insensitive(true)
                .build()
            {
                Ok(re) => tables.push(re),
                Err(e) => {
                    tracing::warn!(id, "execute-snapshot of type blocking: data-collection '{r}' is not a valid regular expression ({e}); the signal is ignored");
                    return;
                }
            }
        }
        // For a blocking snapshot an additional condition's filter is the whole SELECT
        // statement that reads the table, as snapshot.select.statement.overrides is.
        let mut selects = std::collections::BTreeMap::new();
        if let Some(Json::Array(items)) = data.get("additional-conditions") {
            for c in items {
                let coll = c.get("data-collection").and_then(Json::as_str);
                let filter = c.get("filter").and_then(Json::as_str);
                match (coll, filter) {
                    (Some(coll), Some(filter)) if !filter.trim().is_empty() => {
                        selects.insert(coll.trim().to_string(), filter.to_string());
                    }
                    _ => tracing::warn!(id, "execute-snapshot of type blocking: an additional condition without data-collection and filter; skipped"),
                }
            }
        }
        let (lsn, tx_id, sequence) = match (lsn, &self.txn) {
            (Some(lsn), Some(t)) => (
                lsn,
                Some(t.xid as i64),
                compact_str::format_compact!("[\"{}\",\"{lsn}\"]", t.begin_lsn),
            ),
            _ => (
                self.last_proc,
                None,
                compact_str::format_compact!("[null,\"{}\"]", self.last_proc),
            ),
        };
        tracing::info!(signal = id, tables = ?requested, "blocking snapshot requested: streaming pauses once the signal's transaction is handed out");
        self.blocking_request = Some(OnDemand {
            tables,
            selects,
            lsn,
            tx_id,
            sequence,
            offset: SourceOffset::new(),
        });
    }

    /// The tables of the incremental snapshot, as its notifications list them.
    fn inc_names(&self) -> String {
        let names: Vec<&str> = self.inc.collections.iter().map(|c| c.id.as_str()).collect();
        names.join(",")
    }

    fn notify_incremental(&mut self, kind: &str, data: Vec<(&str, String)>) {
        if self.cfg.notifications.is_some() {
            self.notify(notify::INCREMENTAL, kind, &data);
        }
    }

    /// TABLE_SCAN_COMPLETED of the current table with `status`, then the next table, and
    /// COMPLETED when there is none (Debezium's `notifyTableScanCompleted` and
    /// `nextDataCollection`).
    fn table_scan_completed(&mut self, status: &str) {
        if self.cfg.notifications.is_some() {
            let scanned = self.inc.current().map(|c| c.id.clone()).unwrap_or_default();
            let data = vec![
                ("data_collections", self.inc_names()),
                ("scanned_collection", scanned),
                ("total_rows_scanned", self.inc_rows_scanned.to_string()),
                ("status", status.to_string()),
            ];
            self.notify_incremental("TABLE_SCAN_COMPLETED", data);
        }
        if status == "SUCCEEDED" {
            self.inc_rows_scanned = 0;
        }
        self.inc.next_collection();
        self.inc_table = None;
        if !self.inc.running() {
            self.notify_incremental("COMPLETED", Vec::new());
        }
    }

    /// Debezium's `expandAndDedupeDataCollectionIds`: each entry a regex over the captured
    /// tables' `schema.table`, kept as it is when it matches none.
    fn expand(&mut self, requested: &[String]) -> Result<Vec<String>, ConnectError> {
        let captured: Vec<String> = db::captured_tables(&mut self.client, &self.cfg)
            .map_err(db_error(
                "listing the tables an execute-snapshot signal names",
            ))?
            .into_iter()
            .map(|t| format!("{}.{}", t.schema, t.name))
            .collect();
        let mut out: Vec<String> = Vec::new();
        for r in requested {
            let matched: Vec<String> = match Regex::new(&format!("^(?:{r})$")) {
                Ok(re) => captured
                    .iter()
                    .filter(|t| re.is_match(t))
                    .cloned()
                    .collect(),
                Err(_) => Vec::new(),
            };
            let names = if matched.is_empty() {
                vec![r.clone()]
            } else {
                matched
            };
            for n in names {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
        }
        Ok(out)
    }

    /// Applies stop-snapshot requests, as Debezium does when the next chunk is due.
    fn apply_stop(&mut self) -> Result<(), ConnectError> {
        if self.inc.to_stop.is_empty() {
            return Ok(());
        }
        let stop = std::mem::take(&mut self.inc.to_stop);
        if !self.inc.running() {
            return Ok(());
        }
        let names = self.expand(&stop)?;
        let current = self.inc.current().map(|c| c.id.clone());
        let mut stop_current = false;
        for n in &names {
            if Some(n) == current.as_ref() {
                stop_current = true;
            } else {
                self.inc.collections.retain(|c| &c.id != n);
            }
        }
        if stop_current {
            self.inc_rows_scanned = 0;
            self.inc.next_collection();
            self.inc_table = None;
        }
        tracing::info!(stopped = ?names, "incremental snapshot: tables removed by stop-snapshot");
        self.notify_incremental("ABORTED", vec![("data_collections", names.join(","))]);
        Ok(())
    }

    /// A change streamed for `key` of `t`: inside an open window, the chunk's row of that key
    /// is stale and leaves the window.
    pub(super) fn deduplicate(&mut self, t: &TableRef, key: &Value) {
        if !self.inc.window_open {
            return;
        }
        if let Some(cur) = &self.inc_table {
            if cur.schema_name == t.schema_name && cur.table_name == t.table_name {
                self.inc.evict(key);
            }
        }
    }

    /// The rows left in the window, as read events, before the close mark's own event.
    pub(super) fn send_window(&mut self, lsn: u64) {
        let rows = self.inc.take_window();
        let Some(t) = self.inc_table.clone() else {
            return;
        };
        let Some(mut state) = self.inc.stored() else {
            return;
        };
        // Inside a transaction at the event that closes the window; outside one (read.only: at
        // a commit or while idle) at the position a heartbeat would carry.
        let (sequence, base) = match &self.txn {
            // (The snapshot keys `offset` writes are overwritten per row below.)
            Some(txn) => (
                compact_str::format_compact!("[\"{}\",\"{lsn}\"]", txn.begin_lsn),
                self.offset(txn, lsn),
            ),
            None => {
                let at = self.heartbeat_position();
                (
                    compact_str::format_compact!("[\"{at}\",\"{at}\"]"),
                    self.heartbeat_offset(),
                )
            }
        };
        for row in rows {
            let source = events::source_value(
                &self.cfg,
                &t,
                SourceInfo {
                    ts_us: events::now_ns() / 1000,
                    snapshot: "incremental",
                    sequence: sequence.clone(),
                    tx_id: None,
                    lsn: None,
                    db: &self.cfg.dbname,
                },
            );
            let value = events::envelope(&t, Value::Null, row.after, source, "r", Value::Null);
            self.inc.last_sent = Some(row.parts);
            state.set_primary_key(self.inc.last_sent.as_deref());
            let mut offset = base.clone();
            state.write(&mut offset);
            let r = SourceRecord {
                partition: self.partition.clone(),
                offset,
                record: events::record(&self.cfg, &t, row.key, Some(value), None),
            };
            // Outside a transaction they go with the notifications made there, in order.
            if self.txn.is_some() {
                self.buf.push(r);
            } else {
                self.loose.push(r);
            }
        }
    }

    /// Reads the next chunk between two watermarks (Debezium's `readChunk`).
    pub(super) fn read_chunk(&mut self) -> Result<(), ConnectError> {
        self.apply_stop()?;
        if !self.inc.running() {
            self.inc.marks.clear();
            self.inc_state = None;
            return Ok(());
        }
        if self.inc.paused {
            return Ok(());
        }
        if self.cfg.read_only {
            return self.read_chunk_read_only();
        }
        let sig = self.cfg.signals.clone().expect("signals configured");
        if !self.inc_session {
            // The watermarks' commits flush the WAL at once, so the server sends them without
            // waiting for its WAL writer (wal_writer_delay) when synchronous_commit is off.
            self.client
                .batch_execute("SET synchronous_commit TO on")
                .map_err(|e| {
                    query_error(
                        &self.cfg,
                        "setting synchronous_commit for the watermark writes",
                        e,
                    )
                })?;
            self.inc_session = true;
        }
        let table_sql = format!("{}.{}", db::ident(&sig.schema), db::ident(&sig.table));
        let chunk_id = uuid::Uuid::now_v7().to_string();
        self.inc.chunk_id = Some(chunk_id.clone());
        let opened = chrono::Utc::now();
        let iso = |t: chrono::DateTime<chrono::Utc>| {
            t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        };
        let insert = format!("INSERT INTO {table_sql} VALUES ($1, $2, $3)");
        self.client
            .execute(
                &insert,
                &[
                    &format!("{chunk_id}-open"),
                    &OPEN,
                    &format!("{{\"openWindowTimestamp\": \"{}\"}}", iso(opened)),
                ],
            )
            .map_err(|e| {
                query_error(
                    &self.cfg,
                    "writing the incremental snapshot's window-open row to the signal table",
                    e,
                )
            })?;
        while self.inc.running() {
            if self.read_table_chunk()? {
                break;
            }
        }
        if sig.insert_delete {
            self.client
                .execute(
                    &format!("DELETE FROM {table_sql} WHERE id = $1"),
                    &[&format!("{chunk_id}-open")],
                )
                .map_err(|e| {
                    query_error(
                        &self.cfg,
                        "deleting the incremental snapshot's window-open row",
                        e,
                    )
                })?;
        } else {
            let data = format!(
                "{{\"openWindowTimestamp\": \"{}\", \"closeWindowTimestamp\": \"{}\"}}",
                iso(opened),
                iso(chrono::Utc::now())
            );
            self.client
                .execute(&insert, &[&format!("{chunk_id}-close"), &CLOSE, &data])
                .map_err(|e| {
                    query_error(
                        &self.cfg,
                        "writing the incremental snapshot's window-close row to the signal table",
                        e,
                    )
                })?;
        }
        if !self.inc.running() {
            tracing::info!("incremental snapshot completed");
        }
        if let Some(upto) = self.upto {
            // --once: the work includes the snapshot this run started, whose marks are
            // written after the run's end position was taken.
            let row = self
                .client
                .query_one("SELECT pg_current_wal_insert_lsn()::text", &[])
                .map_err(|e| query_error(&self.cfg, "reading pg_current_wal_insert_lsn()", e))?;
            let now = db::parse_lsn(&row.get::<_, String>(0)).unwrap_or(upto);
            if now > upto {
                self.upto = Some(now);
                self.reached = false;
            }
        }
        self.inc_state = self.inc.stored();
        Ok(())
    }

    /// A chunk between two `pg_current_snapshot()` readings; the stream closes its window.
    fn read_chunk_read_only(&mut self) -> Result<(), ConnectError> {
        let low = self.current_snapshot()?;
        self.inc.marks.set_low(low);
        while self.inc.running() {
            if self.read_table_chunk()? {
                break;
            }
        }
        let high = self.current_snapshot()?;
        self.inc.marks.set_high(high);
        if !self.inc.running() {
            self.inc.marks.clear();
            tracing::info!("incremental snapshot completed");
        }
        self.inc_state = self.inc.stored();
        Ok(())
    }

    /// One chunk of the current table into the window: true when it had rows, false when the
    /// table is done (or cannot be read) and the next one is current.
    fn read_table_chunk(&mut self) -> Result<bool, ConnectError> {
        let coll = self.inc.current().cloned().expect("running");
        let Some(t) = self.current_table(&coll)? else {
            self.table_scan_completed("UNKNOWN_SCHEMA");
            return Ok(false);
        };
        let key_cols: Vec<usize> = match &coll.surrogate_key {
            Some(k) => t
                .columns
                .iter()
                .position(|c| &c.name == k)
                .into_iter()
                .collect(),
            None => t.key_columns.clone(),
        };
        if key_cols.is_empty() {
            tracing::warn!(table = %coll.id, "incremental snapshot: the table has no primary key (nor message.key.columns or surrogate-key); skipped, as Debezium does");
            self.table_scan_completed("NO_PRIMARY_KEY");
            return Ok(false);
        }
        let cols: Vec<(String, bool)> = key_cols
            .iter()
            .map(|&i| (t.columns[i].name.clone(), true))
            .collect();
        let from = format!("{}.{}", db::ident(&t.schema_name), db::ident(&t.table_name));
        let condition = coll.condition.as_ref().map(|c| format!("({c})"));
        if self.inc.max_key.is_none() {
            // Aliased: an output column named as the key column would be what ORDER BY sorts.
            let keys: Vec<String> = cols
                .iter()
                .enumerate()
                .map(|(i, (n, _))| format!("{}::text AS k{i}", db::ident(n)))
                .collect();
            let order: Vec<String> = cols
                .iter()
                .map(|(n, _)| format!("{} DESC", db::ident(n)))
                .collect();
            let sql = format!(
                "SELECT {} FROM {from}{} ORDER BY {} LIMIT 1",
                keys.join(", "),
                condition
                    .as_ref()
                    .map(|c| format!(" WHERE {c}"))
                    .unwrap_or_default(),
                order.join(", ")
            );
            let row = self.client.query_opt(&sql, &[]).map_err(|e| {
                query_error(
                    &self.cfg,
                    &format!("reading the largest key of {}", coll.id),
                    e,
                )
            })?;
            let Some(row) = row else {
                tracing::info!(table = %coll.id, "incremental snapshot: the table is empty");
                self.table_scan_completed("EMPTY");
                return Ok(false);
            };
            self.inc.max_key = Some(
                key_cols
                    .iter()
                    .enumerate()
                    .map(|(j, &i)| {
                        incremental::key_part(
                            &t.columns[i].ty,
                            row.get::<_, Option<String>>(j).as_deref(),
                        )
                    })
                    .collect(),
            );
        }
        let mut filters = Vec::new();
        if let (Some(end), Some(max)) = (&self.inc.chunk_end, &self.inc.max_key) {
            filters.push(incremental::lower_bound(&cols, end));
            filters.push(format!("NOT {}", incremental::lower_bound(&cols, max)));
        }
        filters.extend(condition);
        let select_cols: Vec<String> = t.columns.iter().map(|c| db::ident(&c.name)).collect();
        let order: Vec<String> = cols.iter().map(|(n, _)| db::ident(n)).collect();
        let sql = format!(
            "COPY (SELECT {} FROM {from}{} ORDER BY {} LIMIT {}) TO STDOUT",
            if select_cols.is_empty() {
                "NULL".to_string()
            } else {
                select_cols.join(", ")
            },
            if filters.is_empty() {
                String::new()
            } else {
                format!(" WHERE {}", filters.join(" AND "))
            },
            order.join(", "),
            self.cfg.signals.as_ref().map_or(1024, |s| s.chunk_size)
        );
        let mut data = Vec::new();
        {
            use std::io::Read;
            let mut copy = self.client.copy_out(&sql).map_err(|e| {
                query_error(&self.cfg, &format!("reading a chunk of {}", coll.id), e)
            })?;
            copy.read_to_end(&mut data).map_err(|e| {
                ConnectError::retriable(format!("reading a chunk of {}: {e}", coll.id))
            })?;
        }
        let mut scratch = String::new();
        let mut fields = Vec::new();
        let mut last = None;
        for raw in data.split(|&b| b == b'\n').filter(|r| !r.is_empty()) {
            split_copy_row(raw, &mut scratch, &mut fields);
            let tuple: Vec<TupleValue<'_>> = fields
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
            let converted = t.row(&tuple, &self.cfg).and_then(|after| {
                let key = t.key(&tuple, &self.cfg)?;
                Ok((key, after))
            });
            let parts: Vec<_> = key_cols
                .iter()
                .map(|&i| {
                    let text = match tuple.get(i) {
                        Some(TupleValue::Text(s)) => Some(*s),
                        _ => None,
                    };
                    incremental::key_part(&t.columns[i].ty, text)
                })
                .collect();
            last = Some(parts.clone());
            self.inc_rows_scanned += 1;
            let (key, after) = match converted {
                Ok(kv) => kv,
                Err(e) => {
                    // Skipped (warn, skip): the chunk still ends at this row's key.
                    let position = format!("incremental snapshot row of {}", coll.id);
                    self.cfg.failure_mode.handle(&position, &e)?;
                    continue;
                }
            };
            self.inc.window_push(WindowRow { key, after, parts });
        }
        match last {
            None => {
                tracing::info!(table = %coll.id, "incremental snapshot of the table completed");
                self.table_scan_completed("SUCCEEDED");
                Ok(false)
            }
            Some(end) => {
                if self.cfg.notifications.is_some() {
                    let data = vec![
                        ("current_collection_in_progress", coll.id.clone()),
                        (
                            "maximum_key",
                            self.inc
                                .max_key
                                .as_deref()
                                .map(incremental::key_text)
                                .unwrap_or_else(|| "\"<null>\"".into()),
                        ),
                        ("data_collections", self.inc_names()),
                        ("last_processed_key", incremental::key_text(&end)),
                    ];
                    self.notify_incremental("IN_PROGRESS", data);
                }
                self.inc.chunk_end = Some(end);
                Ok(true)
            }
        }
    }

    /// The current table's schema as the catalog has it, or `None` (with a warning) when it
    /// does not exist or is not captured.
    fn current_table(&mut self, coll: &Collection) -> Result<Option<TableRef>, ConnectError> {
        if let Some(t) = &self.inc_table {
            if format!("{}.{}", t.schema_name, t.table_name) == coll.id {
                return Ok(Some(t.clone()));
            }
        }
        let Some((schema, name)) = coll.id.split_once('.') else {
            tracing::warn!(table = %coll.id, "incremental snapshot: not a <schema>.<table> name; skipped");
            return Ok(None);
        };
        if !self.cfg.filters.table_included(schema, name) {
            tracing::warn!(table = %coll.id, "incremental snapshot: the table is not captured (see table.include.list and the other filters); skipped");
            return Ok(None);
        }
        let row = self
            .client
            .query_opt(
                "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
                &[&schema, &name],
            )
            .map_err(|e| query_error(&self.cfg, "looking up a table to snapshot", e))?;
        let Some(row) = row else {
            tracing::warn!(table = %coll.id, "incremental snapshot: no such table; skipped");
            return Ok(None);
        };
        let id = TableId {
            oid: row.get(0),
            schema: schema.to_string(),
            name: name.to_string(),
        };
        let t = Arc::new(
            self.catalog
                .table_from_catalog(&mut self.client, &self.cfg, &id)
                .map_err(db_error("reading the schema of a table to snapshot"))?,
        );
        self.inc_table = Some(t.clone());
        Ok(Some(t))
    }
}

fn kind_is_blocking(data: &Json) -> bool {
    data.get("type")
        .and_then(Json::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case("blocking"))
}

fn collections(data: &Json) -> Vec<String> {
    match data.get("data-collections") {
        Some(Json::Array(items)) => items
            .iter()
            .filter_map(Json::as_str)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        Some(Json::String(s)) => s
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}
