//! Connect data → Avro binary, walking the Connect schema beside the Avro schema made from it
//! (`AvroData.fromConnectData` and Avro's `GenericDatumWriter` in one pass, with no
//! intermediate record objects).

use super::from_connect::{scrub_if, AVRO_TYPE_UNION};
use super::schema::{Avro, Prim};
use crate::data::schema::DECIMAL_NAME;
use crate::data::{DataError, Decimal, Schema, SchemaType, Value};

pub fn write_long(out: &mut Vec<u8>, v: i64) {
    let mut n = ((v << 1) ^ (v >> 63)) as u64;
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Avro `bytes` and `string`: the length, then the bytes.
pub fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    write_long(out, b.len() as i64);
    out.extend_from_slice(b);
}

/// Connect's `Decimal.fromLogical`: the unscaled value, big-endian two's complement, at the
/// schema's scale exactly.
pub fn decimal_bytes(schema: &Schema, d: &Decimal) -> Result<Vec<u8>, DataError> {
    let scale = schema.decimal_scale();
    if d.scale != scale {
        return Err(DataError::new(format!(
            "Decimal value has mismatching scale for given Decimal schema. Schema has scale {scale}, value has scale {}.",
            d.scale
        )));
    }
    Ok(d.to_bytes())
}

pub struct Encoder {
    pub scrub_invalid_names: bool,
}

impl Encoder {
    /// The whole value; a top-level `bytes` schema is written raw, without a length, as
    /// Confluent's serializer does.
    pub fn write_top(
        &self,
        schema: &Schema,
        avro: &Avro,
        v: &Value,
        out: &mut Vec<u8>,
    ) -> Result<(), DataError> {
        if let Avro::Prim(Prim::Bytes, _) = avro {
            match v {
                Value::Bytes(b) => out.extend_from_slice(b),
                Value::Decimal(d) if schema.name.as_deref() == Some(DECIMAL_NAME) => {
                    out.extend_from_slice(&decimal_bytes(schema, d)?)
                }
                other => return Err(type_error(schema, other)),
            }
            return Ok(());
        }
        self.write(schema, avro, v, out)
    }

    pub fn write(
        &self,
        schema: &Schema,
        avro: &Avro,
        v: &Value,
        out: &mut Vec<u8>,
    ) -> Result<(), DataError> {
        if let Avro::Union(types) = avro {
            if schema.name.as_deref() == Some(AVRO_TYPE_UNION) {
                return Err(DataError::new(
                    "writing Connect structs that stand for Avro unions (io.confluent.connect.avro.Union) is not supported by kconnect's AvroConverter",
                ));
            }
            if v.is_null() {
                let i = types
                    .iter()
                    .position(Avro::is_null)
                    .ok_or_else(|| DataError::new("Found null value for non-optional schema"))?;
                write_long(out, i as i64);
                return Ok(());
            }
            let i = types
                .iter()
                .position(|t| !t.is_null())
                .ok_or_else(|| DataError::new("a union of null only"))?;
            write_long(out, i as i64);
            return self.write(schema, &types[i], v, out);
        }
        match (schema.ty, v, avro) {
            (_, Value::Null, _) => Err(DataError::new("Found null value for non-optional schema")),
            (SchemaType::Int8, Value::Int8(i), _) => {
                write_long(out, *i as i64);
                Ok(())
            }
            (SchemaType::Int16, Value::Int16(i), _) => {
                write_long(out, *i as i64);
                Ok(())
            }
            (SchemaType::Int32, Value::Int32(i), _) => {
                write_long(out, *i as i64);
                Ok(())
            }
            (SchemaType::Int64, Value::Int64(i), _) => {
                write_long(out, *i);
                Ok(())
            }
            (SchemaType::Float32, Value::Float32(f), _) => {
                out.extend_from_slice(&f.to_le_bytes());
                Ok(())
            }
            (SchemaType::Float64, Value::Float64(f), _) => {
                out.extend_from_slice(&f.to_le_bytes());
                Ok(())
            }
            (SchemaType::Boolean, Value::Boolean(b), _) => {
                out.push(*b as u8);
                Ok(())
            }
            (SchemaType::String, Value::String(s), Avro::Enum { symbols, name, .. }) => {
                let i = symbols
                    .iter()
                    .position(|x| x == s.as_str())
                    .ok_or_else(|| {
                        DataError::new(format!("Not an enum symbol of {}: {s}", name.full()))
                    })?;
                write_long(out, i as i64);
                Ok(())
            }
            (SchemaType::String, Value::String(s), _) => {
                write_bytes(out, s.as_bytes());
                Ok(())
            }
            (SchemaType::Bytes, Value::Bytes(b), Avro::Fixed { size, .. }) => {
                if b.len() != *size {
                    return Err(DataError::new(format!(
                        "fixed of size {size} given {} bytes",
                        b.len()
                    )));
                }
                out.extend_from_slice(b);
                Ok(())
            }
            (SchemaType::Bytes, Value::Bytes(b), _) => {
                write_bytes(out, b);
                Ok(())
            }
            (SchemaType::Bytes, Value::Decimal(d), a) => {
                let b = decimal_bytes(schema, d)?;
                if let Avro::Fixed { .. } = a {
                    out.extend_from_slice(&b);
                } else {
                    write_bytes(out, &b);
                }
                Ok(())
            }
            (SchemaType::Array, Value::Array(items), Avro::Array(item_avro, _)) => {
                let is = schema
                    .value_schema
                    .as_deref()
                    .ok_or_else(|| type_error(schema, v))?;
                if !items.is_empty() {
                    write_long(out, items.len() as i64);
                    for i in items {
                        self.write(is, item_avro, i, out)?;
                    }
                }
                out.push(0);
                Ok(())
            }
            (SchemaType::Map, Value::Map(entries), Avro::Map(value_avro, _)) => {
                let vs = schema
                    .value_schema
                    .as_deref()
                    .ok_or_else(|| type_error(schema, v))?;
                if !entries.is_empty() {
                    let order = crate::data::java_string::hash_map_order(entries)
                        .unwrap_or_else(|| (0..entries.len()).collect());
                    write_long(out, entries.len() as i64);
                    for i in order {
                        let (k, val) = &entries[i];
                        let k = k
                            .as_str()
                            .ok_or_else(|| DataError::new("a map key that is not a string"))?;
                        write_bytes(out, k.as_bytes());
                        self.write(vs, value_avro, val, out)?;
                    }
                }
                out.push(0);
                Ok(())
            }
            (SchemaType::Map, Value::Map(entries), Avro::Array(entry_avro, _)) => {
                let ks = schema
                    .key_schema
                    .as_deref()
                    .ok_or_else(|| type_error(schema, v))?;
                let vs = schema
                    .value_schema
                    .as_deref()
                    .ok_or_else(|| type_error(schema, v))?;
                let Avro::Record { fields, .. } = &**entry_avro else {
                    return Err(type_error(schema, v));
                };
                if !entries.is_empty() {
                    write_long(out, entries.len() as i64);
                    for (k, val) in entries {
                        self.write(ks, &fields[0].schema, k, out)?;
                        self.write(vs, &fields[1].schema, val, out)?;
                    }
                }
                out.push(0);
                Ok(())
            }
            (SchemaType::Struct, Value::Struct(s), Avro::Record { fields, .. }) => {
                // The same Arc almost always: compare addresses before whole schemas.
                if !std::ptr::eq(&*s.schema, schema) && *s.schema != *schema {
                    return Err(DataError::new("Mismatching struct schema"));
                }
                // Avro's order; the Connect field of the same (scrubbed) name, found at the
                // same position unless the registry's schema (use.latest.version) differs.
                for (i, af) in fields.iter().enumerate() {
                    let matches = |f: &&crate::data::Field| {
                        if self.scrub_invalid_names {
                            scrub_if(&f.name, true) == af.name
                        } else {
                            f.name == af.name
                        }
                    };
                    let f = schema
                        .fields
                        .get(i)
                        .filter(matches)
                        .or_else(|| schema.fields.iter().find(matches))
                        .ok_or_else(|| {
                            DataError::new(format!(
                                "field {} of the Avro schema has no field in the Connect schema",
                                af.name
                            ))
                        })?;
                    let fv = &s.values[f.index];
                    // Struct.get: a field left null reads as its schema's default.
                    let fv = match (fv, &f.schema.default) {
                        (Value::Null, Some(d)) => d,
                        _ => fv,
                    };
                    self.write(&f.schema, &af.schema, fv, out)?;
                }
                Ok(())
            }
            _ => Err(type_error(schema, v)),
        }
    }
}

fn type_error(schema: &Schema, v: &Value) -> DataError {
    DataError::new(format!(
        "Invalid type for {}: {}",
        schema.ty.connect_name(),
        v.inferred_type()
            .map(|t| t.connect_name())
            .unwrap_or("null")
    ))
}
