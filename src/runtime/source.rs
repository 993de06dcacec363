//! The source task loop (Connect's `WorkerSourceTask`): poll → transform → convert →
//! produce, with a bounded number of records in flight. Offsets are committed to the store
//! only for the acknowledged prefix of each source partition, every
//! `offset.flush.interval.ms` and on every way out; then the task is told, so it can confirm
//! upstream.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::error::KafkaError;
use rdkafka::message::{DeliveryResult, Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;

use super::converters::TaskConverters;
use super::kafka::{
    ensure_topic_waiting, topic_spec, ClientRole, ConnectionErrors, Deliveries, TopicAdmin,
    TopicHandle, TopicSpec,
};
use super::metrics::{TaskMetrics, TaskState};
use super::setup::{SourceClients, TaskControl, TaskSetup};
use super::submitted::{SubmittedRecords, Ticket};
use super::task_error::{ErrorChain, TaskError};
use super::TaskOutcome;
use crate::api::{Outage, OutageReporter, Polled, SourceTask, StopFlag};
use crate::config::ConnectorConfig;
use crate::data::{ConnectRecord, SourceOffset, SourcePartition, SourceRecord};
use crate::offsets::OffsetStore;
use crate::runtime::errors::dlq::{DeadLetterQueue, RawRecord};
use crate::runtime::errors::{ErrorPolicy, Failure, Stage};
use crate::transform::TransformationChain;

/// A source task's producer context. Delivery reports are served by the task's
/// [`Deliveries`], not through this context: it sees only those rdkafka serves itself while
/// the producer is dropped, after the task is done with its offsets.
#[derive(Default)]
pub struct AckContext {
    connection: ConnectionErrors,
}

crate::runtime::kafka::connection_context!(AckContext, connection);

impl ProducerContext for AckContext {
    type DeliveryOpaque = usize;
    fn delivery(&self, _: &DeliveryResult<'_>, _: usize) {}
}

/// How long a `--once` run waits for its last records to be acknowledged: past librdkafka's
/// default delivery.timeout.ms, which reports each record it gives up on.
const ONCE_DELIVERY_WAIT: Duration = Duration::from_secs(130);

/// How often offsets are committed in the eager windows after a start or a snapshot.
const EAGER_COMMIT: Duration = Duration::from_millis(500);

/// The longest step of a wait a task asked for: how soon a stop or a pause is noticed.
const WAIT_STEP: Duration = Duration::from_millis(50);

/// How long a paused task sleeps between looks at its flags and acknowledgements.
pub(crate) const PAUSED_NAP: Duration = Duration::from_millis(100);

pub struct SourceRunner {
    pub name: String,
    pub task_id: usize,
    pub config: ConnectorConfig,
    pub task: Box<dyn SourceTask>,
    pub chain: TransformationChain,
    pub converters: TaskConverters,
    /// The last topic's handle, for records without headers. Declared before the producer,
    /// so that it is dropped first.
    topic_handle: Option<TopicHandle>,
    /// The producer's delivery reports; declared before the producer, to be dropped first.
    deliveries: Deliveries,
    pub producer: BaseProducer<AckContext>,
    pub admin: Option<TopicAdmin>,
    pub store: Arc<OffsetStore>,
    pub policy: ErrorPolicy,
    pub dlq: Option<DeadLetterQueue>,
    pub metrics: Arc<TaskMetrics>,
    pub control: Arc<TaskControl>,
    pub stop: StopFlag,
    pub flush_interval: Duration,
    pub shutdown_timeout: Duration,
    submitted: SubmittedRecords,
    known_topics: HashSet<String>,
    sticky: Option<crate::runtime::kafka::StickyPartitioner>,
    in_flight_limit: usize,
    /// The topic of the last record sent: checked before the set, which costs a hash.
    last_topic: String,
    key_buf: Vec<u8>,
    value_buf: Vec<u8>,
    acks: Vec<(Ticket, Option<String>)>,
    failure: Option<TaskError>,
    /// Retriable poll failures in a row; in `--once` they end the run past the bound.
    outage: Outage,
    /// Retriable poll failures (the source system unreachable), said once per outage.
    poll_outage: OutageReporter,
    /// A `--once` run's bound on waiting for a system that is down.
    dependency_wait: Option<Duration>,
}

impl SourceRunner {
    pub fn new(setup: TaskSetup<SourceClients>, task: Box<dyn SourceTask>) -> SourceRunner {
        let poll_outage = OutageReporter::for_task(
            format!(
                "the source of connector {} (task {})",
                setup.connector, setup.task_id
            ),
            &setup.control.waiting,
        );
        SourceRunner {
            name: setup.connector,
            task_id: setup.task_id,
            config: setup.config,
            task,
            chain: setup.chain,
            converters: setup.converters,
            topic_handle: None,
            deliveries: Deliveries::new(&setup.clients.producer),
            producer: setup.clients.producer,
            admin: setup.clients.admin,
            store: setup.store,
            policy: setup.policy,
            dlq: setup.dlq,
            metrics: setup.metrics,
            control: setup.control,
            stop: setup.stop,
            flush_interval: setup.flush_interval,
            shutdown_timeout: setup.shutdown_timeout,
            submitted: SubmittedRecords::new(),
            known_topics: HashSet::new(),
            sticky: setup.clients.sticky,
            in_flight_limit: setup.clients.in_flight_limit,
            last_topic: String::new(),
            key_buf: Vec::with_capacity(256),
            value_buf: Vec::with_capacity(4096),
            acks: Vec::new(),
            poll_outage,
            failure: None,
            outage: Outage::new(setup.dependency_wait),
            dependency_wait: setup.dependency_wait,
        }
    }

    pub fn run(mut self) -> TaskOutcome {
        self.metrics.set_state(TaskState::Running);
        let mut last_commit = Instant::now();
        // Just after a start, and after a phase the task says is costly to redo (a
        // snapshot), commit often so that a crash (a SIGKILL loop) replays little.
        let mut eager_until = Instant::now() + self.flush_interval;
        let eager_every = self.flush_interval.min(EAGER_COMMIT);
        let mut finished = false;
        while !self.stop.is_stopped() && self.failure.is_none() {
            if self.control.is_paused() {
                // Connect's pause: nothing new is polled; what is in flight is delivered
                // and its offsets committed as usual.
                self.paused(&mut last_commit);
                continue;
            }
            // A connector names its system in its own errors; this bounds any that does
            // not bound its retries itself.
            let poll_started = Instant::now();
            let mut idle = false;
            let polled = match self.task.poll() {
                Ok(p) => {
                    self.outage.recovered();
                    self.poll_outage.ok();
                    Ok(p)
                }
                Err(e) => Err(self.outage.failed("the connector's system", e)),
            };
            match polled {
                Ok(Polled::Records(records)) => {
                    if self.control.take_forget_topics() {
                        self.known_topics.clear();
                        self.last_topic.clear();
                    }
                    let active = self.submitted.in_flight() + records.len();
                    self.metrics
                        .source_polled(records.len(), poll_started.elapsed(), active);
                    let mut records = records;
                    for r in &mut records {
                        if let Err(e) = self.send(r) {
                            self.failure = Some(e);
                        }
                        // Past a stop request a record may have been left unsent; those
                        // after it must not be sent (their offsets would cover it).
                        if self.failure.is_some() || self.stop.is_stopped() {
                            break;
                        }
                    }
                }
                Ok(Polled::Idle) => idle = true,
                Ok(Polled::Wait(wait)) => {
                    idle = true;
                    let every = self.commit_every(eager_until, eager_every);
                    self.wait(wait, every, &mut last_commit);
                }
                Ok(Polled::Finished) => {
                    finished = true;
                    break;
                }
                Err(e) if e.is_retriable() => {
                    // Said once per outage of the source system, not per attempt.
                    self.poll_outage.failed(&e);
                    crate::api::sleep_unless_stopped(&self.stop, Duration::from_millis(500));
                }
                Err(e) => {
                    self.failure = Some(TaskError::Poll(e));
                    break;
                }
            }
            if self.task.phase_completed() {
                eager_until = Instant::now() + self.flush_interval;
            }
            // What is already queued, up to a bound that keeps the loop polling the task: an
            // idle source must not let acknowledgements, and so commits, lag.
            self.pump(Duration::ZERO);
            let every = self.commit_every(eager_until, eager_every);
            self.commit_if_due(every, idle, &mut last_commit);
        }
        self.finish(finished)
    }

    fn commit_every(&self, eager_until: Instant, eager_every: Duration) -> Duration {
        if Instant::now() < eager_until {
            eager_every
        } else {
            self.flush_interval
        }
    }

    /// Commits when `every` has passed since the last commit, or, with nothing more to send
    /// (`idle`), as soon as all that was sent is acknowledged.
    fn commit_if_due(&mut self, every: Duration, idle: bool, last_commit: &mut Instant) {
        if last_commit.elapsed() >= every || (idle && self.caught_up()) {
            self.commit();
            *last_commit = Instant::now();
        }
    }

    /// Everything sent is acknowledged and some of it is not committed yet. A source with
    /// nothing more to send commits then rather than at the next offset.flush.interval.ms
    /// (60 s by default): a crash or a move in the meantime would send it all again, and
    /// the offsets the REST API shows would lag behind what is in Kafka.
    fn caught_up(&self) -> bool {
        self.submitted.in_flight() == 0 && self.submitted.has_committable()
    }

    /// Waits out the interval a task asked for before its next poll, serving Kafka's
    /// acknowledgements and committing meanwhile; a stop, a pause or a failed delivery ends it.
    fn wait(&mut self, wait: Duration, every: Duration, last_commit: &mut Instant) {
        let until = Instant::now() + wait;
        loop {
            let now = Instant::now();
            if now >= until
                || self.stop.is_stopped()
                || self.control.is_paused()
                || self.failure.is_some()
            {
                return;
            }
            // Returns as soon as a delivery report arrives.
            self.pump((until - now).min(WAIT_STEP));
            self.commit_if_due(every, true, last_commit);
        }
    }

    /// One turn of the loop while paused.
    fn paused(&mut self, last_commit: &mut Instant) {
        if self.metrics.state() != TaskState::Paused {
            self.metrics.set_state(TaskState::Paused);
        }
        self.pump(Duration::ZERO);
        self.commit_if_due(self.flush_interval, false, last_commit);
        crate::api::sleep_unless_stopped(&self.stop, PAUSED_NAP);
        if !self.control.is_paused() {
            self.metrics.set_state(TaskState::Running);
        }
    }

    /// `finished`: the task read everything it was asked to (`--once`), so the run succeeds
    /// only once Kafka has acknowledged all of it; a stop request waits only
    /// task.shutdown.graceful.timeout.ms, and what is left is sent again next time.
    fn finish(mut self, finished: bool) -> TaskOutcome {
        // Deliver what is in flight, then commit whatever Kafka acknowledged.
        let wait = if finished && self.failure.is_none() {
            // librdkafka gives up on a record after delivery.timeout.ms (120 s by default)
            // and reports it, which ends the wait sooner.
            ONCE_DELIVERY_WAIT
        } else {
            self.shutdown_timeout.max(Duration::from_millis(100))
        };
        let deadline = Instant::now() + wait;
        while self.submitted.in_flight() > 0
            && Instant::now() < deadline
            && (self.failure.is_none() || !finished)
        {
            self.pump(Duration::from_millis(20));
        }
        if finished && self.failure.is_none() && self.submitted.in_flight() > 0 {
            self.failure = Some(TaskError::Unacknowledged {
                in_flight: self.submitted.in_flight(),
                secs: wait.as_secs(),
            });
        } else if self.submitted.in_flight() > 0 {
            tracing::warn!(connector = %self.name, in_flight = self.submitted.in_flight(),
                "records still unacknowledged after task.shutdown.graceful.timeout.ms; their offsets are not committed and they will be sent again");
        }
        if let Some(d) = &self.dlq {
            if let Err(e) = d.flush(self.shutdown_timeout) {
                tracing::error!(connector = %self.name, "{}", ErrorChain(&e));
            }
        }
        self.commit();
        self.task.stop();
        match self.failure.take() {
            Some(reason) => {
                self.metrics.set_state(TaskState::Failed);
                TaskOutcome::Failed(reason)
            }
            None => {
                self.metrics.set_state(TaskState::Stopped);
                TaskOutcome::Done
            }
        }
    }

    /// Serves delivery reports, waiting up to `timeout` for the first (returning as soon as
    /// one arrives), and takes in what they acknowledge.
    fn pump(&mut self, timeout: Duration) {
        let acks = &mut self.acks;
        self.deliveries
            .serve(self.producer.client(), timeout, |opaque, error| {
                acks.push((Ticket::from_usize(opaque), error.map(|e| e.to_string())));
            });
        if !self.acks.is_empty() {
            self.drain_acks();
        }
    }

    fn drain_acks(&mut self) {
        let mut ok = 0;
        for (ticket, err) in self.acks.drain(..) {
            match err {
                None => {
                    ok += 1;
                    self.submitted.ack(ticket);
                }
                Some(e) => {
                    let f = Failure {
                        stage: Stage::KafkaProduce,
                        class_name: "org.apache.kafka.clients.producer.KafkaProducer".into(),
                        exception_class: "org.apache.kafka.common.KafkaException",
                        message: e,
                        topic: String::new(),
                        partition: None,
                        offset: None,
                    };
                    let tolerated = self.policy.tolerates(&f);
                    self.metrics
                        .record_failed(tolerated, tolerated && self.policy.log_enable);
                    if tolerated {
                        self.policy.log_tolerated(&self.name, &f, String::new);
                        self.submitted.ack(ticket);
                    } else if self.failure.is_none() {
                        // "Message timed out" alone does not say why; the connection
                        // failure behind it does.
                        let connection = self
                            .producer
                            .context()
                            .connection
                            .cause(ClientRole::Producer);
                        self.failure = Some(TaskError::Delivery {
                            message: f.message,
                            connection,
                        });
                    }
                }
            }
        }
        if ok > 0 && self.metrics.records() == 0 {
            tracing::info!(connector = %self.name, first_record_ms = format!("{:.1}", super::since_start_ms()), "first record acknowledged by Kafka");
        }
        self.metrics.source_acked(ok, self.submitted.in_flight());
    }

    fn commit(&mut self) {
        let offsets = self.submitted.take_committable();
        if offsets.is_empty() {
            return;
        }
        let started = Instant::now();
        // Dead-lettered records count as done only once the DLQ has them.
        if let Some(d) = &self.dlq {
            if let Err(e) = d.flush(self.shutdown_timeout) {
                tracing::error!(connector = %self.name, "offsets not committed: {}", ErrorChain(&e));
                self.metrics.commit_done(false, started.elapsed());
                self.submitted.restore(offsets);
                return;
            }
        }
        match self
            .store
            .commit_source(&self.name, offsets.iter().map(|(p, o)| (&**p, o)))
        {
            Ok(()) => {
                self.metrics.commit_done(true, started.elapsed());
                tracing::debug!(connector = %self.name, partitions = offsets.len(), "committed source offsets");
                if let Err(e) = self.task.commit(&offsets) {
                    tracing::warn!(connector = %self.name, "the task could not confirm committed offsets upstream: {e}");
                }
            }
            Err(e) => {
                tracing::error!(connector = %self.name, "cannot commit offsets, will retry: {e}");
                self.metrics.commit_done(false, started.elapsed());
                self.submitted.restore(offsets);
            }
        }
    }

    fn failure(
        &self,
        stage: Stage,
        class: &str,
        exception: &'static str,
        message: String,
        topic: &str,
    ) -> Failure {
        Failure {
            stage,
            class_name: class.to_string(),
            exception_class: exception,
            message,
            topic: topic.to_string(),
            partition: None,
            offset: None,
        }
    }

    /// Handles a failed record: tolerated ones are logged, dead-lettered and count as done.
    /// `record` is the record as it came from the task when a copy was kept, otherwise the
    /// record as far as it got.
    fn fail_record(
        &mut self,
        f: Failure,
        partition: &SourcePartition,
        offset: &mut SourceOffset,
        record: Option<&ConnectRecord>,
    ) -> Result<(), TaskError> {
        let tolerated = self.policy.tolerates(&f);
        self.metrics
            .record_failed(tolerated, tolerated && self.policy.log_enable);
        if !tolerated {
            return Err(TaskError::Record(Box::new(f)));
        }
        self.policy.log_tolerated(&self.name, &f, || {
            record.map(|r| format!("{r:?}")).unwrap_or_default()
        });
        if let (Some(dlq), Some(r)) = (&self.dlq, record) {
            // A source record has no raw bytes yet: write it as the converters would have,
            // or as JSON text when the converter itself was what failed.
            let mut key = Vec::new();
            let mut value = Vec::new();
            let key_ok = self
                .converters
                .key
                .from_connect(&r.topic, r.key_schema.as_ref(), &r.key, &mut key)
                .unwrap_or_else(|_| {
                    key = crate::data::json::value_to_json_string(r.key_schema.as_deref(), &r.key)
                        .into_bytes();
                    true
                });
            let value_ok = self
                .converters
                .value
                .from_connect(&r.topic, r.value_schema.as_ref(), &r.value, &mut value)
                .unwrap_or_else(|_| {
                    value = crate::data::json::value_to_json_string(
                        r.value_schema.as_deref(),
                        &r.value,
                    )
                    .into_bytes();
                    true
                });
            let raw = RawRecord {
                key: key_ok.then_some(key.as_slice()),
                value: value_ok.then_some(value.as_slice()),
                headers: Vec::new(),
                timestamp: r.timestamp,
            };
            dlq.report(&raw, &f)?;
        }
        self.submitted.submit_done(partition, offset);
        Ok(())
    }

    /// `Ok(false)`: the topic could not be made before a stop request (or a delivery failure)
    /// ended the wait, and the record is not sent.
    fn ensure_topic(&mut self, topic: &str) -> Result<bool, TaskError> {
        // Records of one source mostly go to the topic of the record before.
        if self.last_topic == topic || self.known_topics.contains(topic) {
            if self.last_topic != topic {
                self.last_topic = topic.to_string();
            }
            return Ok(true);
        }
        if let Some(spec) = topic_spec(&self.config, topic) {
            if let Some(mut admin) = self.admin.take() {
                let made = self.create_topic(&mut admin, topic, &spec);
                self.admin = Some(admin);
                if !made? {
                    return Ok(false);
                }
            }
        }
        self.known_topics.insert(topic.to_string());
        self.control.note_topic(topic);
        self.last_topic = topic.to_string();
        Ok(true)
    }

    /// Looks the topic up and creates it, riding out a broker that is away; delivery reports
    /// are served meanwhile, and a failed delivery ends the wait.
    fn create_topic(
        &mut self,
        admin: &mut TopicAdmin,
        topic: &str,
        spec: &TopicSpec,
    ) -> Result<bool, TaskError> {
        let stop = self.stop.clone();
        ensure_topic_waiting(admin, topic, spec, self.dependency_wait, &stop, || {
            self.pump(Duration::ZERO);
            self.failure.is_none()
        })
        .map_err(|e| TaskError::Topic(Box::new(e)))
    }

    /// Transforms, converts and sends one polled record, or hands it to `fail_record`. `Ok`
    /// with `self.failure` set: a delivery failed while waiting for room in flight; the record
    /// was not sent. The record is worked on where the task's batch holds it: a `SourceRecord`
    /// is a few hundred bytes, and moving each one out of the batch and through the steps by
    /// value was a tenth of a FileStream source's thread.
    fn send(&mut self, polled: &mut SourceRecord) -> Result<(), TaskError> {
        let SourceRecord {
            partition,
            offset,
            record,
        } = polled;
        if self.chain.is_empty() {
            return self.deliver(partition, offset, record, None);
        }
        // Transforms consume their input; a copy of the untransformed record is kept only
        // when a transform failure could need it (for the DLQ or a log that includes records).
        let record = std::mem::replace(record, ConnectRecord::new(""));
        let keep =
            self.policy.tolerate_all && (self.dlq.is_some() || self.policy.log_include_messages);
        let backup = keep.then(|| record.clone());
        let topic = record.topic.clone();
        match self.chain.apply(record) {
            Ok(Some(r)) => self.deliver(partition, offset, &r, backup.as_ref()),
            Ok(None) => {
                self.submitted.submit_done(partition, offset);
                Ok(())
            }
            Err(e) => {
                let class = e.class.clone();
                let f = self.failure(
                    Stage::Transformation,
                    &class,
                    "org.apache.kafka.connect.errors.DataException",
                    e.error.0,
                    &topic,
                );
                self.fail_record(f, partition, offset, backup.as_ref())
            }
        }
    }

    /// Converts a (transformed) record and hands it to the producer. `backup` is the record as
    /// the task made it, when a copy was kept for a failure's report.
    fn deliver(
        &mut self,
        partition: &SourcePartition,
        offset: &mut SourceOffset,
        record: &ConnectRecord,
        backup: Option<&ConnectRecord>,
    ) -> Result<(), TaskError> {
        let converted = self
            .convert(record)
            .and_then(|kv| self.convert_headers(record).map(|h| (kv, h)));
        let ((key_some, value_some), headers) = match converted {
            Ok(v) => v,
            Err(f) => {
                let r = backup.unwrap_or(record);
                return self.fail_record(f, partition, offset, Some(r));
            }
        };
        if !self.ensure_topic(&record.topic)? {
            // Not sent, so not submitted: its offset, and those after it, stay uncommitted.
            return Ok(());
        }
        while self.submitted.in_flight() >= self.in_flight_limit {
            self.pump(Duration::from_millis(10));
            if self.failure.is_some() {
                return Ok(());
            }
        }
        let ticket = self.submitted.submit(partition, offset);
        let partition = self.partition_of(record, key_some, value_some);
        if headers.is_none()
            && self.topic_handle.as_ref().map(TopicHandle::name) != Some(record.topic.as_str())
        {
            self.topic_handle = TopicHandle::new(&self.producer, &record.topic);
        }
        let mut headers = headers;
        loop {
            match self.enqueue(
                record,
                key_some,
                value_some,
                partition,
                ticket,
                &mut headers,
            ) {
                Ok(()) => return Ok(()),
                Err(e) if e.rdkafka_error_code() == Some(RDKafkaErrorCode::QueueFull) => {
                    self.pump(Duration::from_millis(10));
                }
                Err(source) => {
                    return Err(TaskError::Send {
                        topic: record.topic.to_string(),
                        source,
                    })
                }
            }
        }
    }

    /// One attempt to hand the converted record to the producer: through the topic's handle
    /// when it has no headers, otherwise through rdkafka's `send` (which takes the headers,
    /// and gives them back when the attempt fails).
    fn enqueue(
        &self,
        record: &ConnectRecord,
        key_some: bool,
        value_some: bool,
        partition: Option<i32>,
        ticket: Ticket,
        headers: &mut Option<OwnedHeaders>,
    ) -> Result<(), KafkaError> {
        let key = key_some.then_some(self.key_buf.as_slice());
        let value = value_some.then_some(self.value_buf.as_slice());
        if let (None, Some(handle)) = (&headers, &self.topic_handle) {
            return handle
                .send(
                    &self.producer,
                    key,
                    value,
                    partition,
                    record.timestamp,
                    ticket.as_usize(),
                )
                .map_err(KafkaError::MessageProduction);
        }
        let rec = BaseRecord {
            topic: &record.topic,
            partition,
            payload: value,
            key,
            timestamp: record.timestamp,
            headers: headers.take(),
            delivery_opaque: ticket.as_usize(),
        };
        self.producer.send(rec).map_err(|(e, back)| {
            *headers = back.headers;
            e
        })
    }

    /// The record's own partition, or where the sticky partitioner puts a keyless record;
    /// `None` leaves it to librdkafka's partitioner.
    fn partition_of(
        &mut self,
        record: &ConnectRecord,
        key_some: bool,
        value_some: bool,
    ) -> Option<i32> {
        match (record.kafka_partition, &mut self.sticky) {
            (Some(p), _) => Some(p),
            (None, Some(sticky)) if !key_some => {
                let size = self.value_buf.len() * usize::from(value_some);
                sticky.partition(self.producer.client(), &record.topic, size)
            }
            _ => None,
        }
    }

    /// Serializes key and value into the task's reusable buffers; true where not null.
    fn convert(&mut self, r: &ConnectRecord) -> Result<(bool, bool), Failure> {
        let (policy, stop) = (&self.policy, &self.stop);
        let (key_conv, key_buf) = (&mut self.converters.key, &mut self.key_buf);
        let key = policy
            .retry_conversion(stop, "converting a record's key", || {
                key_conv.from_connect(&r.topic, r.key_schema.as_ref(), &r.key, key_buf)
            })
            .map_err(|e| {
                let class = self.converters.key_class.clone();
                self.failure(
                    Stage::KeyConverter,
                    &class,
                    super::errors::converter_exception(&e),
                    e.0,
                    &r.topic,
                )
            })?;
        let (policy, stop) = (&self.policy, &self.stop);
        let (value_conv, value_buf) = (&mut self.converters.value, &mut self.value_buf);
        let value = policy
            .retry_conversion(stop, "converting a record's value", || {
                value_conv.from_connect(&r.topic, r.value_schema.as_ref(), &r.value, value_buf)
            })
            .map_err(|e| {
                let class = self.converters.value_class.clone();
                self.failure(
                    Stage::ValueConverter,
                    &class,
                    super::errors::converter_exception(&e),
                    e.0,
                    &r.topic,
                )
            })?;
        Ok((key, value))
    }

    fn convert_headers(&mut self, r: &ConnectRecord) -> Result<Option<OwnedHeaders>, Failure> {
        if r.headers.is_empty() {
            return Ok(None);
        }
        let mut out = OwnedHeaders::new_with_capacity(r.headers.len());
        for h in r.headers.iter() {
            let bytes = self
                .converters
                .header
                .from_connect_header(&r.topic, &h.key, h.schema.as_ref(), &h.value)
                .map_err(|e| {
                    let class = self.converters.header_class.clone();
                    self.failure(
                        Stage::HeaderConverter,
                        &class,
                        "org.apache.kafka.connect.errors.DataException",
                        e.0,
                        &r.topic,
                    )
                })?;
            out = out.insert(Header {
                key: &h.key,
                value: bytes.as_deref(),
            });
        }
        Ok(Some(out))
    }
}
