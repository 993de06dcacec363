//! PostgreSQL's geometric types. Debezium 3.6.3 maps only `point`, to its
//! `io.debezium.data.geometry.Point` struct (x, y and the point's WKB); box, circle, line,
//! lseg, path and polygon have no converter there: they are left out of events, or, with
//! `include.unknown.datatypes=true`, written as the bytes of the PostgreSQL JDBC driver's text
//! of the value, which prints every coordinate as Java's `Double.toString` (`(3.0,4.0)` where
//! the server says `(3,4)`), in snapshots and streaming alike.
//!
//! PostGIS `geometry` and `geography` (found by type name) are Debezium's Geometry and
//! Geography structs: the value's EWKB as PostgreSQL prints it (hex), SRID flag included,
//! and the SRID when it has one.

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

/// `io.debezium.data.geometry.Geometry`'s or `Geography`'s schema: optional whatever the
/// column says, as Debezium's.
pub fn postgis_schema(geography: bool) -> crate::data::SchemaBuilder {
    let (name, doc) = if geography {
        ("io.debezium.data.geometry.Geography", "Geography")
    } else {
        ("io.debezium.data.geometry.Geometry", "Geometry")
    };
    Schema::struct_builder()
        .name(name)
        .version(1)
        .doc(doc)
        .field("wkb", Schema::primitive(SchemaType::Bytes, false))
        .field("srid", Schema::primitive(SchemaType::Int32, true))
        .optional()
}

/// The empty geometry collection Debezium writes where a NOT NULL geometry has no value.
pub const EMPTY_EWKB: &[u8] = &[1, 7, 0, 0, 0, 0, 0, 0, 0];

/// The Geometry/Geography struct of EWKB bytes: the bytes as they are, and the SRID read from
/// them when the type's SRID flag is set.
pub fn postgis_value(ewkb: Vec<u8>, schema: &SchemaRef) -> Option<Value> {
    if ewkb.len() < 9 {
        return None;
    }
    let word = |b: &[u8]| -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        if ewkb[0] != 0 {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    let srid =
        (word(&ewkb[1..5]) & 0x2000_0000 != 0).then(|| Value::Int32(word(&ewkb[5..9]) as i32));
    Some(Value::Struct(Struct {
        schema: schema.clone(),
        values: vec![Value::Bytes(ewkb), srid.unwrap_or(Value::Null)],
    }))
}

/// Hex EWKB (`0101000020E6100000...`) to bytes.
pub fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let b = text.as_bytes();
    if b.len() % 2 != 0 {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    b.chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
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

    #[test]
    fn postgis_srid_from_ewkb() {
        let s = postgis_schema(false).build();
        let ewkb = parse_hex("0101000020E610000000000000000008400000000000001040").unwrap();
        let Some(Value::Struct(v)) = postgis_value(ewkb.clone(), &s) else {
            panic!()
        };
        assert_eq!(v.values, vec![Value::Bytes(ewkb), Value::Int32(4326)]);
        let ewkb = parse_hex("010100000000000000000022400000000000002240").unwrap();
        let Some(Value::Struct(v)) = postgis_value(ewkb, &s) else {
            panic!()
        };
        assert_eq!(v.values[1], Value::Null);
        assert!(postgis_value(vec![1, 1], &s).is_none());
        assert!(parse_hex("0G").is_none());
    }
}
