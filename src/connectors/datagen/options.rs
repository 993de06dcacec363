//! `options`: the values a schema's data is picked from, each checked against the schema and
//! written as Avro binary once, when the schema is compiled.

use crate::data::avro::encode::{write_bytes, write_long};
use crate::data::avro::json::Json;
use crate::data::avro::schema::{Avro, Prim};

/// Writes `v` as a value of `avro`, or says why it is not one.
pub fn encode_option(avro: &Avro, v: &Json, out: &mut Vec<u8>) -> Result<(), String> {
    let mismatch = || format!("{} is not a {}", v.to_text(), avro.type_name());
    match (avro, v) {
        (Avro::Prim(Prim::Null, _), Json::Null) => {}
        (Avro::Prim(Prim::Boolean, _), Json::Bool(b)) => out.push(u8::from(*b)),
        (Avro::Prim(Prim::Int, _), Json::Int(i)) => {
            let i = i32::try_from(*i).map_err(|_| format!("{i} is out of an int's range"))?;
            write_long(out, i64::from(i));
        }
        (Avro::Prim(Prim::Long, _), Json::Int(i)) => write_long(out, *i),
        (Avro::Prim(Prim::Float, _), n) => {
            let f = n.as_f64().ok_or_else(mismatch)? as f32;
            out.extend_from_slice(&f.to_le_bytes());
        }
        (Avro::Prim(Prim::Double, _), n) => {
            let f = n.as_f64().ok_or_else(mismatch)?;
            out.extend_from_slice(&f.to_le_bytes());
        }
        (Avro::Prim(Prim::String, _), Json::Str(s)) => write_bytes(out, s.as_bytes()),
        (Avro::Prim(Prim::Bytes, _), Json::Str(s)) => write_bytes(out, s.as_bytes()),
        (Avro::Fixed { size, .. }, Json::Str(s)) => {
            if s.len() != *size {
                return Err(format!("{:?} is not {size} bytes long", s));
            }
            out.extend_from_slice(s.as_bytes());
        }
        (Avro::Enum { symbols, .. }, Json::Str(s)) => {
            let i = symbols
                .iter()
                .position(|x| x == s)
                .ok_or_else(|| format!("{s:?} is not one of the enum's symbols"))?;
            write_long(out, i as i64);
        }
        (Avro::Array(items, _), Json::Array(list)) => {
            if !list.is_empty() {
                write_long(out, list.len() as i64);
                for item in list {
                    encode_option(items, item, out)?;
                }
            }
            out.push(0);
        }
        (Avro::Map(values, _), Json::Object(entries)) => {
            if !entries.is_empty() {
                write_long(out, entries.len() as i64);
                for (k, item) in entries {
                    write_bytes(out, k.as_bytes());
                    encode_option(values, item, out)?;
                }
            }
            out.push(0);
        }
        (Avro::Record { fields, .. }, Json::Object(entries)) => {
            for f in fields {
                let given = entries.iter().find(|(k, _)| *k == f.name).map(|(_, v)| v);
                let value = given
                    .or(f.default.as_ref())
                    .ok_or_else(|| format!("field {} has no value and no default", f.name))?;
                encode_option(&f.schema, value, out)
                    .map_err(|e| format!("field {}: {e}", f.name))?;
            }
        }
        // The first member the value fits, as Avro resolves a union.
        (Avro::Union(members), _) => {
            let mut errors = Vec::new();
            for (i, m) in members.iter().enumerate() {
                let mut body = Vec::new();
                match encode_option(m, v, &mut body) {
                    Ok(()) => {
                        write_long(out, i as i64);
                        out.extend_from_slice(&body);
                        return Ok(());
                    }
                    Err(e) => errors.push(e),
                }
            }
            return Err(format!(
                "it fits no member of the union ({})",
                errors.join("; ")
            ));
        }
        _ => return Err(mismatch()),
    }
    Ok(())
}
