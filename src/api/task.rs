//! The interfaces connector tasks implement, and what the worker hands them. The shapes are
//! Connect's: a source task is polled for records and told when offsets are durable; a sink
//! task is given records with `put` and asked to `flush` before offsets are committed.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::error::ConnectError;
use super::metrics::MetricsRegistry;
use super::offsets::OffsetReader;
use super::progress::ProgressHandle;
use super::stop::StopFlag;
use crate::data::{SinkRecord, SourceOffset, SourcePartition, SourceRecord};

/// What a source task's poll found.
pub enum Polled {
    Records(Vec<SourceRecord>),
    /// Nothing right now; the task has already waited a little (its poll interval).
    Idle,
    /// Nothing right now; poll again after this long. The worker does the waiting, so that
    /// Kafka's acknowledgements, offset commits and a stop request are served meanwhile (a
    /// task that sleeps in `poll` holds all three back, as Connect's committer thread does not).
    Wait(std::time::Duration),
    /// Nothing more will come: end of input in `--once` mode (or stdin closed).
    Finished,
}

pub struct SourceTaskContext {
    pub connector: String,
    pub task_id: usize,
    pub config: BTreeMap<String, String>,
    pub once: bool,
    /// Where the task resumes from; the store behind it is the runtime's business.
    pub offsets: Arc<dyn OffsetReader>,
    /// For long phases a person waits on (a snapshot); does nothing without a terminal.
    pub progress: ProgressHandle,
    pub stop: StopFlag,
    /// How long the task may keep retrying its own system before failing: `Some` in a
    /// `--once` run (`kconnect.once.dependency.timeout.ms`), `None` (for ever) otherwise.
    /// Feed failures through an [`Outage`](super::Outage) built from it.
    pub dependency_wait: Option<std::time::Duration>,
    /// Where the task registers metrics about its own system (Debezium's), served by the
    /// worker's `GET /metrics`.
    pub metrics: MetricsRegistry,
    /// What the task waits for while a system it needs is down: give it to the
    /// [`OutageReporter`](super::OutageReporter) of that system (`for_task`), and the task's
    /// status shows the outage.
    pub waiting: super::Waiting,
    /// Readers of a Kafka topic partition, for input a connector takes from Kafka (Debezium's
    /// Kafka signal channel); `None` where there is no worker (tests).
    pub topic_readers: Option<super::topic_reader::TopicReaders>,
}

pub struct SinkTaskContext {
    pub connector: String,
    pub task_id: usize,
    pub config: BTreeMap<String, String>,
    pub stop: StopFlag,
    pub errant: ErrantRecordReporter,
    /// As in [`SourceTaskContext::dependency_wait`].
    pub dependency_wait: Option<std::time::Duration>,
    /// As in [`SourceTaskContext::metrics`].
    pub metrics: MetricsRegistry,
    /// As in [`SourceTaskContext::waiting`].
    pub waiting: super::Waiting,
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
                topic: record.record.topic.to_string(),
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

    /// True once after the task finished a phase whose redoing is costly (a snapshot's last
    /// record was polled): the worker then commits as soon as Kafka acknowledges it instead
    /// of at the next `offset.flush.interval.ms`, so a crash soon after does not redo it.
    fn phase_completed(&mut self) -> bool {
        false
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
