//! Values and schemas as Connect's JSON: `JsonConverter`'s `convertToJson` and
//! `asJsonSchema`. In `data` because more than the converter writes it: a value's display
//! string, JDBC json columns and Elasticsearch documents.

use base64::Engine;

use super::error::DataError;
use super::java_number::{java_double_string, java_float_string};
use super::schema::DECIMAL_NAME;
use super::{Decimal, Schema, SchemaType, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// How Connect's JSON is written and read (`schemas.enable`, `decimal.format`, ...).
#[derive(Clone, Copy, Debug)]
pub struct JsonOptions {
    pub schemas_enable: bool,
    pub decimal_numeric: bool,
    pub replace_null_with_default: bool,
    pub cache_size: usize,
}

impl Default for JsonOptions {
    fn default() -> Self {
        JsonOptions {
            schemas_enable: true,
            decimal_numeric: false,
            replace_null_with_default: true,
            cache_size: 1000,
        }
    }
}

/// Bytes that make Jackson escape something: control characters, `"`, `\\`, and the lead
/// byte of a 4-byte UTF-8 sequence (a character outside the BMP, which Jackson writes as an
/// escaped UTF-16 surrogate pair).
#[inline]
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\' || b >= 0xF0
}

/// Writes a JSON string exactly as Connect's Jackson writer does, so topic bytes match the
/// real worker's: `\"`, `\\`, `\b`, `\t`, `\n`, `\f`, `\r`, other control characters as
/// `\u00XX` in upper-case hex, characters outside the BMP as `\uD83D\uDE00`, everything else
/// (DEL and `/` included) raw.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    write_escaped(out, s, true);
}

/// Writes a JSON string as Jackson writes one into a Java `String` (`writeValueAsString`, as
/// Avro's `Schema.toString` and Debezium's hstore JSON do): the same escapes as [`write_str`]
/// but characters outside the BMP raw.
pub fn write_str_as_java_string(out: &mut Vec<u8>, s: &str) {
    write_escaped(out, s, false);
}

fn write_escaped(out: &mut Vec<u8>, s: &str, escape_supplementary: bool) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // Most strings need no escaping: copy the clean runs whole.
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !needs_escape(b) || (b >= 0xF0 && !escape_supplementary) {
            i += 1;
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        if b >= 0xF0 {
            // A 4-byte sequence always starts at a char boundary of a valid &str.
            let c = s[i..].chars().next().expect("char at a lead byte");
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units).iter() {
                push_unicode_escape(out, *u);
            }
            i += 4;
        } else {
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                0x08 => out.extend_from_slice(b"\\b"),
                b'\t' => out.extend_from_slice(b"\\t"),
                b'\n' => out.extend_from_slice(b"\\n"),
                0x0C => out.extend_from_slice(b"\\f"),
                b'\r' => out.extend_from_slice(b"\\r"),
                _ => push_unicode_escape(out, u16::from(b)),
            }
            i += 1;
        }
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// `\uXXXX` with upper-case hex digits, as Jackson writes them.
fn push_unicode_escape(out: &mut Vec<u8>, unit: u16) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.extend_from_slice(&[
        b'\\',
        b'u',
        HEX[usize::from(unit >> 12)],
        HEX[usize::from((unit >> 8) & 0xF)],
        HEX[usize::from((unit >> 4) & 0xF)],
        HEX[usize::from(unit & 0xF)],
    ]);
}

/// Writes a schema as `asJsonSchema` does: type, fields/items/keys/values, optional, name,
/// version, doc, parameters, default.
pub fn write_schema(out: &mut Vec<u8>, s: &Schema, opts: JsonOptions) -> Result<(), DataError> {
    write_schema_inner(out, s, None, opts)
}

fn write_schema_inner(
    out: &mut Vec<u8>,
    s: &Schema,
    field: Option<&str>,
    opts: JsonOptions,
) -> Result<(), DataError> {
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(s.ty.json_name().as_bytes());
    out.push(b'"');
    match s.ty {
        SchemaType::Struct => {
            out.extend_from_slice(b",\"fields\":[");
            for (i, f) in s.fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_schema_inner(out, &f.schema, Some(&f.name), opts)?;
            }
            out.push(b']');
        }
        SchemaType::Array => {
            out.extend_from_slice(b",\"items\":");
            // An array of mixed elements (Values.parseString's `[1, 2.5, "x"]`) has no item
            // schema: Connect writes `"items":null`.
            match s.value_schema.as_ref() {
                Some(items) => write_schema_inner(out, items, None, opts)?,
                None => out.extend_from_slice(b"null"),
            }
        }
        SchemaType::Map => {
            // A map of mixed keys or values (Values.parseString's `{"k1":"v","k2":2}`) has no
            // key or value schema: Connect writes `null`.
            out.extend_from_slice(b",\"keys\":");
            match s.key_schema.as_ref() {
                Some(k) => write_schema_inner(out, k, None, opts)?,
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"values\":");
            match s.value_schema.as_ref() {
                Some(v) => write_schema_inner(out, v, None, opts)?,
                None => out.extend_from_slice(b"null"),
            }
        }
        _ => {}
    }
    out.extend_from_slice(if s.optional {
        b",\"optional\":true"
    } else {
        b",\"optional\":false"
    });
    if let Some(n) = &s.name {
        out.extend_from_slice(b",\"name\":");
        write_str(out, n);
    }
    if let Some(v) = s.version {
        out.extend_from_slice(b",\"version\":");
        out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }
    if let Some(d) = &s.doc {
        out.extend_from_slice(b",\"doc\":");
        write_str(out, d);
    }
    if let Some(params) = &s.parameters {
        out.extend_from_slice(b",\"parameters\":{");
        for (i, (k, v)) in params.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(out, k);
            out.push(b':');
            write_str(out, v);
        }
        out.push(b'}');
    }
    if let Some(d) = &s.default {
        out.extend_from_slice(b",\"default\":");
        write_value(out, Some(s), d, opts)?;
    }
    if let Some(f) = field {
        out.extend_from_slice(b",\"field\":");
        write_str(out, f);
    }
    out.push(b'}');
    Ok(())
}

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
        Value::JavaDate(_) => {
            return Err(DataError::new(
                "Java class class java.util.Date does not have corresponding schema type.",
            ))
        }
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
                d.rescale(scale).ok_or_else(|| {
                    DataError::new(format!(
                        "the decimal {d} does not fit its schema's scale {scale}: kconnect rescales by at most {} digits",
                        Decimal::MAX_SCALE
                    ))
                })?
            };
            if opts.decimal_numeric {
                // Jackson writes the BigDecimal's toString: `1E+400`, `1E-7`.
                out.extend_from_slice(d.to_java_string().as_bytes());
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
fn write_simple(out: &mut Vec<u8>, schema: &Schema, value: &Value, opts: JsonOptions) -> bool {
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

fn write_float(out: &mut Vec<u8>, s: String) {
    // Jackson quotes non-finite numbers by default.
    if s.starts_with('N') || s.ends_with('y') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

fn push_base64(out: &mut Vec<u8>, input: &[u8]) {
    let start = out.len();
    let len = base64::encoded_len(input.len(), true).expect("base64 length fits in usize");
    out.resize(start + len, 0);
    B64.encode_slice(input, &mut out[start..])
        .expect("buffer sized by encoded_len");
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

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(s: &str) -> String {
        let mut out = Vec::new();
        write_str(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_are_escaped_as_jackson_does() {
        // Each expected form as the real worker wrote it (tests/fixtures/reference/same-bytes).
        assert_eq!(escaped("plain"), r#""plain""#);
        assert_eq!(
            escaped("tab\there quote\" backslash\\ solidus /"),
            r#""tab\there quote\" backslash\\ solidus /""#
        );
        assert_eq!(
            escaped("controls \u{1} \u{8} \u{c} \u{1f} del \u{7f} end"),
            "\"controls \\u0001 \\b \\f \\u001F del \u{7f} end\""
        );
        assert_eq!(
            escaped("bell \u{7}, esc \u{1b}"),
            r#""bell \u0007, esc \u001B""#
        );
        assert_eq!(
            escaped("emoji \u{1F600} \u{e9} \u{4e2d} \u{ffff} \u{2028}"),
            "\"emoji \\uD83D\\uDE00 \u{e9} \u{4e2d} \u{ffff} \u{2028}\""
        );
        assert_eq!(escaped("\r\n"), r#""\r\n""#);
        assert_eq!(escaped(""), r#""""#);
    }

    #[test]
    fn into_a_java_string_only_supplementary_characters_stay_raw() {
        let mut out = Vec::new();
        write_str_as_java_string(&mut out, "emoji \u{1F600} \u{1} \"");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"emoji \u{1F600} \\u0001 \\\"\""
        );
    }
}
