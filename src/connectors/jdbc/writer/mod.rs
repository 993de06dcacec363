//! Turns a `put`'s records into as few statements as possible inside one transaction.
//!
//! Per destination table, rows are buffered as COPY text under a plan (the columns, types and
//! statements for one key/value schema pair). A buffer is written when it reaches
//! `batch.size`, when the plan changes, when a row follows pending deletes, and at the end of
//! the put: plain inserts are COPYed into the table; upserts, updates and deletes are COPYed
//! into a temporary staging table and applied with one `INSERT .. ON CONFLICT`, `UPDATE ..
//! FROM` or `DELETE .. USING` statement.
//!
//! Upserts first try the plain COPY into the table under a savepoint: when every key in the
//! buffer is new (a first load, an append-mostly stream) that is the whole cost, about three
//! times cheaper than staging plus `ON CONFLICT`. A unique violation rolls back to the
//! savepoint and the buffer takes the staged path; after such a miss the table skips the
//! attempt for a doubling number of buffers (up to 64), so a stream of updates pays for a
//! failed attempt only now and then. As in Confluent's `BufferedRecords`, pending rows are
//! written before pending deletes, and a row after a delete writes the buffer first, so the
//! order of changes to one key is kept.
//!
//! Within one buffer, upserts, updates and deletes keep only the last row per primary key:
//! one statement cannot change a row twice, and the last write is the one that counts.
//!
//! Here the records are routed to their tables; `plan` decides how a schema pair is written
//! (with `catalog`, `ddl` and `statements`), `buffer` holds the COPY text and `execute`
//! writes it.

mod buffer;
mod catalog;
mod ddl;
mod execute;
mod plan;
mod statements;

use std::collections::{HashMap, HashSet};
use std::sync::Arc as Rc;

use postgres::Transaction;

use crate::data::{SinkRecord, Value};

use super::config::JdbcSinkConfig;
use super::dialect::TableId;
use super::WriteError;
use buffer::TableBuffer;
use catalog::{load_table, TableMeta};
use execute::Optimism;
use plan::{Plan, PlanEntry};

struct TableState {
    sql: String,
    meta: Option<Option<TableMeta>>,
    optimism: Optimism,
}

pub struct Writer {
    cfg: std::sync::Arc<JdbcSinkConfig>,
    tables: Vec<TableState>,
    by_name: HashMap<String, usize>,
    by_topic: HashMap<String, usize>,
    /// Plans by the addresses of the record's schemas (the entry holds the schemas, so an
    /// address cannot be reused by another schema while it is cached).
    plans: HashMap<(usize, usize, usize, bool), PlanEntry>,
    /// Every plan built, per table: a schema rebuilt with the same shape (a transform that
    /// makes a new schema per record) finds its plan here instead of building another.
    built: Vec<Vec<Rc<Plan>>>,
    next_stage: u64,
    /// Staging tables that exist in this session, and those holding rows in this transaction.
    stages: HashSet<String>,
    dirty: HashSet<String>,
    buffers: Vec<TableBuffer>,
    /// The record the last failed `write` could not write, when one record was the cause.
    pub failed_record: Option<usize>,
}

impl Writer {
    pub fn new(cfg: std::sync::Arc<JdbcSinkConfig>) -> Writer {
        Writer {
            cfg,
            tables: Vec::new(),
            by_name: HashMap::new(),
            by_topic: HashMap::new(),
            plans: HashMap::new(),
            built: Vec::new(),
            next_stage: 0,
            stages: HashSet::new(),
            dirty: HashSet::new(),
            buffers: Vec::new(),
            failed_record: None,
        }
    }

    /// Forgets what the database was believed to hold: after a failed transaction (its DDL
    /// rolled back) or a new session (its temporary tables gone).
    pub fn reset(&mut self) {
        for t in &mut self.tables {
            t.meta = None;
        }
        self.plans.clear();
        for b in &mut self.built {
            b.clear();
        }
        self.stages.clear();
        self.dirty.clear();
        for b in &mut self.buffers {
            b.rows.clear();
            b.rows.plan = None;
            b.deletes.clear();
            b.deletes.plan = None;
        }
    }

    /// The transaction committed: staging tables were emptied by `ON COMMIT DELETE ROWS`.
    pub fn committed(&mut self) {
        self.dirty.clear();
    }

    fn table_for(&mut self, topic: &str) -> usize {
        if let Some(&i) = self.by_topic.get(topic) {
            return i;
        }
        let name = self.cfg.table_name_format.replace("${topic}", topic);
        let i = match self.by_name.get(&name) {
            Some(&i) => i,
            None => {
                let id = TableId::parse(&name);
                let sql = id.sql(self.cfg.quote_identifiers);
                self.tables.push(TableState {
                    sql,
                    meta: None,
                    optimism: Optimism::default(),
                });
                self.buffers.push(TableBuffer::default());
                self.built.push(Vec::new());
                self.by_name.insert(name, self.tables.len() - 1);
                self.tables.len() - 1
            }
        };
        self.by_topic.insert(topic.to_string(), i);
        i
    }

    fn meta(
        &mut self,
        tx: &mut Transaction<'_>,
        t: usize,
    ) -> Result<Option<&TableMeta>, WriteError> {
        if self.tables[t].meta.is_none() {
            let sql = self.tables[t].sql.clone();
            let m = load_table(tx, &sql).map_err(|e| {
                WriteError::db(format!("cannot read the columns of table {sql}"), e)
            })?;
            self.tables[t].meta = Some(m);
        }
        Ok(self.tables[t].meta.as_ref().and_then(|m| m.as_ref()))
    }

    /// Writes every record in `tx` but those in `skip`; the caller commits. On a failure
    /// that one record caused, `failed_record` names it.
    pub fn write(
        &mut self,
        tx: &mut Transaction<'_>,
        records: &[SinkRecord],
        skip: &HashSet<usize>,
    ) -> Result<(), WriteError> {
        self.failed_record = None;
        let mut touched: Vec<usize> = Vec::new();
        for (i, r) in records.iter().enumerate() {
            if skip.contains(&i) {
                continue;
            }
            let t = self.table_for(&r.record.topic);
            if !touched.contains(&t) {
                touched.push(t);
            }
            if r.record.value.is_null() {
                self.write_tombstone(tx, t, records, i)?;
            } else {
                self.write_row(tx, t, records, i)?;
            }
        }
        for t in touched {
            let mut buf = std::mem::take(&mut self.buffers[t]);
            let res = self.flush_table(tx, t, &mut buf, records);
            self.buffers[t] = buf;
            res?;
        }
        Ok(())
    }

    /// Buffers the delete of record `i`, a tombstone (`delete.enabled`).
    fn write_tombstone(
        &mut self,
        tx: &mut Transaction<'_>,
        t: usize,
        records: &[SinkRecord],
        i: usize,
    ) -> Result<(), WriteError> {
        let r = &records[i];
        let rec = &r.record;
        if !self.cfg.delete_enabled {
            self.failed_record = Some(i);
            return Err(WriteError::Data(format!(
                "Sink connector is configured with 'delete.enabled=false' and 'pk.mode={}' and therefore requires records with a non-null Struct value and non-null Struct schema, but found record at {} with a null value and {} value schema (table {}); set delete.enabled=true with pk.mode=record_key to delete rows, or filter tombstones out",
                self.cfg.pk_mode.name(),
                coords(r),
                if rec.value_schema.is_some() { "Struct" } else { "null" },
                self.tables[t].sql
            )));
        }
        let plan = self.plan(tx, t, rec.key_schema.as_ref(), None, true, r);
        if plan.is_err() {
            self.failed_record = Some(i);
        }
        let Some(plan) = plan? else {
            // No table yet: nothing to delete.
            return Ok(());
        };
        self.buffer(tx, t, records, i, &plan)
    }

    /// Buffers record `i`, which has a value, as a row under its plan.
    fn write_row(
        &mut self,
        tx: &mut Transaction<'_>,
        t: usize,
        records: &[SinkRecord],
        i: usize,
    ) -> Result<(), WriteError> {
        let r = &records[i];
        let rec = &r.record;
        let is_struct = matches!(rec.value, Value::Struct(_))
            && rec
                .value_schema
                .as_ref()
                .is_some_and(|s| s.ty == crate::data::SchemaType::Struct);
        if !is_struct {
            self.failed_record = Some(i);
            return Err(WriteError::Data(format!(
                "the JDBC sink requires records with a non-null Struct value and a Struct value schema, but found record at {} with a {} value and {} value schema (table {}); use a converter with schemas (value.converter.schemas.enable=true) or a transform that makes a struct",
                coords(r),
                value_kind(&rec.value),
                rec.value_schema.as_ref().map(|s| s.ty.connect_name()).unwrap_or("null"),
                self.tables[t].sql
            )));
        }
        let plan = self.plan(
            tx,
            t,
            rec.key_schema.as_ref(),
            rec.value_schema.as_ref(),
            false,
            r,
        );
        if plan.is_err() {
            self.failed_record = Some(i);
        }
        let plan = plan?.expect("a row always has a plan");
        self.buffer(tx, t, records, i, &plan)
    }

    /// Adds record `i` to table `t`'s rows or deletes (by its plan), writing the buffer first
    /// when the plan changes or a row follows deletes, and after when it is full.
    fn buffer(
        &mut self,
        tx: &mut Transaction<'_>,
        t: usize,
        records: &[SinkRecord],
        i: usize,
        plan: &Rc<Plan>,
    ) -> Result<(), WriteError> {
        let mut buf = std::mem::take(&mut self.buffers[t]);
        let res = (|| {
            let flush_first = if plan.delete {
                !buf.deletes.same_plan(plan) && !buf.deletes.rows.is_empty()
            } else {
                !buf.deletes.rows.is_empty()
                    || (!buf.rows.same_plan(plan) && !buf.rows.rows.is_empty())
            };
            if flush_first {
                self.flush_table(tx, t, &mut buf, records)?;
            }
            let batch = if plan.delete {
                &mut buf.deletes
            } else {
                &mut buf.rows
            };
            if let Err(e) = self.add(plan, batch, &records[i], i) {
                self.failed_record = Some(i);
                return Err(e);
            }
            if batch.live() >= self.cfg.batch_size {
                self.flush_table(tx, t, &mut buf, records)?;
            }
            Ok(())
        })();
        self.buffers[t] = buf;
        res
    }
}

/// Coordinates of a record for messages: topic-partition@offset.
pub fn coords(r: &SinkRecord) -> String {
    format!("{}-{}@{}", r.topic(), r.partition(), r.kafka_offset)
}

fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Struct(_) => "Struct",
        Value::Map(_) => "Map",
        Value::Array(_) => "Array",
        Value::String(_) => "String",
        _ => "primitive",
    }
}
