//! Reading JSON straight into Connect values, guided by the schema: no intermediate JSON tree,
//! one allocation per string or container that the value itself keeps. This is the sink side's
//! hot path (every consumed record goes through it).

use std::fmt;

use base64::Engine;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::DataError;
use crate::data::schema::DECIMAL_NAME;
use crate::data::{Decimal, Field, Schema, SchemaRef, SchemaType, Struct, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Reads a payload against its schema, as `JsonConverter.convertToConnect` does.
pub fn read_with_schema(schema: &SchemaRef, json: &str) -> Result<Value, DataError> {
    let mut de = serde_json::Deserializer::from_str(json);
    let v = ValueSeed(schema)
        .deserialize(&mut de)
        .map_err(|e| DataError::new(e.to_string()))?;
    de.end().map_err(|e| DataError::new(e.to_string()))?;
    Ok(v)
}

/// Plain JSON without a schema: objects become string-keyed maps, integral numbers int64,
/// other numbers float64.
pub fn read_schemaless(json: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let v = SchemalessSeed.deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

thread_local! {
    /// JsonConverter's `replace.null.with.default` for the read under way (set by
    /// `read_with_schema_opts`; the visitors below are deep, the setting is one per read).
    static REPLACE_NULL_WITH_DEFAULT: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
}

/// `read_with_schema` with JsonConverter's `replace.null.with.default`: when false, a null (or
/// absent) optional field stays null instead of taking its schema default, and a required one
/// is refused, as in Connect's `convertToConnect`.
pub fn read_with_schema_opts(
    schema: &SchemaRef,
    json: &str,
    replace_null_with_default: bool,
) -> Result<Value, DataError> {
    let before = REPLACE_NULL_WITH_DEFAULT.replace(replace_null_with_default);
    let r = read_with_schema(schema, json);
    REPLACE_NULL_WITH_DEFAULT.set(before);
    r
}

/// What a JSON null (or a missing struct field) becomes for this schema.
fn null_for<E: de::Error>(s: &Schema) -> Result<Value, E> {
    if let Some(d) = &s.default {
        if REPLACE_NULL_WITH_DEFAULT.get() {
            return Ok(d.clone());
        }
    }
    if s.optional {
        return Ok(Value::Null);
    }
    Err(E::custom(format!(
        "Invalid null value for required {} field",
        s.ty.connect_name()
    )))
}

struct ValueSeed<'a>(&'a SchemaRef);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        let s = self.0;
        if s.is_named(DECIMAL_NAME) {
            // The raw text keeps every digit of a numeric decimal; base64 text is the default.
            let raw = <&RawValue>::deserialize(d)?;
            return decimal(s, raw.get());
        }
        match s.ty {
            SchemaType::Struct => d.deserialize_any(StructVisitor(s)),
            SchemaType::Array => d.deserialize_any(ArrayVisitor(s)),
            SchemaType::Map => d.deserialize_any(MapVisitor(s)),
            _ => d.deserialize_any(PrimitiveVisitor(s)),
        }
    }
}

fn decimal<E: de::Error>(s: &Schema, text: &str) -> Result<Value, E> {
    let scale = s.decimal_scale();
    if text == "null" {
        return null_for(s);
    }
    if let Some(quoted) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        let bytes = B64
            .decode(quoted)
            .map_err(|e| E::custom(format!("Invalid bytes field: {e}")))?;
        return Ok(Value::Decimal(Decimal::from_bytes(&bytes, scale)));
    }
    match Decimal::parse(text) {
        Some(d) => d.rescale(scale).map(Value::Decimal).ok_or_else(|| {
            E::custom(format!(
                "Decimal {text} does not fit scale {scale}: kconnect rescales by at most {} digits",
                Decimal::MAX_SCALE
            ))
        }),
        None => Err(E::custom(format!(
            "Invalid type for Decimal, underlying representation should be numeric or bytes (a number's scale at most {} either way)",
            Decimal::MAX_SCALE
        ))),
    }
}

struct PrimitiveVisitor<'a>(&'a SchemaRef);

impl PrimitiveVisitor<'_> {
    fn int<E: de::Error>(&self, v: i64) -> Result<Value, E> {
        Ok(match self.0.ty {
            SchemaType::Int8 => Value::Int8(v as i8),
            SchemaType::Int16 => Value::Int16(v as i16),
            SchemaType::Int32 => Value::Int32(v as i32),
            SchemaType::Int64 => Value::Int64(v),
            SchemaType::Float32 => Value::Float32(v as f32),
            SchemaType::Float64 => Value::Float64(v as f64),
            _ => return Err(self.mismatch("number")),
        })
    }

    fn mismatch<E: de::Error>(&self, got: &str) -> E {
        E::custom(format!(
            "Invalid type for {} field: expected {} but got {got}",
            self.0.ty.connect_name(),
            self.0.ty.json_name()
        ))
    }
}

impl<'de> Visitor<'de> for PrimitiveVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a JSON value for a {} field", self.0.ty.connect_name())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        null_for(self.0)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        match self.0.ty {
            SchemaType::Boolean => Ok(Value::Boolean(v)),
            _ => Err(self.mismatch("boolean")),
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.int(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.int(v as i64)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(match self.0.ty {
            // Connect's Jackson reads floating-point numbers as BigDecimal, which has no
            // negative zero: `-0.0` arrives as 0.0 whatever the schema.
            SchemaType::Float32 => Value::Float32(if v == 0.0 { 0.0 } else { v as f32 }),
            SchemaType::Float64 => Value::Float64(if v == 0.0 { 0.0 } else { v }),
            SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 | SchemaType::Int64 => {
                return self.int(v as i64)
            }
            _ => return Err(self.mismatch("number")),
        })
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        match self.0.ty {
            SchemaType::String => Ok(Value::String(v.into())),
            SchemaType::Bytes => B64
                .decode(v)
                .map(Value::Bytes)
                .map_err(|e| E::custom(format!("Invalid bytes field: {e}"))),
            _ => Err(self.mismatch("string")),
        }
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        match self.0.ty {
            SchemaType::String => Ok(Value::String(v.into())),
            _ => self.visit_str(&v),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Value, A::Error> {
        Err(self.mismatch("array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Value, A::Error> {
        Err(self.mismatch("object"))
    }
}

struct StructVisitor<'a>(&'a SchemaRef);

/// Resolves a JSON key to the index of the struct field of that name.
struct FieldIndex<'a>(&'a [Field]);

impl<'de> DeserializeSeed<'de> for FieldIndex<'_> {
    type Value = Option<usize>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for FieldIndex<'_> {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|f| f.name == v))
    }
}

impl<'de> Visitor<'de> for StructVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object for a struct")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        null_for(self.0)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let schema = self.0;
        let mut st = Struct::new(schema.clone());
        // Fields absent from the object are null, then defaults and optionality apply.
        let mut seen = vec![false; schema.fields.len()];
        while let Some(idx) = map.next_key_seed(FieldIndex(&schema.fields))? {
            match idx {
                Some(i) => {
                    let f = &schema.fields[i];
                    st.values[i] = map
                        .next_value_seed(ValueSeed(&f.schema))
                        .map_err(|e| de::Error::custom(format!("{e} (field {})", f.name)))?;
                    seen[i] = true;
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        for (i, f) in schema.fields.iter().enumerate() {
            if !seen[i] {
                st.values[i] = null_for::<A::Error>(&f.schema)
                    .map_err(|e| de::Error::custom(format!("{e} (field {})", f.name)))?;
            }
        }
        Ok(Value::Struct(st))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Value, A::Error> {
        Err(de::Error::custom(
            "Structs should be encoded as JSON objects",
        ))
    }
}

struct ArrayVisitor<'a>(&'a SchemaRef);

impl<'de> Visitor<'de> for ArrayVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        null_for(self.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let items = self
            .0
            .value_schema
            .as_ref()
            .ok_or_else(|| de::Error::custom("array schema without items"))?;
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(4));
        while let Some(v) = seq.next_element_seed(ValueSeed(items))? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
}

struct MapVisitor<'a>(&'a SchemaRef);

struct PairSeed<'a>(&'a SchemaRef, &'a SchemaRef);

impl<'de> DeserializeSeed<'de> for PairSeed<'_> {
    type Value = (Value, Value);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(Value, Value), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for PairSeed<'_> {
    type Value = (Value, Value);
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a [key, value] pair")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(Value, Value), A::Error> {
        let bad = || de::Error::custom("Found invalid map entry instead of array tuple");
        let k = seq.next_element_seed(ValueSeed(self.0))?.ok_or_else(bad)?;
        let v = seq.next_element_seed(ValueSeed(self.1))?.ok_or_else(bad)?;
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(bad());
        }
        Ok((k, v))
    }
}

impl MapVisitor<'_> {
    fn schemas<E: de::Error>(&self) -> Result<(&SchemaRef, &SchemaRef), E> {
        match (&self.0.key_schema, &self.0.value_schema) {
            (Some(k), Some(v)) => Ok((k, v)),
            _ => Err(E::custom("map schema without key or value schema")),
        }
    }
}

impl<'de> Visitor<'de> for MapVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object or an array of [key, value] pairs")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        null_for(self.0)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let (ks, vs) = self.schemas::<A::Error>()?;
        if ks.ty != SchemaType::String {
            return Err(de::Error::custom("Maps with non-string fields should be encoded as JSON array of tuples, but found object"));
        }
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(4));
        while let Some(k) = map.next_key::<String>()? {
            let v = map.next_value_seed(ValueSeed(vs))?;
            out.push((Value::String(k.into()), v));
        }
        Ok(Value::Map(out.into()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let (ks, vs) = self.schemas::<A::Error>()?;
        if ks.ty == SchemaType::String {
            return Err(de::Error::custom(
                "Maps with string fields should be encoded as JSON objects, but found array",
            ));
        }
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(4));
        while let Some(pair) = seq.next_element_seed(PairSeed(ks, vs))? {
            out.push(pair);
        }
        Ok(Value::Map(out.into()))
    }
}

struct SchemalessSeed;

impl<'de> DeserializeSeed<'de> for SchemalessSeed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(SchemalessVisitor)
    }
}

struct SchemalessVisitor;

impl<'de> Visitor<'de> for SchemalessVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Boolean(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int64(v))
    }
    /// Connect reads an integer as `JsonNode.longValue()`, which keeps the low 64 bits of a
    /// larger one: `12345678901234567890` becomes `-6101065172474983726`.
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Int64(v as i64))
    }
    /// Connect's Jackson reads floating-point numbers as `BigDecimal`, which has no negative
    /// zero: `-0.0` arrives as `0.0`.
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float64(if v == 0.0 { 0.0 } else { v }))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.into()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v.into()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(4));
        while let Some(v) = seq.next_element_seed(SchemalessSeed)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(4));
        while let Some(k) = map.next_key::<String>()? {
            out.push((
                Value::String(k.into()),
                map.next_value_seed(SchemalessSeed)?,
            ));
        }
        Ok(Value::Map(out.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Connect 4.3.0 (tests/same_bytes_matrix.rs, snk-s-numeric and snk-s-none): a schema'd
    /// `-0.0` reads as 0.0, and with replace.null.with.default=false a null or absent field
    /// with a default stays null.
    fn json_to_schema_text(text: &str) -> SchemaRef {
        super::super::json::json_to_schema(&serde_json::from_str(text).unwrap()).unwrap()
    }

    #[test]
    fn negative_zero_and_defaults_read_as_connect_does() {
        let schema = json_to_schema_text(
            r#"{"type":"struct","fields":[
                {"type":"double","optional":true,"field":"d"},
                {"type":"float","optional":true,"field":"f"},
                {"type":"string","optional":true,"default":"dflt","field":"w"},
                {"type":"string","optional":true,"default":"dflt","field":"absent"}]}"#,
        );
        let json = r#"{"d":-0.0,"f":-0.0,"w":null}"#;
        let v = read_with_schema(&schema, json).unwrap();
        let st = v.as_struct().unwrap();
        assert!(matches!(st.get("d"), Some(Value::Float64(z)) if z.is_sign_positive()));
        assert!(matches!(st.get("f"), Some(Value::Float32(z)) if z.is_sign_positive()));
        assert_eq!(st.get("w"), Some(&Value::from("dflt")));
        assert_eq!(st.get("absent"), Some(&Value::from("dflt")));
        let v = read_with_schema_opts(&schema, json, false).unwrap();
        let st = v.as_struct().unwrap();
        assert_eq!(st.get("w"), Some(&Value::Null));
        assert_eq!(st.get("absent"), Some(&Value::Null));
        // The setting does not outlive the read.
        let v = read_with_schema(&schema, json).unwrap();
        assert_eq!(v.as_struct().unwrap().get("w"), Some(&Value::from("dflt")));
    }
    use serde_json::Value as Json;

    /// Every shape JsonConverter writes reads back to the Connect value it came from.
    #[test]
    fn reads_every_shape() {
        let schema_json: Json = serde_json::from_str(
            r#"{"type":"struct","fields":[
                {"type":"int32","optional":false,"field":"id"},
                {"type":"string","optional":true,"field":"name"},
                {"type":"int64","optional":true,"default":7,"field":"missing_with_default"},
                {"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"},"field":"price"},
                {"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"},"field":"numeric_price"},
                {"type":"array","items":{"type":"double","optional":false},"optional":true,"field":"scores"},
                {"type":"map","keys":{"type":"string","optional":false},"values":{"type":"boolean","optional":false},"optional":true,"field":"flags"},
                {"type":"map","keys":{"type":"int32","optional":false},"values":{"type":"string","optional":true},"optional":true,"field":"by_id"},
                {"type":"bytes","optional":true,"field":"blob"},
                {"type":"struct","fields":[{"type":"float","optional":false,"field":"x"}],"optional":true,"field":"nested"}
            ],"optional":false,"name":"t.Value"}"#,
        )
        .unwrap();
        let schema = super::super::json::json_to_schema(&schema_json).unwrap();
        let payload = r#"{"id":5,"name":"a\"b","price":"BOI=","numeric_price":12345678901234567890.5,"scores":[1,2.5],
            "flags":{"x":true},"by_id":[[1,"one"],[2,null]],"blob":"AQI=","nested":{"x":1.5},"ignored":{"deep":[1]}}"#;
        let Value::Struct(st) = read_with_schema(&schema, payload).unwrap() else {
            panic!("not a struct")
        };
        let dec = |s: &str| Value::Decimal(Decimal::parse(s).unwrap());
        assert_eq!(st.get("id"), Some(&Value::Int32(5)));
        assert_eq!(st.get("name"), Some(&Value::String("a\"b".into())));
        assert_eq!(st.get("missing_with_default"), Some(&Value::Int64(7)));
        assert_eq!(st.get("price"), Some(&dec("12.50")));
        // A numeric decimal keeps every digit (an f64 on the way would lose them).
        assert_eq!(
            st.get("numeric_price"),
            Some(&dec("12345678901234567890.50"))
        );
        assert_eq!(
            st.get("scores"),
            Some(&Value::Array(vec![
                Value::Float64(1.0),
                Value::Float64(2.5)
            ]))
        );
        assert_eq!(
            st.get("flags"),
            Some(&Value::Map(vec![("x".into(), Value::Boolean(true))].into()))
        );
        assert_eq!(
            st.get("by_id"),
            Some(&Value::Map(
                vec![
                    (Value::Int32(1), "one".into()),
                    (Value::Int32(2), Value::Null)
                ]
                .into()
            ))
        );
        assert_eq!(st.get("blob"), Some(&Value::Bytes(vec![1, 2])));
        let Some(Value::Struct(nested)) = st.get("nested") else {
            panic!("nested")
        };
        assert_eq!(nested.get("x"), Some(&Value::Float32(1.5)));
    }

    #[test]
    fn errors_name_the_field() {
        let schema = Schema::struct_builder()
            .field("id", Schema::primitive(SchemaType::Int32, false))
            .build();
        let e = read_with_schema(&schema, r#"{"id":"x"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("INT32") && e.contains("field id"), "{e}");
        let e = read_with_schema(&schema, r#"{}"#).unwrap_err().to_string();
        assert!(
            e.contains("Invalid null value for required INT32 field") && e.contains("field id"),
            "{e}"
        );
    }

    #[test]
    fn schemaless_values() {
        let v = read_schemaless(br#"{"a":1,"b":[1.5,"x",null,true],"c":18446744073709551615}"#)
            .unwrap();
        assert_eq!(v.map_get("a"), Some(&Value::Int64(1)));
        assert_eq!(
            v.map_get("b"),
            Some(&Value::Array(vec![
                Value::Float64(1.5),
                "x".into(),
                Value::Null,
                Value::Boolean(true)
            ]))
        );
        // As Connect's JsonNode.longValue(): the low 64 bits.
        assert_eq!(v.map_get("c"), Some(&Value::Int64(-1)));
        let v = read_schemaless(b"[-0.0, 12345678901234567890]").unwrap();
        let Value::Array(items) = v else {
            panic!("{v:?}")
        };
        assert!(matches!(items[0], Value::Float64(z) if z == 0.0 && z.is_sign_positive()));
        assert_eq!(items[1], Value::Int64(-6101065172474983726));
    }
}
