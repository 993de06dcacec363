//! PostgreSQL's geometric types. Debezium 3.6.3 maps only `point`, to its
//! `io.debezium.data.geometry.Point` struct (x, y and the point's WKB); box, circle, line,
//! lseg, path and polygon have no converter there: they are left out of events, or, with
//! `include.unknown.datatypes=true`, written as the bytes of the PostgreSQL JDBC driver's text
//! of the value, which prints every coordinate as Java's `Double.toString` (`(3.0,4.0)` where
//! the server says `(3,4)`), in snapshots and streaming alike.

use crate::data::java_number::java_double_string;
use crate::data::{Schema, SchemaRef, SchemaType, Struct, Value};

/// `io.debezium.data.geometry.Point`'s schema.
pub fn point_schema(optional: bool) -> crate::data::SchemaBuilder {
    Schema::struct_builder()
        .name("io.debezium.data.geometry.Point")
        .version(1)
        .doc("Geometry (POINT)")
        .field("x", Schema::primitive(SchemaType::Float64, false))
        .field("y", Schema::primitive(SchemaType::Float64, false))
        .field("wkb", Schema::primitive(SchemaType::Bytes, true))
        .field("srid", Schema::primitive(SchemaType::Int32, true))
        .set_optional(optional)
}

/// The Point struct of (x, y): its WKB is a little-endian OGC point, no SRID.
pub fn point_value(x: f64, y: f64, schema: &SchemaRef) -> Value {
    let mut wkb = Vec::with_capacity(21);
    wkb.push(1u8);
    wkb.extend_from_slice(&1u32.to_le_bytes());
    wkb.extend_from_slice(&x.to_le_bytes());
    wkb.extend_from_slice(&y.to_le_bytes());
    Value::Struct(Struct {
        schema: schema.clone(),
        values: vec![
            Value::Float64(x),
            Value::Float64(y),
            Value::Bytes(wkb),
            Value::Null,
        ],
    })
}

/// A coordinate as PostgreSQL prints it (`1.5`, `-0`, `1e-300`, `NaN`, `Infinity`).
fn coordinate(text: &str) -> Option<f64> {
    super::numbers::parse_float(text.trim())
}

/// `(x,y)` → (x, y).
pub fn parse_point(text: &str) -> Option<(f64, f64)> {
    let inner = text.trim().strip_prefix('(')?.strip_suffix(')')?;
    let (x, y) = inner.split_once(',')?;
    Some((coordinate(x)?, coordinate(y)?))
}

/// The text the PostgreSQL JDBC driver gives for a box, circle, line, lseg, path or polygon:
/// the server's text with every number printed again by `Double.toString`. Brackets, commas
/// and the path's open/closed marks stay as the server wrote them.
pub fn jdbc_text(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 8);
    let mut number = String::new();
    let flush = |number: &mut String, out: &mut String| -> Option<()> {
        if !number.is_empty() {
            out.push_str(&java_double_string(coordinate(number)?));
            number.clear();
        }
        Some(())
    };
    for c in text.chars() {
        match c {
            '(' | ')' | '[' | ']' | '<' | '>' | '{' | '}' | ',' => {
                flush(&mut number, &mut out)?;
                out.push(c);
            }
            c if c.is_whitespace() => {}
            c => number.push(c),
        }
    }
    flush(&mut number, &mut out)?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_and_jdbc_text() {
        assert_eq!(parse_point("(1.5,-2)"), Some((1.5, -2.0)));
        assert_eq!(
            parse_point("(1e-300,1.7976931348623157e+308)"),
            Some((1e-300, f64::MAX))
        );
        let s = point_schema(true).build();
        let Value::Struct(p) = point_value(1.5, -2.0, &s) else {
            panic!()
        };
        let Value::Bytes(wkb) = &p.values[2] else {
            panic!()
        };
        // As Debezium wrote it: AQEAAAAAAAAAAAD4PwAAAAAAAADA
        assert_eq!(
            wkb,
            &[1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0xc0]
        );
        assert_eq!(
            jdbc_text("(3,4),(1,2)").as_deref(),
            Some("(3.0,4.0),(1.0,2.0)")
        );
        assert_eq!(jdbc_text("<(1,2),3>").as_deref(), Some("<(1.0,2.0),3.0>"));
        assert_eq!(jdbc_text("{1,-1,0}").as_deref(), Some("{1.0,-1.0,0.0}"));
        assert_eq!(jdbc_text("[(0,1e-05)]").as_deref(), Some("[(0.0,1.0E-5)]"));
        assert_eq!(jdbc_text("(1,x)"), None);
    }
}
