//! Everything a task runner is given, built once per task by the worker before the task
//! starts: so that a bad converter, transform or client setting fails the task at start,
//! with the setting to change, rather than at its first record.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::client::{Client, ClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, Producer};

use super::converters::{self, TaskConverters};
use super::kafka::{self, ClientRole, ConnectionErrors, HasConnectionErrors, KafkaSetupError};
use super::metrics::TaskMetrics;
use super::sink::TopicSelection;
use super::source::AckContext;
use super::task_error::SetupError;
use crate::api::StopFlag;
use crate::config::{ConnectorConfig, WorkerConfig};
use crate::offsets::OffsetStore;
use crate::runtime::errors::dlq::{DeadLetterQueue, DlqContext};
use crate::runtime::errors::ErrorPolicy;
use crate::transform::TransformationChain;

/// One task's share of the run, as the worker assigns it: what the task thread builds its
/// `TaskSetup` from.
pub struct TaskPlan {
    pub config: ConnectorConfig,
    pub task_id: usize,
    /// How many tasks the connector runs: a sink splits the partitions among them.
    pub tasks: usize,
    pub worker: WorkerConfig,
    pub store: Arc<OffsetStore>,
    pub stop: StopFlag,
    pub once: bool,
    /// `--once` sinks: how long reading may make no progress before the run fails.
    pub broker_wait: Duration,
    pub metrics: Arc<TaskMetrics>,
    pub control: Arc<TaskControl>,
}

/// What the herder tells a running task besides stopping it, and what the task tells back
/// that the REST API shows: shared with the task thread, read without locks on the hot path.
#[derive(Debug, Default)]
pub struct TaskControl {
    paused: AtomicBool,
    /// Topics the task started writing to (source) or reading from (sink) that the herder
    /// has not collected yet: Connect's KIP-558 active topics. Touched only when a topic is
    /// new to the task.
    new_topics: Mutex<Vec<String>>,
    has_new_topics: AtomicBool,
    /// `PUT /topics/reset`: the task forgets the topics it has seen, so it reports them
    /// again as records go to them.
    forget_topics: AtomicBool,
    /// Why the task failed, set by its thread as it ends, so a status asked for before the
    /// supervision loop has collected the thread already says why.
    failure: Mutex<Option<String>>,
    /// What the running task waits for (a system it needs is down); given to its context.
    pub waiting: crate::api::Waiting,
}

impl TaskControl {
    /// A paused task keeps its clients and its place, delivers what is in flight and commits
    /// offsets, but reads nothing new until resumed.
    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::SeqCst)
    }
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed)
    }
    pub fn note_topic(&self, topic: &str) {
        self.new_topics
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(topic.to_string());
        self.has_new_topics.store(true, Ordering::SeqCst);
    }
    pub fn set_failure(&self, reason: Option<String>) {
        *self.failure.lock().unwrap_or_else(|e| e.into_inner()) = reason;
    }
    pub fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
    pub fn forget_topics(&self) {
        self.forget_topics.store(true, Ordering::SeqCst);
    }
    /// Whether the task should forget the topics it has seen; checked once per batch.
    pub fn take_forget_topics(&self) -> bool {
        self.forget_topics.load(Ordering::Relaxed)
            && self.forget_topics.swap(false, Ordering::SeqCst)
    }
    /// The topics noted since the last call; cheap when there are none.
    pub fn take_new_topics(&self) -> Vec<String> {
        if !self.has_new_topics.swap(false, Ordering::SeqCst) {
            return Vec::new();
        }
        std::mem::take(&mut *self.new_topics.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// A task runner's inputs. `C` is what differs between sources and sinks: their Kafka
/// clients.
pub struct TaskSetup<C> {
    pub connector: String,
    pub task_id: usize,
    pub tasks: usize,
    pub config: ConnectorConfig,
    pub converters: TaskConverters,
    pub chain: TransformationChain,
    pub policy: ErrorPolicy,
    pub dlq: Option<DeadLetterQueue>,
    pub clients: C,
    pub store: Arc<OffsetStore>,
    pub metrics: Arc<TaskMetrics>,
    pub control: Arc<TaskControl>,
    pub stop: StopFlag,
    pub once: bool,
    /// `--once` sinks: how long reading may make no progress short of the end offsets seen
    /// at start before the run fails (`KCONNECT_BROKER_WAIT_MS`).
    pub once_stall: Duration,
    /// `--once`: how long the task's own system may stay unreachable (see `api::Outage`).
    pub dependency_wait: Option<Duration>,
    pub flush_interval: Duration,
    pub shutdown_timeout: Duration,
}

pub struct SourceClients {
    pub producer: BaseProducer<AckContext>,
    /// Only when the connector creates its topics (`topic.creation.*`).
    pub admin: Option<kafka::TopicAdmin>,
    /// Keyless records placed as the Java producer's sticky partitioner does, unless the
    /// settings chose another placement.
    pub sticky: Option<kafka::StickyPartitioner>,
    /// Records sent and not yet acknowledged, at most (producer queue.buffering.max.messages).
    pub in_flight_limit: usize,
}

pub struct SinkClients {
    pub consumer: BaseConsumer<ConnectionErrors>,
    pub topics: TopicSelection,
    /// `kconnect.sink.group.mode=subscribe`: the group gives the partitions.
    pub subscribe: bool,
}

/// How long a connection check serves a client's queued events (a zero-timeout poll serves
/// only one).
const EVENT_DRAIN: Duration = Duration::from_millis(100);

impl TaskPlan {
    pub fn source_setup(&self) -> Result<TaskSetup<SourceClients>, SetupError> {
        let cfg = &self.config;
        let pipeline = self.record_pipeline()?;
        let producer: BaseProducer<AckContext> = self.checked_producer(
            "producer",
            &format!("the producer of connector {}", cfg.name),
        )?;
        let admin = (self.worker.topic_creation_enabled() && kafka::topic_spec(cfg, "").is_some())
            .then(|| kafka::TopicAdmin::new(kafka::admin_config(&self.worker, Some(cfg))));
        let settings = kafka::producer_config(&self.worker, Some(cfg), "");
        let sticky = kafka::wants_sticky(&settings)
            .then(|| kafka::StickyPartitioner::new(kafka::JAVA_BATCH_SIZE));
        let in_flight_limit = kafka::in_flight_limit(&settings);
        self.setup(
            pipeline,
            SourceClients {
                producer,
                admin,
                sticky,
                in_flight_limit,
            },
        )
    }

    pub fn sink_setup(&self) -> Result<TaskSetup<SinkClients>, SetupError> {
        let cfg = &self.config;
        let pipeline = self.record_pipeline()?;
        let topics = TopicSelection::from_config(cfg)?;
        let config = kafka::consumer_config(&self.worker, cfg, &self.client_id("consumer"));
        let consumer: BaseConsumer<ConnectionErrors> = config
            .create_with_context(ConnectionErrors::default())
            .map_err(|e| kafka::setup_error(ClientRole::Consumer.settings(), e))?;
        check_client(
            consumer.client(),
            || {
                // Serves the log events that carry connection failures; nothing is assigned
                // yet, so no message can be lost here.
                let until = Instant::now() + EVENT_DRAIN;
                while Instant::now() < until {
                    let _ = consumer.poll(Duration::from_millis(10));
                }
            },
            ClientRole::Consumer,
            &format!("the consumer of connector {}", cfg.name),
            &config,
            &self.stop,
        )?;
        let subscribe = self.worker.sink_group_subscribe();
        self.setup(
            pipeline,
            SinkClients {
                consumer,
                topics,
                subscribe,
            },
        )
    }

    /// What every task does to each record: its converters and transform chain.
    fn record_pipeline(&self) -> Result<(TaskConverters, TransformationChain), SetupError> {
        let converters =
            converters::build(&self.worker, &self.config).map_err(SetupError::Converter)?;
        let chain = TransformationChain::from_config(&self.config.values)
            .map_err(SetupError::Transforms)?;
        Ok((converters, chain))
    }

    /// The rest of what every task is given: error policy and DLQ, the shared store and flags.
    fn setup<C>(
        &self,
        (converters, chain): (TaskConverters, TransformationChain),
        clients: C,
    ) -> Result<TaskSetup<C>, SetupError> {
        let cfg = &self.config;
        let policy = ErrorPolicy {
            conversion_wait: self.dependency_wait(),
            ..ErrorPolicy::from_config(cfg)
        };
        let dlq = self.dead_letter_queue(&policy)?;
        Ok(TaskSetup {
            connector: cfg.name.clone(),
            task_id: self.task_id,
            tasks: self.tasks,
            config: cfg.clone(),
            converters,
            chain,
            policy,
            dlq,
            clients,
            store: self.store.clone(),
            metrics: self.metrics.clone(),
            control: self.control.clone(),
            stop: self.stop.clone(),
            once: self.once,
            once_stall: self.broker_wait,
            dependency_wait: self.dependency_wait(),
            flush_interval: self.worker.offset_flush_interval(),
            shutdown_timeout: self.worker.shutdown_timeout(),
        })
    }

    /// `Some` only in a `--once` run: a long-running worker waits for as long as it takes.
    pub fn dependency_wait(&self) -> Option<Duration> {
        self.once.then(|| self.worker.once_dependency_timeout())
    }

    fn client_id(&self, role: &str) -> String {
        let prefix = self
            .worker
            .settings()
            .string("client.id")
            .unwrap_or_else(|| "kconnect".into());
        format!("{prefix}-{}-{}-{role}", self.config.name, self.task_id)
    }

    fn dead_letter_queue(
        &self,
        policy: &ErrorPolicy,
    ) -> Result<Option<DeadLetterQueue>, KafkaSetupError> {
        let cfg = &self.config;
        let Some(topic) = policy.dlq_topic.clone() else {
            return Ok(None);
        };
        let mut admin = kafka::TopicAdmin::new(kafka::admin_config(&self.worker, Some(cfg)));
        let spec = kafka::TopicSpec {
            partitions: 1,
            replication_factor: policy.dlq_replication_factor,
            configs: Vec::new(),
        };
        // A task restarted during an outage waits for the broker; stopping, the task starts
        // and sees the stop itself, as in check_client.
        kafka::ensure_topic_waiting(
            &mut admin,
            &topic,
            &spec,
            self.dependency_wait(),
            &self.stop,
            || true,
        )?;
        let producer: BaseProducer<DlqContext> = self.checked_producer(
            "dlq",
            &format!("the dead letter queue producer of connector {}", cfg.name),
        )?;
        Ok(Some(DeadLetterQueue::new(
            topic,
            producer,
            &cfg.name,
            self.task_id,
            policy.dlq_context_headers,
            self.metrics.clone(),
        )))
    }

    /// A producer with the connector's settings, checked to reach the brokers before the
    /// task starts (so bad TLS or credentials fail now, with the setting to change).
    fn checked_producer<C>(
        &self,
        suffix: &str,
        name: &str,
    ) -> Result<BaseProducer<C>, KafkaSetupError>
    where
        C: rdkafka::producer::ProducerContext + HasConnectionErrors + Default,
    {
        let config =
            kafka::producer_config(&self.worker, Some(&self.config), &self.client_id(suffix));
        let producer: BaseProducer<C> = config
            .create_with_context(C::default())
            .map_err(|e| kafka::setup_error(ClientRole::Producer.settings(), e))?;
        check_client(
            producer.client(),
            || producer.poll(EVENT_DRAIN),
            ClientRole::Producer,
            name,
            &config,
            &self.stop,
        )?;
        Ok(producer)
    }
}

/// A task's own client against the brokers before the task starts: its settings are not the
/// ones the worker checked at start-up.
fn check_client<C: ClientContext + HasConnectionErrors>(
    client: &Client<C>,
    serve_events: impl Fn(),
    role: ClientRole,
    name: &str,
    config: &ClientConfig,
    stop: &StopFlag,
) -> Result<(), KafkaSetupError> {
    let bootstrap = config.get("bootstrap.servers").unwrap_or_default();
    kafka::check_connection(
        client,
        serve_events,
        role,
        name,
        bootstrap,
        Duration::from_secs(10),
        stop,
    )
}
