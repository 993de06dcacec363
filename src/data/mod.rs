//! Connect's data model: schemas, values and records, and the forms Connect writes them in
//! wherever they appear (JSON text, Java's number strings).

pub mod avro;
pub mod error;
pub mod java_number;
pub mod java_string;
pub mod json;
pub mod map;
pub mod protobuf;
pub mod record;
pub mod schema;
pub mod value;

pub use compact_str::CompactString;
pub use error::DataError;
pub use java_number::{java_double_string, java_float_string};
pub use java_string::write_java_string;
pub use map::{JavaMap, Map};
pub use record::{
    ConnectRecord, Header, Headers, OffsetEntry, OffsetValue, SinkRecord, SourceOffset,
    SourcePartition, SourceRecord, TimestampType,
};
pub use schema::{schemas, Field, Schema, SchemaBuilder, SchemaRef, SchemaType};
pub use value::{Decimal, Struct, Value};
