//! `org.apache.kafka.connect.json.JsonConverter`, byte-compatible with Connect's output:
//! the `{"schema":..,"payload":..}` envelope, schema keys in Connect's order, numbers printed
//! as Java prints them.
//!
//! Writing caches each schema's JSON by the schema's `Arc` address, so a stream of records of
//! one shape serializes its schema once. Reading caches parsed schemas by their raw text.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::value::RawValue;
use serde_json::Value as Json;

use super::{Converter, ConverterPlugin};
use crate::api::{ConfigKey, ConfigType, KeyDefault, Problem, Settings, Validator};
use crate::data::json::{write_schema, write_value};
use crate::data::{DataError, Schema, SchemaRef, SchemaType, Value};

/// The converter is configured with these; they live with the JSON writer in `data`.
pub use crate::data::json::JsonOptions;

pub const KEYS: &[ConfigKey] = &[
    ConfigKey::new(
        "schemas.enable",
        ConfigType::Boolean,
        KeyDefault::Value("true"),
        "Wrap each value in {\"schema\":..,\"payload\":..} and expect that envelope when reading.",
    ),
    ConfigKey::new(
        "decimal.format",
        ConfigType::String,
        KeyDefault::Value("BASE64"),
        "How Decimal values are written: BASE64 (Connect's default) or NUMERIC.",
    )
    .validator(Validator::OneOf(&["BASE64", "NUMERIC"])),
    ConfigKey::new(
        "replace.null.with.default",
        ConfigType::Boolean,
        KeyDefault::Value("true"),
        "Write a field's schema default in place of a null value.",
    ),
    ConfigKey::new(
        "schemas.cache.size",
        ConfigType::Int,
        KeyDefault::Value("1000"),
        "How many schemas to keep converted in each direction.",
    )
    .validator(Validator::AtLeast(0)),
];

pub const PLUGIN: ConverterPlugin = ConverterPlugin {
    desc: super::converter_desc(
        "org.apache.kafka.connect.json.JsonConverter",
        &["JsonConverter"],
        "JSON, with or without Connect's schema envelope.",
        KEYS,
    ),
    create,
};

/// Settings of Kafka's JsonConverter that kconnect does not implement: refused by `validate`
/// and `run` rather than accepted and ignored.
pub const REFUSED: &[(&str, &str)] = &[(
    "schema.content",
    "(a fixed schema for reading JSON that has no envelope) is a setting of Kafka's JsonConverter that kconnect does not implement yet; remove it, or write the schema into each message with schemas.enable=true",
)];

fn create(cfg: &BTreeMap<String, String>, _is_key: bool) -> Result<Box<dyn Converter>, Problem> {
    Ok(Box::new(JsonConverter::new(options(cfg)?)))
}

/// The options of a JsonConverter (value, key or header) from its nested settings, checked.
pub fn options(cfg: &BTreeMap<String, String>) -> Result<JsonOptions, Problem> {
    if let Some((key, why)) = REFUSED.iter().find(|(k, _)| cfg.contains_key(*k)) {
        return Err(Problem::new(*key, format!("{key} {why}")));
    }
    if let Some(p) = crate::api::validate_keys(KEYS, cfg, "").into_iter().next() {
        return Err(p);
    }
    let s = Settings::new(KEYS, cfg);
    Ok(JsonOptions {
        schemas_enable: s.bool("schemas.enable").unwrap_or(true),
        decimal_numeric: s
            .choice("decimal.format")
            .map(|v| v == "numeric")
            .unwrap_or(false),
        replace_null_with_default: s.bool("replace.null.with.default").unwrap_or(true),
        cache_size: s.i64("schemas.cache.size").unwrap_or(1000).max(0) as usize,
    })
}

pub struct JsonConverter {
    opts: JsonOptions,
    /// Keeps the `Arc` alive so its address cannot be reused by another schema.
    to_json_cache: HashMap<usize, (SchemaRef, Arc<[u8]>)>,
    /// The schema written last: a converter usually sees one schema record after record, and
    /// comparing a pointer is cheaper than hashing it.
    last_written: Option<(SchemaRef, Arc<[u8]>)>,
    to_connect_cache: HashMap<Box<str>, SchemaRef>,
    last_schema: Option<(Box<str>, SchemaRef)>,
}

/// A member name of the envelope, matched without allocating.
enum Member {
    Schema,
    Payload,
    Other,
}

impl<'de> serde::Deserialize<'de> for Member {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Member;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Member, E> {
                Ok(match v {
                    "schema" => Member::Schema,
                    "payload" => Member::Payload,
                    _ => Member::Other,
                })
            }
        }
        d.deserialize_str(V)
    }
}

/// The `{"schema":..,"payload":..}` envelope, read without building a map per record.
struct Envelope<'a> {
    schema: Option<&'a RawValue>,
    payload: Option<&'a RawValue>,
    /// Another member, or one of the two twice.
    other: bool,
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for Envelope<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Envelope<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object with \"schema\" and \"payload\"")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut env = Envelope {
                    schema: None,
                    payload: None,
                    other: false,
                };
                while let Some(key) = map.next_key::<Member>()? {
                    let slot = match key {
                        Member::Schema => &mut env.schema,
                        Member::Payload => &mut env.payload,
                        Member::Other => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                            env.other = true;
                            continue;
                        }
                    };
                    env.other |= slot.is_some();
                    *slot = Some(map.next_value()?);
                }
                Ok(env)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

impl JsonConverter {
    pub fn new(opts: JsonOptions) -> JsonConverter {
        JsonConverter {
            opts,
            to_json_cache: HashMap::new(),
            last_written: None,
            to_connect_cache: HashMap::new(),
            last_schema: None,
        }
    }

    fn schema_json(&mut self, schema: &SchemaRef) -> Result<&[u8], DataError> {
        let hit = self
            .last_written
            .as_ref()
            .is_some_and(|(s, _)| Arc::ptr_eq(s, schema));
        if !hit {
            let key = Arc::as_ptr(schema) as usize;
            let json = match self.to_json_cache.get(&key) {
                Some((_, json)) => json.clone(),
                None => {
                    if self.to_json_cache.len() >= self.opts.cache_size.max(1) {
                        self.to_json_cache.clear();
                    }
                    let mut buf = Vec::with_capacity(256);
                    write_schema(&mut buf, schema, self.opts)?;
                    let json: Arc<[u8]> = buf.into();
                    self.to_json_cache
                        .insert(key, (schema.clone(), json.clone()));
                    json
                }
            };
            self.last_written = Some((schema.clone(), json));
        }
        Ok(&self.last_written.as_ref().expect("just set").1)
    }
}

impl Converter for JsonConverter {
    fn from_connect(
        &mut self,
        _topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<bool, DataError> {
        out.clear();
        if schema.is_none() && value.is_null() {
            return Ok(false);
        }
        let opts = self.opts;
        if opts.schemas_enable {
            out.extend_from_slice(b"{\"schema\":");
            match schema {
                Some(s) => {
                    let js = self.schema_json(s)?;
                    out.extend_from_slice(js);
                }
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"payload\":");
            write_value(out, schema.map(|s| &**s), value, opts)?;
            out.push(b'}');
        } else {
            write_value(out, schema.map(|s| &**s), value, opts)?;
        }
        Ok(true)
    }

    fn to_connect(
        &mut self,
        _topic: &str,
        data: Option<&[u8]>,
    ) -> Result<(Option<SchemaRef>, Value), DataError> {
        let Some(data) = data else {
            return Ok((None, Value::Null));
        };
        if !self.opts.schemas_enable {
            // Jackson reads no content (an empty value, or only whitespace) as a missing node,
            // which Connect converts to null: a record with an empty value arrives as null.
            if data.iter().all(u8::is_ascii_whitespace) {
                return Ok((None, Value::Null));
            }
            let v = super::json_read::read_schemaless(data).map_err(|e| {
                DataError::new(format!("Converting byte[] to Kafka Connect data failed due to serialization error: {e}"))
            })?;
            return Ok((None, v));
        }
        let env: Envelope<'_> = serde_json::from_slice(data).map_err(|e| {
            DataError::new(format!(
                "Converting byte[] to Kafka Connect data failed due to serialization error: {e}. \
                 If the data is plain JSON, set schemas.enable=false in the converter configuration."
            ))
        })?;
        let (Some(raw_schema), Some(raw_payload), false) = (env.schema, env.payload, env.other)
        else {
            return Err(DataError::new(
                "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields. \
                 If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.",
            ));
        };
        let schema_text = raw_schema.get();
        if schema_text == "null" {
            let v = super::json_read::read_schemaless(raw_payload.get().as_bytes())
                .map_err(|e| DataError::new(format!("invalid payload: {e}")))?;
            return Ok((None, v));
        }
        // A topic's records nearly always repeat the last schema: comparing the text is far
        // cheaper than hashing it for the map.
        let schema = match &self.last_schema {
            Some((text, s)) if **text == *schema_text => s.clone(),
            _ => {
                let s = match self.to_connect_cache.get(schema_text) {
                    Some(s) => s.clone(),
                    None => {
                        let json: Json = serde_json::from_str(schema_text)
                            .map_err(|e| DataError::new(format!("invalid schema: {e}")))?;
                        let s = json_to_schema(&json)?;
                        if self.to_connect_cache.len() >= self.opts.cache_size.max(1) {
                            self.to_connect_cache.clear();
                        }
                        self.to_connect_cache.insert(schema_text.into(), s.clone());
                        s
                    }
                };
                self.last_schema = Some((schema_text.into(), s.clone()));
                s
            }
        };
        let value = super::json_read::read_with_schema_opts(
            &schema,
            raw_payload.get(),
            self.opts.replace_null_with_default,
        )?;
        Ok((Some(schema), value))
    }
}

pub fn json_to_schema(j: &Json) -> Result<SchemaRef, DataError> {
    let obj = j
        .as_object()
        .ok_or_else(|| DataError::new("Schema must be a JSON object"))?;
    let ty_name = obj
        .get("type")
        .and_then(Json::as_str)
        .ok_or_else(|| DataError::new("Schema must contain 'type' field"))?;
    let ty = SchemaType::from_json_name(ty_name)
        .ok_or_else(|| DataError::new(format!("Unknown schema type: {ty_name}")))?;
    let mut b = match ty {
        SchemaType::Array => {
            let items = obj
                .get("items")
                .filter(|v| !v.is_null())
                .ok_or_else(|| DataError::new("Array schema did not specify the element type"))?;
            Schema::array(json_to_schema(items)?)
        }
        SchemaType::Map => {
            let k = obj
                .get("keys")
                .ok_or_else(|| DataError::new("Map schema did not specify the key type"))?;
            let v = obj
                .get("values")
                .ok_or_else(|| DataError::new("Map schema did not specify the value type"))?;
            Schema::map(json_to_schema(k)?, json_to_schema(v)?)
        }
        SchemaType::Struct => {
            let fields = obj.get("fields").and_then(Json::as_array).ok_or_else(|| {
                DataError::new("Struct schema's \"fields\" argument is not an array.")
            })?;
            let mut b = Schema::struct_builder();
            for f in fields {
                let name = f.get("field").and_then(Json::as_str).ok_or_else(|| {
                    DataError::new("Struct schema's field name not specified properly")
                })?;
                b = b.field(name, json_to_schema(f)?);
            }
            b
        }
        _ => Schema::builder(ty),
    };
    if obj.get("optional").and_then(Json::as_bool) == Some(true) {
        b = b.optional();
    }
    if let Some(n) = obj.get("name").and_then(Json::as_str) {
        b = b.name(n);
    }
    if let Some(v) = obj.get("version").and_then(Json::as_i64) {
        b = b.version(v as i32);
    }
    if let Some(d) = obj.get("doc").and_then(Json::as_str) {
        b = b.doc(d);
    }
    if let Some(p) = obj.get("parameters").and_then(Json::as_object) {
        for (k, v) in p {
            let v = v
                .as_str()
                .ok_or_else(|| DataError::new("Schema parameters must have string values."))?;
            b = b.parameter(k.clone(), v);
        }
    }
    if let Some(d) = obj.get("default") {
        let without_default = b.clone().build();
        let dv = super::json_read::read_with_schema(&without_default, &d.to_string())?;
        b = b.default_value(dv);
    }
    Ok(b.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(c: &mut JsonConverter, s: &str) -> Result<(Option<SchemaRef>, Value), DataError> {
        c.to_connect("t", Some(s.as_bytes()))
    }

    /// A schemaless TimestampConverter's `java.util.Date` has no schema type: Connect 4.3.0
    /// refuses it with this message, with or without schemas, alone or in a map, also as a
    /// header converter (checked on a JVM).
    #[test]
    fn java_dates_without_a_schema_are_refused() {
        let date = Value::JavaDate(1_700_000_000_123);
        let map = Value::Map(vec![("when".into(), date.clone())].into());
        for schemas in [false, true] {
            let mut c = JsonConverter::new(JsonOptions {
                schemas_enable: schemas,
                ..JsonOptions::default()
            });
            for v in [&date, &map] {
                let e = c.from_connect("t", None, v, &mut Vec::new()).unwrap_err();
                assert_eq!(
                    e.to_string(),
                    "Java class class java.util.Date does not have corresponding schema type."
                );
            }
        }
    }

    /// Connect 4.3.0 (tests/same_bytes_matrix.rs, snk-dlq): an empty value read schemaless is
    /// null, not an error; with schemas it is refused (no envelope).
    #[test]
    fn empty_values_read_schemaless_are_null() {
        let mut c = JsonConverter::new(JsonOptions {
            schemas_enable: false,
            ..JsonOptions::default()
        });
        for empty in ["", " \n"] {
            assert_eq!(read(&mut c, empty).unwrap(), (None, Value::Null));
        }
        assert!(read(&mut c, "{not json").is_err());
        let mut c = JsonConverter::new(JsonOptions::default());
        assert!(read(&mut c, "").is_err());
    }

    #[test]
    fn envelope_members_are_checked() {
        let mut c = JsonConverter::new(JsonOptions::default());
        let (schema, v) = read(&mut c, r#"{"payload":5,"schema":{"type":"int32"}}"#).unwrap();
        assert_eq!(schema.unwrap().ty, SchemaType::Int32);
        assert_eq!(v, Value::Int32(5));
        // An escaped member name is still the member.
        let (schema, _) = read(&mut c, r#"{"sch\u0065ma":{"type":"int32"},"payload":5}"#).unwrap();
        assert!(schema.is_some());
        let (schema, v) = read(&mut c, r#"{"schema":null,"payload":{"a":1}}"#).unwrap();
        assert!(schema.is_none() && matches!(v, Value::Map(_)));
        for bad in [
            r#"{"schema":{"type":"int32"}}"#,
            r#"{"payload":5}"#,
            r#"{"schema":{"type":"int32"},"payload":5,"extra":1}"#,
            r#"{"schema":{"type":"int32"},"payload":5,"payload":6}"#,
        ] {
            let e = read(&mut c, bad).unwrap_err().to_string();
            assert!(
                e.contains("requires \"schema\" and \"payload\""),
                "{bad}: {e}"
            );
        }
        let e = read(&mut c, "[1]").unwrap_err().to_string();
        assert!(e.contains("schemas.enable=false"), "{e}");
    }

    /// Struct fields take the short path for plain leaves; nulls still follow
    /// replace.null.with.default and the required-field rule.
    #[test]
    fn struct_fields_and_nulls() {
        use crate::data::{schemas, Struct};
        let schema = Schema::struct_builder()
            .field("s", schemas::string())
            .field("n", schemas::optional_int64())
            .field(
                "d",
                Schema::builder(SchemaType::Int32)
                    .optional()
                    .default_value(Value::Int32(7))
                    .build(),
            )
            .field("b", schemas::boolean())
            .field("r", schemas::int32())
            .build();
        let row = |r: Value| {
            Value::Struct(Struct {
                schema: schema.clone(),
                values: vec![
                    Value::String("a\"b".into()),
                    Value::Null,
                    Value::Null,
                    Value::Boolean(true),
                    r,
                ],
            })
        };
        let write = |opts: JsonOptions, v: &Value| {
            let mut c = JsonConverter::new(opts);
            let mut out = Vec::new();
            c.from_connect("t", Some(&schema), v, &mut out)
                .map(|_| String::from_utf8(out).unwrap())
        };
        let plain = JsonOptions {
            schemas_enable: false,
            ..JsonOptions::default()
        };
        assert_eq!(
            write(plain, &row(Value::Int32(3))).unwrap(),
            r#"{"s":"a\"b","n":null,"d":7,"b":true,"r":3}"#
        );
        let keep_null = JsonOptions {
            replace_null_with_default: false,
            ..plain
        };
        assert_eq!(
            write(keep_null, &row(Value::Int32(3))).unwrap(),
            r#"{"s":"a\"b","n":null,"d":null,"b":true,"r":3}"#
        );
        let e = write(plain, &row(Value::Null)).unwrap_err().to_string();
        assert!(e.contains("field r"), "{e}");
    }

    #[test]
    fn schema_cache_follows_a_changing_schema() {
        let mut c = JsonConverter::new(JsonOptions::default());
        let a = r#"{"schema":{"type":"int32"},"payload":1}"#;
        let b = r#"{"schema":{"type":"string"},"payload":"x"}"#;
        for _ in 0..2 {
            assert_eq!(read(&mut c, a).unwrap().1, Value::Int32(1));
            assert_eq!(read(&mut c, b).unwrap().1, Value::String("x".into()));
        }
        let (s1, _) = read(&mut c, a).unwrap();
        let (s2, _) = read(&mut c, a).unwrap();
        assert!(
            Arc::ptr_eq(&s1.unwrap(), &s2.unwrap()),
            "one parsed schema per text"
        );
    }
}
