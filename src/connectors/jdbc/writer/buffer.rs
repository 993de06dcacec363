//! The per-table buffers: each record encoded once as a line of COPY text under its plan,
//! with upserts, updates and deletes keeping only the last row per key.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Arc as Rc;

use super::super::copy_text;
use super::super::dialect::ident_string;
use super::super::fields::Source;
use super::super::WriteError;
use super::plan::Plan;
use super::{coords, Writer};
use crate::data::{SinkRecord, Value};

#[derive(Clone, Copy)]
pub(super) struct Row {
    pub start: usize,
    pub end: usize,
    pub rec: usize,
    pub live: bool,
}

#[derive(Default)]
pub(super) struct Batch {
    pub plan: Option<Rc<Plan>>,
    pub data: Vec<u8>,
    pub rows: Vec<Row>,
    /// Rows a later row with the same key replaced.
    pub dead: usize,
    /// Row by hash of its key columns' COPY text.
    index: HashMap<u64, usize>,
}

impl Batch {
    pub fn live(&self) -> usize {
        self.rows.len() - self.dead
    }

    pub fn clear(&mut self) {
        self.data.clear();
        self.rows.clear();
        self.dead = 0;
        self.index.clear();
    }

    pub fn same_plan(&self, p: &Rc<Plan>) -> bool {
        self.plan.as_ref().is_some_and(|q| Rc::ptr_eq(p, q))
    }
}

#[derive(Default)]
pub(super) struct TableBuffer {
    pub rows: Batch,
    pub deletes: Batch,
}

impl Writer {
    /// Encodes one record as a COPY line into the batch.
    pub(super) fn add(
        &self,
        plan: &Rc<Plan>,
        batch: &mut Batch,
        r: &SinkRecord,
        rec_index: usize,
    ) -> Result<(), WriteError> {
        if plan.sql.noop {
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
                    copy_text::copy_escape(rec.topic.as_bytes(), out);
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
                Source::Key => copy_text::encode_value(
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
                    copy_text::encode_value(v, &col.schema, col.sem, col.kind, col.instant_tz, out)
                }
                Source::ValueField(i) => {
                    let v = match &rec.value {
                        Value::Struct(s) => s.values.get(i).unwrap_or(&Value::Null),
                        _ => &Value::Null,
                    };
                    copy_text::encode_value(v, &col.schema, col.sem, col.kind, col.instant_tz, out)
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
