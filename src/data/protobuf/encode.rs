//! Connect data → Protobuf binary, walking the Connect schema with the same numbering and
//! types [`super::from_connect`] gives the schema (ProtobufData's `fromConnectData` and
//! protobuf-java's `DynamicMessage.writeTo` in one pass): fields in field-number order, proto3
//! defaults left out unless the field has presence, numeric arrays packed.

use smallvec::SmallVec;

use super::model::Scalar;
use super::wire::{len_delimited, tag, varint, zigzag32, zigzag64};
use super::{ProtobufDataOptions, ENUM_PARAM, ENUM_PREFIX, TAG_PARAM, TYPE_PARAM, UNION_PREFIX};
use crate::data::schema::{DATE_NAME, DECIMAL_NAME, TIMESTAMP_NAME, TIME_NAME};
use crate::data::{DataError, Decimal, Schema, SchemaType, Value};

const MILLIS_PER_DAY: i64 = 86_400_000;

pub struct Encoder<'a> {
    pub opts: &'a ProtobufDataOptions,
    /// Buffers for nested messages, reused from record to record.
    pool: Vec<Vec<u8>>,
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

fn int_of(schema: &Schema, v: &Value) -> Result<i64, DataError> {
    match v {
        Value::Int8(i) => Ok(*i as i64),
        Value::Int16(i) => Ok(*i as i64),
        Value::Int32(i) => Ok(*i as i64),
        Value::Int64(i) => Ok(*i),
        _ => Err(type_error(schema, v)),
    }
}

/// What a Connect primitive is written as: its Protobuf scalar.
fn scalar_of(schema: &Schema) -> Scalar {
    let t = schema.parameter(TYPE_PARAM).and_then(Scalar::from_name);
    match schema.ty {
        SchemaType::Int8 | SchemaType::Int16 => Scalar::Int32,
        SchemaType::Int32 => t.unwrap_or(Scalar::Int32),
        SchemaType::Int64 => t.unwrap_or(Scalar::Int64),
        SchemaType::Float32 => Scalar::Float,
        SchemaType::Float64 => Scalar::Double,
        SchemaType::Boolean => Scalar::Bool,
        SchemaType::Bytes => Scalar::Bytes,
        _ => Scalar::String,
    }
}

fn is_logical(schema: &Schema) -> bool {
    matches!(
        schema.name.as_deref(),
        Some(DECIMAL_NAME) | Some(DATE_NAME) | Some(TIME_NAME) | Some(TIMESTAMP_NAME)
    )
}

fn is_enum(schema: &Schema) -> bool {
    schema.ty == SchemaType::String && schema.parameter(ENUM_PARAM).is_some()
}

/// One scalar value without its tag; `None` when proto3 leaves it out (the default, for a
/// field without presence).
fn scalar_bytes(
    schema: &Schema,
    s: Scalar,
    v: &Value,
    presence: bool,
    out: &mut Vec<u8>,
) -> Result<bool, DataError> {
    let start = out.len();
    let default = match s {
        Scalar::Int32 | Scalar::Uint32 | Scalar::Sint32 | Scalar::Fixed32 | Scalar::Sfixed32 => {
            // Connect int64 with a 32-bit Protobuf type is cast as Java's `(int) long`.
            let n = int_of(schema, v)? as i32;
            match s {
                Scalar::Int32 => varint(out, n as i64 as u64),
                Scalar::Uint32 => varint(out, n as u32 as u64),
                Scalar::Sint32 => varint(out, zigzag32(n)),
                _ => out.extend_from_slice(&n.to_le_bytes()),
            }
            n == 0
        }
        Scalar::Int64 | Scalar::Uint64 | Scalar::Sint64 | Scalar::Fixed64 | Scalar::Sfixed64 => {
            let n = int_of(schema, v)?;
            match s {
                Scalar::Int64 | Scalar::Uint64 => varint(out, n as u64),
                Scalar::Sint64 => varint(out, zigzag64(n)),
                _ => out.extend_from_slice(&n.to_le_bytes()),
            }
            n == 0
        }
        Scalar::Float => {
            let f = match v {
                Value::Float32(f) => *f,
                Value::Float64(f) => *f as f32,
                _ => return Err(type_error(schema, v)),
            };
            out.extend_from_slice(&f.to_le_bytes());
            f.to_bits() == 0
        }
        Scalar::Double => {
            let f = match v {
                Value::Float64(f) => *f,
                Value::Float32(f) => *f as f64,
                _ => return Err(type_error(schema, v)),
            };
            out.extend_from_slice(&f.to_le_bytes());
            f.to_bits() == 0
        }
        Scalar::Bool => {
            let Value::Boolean(b) = v else {
                return Err(type_error(schema, v));
            };
            out.push(*b as u8);
            !*b
        }
        Scalar::String => {
            let Value::String(t) = v else {
                return Err(type_error(schema, v));
            };
            varint(out, t.len() as u64);
            out.extend_from_slice(t.as_bytes());
            t.is_empty()
        }
        Scalar::Bytes => {
            let b: &[u8] = match v {
                Value::Bytes(b) => b,
                _ => return Err(type_error(schema, v)),
            };
            varint(out, b.len() as u64);
            out.extend_from_slice(b);
            b.is_empty()
        }
    };
    if default && !presence {
        out.truncate(start);
        return Ok(false);
    }
    Ok(true)
}

/// An enum field's number for a Connect string.
fn enum_number(schema: &Schema, v: &Value) -> Result<i32, DataError> {
    let Value::String(sym) = v else {
        return Err(type_error(schema, v));
    };
    // The symbol's parameter, found without building its name for every record.
    let n = schema
        .parameters
        .iter()
        .flatten()
        .find(|(k, _)| k.strip_prefix(ENUM_PREFIX) == Some(sym.as_str()))
        .map(|(_, n)| n)
        .ok_or_else(|| {
            DataError::new(format!(
                "\"{sym}\" is not a symbol of enum {}",
                schema.parameter(ENUM_PARAM).unwrap_or_default()
            ))
        })?;
    n.parse()
        .map_err(|_| DataError::new(format!("{ENUM_PREFIX}{sym} is not a number: {n}")))
}

fn days_to_civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// An int32 field of a small fixed message (Date, TimeOfDay, Timestamp, Decimal), proto3 style.
fn small_field(out: &mut Vec<u8>, number: i32, v: i64) {
    if v != 0 {
        tag(out, number, 0);
        varint(out, v as u64);
    }
}

/// The body of the message a Connect logical value becomes.
fn logical_body(schema: &Schema, v: &Value, out: &mut Vec<u8>) -> Result<(), DataError> {
    match schema.name.as_deref() {
        Some(DECIMAL_NAME) => {
            let Value::Decimal(d) = v else {
                return Err(DataError::new(format!(
                    "Invalid type for Decimal, expected BigDecimal but was {}",
                    v.inferred_type()
                        .map(|t| t.connect_name())
                        .unwrap_or("null")
                )));
            };
            let bytes = d.to_bytes();
            if !bytes.is_empty() {
                len_delimited(out, 1, &bytes);
            }
            small_field(out, 2, precision(d) as i64);
            small_field(out, 3, d.scale as i64);
        }
        Some(DATE_NAME) => {
            let days = int_of(schema, v)?;
            let (y, m, d) = days_to_civil(days);
            small_field(out, 1, y);
            small_field(out, 2, m);
            small_field(out, 3, d);
        }
        Some(TIME_NAME) => {
            let ms = int_of(schema, v)?;
            if !(0..=MILLIS_PER_DAY).contains(&ms) {
                return Err(DataError::new(
                    "Time values must use number of millis greater than 0 and less than 86400000",
                ));
            }
            let ms = ms % MILLIS_PER_DAY;
            small_field(out, 1, ms / 3_600_000);
            small_field(out, 2, ms / 60_000 % 60);
            small_field(out, 3, ms / 1000 % 60);
            small_field(out, 4, ms % 1000 * 1_000_000);
        }
        _ => {
            let ms = int_of(schema, v)?;
            small_field(out, 1, ms.div_euclid(1000));
            small_field(out, 2, ms.rem_euclid(1000) * 1_000_000);
        }
    }
    Ok(())
}

/// `BigDecimal.precision()`: the digits of the unscaled value (1 for zero).
fn precision(d: &Decimal) -> usize {
    let s = d.unscaled.to_string();
    s.trim_start_matches('-').len()
}

impl<'a> Encoder<'a> {
    pub fn new(opts: &'a ProtobufDataOptions) -> Encoder<'a> {
        Self::with_pool(opts, Vec::new())
    }

    /// An encoder reusing the buffers of an earlier one ([`Encoder::into_pool`]): a converter
    /// keeps them from record to record, so nested messages cost no allocation.
    pub fn with_pool(opts: &'a ProtobufDataOptions, pool: Vec<Vec<u8>>) -> Encoder<'a> {
        Encoder { opts, pool }
    }

    pub fn into_pool(self) -> Vec<Vec<u8>> {
        self.pool
    }

    fn buffer(&mut self) -> Vec<u8> {
        let mut b = self.pool.pop().unwrap_or_default();
        b.clear();
        b
    }

    /// The whole value as the body of its message (a struct's message, or the wrapper
    /// message of a top-level primitive).
    pub fn write_top(
        &mut self,
        schema: &Schema,
        v: &Value,
        out: &mut Vec<u8>,
    ) -> Result<(), DataError> {
        if schema.ty == SchemaType::Struct {
            return self.struct_body(schema, v, out);
        }
        let s = match schema.ty {
            SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 => Scalar::Int32,
            SchemaType::Int64 => Scalar::Int64,
            _ => scalar_of(schema),
        };
        let start = out.len();
        tag(out, 1, s.wire_type());
        if !scalar_bytes(schema, s, v, false, out)? {
            out.truncate(start);
        }
        Ok(())
    }

    fn struct_body(
        &mut self,
        schema: &Schema,
        v: &Value,
        out: &mut Vec<u8>,
    ) -> Result<(), DataError> {
        let Value::Struct(st) = v else {
            return Err(type_error(schema, v));
        };
        if !std::ptr::eq(&*st.schema, schema) && *st.schema != *schema {
            return Err(DataError::new("Mismatching struct schema"));
        }
        let mut segs: SmallVec<[(i32, usize, usize); 24]> = SmallVec::new();
        let mut index = 1;
        let base = out.len();
        for (f, fv) in schema.fields.iter().zip(&st.values) {
            let fs = &*f.schema;
            let number = match fs.parameter(TAG_PARAM) {
                Some(t) => t.parse().unwrap_or(0),
                None => {
                    index += 1;
                    index - 1
                }
            };
            if fv.is_null() {
                continue;
            }
            let start = out.len();
            if fs.ty == SchemaType::Struct
                && fs
                    .name
                    .as_deref()
                    .is_some_and(|n| n.starts_with(UNION_PREFIX))
            {
                let Value::Struct(u) = fv else {
                    return Err(type_error(fs, fv));
                };
                let Some((mf, mv)) = fs.fields.iter().zip(&u.values).find(|(_, v)| !v.is_null())
                else {
                    return Err(DataError::new("Cannot find non-null field"));
                };
                let n = mf
                    .schema
                    .parameter(TAG_PARAM)
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0);
                self.field(n, &mf.schema, mv, true, out)?;
                segs.push((n, start, out.len()));
            } else {
                let presence = self.opts.optional_for_nullables
                    && fs.optional
                    && !matches!(fs.ty, SchemaType::Array | SchemaType::Map);
                self.field(number, fs, fv, presence, out)
                    .map_err(|e| e.context(format!("field {}", f.name)))?;
                segs.push((number, start, out.len()));
            }
        }
        // protobuf-java writes a message's fields by number, whatever order Connect has them in.
        if segs.windows(2).any(|w| w[0].0 > w[1].0) {
            let mut sorted = segs.clone();
            sorted.sort_by_key(|s| s.0);
            let mut tmp = self.buffer();
            tmp.extend_from_slice(&out[base..]);
            out.truncate(base);
            for (_, s, e) in sorted {
                out.extend_from_slice(&tmp[s - base..e - base]);
            }
            self.pool.push(tmp);
        }
        Ok(())
    }

    /// A field: an array as a packed or repeated field, a map as repeated entries, anything
    /// else once.
    fn field(
        &mut self,
        number: i32,
        schema: &Schema,
        v: &Value,
        presence: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), DataError> {
        match schema.ty {
            SchemaType::Array => {
                let Value::Array(items) = v else {
                    return Err(type_error(schema, v));
                };
                if items.is_empty() {
                    return Ok(());
                }
                let item_schema = schema.value_schema.as_deref().expect("array items");
                let wrapped = self.opts.wrapper_for_nullables && item_schema.optional;
                let packed = !is_logical(item_schema)
                    && !wrapped
                    && item_schema.ty.is_primitive()
                    && (is_enum(item_schema) || scalar_of(item_schema).packable());
                if packed {
                    let mut body = self.buffer();
                    for item in items {
                        if item.is_null() {
                            return Err(DataError::new(
                                "null element in an array written as Protobuf",
                            ));
                        }
                        if is_enum(item_schema) {
                            varint(&mut body, enum_number(item_schema, item)? as i64 as u64);
                        } else {
                            scalar_bytes(
                                item_schema,
                                scalar_of(item_schema),
                                item,
                                true,
                                &mut body,
                            )?;
                        }
                    }
                    len_delimited(out, number, &body);
                    self.pool.push(body);
                } else {
                    for item in items {
                        if item.is_null() {
                            return Err(DataError::new(
                                "null element in an array written as Protobuf",
                            ));
                        }
                        self.single(number, item_schema, item, true, out)?;
                    }
                }
                Ok(())
            }
            SchemaType::Map => {
                let Value::Map(m) = v else {
                    return Err(type_error(schema, v));
                };
                let ks = schema.key_schema.as_deref().expect("map keys");
                let vs = schema.value_schema.as_deref().expect("map values");
                for (k, val) in m.entries.iter() {
                    let mut body = self.buffer();
                    if !k.is_null() {
                        self.field(1, ks, k, false, &mut body)?;
                    }
                    if !val.is_null() {
                        self.field(2, vs, val, false, &mut body)?;
                    }
                    len_delimited(out, number, &body);
                    self.pool.push(body);
                }
                Ok(())
            }
            _ => self.single(number, schema, v, presence, out),
        }
    }

    fn single(
        &mut self,
        number: i32,
        schema: &Schema,
        v: &Value,
        presence: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), DataError> {
        if is_logical(schema) {
            let mut body = self.buffer();
            logical_body(schema, v, &mut body)?;
            len_delimited(out, number, &body);
            self.pool.push(body);
            return Ok(());
        }
        if schema.ty == SchemaType::Struct {
            let mut body = self.buffer();
            self.struct_body(schema, v, &mut body)?;
            len_delimited(out, number, &body);
            self.pool.push(body);
            return Ok(());
        }
        if is_enum(schema) {
            let n = enum_number(schema, v)?;
            if n != 0 || presence {
                tag(out, number, 0);
                varint(out, n as i64 as u64);
            }
            return Ok(());
        }
        let s = scalar_of(schema);
        if self.opts.wrapper_for_nullables && schema.optional {
            // The wrapper message: its one field follows proto3's default rule.
            let mut body = self.buffer();
            tag(&mut body, 1, s.wire_type());
            if !scalar_bytes(schema, s, v, false, &mut body)? {
                body.clear();
            }
            len_delimited(out, number, &body);
            self.pool.push(body);
            return Ok(());
        }
        let start = out.len();
        tag(out, number, s.wire_type());
        if !scalar_bytes(schema, s, v, presence, out)? {
            out.truncate(start);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// -0.0 is not proto3's default (protobuf-java compares with `equals`), so it is written;
    /// JSON input cannot carry it (Connect's JsonConverter reads it as 0.0), so the goldens
    /// cannot show it.
    #[test]
    fn negative_zero_is_written() {
        let opts = ProtobufDataOptions::default();
        let schema = Schema::struct_builder()
            .field("d", Schema::primitive(SchemaType::Float64, false))
            .build();
        let mut st = crate::data::Struct::new(schema.clone());
        st.put("d", Value::Float64(-0.0));
        let mut out = Vec::new();
        Encoder::new(&opts)
            .write_top(&schema, &Value::Struct(st), &mut out)
            .unwrap();
        assert_eq!(out, [0x09, 0, 0, 0, 0, 0, 0, 0, 0x80]);
        let mut st = crate::data::Struct::new(schema.clone());
        st.put("d", Value::Float64(0.0));
        out.clear();
        Encoder::new(&opts)
            .write_top(&schema, &Value::Struct(st), &mut out)
            .unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn civil_dates() {
        assert_eq!(days_to_civil(0), (1970, 1, 1));
        assert_eq!(days_to_civil(19000), (2022, 1, 8));
        assert_eq!(days_to_civil(-1), (1969, 12, 31));
    }
}
