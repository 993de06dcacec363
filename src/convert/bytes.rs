//! `org.apache.kafka.connect.converters.ByteArrayConverter`: bytes pass through untouched.

use std::collections::BTreeMap;

use super::{Converter, ConverterPlugin, DataError};
use crate::api::Problem;
use crate::data::{schemas, SchemaRef, Value};

pub const PLUGIN: ConverterPlugin = ConverterPlugin {
    desc: super::converter_desc(
        "org.apache.kafka.connect.converters.ByteArrayConverter",
        &["ByteArrayConverter"],
        "Passes bytes through as they are; reads an optional bytes schema.",
        &[],
    ),
    create,
};

fn create(_cfg: &BTreeMap<String, String>, _is_key: bool) -> Result<Box<dyn Converter>, Problem> {
    Ok(Box::new(ByteArrayConverter))
}

pub struct ByteArrayConverter;

impl Converter for ByteArrayConverter {
    fn from_connect(
        &mut self,
        topic: &str,
        _schema: Option<&SchemaRef>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<bool, DataError> {
        out.clear();
        match value {
            Value::Null => Ok(false),
            Value::Bytes(b) => {
                out.extend_from_slice(b);
                Ok(true)
            }
            other => Err(DataError::new(format!(
                "ByteArrayConverter is not compatible with objects of type {:?} (topic {topic}); it takes bytes only",
                other.inferred_type().map(|t| t.connect_name()).unwrap_or("null")
            ))),
        }
    }

    fn to_connect(
        &mut self,
        _topic: &str,
        data: Option<&[u8]>,
    ) -> Result<(Option<SchemaRef>, Value), DataError> {
        Ok((
            Some(schemas::optional_bytes()),
            data.map(|b| Value::Bytes(b.to_vec()))
                .unwrap_or(Value::Null),
        ))
    }
}
