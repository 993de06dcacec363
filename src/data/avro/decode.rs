//! Avro binary → Connect data, reading with the writer's schema (as Confluent's converter does
//! for generic records) straight into Connect values shaped by the Connect schema made from it.

use std::sync::Arc;

use super::from_connect::AVRO_TYPE_UNION;
use super::schema::{Avro, Prim};
use super::to_connect::union_member_name;
use super::AvroDataOptions;
use crate::data::schema::DECIMAL_NAME;
use crate::data::{DataError, Decimal, Schema, SchemaRef, SchemaType, Struct, Value};

pub struct Reader<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
}

fn eof() -> DataError {
    DataError::new("Avro data ends early (truncated or not written with this schema)")
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, DataError> {
        let b = *self.buf.get(self.pos).ok_or_else(eof)?;
        self.pos += 1;
        Ok(b)
    }

    pub fn long(&mut self) -> Result<i64, DataError> {
        let mut n: u64 = 0;
        let mut shift = 0;
        loop {
            let b = self.byte()?;
            n |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 63 {
                return Err(DataError::new("Invalid long encoding in Avro data"));
            }
        }
        Ok(((n >> 1) as i64) ^ -((n & 1) as i64))
    }

    fn int(&mut self) -> Result<i32, DataError> {
        let v = self.long()?;
        i32::try_from(v).map_err(|_| DataError::new("Invalid int encoding in Avro data"))
    }

    fn take(&mut self, n: usize) -> Result<&[u8], DataError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(eof)?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn bytes(&mut self) -> Result<&[u8], DataError> {
        let n = self.long()?;
        let n = usize::try_from(n)
            .map_err(|_| DataError::new("Malformed Avro data: negative length"))?;
        self.take(n)
    }

    /// Item count of the next block of an array or map; 0 at the end.
    fn block(&mut self) -> Result<usize, DataError> {
        let n = self.long()?;
        if n < 0 {
            self.long()?; // the block's size in bytes
        }
        usize::try_from(n.unsigned_abs())
            .map_err(|_| DataError::new("Malformed Avro data: block too large"))
    }
}

pub fn read_value(
    r: &mut Reader<'_>,
    avro: &Avro,
    schema: &SchemaRef,
    opts: &AvroDataOptions,
) -> Result<Value, DataError> {
    match avro {
        Avro::Union(types) => {
            let i = r.long()?;
            let member = usize::try_from(i)
                .ok()
                .and_then(|i| types.get(i))
                .ok_or_else(|| DataError::new(format!("Malformed Avro data: union index {i}")))?;
            if member.is_null() {
                return Ok(Value::Null);
            }
            if schema.name.as_deref() == Some(AVRO_TYPE_UNION) {
                let fname = union_member_name(member, opts);
                let f = schema
                    .field(&fname)
                    .ok_or_else(|| DataError::new("Did not find matching union field for data"))?;
                let v = read_value(r, member, &f.schema, opts)?;
                let mut s = Struct::new(schema.clone());
                s.values[f.index] = v;
                return Ok(Value::Struct(s));
            }
            read_value(r, member, schema, opts)
        }
        Avro::Prim(p, _) => {
            check_logical(avro, opts)?;
            Ok(match p {
                Prim::Null => Value::Null,
                Prim::Boolean => Value::Boolean(r.byte()? != 0),
                Prim::Int => {
                    let i = r.int()?;
                    match schema.ty {
                        SchemaType::Int8 => Value::Int8(i as i8),
                        SchemaType::Int16 => Value::Int16(i as i16),
                        _ => Value::Int32(i),
                    }
                }
                Prim::Long => Value::Int64(r.long()?),
                Prim::Float => {
                    Value::Float32(f32::from_le_bytes(r.take(4)?.try_into().expect("4 bytes")))
                }
                Prim::Double => {
                    Value::Float64(f64::from_le_bytes(r.take(8)?.try_into().expect("8 bytes")))
                }
                Prim::Bytes => bytes_value(r.bytes()?, schema),
                Prim::String => {
                    let b = r.bytes()?;
                    Value::String(
                        std::str::from_utf8(b)
                            .map_err(|_| DataError::new("Avro string that is not UTF-8"))?
                            .into(),
                    )
                }
            })
        }
        Avro::Fixed { size, .. } => {
            check_logical(avro, opts)?;
            Ok(bytes_value(r.take(*size)?, schema))
        }
        Avro::Enum { symbols, name, .. } => {
            let i = r.long()?;
            let s = usize::try_from(i)
                .ok()
                .and_then(|i| symbols.get(i))
                .ok_or_else(|| {
                    DataError::new(format!(
                        "Malformed Avro data: symbol {i} of enum {}",
                        name.full()
                    ))
                })?;
            Ok(Value::String(s.as_str().into()))
        }
        Avro::Array(items, _) => {
            if schema.ty == SchemaType::Map {
                let Avro::Record { fields, .. } = &**items else {
                    return Err(DataError::new("a map written as an array of non-records"));
                };
                let ks = schema
                    .key_schema
                    .as_ref()
                    .ok_or_else(|| DataError::new("map without key schema"))?;
                let vs = schema
                    .value_schema
                    .as_ref()
                    .ok_or_else(|| DataError::new("map without value schema"))?;
                let (ki, vi) = if fields[0].name == "key" {
                    (0, 1)
                } else {
                    (1, 0)
                };
                let mut entries = Vec::new();
                loop {
                    let n = r.block()?;
                    if n == 0 {
                        break;
                    }
                    for _ in 0..n {
                        let mut kv = [Value::Null, Value::Null];
                        for (i, f) in fields.iter().enumerate() {
                            let s = if i == ki { ks } else { vs };
                            kv[i] = read_value(r, &f.schema, s, opts)?;
                        }
                        let [a, b] = kv;
                        entries.push(if ki == 0 { (a, b) } else { (b, a) });
                        let _ = vi;
                    }
                }
                return Ok(Value::Map(crate::data::Map::linked(as_read(entries))));
            }
            let is = schema
                .value_schema
                .as_ref()
                .ok_or_else(|| DataError::new("array without value schema"))?;
            let mut out = Vec::new();
            loop {
                let n = r.block()?;
                if n == 0 {
                    break;
                }
                out.reserve(n.min(4096));
                for _ in 0..n {
                    out.push(read_value(r, items, is, opts)?);
                }
            }
            Ok(Value::Array(out))
        }
        Avro::Map(values, _) => {
            let vs = schema
                .value_schema
                .as_ref()
                .ok_or_else(|| DataError::new("map without value schema"))?;
            let mut out = Vec::new();
            loop {
                let n = r.block()?;
                if n == 0 {
                    break;
                }
                for _ in 0..n {
                    let k = std::str::from_utf8(r.bytes()?)
                        .map_err(|_| DataError::new("Avro map key that is not UTF-8"))?
                        .to_string();
                    let v = read_value(r, values, vs, opts)?;
                    out.push((Value::String(k.into()), v));
                }
            }
            Ok(Value::Map(crate::data::Map::linked(as_read(out))))
        }
        Avro::Record { fields, .. } => {
            let mut s = Struct::new(schema.clone());
            for (i, f) in fields.iter().enumerate() {
                let cf = schema
                    .fields
                    .get(i)
                    .filter(|cf| cf.name == f.name)
                    .or_else(|| schema.field(&f.name))
                    .ok_or_else(|| {
                        DataError::new(format!("no Connect field for Avro field {}", f.name))
                    })?;
                let cs: SchemaRef = Arc::clone(&cf.schema);
                s.values[cf.index] = read_value(r, &f.schema, &cs, opts)?;
            }
            Ok(Value::Struct(s))
        }
    }
}

fn bytes_value(b: &[u8], schema: &Schema) -> Value {
    if schema.name.as_deref() == Some(DECIMAL_NAME) {
        Value::Decimal(Decimal::from_bytes(b, schema.decimal_scale()))
    } else {
        Value::Bytes(b.to_vec())
    }
}

/// Confluent 7.0.16 with `avro.use.logical.type.converters=true` reads logical types into
/// java.time and BigDecimal objects its AvroData then rejects; kconnect reports the same.
fn check_logical(avro: &Avro, opts: &AvroDataOptions) -> Result<(), DataError> {
    if !opts.use_logical_type_converters {
        return Ok(());
    }
    match avro.prop_str("logicalType") {
        Some(l @ ("decimal" | "uuid" | "date" | "time-millis" | "time-micros" | "timestamp-millis" | "timestamp-micros")) => {
            Err(DataError::new(format!(
                "Avro logical type {l} cannot be read with avro.use.logical.type.converters=true: Confluent's AvroConverter 7.0.16 fails on it too (\"Invalid class for ... type\"); remove the setting to read these records"
            )))
        }
        _ => Ok(()),
    }
}

/// The whole message body after the 5-byte header: a top-level `bytes` schema is the raw rest.
pub fn read_top(
    body: &[u8],
    avro: &Avro,
    schema: &SchemaRef,
    opts: &AvroDataOptions,
) -> Result<Value, DataError> {
    if let Avro::Prim(Prim::Bytes, _) = avro {
        check_logical(avro, opts)?;
        return Ok(bytes_value(body, schema));
    }
    let mut r = Reader { buf: body, pos: 0 };
    read_value(&mut r, avro, schema, opts)
}

/// Map entries read from Avro in the order the JVM converter's Connect map has them: AvroData
/// fills a `new HashMap<>(n)`.
fn as_read(entries: Vec<(Value, Value)>) -> Vec<(Value, Value)> {
    let order = crate::data::java_string::sized_hash_map_order(&entries);
    crate::data::java_string::in_order(entries, order)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Truncated or corrupt bytes are errors, never panics or huge allocations.
    #[test]
    fn bad_input_is_an_error() {
        let avro = Avro::parse(r#"{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"array","items":"string"}},{"name":"m","type":{"type":"map","values":"long"}}]}"#).unwrap();
        let opts = AvroDataOptions::default();
        let schema = super::super::to_connect::to_connect_schema(&avro, None, &opts).unwrap();
        for body in [
            &b""[..],
            &[0x02][..],
            &[0xfe, 0xff, 0xff, 0xff, 0xff, 0x0f][..],
            &[
                0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
            ][..],
            &[0x00, 0x01][..],
        ] {
            assert!(read_top(body, &avro, &schema, &opts).is_err(), "{body:?}");
        }
        let ok = read_top(&[0x02, 0x02, b'x', 0x00, 0x00], &avro, &schema, &opts).unwrap();
        assert_eq!(
            ok.as_struct().unwrap().get("a"),
            Some(&Value::Array(vec![Value::from("x")]))
        );
    }
}
