//! A sink connector's consumer group (`connect-<name>` unless `consumer.override.group.id`
//! says otherwise) kept in step with offsets edits, as Connect's KIP-875 endpoints keep it: the
//! group's committed offsets are where a sink resumes when the offsets store has none, and
//! where a Connect cluster would resume the pipeline, so an edit that left them behind would
//! be undone by the next start or by a move back to Connect.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

use super::admin::delete_group;
use super::config::{admin_config, consumer_config};
use crate::config::{ConnectorConfig, WorkerConfig};

/// Why the group could not be brought in step; the message names the group and the cause.
#[derive(Debug, thiserror::Error)]
#[error("consumer group {group}: {action}: {source}")]
pub struct GroupError {
    pub group: String,
    pub action: &'static str,
    #[source]
    pub source: KafkaError,
}

pub fn group_id(worker: &WorkerConfig, cfg: &ConnectorConfig) -> String {
    consumer_config(worker, cfg, "kconnect-offsets")
        .get("group.id")
        .unwrap_or_default()
        .to_string()
}

const TIMEOUT: Duration = Duration::from_secs(15);

/// Commits `offsets` (topic, partition, next offset to read) as the group's.
pub fn commit(
    worker: &WorkerConfig,
    cfg: &ConnectorConfig,
    offsets: &[(String, i32, i64)],
) -> Result<(), GroupError> {
    let group = group_id(worker, cfg);
    let err = |action, source| GroupError {
        group: group.clone(),
        action,
        source,
    };
    if offsets.is_empty() {
        return Ok(());
    }
    let consumer: BaseConsumer = consumer_config(worker, cfg, "kconnect-offsets")
        .create()
        .map_err(|e| err("create a client", e))?;
    let mut tpl = TopicPartitionList::new();
    for (t, p, o) in offsets {
        tpl.add_partition_offset(t, *p, Offset::Offset(*o))
            .map_err(|e| err("list the partitions", e))?;
    }
    consumer
        .commit(&tpl, CommitMode::Sync)
        .map_err(|e| err("commit the offsets", e))
}

/// Deletes the group and with it every committed offset; a group that does not exist is
/// already in that state.
pub fn delete(worker: &WorkerConfig, cfg: &ConnectorConfig) -> Result<(), GroupError> {
    let group = group_id(worker, cfg);
    let err = |action, source| GroupError {
        group: group.clone(),
        action,
        source,
    };
    // A plain client: rdkafka's `AdminClient` joins a polling thread that looks for a stop
    // every 100 ms when dropped (see `kafka::admin`).
    let client: BaseProducer = admin_config(worker, Some(cfg))
        .create()
        .map_err(|e| err("create an admin client", e))?;
    match delete_group(client.client(), &group, TIMEOUT).map_err(|e| err("delete it", e))? {
        None | Some(RDKafkaErrorCode::GroupIdNotFound) => Ok(()),
        Some(code) => Err(err("delete it", KafkaError::AdminOp(code))),
    }
}
