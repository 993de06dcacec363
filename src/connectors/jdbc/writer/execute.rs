//! Writing a buffer: the optimistic COPY of upserts under a savepoint, the staging table, the
//! COPY itself and the statement that applies it, with failures traced to the record and
//! column that caused them.

use std::io::Write;

use postgres::Transaction;

use super::super::dialect::ident_string;
use super::super::WriteError;
use super::buffer::{Batch, Row, TableBuffer};
use super::plan::Plan;
use super::{coords, Writer};
use crate::data::SinkRecord;

/// When an upsert buffer tries the plain COPY first.
#[derive(Default)]
pub(super) struct Optimism {
    /// Buffers left to write the staged way before trying again.
    skip: u32,
    /// The skip set by the next miss.
    penalty: u32,
}

impl Optimism {
    const MAX_PENALTY: u32 = 64;

    pub fn should_try(&mut self) -> bool {
        if self.skip == 0 {
            return true;
        }
        self.skip -= 1;
        false
    }

    pub fn hit(&mut self) {
        self.penalty = 0;
    }

    pub fn miss(&mut self) {
        self.penalty = (self.penalty * 2).clamp(1, Self::MAX_PENALTY);
        self.skip = self.penalty;
    }
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

impl Writer {
    pub(super) fn flush_table(
        &mut self,
        tx: &mut Transaction<'_>,
        t: usize,
        buf: &mut TableBuffer,
        records: &[SinkRecord],
    ) -> Result<(), WriteError> {
        self.flush_batch(tx, t, &mut buf.rows, records)?;
        self.flush_batch(tx, t, &mut buf.deletes, records)
    }

    /// Writes one buffer and empties it.
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
        if self.try_direct_copy(tx, t, &plan, batch)? {
            batch.clear();
            return Ok(());
        }
        self.prepare_stage(tx, &plan, &table)?;
        match copy_rows(tx, &plan.sql.copy_sql, batch) {
            Ok(()) => {}
            Err(CopyFail::Pg(e)) => return Err(self.copy_error(e, &plan, batch, records, &table)),
            Err(CopyFail::Io(e)) => {
                return Err(WriteError::io(format!("cannot write to table {table}"), e))
            }
        }
        if let Some(apply) = &plan.sql.apply_sql {
            if let Err(e) = tx.batch_execute(apply) {
                return Err(self.apply_error(e, batch, records, &table));
            }
        }
        batch.clear();
        Ok(())
    }

    /// Upserts: tries the plain COPY into the table under a savepoint, when the table's
    /// recent misses allow. `true`: the buffer is written.
    fn try_direct_copy(
        &mut self,
        tx: &mut Transaction<'_>,
        t: usize,
        plan: &Plan,
        batch: &Batch,
    ) -> Result<bool, WriteError> {
        let Some(direct) = &plan.sql.optimistic_copy_sql else {
            return Ok(false);
        };
        if !self.tables[t].optimism.should_try() {
            return Ok(false);
        }
        let table = &self.tables[t].sql;
        let savepoint = |tx: &mut Transaction<'_>, sql: &str| {
            tx.batch_execute(sql)
                .map_err(|e| WriteError::db(format!("cannot write to table {table}"), e))
        };
        savepoint(tx, "SAVEPOINT kc_direct")?;
        match copy_rows(tx, direct, batch) {
            Ok(()) => {
                savepoint(tx, "RELEASE SAVEPOINT kc_direct")?;
                self.tables[t].optimism.hit();
                Ok(true)
            }
            Err(e) => {
                // Most likely a key that exists; any other problem shows again,
                // with its record, on the staged path.
                tracing::debug!(table = %table, error = %e, "direct COPY of an upsert buffer refused; staging it");
                savepoint(tx, "ROLLBACK TO SAVEPOINT kc_direct")?;
                self.tables[t].optimism.miss();
                Ok(false)
            }
        }
    }

    /// Creates the plan's staging table the first time in this session, or empties it when
    /// this transaction already used it.
    fn prepare_stage(
        &mut self,
        tx: &mut Transaction<'_>,
        plan: &Plan,
        table: &str,
    ) -> Result<(), WriteError> {
        let Some(stage) = &plan.sql.stage else {
            return Ok(());
        };
        if !self.stages.contains(stage) {
            tx.batch_execute(&plan.sql.stage_ddl).map_err(|e| {
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
        Ok(())
    }

    /// Names the records a failed apply statement covered: the record itself when alone.
    fn apply_error(
        &mut self,
        e: postgres::Error,
        batch: &Batch,
        records: &[SinkRecord],
        table: &str,
    ) -> WriteError {
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
        WriteError::db(format!("cannot write {range} to table {table}"), e)
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
        if let Some(stage) = &plan.sql.stage {
            message = message.replace(&format!("\"{stage}\""), table);
        }
        WriteError::db(format!("cannot write {what} to table {table}{col}"), e)
            .with_message(message)
    }
}
