//! Plans: how records of one key/value schema pair are written to one table, built once per
//! schema pair (creating or evolving the table first when allowed) and cached by the schemas'
//! addresses.

use std::sync::Arc as Rc;

use postgres::Transaction;

use super::super::config::InsertMode;
use super::super::dialect::{ident_string, PgKind, Semantic};
use super::super::fields::{self, FieldSpec, Source};
use super::super::WriteError;
use super::catalog::{Column, TableMeta};
use super::ddl::{alter_table_sql, create_table_sql};
use super::statements::{self, Statements, Target};
use super::{coords, Writer};
use crate::data::{SchemaRef, SinkRecord};

#[derive(Debug)]
pub(super) struct PlanCol {
    pub column: String,
    pub source: Source,
    pub schema: SchemaRef,
    pub sem: Semantic,
    pub kind: PgKind,
    pub instant_tz: bool,
}

/// How records of one key/value schema pair are written to one table.
#[derive(Debug)]
pub struct Plan {
    /// Held so the schemas' addresses, which key the plan cache, stay unique.
    schemas: (Option<SchemaRef>, Option<SchemaRef>),
    pub(super) table: usize,
    pub(super) delete: bool,
    pub(super) cols: Vec<PlanCol>,
    pub(super) n_pk: usize,
    pub(super) sql: Statements,
    /// Upserts, updates and deletes keep the last row per key (see the module doc).
    pub(super) dedupe: bool,
}

pub(super) struct PlanEntry {
    _schemas: (Option<SchemaRef>, Option<SchemaRef>),
    plan: Option<Rc<Plan>>,
}

/// Bounds the address cache when schemas keep changing address.
const MAX_CACHED_SCHEMA_PAIRS: usize = 4096;

fn schema_addr(s: Option<&SchemaRef>) -> usize {
    s.map(|s| std::sync::Arc::as_ptr(s) as usize).unwrap_or(0)
}

/// A table column matched to the field that fills it.
struct Matched<'a> {
    column: Column,
    field: &'a FieldSpec,
    sem: Semantic,
    instant_tz: bool,
}

impl Writer {
    /// The plan for records of these schemas bound for table `t`, creating or altering the
    /// table first when allowed. `None`: a delete for a table that does not exist.
    pub(super) fn plan(
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
                    && p.schemas.0.as_deref() == key.map(|k| &**k)
                    && (delete || p.schemas.1.as_deref() == value.map(|v| &**v))
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
        let table = self.tables[t].sql.clone();
        let mut specs = fields::extract(&table, &self.cfg, key, value)
            .map_err(|e| WriteError::Data(format!("record {}: {e}", coords(r))))?;
        if delete {
            specs.retain(|f| f.pk);
        }
        let Some(meta) = self.ensure_table(tx, t, &specs, delete, r)? else {
            return Ok(None);
        };
        // Key columns first: their COPY text is the prefix rows are deduplicated by.
        specs.sort_by_key(|f| !f.pk);
        let cols = self.match_columns(&meta, &specs, &table, r)?;
        if !delete && self.cfg.insert_mode != InsertMode::Update {
            check_required_columns(&meta, &cols, &table, r)?;
        }
        let n_pk = specs.iter().filter(|f| f.pk).count();
        self.next_stage += 1;
        let targets: Vec<Target<'_>> = cols
            .iter()
            .map(|m| Target {
                column: &m.column,
                stage_as_tz: statements::stage_as_tz(m.instant_tz, &m.column),
            })
            .collect();
        let sql = statements::build(
            &table,
            &targets,
            n_pk,
            delete,
            self.cfg.insert_mode,
            self.cfg.quote_identifiers,
            format!("kc_stage_{}", self.next_stage),
        );
        let plan_cols = cols
            .into_iter()
            .map(|m| PlanCol {
                column: m.column.name,
                source: m.field.source,
                schema: m.field.schema.clone(),
                sem: m.sem,
                kind: m.column.kind,
                instant_tz: m.instant_tz,
            })
            .collect();
        Ok(Some(Plan {
            schemas: (key.cloned(), value.cloned()),
            table: t,
            delete,
            cols: plan_cols,
            n_pk,
            sql,
            dedupe: delete || self.cfg.insert_mode != InsertMode::Insert,
        }))
    }

    /// The table's columns once it has every field in `specs`: created (`auto.create`) or
    /// given the missing columns (`auto.evolve`) when allowed. `None`: a delete for a table
    /// that does not exist.
    fn ensure_table(
        &mut self,
        tx: &mut Transaction<'_>,
        t: usize,
        specs: &[FieldSpec],
        delete: bool,
        r: &SinkRecord,
    ) -> Result<Option<TableMeta>, WriteError> {
        let cfg = self.cfg.clone();
        let quote = cfg.quote_identifiers;
        let table = self.tables[t].sql.clone();
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
            let ddl = create_table_sql(&table, specs, quote).map_err(|e| {
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
        if missing.is_empty() {
            return Ok(Some(meta));
        }
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
        Ok(Some(self.meta(tx, t)?.expect("table exists").clone()))
    }

    /// Pairs each field with its column, refusing a struct, map or array bound for a column
    /// that cannot hold JSON.
    fn match_columns<'a>(
        &self,
        meta: &TableMeta,
        specs: &'a [FieldSpec],
        table: &str,
        r: &SinkRecord,
    ) -> Result<Vec<Matched<'a>>, WriteError> {
        let utc = is_utc(&self.cfg.db_timezone);
        let mut cols = Vec::with_capacity(specs.len());
        for f in specs {
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
            cols.push(Matched {
                column: c.clone(),
                field: f,
                sem,
                instant_tz,
            });
        }
        Ok(cols)
    }
}

/// An insert must fill every NOT NULL column that has no default.
fn check_required_columns(
    meta: &TableMeta,
    cols: &[Matched<'_>],
    table: &str,
    r: &SinkRecord,
) -> Result<(), WriteError> {
    for c in &meta.columns {
        if c.not_null && !c.has_default && !cols.iter().any(|m| m.column.name == c.name) {
            return Err(WriteError::Data(format!(
                "cannot write record {} to table {table}: column {} is NOT NULL without a default, and the record has no field for it",
                coords(r),
                ident_string(&c.name, true)
            )));
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_names() {
        assert!(is_utc("UTC") && is_utc("utc") && is_utc("Etc/UTC"));
        assert!(!is_utc("Europe/Paris"));
    }
}
