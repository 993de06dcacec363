//! Kafka's FileStream connectors (`connect/file`): lines of a file into a topic, and record
//! values out into a file.

mod sink;
mod source;

pub use sink::{FileStreamSinkTask, SINK_PLUGIN};
pub use source::{FileStreamSourceTask, SOURCE_PLUGIN};
