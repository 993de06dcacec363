//! Reading one Kafka topic partition from inside a connector, for the rare connector input that
//! lives in Kafka itself (Debezium's Kafka signal channel). The worker owns the Kafka clients
//! and their configuration, so a task asks the factory in its context for a reader instead of
//! building a client of its own.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::error::ConnectError;

/// What to read: one partition of `topic`, as the consumer `settings` (Java consumer property
/// names, e.g. `bootstrap.servers`, `group.id`, `security.protocol`) say. The reader resumes
/// from the group's committed offset (`auto.offset.reset` otherwise) and commits what it has
/// handed out.
#[derive(Clone, Debug)]
pub struct TopicReaderSpec {
    pub topic: String,
    pub partition: i32,
    pub settings: BTreeMap<String, String>,
}

/// One message read.
#[derive(Clone, Debug)]
pub struct TopicMessage {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub offset: i64,
}

pub trait TopicReader: Send {
    /// The messages that have arrived (at most a few hundred), waiting up to `wait` for the
    /// first when there are none.
    fn poll(&mut self, wait: std::time::Duration) -> Result<Vec<TopicMessage>, ConnectError>;
}

/// Makes readers; given to source tasks by the worker.
pub type TopicReaders =
    Arc<dyn Fn(&TopicReaderSpec) -> Result<Box<dyn TopicReader>, ConnectError> + Send + Sync>;
