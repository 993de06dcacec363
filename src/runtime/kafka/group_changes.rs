//! Rebalances a sink answers itself (`kconnect.sink.group.mode=subscribe`). librdkafka hands
//! the consumer's context each change of assignment and waits for the application to take or
//! give up the partitions. The context only queues the change; the sink loop, between
//! batches, puts and flushes what it read, commits the offsets of partitions it is giving up,
//! and only then gives them up: the next owner starts from offsets that cover every record
//! this one delivered.

use std::collections::VecDeque;
use std::sync::Mutex;

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::TopicPartitionList;

use crate::api::TopicPartition;

#[derive(Debug, PartialEq, Eq)]
pub enum GroupChange {
    Assign(Vec<TopicPartition>),
    Revoke(Vec<TopicPartition>),
}

/// `None` while rebalances are answered at once (the default, and while closing).
#[derive(Debug, Default)]
pub struct GroupChanges(Mutex<Option<VecDeque<GroupChange>>>);

impl GroupChanges {
    pub fn defer(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(VecDeque::new());
    }

    /// From now on rebalances are answered at once: a closing consumer's last revocation
    /// must not wait for a loop that has ended.
    pub fn answer_at_once(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    pub fn pending(&self) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|q| !q.is_empty())
    }

    pub fn take(&self) -> Option<GroupChange> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
            .and_then(VecDeque::pop_front)
    }

    /// The context's rebalance callback: queue the change when deferring, else do what
    /// librdkafka's default does.
    pub fn on_rebalance<C: ConsumerContext>(
        &self,
        consumer: &BaseConsumer<C>,
        err: RDKafkaRespErr,
        tpl: &TopicPartitionList,
    ) {
        let parts: Vec<TopicPartition> = tpl
            .elements()
            .iter()
            .map(|e| (e.topic().to_string(), e.partition()))
            .collect();
        let mut q = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            rdkafka::consumer::RebalanceProtocol::Cooperative
        );
        match (q.as_mut(), err) {
            (Some(q), RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) => {
                q.push_back(GroupChange::Assign(parts))
            }
            (Some(q), RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) => {
                q.push_back(GroupChange::Revoke(parts))
            }
            (_, RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) => {
                drop(q);
                let _ = if cooperative {
                    consumer.incremental_assign(tpl)
                } else {
                    consumer.assign(tpl)
                };
            }
            (_, other) => {
                drop(q);
                if other != RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS {
                    tracing::warn!(
                        "consumer group rebalance failed: {other:?}; giving up the partitions"
                    );
                }
                let _ = if cooperative {
                    consumer.incremental_unassign(tpl)
                } else {
                    consumer.unassign()
                };
            }
        }
    }
}
