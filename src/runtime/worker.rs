//! The standalone worker: loads and validates every connector, opens the offsets store, starts
//! one thread per task, and stops them all on SIGINT/SIGTERM or, with `--once`, when every
//! source has read all there is and every sink has caught up with the end offsets it saw at
//! start. Offsets are committed on every way out.

use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::kafka::{self, KafkaSetupError, Waited};
use super::metrics::{TaskMetrics, TaskState};
use super::offset_reader::StoreOffsetReader;
use super::progress::{Progress, TerminalProgress};
use super::setup::TaskPlan;
use super::sink::SinkRunner;
use super::source::SourceRunner;
use super::task_error::{SetupError, TaskError};
use super::TaskOutcome;
use crate::api::{Factory, SinkTaskContext, SourceTaskContext, StopFlag};
use crate::config::{ConnectorConfig, TargetState, WorkerConfig};
use crate::connectors;
use crate::offsets::{OffsetStore, StoreError};
use crate::runtime::validate::{load_and_validate, FileProblem};

pub struct RunOptions {
    pub paths: Vec<PathBuf>,
    pub worker: WorkerConfig,
    pub once: bool,
    /// How long to wait for the brokers before giving up (`--once`) or warning (daemon).
    pub broker_wait: Duration,
    /// `--deadline`: from start, when the worker stops as on SIGTERM and the run fails.
    pub deadline: Option<Duration>,
}

/// Why a run ended badly; `commands` turns each kind into its exit status.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("{} problem(s) in connector configuration:\n{}", .0.len(), .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Config(Vec<FileProblem>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Kafka(#[from] KafkaSetupError),
    #[error("{} connector task(s) failed:\n{}", .0.len(), .0.iter().map(|t| format!("  {t}")).collect::<Vec<_>>().join("\n"))]
    TasksFailed(Vec<FailedTask>),
    /// `--deadline` passed with tasks still running; they stopped as on SIGTERM.
    #[error("the --deadline of {secs} s passed before the run was done; stopped as on SIGTERM: in-flight records were delivered and offsets committed, and the next run goes on from there")]
    Deadline { secs: f64 },
}

/// A task that did not end well, for the run's summary.
#[derive(Debug)]
pub struct FailedTask {
    pub connector: String,
    pub task_id: usize,
    pub end: TaskEnd,
}

impl std::fmt::Display for FailedTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} task {}: {}", self.connector, self.task_id, self.end)
    }
}

#[derive(Debug)]
pub enum TaskEnd {
    Failed(TaskError),
    /// Still running past task.shutdown.graceful.timeout.ms; the worker exits without it.
    DidNotStop,
    Panicked,
}

impl std::fmt::Display for TaskEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TaskEnd::Failed(e) => f.write_str(&e.reason()),
            TaskEnd::DidNotStop => f.write_str("did not stop in time"),
            TaskEnd::Panicked => f.write_str("the task panicked"),
        }
    }
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

pub fn run(opts: RunOptions) -> Result<RunSummary, WorkerError> {
    let started = Instant::now();
    let report = load_and_validate(&opts.paths, &opts.worker);
    for w in &report.warnings {
        tracing::warn!("{w}");
    }
    if !report.ok() {
        return Err(WorkerError::Config(report.problems));
    }
    let store = Arc::new(OffsetStore::open(&opts.worker.offsets_dir)?);
    let stop = StopFlag::new();
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal while stopping exits at once.
        let _ = signal_hook::flag::register_conditional_shutdown(sig, 130, stop.inner());
        let _ = signal_hook::flag::register(sig, stop.inner());
    }
    if wait_for_broker(&opts, &stop)? == Waited::Stopped {
        tracing::info!("stopped while waiting for Kafka; nothing was started");
        return Ok(RunSummary::default());
    }
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
    let mut deadline_passed = false;
    let mut outage_probe = None;
    while tasks.iter().any(|t| !t.handle.is_finished()) {
        std::thread::sleep(Duration::from_millis(100));
        progress.tick();
        kafka::watch_outage(&opts.worker, &mut outage_probe);
        if let Some(d) = opts.deadline {
            if !deadline_passed && started.elapsed() >= d {
                deadline_passed = true;
                stop.stop();
            }
        }
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
        let end = if !t.handle.is_finished() {
            TaskEnd::DidNotStop
        } else {
            match t.handle.join() {
                Ok(TaskOutcome::Done) => continue,
                Ok(TaskOutcome::Failed(e)) => TaskEnd::Failed(e),
                Err(_) => TaskEnd::Panicked,
            }
        };
        failed.push(FailedTask {
            connector: t.connector,
            task_id: t.task_id,
            end,
        });
    }
    if !failed.is_empty() {
        return Err(WorkerError::TasksFailed(failed));
    }
    if let (true, Some(d)) = (deadline_passed, opts.deadline) {
        return Err(WorkerError::Deadline {
            secs: d.as_secs_f64(),
        });
    }
    tracing::info!(
        records = summary.records,
        "kconnect stopped; offsets committed"
    );
    Ok(summary)
}

/// Waits for the brokers: `--once` for at most `broker_wait`, a long-running worker until they
/// come (saying so once, then once a minute). `Stopped` when a signal came first.
fn wait_for_broker(opts: &RunOptions, stop: &StopFlag) -> Result<Waited, KafkaSetupError> {
    let limit = opts.once.then_some(opts.broker_wait);
    kafka::wait_for_broker(&opts.worker, limit, stop, kafka::outage(&opts.worker))
}

fn start_connector(
    cfg: &ConnectorConfig,
    opts: &RunOptions,
    store: &Arc<OffsetStore>,
    stop: &StopFlag,
) -> Result<Vec<RunningTask>, WorkerError> {
    let plugin = connectors::find(cfg.class()).expect("validated");
    let n = match plugin.max_tasks {
        Some(max) => cfg.tasks_max().min(max),
        None => cfg.tasks_max(),
    };
    let mut out = Vec::new();
    for task_id in 0..n {
        let metrics = Arc::new(TaskMetrics::default());
        metrics.set_state(TaskState::Unassigned);
        let plan = TaskPlan {
            config: cfg.clone(),
            task_id,
            tasks: n,
            worker: opts.worker.clone(),
            store: store.clone(),
            stop: stop.clone(),
            once: opts.once,
            broker_wait: opts.broker_wait,
            metrics: metrics.clone(),
        };
        let factory = plugin.factory;
        let handle = std::thread::Builder::new()
            .name(format!("{}-{task_id}", cfg.name))
            .spawn(move || {
                let outcome = match factory {
                    Factory::Source(f) => start_source(f, &plan),
                    Factory::Sink(f) => start_sink(f, &plan),
                };
                let outcome = outcome.unwrap_or_else(TaskOutcome::Failed);
                if let TaskOutcome::Failed(e) = &outcome {
                    plan.metrics.set_state(TaskState::Failed);
                    // A `--once` run ends with the failure in its summary: one message.
                    if !plan.once {
                        tracing::error!(connector = %plan.config.name, task = task_id, "task FAILED: {}", e.reason());
                    }
                }
                outcome
            })
            .expect("spawning a task thread");
        out.push(RunningTask {
            connector: cfg.name.clone(),
            task_id,
            metrics,
            handle,
        });
    }
    Ok(out)
}

fn start_source(
    factory: crate::api::SourceFactory,
    plan: &TaskPlan,
) -> Result<TaskOutcome, TaskError> {
    let setup = plan.source_setup()?;
    let ctx = SourceTaskContext {
        connector: setup.connector.clone(),
        task_id: setup.task_id,
        config: setup.config.values.clone(),
        once: setup.once,
        offsets: Arc::new(StoreOffsetReader::new(
            setup.store.clone(),
            setup.connector.clone(),
        )),
        progress: Arc::new(TerminalProgress),
        stop: setup.stop.clone(),
        dependency_wait: setup.dependency_wait,
        metrics: setup.metrics.plugin.clone(),
    };
    let task = factory(ctx).map_err(SetupError::Connector)?;
    Ok(SourceRunner::new(setup, task).run())
}

fn start_sink(factory: crate::api::SinkFactory, plan: &TaskPlan) -> Result<TaskOutcome, TaskError> {
    let setup = plan.sink_setup()?;
    let errant = crate::api::ErrantRecordReporter::default();
    let ctx = SinkTaskContext {
        connector: setup.connector.clone(),
        task_id: setup.task_id,
        config: setup.config.values.clone(),
        stop: setup.stop.clone(),
        errant: errant.clone(),
        dependency_wait: setup.dependency_wait,
        metrics: setup.metrics.plugin.clone(),
    };
    let task = factory(ctx).map_err(SetupError::Connector)?;
    Ok(SinkRunner::new(setup, task, errant).run())
}
