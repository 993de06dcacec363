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

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::Arc as Rc;

use postgres::{GenericClient, Transaction};

use crate::data::{SchemaRef, SinkRecord, Value};

use super::config::{InsertMode, JdbcSinkConfig};
use super::dialect::{self, ident, ident_string, PgKind, Semantic, TableId};
use super::fields::{self, FieldSpec, Source};
use super::WriteError;

/// A column of an existing table, from the catalog.
#[derive(Clone, Debug)]
pub struct Column {
    pub name: String,
    /// `format_type()`: the type as it would be declared, used for staging tables.
    pub sql_type: String,
    pub kind: PgKind,
    pub not_null: bool,
    /// Has a default, or is an identity or generated column: may be left out of an insert.
    pub has_default: bool,
}

#[derive(Clone, Debug)]
pub struct TableMeta {
    pub columns: Vec<Column>,
}

impl TableMeta {
    /// The column a field writes to: same name, else the one that differs only in case
    /// (as Confluent matches, since unquoted names fold to lower case).
    pub fn find(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name).or_else(|| {
            let mut it = self
                .columns
                .iter()
                .filter(|c| c.name.eq_ignore_ascii_case(name));
            match (it.next(), it.next()) {
                (Some(c), None) => Some(c),
                _ => None,
            }
        })
    }
}

pub fn load_table(
    client: &mut impl GenericClient,
    table_sql: &str,
) -> Result<Option<TableMeta>, postgres::Error> {
    let exists = client.query_one("SELECT to_regclass($1) IS NOT NULL", &[&table_sql])?;
    if !exists.get::<_, bool>(0) {
        return Ok(None);
    }
    let rows = client.query(
        "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), \
                COALESCE(bt.typname, t.typname)::text, a.attnotnull, \
                (a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '') \
         FROM pg_attribute a \
         JOIN pg_type t ON t.oid = a.atttypid \
         LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype \
         WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped \
         ORDER BY a.attnum",
        &[&table_sql],
    )?;
    Ok(Some(TableMeta {
        columns: rows
            .iter()
            .map(|r| {
                let typname: String = r.get(2);
                Column {
                    name: r.get(0),
                    sql_type: r.get(1),
                    kind: PgKind::of(&typname),
                    not_null: r.get(3),
                    has_default: r.get(4),
                }
            })
            .collect(),
    }))
}

#[derive(Debug)]
struct PlanCol {
    column: String,
    source: Source,
    schema: SchemaRef,
    sem: Semantic,
    kind: PgKind,
    instant_tz: bool,
}

/// How records of one key/value schema pair are written to one table.
#[derive(Debug)]
pub struct Plan {
    /// Held so the schemas' addresses, which key the plan cache, stay unique.
    _schemas: (Option<SchemaRef>, Option<SchemaRef>),
    table: usize,
    delete: bool,
    cols: Vec<PlanCol>,
    n_pk: usize,
    /// The staging table; `None` when rows are COPYed straight into the table.
    stage: Option<String>,
    stage_ddl: String,
    copy_sql: String,
    apply_sql: Option<String>,
    /// Upserts: the COPY straight into the table, tried first (see the module doc).
    optimistic_copy_sql: Option<String>,
    dedupe: bool,
    /// Nothing to write (an update without non-key columns).
    noop: bool,
}

struct TableState {
    sql: String,
    meta: Option<Option<TableMeta>>,
    optimism: Optimism,
}

/// When an upsert buffer tries the plain COPY first.
#[derive(Default)]
struct Optimism {
    /// Buffers left to write the staged way before trying again.
    skip: u32,
    /// The skip set by the next miss.
    penalty: u32,
}

impl Optimism {
    const MAX_PENALTY: u32 = 64;

    fn should_try(&mut self) -> bool {
        if self.skip == 0 {
            return true;
        }
        self.skip -= 1;
        false
    }

    fn hit(&mut self) {
        self.penalty = 0;
    }

    fn miss(&mut self) {
        self.penalty = (self.penalty * 2).clamp(1, Self::MAX_PENALTY);
        self.skip = self.penalty;
    }
}

/// Coordinates of a record for messages: topic-partition@offset.
pub fn coords(r: &SinkRecord) -> String {
    format!("{}-{}@{}", r.topic(), r.partition(), r.kafka_offset)
}

#[derive(Clone, Copy)]
struct Row {
    start: usize,
    end: usize,
    rec: usize,
    live: bool,
}

#[derive(Default)]
struct Batch {
    plan: Option<Rc<Plan>>,
    data: Vec<u8>,
    rows: Vec<Row>,
    dead: usize,
    index: HashMap<u64, usize>,
}

impl Batch {
    fn live(&self) -> usize {
        self.rows.len() - self.dead
    }

    fn clear(&mut self) {
        self.data.clear();
        self.rows.clear();
        self.dead = 0;
        self.index.clear();
    }

    fn same_plan(&self, p: &Rc<Plan>) -> bool {
        self.plan.as_ref().is_some_and(|q| Rc::ptr_eq(p, q))
    }
}

#[derive(Default)]
struct TableBuffer {
    rows: Batch,
    deletes: Batch,
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

struct PlanEntry {
    _schemas: (Option<SchemaRef>, Option<SchemaRef>),
    plan: Option<Rc<Plan>>,
}

/// Bounds the address cache when schemas keep changing address.
const MAX_CACHED_SCHEMA_PAIRS: usize = 4096;

fn schema_addr(s: Option<&SchemaRef>) -> usize {
    s.map(|s| std::sync::Arc::as_ptr(s) as usize).unwrap_or(0)
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
            let rec = &r.record;
            if rec.value.is_null() {
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
                    continue;
                };
                let mut buf = std::mem::take(&mut self.buffers[t]);
                let res = (|| {
                    if !buf.deletes.same_plan(&plan) && !buf.deletes.rows.is_empty() {
                        self.flush_table(tx, t, &mut buf, records)?;
                    }
                    if let Err(e) = self.add(&plan, &mut buf.deletes, r, i) {
                        self.failed_record = Some(i);
                        return Err(e);
                    }
                    if buf.deletes.live() >= self.cfg.batch_size {
                        self.flush_table(tx, t, &mut buf, records)?;
                    }
                    Ok(())
                })();
                self.buffers[t] = buf;
                res?;
            } else {
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
                let mut buf = std::mem::take(&mut self.buffers[t]);
                let res = (|| {
                    if !buf.deletes.rows.is_empty()
                        || (!buf.rows.same_plan(&plan) && !buf.rows.rows.is_empty())
                    {
                        self.flush_table(tx, t, &mut buf, records)?;
                    }
                    if let Err(e) = self.add(&plan, &mut buf.rows, r, i) {
                        self.failed_record = Some(i);
                        return Err(e);
                    }
                    if buf.rows.live() >= self.cfg.batch_size {
                        self.flush_table(tx, t, &mut buf, records)?;
                    }
                    Ok(())
                })();
                self.buffers[t] = buf;
                res?;
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

    /// Encodes one record as a COPY line into the batch.
    fn add(
        &self,
        plan: &Rc<Plan>,
        batch: &mut Batch,
        r: &SinkRecord,
        rec_index: usize,
    ) -> Result<(), WriteError> {
        if plan.noop {
            return Ok(());
        }
        if !batch.same_plan(plan) {
            batch.plan = Some(plan.clone());
        }
        let start = batch.data.len();
        let mut pk_end = start;
        let rec = &r.record;
        for (ci, col) in plan.cols.iter().enumerate() {
            if ci > 0 {
                batch.data.push(b'\t');
            }
            let out = &mut batch.data;
            let res = match col.source {
                Source::Topic => {
                    dialect::copy_escape(rec.topic.as_bytes(), out);
                    Ok(())
                }
                Source::Partition => {
                    out.extend_from_slice(itoa::Buffer::new().format(r.partition()).as_bytes());
                    Ok(())
                }
                Source::Offset => {
                    out.extend_from_slice(itoa::Buffer::new().format(r.kafka_offset).as_bytes());
                    Ok(())
                }
                Source::Key => dialect::encode_value(
                    &rec.key,
                    &col.schema,
                    col.sem,
                    col.kind,
                    col.instant_tz,
                    out,
                ),
                Source::KeyField(i) => {
                    let v = match &rec.key {
                        Value::Struct(s) => s.values.get(i).unwrap_or(&Value::Null),
                        _ => &Value::Null,
                    };
                    dialect::encode_value(v, &col.schema, col.sem, col.kind, col.instant_tz, out)
                }
                Source::ValueField(i) => {
                    let v = match &rec.value {
                        Value::Struct(s) => s.values.get(i).unwrap_or(&Value::Null),
                        _ => &Value::Null,
                    };
                    dialect::encode_value(v, &col.schema, col.sem, col.kind, col.instant_tz, out)
                }
            };
            if let Err(e) = res {
                batch.data.truncate(start);
                return Err(WriteError::Data(format!(
                    "cannot write record {} to table {}, column {}: {e}",
                    coords(r),
                    self.tables[plan.table].sql,
                    ident_string(&col.column, true)
                )));
            }
            if ci + 1 == plan.n_pk {
                pk_end = batch.data.len();
            }
        }
        batch.data.push(b'\n');
        let row = batch.rows.len();
        batch.rows.push(Row {
            start,
            end: batch.data.len(),
            rec: rec_index,
            live: true,
        });
        if plan.dedupe {
            let key = &batch.data[start..pk_end];
            match batch.index.entry(fnv1a(key)) {
                Entry::Occupied(mut e) => {
                    let old = batch.rows[*e.get()];
                    let old_key_end = old.start + key.len();
                    // Equal hashes of different keys (vanishingly rare) keep both rows.
                    if old_key_end <= old.end
                        && batch.data[old.start..old_key_end] == *key
                        && batch
                            .data
                            .get(old_key_end)
                            .is_some_and(|b| matches!(b, b'\t' | b'\n'))
                    {
                        batch.rows[*e.get()].live = false;
                        batch.dead += 1;
                        e.insert(row);
                    }
                }
                Entry::Vacant(e) => {
                    e.insert(row);
                }
            }
        }
        Ok(())
    }

    fn flush_table(
        &mut self,
        tx: &mut Transaction<'_>,
        t: usize,
        buf: &mut TableBuffer,
        records: &[SinkRecord],
    ) -> Result<(), WriteError> {
        self.flush_batch(tx, t, &mut buf.rows, records)?;
        self.flush_batch(tx, t, &mut buf.deletes, records)
    }

    fn flush_batch(
        &mut self,
        tx: &mut Transaction<'_>,
        t: usize,
        batch: &mut Batch,
        records: &[SinkRecord],
    ) -> Result<(), WriteError> {
        if batch.rows.is_empty() {
            return Ok(());
        }
        let plan = batch.plan.clone().expect("rows have a plan");
        let table = self.tables[t].sql.clone();
        if let Some(direct) = &plan.optimistic_copy_sql {
            if self.tables[t].optimism.should_try() {
                let savepoint = |tx: &mut Transaction<'_>, sql: &str| {
                    tx.batch_execute(sql)
                        .map_err(|e| WriteError::db(format!("cannot write to table {table}"), e))
                };
                savepoint(tx, "SAVEPOINT kc_direct")?;
                match copy_rows(tx, direct, batch) {
                    Ok(()) => {
                        savepoint(tx, "RELEASE SAVEPOINT kc_direct")?;
                        self.tables[t].optimism.hit();
                        batch.clear();
                        return Ok(());
                    }
                    Err(e) => {
                        // Most likely a key that exists; any other problem shows again,
                        // with its record, on the staged path.
                        tracing::debug!(table = %table, error = %e, "direct COPY of an upsert buffer refused; staging it");
                        savepoint(tx, "ROLLBACK TO SAVEPOINT kc_direct")?;
                        self.tables[t].optimism.miss();
                    }
                }
            }
        }
        if let Some(stage) = &plan.stage {
            if !self.stages.contains(stage) {
                tx.batch_execute(&plan.stage_ddl).map_err(|e| {
                    WriteError::db(format!("cannot create staging table for {table}"), e)
                })?;
                self.stages.insert(stage.clone());
            } else if self.dirty.contains(stage) {
                tx.batch_execute(&format!("TRUNCATE {stage}"))
                    .map_err(|e| {
                        WriteError::db(format!("cannot empty staging table for {table}"), e)
                    })?;
            }
            self.dirty.insert(stage.clone());
        }
        let copy_result = copy_rows(tx, &plan.copy_sql, batch);
        match copy_result {
            Ok(()) => {}
            Err(CopyFail::Pg(e)) => return Err(self.copy_error(e, &plan, batch, records, &table)),
            Err(CopyFail::Io(e)) => {
                return Err(WriteError::io(format!("cannot write to table {table}"), e))
            }
        }
        if let Some(apply) = &plan.apply_sql {
            if let Err(e) = tx.batch_execute(apply) {
                let live: Vec<&Row> = batch.rows.iter().filter(|r| r.live).collect();
                let first = &records[live[0].rec];
                let last = &records[live[live.len() - 1].rec];
                if live.len() == 1 {
                    self.failed_record = Some(live[0].rec);
                }
                let range = if live.len() == 1 {
                    format!("record {}", coords(first))
                } else {
                    format!(
                        "one of {} records from {} to {}",
                        live.len(),
                        coords(first),
                        coords(last)
                    )
                };
                return Err(WriteError::db(
                    format!("cannot write {range} to table {table}"),
                    e,
                ));
            }
        }
        batch.clear();
        Ok(())
    }

    /// Names the record and column a failed COPY stopped at, from the error's
    /// `COPY <table>, line N, column C` context.
    fn copy_error(
        &mut self,
        e: postgres::Error,
        plan: &Plan,
        batch: &Batch,
        records: &[SinkRecord],
        table: &str,
    ) -> WriteError {
        let Some(db) = e.as_db_error() else {
            return WriteError::db(format!("cannot write to table {table}"), e);
        };
        let ctx = db.where_().unwrap_or("");
        let line: Option<usize> = ctx
            .split("line ")
            .nth(1)
            .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok());
        let column = db.column().map(str::to_string).or_else(|| {
            ctx.split(", column ")
                .nth(1)
                .and_then(|s| s.split(':').next())
                .map(str::to_string)
        });
        let index = line.and_then(|n| {
            batch
                .rows
                .iter()
                .filter(|r| r.live)
                .nth(n.saturating_sub(1))
                .map(|r| r.rec)
        });
        self.failed_record = index;
        let record = index.map(|i| &records[i]);
        let what = match record {
            Some(r) => format!("record {}", coords(r)),
            None => "a record".to_string(),
        };
        let col = column
            .map(|c| format!(", column {}", ident_string(&c, true)))
            .unwrap_or_default();
        let mut message = db.message().to_string();
        if let Some(stage) = &plan.stage {
            message = message.replace(&format!("\"{stage}\""), table);
        }
        WriteError::db(format!("cannot write {what} to table {table}{col}"), e)
            .with_message(message)
    }

    /// The plan for records of these schemas bound for table `t`, creating or altering the
    /// table first when allowed. `None`: a delete for a table that does not exist.
    fn plan(
        &mut self,
        tx: &mut Transaction<'_>,
        t: usize,
        key: Option<&SchemaRef>,
        value: Option<&SchemaRef>,
        delete: bool,
        r: &SinkRecord,
    ) -> Result<Option<Rc<Plan>>, WriteError> {
        let cache_key = (t, schema_addr(key), schema_addr(value), delete);
        if let Some(e) = self.plans.get(&cache_key) {
            return Ok(e.plan.clone());
        }
        let same_shape = self.built[t]
            .iter()
            .find(|p| {
                p.delete == delete
                    && p._schemas.0.as_deref() == key.map(|k| &**k)
                    && (delete || p._schemas.1.as_deref() == value.map(|v| &**v))
            })
            .cloned();
        let p = match same_shape {
            Some(p) => Some(p),
            None => {
                let p = self.build_plan(tx, t, key, value, delete, r)?.map(Rc::new);
                if let Some(p) = &p {
                    self.built[t].push(p.clone());
                }
                p
            }
        };
        if p.is_none() {
            // The table does not exist yet; a later record may create it.
            return Ok(None);
        }
        if self.plans.len() >= MAX_CACHED_SCHEMA_PAIRS {
            self.plans.clear();
        }
        self.plans.insert(
            cache_key,
            PlanEntry {
                _schemas: (key.cloned(), value.cloned()),
                plan: p.clone(),
            },
        );
        Ok(p)
    }

    fn build_plan(
        &mut self,
        tx: &mut Transaction<'_>,
        t: usize,
        key: Option<&SchemaRef>,
        value: Option<&SchemaRef>,
        delete: bool,
        r: &SinkRecord,
    ) -> Result<Option<Plan>, WriteError> {
        let cfg = self.cfg.clone();
        let quote = cfg.quote_identifiers;
        let table = self.tables[t].sql.clone();
        let mut specs = fields::extract(&table, &cfg, key, value)
            .map_err(|e| WriteError::Data(format!("record {}: {e}", coords(r))))?;
        if delete {
            specs.retain(|f| f.pk);
        }
        if self.meta(tx, t)?.is_none() {
            if delete {
                // Looked up again next time: the table may be created meanwhile.
                self.tables[t].meta = None;
                return Ok(None);
            }
            if !cfg.auto_create {
                return Err(WriteError::Data(format!(
                    "Table {table} is missing and auto.create is disabled (record {}); create the table or set auto.create=true",
                    coords(r)
                )));
            }
            let ddl = create_table_sql(&table, &specs, quote).map_err(|e| {
                WriteError::Data(format!(
                    "cannot create table {table} for record {}: {e}",
                    coords(r)
                ))
            })?;
            tracing::info!(table = %table, "creating table: {ddl}");
            tx.batch_execute(&ddl)
                .map_err(|e| WriteError::ddl(format!("cannot create table {table}"), e))?;
            self.tables[t].meta = None;
        }
        let meta = self.meta(tx, t)?.expect("table exists").clone();
        let missing: Vec<&FieldSpec> = specs
            .iter()
            .filter(|f| meta.find(&f.name).is_none())
            .collect();
        if !missing.is_empty() {
            let names: Vec<&str> = missing.iter().map(|f| f.name.as_str()).collect();
            if !cfg.auto_evolve || delete {
                return Err(WriteError::Data(format!(
                    "Table {table} is missing fields ({}) needed by record {} and auto.evolve is disabled; add the columns or set auto.evolve=true",
                    names.join(", "),
                    coords(r)
                )));
            }
            let ddl = alter_table_sql(&table, &missing, quote).map_err(|e| {
                WriteError::Data(format!(
                    "cannot evolve table {table} for record {}: {e}",
                    coords(r)
                ))
            })?;
            tracing::info!(table = %table, "adding columns: {ddl}");
            tx.batch_execute(&ddl)
                .map_err(|e| WriteError::ddl(format!("cannot add columns to table {table}"), e))?;
            self.tables[t].meta = None;
        }
        let meta = self.meta(tx, t)?.expect("table exists").clone();
        let utc = is_utc(&cfg.db_timezone);
        // Key columns first: their COPY text is the prefix rows are deduplicated by.
        specs.sort_by_key(|f| !f.pk);
        let mut cols = Vec::with_capacity(specs.len());
        for f in &specs {
            let c = meta.find(&f.name).expect("columns were checked");
            let sem = Semantic::of(&f.schema);
            if fields::is_composite(&f.schema) && !matches!(c.kind, PgKind::Json | PgKind::Text) {
                return Err(WriteError::Data(format!(
                    "cannot write record {} to table {table}, column {}: a {} field cannot be written to a {} column (only json, jsonb or text)",
                    coords(r),
                    ident_string(&c.name, true),
                    f.schema.ty.connect_name(),
                    c.sql_type
                )));
            }
            let instant_tz = sem.is_instant()
                && (c.kind == PgKind::TimestampTz || (c.kind == PgKind::Timestamp && !utc));
            cols.push((c.clone(), f, sem, instant_tz));
        }
        if !delete && cfg.insert_mode != InsertMode::Update {
            for c in &meta.columns {
                if c.not_null && !c.has_default && !cols.iter().any(|(pc, ..)| pc.name == c.name) {
                    return Err(WriteError::Data(format!(
                        "cannot write record {} to table {table}: column {} is NOT NULL without a default, and the record has no field for it",
                        coords(r),
                        ident_string(&c.name, true)
                    )));
                }
            }
        }
        let n_pk = specs.iter().filter(|f| f.pk).count();
        let col_list = |prefix: &str| -> String {
            let mut s = String::new();
            for (i, (c, ..)) in cols.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                s.push_str(prefix);
                ident(&c.name, quote, &mut s);
            }
            s
        };
        let stage_cast = cols
            .iter()
            .any(|(c, _, _, tz)| *tz && c.kind == PgKind::Timestamp);
        let direct = !delete && cfg.insert_mode == InsertMode::Insert && !stage_cast;
        self.next_stage += 1;
        let stage_name = format!("kc_stage_{}", self.next_stage);
        let mut stage_ddl = format!("CREATE TEMPORARY TABLE \"{stage_name}\" (");
        for (i, (c, _, _, tz)) in cols.iter().enumerate() {
            if i > 0 {
                stage_ddl.push_str(", ");
            }
            ident(&c.name, quote, &mut stage_ddl);
            stage_ddl.push(' ');
            if *tz && c.kind == PgKind::Timestamp {
                stage_ddl.push_str("timestamp with time zone");
            } else {
                stage_ddl.push_str(&c.sql_type);
            }
            if c.not_null && !delete {
                stage_ddl.push_str(" NOT NULL");
            }
        }
        stage_ddl.push_str(") ON COMMIT DELETE ROWS");
        let stage_sql = format!("\"{stage_name}\"");
        let pk_cols: Vec<&Column> = cols.iter().take(n_pk).map(|(c, ..)| c).collect();
        let non_pk: Vec<&Column> = cols.iter().skip(n_pk).map(|(c, ..)| c).collect();
        let join = |sep: &str, items: &[&Column], f: &dyn Fn(&str) -> String| -> String {
            items
                .iter()
                .map(|c| f(&c.name))
                .collect::<Vec<_>>()
                .join(sep)
        };
        let q = |n: &str| ident_string(n, quote);
        let mut noop = false;
        let apply_sql = if delete {
            Some(format!(
                "DELETE FROM {table} AS kc_t USING {stage_sql} AS kc_s WHERE {}",
                join(" AND ", &pk_cols, &|n| format!(
                    "kc_t.{} = kc_s.{}",
                    q(n),
                    q(n)
                ))
            ))
        } else {
            match cfg.insert_mode {
                InsertMode::Insert if direct => None,
                InsertMode::Insert => Some(format!(
                    "INSERT INTO {table} ({}) SELECT {} FROM {stage_sql}",
                    col_list(""),
                    col_list("")
                )),
                InsertMode::Upsert => {
                    let action = if non_pk.is_empty() {
                        "DO NOTHING".to_string()
                    } else {
                        format!(
                            "DO UPDATE SET {}",
                            join(", ", &non_pk, &|n| format!("{}=EXCLUDED.{}", q(n), q(n)))
                        )
                    };
                    Some(format!(
                        "INSERT INTO {table} ({}) SELECT {} FROM {stage_sql} ON CONFLICT ({}) {action}",
                        col_list(""),
                        col_list(""),
                        join(",", &pk_cols, &|n| q(n))
                    ))
                }
                InsertMode::Update => {
                    if non_pk.is_empty() {
                        noop = true;
                        None
                    } else {
                        Some(format!(
                            "UPDATE {table} AS kc_t SET {} FROM {stage_sql} AS kc_s WHERE {}",
                            join(", ", &non_pk, &|n| format!("{} = kc_s.{}", q(n), q(n))),
                            join(" AND ", &pk_cols, &|n| format!(
                                "kc_t.{} = kc_s.{}",
                                q(n),
                                q(n)
                            ))
                        ))
                    }
                }
            }
        };
        let direct_copy = format!("COPY {table} ({}) FROM STDIN", col_list(""));
        let upsert = !delete && cfg.insert_mode == InsertMode::Upsert && !stage_cast;
        let optimistic_copy_sql = upsert.then(|| direct_copy.clone());
        let copy_sql = if direct {
            direct_copy
        } else {
            format!("COPY {stage_sql} ({}) FROM STDIN", col_list(""))
        };
        let dedupe = delete || cfg.insert_mode != InsertMode::Insert;
        let plan_cols = cols
            .into_iter()
            .map(|(c, f, sem, instant_tz)| PlanCol {
                column: c.name,
                source: f.source,
                schema: f.schema.clone(),
                sem,
                kind: c.kind,
                instant_tz,
            })
            .collect();
        Ok(Some(Plan {
            _schemas: (key.cloned(), value.cloned()),
            table: t,
            delete,
            cols: plan_cols,
            n_pk,
            stage: (!direct).then_some(stage_name),
            stage_ddl,
            copy_sql,
            apply_sql,
            optimistic_copy_sql,
            dedupe,
            noop,
        }))
    }
}

/// FNV-1a: keys here are short COPY text, and SipHash's DoS resistance buys nothing for
/// deduplicating one batch.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
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

pub fn is_utc(tz: &str) -> bool {
    matches!(
        tz.to_ascii_uppercase().as_str(),
        "UTC"
            | "Z"
            | "GMT"
            | "ETC/UTC"
            | "ETC/GMT"
            | "UCT"
            | "ZULU"
            | "UNIVERSAL"
            | "+00:00"
            | "00:00"
    )
}

enum CopyFail {
    Pg(postgres::Error),
    Io(std::io::Error),
}

impl std::fmt::Display for CopyFail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CopyFail::Pg(e) => write!(f, "{}", crate::connectors::pg_errors::describe(e)),
            CopyFail::Io(e) => write!(f, "{e}"),
        }
    }
}

/// Streams the batch's live rows through one COPY.
fn copy_rows(tx: &mut Transaction<'_>, sql: &str, batch: &Batch) -> Result<(), CopyFail> {
    let mut w = tx.copy_in(sql).map_err(CopyFail::Pg)?;
    let written = if batch.dead == 0 {
        w.write_all(&batch.data)
    } else {
        batch
            .rows
            .iter()
            .filter(|r| r.live)
            .try_for_each(|r| w.write_all(&batch.data[r.start..r.end]))
    };
    if let Err(e) = written {
        // The server's reason arrives with the end of the copy.
        return match w.finish() {
            Err(pe) => Err(CopyFail::Pg(pe)),
            Ok(_) => Err(CopyFail::Io(e)),
        };
    }
    w.finish().map_err(CopyFail::Pg)?;
    Ok(())
}

fn column_def(f: &FieldSpec, quote: bool, out: &mut String) -> Result<(), String> {
    ident(&f.name, quote, out);
    out.push(' ');
    out.push_str(&dialect::sql_type(&f.schema)?);
    if let Some(d) = f
        .schema
        .default
        .as_ref()
        .and_then(|d| dialect::default_literal(&f.schema, d))
    {
        out.push_str(" DEFAULT ");
        out.push_str(&d);
    }
    out.push_str(if f.pk || !f.schema.optional {
        " NOT NULL"
    } else {
        " NULL"
    });
    Ok(())
}

pub fn create_table_sql(table: &str, specs: &[FieldSpec], quote: bool) -> Result<String, String> {
    let mut s = format!("CREATE TABLE IF NOT EXISTS {table} (\n");
    for (i, f) in specs.iter().enumerate() {
        if i > 0 {
            s.push_str(",\n");
        }
        column_def(f, quote, &mut s)?;
    }
    let pks: Vec<String> = specs
        .iter()
        .filter(|f| f.pk)
        .map(|f| ident_string(&f.name, quote))
        .collect();
    if !pks.is_empty() {
        s.push_str(",\nPRIMARY KEY(");
        s.push_str(&pks.join(","));
        s.push(')');
    }
    s.push(')');
    Ok(s)
}

pub fn alter_table_sql(table: &str, missing: &[&FieldSpec], quote: bool) -> Result<String, String> {
    let mut s = format!("ALTER TABLE {table} ");
    for (i, f) in missing.iter().enumerate() {
        if !f.schema.optional && f.schema.default.is_none() {
            return Err(format!(
                "cannot add missing field {}: the field is not optional and has no default value",
                f.name
            ));
        }
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str("ADD COLUMN IF NOT EXISTS ");
        column_def(f, quote, &mut s)?;
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{schemas, Schema};

    fn spec(name: &str, schema: SchemaRef, pk: bool) -> FieldSpec {
        FieldSpec {
            name: name.into(),
            source: Source::ValueField(0),
            schema,
            pk,
        }
    }

    #[test]
    fn create_and_alter_statements() {
        let with_default = Schema::builder(crate::data::SchemaType::Int32)
            .optional()
            .default_value(Value::Int32(7))
            .build();
        let sql = create_table_sql(
            "\"t\"",
            &[
                spec("id", schemas::int64(), true),
                spec("name", schemas::optional_string(), false),
                spec("n", with_default.clone(), false),
            ],
            true,
        )
        .unwrap();
        assert_eq!(
            sql,
            "CREATE TABLE IF NOT EXISTS \"t\" (\n\"id\" BIGINT NOT NULL,\n\"name\" TEXT NULL,\n\"n\" INT DEFAULT 7 NULL,\nPRIMARY KEY(\"id\"))"
        );
        let f = spec("extra", schemas::optional_string(), false);
        assert_eq!(
            alter_table_sql("\"t\"", &[&f], true).unwrap(),
            "ALTER TABLE \"t\" ADD COLUMN IF NOT EXISTS \"extra\" TEXT NULL"
        );
        let required = spec("req", schemas::string(), false);
        assert!(alter_table_sql("\"t\"", &[&required], true)
            .unwrap_err()
            .contains("not optional"));
    }

    #[test]
    fn column_lookup_falls_back_to_case_insensitive() {
        let col = |n: &str| Column {
            name: n.into(),
            sql_type: "text".into(),
            kind: PgKind::Text,
            not_null: false,
            has_default: false,
        };
        let m = TableMeta {
            columns: vec![col("id"), col("Name"), col("a"), col("A")],
        };
        assert_eq!(m.find("ID").unwrap().name, "id");
        assert_eq!(m.find("name").unwrap().name, "Name");
        assert_eq!(m.find("A").unwrap().name, "A");
        assert!(m.find("nope").is_none());
    }

    #[test]
    fn utc_names() {
        assert!(is_utc("UTC") && is_utc("utc") && is_utc("Etc/UTC"));
        assert!(!is_utc("Europe/Paris"));
    }
}
