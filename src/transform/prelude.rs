//! The prelude every `$Key`/`$Value` transform's `apply` opens with in Connect (null check,
//! `operatingValue`, `applySchemaless` on a `Map` or `applyWithSchema` on a `Struct`, then
//! `newRecord`), written once so each transform only says what it does to the fields.

use crate::data::{ConnectRecord, Map, SchemaRef, Struct, Value};

use super::util::{require_map, require_struct, Target};
use super::TransformError;

/// Whether a null key or value skips the transform. Connect's transforms differ here, and the
/// difference shows: without the check, a schemaless null fails `requireMap` naming `null`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnNull {
    /// `if (operatingValue(record) == null) return record;` at the top of `apply`.
    PassThrough,
    /// No check: the body sees the null.
    Apply,
}

/// The key or value as Connect's `applySchemaless` / `applyWithSchema` receive it, the
/// requirement already checked with Connect's message.
pub enum Operand {
    Schemaless(Map),
    /// The record's schema, and the struct (which carries its own schema).
    WithSchema(SchemaRef, Struct),
}

impl Operand {
    /// `requireMap` without a schema, `requireStruct` with one.
    pub fn require(
        schema: Option<SchemaRef>,
        value: Value,
        purpose: &str,
    ) -> Result<Operand, TransformError> {
        Ok(match schema {
            None => Operand::Schemaless(require_map(value, purpose)?),
            Some(schema) => Operand::WithSchema(schema, require_struct(value, purpose)?),
        })
    }
}

/// The schema and value a transform puts back in place of the ones it took.
pub type Rewritten = (Option<SchemaRef>, Value);

/// A schemaless map put back (a `Vec` of entries is a `new HashMap<>()` of them).
pub fn map_out(entries: impl Into<Map>) -> Rewritten {
    (None, Value::Map(entries.into()))
}

/// A struct of `schema` put back, with `schema` as the record's schema too.
pub fn struct_out(schema: SchemaRef, values: Vec<Value>) -> Rewritten {
    (
        Some(schema.clone()),
        Value::Struct(Struct { schema, values }),
    )
}

/// Takes the target's schema and value out of the record (unless `on_null` lets a null pass),
/// hands them to `body` with the record (for its topic, offset and headers), and sets back what
/// `body` returns. On error the record is dropped, as the caller's error replaces it anyway.
pub fn rewrite(
    target: Target,
    mut record: ConnectRecord,
    on_null: OnNull,
    body: impl FnOnce(&mut ConnectRecord, Option<SchemaRef>, Value) -> Result<Rewritten, TransformError>,
) -> Result<Option<ConnectRecord>, TransformError> {
    if on_null == OnNull::PassThrough && target.value(&record).is_null() {
        return Ok(Some(record));
    }
    let (schema, value) = target.take(&mut record);
    let (schema, value) = body(&mut record, schema, value)?;
    target.set(&mut record, schema, value);
    Ok(Some(record))
}

/// [`rewrite`] for the transforms that work field by field: the body gets a map without a
/// schema and a struct with one, or the transform fails with Connect's requirement message.
pub fn rewrite_fields(
    target: Target,
    record: ConnectRecord,
    on_null: OnNull,
    purpose: &str,
    body: impl FnOnce(&mut ConnectRecord, Operand) -> Result<Rewritten, TransformError>,
) -> Result<Option<ConnectRecord>, TransformError> {
    rewrite(target, record, on_null, |record, schema, value| {
        body(record, Operand::require(schema, value, purpose)?)
    })
}
