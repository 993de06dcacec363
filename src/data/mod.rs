//! Connect's data model: schemas, values and records.

pub mod record;
pub mod schema;
pub mod value;

pub use compact_str::CompactString;
pub use record::{
    ConnectRecord, Header, Headers, OffsetValue, SinkRecord, SourceOffset, SourcePartition,
    SourceRecord, TimestampType,
};
pub use schema::{schemas, Field, Schema, SchemaBuilder, SchemaRef, SchemaType};
pub use value::{Decimal, Struct, Value};
