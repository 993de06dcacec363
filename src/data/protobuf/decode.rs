//! Protobuf binary → Connect data, beside the Connect schema [`super::to_connect`] made from
//! the same message (protobuf-java's parsing and `ProtobufData.toConnectData` in one pass):
//! absent scalars read as their defaults unless the field has presence, absent messages as
//! null, repeated fields packed or not, singular messages merged when repeated on the wire.

use std::borrow::Cow;

use smallvec::SmallVec;

use super::model::{Field, Kind, Label, Message, Scalar, Types};
use super::to_connect::{has_optional_keyword, is_map, real_oneofs};
use super::wire::{unzigzag, Reader};
use super::ProtobufDataOptions;
use crate::data::schema::{DATE_NAME, DECIMAL_NAME, TIMESTAMP_NAME, TIME_NAME};
use crate::data::{DataError, Decimal, Map, SchemaRef, SchemaType, Struct, Value};

#[derive(Clone, Copy)]
enum Item<'a> {
    Varint(u64),
    Fixed32(u32),
    Fixed64(u64),
    Len(&'a [u8]),
}

/// A value as protobuf-java hands it to ProtobufData; a message is its type (from the
/// schema, `'a`) and its bytes (borrowed from the record, `'b`, unless merged).
enum J<'a, 'b> {
    Int(i32),
    Long(i64),
    Float(f32),
    Double(f64),
    Bool(bool),
    /// Strings and bytes borrowed from the record (`'b`), enum names from the schema (`'a`).
    Str(Cow<'b, str>),
    Bytes(Cow<'b, [u8]>),
    Enum(Cow<'a, str>),
    Msg(&'a Message, Cow<'b, [u8]>),
}

pub struct Decoder<'a> {
    pub types: &'a Types,
    pub opts: &'a ProtobufDataOptions,
}

fn corrupt(what: &str) -> DataError {
    DataError::new(format!("Protobuf data does not fit its schema: {what}"))
}

/// The fields' occurrences in one message's bytes, by field position, with the order of the
/// last occurrence (to tell which member of a oneof came last).
type Slots<'a> = Vec<(SmallVec<[Item<'a>; 1]>, usize)>;

fn scan<'a>(buf: &'a [u8], m: &Message) -> Result<Slots<'a>, DataError> {
    let mut slots: Slots<'a> = vec![(SmallVec::new(), 0); m.fields.len()];
    let mut r = Reader::new(buf);
    let mut n = 0;
    while !r.done() {
        let key = r.varint()?;
        let number = (key >> 3) as i32;
        let wt = (key & 7) as u8;
        let item = match wt {
            0 => Item::Varint(r.varint()?),
            1 => Item::Fixed64(r.fixed64()?),
            2 => Item::Len(r.len_delimited()?),
            5 => Item::Fixed32(r.fixed32()?),
            _ => {
                r.skip(wt)?;
                continue;
            }
        };
        n += 1;
        if let Some(i) = m.fields.iter().position(|f| f.number == number) {
            slots[i].0.push(item);
            slots[i].1 = n;
        }
    }
    Ok(slots)
}

fn scalar<'a, 'b>(s: Scalar, item: Item<'b>) -> Result<J<'a, 'b>, DataError> {
    Ok(match (s, item) {
        (Scalar::Int32, Item::Varint(v)) => J::Int(v as i32),
        (Scalar::Uint32, Item::Varint(v)) => J::Int(v as u32 as i32),
        (Scalar::Sint32, Item::Varint(v)) => J::Int(unzigzag(v) as i32),
        (Scalar::Int64 | Scalar::Uint64, Item::Varint(v)) => J::Long(v as i64),
        (Scalar::Sint64, Item::Varint(v)) => J::Long(unzigzag(v)),
        (Scalar::Bool, Item::Varint(v)) => J::Bool(v != 0),
        (Scalar::Fixed32 | Scalar::Sfixed32, Item::Fixed32(v)) => J::Int(v as i32),
        (Scalar::Float, Item::Fixed32(v)) => J::Float(f32::from_bits(v)),
        (Scalar::Fixed64 | Scalar::Sfixed64, Item::Fixed64(v)) => J::Long(v as i64),
        (Scalar::Double, Item::Fixed64(v)) => J::Double(f64::from_bits(v)),
        (Scalar::String, Item::Len(b)) => J::Str(Cow::Borrowed(
            std::str::from_utf8(b).map_err(|_| corrupt("a string field holds invalid UTF-8"))?,
        )),
        (Scalar::Bytes, Item::Len(b)) => J::Bytes(Cow::Borrowed(b)),
        (s, _) => {
            return Err(corrupt(&format!(
                "a {} field has the wrong wire type",
                s.name()
            )))
        }
    })
}

/// Each value of a packed run.
fn unpack<'a, 'b>(s: Scalar, b: &[u8], out: &mut Vec<J<'a, 'b>>) -> Result<(), DataError> {
    let mut r = Reader::new(b);
    while !r.done() {
        let item = match s.wire_type() {
            0 => Item::Varint(r.varint()?),
            1 => Item::Fixed64(r.fixed64()?),
            _ => Item::Fixed32(r.fixed32()?),
        };
        out.push(scalar(s, item)?);
    }
    Ok(())
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl<'a> Decoder<'a> {
    /// The whole message body as the value of `schema` (a struct, or the primitive a wrapper
    /// message is read as).
    pub fn read_top(
        &self,
        body: &[u8],
        m: &'a Message,
        schema: &SchemaRef,
    ) -> Result<Value, DataError> {
        self.convert(schema, J::Msg(m, Cow::Borrowed(body)))
    }

    fn message(&self, full: &str) -> Result<&'a Message, DataError> {
        self.types
            .messages
            .get(full)
            .map(|m| &**m)
            .ok_or_else(|| DataError::new(format!("message {full} is not defined")))
    }

    /// A field's default: what protobuf-java's `getField` answers for an absent field.
    fn default<'b>(&self, f: &Field) -> Result<J<'a, 'b>, DataError> {
        Ok(match &f.kind {
            Kind::Scalar(s) => {
                let d = f.default.as_deref();
                match s {
                    Scalar::Int32
                    | Scalar::Uint32
                    | Scalar::Sint32
                    | Scalar::Fixed32
                    | Scalar::Sfixed32 => {
                        J::Int(d.and_then(|d| d.parse::<i64>().ok()).unwrap_or(0) as i32)
                    }
                    Scalar::Int64
                    | Scalar::Uint64
                    | Scalar::Sint64
                    | Scalar::Fixed64
                    | Scalar::Sfixed64 => {
                        J::Long(d.and_then(|d| d.parse::<i128>().ok()).unwrap_or(0) as i64)
                    }
                    Scalar::Float => J::Float(d.and_then(|d| d.parse().ok()).unwrap_or(0.0)),
                    Scalar::Double => J::Double(d.and_then(|d| d.parse().ok()).unwrap_or(0.0)),
                    Scalar::Bool => J::Bool(d == Some("true")),
                    Scalar::String => J::Str(Cow::Owned(d.unwrap_or_default().to_string())),
                    Scalar::Bytes => {
                        J::Bytes(Cow::Owned(d.unwrap_or_default().as_bytes().to_vec()))
                    }
                }
            }
            Kind::Enum(full) => {
                let e = self
                    .types
                    .enums
                    .get(full)
                    .ok_or_else(|| DataError::new(format!("enum {full} is not defined")))?;
                let name = match f.default.as_deref() {
                    Some(d) => Cow::Owned(d.to_string()),
                    None => Cow::Borrowed(
                        e.values
                            .first()
                            .map(|(n, _)| n.as_str())
                            .unwrap_or_default(),
                    ),
                };
                J::Enum(name)
            }
            Kind::Message(full) => J::Msg(self.message(full)?, Cow::Borrowed(&[])),
        })
    }

    /// One occurrence (or the merged occurrences of a singular message) as protobuf-java's
    /// value.
    fn single<'b>(&self, f: &Field, items: &[Item<'b>]) -> Result<J<'a, 'b>, DataError> {
        let Some(last) = items.last() else {
            return self.default(f);
        };
        match &f.kind {
            Kind::Scalar(s) => scalar(*s, *last),
            Kind::Enum(full) => {
                let Item::Varint(v) = last else {
                    return Err(corrupt("an enum field has the wrong wire type"));
                };
                Ok(J::Enum(self.enum_name(full, *v as i32)?))
            }
            Kind::Message(full) => {
                let m = self.message(full)?;
                let mut parts = items.iter().map(|i| match i {
                    Item::Len(b) => Ok(*b),
                    _ => Err(corrupt("a message field has the wrong wire type")),
                });
                if items.len() == 1 {
                    return Ok(J::Msg(m, Cow::Borrowed(parts.next().expect("one")?)));
                }
                // A singular message repeated on the wire is the merge of its parts, which is
                // the message of their concatenation.
                let mut bytes = Vec::new();
                for p in parts {
                    bytes.extend_from_slice(p?);
                }
                Ok(J::Msg(m, Cow::Owned(bytes)))
            }
        }
    }

    fn enum_name(&self, full: &str, n: i32) -> Result<Cow<'a, str>, DataError> {
        let e = self
            .types
            .enums
            .get(full)
            .ok_or_else(|| DataError::new(format!("enum {full} is not defined")))?;
        Ok(match e.values.iter().find(|(_, v)| *v == n) {
            Some((name, _)) => Cow::Borrowed(name.as_str()),
            // protobuf-java names a proto3 enum number it does not know this way.
            None => Cow::Owned(format!("UNKNOWN_ENUM_VALUE_{}_{n}", e.name)),
        })
    }

    fn repeated<'b>(&self, f: &Field, items: &[Item<'b>]) -> Result<Vec<J<'a, 'b>>, DataError> {
        let mut out = Vec::with_capacity(items.len());
        for it in items {
            match (&f.kind, it) {
                (Kind::Scalar(s), Item::Len(b)) if s.packable() => unpack(*s, b, &mut out)?,
                (Kind::Enum(full), Item::Len(b)) => {
                    let mut r = Reader::new(b);
                    while !r.done() {
                        let v = r.varint()? as i32;
                        out.push(J::Enum(self.enum_name(full, v)?));
                    }
                }
                _ => out.push(self.single(f, std::slice::from_ref(it))?),
            }
        }
        Ok(out)
    }

    fn field_value(
        &self,
        f: &Field,
        items: &[Item<'_>],
        schema: &SchemaRef,
    ) -> Result<Value, DataError> {
        if f.label == Label::Repeated {
            if let Some(entry) = is_map(f, self.types) {
                let (ks, vs) = match (&schema.key_schema, &schema.value_schema) {
                    (Some(k), Some(v)) if schema.ty == SchemaType::Map => (k, v),
                    _ => return Err(corrupt("a map field without a map schema")),
                };
                let mut entries = Vec::with_capacity(items.len());
                for it in items {
                    let Item::Len(b) = it else {
                        return Err(corrupt("a map entry has the wrong wire type"));
                    };
                    let slots = scan(b, &entry)?;
                    let k = self.single(&entry.fields[0], &slots[0].0)?;
                    let v = self.single(&entry.fields[1], &slots[1].0)?;
                    entries.push((self.convert(ks, k)?, self.convert(vs, v)?));
                }
                // ProtobufData fills a `new HashMap<>()`: its iteration order is Connect's.
                let order = crate::data::java_string::hash_map_order(&entries);
                let entries = crate::data::java_string::in_order(entries, order);
                return Ok(Value::Map(Map::linked(entries)));
            }
            let item_schema = match (&schema.value_schema, schema.ty) {
                (Some(s), SchemaType::Array) => s,
                _ => return Err(corrupt("a repeated field without an array schema")),
            };
            let vals = self.repeated(f, items)?;
            let mut out = Vec::with_capacity(vals.len());
            for v in vals {
                out.push(self.convert(item_schema, v)?);
            }
            return Ok(Value::Array(out));
        }
        let j = self.single(f, items)?;
        self.convert(schema, j)
    }

    fn struct_value(
        &self,
        schema: &SchemaRef,
        m: &Message,
        body: &[u8],
    ) -> Result<Value, DataError> {
        let slots = scan(body, m)?;
        let mut st = Struct::new(schema.clone());
        for (real, i, oname) in real_oneofs(m) {
            let set = m
                .fields
                .iter()
                .enumerate()
                .filter(|(fi, f)| f.oneof == Some(i) && !slots[*fi].0.is_empty())
                .max_by_key(|(fi, _)| slots[*fi].1);
            let Some((fi, f)) = set else {
                continue;
            };
            let uname = format!("{oname}_{real}");
            let us = schema
                .field(&uname)
                .map(|x| x.schema.clone())
                .ok_or_else(|| corrupt(&format!("no field {uname}")))?;
            let ms = us
                .field(&f.name)
                .map(|x| x.schema.clone())
                .ok_or_else(|| corrupt(&format!("no field {}", f.name)))?;
            let mut u = Struct::new(us);
            u.put(&f.name, self.field_value(f, &slots[fi].0, &ms)?);
            st.put(&uname, Value::Struct(u));
        }
        for (fi, f) in m.fields.iter().enumerate() {
            if f.oneof.is_some_and(|o| !m.oneofs[o].synthetic) {
                continue;
            }
            let present = !slots[fi].0.is_empty();
            let primitive_or_repeated =
                !matches!(f.kind, Kind::Message(_)) || f.label == Label::Repeated;
            let optional =
                f.proto3_optional || (self.opts.optional_for_proto2 && has_optional_keyword(f, m));
            if (primitive_or_repeated && !optional) || present {
                let fs = schema
                    .field(&f.name)
                    .map(|x| x.schema.clone())
                    .ok_or_else(|| corrupt(&format!("no field {}", f.name)))?;
                let v = self.field_value(f, &slots[fi].0, &fs)?;
                st.put(&f.name, v);
            }
        }
        Ok(Value::Struct(st))
    }

    /// The `value` of a wrapper message.
    fn unwrap<'b>(&self, m: &'a Message, body: &'b [u8]) -> Result<J<'a, 'b>, DataError> {
        let f = m
            .fields
            .first()
            .filter(|f| f.name == "value")
            .ok_or_else(|| corrupt(&format!("{} is not a wrapper message", m.full_name)))?;
        let slots = scan(body, m)?;
        self.single(f, &slots[0].0)
    }

    /// ProtobufData's `toConnectData` of one value.
    fn convert(&self, schema: &SchemaRef, j: J<'a, '_>) -> Result<Value, DataError> {
        if let J::Msg(m, body) = &j {
            match schema.name.as_deref() {
                Some(DECIMAL_NAME) => return self.decimal(m, body),
                Some(DATE_NAME) => return self.date(m, body),
                Some(TIME_NAME) => return self.time(m, body),
                Some(TIMESTAMP_NAME) => return self.timestamp(m, body),
                _ => {}
            }
            if schema.ty == SchemaType::Struct {
                return self.struct_value(schema, m, body);
            }
            let inner = self.unwrap(m, body)?;
            return self.convert(schema, inner);
        }
        let bad = || {
            DataError::new(format!(
                "Protobuf value does not fit the Connect {} schema",
                schema.ty.connect_name()
            ))
        };
        Ok(match (schema.ty, j) {
            (SchemaType::Int8, J::Int(i)) => Value::Int8(i as i8),
            (SchemaType::Int16, J::Int(i)) => Value::Int16(i as i16),
            (SchemaType::Int32, J::Int(i)) => Value::Int32(i),
            (SchemaType::Int64, J::Long(l)) => Value::Int64(l),
            (SchemaType::Int64, J::Int(i)) => Value::Int64(i as u32 as i64),
            (SchemaType::Float32, J::Float(f)) => Value::Float32(f),
            (SchemaType::Float64, J::Double(f)) => Value::Float64(f),
            (SchemaType::Boolean, J::Bool(b)) => Value::Boolean(b),
            (SchemaType::String, J::Str(s)) => Value::String(s.as_ref().into()),
            (SchemaType::String, J::Enum(s)) => Value::String(s.as_ref().into()),
            (SchemaType::Bytes, J::Bytes(b)) => Value::Bytes(b.into_owned()),
            _ => return Err(bad()),
        })
    }

    fn ints(&self, m: &Message, body: &[u8], names: &[&str]) -> Result<Vec<i64>, DataError> {
        let slots = scan(body, m)?;
        let mut out = Vec::with_capacity(names.len());
        for n in names {
            let v = match m.fields.iter().position(|f| f.name == *n) {
                Some(i) => match self.single(&m.fields[i], &slots[i].0)? {
                    J::Int(v) => v as i64,
                    J::Long(v) => v,
                    _ => 0,
                },
                None => 0,
            };
            out.push(v);
        }
        Ok(out)
    }

    fn decimal(&self, m: &Message, body: &[u8]) -> Result<Value, DataError> {
        let slots = scan(body, m)?;
        let mut bytes: &[u8] = &[];
        let mut scale = 0i32;
        for (i, f) in m.fields.iter().enumerate() {
            match (f.name.as_str(), slots[i].0.last()) {
                ("value", Some(Item::Len(b))) => bytes = b,
                ("scale", Some(Item::Varint(v))) => scale = *v as i32,
                _ => {}
            }
        }
        if bytes.is_empty() {
            return Err(DataError::new("Invalid Decimal: Zero length BigInteger"));
        }
        Ok(Value::Decimal(Decimal::from_bytes(bytes, scale)))
    }

    fn date(&self, m: &Message, body: &[u8]) -> Result<Value, DataError> {
        let v = self.ints(m, body, &["year", "month", "day"])?;
        let (y, mo, d) = (v[0], v[1], v[2]);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || y < 1 {
            return Err(DataError::new(format!(
                "Invalid Date: year {y}, month {mo}, day {d}"
            )));
        }
        Ok(Value::Int32(days_from_civil(y, mo, d) as i32))
    }

    fn time(&self, m: &Message, body: &[u8]) -> Result<Value, DataError> {
        let v = self.ints(m, body, &["hours", "minutes", "seconds", "nanos"])?;
        if !(0..24).contains(&v[0])
            || !(0..60).contains(&v[1])
            || !(0..60).contains(&v[2])
            || !(0..1_000_000_000).contains(&v[3])
        {
            return Err(DataError::new(format!(
                "Invalid TimeOfDay: {:02}:{:02}:{:02}.{:09}",
                v[0], v[1], v[2], v[3]
            )));
        }
        let ms = (v[0] * 3600 + v[1] * 60 + v[2]) * 1000 + v[3] / 1_000_000;
        Ok(Value::Int32(ms as i32))
    }

    fn timestamp(&self, m: &Message, body: &[u8]) -> Result<Value, DataError> {
        let v = self.ints(m, body, &["seconds", "nanos"])?;
        if !(0..1_000_000_000).contains(&v[1]) {
            return Err(DataError::new(format!("Invalid Timestamp: nanos {}", v[1])));
        }
        Ok(Value::Int64(v[0] * 1000 + v[1] / 1_000_000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2022, 1, 8), 19000);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
    }

    #[test]
    fn bad_bytes_are_errors() {
        let f = super::super::parse::parse("syntax = \"proto3\"; message M { string s = 1; repeated int32 r = 2; M2 m = 3; } message M2 { int32 x = 1; }").unwrap();
        let mut types = Types::default();
        types.add_file(&f);
        let mut f2 = f.clone();
        super::super::parse::resolve(&mut f2, &types).unwrap();
        let mut types = Types::default();
        types.add_file(&f2);
        let opts = ProtobufDataOptions::default();
        let mut ctx = super::super::to_connect::Ctx::new(&types, &opts);
        let schema = ctx.root_schema(&f2.messages[0], None).unwrap();
        let d = Decoder {
            types: &types,
            opts: &opts,
        };
        for bad in [
            &[0x0a, 0x05, b'a'][..],
            &[0x0a, 0x01, 0xff],
            &[0x12, 0x03, 0x80],
            &[0x08],
        ] {
            assert!(
                d.read_top(bad, &f2.messages[0], &schema).is_err(),
                "{bad:?}"
            );
        }
        let ok = d
            .read_top(
                &[0x0a, 0x01, b'a', 0x12, 0x02, 0x01, 0x02],
                &f2.messages[0],
                &schema,
            )
            .unwrap();
        let Value::Struct(s) = ok else { panic!() };
        assert_eq!(s.get("s"), Some(&Value::String("a".into())));
        assert_eq!(
            s.get("r"),
            Some(&Value::Array(vec![Value::Int32(1), Value::Int32(2)]))
        );
        assert_eq!(s.get("m"), Some(&Value::Null));
    }
}
