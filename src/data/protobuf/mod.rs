//! Protobuf schemas and their translation to and from Connect data, as Confluent's
//! `kafka-connect-protobuf-converter` (`ProtobufData`, 7.0.16) does it: the model of a
//! `.proto` file, Confluent's printing of it (the text a registry holds), a parser for the
//! text others register, and the two translations with the wire encoding.

pub mod decode;
pub mod encode;
pub mod from_connect;
pub mod known;
pub mod model;
pub mod parse;
pub mod print;
pub mod to_connect;
pub mod wire;

pub const NAMESPACE: &str = "io.confluent.connect.protobuf";
pub const ENUM_PARAM: &str = "io.confluent.connect.protobuf.Enum";
pub const ENUM_PREFIX: &str = "io.confluent.connect.protobuf.Enum.";
pub const UNION_PREFIX: &str = "io.confluent.connect.protobuf.Union.";
pub const TAG_PARAM: &str = "io.confluent.connect.protobuf.Tag";
pub const TYPE_PARAM: &str = "io.confluent.connect.protobuf.Type";

/// The settings of Confluent's `ProtobufDataConfig` that shape schemas and values.
#[derive(Clone, Debug)]
pub struct ProtobufDataOptions {
    pub enhanced_protobuf_schema_support: bool,
    pub scrub_invalid_names: bool,
    pub optional_for_nullables: bool,
    pub optional_for_proto2: bool,
    pub wrapper_for_nullables: bool,
    pub wrapper_for_raw_primitives: bool,
}

impl Default for ProtobufDataOptions {
    fn default() -> Self {
        ProtobufDataOptions {
            enhanced_protobuf_schema_support: false,
            scrub_invalid_names: false,
            optional_for_nullables: false,
            optional_for_proto2: true,
            wrapper_for_nullables: false,
            wrapper_for_raw_primitives: true,
        }
    }
}
