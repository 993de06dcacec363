//! The sink task loop (Connect's `WorkerSinkTask`): consume → convert → transform → put, and
//! every `offset.flush.interval.ms` (and on every way out) flush → commit. A retriable put
//! failure gets the same batch again; offsets never pass a record the task has not flushed.
//!
//! Partitions are assigned, not subscribed: the worker splits the matching partitions among
//! the connector's tasks itself, so there is no rebalancing to wait for in a one-process
//! worker. Offsets are kept in the store and also committed to the group `connect-<name>`
//! so Kafka's lag tools see them. With `kconnect.sink.group.mode=subscribe` the tasks join the
//! group instead and share the partitions with other processes (`shared.rs`).

mod consume;
mod once;
mod pipeline;
mod shared;
mod topics;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use super::kafka::{ClientRole, ConnectionErrors};
use super::metrics::TaskState;
use super::setup::{SinkClients, TaskControl, TaskSetup};
use super::task_error::{AssignError, CommitError, ErrorChain, TaskError};
use super::TaskOutcome;
use crate::api::{gave_up, ConnectError, ErrantRecordReporter, SinkTask, StopFlag, TopicPartition};
use crate::data::SinkRecord;
use crate::offsets::OffsetStore;
use crate::runtime::errors::dlq::RawRecord;
use crate::runtime::errors::{ErrorPolicy, Failure, Stage};
use consume::{cached_high_watermark, unreadable};
use once::{OnceDrain, OnceStep, Positions};
use pipeline::OwnedMessage;
pub use pipeline::RecordPipeline;
pub use topics::{TopicSelection, TopicSelectionError};

/// Connect's `consumer.max.poll.records` default: the most records handed to one put.
pub const DEFAULT_MAX_POLL_RECORDS: usize = 500;
const METADATA_REFRESH: Duration = Duration::from_secs(30);

pub struct SinkRunner {
    pub task_id: usize,
    pub tasks: usize,
    pub task: Box<dyn SinkTask>,
    pub pipe: RecordPipeline,
    pub consumer: BaseConsumer<ConnectionErrors>,
    pub store: Arc<OffsetStore>,
    pub stop: StopFlag,
    /// `--once`: when the run is finished.
    once: Option<OnceDrain>,
    pub flush_interval: Duration,
    pub shutdown_timeout: Duration,
    pub max_poll_records: usize,
    pub topics: TopicSelection,
    pub reset_earliest: bool,
    /// `kconnect.sink.group.mode=subscribe`: the group gives the partitions.
    subscribe: bool,
    /// The topics subscribed to, sorted.
    subscribed: Vec<String>,
    /// `--once`: how long a put may keep failing retriably before the run fails.
    dependency_wait: Option<Duration>,
    assigned: Vec<TopicPartition>,
    /// Next offset to read, per partition: what a commit records.
    positions: Positions,
    committed: HashMap<TopicPartition, i64>,
    failure: Option<TaskError>,
    /// Consumer errors the client recovers from by itself (a broker outage comes with many;
    /// the outage itself is reported by the Kafka client's diagnostics).
    consume_error_said: crate::api::Reminder,
    errant: ErrantRecordReporter,
    /// Raw copies of the current batch's messages, kept only when there is a dead letter
    /// queue to send a record the task reports as errant.
    raw_batch: Vec<OwnedMessage>,
    control: Arc<TaskControl>,
    /// The topic of the last message read, and every topic read: see `note_topic`.
    last_topic: String,
    seen_topics: HashSet<String>,
}

/// When the run loop last did its periodic jobs.
struct Due {
    commit: Instant,
    refresh: Instant,
    lag: Instant,
}

impl SinkRunner {
    pub fn new(
        setup: TaskSetup<SinkClients>,
        task: Box<dyn SinkTask>,
        errant: ErrantRecordReporter,
    ) -> SinkRunner {
        let values = &setup.config.values;
        let max_poll_records = values
            .get("consumer.override.max.poll.records")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(DEFAULT_MAX_POLL_RECORDS)
            .max(1);
        let reset_earliest = values
            .get("consumer.override.auto.offset.reset")
            .map(|v| v.trim() != "latest")
            .unwrap_or(true);
        SinkRunner {
            task_id: setup.task_id,
            tasks: setup.tasks,
            task,
            pipe: RecordPipeline {
                name: setup.connector,
                config: setup.config,
                chain: setup.chain,
                converters: setup.converters,
                policy: setup.policy,
                dlq: setup.dlq,
                metrics: setup.metrics,
                stop: setup.stop.clone(),
            },
            consumer: setup.clients.consumer,
            store: setup.store,
            stop: setup.stop,
            once: setup.once.then(|| OnceDrain::new(setup.once_stall)),
            flush_interval: setup.flush_interval,
            shutdown_timeout: setup.shutdown_timeout,
            max_poll_records,
            topics: setup.clients.topics,
            reset_earliest,
            subscribe: setup.clients.subscribe,
            subscribed: Vec::new(),
            dependency_wait: setup.dependency_wait,
            assigned: Vec::new(),
            positions: HashMap::new(),
            committed: HashMap::new(),
            failure: None,
            consume_error_said: crate::api::Reminder::default(),
            errant,
            raw_batch: Vec::new(),
            control: setup.control,
            last_topic: String::new(),
            seen_topics: HashSet::new(),
        }
    }

    /// Partitions of matching topics, split among tasks round-robin in a stable order.
    fn refresh_assignment(&mut self) -> Result<(), AssignError> {
        let md = self
            .consumer
            .fetch_metadata(None, Duration::from_secs(10))
            .map_err(AssignError::ListTopics)?;
        let mut all: Vec<TopicPartition> = md
            .topics()
            .iter()
            .filter(|t| t.error().is_none() && self.topics.matches(t.name()))
            .flat_map(|t| {
                t.partitions()
                    .iter()
                    .map(move |p| (t.name().to_string(), p.id()))
            })
            .collect();
        all.sort();
        let mine: Vec<TopicPartition> = all
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % self.tasks == self.task_id)
            .map(|(_, tp)| tp)
            .collect();
        let new: Vec<TopicPartition> = mine
            .iter()
            .filter(|tp| !self.assigned.contains(tp))
            .cloned()
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        if let TopicSelection::List(list) = &self.topics {
            for t in list {
                if !mine.iter().any(|(mt, _)| mt == t) && self.tasks == 1 {
                    tracing::warn!(connector = %self.pipe.name, topic = %t, "topic does not exist (yet); it is picked up once it does");
                }
            }
        }
        // Where to start: the store, else the group's committed offset, else the reset policy.
        let group = self.group_committed(&new)?;
        for tp in &new {
            let (lo, hi) = self.watermarks(tp)?;
            let stored = self.store.sink_offset(&self.pipe.name, &tp.0, tp.1)?;
            let from_group = group.get(tp).copied();
            // No clamping to the watermarks: an offset out of range (topic truncated or
            // recreated) is librdkafka's to handle through auto.offset.reset, and some brokers
            // under-report the high watermark.
            let start = stored
                .or(from_group)
                .unwrap_or(if self.reset_earliest { lo } else { hi });
            tracing::debug!(connector = %self.pipe.name, topic = %tp.0, partition = tp.1, start, stored, "assigned");
            self.positions.insert(tp.clone(), start);
            self.committed.insert(tp.clone(), start);
            if let Some(once) = &mut self.once {
                once.end_at(tp.clone(), hi);
            }
        }
        self.assigned.extend(new);
        self.pipe.metrics.partitions.store(
            self.assigned.len() as i64,
            std::sync::atomic::Ordering::Relaxed,
        );
        let mut tpl = TopicPartitionList::new();
        for tp in &self.assigned {
            tpl.add_partition_offset(&tp.0, tp.1, Offset::Offset(self.positions[tp]))
                .map_err(AssignError::Offset)?;
        }
        self.consumer.assign(&tpl).map_err(AssignError::Assign)?;
        self.task.open(&self.assigned).map_err(AssignError::Open)?;
        Ok(())
    }

    /// The group's committed offsets of these partitions; none after an offsets edit removed
    /// the store's, since the group still has the offsets the edit meant to forget.
    fn group_committed(
        &self,
        parts: &[TopicPartition],
    ) -> Result<HashMap<TopicPartition, i64>, AssignError> {
        if parts.is_empty() || self.store.sink_offsets_reset(&self.pipe.name)? {
            return Ok(HashMap::new());
        }
        let mut ask = TopicPartitionList::new();
        for (t, p) in parts {
            ask.add_partition(t, *p);
        }
        let Ok(got) = self
            .consumer
            .committed_offsets(ask, Duration::from_secs(10))
        else {
            return Ok(HashMap::new());
        };
        Ok(got
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(o) => Some(((e.topic().to_string(), e.partition()), o)),
                _ => None,
            })
            .collect())
    }

    /// The partition's low and high watermarks, asked of the broker.
    fn watermarks(&self, tp: &TopicPartition) -> Result<(i64, i64), AssignError> {
        self.consumer
            .fetch_watermarks(&tp.0, tp.1, Duration::from_secs(10))
            .map_err(|source| AssignError::Watermarks {
                topic: tp.0.clone(),
                partition: tp.1,
                source,
            })
    }

    pub fn run(mut self) -> TaskOutcome {
        self.pipe.metrics.set_state(TaskState::Running);
        let started = if self.subscribe {
            self.join_group()
        } else {
            self.refresh_assignment()
        };
        if let Err(source) = started {
            let connection = self.consumer.context().cause(ClientRole::Consumer);
            return self.finish_with(Some(TaskError::Assign {
                source: Box::new(source),
                connection,
            }));
        }
        let now = Instant::now();
        let mut due = Due {
            commit: now,
            refresh: now,
            lag: now,
        };
        let mut batch: Vec<SinkRecord> = Vec::with_capacity(self.max_poll_records);
        while !self.stop.is_stopped() {
            if self.control.is_paused() {
                self.paused(&mut due);
                if self.failure.is_some() {
                    break;
                }
                continue;
            }
            if let Some(once) = &mut self.once {
                match once.step(&mut self.positions, &self.consumer) {
                    OnceStep::Read => {}
                    OnceStep::Finished => break,
                    OnceStep::Failed(e) => {
                        self.failure = Some(e);
                        self.commit_before_failing();
                        break;
                    }
                }
            }
            self.refresh_when_due(&mut due.refresh);
            let got_any = self.poll_batch(&mut batch);
            let drained = self
                .once
                .as_mut()
                .is_some_and(|once| once.polled(got_any, batch.is_empty()));
            if drained && self.failure.is_none() {
                break;
            }
            if !batch.is_empty() {
                if let Err(e) = self.deliver(&batch) {
                    // Positions already include this batch: nothing more may be committed.
                    self.failure = Some(e);
                    break;
                }
            } else if let Err(e) = self.task.put(&[]) {
                // As Connect does, an empty put on every idle loop: an asynchronous sink
                // reports a write that failed for good now, not when the next record comes.
                if !e.is_retriable() {
                    self.failure = Some(TaskError::Failed(e));
                    self.commit_before_failing();
                    break;
                }
            }
            if self.failure.is_some() {
                // A record failed conversion or a transform: deliver and commit what came
                // before it (positions stop at the failed record), then fail.
                self.commit_before_failing();
                break;
            }
            if self.subscribe {
                if let Err(e) = self.answer_group_changes() {
                    self.failure = Some(e);
                    break;
                }
            }
            self.report_lag(&mut due.lag);
            if due.commit.elapsed() >= self.flush_interval {
                match self.commit() {
                    Ok(()) => {}
                    // The task cannot make progress (every document refused): fail now
                    // with the cause instead of retrying the commit every interval.
                    Err(CommitError::Flush(e)) if !e.is_retriable() => {
                        self.failure = Some(TaskError::Failed(e));
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(connector = %self.pipe.name, "offset commit failed, will retry: {}", ErrorChain(&e));
                    }
                }
                due.commit = Instant::now();
            }
        }
        let failure = self.failure.take();
        self.finish_with(failure)
    }

    /// Looks for the topics often while there is nothing to read yet, then at the metadata
    /// refresh interval (new partitions, new topics matching topics.regex). A `--once` run
    /// keeps the partitions it started with.
    fn refresh_when_due(&mut self, last: &mut Instant) {
        let every = if self.assigned.is_empty() {
            Duration::from_secs(2)
        } else {
            METADATA_REFRESH
        };
        if self.once.is_none() && last.elapsed() >= every {
            let refreshed = if self.subscribe {
                self.refresh_subscription()
            } else {
                self.refresh_assignment()
            };
            if let Err(e) = refreshed {
                tracing::warn!(connector = %self.pipe.name, "{}", ErrorChain(&e));
            }
            *last = Instant::now();
        }
    }

    /// Fills `batch` with up to max.poll.records converted records; whether any message came.
    /// A record that fails for good sets `self.failure` and ends the batch before it.
    fn poll_batch(&mut self, batch: &mut Vec<SinkRecord>) -> bool {
        batch.clear();
        if self.control.take_forget_topics() {
            self.seen_topics.clear();
            self.last_topic.clear();
        }
        self.raw_batch.clear();
        let mut wait = self
            .once
            .as_ref()
            .map_or(Duration::from_millis(100), OnceDrain::poll_wait);
        let mut read = 0;
        while batch.len() < self.max_poll_records {
            // A rebalance is answered between batches, so a batch never spans one.
            if self.subscribe && self.consumer.context().group_changes.pending() {
                break;
            }
            let Some(msg) = self.consumer.poll(wait) else {
                break;
            };
            wait = Duration::ZERO;
            let m = match msg {
                Ok(m) => m,
                Err(e) => {
                    if let Some(remedy) = unreadable(&e) {
                        self.failure = Some(TaskError::Unreadable {
                            connector: self.pipe.name.clone(),
                            remedy,
                            source: e,
                        });
                    } else if self.consume_error_said.due() {
                        tracing::warn!(connector = %self.pipe.name, "error consuming, retrying (further errors are said at most once a minute): {e}");
                    } else {
                        tracing::debug!(connector = %self.pipe.name, "error consuming, retrying: {e}");
                    }
                    break;
                }
            };
            read += 1;
            if m.topic() != self.last_topic {
                note_topic(
                    &mut self.last_topic,
                    &mut self.seen_topics,
                    &self.control,
                    m.topic(),
                );
            }
            let tp = (m.topic().to_string(), m.partition());
            let next = m.offset() + 1;
            if self.pipe.dlq.is_some() {
                self.raw_batch.push(OwnedMessage::of(&m));
            }
            match self.pipe.process(&m) {
                Ok(Some(r)) => batch.push(r),
                Ok(None) => {}
                Err(e) => {
                    self.failure = Some(e);
                    break;
                }
            }
            self.positions.insert(tp, next);
        }
        if read > 0 {
            self.pipe.metrics.sink_read(read);
        }
        read > 0
    }

    /// One turn of the loop while paused: nothing is read; offsets are committed as usual.
    fn paused(&mut self, due: &mut Due) {
        if self.pipe.metrics.state() != TaskState::Paused {
            self.pipe.metrics.set_state(TaskState::Paused);
        }
        if due.commit.elapsed() >= self.flush_interval {
            if let Err(e) = self.commit() {
                tracing::warn!(connector = %self.pipe.name, "offset commit failed, will retry: {}", ErrorChain(&e));
            }
            due.commit = Instant::now();
        }
        if self.subscribe {
            // The group keeps this member only while it polls: poll with the partitions
            // paused, and answer rebalances as usual.
            self.hold_while_paused();
        } else {
            crate::api::sleep_unless_stopped(&self.stop, crate::runtime::source::PAUSED_NAP);
        }
        if !self.control.is_paused() {
            if self.subscribe {
                if let Ok(tpl) = self.consumer.assignment() {
                    let _ = self.consumer.resume(&tpl);
                }
            }
            self.pipe.metrics.set_state(TaskState::Running);
        }
    }

    /// Puts the batch and reports what the task skipped.
    fn deliver(&mut self, batch: &[SinkRecord]) -> Result<(), TaskError> {
        let started = Instant::now();
        self.put(batch)?;
        self.pipe.metrics.sink_put(batch.len(), started.elapsed());
        self.report_errant()
    }

    fn commit_before_failing(&mut self) {
        if let Err(e) = self.commit() {
            tracing::warn!(connector = %self.pipe.name, "offset commit before failing did not succeed: {}", ErrorChain(&e));
        }
    }

    /// The lag metric: against the end offsets seen at start with `--once`, else against
    /// the high watermarks cached from fetch responses (no request to the broker), each second.
    fn report_lag(&mut self, last: &mut Instant) {
        // In --once, against the end offsets seen at start at every batch; the active
        // count is sampled only each second, in a long-running worker.
        let (lag, lag_max, sampled) = match &self.once {
            Some(once) => (
                once.lag(&self.positions),
                once.lag_max(&self.positions),
                false,
            ),
            None if last.elapsed() >= Duration::from_secs(1) => {
                *last = Instant::now();
                let lags = self.assigned.iter().filter_map(|tp| {
                    let hi = cached_high_watermark(&self.consumer, &tp.0, tp.1)?;
                    Some((hi - self.positions.get(tp).copied().unwrap_or(hi)).max(0))
                });
                let (sum, max) = lags.fold((0, 0), |(s, m), l| (s + l, m.max(l)));
                (sum, max, true)
            }
            None => return,
        };
        let m = &self.pipe.metrics;
        m.lag.store(lag, std::sync::atomic::Ordering::Relaxed);
        m.lag_max
            .store(lag_max, std::sync::atomic::Ordering::Relaxed);
        if sampled {
            m.set_active(self.uncommitted());
        }
    }

    /// Offsets read past the last commit, summed over the partitions: Connect's
    /// `sink-record-active-count`.
    fn uncommitted(&self) -> usize {
        self.positions
            .iter()
            .map(|(tp, p)| (p - self.committed.get(tp).copied().unwrap_or(*p)).max(0) as usize)
            .sum()
    }

    fn finish_with(mut self, failure: Option<TaskError>) -> TaskOutcome {
        // On failure, commit only what was delivered before the failing batch; the positions
        // were advanced past it, so roll them back to the last commit for those partitions.
        let mut failure = failure;
        if failure.is_none() {
            if let Err(e) = self.commit() {
                // The task could not confirm delivery of what it was given (an asynchronous
                // sink reports its write failures at flush), so the run did not succeed.
                failure = Some(TaskError::FinalCommit(Box::new(e)));
            }
        }
        self.task.stop();
        if self.subscribe {
            // The group's offsets are where the next owner of these partitions starts.
            if let Err(e) = self
                .consumer
                .commit(&self.group_offsets(), CommitMode::Sync)
            {
                tracing::warn!(connector = %self.pipe.name, "committing to the consumer group on the way out failed: {e}; the next owner of these partitions reads again from the group's last offsets");
            }
        }
        // The consumer's close gives its partitions back through one more rebalance, which
        // must not wait for this loop any more.
        self.consumer.context().group_changes.answer_at_once();
        match failure {
            Some(reason) => {
                self.pipe.metrics.set_state(TaskState::Failed);
                TaskOutcome::Failed(reason)
            }
            None => {
                self.pipe.metrics.set_state(TaskState::Stopped);
                TaskOutcome::Done
            }
        }
    }

    fn put(&mut self, batch: &[SinkRecord]) -> Result<(), TaskError> {
        let policy = self.pipe.policy.clone();
        let stop = self.stop.clone();
        let task = &mut self.task;
        // Connect redelivers a retriable batch until it succeeds; errors.retry.timeout does
        // not bound it (that setting governs converters and transforms). A `--once` run
        // gives up after kconnect.once.dependency.timeout.ms.
        let limit = self.dependency_wait;
        let bounded = ErrorPolicy {
            retry_timeout: limit,
            ..policy
        };
        let started = Instant::now();
        bounded
            .retry(&stop, "put", || task.put(batch), ConnectError::is_retriable)
            .map_err(|source| {
                let source = match limit {
                    Some(limit) if source.is_retriable() && !stop.is_stopped() => gave_up(
                        "the connector's target system",
                        started.elapsed(),
                        limit,
                        source,
                    ),
                    _ => source,
                };
                let first = &batch[0];
                TaskError::Put {
                    records: batch.len(),
                    first: format!(
                        "{}-{}@{}",
                        first.topic(),
                        first.partition(),
                        first.kafka_offset
                    ),
                    source,
                }
            })?;
        if self.stop.is_stopped() {
            return Err(TaskError::PutInterrupted);
        }
        Ok(())
    }

    /// Records the task skipped and reported: logged and dead-lettered (stage TASK_PUT).
    fn report_errant(&mut self) -> Result<(), TaskError> {
        let reported = self.errant.take();
        for r in reported {
            let f = Failure {
                stage: Stage::TaskPut,
                class_name: self.pipe.config.class().to_string(),
                exception_class: "org.apache.kafka.connect.errors.ConnectException",
                message: r.error.clone(),
                topic: r.topic.clone(),
                partition: Some(r.partition),
                offset: Some(r.offset),
            };
            self.pipe
                .policy
                .log_tolerated(&self.pipe.name, &f, String::new);
            self.pipe
                .metrics
                .record_failed(true, self.pipe.policy.log_enable);
            let Some(dlq) = &self.pipe.dlq else { continue };
            let raw = self
                .raw_batch
                .iter()
                .find(|m| m.topic == r.topic && m.partition == r.partition && m.offset == r.offset);
            if let Some(m) = raw {
                let raw = RawRecord {
                    key: m.key.as_deref(),
                    value: m.value.as_deref(),
                    headers: m
                        .headers
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_deref()))
                        .collect(),
                    timestamp: m.timestamp,
                };
                dlq.report(&raw, &f)?;
            }
        }
        Ok(())
    }

    /// Commits what was delivered, counted and timed for the metrics.
    fn commit(&mut self) -> Result<(), CommitError> {
        let started = Instant::now();
        let result = self.commit_delivered();
        let m = &self.pipe.metrics;
        match &result {
            Ok(false) => {}
            Ok(true) => {
                m.commits
                    .completed
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                m.commit_done(true, started.elapsed());
            }
            Err(_) => m.commit_done(false, started.elapsed()),
        }
        result.map(|_| ())
    }

    /// `Ok(false)` when there was nothing to commit.
    fn commit_delivered(&mut self) -> Result<bool, CommitError> {
        let changed: HashMap<TopicPartition, i64> = self
            .positions
            .iter()
            .filter(|(tp, p)| self.committed.get(*tp) != Some(p))
            .map(|(tp, p)| (tp.clone(), *p))
            .collect();
        if changed.is_empty() {
            return Ok(false);
        }
        self.pipe
            .metrics
            .commits
            .seq
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(d) = &self.pipe.dlq {
            d.flush(self.shutdown_timeout)?;
        }
        let stop = self.stop.clone();
        let policy = ErrorPolicy {
            retry_timeout: Some(self.shutdown_timeout),
            ..self.pipe.policy.clone()
        };
        let task = &mut self.task;
        let ready = policy
            .retry(
                &stop,
                "flush",
                || task.pre_commit(&changed),
                ConnectError::is_retriable,
            )
            .map_err(CommitError::Flush)?;
        if ready.is_empty() {
            return Ok(true);
        }
        self.store.commit_sink(
            &self.pipe.name,
            ready.iter().map(|((t, p), o)| (t.as_str(), *p, *o)),
        )?;
        let mut tpl = TopicPartitionList::new();
        for ((t, p), o) in &ready {
            let _ = tpl.add_partition_offset(t, *p, Offset::Offset(*o));
            self.committed.insert((t.clone(), *p), *o);
        }
        if self.subscribe {
            // A commit made while the group rebalances is refused; the group's offsets are
            // what the next owner starts from, so every held partition's goes each time.
            tpl = self.group_offsets();
        }
        if let Err(e) = self.consumer.commit(&tpl, CommitMode::Async) {
            tracing::debug!(connector = %self.pipe.name, "group commit failed (the store has the offsets): {e}");
        }
        tracing::debug!(connector = %self.pipe.name, partitions = ready.len(), "committed sink offsets");
        Ok(true)
    }
}

/// Records a topic the task read from (Connect's active topics), once per topic: the caller
/// compares with the last topic first, so a run of one topic costs a string comparison.
fn note_topic(last: &mut String, seen: &mut HashSet<String>, control: &TaskControl, topic: &str) {
    last.clear();
    last.push_str(topic);
    if !seen.contains(topic) {
        seen.insert(topic.to_string());
        control.note_topic(topic);
    }
}
