//! Header converters. `SimpleHeaderConverter` (Connect's default) writes strings as they are
//! and other values in their text form; kconnect reads header bytes back as strings, which is
//! what `Values.parseString` yields for every header that is not a bare number or boolean.

use std::collections::BTreeMap;

use super::json::JsonConverter;
use super::{Converter, DataError, HeaderConverter, HeaderConverterPlugin};
use crate::api::{PluginDesc, PluginKind, Problem};
use crate::data::{schemas, SchemaRef, Value};

pub const PLUGIN: HeaderConverterPlugin = HeaderConverterPlugin {
    desc: PluginDesc {
        kind: PluginKind::HeaderConverter,
        class: "org.apache.kafka.connect.storage.SimpleHeaderConverter",
        aliases: &["SimpleHeaderConverter"],
        doc: "Header values as UTF-8 text (the worker's default).",
        config: &[],
    },
    create: |_| Ok(Box::new(SimpleHeaderConverter)),
};

pub const JSON_PLUGIN: HeaderConverterPlugin = HeaderConverterPlugin {
    desc: PluginDesc {
        kind: PluginKind::HeaderConverter,
        class: "org.apache.kafka.connect.json.JsonConverter",
        aliases: &["JsonConverter"],
        doc: "Header values as JSON, with the schema envelope when schemas.enable=true.",
        config: super::json::KEYS,
    },
    create: create_json,
};

pub const STRING_PLUGIN: HeaderConverterPlugin = HeaderConverterPlugin {
    desc: PluginDesc {
        kind: PluginKind::HeaderConverter,
        class: "org.apache.kafka.connect.storage.StringConverter",
        aliases: &["StringConverter"],
        doc: "Header values as UTF-8 text.",
        config: super::string::KEYS,
    },
    create: |cfg| {
        super::string::check_encoding(cfg)?;
        Ok(Box::new(StringHeaderConverter))
    },
};

/// Connect's `ByteArrayConverter` is a header converter too: header values pass through as
/// bytes, and anything but bytes is refused.
pub const BYTES_PLUGIN: HeaderConverterPlugin = HeaderConverterPlugin {
    desc: PluginDesc {
        kind: PluginKind::HeaderConverter,
        class: "org.apache.kafka.connect.converters.ByteArrayConverter",
        aliases: &["ByteArrayConverter"],
        doc: "Header values as the bytes they are; other values are refused.",
        config: &[],
    },
    create: |_| {
        Ok(Box::new(BytesHeaderConverter(
            super::bytes::ByteArrayConverter,
        )))
    },
};

pub struct BytesHeaderConverter(super::bytes::ByteArrayConverter);

impl HeaderConverter for BytesHeaderConverter {
    fn from_connect_header(
        &mut self,
        topic: &str,
        key: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        let mut out = Vec::new();
        match self.0.from_connect(topic, schema, value, &mut out) {
            Ok(written) => Ok(written.then_some(out)),
            Err(e) => Err(DataError::new(format!("header {key}: {e}"))),
        }
    }

    fn to_connect_header(
        &mut self,
        topic: &str,
        _key: &str,
        data: Option<&[u8]>,
    ) -> Result<(Option<SchemaRef>, Value), DataError> {
        self.0.to_connect(topic, data)
    }
}

fn create_json(cfg: &BTreeMap<String, String>) -> Result<Box<dyn HeaderConverter>, Problem> {
    Ok(Box::new(JsonHeaderConverter(JsonConverter::new(
        super::json::options(cfg)?,
    ))))
}

pub struct SimpleHeaderConverter;

impl HeaderConverter for SimpleHeaderConverter {
    fn from_connect_header(
        &mut self,
        _topic: &str,
        _key: &str,
        _schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        Ok(match value {
            Value::Null => None,
            Value::String(s) => Some(s.as_bytes().to_vec()),
            Value::Bytes(b) => Some(b.clone()),
            other => Some(other.to_display_string().into_bytes()),
        })
    }

    fn to_connect_header(
        &mut self,
        _topic: &str,
        key: &str,
        data: Option<&[u8]>,
    ) -> Result<(Option<SchemaRef>, Value), DataError> {
        match data {
            None => Ok((Some(schemas::optional_string()), Value::Null)),
            Some(b) => match std::str::from_utf8(b) {
                Ok(s) => Ok((Some(schemas::string()), Value::String(s.into()))),
                Err(_) => Ok((Some(schemas::bytes()), Value::Bytes(b.to_vec()))),
            }
            .map_err(|e: DataError| DataError::new(format!("header {key}: {e}"))),
        }
    }
}

/// StringConverter as a header converter writes `value.toString()` (a list as `[1, 2.5, x]`,
/// where SimpleHeaderConverter writes `[1,2.5,"x"]`) and reads headers as strings.
pub struct StringHeaderConverter;

impl HeaderConverter for StringHeaderConverter {
    fn from_connect_header(
        &mut self,
        topic: &str,
        _key: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        let mut out = Vec::new();
        Ok(super::string::StringConverter
            .from_connect(topic, schema, value, &mut out)?
            .then_some(out))
    }

    fn to_connect_header(
        &mut self,
        topic: &str,
        key: &str,
        data: Option<&[u8]>,
    ) -> Result<(Option<SchemaRef>, Value), DataError> {
        SimpleHeaderConverter.to_connect_header(topic, key, data)
    }
}

pub struct JsonHeaderConverter(JsonConverter);

impl HeaderConverter for JsonHeaderConverter {
    fn from_connect_header(
        &mut self,
        topic: &str,
        _key: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        let mut out = Vec::new();
        Ok(self
            .0
            .from_connect(topic, schema, value, &mut out)?
            .then_some(out))
    }

    fn to_connect_header(
        &mut self,
        topic: &str,
        _key: &str,
        data: Option<&[u8]>,
    ) -> Result<(Option<SchemaRef>, Value), DataError> {
        self.0.to_connect(topic, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Connect 4.3.0: a list header is `[1, 2.5, x]` through StringConverter (`toString`) and
    /// `[1,2.5,"x"]` through SimpleHeaderConverter (`Values.convertToString`).
    #[test]
    fn string_and_simple_header_converters_write_lists_as_connect_does() {
        let list = Value::Array(vec![Value::Int8(1), Value::Float32(2.5), Value::from("x")]);
        let mut c = (STRING_PLUGIN.create)(&BTreeMap::new()).unwrap();
        let out = c.from_connect_header("t", "h", None, &list).unwrap();
        assert_eq!(out.as_deref(), Some(b"[1, 2.5, x]".as_slice()));
        let mut c = (PLUGIN.create)(&BTreeMap::new()).unwrap();
        let out = c.from_connect_header("t", "h", None, &list).unwrap();
        assert_eq!(out.as_deref(), Some(b"[1,2.5,\"x\"]".as_slice()));
    }

    /// `Values.convertToString` of a schemaless `java.util.Date` (a JVM's SimpleHeaderConverter
    /// after HeaderFrom copied a converted field); StringConverter prints `Date.toString`.
    #[test]
    fn java_dates_in_headers() {
        let date = Value::JavaDate(1_700_000_000_123);
        let mut c = (PLUGIN.create)(&BTreeMap::new()).unwrap();
        let out = c.from_connect_header("t", "h", None, &date).unwrap();
        assert_eq!(out.as_deref(), Some(b"2023-11-14T22:13:20.123Z".as_slice()));
        let mut c = (STRING_PLUGIN.create)(&BTreeMap::new()).unwrap();
        let out = c.from_connect_header("t", "h", None, &date).unwrap();
        assert_eq!(
            out.as_deref(),
            Some(b"Tue Nov 14 22:13:20 UTC 2023".as_slice())
        );
    }

    #[test]
    fn byte_array_headers_pass_bytes_and_refuse_the_rest() {
        let mut c = (BYTES_PLUGIN.create)(&BTreeMap::new()).unwrap();
        let out = c
            .from_connect_header("t", "h", None, &Value::Bytes(vec![0, 159, 1]))
            .unwrap();
        assert_eq!(out, Some(vec![0, 159, 1]));
        assert_eq!(
            c.from_connect_header("t", "h", None, &Value::Null).unwrap(),
            None
        );
        let e = c
            .from_connect_header("t", "h", None, &Value::String("x".into()))
            .unwrap_err();
        assert!(e.to_string().contains("header h"), "{e}");
        let (schema, v) = c.to_connect_header("t", "h", Some(&[7, 8])).unwrap();
        assert_eq!(v, Value::Bytes(vec![7, 8]));
        assert!(schema.unwrap().optional);
    }
}
