//! The text of numbers and binary columns: floats (with `NaN`/`Infinity`), money with its
//! locale's symbols, numerics as decimals, bytea's hex and escape forms, bit strings.

use std::sync::Arc;

use crate::data::{Decimal, Schema, SchemaType, Struct, Value};

pub(super) fn parse_float(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        t => t.parse().ok(),
    }
}

/// money's text output carries the locale's currency symbol and separators.
pub(super) fn clean_money(text: &str) -> String {
    let negative = text.contains('-') || text.starts_with('(');
    let mut out = String::with_capacity(text.len());
    if negative {
        out.push('-');
    }
    out.extend(text.chars().filter(|c| c.is_ascii_digit() || *c == '.'));
    out
}

pub(super) fn numeric_value(text: &str, schema: &Schema) -> Option<Value> {
    match schema.ty {
        SchemaType::Float64 => parse_float(text).map(Value::Float64),
        SchemaType::String => Some(Value::String(text.into())),
        SchemaType::Struct => {
            let d = Decimal::parse(text)?;
            let s = Struct {
                schema: Arc::new(schema.clone()),
                values: vec![Value::Int32(d.scale), Value::Bytes(d.to_bytes())],
            };
            Some(Value::Struct(s))
        }
        _ => {
            let d = Decimal::parse(text)?;
            let scale = schema.decimal_scale();
            Some(Value::Decimal(if d.scale == scale {
                d
            } else {
                d.rescale(scale)?
            }))
        }
    }
}

pub(super) fn parse_bytea(text: &str) -> Option<Vec<u8>> {
    if let Some(hex) = text.strip_prefix("\\x") {
        let b = hex.as_bytes();
        if b.len() % 2 != 0 {
            return None;
        }
        let nib = |c: u8| -> Option<u8> {
            match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                b'A'..=b'F' => Some(c - b'A' + 10),
                _ => None,
            }
        };
        let mut out = Vec::with_capacity(b.len() / 2);
        for pair in b.chunks(2) {
            out.push(nib(pair[0])? << 4 | nib(pair[1])?);
        }
        return Some(out);
    }
    // bytea_output = escape
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            if b.get(i + 1) == Some(&b'\\') {
                out.push(b'\\');
                i += 2;
            } else {
                let oct = std::str::from_utf8(b.get(i + 1..i + 4)?).ok()?;
                out.push(u8::from_str_radix(oct, 8).ok()?);
                i += 4;
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

/// bit strings as java.util.BitSet.toByteArray(): the last character is bit 0, bytes are
/// little-endian and trailing zero bytes are dropped.
pub(super) fn parse_bits(text: &str) -> Option<Vec<u8>> {
    let n = text.len();
    let mut out = vec![0u8; n.div_ceil(8)];
    for (i, c) in text.bytes().rev().enumerate() {
        match c {
            b'1' => out[i / 8] |= 1 << (i % 8),
            b'0' => {}
            _ => return None,
        }
    }
    while out.last() == Some(&0) {
        out.pop();
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::postgres::types::{parsed as parse, PgType};
    use base64::Engine;

    fn b64(v: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(v)
    }

    #[test]
    fn numbers_and_bits() {
        match parse(
            PgType::Numeric {
                precision: 10,
                scale: 2,
            },
            "12345678.91",
        ) {
            Value::Decimal(d) => assert_eq!(b64(&d.to_bytes()), "SZYC0w=="),
            v => panic!("{v:?}"),
        }
        match parse(PgType::Money, "-$0.50") {
            Value::Decimal(d) => assert_eq!(b64(&d.to_bytes()), "zg=="),
            v => panic!("{v:?}"),
        }
        match parse(PgType::Money, "$1,234.56") {
            Value::Decimal(d) => assert_eq!(b64(&d.to_bytes()), "AeJA"),
            v => panic!("{v:?}"),
        }
        match parse(PgType::NumericVar, "3.14159265358979") {
            Value::Struct(s) => {
                assert_eq!(s.values[0], Value::Int32(14));
                assert_eq!(
                    s.values[1],
                    Value::Bytes(vec![1, 29, 185, 231, 106, 36, 131])
                );
            }
            v => panic!("{v:?}"),
        }
        assert_eq!(parse_bits("1010"), Some(vec![0x0a]));
        assert_eq!(parse_bits("110"), Some(vec![0x06]));
        assert_eq!(parse_bits("0000"), Some(vec![]));
        assert_eq!(
            parse_bytea("\\xdeadbeef"),
            Some(vec![0xde, 0xad, 0xbe, 0xef])
        );
    }
}
