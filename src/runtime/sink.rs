//! The sink task loop (Connect's `WorkerSinkTask`): consume → convert → transform → put, and
//! every `offset.flush.interval.ms` (and on every way out) flush → commit. A retriable put
//! failure gets the same batch again; offsets never pass a record the task has not flushed.
//!
//! Partitions are assigned, not subscribed: the worker splits the matching partitions among
//! the connector's tasks itself, so there is no rebalancing to wait for in a one-process
//! worker. Offsets are kept in the store and also committed to the group `connect-<name>`
//! so Kafka's lag tools see them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

use super::converters::TaskConverters;
use super::kafka::{ClientRole, ConnectionErrors};
use super::metrics::{TaskMetrics, TaskState};
use super::TaskOutcome;
use crate::api::{ConnectError, ErrantRecordReporter, SinkTask, StopFlag, TopicPartition};
use crate::config::ConnectorConfig;
use crate::data::{ConnectRecord, Headers as ConnectHeaders, SinkRecord, TimestampType};
use crate::offsets::OffsetStore;
use crate::runtime::errors::dlq::{DeadLetterQueue, RawRecord};
use crate::runtime::errors::{ErrorPolicy, Failure, Stage};
use crate::transform::TransformationChain;

/// Connect's `consumer.max.poll.records` default: the most records handed to one put.
pub const DEFAULT_MAX_POLL_RECORDS: usize = 500;
const METADATA_REFRESH: Duration = Duration::from_secs(30);
/// In `--once` mode, how long a partition must stay silent past its end to count as done.
const ONCE_QUIET: Duration = Duration::from_millis(250);
const ONCE_DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// Which topics a sink reads.
#[derive(Clone, Debug)]
pub enum TopicSelection {
    List(Vec<String>),
    Regex(regex::Regex),
}

impl TopicSelection {
    pub fn from_config(cfg: &ConnectorConfig) -> Result<TopicSelection, String> {
        let topics = crate::api::Settings::new(crate::config::connector::SINK_KEYS, &cfg.values)
            .list("topics");
        let re = cfg
            .values
            .get("topics.regex")
            .map(|s| s.trim())
            .unwrap_or("");
        match (topics.is_empty(), re.is_empty()) {
            (false, true) => Ok(TopicSelection::List(topics)),
            (true, false) => regex::Regex::new(&format!("^(?:{re})$"))
                .map(TopicSelection::Regex)
                .map_err(|e| format!("topics.regex is not a valid regular expression: {e}")),
            (false, false) => Err("Must configure one of topics or topics.regex, not both".into()),
            (true, true) => Err("Must configure one of topics or topics.regex".into()),
        }
    }

    pub fn matches(&self, topic: &str) -> bool {
        match self {
            TopicSelection::List(l) => l.iter().any(|t| t == topic),
            TopicSelection::Regex(r) => r.is_match(topic),
        }
    }
}

pub struct SinkRunner {
    pub task_id: usize,
    pub tasks: usize,
    pub task: Box<dyn SinkTask>,
    pub pipe: RecordPipeline,
    pub consumer: BaseConsumer<ConnectionErrors>,
    pub store: Arc<OffsetStore>,
    pub stop: StopFlag,
    pub once: bool,
    /// `--once`: how long reading may make no progress short of the end offsets seen at start
    /// before the run fails (`KCONNECT_BROKER_WAIT_MS`), so a cron job whose broker went away
    /// ends with an error instead of waiting for it forever.
    pub once_stall: Duration,
    pub flush_interval: Duration,
    pub shutdown_timeout: Duration,
    pub max_poll_records: usize,
    pub topics: TopicSelection,
    pub reset_earliest: bool,
    assigned: Vec<TopicPartition>,
    /// Next offset to read, per partition: what a commit records.
    positions: HashMap<TopicPartition, i64>,
    committed: HashMap<TopicPartition, i64>,
    /// `--once`: the end offsets seen at start.
    end_offsets: HashMap<TopicPartition, i64>,
    failure: Option<String>,
    errant: ErrantRecordReporter,
    /// Raw copies of the current batch's messages, kept only when there is a dead letter
    /// queue to send a record the task reports as errant.
    raw_batch: Vec<OwnedMessage>,
}

/// A consumed message as it came from Kafka, for the dead letter queue.
struct OwnedMessage {
    topic: String,
    partition: i32,
    offset: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(String, Option<Vec<u8>>)>,
    timestamp: Option<i64>,
}

impl OwnedMessage {
    fn of(m: &BorrowedMessage<'_>) -> OwnedMessage {
        OwnedMessage {
            topic: m.topic().to_string(),
            partition: m.partition(),
            offset: m.offset(),
            key: m.key().map(<[u8]>::to_vec),
            value: m.payload().map(<[u8]>::to_vec),
            headers: m
                .headers()
                .map(|hs| {
                    hs.iter()
                        .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                        .collect()
                })
                .unwrap_or_default(),
            timestamp: m.timestamp().to_millis(),
        }
    }
}

impl SinkRunner {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: String,
        task_id: usize,
        tasks: usize,
        config: ConnectorConfig,
        task: Box<dyn SinkTask>,
        chain: TransformationChain,
        converters: TaskConverters,
        consumer: BaseConsumer<ConnectionErrors>,
        store: Arc<OffsetStore>,
        dlq: Option<DeadLetterQueue>,
        metrics: Arc<TaskMetrics>,
        stop: StopFlag,
        once: bool,
        once_stall: Duration,
        flush_interval: Duration,
        shutdown_timeout: Duration,
        topics: TopicSelection,
        errant: ErrantRecordReporter,
    ) -> SinkRunner {
        let policy = ErrorPolicy::from_config(&config);
        let max_poll_records = config
            .values
            .get("consumer.override.max.poll.records")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(DEFAULT_MAX_POLL_RECORDS)
            .max(1);
        let reset_earliest = config
            .values
            .get("consumer.override.auto.offset.reset")
            .map(|v| v.trim() != "latest")
            .unwrap_or(true);
        SinkRunner {
            task_id,
            tasks,
            task,
            pipe: RecordPipeline {
                name,
                config,
                chain,
                converters,
                policy,
                dlq,
                metrics,
            },
            consumer,
            store,
            stop,
            once,
            once_stall,
            flush_interval,
            shutdown_timeout,
            max_poll_records,
            topics,
            reset_earliest,
            assigned: Vec::new(),
            positions: HashMap::new(),
            committed: HashMap::new(),
            end_offsets: HashMap::new(),
            failure: None,
            errant,
            raw_batch: Vec::new(),
        }
    }

    /// Partitions of matching topics, split among tasks round-robin in a stable order.
    fn refresh_assignment(&mut self) -> Result<(), String> {
        let md = self
            .consumer
            .fetch_metadata(None, Duration::from_secs(10))
            .map_err(|e| format!("cannot list topics: {e}"))?;
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
        let mut group_tpl = TopicPartitionList::new();
        for (t, p) in &new {
            group_tpl.add_partition(t, *p);
        }
        let group = self
            .consumer
            .committed_offsets(group_tpl, Duration::from_secs(10))
            .ok();
        for tp in &new {
            let (lo, hi) = self
                .consumer
                .fetch_watermarks(&tp.0, tp.1, Duration::from_secs(10))
                .map_err(|e| format!("cannot read offsets of {}-{}: {e}", tp.0, tp.1))?;
            let stored = self
                .store
                .sink_offset(&self.pipe.name, &tp.0, tp.1)
                .map_err(|e| e.to_string())?;
            let from_group =
                group
                    .as_ref()
                    .and_then(|g| match g.find_partition(&tp.0, tp.1)?.offset() {
                        Offset::Offset(o) => Some(o),
                        _ => None,
                    });
            // No clamping to the watermarks: an offset out of range (topic truncated or
            // recreated) is librdkafka's to handle through auto.offset.reset, and some brokers
            // under-report the high watermark.
            let start = stored
                .or(from_group)
                .unwrap_or(if self.reset_earliest { lo } else { hi });
            tracing::debug!(connector = %self.pipe.name, topic = %tp.0, partition = tp.1, start, stored, "assigned");
            self.positions.insert(tp.clone(), start);
            self.committed.insert(tp.clone(), start);
            if self.once {
                self.end_offsets.insert(tp.clone(), hi);
            }
        }
        self.assigned.extend(new);
        let mut tpl = TopicPartitionList::new();
        for tp in &self.assigned {
            tpl.add_partition_offset(&tp.0, tp.1, Offset::Offset(self.positions[tp]))
                .map_err(|e| e.to_string())?;
        }
        self.consumer
            .assign(&tpl)
            .map_err(|e| format!("cannot assign partitions: {e}"))?;
        self.task.open(&self.assigned).map_err(|e| e.to_string())?;
        Ok(())
    }

    fn caught_up(&self) -> bool {
        self.end_offsets
            .iter()
            .all(|(tp, end)| self.positions.get(tp).is_some_and(|p| p >= end))
    }

    /// Whether librdkafka's own positions reached the end offsets: it steps over what is
    /// never delivered as a message (transaction markers, aborted records), which the
    /// positions taken from messages cannot see.
    fn caught_up_by_consumer(&mut self) -> bool {
        let Ok(tpl) = self.consumer.position() else {
            return false;
        };
        for e in tpl.elements() {
            if let Offset::Offset(o) = e.offset() {
                let tp = (e.topic().to_string(), e.partition());
                let p = self.positions.entry(tp).or_insert(o);
                *p = (*p).max(o);
            }
        }
        self.caught_up()
    }

    /// What a `--once` run that stopped making progress says before failing.
    fn stalled(&self) -> String {
        let mut behind: Vec<String> = self
            .end_offsets
            .iter()
            .filter_map(|(tp, end)| {
                let at = self.positions.get(tp).copied().unwrap_or(0);
                (at < *end).then(|| format!("{}-{} at offset {at} of {end}", tp.0, tp.1))
            })
            .collect();
        behind.sort();
        let cause = self.consumer.context().cause(ClientRole::Consumer);
        format!(
            "stage KAFKA_CONSUME: --once read nothing for {} s while short of the end offsets seen at start ({}){cause}; check that the brokers are reachable; the offsets of what was delivered are committed and the next run goes on from there (KCONNECT_BROKER_WAIT_MS sets how long --once waits)",
            self.once_stall.as_secs_f64(),
            behind.join(", ")
        )
    }

    pub fn run(mut self) -> TaskOutcome {
        self.pipe.metrics.set_state(TaskState::Running);
        if let Err(e) = self.refresh_assignment() {
            let cause = self.consumer.context().cause(ClientRole::Consumer);
            return self.finish_with(Some(format!("stage KAFKA_CONSUME: {e}{cause}")));
        }
        let mut last_commit = Instant::now();
        let mut last_refresh = Instant::now();
        let mut last_lag = Instant::now();
        let mut batch: Vec<SinkRecord> = Vec::with_capacity(self.max_poll_records);
        // `--once`: read at least up to the end offsets seen at start, then drain until the
        // partitions go quiet. The drain matters on brokers whose reported end offset lags
        // the log (Tansu 0.6 reports the last batch's base offset + 1).
        let mut draining_since: Option<Instant> = None;
        // Since when polls have returned nothing (a slow `put` is not a stall).
        let mut idle_since: Option<Instant> = None;
        while !self.stop.is_stopped() {
            if self.once && draining_since.is_none() && self.caught_up() {
                draining_since = Some(Instant::now());
            }
            let stalled = idle_since.is_some_and(|t| t.elapsed() >= self.once_stall);
            if self.once && draining_since.is_none() && stalled {
                if self.caught_up_by_consumer() {
                    draining_since = Some(Instant::now());
                } else {
                    self.failure = Some(self.stalled());
                    if let Err(e) = self.commit() {
                        tracing::warn!(connector = %self.pipe.name, "offset commit before failing did not succeed: {e}");
                    }
                    break;
                }
            }
            if draining_since.is_some_and(|t| t.elapsed() >= ONCE_DRAIN_LIMIT) {
                break;
            }
            // Look for the topics often while there is nothing to read yet, then at the
            // metadata refresh interval (new partitions, new topics matching topics.regex).
            let refresh_every = if self.assigned.is_empty() {
                Duration::from_secs(2)
            } else {
                METADATA_REFRESH
            };
            if !self.once && last_refresh.elapsed() >= refresh_every {
                if let Err(e) = self.refresh_assignment() {
                    tracing::warn!(connector = %self.pipe.name, "{e}");
                }
                last_refresh = Instant::now();
            }
            batch.clear();
            self.raw_batch.clear();
            let mut wait = if draining_since.is_some() {
                ONCE_QUIET
            } else {
                Duration::from_millis(100)
            };
            let mut got_any = false;
            while batch.len() < self.max_poll_records {
                let Some(msg) = self.consumer.poll(wait) else {
                    break;
                };
                wait = Duration::ZERO;
                match msg {
                    Ok(m) => {
                        got_any = true;
                        let tp = (m.topic().to_string(), m.partition());
                        let next = m.offset() + 1;
                        if self.pipe.dlq.is_some() {
                            self.raw_batch.push(OwnedMessage::of(&m));
                        }
                        match self.pipe.process(&m) {
                            Ok(Some(r)) => batch.push(r),
                            Ok(None) => {}
                            Err(reason) => {
                                self.failure = Some(reason);
                                break;
                            }
                        }
                        self.positions.insert(tp, next);
                    }
                    Err(e) => {
                        if let Some(remedy) = unreadable(&e) {
                            self.failure = Some(format!(
                                "stage KAFKA_CONSUME: cannot read the records of connector {}: {e}; {remedy}",
                                self.pipe.name
                            ));
                            break;
                        }
                        tracing::warn!(connector = %self.pipe.name, "error consuming, retrying: {e}");
                        break;
                    }
                }
            }
            if got_any {
                idle_since = None;
            } else {
                idle_since.get_or_insert_with(Instant::now);
            }
            if batch.is_empty() && draining_since.is_some() && self.failure.is_none() {
                break;
            }
            if !batch.is_empty() {
                if let Err(e) = self.put(&batch) {
                    // Positions already include this batch: nothing more may be committed.
                    self.failure = Some(e);
                    break;
                }
                self.pipe.metrics.add_records(batch.len() as u64);
                if let Err(e) = self.report_errant() {
                    self.failure = Some(e);
                    break;
                }
            }
            if self.failure.is_some() {
                // A record failed conversion or a transform: deliver and commit what came
                // before it (positions stop at the failed record), then fail.
                if let Err(e) = self.commit() {
                    tracing::warn!(connector = %self.pipe.name, "offset commit before failing did not succeed: {e}");
                }
                break;
            }
            if !self.once && last_lag.elapsed() >= Duration::from_secs(1) {
                // Cached from fetch responses: no request to the broker.
                let lag: i64 = self
                    .assigned
                    .iter()
                    .filter_map(|tp| {
                        let hi = cached_high_watermark(&self.consumer, &tp.0, tp.1)?;
                        Some((hi - self.positions.get(tp).copied().unwrap_or(hi)).max(0))
                    })
                    .sum();
                self.pipe
                    .metrics
                    .lag
                    .store(lag, std::sync::atomic::Ordering::Relaxed);
                last_lag = Instant::now();
            }
            if self.once {
                let lag: i64 = self
                    .end_offsets
                    .iter()
                    .map(|(tp, e)| (e - self.positions.get(tp).copied().unwrap_or(*e)).max(0))
                    .sum();
                self.pipe
                    .metrics
                    .lag
                    .store(lag, std::sync::atomic::Ordering::Relaxed);
            }
            if last_commit.elapsed() >= self.flush_interval {
                if let Err(e) = self.commit() {
                    tracing::warn!(connector = %self.pipe.name, "offset commit failed, will retry: {e}");
                }
                last_commit = Instant::now();
            }
        }
        let failure = self.failure.take();
        self.finish_with(failure)
    }

    fn finish_with(mut self, failure: Option<String>) -> TaskOutcome {
        // On failure, commit only what was delivered before the failing batch; the positions
        // were advanced past it, so roll them back to the last commit for those partitions.
        let mut failure = failure;
        if failure.is_none() {
            if let Err(e) = self.commit() {
                // The task could not confirm delivery of what it was given (an asynchronous
                // sink reports its write failures at flush), so the run did not succeed.
                failure = Some(format!("stage TASK_PUT: final offset commit failed: {e}"));
            }
        }
        self.task.stop();
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

    fn put(&mut self, batch: &[SinkRecord]) -> Result<(), String> {
        let policy = self.pipe.policy.clone();
        let stop = self.stop.clone();
        let task = &mut self.task;
        // Connect redelivers a retriable batch until it succeeds; errors.retry.timeout does
        // not bound it (that setting governs converters and transforms).
        let forever = ErrorPolicy {
            retry_timeout: None,
            ..policy
        };
        forever
            .retry(&stop, "put", || task.put(batch), ConnectError::is_retriable)
            .map_err(|e| {
                let first = &batch[0];
                format!(
                    "stage TASK_PUT: {e} (batch of {} records starting at {}-{}@{})",
                    batch.len(),
                    first.topic(),
                    first.partition(),
                    first.kafka_offset
                )
            })?;
        if self.stop.is_stopped() {
            // A put interrupted by shutdown may not have written the batch.
            return Err("stopped while retrying put".into());
        }
        Ok(())
    }

    /// Records the task skipped and reported: logged and dead-lettered (stage TASK_PUT).
    fn report_errant(&mut self) -> Result<(), String> {
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
                .skipped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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
                dlq.report(&raw, &f).map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), String> {
        let changed: HashMap<TopicPartition, i64> = self
            .positions
            .iter()
            .filter(|(tp, p)| self.committed.get(*tp) != Some(p))
            .map(|(tp, p)| (tp.clone(), *p))
            .collect();
        if changed.is_empty() {
            return Ok(());
        }
        if let Some(d) = &self.pipe.dlq {
            d.flush(self.shutdown_timeout).map_err(|e| e.to_string())?;
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
            .map_err(|e| format!("flush failed: {e}"))?;
        if ready.is_empty() {
            return Ok(());
        }
        self.store
            .commit_sink(
                &self.pipe.name,
                ready.iter().map(|((t, p), o)| (t.as_str(), *p, *o)),
            )
            .map_err(|e| e.to_string())?;
        let mut tpl = TopicPartitionList::new();
        for ((t, p), o) in &ready {
            let _ = tpl.add_partition_offset(t, *p, Offset::Offset(*o));
            self.committed.insert((t.clone(), *p), *o);
        }
        if let Err(e) = self.consumer.commit(&tpl, CommitMode::Async) {
            tracing::debug!(connector = %self.pipe.name, "group commit failed (the store has the offsets): {e}");
        }
        tracing::debug!(connector = %self.pipe.name, partitions = ready.len(), "committed sink offsets");
        Ok(())
    }
}

/// What to do about a consume error that fetching again cannot fix (the same bytes come back
/// every time), or `None` for errors worth retrying. Connect's task fails on these too.
fn unreadable(e: &rdkafka::error::KafkaError) -> Option<&'static str> {
    use rdkafka::types::RDKafkaErrorCode as C;
    match e.rdkafka_error_code()? {
        C::BadMessage | C::InvalidMessage => Some(
            "the broker sent a batch this consumer cannot parse: a corrupt record, or a batch larger than consumer.override.receive.message.max.bytes (raise it); to skip a corrupt record, move the connector's offset past it with `kconnect offsets set`",
        ),
        C::BadCompression | C::UnsupportedCompressionType => Some(
            "a batch is compressed with a codec that could not be decoded; kconnect reads gzip, snappy, lz4 and zstd, so the batch is likely corrupt",
        ),
        C::TopicAuthorizationFailed | C::GroupAuthorizationFailed => Some(
            "the consumer is not allowed to read the topic or use its group (connect-<connector name>); grant READ on both",
        ),
        _ => None,
    }
}

/// The high watermark librdkafka last saw in a fetch response, without asking the broker.
fn cached_high_watermark(
    consumer: &BaseConsumer<ConnectionErrors>,
    topic: &str,
    partition: i32,
) -> Option<i64> {
    let topic = std::ffi::CString::new(topic).ok()?;
    let (mut lo, mut hi) = (0i64, 0i64);
    // SAFETY: the client pointer is valid for the consumer's lifetime; the call only reads
    // librdkafka's cached partition state into the two out-parameters.
    let err = unsafe {
        rdkafka_sys::rd_kafka_get_watermark_offsets(
            consumer.client().native_ptr(),
            topic.as_ptr(),
            partition,
            &mut lo,
            &mut hi,
        )
    };
    (err == rdkafka_sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR && hi >= 0).then_some(hi)
}

/// The per-record part of a sink task: conversion, transforms and error tolerance. Kept
/// apart from the consumer so a message borrowed from it can be processed.
pub struct RecordPipeline {
    pub name: String,
    pub config: ConnectorConfig,
    pub chain: TransformationChain,
    pub converters: TaskConverters,
    pub policy: ErrorPolicy,
    pub dlq: Option<DeadLetterQueue>,
    pub metrics: Arc<TaskMetrics>,
}

impl RecordPipeline {
    /// Converts and transforms one message. `Ok(None)`: skipped (filtered or tolerated).
    fn process(&mut self, m: &BorrowedMessage<'_>) -> Result<Option<SinkRecord>, String> {
        let topic = m.topic();
        let fail = |stage: Stage, class: &str, message: String| Failure {
            stage,
            class_name: class.to_string(),
            exception_class: "org.apache.kafka.connect.errors.DataException",
            message,
            topic: topic.to_string(),
            partition: Some(m.partition()),
            offset: Some(m.offset()),
        };
        let key = match self.converters.key.to_connect(topic, m.key()) {
            Ok(k) => k,
            Err(e) => {
                return self.tolerate(
                    fail(Stage::KeyConverter, &self.converters.key_class.clone(), e.0),
                    m,
                )
            }
        };
        let value = match self.converters.value.to_connect(topic, m.payload()) {
            Ok(v) => v,
            Err(e) => {
                return self.tolerate(
                    fail(
                        Stage::ValueConverter,
                        &self.converters.value_class.clone(),
                        e.0,
                    ),
                    m,
                )
            }
        };
        let mut headers = ConnectHeaders::new();
        if let Some(hs) = m.headers() {
            for h in hs.iter() {
                match self
                    .converters
                    .header
                    .to_connect_header(topic, h.key, h.value)
                {
                    Ok((schema, v)) => headers.add(h.key, schema, v),
                    Err(e) => {
                        return self.tolerate(
                            fail(
                                Stage::HeaderConverter,
                                &self.converters.header_class.clone(),
                                e.0,
                            ),
                            m,
                        )
                    }
                }
            }
        }
        let (ts, ts_type) = match m.timestamp() {
            rdkafka::Timestamp::NotAvailable => (None, TimestampType::NoTimestampType),
            rdkafka::Timestamp::CreateTime(t) => (Some(t), TimestampType::CreateTime),
            rdkafka::Timestamp::LogAppendTime(t) => (Some(t), TimestampType::LogAppendTime),
        };
        let record = ConnectRecord {
            topic: topic.to_string(),
            kafka_partition: Some(m.partition()),
            key_schema: key.0,
            key: key.1,
            value_schema: value.0,
            value: value.1,
            timestamp: ts,
            headers,
            kafka_offset: Some(m.offset()),
        };
        let record = if self.chain.is_empty() {
            Some(record)
        } else {
            match self.chain.apply(record) {
                Ok(r) => r,
                Err(e) => {
                    let class = e.class.clone();
                    return self.tolerate(fail(Stage::Transformation, &class, e.error.0), m);
                }
            }
        };
        Ok(record.map(|record| SinkRecord {
            record,
            kafka_offset: m.offset(),
            timestamp_type: ts_type,
        }))
    }

    fn tolerate(
        &mut self,
        f: Failure,
        m: &BorrowedMessage<'_>,
    ) -> Result<Option<SinkRecord>, String> {
        if !self.policy.tolerates(&f) {
            return Err(f.to_string());
        }
        self.policy.log_tolerated(&self.name, &f, || {
            format!(
                "key={:?} value={:?}",
                m.key().map(String::from_utf8_lossy),
                m.payload().map(String::from_utf8_lossy)
            )
        });
        self.metrics
            .skipped
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(dlq) = &self.dlq {
            let headers: Vec<(&str, Option<&[u8]>)> = m
                .headers()
                .map(|hs| hs.iter().map(|h| (h.key, h.value)).collect())
                .unwrap_or_default();
            let raw = RawRecord {
                key: m.key(),
                value: m.payload(),
                headers,
                timestamp: m.timestamp().to_millis(),
            };
            dlq.report(&raw, &f).map_err(|e| e.to_string())?;
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::unreadable;
    use rdkafka::error::KafkaError;
    use rdkafka::types::RDKafkaErrorCode;

    #[test]
    fn undecodable_batches_fail_and_transient_errors_are_retried() {
        let fatal = KafkaError::MessageConsumption(RDKafkaErrorCode::BadMessage);
        assert!(unreadable(&fatal)
            .unwrap()
            .contains("receive.message.max.bytes"));
        let codec = KafkaError::MessageConsumption(RDKafkaErrorCode::BadCompression);
        assert!(unreadable(&codec).is_some());
        for transient in [
            RDKafkaErrorCode::BrokerTransportFailure,
            RDKafkaErrorCode::AllBrokersDown,
            RDKafkaErrorCode::NotLeaderForPartition,
        ] {
            assert!(unreadable(&KafkaError::MessageConsumption(transient)).is_none());
        }
    }
}
