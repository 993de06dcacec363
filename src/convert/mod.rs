//! Converters between Connect data and Kafka bytes (`org.apache.kafka.connect.storage.Converter`).
//! Each task owns its converter instances, so caches need no locks.

pub mod avro;
pub mod bytes;
#[doc(hidden)]
pub mod fuzzing;
pub mod header;
pub mod json;
pub mod json_read;
pub mod protobuf;
pub mod schema_registry;
pub mod serde_config;
pub mod string;

use std::collections::BTreeMap;

use crate::api::{ConfigKey, PluginDesc, PluginKind, Problem};
use crate::data::{DataError, SchemaRef, Value};

/// Method names follow Connect's `fromConnectData` / `toConnectData`.
#[allow(clippy::wrong_self_convention)]
pub trait Converter: Send {
    /// Serializes into `out` (cleared first). Returns false for a null Kafka payload.
    fn from_connect(
        &mut self,
        topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<bool, DataError>;

    fn to_connect(
        &mut self,
        topic: &str,
        data: Option<&[u8]>,
    ) -> Result<(Option<SchemaRef>, Value), DataError>;
}

#[allow(clippy::wrong_self_convention)]
pub trait HeaderConverter: Send {
    fn from_connect_header(
        &mut self,
        topic: &str,
        key: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError>;

    fn to_connect_header(
        &mut self,
        topic: &str,
        key: &str,
        data: Option<&[u8]>,
    ) -> Result<(Option<SchemaRef>, Value), DataError>;
}

pub type ConverterFactory =
    fn(&BTreeMap<String, String>, bool) -> Result<Box<dyn Converter>, Problem>;
pub type HeaderConverterFactory =
    fn(&BTreeMap<String, String>) -> Result<Box<dyn HeaderConverter>, Problem>;

/// Settings a converter is created with: its nested keys (prefix removed) and whether it
/// converts keys, as Connect's `configure(configs, isKey)`.
pub struct ConverterPlugin {
    pub desc: PluginDesc,
    pub create: ConverterFactory,
}

pub struct HeaderConverterPlugin {
    pub desc: PluginDesc,
    pub create: HeaderConverterFactory,
}

pub fn converters() -> &'static [ConverterPlugin] {
    &[
        json::PLUGIN,
        string::PLUGIN,
        bytes::PLUGIN,
        avro::PLUGIN,
        protobuf::PLUGIN,
    ]
}

pub fn header_converters() -> &'static [HeaderConverterPlugin] {
    &[
        header::PLUGIN,
        header::JSON_PLUGIN,
        header::STRING_PLUGIN,
        header::BYTES_PLUGIN,
    ]
}

pub fn find_converter(name: &str) -> Option<&'static ConverterPlugin> {
    converters().iter().find(|p| p.desc.matches(name))
}

pub fn find_header_converter(name: &str) -> Option<&'static HeaderConverterPlugin> {
    header_converters().iter().find(|p| p.desc.matches(name))
}

pub(crate) const fn converter_desc(
    class: &'static str,
    aliases: &'static [&'static str],
    doc: &'static str,
    config: &'static [ConfigKey],
) -> PluginDesc {
    PluginDesc {
        kind: PluginKind::Converter,
        class,
        aliases,
        doc,
        config,
    }
}
