//! `kconnect.sink.group.mode=subscribe`: the task joins the connector's consumer group and the
//! group coordinator decides which partitions it reads, so several kconnect processes (and
//! the tasks of each) share a sink's partitions as Connect's tasks do. The group's committed
//! offsets are the truth for a partition the task receives; the local store follows them. A
//! partition is given up only after everything read from it is put, flushed and committed.

use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer, RebalanceProtocol};
use rdkafka::{Offset, TopicPartitionList};

use super::{SinkRunner, TopicSelection};
use crate::api::TopicPartition;
use crate::runtime::kafka::group_changes::GroupChange;
use crate::runtime::kafka::ClientRole;
use crate::runtime::task_error::{AssignError, ErrorChain, TaskError};

impl SinkRunner {
    /// Subscribes to the connector's topics (those matching `topics.regex` now; the
    /// subscription follows new ones at each metadata refresh).
    pub(super) fn join_group(&mut self) -> Result<(), AssignError> {
        self.consumer.context().group_changes.defer();
        self.refresh_subscription()
    }

    pub(super) fn refresh_subscription(&mut self) -> Result<(), AssignError> {
        let mut topics: Vec<String> = match &self.topics {
            TopicSelection::List(list) => list.clone(),
            TopicSelection::Regex(_) => {
                let md = self
                    .consumer
                    .fetch_metadata(None, Duration::from_secs(10))
                    .map_err(AssignError::ListTopics)?;
                md.topics()
                    .iter()
                    .filter(|t| t.error().is_none() && self.topics.matches(t.name()))
                    .map(|t| t.name().to_string())
                    .collect()
            }
        };
        topics.sort();
        if topics == self.subscribed || topics.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        self.consumer
            .subscribe(&names)
            .map_err(AssignError::Assign)?;
        tracing::info!(connector = %self.pipe.name, topics = ?topics, "joined the consumer group for these topics (kconnect.sink.group.mode=subscribe)");
        self.subscribed = topics;
        Ok(())
    }

    /// Answers the rebalances the group asked for since the last batch.
    pub(super) fn answer_group_changes(&mut self) -> Result<(), TaskError> {
        while let Some(change) = self.consumer.context().group_changes.take() {
            let result = match change {
                GroupChange::Revoke(parts) => {
                    self.give_up(&parts);
                    Ok(())
                }
                GroupChange::Assign(parts) => self.take(&parts),
            };
            if let Err(source) = result {
                let connection = self.consumer.context().cause(ClientRole::Consumer);
                return Err(TaskError::Assign {
                    source: Box::new(source),
                    connection,
                });
            }
        }
        Ok(())
    }

    fn cooperative(&self) -> bool {
        matches!(
            self.consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        )
    }

    /// Flushes and commits everything read, to the store and synchronously to the group,
    /// then lets the partitions go. If the flush fails the partitions still go (a rebalance
    /// cannot wait for ever): the group's offsets stay at the last commit, so the next owner
    /// reads again what was not confirmed; nothing is lost.
    fn give_up(&mut self, parts: &[TopicPartition]) {
        if let Err(e) = self.commit() {
            tracing::warn!(connector = %self.pipe.name, "flushing before giving up partitions failed: {}; their next owner reads again from the last committed offsets", ErrorChain(&e));
        }
        let mut tpl = TopicPartitionList::new();
        for tp in parts {
            if let Some(o) = self.committed.get(tp) {
                let _ = tpl.add_partition_offset(&tp.0, tp.1, Offset::Offset(*o));
            }
        }
        if tpl.count() > 0 {
            if let Err(e) = self.consumer.commit(&tpl, CommitMode::Sync) {
                tracing::warn!(connector = %self.pipe.name, "committing to the group before giving up partitions failed: {e}; their next owner reads again from the group's last offsets");
            }
        }
        for tp in parts {
            self.positions.remove(tp);
            self.committed.remove(tp);
        }
        self.assigned.retain(|tp| !parts.contains(tp));
        let done = if self.cooperative() {
            let mut all = TopicPartitionList::new();
            for tp in parts {
                all.add_partition(&tp.0, tp.1);
            }
            self.consumer.incremental_unassign(&all)
        } else {
            self.consumer.unassign()
        };
        if let Err(e) = done {
            tracing::warn!(connector = %self.pipe.name, "giving up partitions: {e}");
        }
        self.set_partition_gauge();
        if !parts.is_empty() {
            tracing::info!(connector = %self.pipe.name, partitions = parts.len(), kept = self.assigned.len(), "gave partitions back to the consumer group after committing them");
        }
    }

    /// Takes the partitions from the group's committed offsets (the store's when an offsets
    /// edit reset it, else the reset policy), and makes the store follow. An offset set
    /// offline with `kconnect offsets set` since the last commit wins over the group's, and
    /// the group is moved to it before anything is read, so the edit holds even if this
    /// process dies before its first commit.
    fn take(&mut self, parts: &[TopicPartition]) -> Result<(), AssignError> {
        let edited = self.store.sink_offsets_reset(&self.pipe.name)?;
        let group = self.group_committed(parts)?;
        let mut follow = Vec::new();
        let mut moved = TopicPartitionList::new();
        for tp in parts {
            let set = self
                .store
                .sink_offset_edited(&self.pipe.name, &tp.0, tp.1)?;
            let start = match (set, group.get(tp)) {
                (Some(o), was) => {
                    tracing::info!(connector = %self.pipe.name, topic = %tp.0, partition = tp.1, offset = o, group_offset = ?was,
                        "starting the partition at the offset kconnect offsets set wrote, and moving the consumer group to it");
                    moved
                        .add_partition_offset(&tp.0, tp.1, Offset::Offset(o))
                        .map_err(AssignError::Offset)?;
                    follow.push((tp.0.clone(), tp.1, o));
                    o
                }
                (None, Some(&o)) => {
                    follow.push((tp.0.clone(), tp.1, o));
                    o
                }
                (None, None) => match self.store.sink_offset(&self.pipe.name, &tp.0, tp.1)? {
                    Some(o) if edited => o,
                    _ => {
                        let (lo, hi) = self.watermarks(tp)?;
                        if self.reset_earliest {
                            lo
                        } else {
                            hi
                        }
                    }
                },
            };
            self.positions.insert(tp.clone(), start);
            self.committed.insert(tp.clone(), start);
            if !self.assigned.contains(tp) {
                self.assigned.push(tp.clone());
            }
        }
        if moved.count() > 0 {
            self.consumer
                .commit(&moved, CommitMode::Sync)
                .map_err(AssignError::MoveGroup)?;
        }
        self.store.commit_sink(
            &self.pipe.name,
            follow.iter().map(|(t, p, o)| (t.as_str(), *p, *o)),
        )?;
        let mut tpl = TopicPartitionList::new();
        let cooperative = self.cooperative();
        let given: &[TopicPartition] = if cooperative { parts } else { &self.assigned };
        for tp in given {
            tpl.add_partition_offset(&tp.0, tp.1, Offset::Offset(self.positions[tp]))
                .map_err(AssignError::Offset)?;
        }
        if cooperative {
            self.consumer.incremental_assign(&tpl)
        } else {
            self.consumer.assign(&tpl)
        }
        .map_err(AssignError::Assign)?;
        self.task.open(&self.assigned).map_err(AssignError::Open)?;
        self.set_partition_gauge();
        if !parts.is_empty() {
            tracing::info!(connector = %self.pipe.name, partitions = parts.len(), holding = self.assigned.len(), "took partitions from the consumer group, from its committed offsets");
        }
        Ok(())
    }

    /// One turn of a paused loop: nothing is read, but the group is answered.
    pub(super) fn hold_while_paused(&mut self) {
        if let Ok(tpl) = self.consumer.assignment() {
            let _ = self.consumer.pause(&tpl);
        }
        if let Some(Ok(m)) = self.consumer.poll(crate::runtime::source::PAUSED_NAP) {
            // Fetched before the pause took hold: read it again after the resume.
            use rdkafka::message::Message;
            let _ = self.consumer.seek(
                m.topic(),
                m.partition(),
                Offset::Offset(m.offset()),
                Duration::from_secs(1),
            );
        }
        if let Err(e) = self.answer_group_changes() {
            self.failure = Some(e);
        }
    }

    /// The committed offsets of every partition held, for the group.
    pub(super) fn group_offsets(&self) -> TopicPartitionList {
        let mut tpl = TopicPartitionList::new();
        for tp in &self.assigned {
            if let Some(o) = self.committed.get(tp) {
                let _ = tpl.add_partition_offset(&tp.0, tp.1, Offset::Offset(*o));
            }
        }
        tpl
    }

    fn set_partition_gauge(&self) {
        self.pipe.metrics.partitions.store(
            self.assigned.len() as i64,
            std::sync::atomic::Ordering::Relaxed,
        );
    }
}
