//! The worker's side of [`crate::api::TopicReader`]: a librdkafka consumer assigned one
//! partition, configured from Java consumer properties as every other client of the worker.
//! Offsets of what it hands out are stored as it goes and committed every few seconds and when
//! it is dropped, as Debezium's Kafka signal channel (auto commit, `commitSync` at close).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use super::config::build;
use crate::api::{ConnectError, TopicMessage, TopicReader, TopicReaderSpec, TopicReaders};

/// The most messages one poll hands out.
const MAX_PER_POLL: usize = 500;

struct KafkaTopicReader {
    consumer: BaseConsumer,
    what: String,
}

impl TopicReader for KafkaTopicReader {
    fn poll(&mut self, wait: Duration) -> Result<Vec<TopicMessage>, ConnectError> {
        let mut out = Vec::new();
        while out.len() < MAX_PER_POLL {
            let wait = if out.is_empty() { wait } else { Duration::ZERO };
            match self.consumer.poll(wait) {
                None => break,
                Some(Err(e)) => {
                    return Err(ConnectError::retriable(format!(
                        "reading {}: {e}",
                        self.what
                    )))
                }
                Some(Ok(m)) => out.push(TopicMessage {
                    key: m.key().map(<[u8]>::to_vec),
                    value: m.payload().map(<[u8]>::to_vec),
                    offset: m.offset(),
                }),
            }
        }
        Ok(out)
    }
}

impl Drop for KafkaTopicReader {
    fn drop(&mut self) {
        if let Err(e) = self.consumer.commit_consumer_state(CommitMode::Sync) {
            // Nothing read since the last commit is the usual case.
            tracing::debug!("committing the position in {}: {e}", self.what);
        }
    }
}

fn open(spec: &TopicReaderSpec) -> Result<Box<dyn TopicReader>, ConnectError> {
    let what = format!("topic {} (partition {})", spec.topic, spec.partition);
    let defaults = BTreeMap::from([
        ("auto.offset.reset".to_string(), "earliest".to_string()),
        ("enable.auto.commit".to_string(), "true".to_string()),
        ("enable.partition.eof".to_string(), "false".to_string()),
        ("fetch.wait.max.ms".to_string(), "100".to_string()),
        ("queued.max.messages.kbytes".to_string(), "1024".to_string()),
        (
            "client.id".to_string(),
            format!("kconnect-{}", uuid::Uuid::now_v7()),
        ),
    ]);
    let consumer: BaseConsumer = build(&[
        (&defaults, "defaults"),
        (&spec.settings, "the connector's consumer settings"),
    ])
    .create()
    .map_err(|e| ConnectError::fatal(format!("cannot make a consumer of {what}: {e}")))?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&spec.topic, spec.partition, Offset::Stored)
        .map_err(|e| ConnectError::fatal(format!("cannot assign {what}: {e}")))?;
    consumer
        .assign(&tpl)
        .map_err(|e| ConnectError::fatal(format!("cannot assign {what}: {e}")))?;
    Ok(Box::new(KafkaTopicReader { consumer, what }))
}

/// The factory source tasks are given.
pub fn topic_readers() -> TopicReaders {
    Arc::new(open)
}
