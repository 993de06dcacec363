//! What ends a task, typed: the stage (Connect's names, as `__connect.errors.stage` has them),
//! the record or batch it happened at, and the error underneath kept as the source, so the
//! worker can tell kinds apart without parsing text and a log line can still say all of it
//! (`ErrorChain`).

use std::error::Error;
use std::fmt;

use super::kafka::KafkaSetupError;
use super::sink::TopicSelectionError;
use crate::api::{ConnectError, Problem};
use crate::offsets::StoreError;
use crate::runtime::errors::dlq::DlqError;
use crate::runtime::errors::{Failure, Stage};

/// An error followed by its sources, "error: source: source's source". A source whose text
/// the error before it already spells out (errors of other crates often format theirs in) is
/// not repeated.
pub struct ErrorChain<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut said = self.0.to_string();
        f.write_str(&said)?;
        let mut next = self.0.source();
        while let Some(e) = next {
            let text = e.to_string();
            if !said.contains(&text) {
                write!(f, ": {text}")?;
            }
            said = text;
            next = e.source();
        }
        Ok(())
    }
}

/// Why a task could not start: its clients, converters, transforms, or the connector itself.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Kafka(#[from] KafkaSetupError),
    #[error("{}: {}", .0.key, .0.message)]
    Converter(Problem),
    #[error("{}", .0.iter().map(|p| format!("{}: {}", p.key, p.message)).collect::<Vec<_>>().join("; "))]
    Transforms(Vec<Problem>),
    #[error(transparent)]
    Topics(#[from] TopicSelectionError),
    /// The connector's task factory refused the configuration.
    #[error(transparent)]
    Connector(ConnectError),
}

/// Why a sink could not take its partitions.
#[derive(Debug, thiserror::Error)]
pub enum AssignError {
    #[error("cannot list topics")]
    ListTopics(#[source] rdkafka::error::KafkaError),
    #[error("cannot read offsets of {topic}-{partition}")]
    Watermarks {
        topic: String,
        partition: i32,
        #[source]
        source: rdkafka::error::KafkaError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Offset(rdkafka::error::KafkaError),
    #[error("cannot assign partitions")]
    Assign(#[source] rdkafka::error::KafkaError),
    /// Moving the consumer group to offsets set offline failed; the edit stays in the store
    /// and is tried again at the next assignment.
    #[error("cannot move the consumer group to the offsets kconnect offsets set wrote")]
    MoveGroup(#[source] rdkafka::error::KafkaError),
    /// The task's `open` failed.
    #[error(transparent)]
    Open(ConnectError),
}

/// Why a sink's offsets could not be committed.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error(transparent)]
    DeadLetter(#[from] DlqError),
    /// The task's `pre_commit` (its flush) failed.
    #[error("flush failed")]
    Flush(#[source] ConnectError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a task failed. The larger kinds are boxed: every record's result carries this type.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error(transparent)]
    Setup(Box<SetupError>),
    /// A record failed in a stage `errors.tolerance` does not cover; the failure has the
    /// stage and the record's coordinates.
    #[error("{0}")]
    Record(Box<Failure>),
    #[error(transparent)]
    DeadLetter(#[from] DlqError),
    #[error("stage TASK_POLL")]
    Poll(#[source] ConnectError),
    #[error("stage TASK_PUT (batch of {records} records starting at {first})")]
    Put {
        records: usize,
        /// `topic-partition@offset` of the batch's first record.
        first: String,
        #[source]
        source: ConnectError,
    },
    /// The task reported, outside any one batch, that it cannot go on (an asynchronous
    /// write that failed for good); the message is the cause.
    #[error("stage TASK_PUT")]
    Failed(#[source] ConnectError),
    /// A put interrupted by shutdown may not have written the batch.
    #[error("stopped while retrying put")]
    PutInterrupted,
    #[error("stage TASK_PUT: final offset commit failed")]
    FinalCommit(#[source] Box<CommitError>),
    /// `connection`: what the consumer last heard about its connection (may be empty), which
    /// says why when the error alone says only "timed out".
    #[error("stage KAFKA_CONSUME")]
    Assign {
        #[source]
        source: Box<AssignError>,
        connection: String,
    },
    /// A consume error that fetching again cannot fix; `remedy` says what to do.
    #[error("stage KAFKA_CONSUME: cannot read the records of connector {connector} ({remedy})")]
    Unreadable {
        connector: String,
        remedy: &'static str,
        #[source]
        source: rdkafka::error::KafkaError,
    },
    /// `--once` made no progress for `KCONNECT_BROKER_WAIT_MS`; `behind` lists the partitions
    /// short of their end offsets.
    #[error("stage KAFKA_CONSUME: --once read nothing for {secs} s while short of the end offsets seen at start ({behind}){connection}; check that the brokers are reachable; the offsets of what was delivered are committed and the next run goes on from there (KCONNECT_BROKER_WAIT_MS sets how long --once waits)")]
    Stalled {
        secs: f64,
        behind: String,
        connection: String,
    },
    #[error("stage KAFKA_PRODUCE: cannot send a record to topic {topic}")]
    Send {
        topic: String,
        #[source]
        source: rdkafka::error::KafkaError,
    },
    /// Kafka reported a record undeliverable; `message` is its report, `connection` what the
    /// producer last heard about its connection ("Message timed out" alone says nothing).
    #[error("stage KAFKA_PRODUCE: a record could not be written to Kafka: {message}{connection}")]
    Delivery { message: String, connection: String },
    #[error("stage KAFKA_PRODUCE: {in_flight} records were not acknowledged by Kafka within {secs} s; their offsets are not committed and the next run sends them again; check that the brokers are reachable and accept writes")]
    Unacknowledged { in_flight: usize, secs: u64 },
    /// Creating a record's topic failed.
    #[error(transparent)]
    Topic(Box<KafkaSetupError>),
}

impl From<SetupError> for TaskError {
    fn from(e: SetupError) -> TaskError {
        TaskError::Setup(Box::new(e))
    }
}

impl TaskError {
    /// Connect's stage the task failed in, where there is one.
    pub fn stage(&self) -> Option<Stage> {
        match self {
            TaskError::Record(f) => Some(f.stage),
            TaskError::Poll(_) => Some(Stage::TaskPoll),
            TaskError::Put { .. } | TaskError::Failed(_) | TaskError::FinalCommit(_) => {
                Some(Stage::TaskPut)
            }
            TaskError::Assign { .. } | TaskError::Unreadable { .. } | TaskError::Stalled { .. } => {
                Some(Stage::KafkaConsume)
            }
            TaskError::Send { .. }
            | TaskError::Delivery { .. }
            | TaskError::Unacknowledged { .. } => Some(Stage::KafkaProduce),
            TaskError::Setup(_)
            | TaskError::DeadLetter(_)
            | TaskError::PutInterrupted
            | TaskError::Topic(_) => None,
        }
    }

    /// The whole story for a log line or the run's summary: the error, its sources, and what
    /// the client last heard about its connection.
    pub fn reason(&self) -> String {
        let connection = match self {
            TaskError::Assign { connection, .. } => connection.as_str(),
            _ => "",
        };
        format!("{}{connection}", ErrorChain(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_says_every_source_once() {
        let e = TaskError::Poll(ConnectError::fatal("database gone"));
        assert_eq!(e.reason(), "stage TASK_POLL: database gone");
        let store = StoreError::Io {
            dir: "offsets".into(),
            source: std::io::Error::other("disk full"),
        };
        let e = TaskError::Assign {
            source: Box::new(AssignError::Store(store)),
            connection: "; the last connection failure was: refused".into(),
        };
        assert_eq!(
            e.reason(),
            "stage KAFKA_CONSUME: offsets store offsets: disk full; the last connection failure was: refused"
        );
        assert_eq!(e.stage(), Some(Stage::KafkaConsume));
    }

    #[test]
    fn librdkafka_codes_are_not_said_twice() {
        use rdkafka::error::KafkaError;
        use rdkafka::types::RDKafkaErrorCode;
        let e = TaskError::Unreadable {
            connector: "c".into(),
            remedy: "move the offset",
            source: KafkaError::MessageConsumption(RDKafkaErrorCode::BadMessage),
        };
        let code = RDKafkaErrorCode::BadMessage.to_string();
        let reason = e.reason();
        assert_eq!(reason.matches(&code).count(), 1, "{reason}");
        assert!(reason.starts_with(
            "stage KAFKA_CONSUME: cannot read the records of connector c (move the offset): "
        ));
    }
}
