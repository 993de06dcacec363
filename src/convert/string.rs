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
        _schema: Option<&SchemaRef>,
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
            other => {
                out.extend_from_slice(other.to_display_string().as_bytes());
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
