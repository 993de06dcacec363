//! Connector plugins and the interfaces their tasks implement. The shapes are Connect's:
//! a source task is polled for records and told when offsets are durable; a sink task is given
//! records with `put` and asked to `flush` before offsets are committed. Connectors only
//! read from and write to their systems; conversion, transforms, retries and offsets belong
//! to the worker (`crate::runtime`).

pub mod elasticsearch;
pub mod file;
pub mod jdbc;
pub mod pg_errors;
pub mod pg_tls;
pub mod postgres;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::config::{ConfigKey, ConnectorConfig, Problem};
use crate::data::{SinkRecord, SourceOffset, SourcePartition, SourceRecord};
use crate::offsets::OffsetStore;
use crate::plugins::PluginDesc;

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Worth trying again: the worker retries with backoff (a sink gets the same batch again).
    #[error("{0}")]
    Retriable(String),
    /// The task cannot go on; with errors.tolerance=none the connector fails.
    #[error("{0}")]
    Fatal(String),
}

impl ConnectError {
    pub fn is_retriable(&self) -> bool {
        matches!(self, ConnectError::Retriable(_))
    }
}

/// What a source task's poll found.
pub enum Polled {
    Records(Vec<SourceRecord>),
    /// Nothing right now; the task has already waited a little (its poll interval).
    Idle,
    /// Nothing more will come: end of input in `--once` mode (or stdin closed).
    Finished,
}

/// Read access to committed source offsets, as Connect's `OffsetStorageReader`.
#[derive(Clone)]
pub struct OffsetReader {
    pub(crate) store: Arc<OffsetStore>,
    pub(crate) connector: String,
}

impl OffsetReader {
    pub fn new(store: Arc<OffsetStore>, connector: impl Into<String>) -> OffsetReader {
        OffsetReader {
            store,
            connector: connector.into(),
        }
    }

    pub fn offset(
        &self,
        partition: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Option<SourceOffset>, ConnectError> {
        self.store
            .source_offset(&self.connector, partition)
            .map(|o| o.map(SourceOffset::from))
            .map_err(|e| ConnectError::Fatal(e.to_string()))
    }
}

/// A stop request shared by the worker and its tasks; tasks that block check it.
#[derive(Clone, Default, Debug)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub fn new() -> StopFlag {
        StopFlag::default()
    }
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst)
    }
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
    pub fn inner(&self) -> Arc<AtomicBool> {
        self.0.clone()
    }
}

pub struct SourceTaskContext {
    pub connector: String,
    pub task_id: usize,
    pub config: BTreeMap<String, String>,
    pub once: bool,
    pub offsets: OffsetReader,
    pub stop: StopFlag,
}

pub struct SinkTaskContext {
    pub connector: String,
    pub task_id: usize,
    pub config: BTreeMap<String, String>,
    pub stop: StopFlag,
    pub errant: ErrantRecordReporter,
}

/// Connect's `ErrantRecordReporter`: a sink task that skips a record it cannot write (under
/// `errors.tolerance=all`) reports it here, and the worker logs it per `errors.log.*` and
/// sends the original record to the dead letter queue with stage TASK_PUT.
#[derive(Clone, Default)]
pub struct ErrantRecordReporter {
    reported: Arc<std::sync::Mutex<Vec<ErrantRecord>>>,
}

/// A reported record's coordinates and why it failed.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrantRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub error: String,
}

impl ErrantRecordReporter {
    pub fn report(&self, record: &SinkRecord, error: &str) {
        self.reported
            .lock()
            .expect("errant lock")
            .push(ErrantRecord {
                topic: record.record.topic.clone(),
                partition: record.partition(),
                offset: record.kafka_offset,
                error: error.to_string(),
            });
    }

    /// Takes what was reported since the last call.
    pub fn take(&self) -> Vec<ErrantRecord> {
        std::mem::take(&mut *self.reported.lock().expect("errant lock"))
    }
}

pub trait SourceTask: Send {
    fn poll(&mut self) -> Result<Polled, ConnectError>;

    /// Called once these offsets are durable in the offsets store: the place to confirm
    /// upstream (advance a replication slot). Every record up to them was acknowledged by Kafka.
    fn commit(
        &mut self,
        _committed: &[(SourcePartition, SourceOffset)],
    ) -> Result<(), ConnectError> {
        Ok(())
    }

    fn stop(&mut self) {}
}

/// A Kafka partition a sink task reads.
pub type TopicPartition = (String, i32);

pub trait SinkTask: Send {
    fn open(&mut self, _partitions: &[TopicPartition]) -> Result<(), ConnectError> {
        Ok(())
    }

    fn put(&mut self, records: &[SinkRecord]) -> Result<(), ConnectError>;

    /// Makes everything `put` so far durable in the target system.
    fn flush(&mut self, offsets: &HashMap<TopicPartition, i64>) -> Result<(), ConnectError>;

    /// The offsets that may be committed (next offset to read per partition). The default
    /// flushes everything; a task that writes asynchronously can return less.
    fn pre_commit(
        &mut self,
        offsets: &HashMap<TopicPartition, i64>,
    ) -> Result<HashMap<TopicPartition, i64>, ConnectError> {
        self.flush(offsets)?;
        Ok(offsets.clone())
    }

    fn stop(&mut self) {}
}

pub type SourceFactory = fn(SourceTaskContext) -> Result<Box<dyn SourceTask>, ConnectError>;
pub type SinkFactory = fn(SinkTaskContext) -> Result<Box<dyn SinkTask>, ConnectError>;

#[derive(Clone, Copy)]
pub enum Factory {
    Source(SourceFactory),
    Sink(SinkFactory),
}

pub struct ConnectorPlugin {
    pub desc: PluginDesc,
    pub factory: Factory,
    /// Checks across keys that the key definitions alone cannot express.
    pub validate: fn(&ConnectorConfig) -> Vec<Problem>,
    /// Source connectors that read one stream run one task whatever tasks.max says.
    pub max_tasks: Option<usize>,
}

impl ConnectorPlugin {
    pub fn is_source(&self) -> bool {
        matches!(self.factory, Factory::Source(_))
    }

    /// The connector's own keys followed by those every source or sink has.
    pub fn all_keys(&self) -> Vec<&'static [ConfigKey]> {
        let kind_keys = if self.is_source() {
            crate::config::connector::SOURCE_KEYS
        } else {
            crate::config::connector::SINK_KEYS
        };
        vec![
            self.desc.config,
            crate::config::connector::COMMON_KEYS,
            kind_keys,
        ]
    }
}

pub fn registry() -> &'static [ConnectorPlugin] {
    static REGISTRY: &[ConnectorPlugin] = &[
        file::SOURCE_PLUGIN,
        file::SINK_PLUGIN,
        postgres::PLUGIN,
        elasticsearch::SINK_PLUGIN,
        jdbc::SINK_PLUGIN,
    ];
    REGISTRY
}

pub fn find(class: &str) -> Option<&'static ConnectorPlugin> {
    registry().iter().find(|c| c.desc.matches(class))
}

pub fn no_extra_validation(_: &ConnectorConfig) -> Vec<Problem> {
    Vec::new()
}
