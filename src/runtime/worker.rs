//! The standalone worker: loads and validates every connector, opens the offsets store, starts
//! one thread per task, and stops them all on SIGINT/SIGTERM or, with `--once`, when every
//! source has read all there is and every sink has caught up with the end offsets it saw at
//! start. Offsets are committed on every way out.

use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::admin::AdminClient;
use rdkafka::client::{Client, ClientContext, DefaultClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, Producer};

use super::converters;
use super::kafka::{self, ClientRole, ConnectionErrors, HasConnectionErrors, KafkaSetupError};
use super::metrics::{TaskMetrics, TaskState};
use super::offset_reader::StoreOffsetReader;
use super::progress::{Progress, TerminalProgress};
use super::sink::{SinkRunner, TopicSelection};
use super::source::{AckContext, SourceRunner};
use super::TaskOutcome;
use crate::api::{Factory, SinkTaskContext, SourceTaskContext, StopFlag};
use crate::config::{ConnectorConfig, TargetState, WorkerConfig};
use crate::connectors;
use crate::offsets::{OffsetStore, StoreError};
use crate::runtime::errors::dlq::{DeadLetterQueue, DlqContext};
use crate::runtime::errors::ErrorPolicy;
use crate::runtime::validate::{load_and_validate, FileProblem};
use crate::transform::TransformationChain;

pub struct RunOptions {
    pub paths: Vec<PathBuf>,
    pub worker: WorkerConfig,
    pub once: bool,
    /// How long to wait for the brokers before giving up (`--once`) or warning (daemon).
    pub broker_wait: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{} problem(s) in connector configuration:\n{}", .0.len(), .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Config(Vec<FileProblem>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Kafka(#[from] KafkaSetupError),
    #[error("{} connector task(s) failed:\n{}", .0.len(), .0.iter().map(|(c, t, r)| format!("  {c} task {t}: {r}")).collect::<Vec<_>>().join("\n"))]
    TasksFailed(Vec<(String, usize, String)>),
}

#[derive(Debug, Default)]
pub struct RunSummary {
    pub connectors: usize,
    pub tasks: usize,
    pub records: u64,
}

struct RunningTask {
    connector: String,
    task_id: usize,
    metrics: Arc<TaskMetrics>,
    handle: JoinHandle<TaskOutcome>,
}

pub fn run(opts: RunOptions) -> Result<RunSummary, RunError> {
    let started = Instant::now();
    let report = load_and_validate(&opts.paths, &opts.worker);
    for w in &report.warnings {
        tracing::warn!("{w}");
    }
    if !report.ok() {
        return Err(RunError::Config(report.problems));
    }
    let store = Arc::new(OffsetStore::open(&opts.worker.offsets_dir)?);
    let stop = StopFlag::new();
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal while stopping exits at once.
        let _ = signal_hook::flag::register_conditional_shutdown(sig, 130, stop.inner());
        let _ = signal_hook::flag::register(sig, stop.inner());
    }
    wait_for_broker(&opts, &stop)?;
    let mut tasks = Vec::new();
    let mut progress = Progress::new();
    let mut summary = RunSummary::default();
    for cfg in &report.connectors {
        match cfg.initial_state {
            TargetState::Running => {}
            other => {
                tracing::info!(connector = %cfg.name, state = %other, "not started: initial_state is {other}");
                continue;
            }
        }
        let started_tasks = start_connector(cfg, &opts, &store, &stop)?;
        summary.connectors += 1;
        let plugin = connectors::find(cfg.class()).expect("validated");
        progress.add(
            &cfg.name,
            !plugin.is_source(),
            started_tasks.iter().map(|t| t.metrics.clone()).collect(),
        );
        tasks.extend(started_tasks);
    }
    summary.tasks = tasks.len();
    tracing::info!(
        connectors = summary.connectors,
        tasks = summary.tasks,
        startup_ms = started.elapsed().as_millis() as u64,
        "kconnect started"
    );

    // Supervise: redraw progress, and once a stop is requested give tasks the graceful
    // shutdown time (plus the store commit) before giving up on them.
    let grace = opts.worker.shutdown_timeout() + Duration::from_secs(5);
    let mut stop_seen: Option<Instant> = None;
    while tasks.iter().any(|t| !t.handle.is_finished()) {
        std::thread::sleep(Duration::from_millis(100));
        progress.tick();
        if stop.is_stopped() && stop_seen.is_none() {
            tracing::info!("stopping: delivering in-flight records and committing offsets");
            stop_seen = Some(Instant::now());
        }
        if let Some(t) = stop_seen {
            if t.elapsed() > grace {
                tracing::error!("tasks did not stop within task.shutdown.graceful.timeout.ms; exiting without them");
                break;
            }
        }
    }
    progress.finish();
    let mut failed = Vec::new();
    for t in tasks {
        summary.records += t.metrics.records();
        if !t.handle.is_finished() {
            failed.push((t.connector, t.task_id, "did not stop in time".to_string()));
            continue;
        }
        match t.handle.join() {
            Ok(TaskOutcome::Done) => {}
            Ok(TaskOutcome::Failed(reason)) => failed.push((t.connector, t.task_id, reason)),
            Err(_) => failed.push((t.connector, t.task_id, "the task panicked".to_string())),
        }
    }
    if !failed.is_empty() {
        return Err(RunError::TasksFailed(failed));
    }
    tracing::info!(
        records = summary.records,
        "kconnect stopped; offsets committed"
    );
    Ok(summary)
}

fn wait_for_broker(opts: &RunOptions, stop: &StopFlag) -> Result<(), KafkaSetupError> {
    loop {
        match kafka::wait_for_broker(&opts.worker, opts.broker_wait) {
            Ok(()) => return Ok(()),
            Err(e) if opts.once || stop.is_stopped() => return Err(e),
            Err(e) => {
                tracing::warn!("{e}; still trying");
                // A certificate or login failure returns at once; do not spin on it.
                crate::api::sleep_unless_stopped(stop, Duration::from_secs(5));
            }
        }
    }
}

fn start_connector(
    cfg: &ConnectorConfig,
    opts: &RunOptions,
    store: &Arc<OffsetStore>,
    stop: &StopFlag,
) -> Result<Vec<RunningTask>, RunError> {
    let plugin = connectors::find(cfg.class()).expect("validated");
    let n = match plugin.max_tasks {
        Some(max) => cfg.tasks_max().min(max),
        None => cfg.tasks_max(),
    };
    let mut out = Vec::new();
    for task_id in 0..n {
        let metrics = Arc::new(TaskMetrics::default());
        metrics.set_state(TaskState::Unassigned);
        let cfg = cfg.clone();
        let connector = cfg.name.clone();
        let worker = opts.worker.clone();
        let store = store.clone();
        let stop = stop.clone();
        let once = opts.once;
        let broker_wait = opts.broker_wait;
        let m = metrics.clone();
        let factory = plugin.factory;
        let handle = std::thread::Builder::new()
            .name(format!("{}-{task_id}", cfg.name))
            .spawn(move || {
                let outcome = match factory {
                    Factory::Source(f) => start_source(
                        f,
                        cfg.clone(),
                        task_id,
                        &worker,
                        store,
                        stop,
                        once,
                        m.clone(),
                    ),
                    Factory::Sink(f) => start_sink(
                        f,
                        cfg.clone(),
                        task_id,
                        n,
                        &worker,
                        store,
                        stop,
                        once,
                        broker_wait,
                        m.clone(),
                    ),
                };
                let outcome = outcome.unwrap_or_else(TaskOutcome::Failed);
                if let TaskOutcome::Failed(reason) = &outcome {
                    m.set_state(TaskState::Failed);
                    tracing::error!(connector = %cfg.name, task = task_id, "task failed: {reason}");
                }
                outcome
            })
            .expect("spawning a task thread");
        out.push(RunningTask {
            connector,
            task_id,
            metrics,
            handle,
        });
    }
    Ok(out)
}

fn client_id(worker: &WorkerConfig, cfg: &ConnectorConfig, task_id: usize, role: &str) -> String {
    let prefix = worker
        .settings()
        .string("client.id")
        .unwrap_or_else(|| "kconnect".into());
    format!("{prefix}-{}-{task_id}-{role}", cfg.name)
}

fn make_dlq(
    worker: &WorkerConfig,
    cfg: &ConnectorConfig,
    task_id: usize,
) -> Result<Option<DeadLetterQueue>, String> {
    let policy = ErrorPolicy::from_config(cfg);
    let Some(topic) = policy.dlq_topic.clone() else {
        return Ok(None);
    };
    let admin: AdminClient<DefaultClientContext> = kafka::admin_config(worker, Some(cfg))
        .create()
        .map_err(|e| kafka::setup_error(ClientRole::Admin.settings(), e).to_string())?;
    let spec = kafka::TopicSpec {
        partitions: 1,
        replication_factor: policy.dlq_replication_factor,
        configs: Vec::new(),
    };
    kafka::ensure_topic(&admin, &topic, &spec).map_err(|e| e.to_string())?;
    let producer: BaseProducer<DlqContext> = checked_producer(
        worker,
        cfg,
        task_id,
        "dlq",
        &format!("the dead letter queue producer of connector {}", cfg.name),
    )?;
    Ok(Some(DeadLetterQueue::new(
        topic,
        producer,
        &cfg.name,
        task_id,
        policy.dlq_context_headers,
    )))
}

/// How long a connection check serves a client's queued events (a zero-timeout poll serves
/// only one).
const EVENT_DRAIN: Duration = Duration::from_millis(100);

/// A task's own client against the brokers before the task starts: its settings are not the
/// ones the worker checked at start-up.
/// A producer with the connector's settings, checked to reach the brokers before the task
/// starts (so bad TLS or credentials fail now, with the setting to change).
fn checked_producer<C>(
    worker: &WorkerConfig,
    cfg: &ConnectorConfig,
    task_id: usize,
    suffix: &str,
    name: &str,
) -> Result<BaseProducer<C>, String>
where
    C: rdkafka::producer::ProducerContext + HasConnectionErrors + Default,
{
    let config =
        kafka::producer_config(worker, Some(cfg), &client_id(worker, cfg, task_id, suffix));
    let producer: BaseProducer<C> = config
        .create_with_context(C::default())
        .map_err(|e| kafka::setup_error(ClientRole::Producer.settings(), e).to_string())?;
    check_client(
        producer.client(),
        || producer.poll(EVENT_DRAIN),
        ClientRole::Producer,
        name,
        &config,
    )?;
    Ok(producer)
}

fn check_client<C: ClientContext + HasConnectionErrors>(
    client: &Client<C>,
    serve_events: impl Fn(),
    role: ClientRole,
    name: &str,
    config: &ClientConfig,
) -> Result<(), String> {
    let bootstrap = config.get("bootstrap.servers").unwrap_or_default();
    kafka::check_connection(
        client,
        serve_events,
        role,
        name,
        bootstrap,
        Duration::from_secs(10),
    )
    .map_err(|e| e.to_string())
}

/// The worker-owned part of every task: its converters and transform chain.
fn record_pipeline(
    worker: &WorkerConfig,
    cfg: &ConnectorConfig,
) -> Result<(converters::TaskConverters, TransformationChain), String> {
    let converters =
        converters::build(worker, cfg).map_err(|p| format!("{}: {}", p.key, p.message))?;
    let chain = TransformationChain::from_config(&cfg.values).map_err(|ps| {
        ps.into_iter()
            .map(|p| format!("{}: {}", p.key, p.message))
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    Ok((converters, chain))
}

#[allow(clippy::too_many_arguments)]
fn start_source(
    factory: crate::api::SourceFactory,
    cfg: ConnectorConfig,
    task_id: usize,
    worker: &WorkerConfig,
    store: Arc<OffsetStore>,
    stop: StopFlag,
    once: bool,
    metrics: Arc<TaskMetrics>,
) -> Result<TaskOutcome, String> {
    let (converters, chain) = record_pipeline(worker, &cfg)?;
    let producer: BaseProducer<AckContext> = checked_producer(
        worker,
        &cfg,
        task_id,
        "producer",
        &format!("the producer of connector {}", cfg.name),
    )?;
    let admin = if worker.topic_creation_enabled() && kafka::topic_spec(&cfg, "").is_some() {
        Some(
            kafka::admin_config(worker, Some(&cfg))
                .create()
                .map_err(|e| kafka::setup_error(ClientRole::Admin.settings(), e).to_string())?,
        )
    } else {
        None
    };
    let dlq = make_dlq(worker, &cfg, task_id)?;
    let ctx = SourceTaskContext {
        connector: cfg.name.clone(),
        task_id,
        config: cfg.values.clone(),
        once,
        offsets: Arc::new(StoreOffsetReader::new(store.clone(), cfg.name.clone())),
        progress: Arc::new(TerminalProgress),
        stop: stop.clone(),
    };
    let task = factory(ctx).map_err(|e| e.to_string())?;
    let runner = SourceRunner::new(
        cfg.name.clone(),
        task_id,
        cfg,
        task,
        chain,
        converters,
        producer,
        admin,
        store,
        dlq,
        metrics,
        stop,
        once,
        worker.offset_flush_interval(),
        worker.shutdown_timeout(),
    );
    Ok(runner.run())
}

#[allow(clippy::too_many_arguments)]
fn start_sink(
    factory: crate::api::SinkFactory,
    cfg: ConnectorConfig,
    task_id: usize,
    tasks: usize,
    worker: &WorkerConfig,
    store: Arc<OffsetStore>,
    stop: StopFlag,
    once: bool,
    broker_wait: Duration,
    metrics: Arc<TaskMetrics>,
) -> Result<TaskOutcome, String> {
    let (converters, chain) = record_pipeline(worker, &cfg)?;
    let topics = TopicSelection::from_config(&cfg)?;
    let config =
        kafka::consumer_config(worker, &cfg, &client_id(worker, &cfg, task_id, "consumer"));
    let consumer: BaseConsumer<ConnectionErrors> = config
        .create_with_context(ConnectionErrors::default())
        .map_err(|e| kafka::setup_error(ClientRole::Consumer.settings(), e).to_string())?;
    check_client(
        consumer.client(),
        || {
            // Serves the log events that carry connection failures; nothing is assigned yet,
            // so no message can be lost here.
            let until = Instant::now() + EVENT_DRAIN;
            while Instant::now() < until {
                let _ = consumer.poll(Duration::from_millis(10));
            }
        },
        ClientRole::Consumer,
        &format!("the consumer of connector {}", cfg.name),
        &config,
    )?;
    let dlq = make_dlq(worker, &cfg, task_id)?;
    let errant = crate::api::ErrantRecordReporter::default();
    let ctx = SinkTaskContext {
        connector: cfg.name.clone(),
        task_id,
        config: cfg.values.clone(),
        stop: stop.clone(),
        errant: errant.clone(),
    };

    let task = factory(ctx).map_err(|e| e.to_string())?;
    let runner = SinkRunner::new(
        cfg.name.clone(),
        task_id,
        tasks,
        cfg,
        task,
        chain,
        converters,
        consumer,
        store,
        dlq,
        metrics,
        stop,
        once,
        broker_wait,
        worker.offset_flush_interval(),
        worker.shutdown_timeout(),
        topics,
        errant,
    );
    Ok(runner.run())
}
