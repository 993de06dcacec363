//! Array literals and column defaults: what `pg_get_expr` prints, and the value Debezium
//! puts where a required column has none.

use num_bigint::BigInt;

use super::PgType;
use crate::data::{Decimal, SchemaRef, SchemaType, Struct, Value};

/// A one-dimensional array literal: `{1,2,NULL}`, `{"a b",c}`; `None` items are SQL NULLs.
#[cfg(test)]
pub fn parse_array(text: &str) -> Option<Vec<Option<String>>> {
    parse_array_with(text, b',')
}

/// An array literal whose items are separated by `delimiter` (`pg_type.typdelim`: `;` for box).
pub fn parse_array_with(text: &str, delimiter: u8) -> Option<Vec<Option<String>>> {
    // Arrays with explicit bounds ("[0:1]={..}") lose the bounds, as Debezium's do.
    let text = match text.find("={") {
        Some(i) if text.starts_with('[') => &text[i + 1..],
        _ => text,
    };
    let inner = text.strip_prefix('{')?.strip_suffix('}')?;
    let mut out = Vec::new();
    if inner.is_empty() {
        return Some(out);
    }
    let b = inner.as_bytes();
    let mut i = 0;
    loop {
        if b.get(i) == Some(&b'"') {
            let mut s = Vec::new();
            i += 1;
            loop {
                match *b.get(i)? {
                    b'\\' => {
                        s.push(*b.get(i + 1)?);
                        i += 2;
                    }
                    b'"' => {
                        i += 1;
                        break;
                    }
                    c => {
                        s.push(c);
                        i += 1;
                    }
                }
            }
            out.push(Some(String::from_utf8(s).ok()?));
        } else {
            let start = i;
            while i < b.len() && b[i] != delimiter {
                i += 1;
            }
            let item = &inner[start..i];
            out.push(if item == "NULL" {
                None
            } else {
                Some(item.to_string())
            });
        }
        match b.get(i) {
            None => break,
            Some(&c) if c == delimiter => i += 1,
            Some(_) => return None,
        }
    }
    Some(out)
}

/// A column default as `pg_get_expr` prints it, when it is a constant: `42`, `'x'::text`,
/// `(-1)`, `true`. Function calls (nextval, now()) have no constant value.
pub fn default_literal(expr: &str) -> Option<String> {
    let mut e = expr.trim();
    while let Some(inner) = e.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
        e = inner.trim();
    }
    if let Some(rest) = e.strip_prefix('\'') {
        let mut s = String::new();
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    s.push('\'');
                    continue;
                }
                let tail: String = chars.collect();
                return (tail.is_empty() || tail.starts_with("::")).then_some(s);
            }
            s.push(c);
        }
        return None;
    }
    let head = e.split("::").next().unwrap_or(e).trim();
    let head = head
        .strip_prefix('(')
        .and_then(|x| x.strip_suffix(')'))
        .unwrap_or(head);
    if head == "true" || head == "false" {
        return Some(if head == "true" { "t" } else { "f" }.into());
    }
    let numeric = !head.is_empty()
        && head
            .trim_start_matches('-')
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'e' || b == b'E' || b == b'+')
        && head
            .trim_start_matches('-')
            .starts_with(|c: char| c.is_ascii_digit());
    numeric.then(|| head.to_string())
}

/// The value Debezium puts in a required field it has no value for (a key-only `before`):
/// the column default, else the type's zero.
pub fn zero_value(schema: &SchemaRef) -> Value {
    if let Some(d) = &schema.default {
        return d.clone();
    }
    match schema.ty {
        SchemaType::Int8 => Value::Int8(0),
        SchemaType::Int16 => Value::Int16(0),
        SchemaType::Int32 => Value::Int32(0),
        SchemaType::Int64 => Value::Int64(0),
        SchemaType::Float32 => Value::Float32(0.0),
        SchemaType::Float64 => Value::Float64(0.0),
        SchemaType::Boolean => Value::Boolean(false),
        // Debezium's fallback for timetz.
        SchemaType::String if schema.is_named("io.debezium.time.ZonedTime") => {
            Value::String("00:00:00Z".into())
        }
        SchemaType::String => Value::String(Default::default()),
        SchemaType::Bytes if schema.is_named(crate::data::schema::DECIMAL_NAME) => {
            Value::Decimal(Decimal {
                unscaled: BigInt::from(0),
                scale: schema.decimal_scale(),
            })
        }
        SchemaType::Bytes => Value::Bytes(Vec::new()),
        SchemaType::Array => Value::Array(Vec::new()),
        SchemaType::Map => Value::Map(Vec::new().into()),
        // Debezium's fallback for a point is (0, 0).
        SchemaType::Struct if schema.is_named("io.debezium.data.geometry.Point") => {
            super::geometric::point_value(0.0, 0.0, schema)
        }
        SchemaType::Struct => Value::Struct(Struct::new(schema.clone())),
    }
}

/// The default Debezium gives a NOT NULL column whose default is not a constant (a serial's
/// `nextval(..)`): zero for integer columns.
pub fn implicit_default(ty: &PgType) -> Option<Value> {
    match ty {
        PgType::Int2 => Some(Value::Int16(0)),
        PgType::Int4 => Some(Value::Int32(0)),
        PgType::Int8 => Some(Value::Int64(0)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_and_defaults() {
        assert_eq!(
            parse_array("{1,2,NULL,4}").unwrap(),
            vec![Some("1".into()), Some("2".into()), None, Some("4".into())]
        );
        assert_eq!(
            parse_array(r#"{x,"y z","a\"b",NULL}"#).unwrap(),
            vec![
                Some("x".into()),
                Some("y z".into()),
                Some("a\"b".into()),
                None
            ]
        );
        assert_eq!(parse_array("{}").unwrap(), Vec::<Option<String>>::new());
        assert_eq!(default_literal("42").as_deref(), Some("42"));
        assert_eq!(default_literal("'dflt'::text").as_deref(), Some("dflt"));
        assert_eq!(default_literal("'it''s'::text").as_deref(), Some("it's"));
        assert_eq!(default_literal("(-1)").as_deref(), Some("-1"));
        assert_eq!(default_literal("nextval('a_id_seq'::regclass)"), None);
        assert_eq!(default_literal("now()"), None);
    }
}
