//! Avro schemas and their translation to and from Connect data, as Confluent's
//! `kafka-connect-avro-data` (`AvroData`, 7.0.16) does it. Like that library it sits under
//! its users: the AvroConverter (`crate::convert::avro`) and the Datagen source, which makes
//! its records from an Avro schema, both translate through it.

pub mod compat;
pub mod decode;
pub mod encode;
pub mod from_connect;
pub mod json;
pub mod schema;
pub mod to_connect;

/// The settings of Confluent's `AvroDataConfig` that shape schemas and values.
#[derive(Clone, Debug)]
pub struct AvroDataOptions {
    pub connect_meta_data: bool,
    pub enhanced_avro_schema_support: bool,
    pub scrub_invalid_names: bool,
    pub allow_optional_map_keys: bool,
    pub use_logical_type_converters: bool,
}

impl Default for AvroDataOptions {
    fn default() -> Self {
        AvroDataOptions {
            connect_meta_data: true,
            enhanced_avro_schema_support: false,
            scrub_invalid_names: false,
            allow_optional_map_keys: false,
            use_logical_type_converters: false,
        }
    }
}
