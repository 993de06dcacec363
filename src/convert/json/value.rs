//! Values to JSON, as Connect's `convertToJson` does: logical types, defaults for nulls, maps
//! with non-string keys as arrays of pairs.

use super::text::{push_base64, write_float, write_str};
use super::JsonOptions;
use crate::convert::{java_double_string, java_float_string, DataError};
use crate::data::schema::DECIMAL_NAME;
use crate::data::{Schema, SchemaType, Value};

/// Writes a value as `convertToJson` does.
pub fn write_value(
    out: &mut Vec<u8>,
    schema: Option<&Schema>,
    value: &Value,
    opts: JsonOptions,
) -> Result<(), DataError> {
    if value.is_null() {
        let Some(s) = schema else {
            out.extend_from_slice(b"null");
            return Ok(());
        };
        if opts.replace_null_with_default {
            if let Some(d) = &s.default {
                return write_value(out, Some(s), d, opts);
            }
        }
        if s.optional {
            out.extend_from_slice(b"null");
            return Ok(());
        }
        return Err(DataError::new(
            "Conversion error: null value for field that is required and has no default value",
        ));
    }
    let mut num = itoa::Buffer::new();
    match value {
        Value::Null => unreachable!(),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int8(v) => out.extend_from_slice(num.format(*v).as_bytes()),
        Value::Int16(v) => out.extend_from_slice(num.format(*v).as_bytes()),
        Value::Int32(v) => out.extend_from_slice(num.format(*v).as_bytes()),
        Value::Int64(v) => out.extend_from_slice(num.format(*v).as_bytes()),
        Value::Float32(v) => write_float(out, java_float_string(*v)),
        Value::Float64(v) => write_float(out, java_double_string(*v)),
        Value::String(s) => write_str(out, s),
        Value::Bytes(b) => {
            out.push(b'"');
            push_base64(out, b);
            out.push(b'"');
        }
        Value::Decimal(d) => {
            let scale = schema
                .filter(|s| s.is_named(DECIMAL_NAME))
                .map(|s| s.decimal_scale())
                .unwrap_or(d.scale);
            let d = if d.scale == scale {
                d.clone()
            } else {
                d.rescale(scale)
            };
            if opts.decimal_numeric {
                out.extend_from_slice(d.to_plain_string().as_bytes());
            } else {
                out.push(b'"');
                push_base64(out, &d.to_bytes());
                out.push(b'"');
            }
        }
        Value::Array(items) => {
            let item_schema = schema.and_then(|s| s.value_schema.as_deref());
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item_schema, v, opts)?;
            }
            out.push(b']');
        }
        Value::Map(entries) => {
            let (ks, vs) = match schema {
                Some(s) => (s.key_schema.as_deref(), s.value_schema.as_deref()),
                None => (None, None),
            };
            let object_mode = match ks {
                Some(k) => k.ty == SchemaType::String,
                None => entries.iter().all(|(k, _)| matches!(k, Value::String(_))),
            };
            if object_mode {
                out.push(b'{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    match k {
                        Value::String(s) => write_str(out, s),
                        other => write_str(out, &other.to_display_string()),
                    }
                    out.push(b':');
                    write_value(out, vs, v, opts)?;
                }
                out.push(b'}');
            } else {
                out.push(b'[');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.push(b'[');
                    write_value(out, ks, k, opts)?;
                    out.push(b',');
                    write_value(out, vs, v, opts)?;
                    out.push(b']');
                }
                out.push(b']');
            }
        }
        Value::Struct(st) => {
            if let Some(s) = schema {
                if s.ty != SchemaType::Struct {
                    return Err(DataError::new(format!(
                        "Struct value does not match schema type {}",
                        s.ty.connect_name()
                    )));
                }
            }
            out.push(b'{');
            for (i, f) in st.schema.fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(f.json_key());
                let v = &st.values[f.index];
                if write_simple(out, &f.schema, v, opts) {
                    continue;
                }
                write_value(out, Some(&f.schema), v, opts)
                    .map_err(|e| DataError::new(format!("{} (field {})", e.0, f.name)))?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// The common leaves of a struct (strings, integers, booleans, plain nulls) written without a
/// call into `write_value`: a change event has dozens of them, and the full function's setup
/// costs more than writing one. False when the value needs `write_value`'s rules.
#[inline]
pub(super) fn write_simple(
    out: &mut Vec<u8>,
    schema: &Schema,
    value: &Value,
    opts: JsonOptions,
) -> bool {
    match value {
        Value::String(s) => write_str(out, s),
        Value::Int32(v) => out.extend_from_slice(itoa::Buffer::new().format(*v).as_bytes()),
        Value::Int64(v) => out.extend_from_slice(itoa::Buffer::new().format(*v).as_bytes()),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Null
            if schema.optional && !(opts.replace_null_with_default && schema.default.is_some()) =>
        {
            out.extend_from_slice(b"null")
        }
        _ => return false,
    }
    true
}

/// A value without a schema in JSON text (used for display and schemaless output).
pub fn value_to_json_string(schema: Option<&Schema>, value: &Value) -> String {
    let mut out = Vec::new();
    let opts = JsonOptions {
        decimal_numeric: true,
        ..JsonOptions::default()
    };
    if write_value(&mut out, schema, value, opts).is_err() {
        return "null".into();
    }
    String::from_utf8(out).unwrap_or_default()
}
