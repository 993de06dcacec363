//! pgoutput messages turned into change events: transactions tracked, the ones the
//! snapshot or the stored offsets already cover skipped, each record given its offset.

use std::sync::Arc;

use super::signals::Signal;
use super::Stream;
use crate::api::ConnectError;
use crate::connectors::postgres::events::{self, SourceInfo, TableRef};
use crate::connectors::postgres::pgoutput::{self, Message, TupleValue, PG_EPOCH_OFFSET_US};
use crate::data::{SourceOffset, SourceRecord, Value};

/// Why a row change produced no events: the task must stop (the stream itself is broken),
/// or this change could not be processed (event.processing.failure.handling.mode decides).
enum ChangeFailure {
    Task(ConnectError),
    Change(String),
}

impl From<ConnectError> for ChangeFailure {
    fn from(e: ConnectError) -> Self {
        ChangeFailure::Task(e)
    }
}

/// What becomes of a change's records when resuming inside its transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Replay {
    Emit,
    /// Delivered before the stored offset.
    Skip,
    /// At the stored position without a count: decided by the next message.
    Hold,
}

pub(super) struct Txn {
    pub(super) xid: u32,
    pub(super) begin_lsn: u64,
    pub(super) final_lsn: u64,
    pub(super) commit_us: i64,
    pub(super) skip: bool,
    /// Resuming inside this transaction: its changes up to there were delivered.
    pub(super) partial: Option<super::resume::Partial>,
    /// provide.transaction.metadata: change events so far, and per table (`schema.table`).
    pub(super) events: i64,
    pub(super) per_table: Vec<(String, i64)>,
}

impl Stream {
    pub(super) fn handle(
        &mut self,
        lsn: u64,
        data: &[u8],
        out: &mut Vec<SourceRecord>,
    ) -> Result<(), ConnectError> {
        let msg =
            pgoutput::decode(data).map_err(|e| ConnectError::fatal(e.to_string()).caused_by(e))?;
        let dml = matches!(
            msg,
            Message::Insert { .. } | Message::Update { .. } | Message::Delete { .. }
        );
        if self.held_at_lsn.1 > 0 && !(dml && lsn == self.held_at_lsn.0) {
            self.settle_held();
        }
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
                self.last_commit_us = commit_ts + PG_EPOCH_OFFSET_US;
                self.last_xid = Some(xid);
                let resume = self.resume_in;
                let delivered = resume.is_some_and(|r| r.delivered_before(xid, final_lsn));
                let partial = resume.and_then(|r| r.partial_of(xid));
                if partial.is_some() || resume.is_some_and(|r| r.passed(final_lsn)) {
                    self.resume_in = None;
                }
                let txn = Txn {
                    xid,
                    begin_lsn: self.message_commit.take().unwrap_or(lsn),
                    final_lsn,
                    commit_us: commit_ts + PG_EPOCH_OFFSET_US,
                    skip: seen || final_lsn < self.resume_proc || delivered,
                    partial,
                    events: 0,
                    per_table: Vec::new(),
                };
                // Resuming inside it: its BEGIN went out with its first changes.
                if !txn.skip && txn.partial.is_none() {
                    self.transaction_event(&txn, lsn, false);
                }
                self.txn = Some(txn);
            }
            Message::Commit { end_lsn, .. } => {
                let xid = self.txn.as_ref().map(|t| t.xid);
                if let Some(t) = self.txn.take().filter(|t| !t.skip) {
                    self.tally.transactions += 1;
                    self.transaction_event(&t, lsn, true);
                }
                if let Some(last) = self.buf.last_mut() {
                    last.offset.insert("lsn_proc", end_lsn);
                    self.last_handed_proc = end_lsn;
                    self.unfinished = false;
                    self.hand_out(out);
                }
                self.last_proc = self.last_proc.max(end_lsn);
                self.txn = None;
                if let (true, Some(xid)) = (self.cfg.read_only && self.inc.running(), xid) {
                    // Debezium's processTransactionCommittedEvent.
                    self.window_progress(xid, false)?;
                    self.inc_state = self.inc.stored();
                    out.append(&mut self.loose);
                }
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
            Message::Insert { .. } | Message::Update { .. } | Message::Delete { .. } => {
                self.at_lsn = if self.at_lsn.0 == lsn {
                    (lsn, self.at_lsn.1 + 1)
                } else {
                    (lsn, 1)
                };
                let index = self.at_lsn.1;
                self.done_at_lsn = index - 1;
                let partial = self.txn.as_ref().and_then(|t| t.partial);
                // The stored position without a count: held until the next message says
                // whether this change was alone there (then it is the stored one).
                self.replay = match partial {
                    Some(p) if p.delivered(lsn, index) => Replay::Skip,
                    Some(p) if p.uncounted_at(lsn) => Replay::Hold,
                    _ => Replay::Emit,
                };
                self.last_change = None;
                let held_before = self.held_records.len();
                let result = self.data_change(lsn, msg);
                let replay = std::mem::replace(&mut self.replay, Replay::Emit);
                if let Err(failure) = result {
                    match failure {
                        ChangeFailure::Task(e) => return Err(e),
                        ChangeFailure::Change(e) => self.change_failed(lsn, &e)?,
                    }
                }
                self.done_at_lsn = 0;
                match replay {
                    Replay::Hold if self.held_records.len() > held_before => {
                        self.held_at_lsn = (lsn, self.held_at_lsn.1 + 1);
                    }
                    // The message's last record: this change is handed out in full.
                    Replay::Emit => {
                        if let Some(i) = self.last_change.take() {
                            self.buf[i].offset.insert("lsn_events_processed", index);
                        }
                    }
                    _ => {}
                }
            }
            Message::Truncate { rels } => {
                if !self.cfg.skip_truncate {
                    for rel in rels {
                        if let Some(t) = self.table(rel)? {
                            self.emit(&t, lsn, None, Some((Value::Null, Value::Null, "t")), None)?;
                        }
                    }
                }
            }
            Message::Logical {
                transactional,
                prefix,
                content,
                ..
            } => self.logical_message(lsn, transactional, prefix, content, out),
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

    /// A row change turned into its events; conversions and post processors run before any
    /// event is kept, so a change that fails leaves nothing behind.
    fn data_change(&mut self, lsn: u64, msg: Message<'_>) -> Result<(), ChangeFailure> {
        match msg {
            Message::Insert { rel, new } => {
                if let Some(t) = self.table(rel)? {
                    if self.is_signal_table(&t) {
                        if let Some(signal) = Signal::from_tuple(&new) {
                            self.signal(signal, Some(lsn))?;
                        }
                    }
                    if !self.cfg.skip_create {
                        let key = t.key(&new, &self.cfg).map_err(ChangeFailure::Change)?;
                        let mut after = t.row(&new, &self.cfg).map_err(ChangeFailure::Change)?;
                        self.post_process(&t, &new, &mut after)?;
                        self.emit(&t, lsn, key, Some((Value::Null, after, "c")), None)?;
                    }
                }
            }
            Message::Update { rel, old, mut new } => {
                if let Some(t) = self.table(rel)? {
                    // Debezium takes an unchanged TOASTed value from the old row when the old
                    // row carries it (REPLICA IDENTITY FULL), as it recovers it (DBZ-1258).
                    if let Some((_, o)) = &old {
                        for (v, was) in new.iter_mut().zip(o) {
                            if let (TupleValue::Unchanged, TupleValue::Text(text)) = (&*v, was) {
                                *v = TupleValue::Text(text);
                            }
                        }
                    }
                    let new_key = t.key(&new, &self.cfg).map_err(ChangeFailure::Change)?;
                    let old_key = match &old {
                        Some((_, o)) if t.key_schema.is_some() => {
                            t.key(o, &self.cfg).map_err(ChangeFailure::Change)?
                        }
                        _ => None,
                    };
                    let mut after = t.row(&new, &self.cfg).map_err(ChangeFailure::Change)?;
                    if old_key.is_some() && old_key != new_key {
                        self.post_process(&t, &new, &mut after)?;
                        // A primary-key change: delete (and tombstone) the old key, create the new.
                        let before = t
                            .row(&old.as_ref().expect("old tuple").1, &self.cfg)
                            .map_err(ChangeFailure::Change)?;
                        // Debezium marks each side with the other key.
                        let new_key_header = new_key.clone().map(|k| ("__debezium.newkey", k));
                        let old_key_header = old_key.clone().map(|k| ("__debezium.oldkey", k));
                        self.emit(
                            &t,
                            lsn,
                            old_key.clone(),
                            Some((before, Value::Null, "d")),
                            new_key_header.clone(),
                        )?;
                        if self.cfg.tombstones {
                            self.emit(&t, lsn, old_key, None, new_key_header)?;
                        }
                        self.emit(
                            &t,
                            lsn,
                            new_key,
                            Some((Value::Null, after, "c")),
                            old_key_header,
                        )?;
                    } else if !self.cfg.skip_update {
                        let before = match &old {
                            Some((_, o)) => t.row(o, &self.cfg).map_err(ChangeFailure::Change)?,
                            None => Value::Null,
                        };
                        self.post_process(&t, &new, &mut after)?;
                        self.emit(&t, lsn, new_key, Some((before, after, "u")), None)?;
                    }
                }
            }
            Message::Delete { rel, old } => {
                if let Some(t) = self.table(rel)? {
                    let insert_delete = self.cfg.signals.as_ref().is_some_and(|s| s.insert_delete);
                    if insert_delete && self.is_signal_table(&t) {
                        // The open row's delete closes its window (insert_delete).
                        // Only the key is in the old row under the default replica identity.
                        if let Some(TupleValue::Text(id)) = old.1.first() {
                            let signal = Signal {
                                id: id.replace("open", "close"),
                                kind: "snapshot-window-close".into(),
                                data: None,
                            };
                            self.signal(signal, Some(lsn))?;
                        }
                    }
                    if !self.cfg.skip_delete {
                        let key = t.key(&old.1, &self.cfg).map_err(ChangeFailure::Change)?;
                        let before = t.row(&old.1, &self.cfg).map_err(ChangeFailure::Change)?;
                        self.emit(&t, lsn, key.clone(), Some((before, Value::Null, "d")), None)?;
                        if self.cfg.tombstones {
                            self.emit(&t, lsn, key, None, None)?;
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Debezium's post processors on a created or updated row's after-image.
    fn post_process(
        &mut self,
        t: &TableRef,
        tuple: &[TupleValue<'_>],
        after: &mut Value,
    ) -> Result<(), ChangeFailure> {
        if self.cfg.reselectors.is_empty() || self.is_signal_table(t) {
            return Ok(());
        }
        let cfg = self.cfg.clone();
        for r in &cfg.reselectors {
            r.apply(&mut self.client, &cfg, t, tuple, after)
                .map_err(ChangeFailure::Change)?;
        }
        Ok(())
    }

    /// A change that could not be processed, handled as event.processing.failure.handling.mode
    /// says; its position named as Debezium's offset names it.
    fn change_failed(&mut self, lsn: u64, error: &str) -> Result<(), ConnectError> {
        let position = match &self.txn {
            Some(t) => format!(
                "{{lsn_proc={}, lsn={lsn}, txId={}, ts_usec={}}}",
                self.last_proc, t.xid, t.commit_us
            ),
            None => format!("{{lsn={lsn}}}"),
        };
        self.cfg.failure_mode.handle(&position, error)
    }

    /// The captured table of a change in a transaction being emitted.
    fn table(&mut self, rel: u32) -> Result<Option<TableRef>, ConnectError> {
        if self.txn.as_ref().is_none_or(|t| t.skip) {
            return Ok(None);
        }
        match self.relations.get(&rel) {
            Some(None) => {
                self.tally.filtered += 1;
                Ok(None)
            }
            Some(t) => Ok(t.clone()),
            None => Err(ConnectError::fatal(format!(
                "pgoutput sent a change for relation {rel} before describing it; the slot's stream is inconsistent"
            ))),
        }
    }

    /// The BEGIN or END event of a transaction (provide.transaction.metadata), identified as
    /// Debezium identifies it: `<txId>:<LSN of the message>`, with its commit time.
    fn transaction_event(&mut self, txn: &Txn, lsn: u64, end: bool) {
        let Some(topic) = &self.cfg.transaction_topic else {
            return;
        };
        let id = format!("{}:{lsn}", txn.xid);
        let counts = end.then_some((txn.events, txn.per_table.as_slice()));
        let record = events::transaction_event(topic, &id, txn.commit_us / 1000, counts);
        let offset = self.offset(txn, lsn);
        self.buf.push(SourceRecord {
            partition: self.partition.clone(),
            offset,
            record,
        });
    }

    /// The changes held at a stored position without a count: one alone there is the
    /// stored change itself, delivered before; several cannot be told apart, so all go out
    /// again.
    fn settle_held(&mut self) {
        if self.held_at_lsn.1 > 1 {
            self.buf.append(&mut self.held_records);
        }
        self.held_records.clear();
        self.held_at_lsn = (0, 0);
    }

    pub(super) fn offset(&self, txn: &Txn, lsn: u64) -> SourceOffset {
        let mut offset = SourceOffset::new();
        offset.insert("lsn_proc", self.last_proc);
        offset.insert("lsn_commit", txn.final_lsn);
        offset.insert("lsn", lsn);
        offset.insert("txId", txn.xid);
        offset.insert("ts_usec", txn.commit_us);
        if self.done_at_lsn > 0 {
            offset.insert("lsn_events_processed", self.done_at_lsn);
        }
        if let Some(state) = &self.inc_state {
            state.write(&mut offset);
        }
        offset
    }

    fn emit(
        &mut self,
        t: &TableRef,
        lsn: u64,
        key: Option<Value>,
        change: Option<(Value, Value, &str)>,
        key_change: Option<(&'static str, Value)>,
    ) -> Result<(), ConnectError> {
        if self.cfg.read_only {
            if change.is_some() {
                let xid = self.txn.as_ref().expect("inside a transaction").xid;
                self.window_event(t, key.as_ref(), xid, lsn)?;
            }
        } else if let Some(k) = &key {
            self.deduplicate(t, k);
        }
        let metadata = self.cfg.transaction_topic.is_some();
        let txn = self.txn.as_mut().expect("inside a transaction");
        self.tally.last_commit_ms = Some(txn.commit_us / 1000);
        let transaction = match &change {
            Some(_) if metadata => {
                txn.events += 1;
                // The `schema.table` name is made once per table and transaction, not per event.
                let (schema, table) = (t.schema_name.as_str(), t.table_name.as_str());
                let is_this = |n: &str| {
                    n.strip_prefix(schema)
                        .and_then(|r| r.strip_prefix('.'))
                        .is_some_and(|r| r == table)
                };
                let order = match txn.per_table.iter_mut().find(|(n, _)| is_this(n)) {
                    Some((_, n)) => {
                        *n += 1;
                        *n
                    }
                    None => {
                        txn.per_table.push((format!("{schema}.{table}"), 1));
                        1
                    }
                };
                events::transaction_block(&format!("{}:{lsn}", txn.xid), txn.events, order)
            }
            _ => Value::Null,
        };
        let txn = self.txn.as_ref().expect("inside a transaction");
        let record = match change {
            Some((before, after, op)) => {
                match op {
                    "c" => self.tally.creates += 1,
                    "u" => self.tally.updates += 1,
                    "d" => self.tally.deletes += 1,
                    _ => {}
                }
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
                let value = events::envelope(t, before, after, source, op, transaction);
                events::record(&self.cfg, t, key, Some(value), key_change)
            }
            None => events::record(&self.cfg, t, key, None, key_change),
        };
        let offset = self.offset(txn, lsn);
        let r = SourceRecord {
            partition: self.partition.clone(),
            offset,
            record,
        };
        // Only the change's own records: an incremental snapshot window it closed went into
        // the buffer already and goes out whatever becomes of the change.
        match self.replay {
            Replay::Emit => {
                self.buf.push(r);
                self.last_change = Some(self.buf.len() - 1);
            }
            Replay::Skip => {}
            Replay::Hold => self.held_records.push(r),
        }
        Ok(())
    }
}
