//! `org.apache.kafka.connect.storage.StringConverter`: values as UTF-8 text.

use std::collections::BTreeMap;

use super::{Converter, ConverterPlugin, DataError};
use crate::api::{ConfigKey, ConfigType, KeyDefault, Problem};
use crate::data::{schemas, SchemaRef, Value};

pub const KEYS: &[ConfigKey] = &[ConfigKey::new(
    "converter.encoding",
    ConfigType::String,
    KeyDefault::Value("UTF-8"),
    "Character encoding; kconnect supports UTF-8.",
)];

pub const PLUGIN: ConverterPlugin = ConverterPlugin {
    desc: super::converter_desc(
        "org.apache.kafka.connect.storage.StringConverter",
        &["StringConverter"],
        "Writes values as text (numbers and structs in their text form); reads bytes as an optional string.",
        KEYS,
    ),
    create,
};

fn create(cfg: &BTreeMap<String, String>, _is_key: bool) -> Result<Box<dyn Converter>, Problem> {
    check_encoding(cfg)?;
    Ok(Box::new(StringConverter))
}

/// Only UTF-8 is implemented; any other encoding is refused (as a key, value or header
/// converter), never ignored.
pub fn check_encoding(cfg: &BTreeMap<String, String>) -> Result<(), Problem> {
    for key in ["converter.encoding", "encoding"] {
        if let Some(enc) = cfg.get(key) {
            let e = enc.replace(['-', '_'], "").to_ascii_uppercase();
            if e != "UTF8" {
                return Err(Problem::new(
                    key,
                    format!("encoding {enc} is not supported; kconnect's StringConverter reads and writes UTF-8"),
                ));
            }
        }
    }
    Ok(())
}

pub struct StringConverter;

impl Converter for StringConverter {
    fn from_connect(
        &mut self,
        _topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<bool, DataError> {
        out.clear();
        match value {
            Value::Null => Ok(false),
            Value::String(s) => {
                out.extend_from_slice(s.as_bytes());
                Ok(true)
            }
            // Connect writes `value.toString()`: `Struct{a=1,b=x}`, `{k=v}` in HashMap order,
            // `[1, 2]`, a Timestamp as `java.util.Date`. Bytes stay base64 (Java would write
            // the array's identity, `[B@1b6d3586`), decimals their plain digits.
            Value::Bytes(_) | Value::Decimal(_) => {
                out.extend_from_slice(value.to_display_string().as_bytes());
                Ok(true)
            }
            other => {
                crate::data::write_java_string(schema.map(|s| &**s), other, out);
                Ok(true)
            }
        }
    }

    fn to_connect(
        &mut self,
        topic: &str,
        data: Option<&[u8]>,
    ) -> Result<(Option<SchemaRef>, Value), DataError> {
        match data {
            None => Ok((Some(schemas::optional_string()), Value::Null)),
            Some(b) => match std::str::from_utf8(b) {
                Ok(s) => Ok((Some(schemas::optional_string()), Value::String(s.into()))),
                Err(e) => Err(DataError::new(format!(
                    "Failed to deserialize string from topic {topic}: not valid UTF-8 ({e})"
                ))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Schema, SchemaType, Struct};

    /// Connect's StringConverter writes `value.toString()`: a Struct as `Struct{...}` without
    /// its null fields (checked against Connect 4.3.0 in tests/same_bytes_matrix.rs).
    #[test]
    fn structs_are_written_as_java_to_string() {
        let schema = Schema::struct_builder()
            .field("line", schemas::string())
            .field("part", schemas::optional_int32())
            .field("src", schemas::optional_string())
            .build();
        let st = Struct {
            schema: schema.clone(),
            values: vec![Value::from("a b"), Value::Null, Value::from("mx")],
        };
        let mut out = Vec::new();
        assert!(StringConverter
            .from_connect("t", Some(&schema), &Value::Struct(st), &mut out)
            .unwrap());
        assert_eq!(out, b"Struct{line=a b,src=mx}");
        let list = Value::Array(vec![Value::from("x"), Value::Int32(1)]);
        let array = Schema::builder(SchemaType::Array).build();
        StringConverter
            .from_connect("t", Some(&array), &list, &mut out)
            .unwrap();
        assert_eq!(out, b"[x, 1]");
    }
}
