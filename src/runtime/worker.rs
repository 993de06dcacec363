//! The standalone worker: loads and validates every connector, opens the offsets store, starts
//! one thread per task, and stops them all on SIGINT/SIGTERM or, with `--once`, when every
//! source has read all there is and every sink has caught up with the end offsets it saw at
//! start. Offsets are committed on every way out.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::herder::{ConnectorFiles, Herder, TaskEnv, Wakeup};
use super::kafka::{self, KafkaSetupError, Waited};
use super::progress::Progress;
use super::rest::{RestError, RestServer};
use super::systemd::{self, Notifier};
use super::task_error::TaskError;
use crate::api::StopFlag;
use crate::config::WorkerConfig;
use crate::offsets::{OffsetStore, StoreError};
use crate::runtime::validate::{load_and_validate, load_and_validate_maybe_empty, FileProblem};

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
    #[error(transparent)]
    Rest(#[from] RestError),
    #[error("{} connector task(s) failed:\n{}", .0.len(), .0.iter().map(|t| format!("  {t}")).collect::<Vec<_>>().join("\n"))]
    TasksFailed(Vec<FailedTask>),
    /// Sharing partitions through the group has no end a `--once` run could wait for.
    #[error("kconnect.sink.group.mode=subscribe shares sink partitions with other kconnect processes through each connector's consumer group, which a --once run cannot do (it reads up to the end offsets of the partitions it holds at start); run without --once, or set kconnect.sink.group.mode=assign")]
    OnceSubscribe,
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

pub fn run(opts: RunOptions) -> Result<RunSummary, WorkerError> {
    if opts.once && opts.worker.sink_group_subscribe() {
        return Err(WorkerError::OnceSubscribe);
    }
    let started = Instant::now();
    // A long-running worker may start with no connector yet: the REST API adds them.
    let report = if opts.once {
        load_and_validate(&opts.paths, &opts.worker)
    } else {
        load_and_validate_maybe_empty(&opts.paths, &opts.worker)
    };
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
    // SIGHUP reloads the connector files; it never ends the process.
    let hup = Arc::new(AtomicBool::new(false));
    let _ = signal_hook::flag::register(signal_hook::consts::SIGHUP, hup.clone());
    let files = ConnectorFiles::new(opts.worker.connectors_dir(), &opts.paths);
    let mut reload_paths = opts.paths.clone();
    if let Some(dir) = files.dir() {
        if !reload_paths.iter().any(|p| p == dir) {
            reload_paths.push(dir.to_path_buf());
        }
    }
    let ended = Wakeup::default();
    let herder = Arc::new(Herder::new(
        TaskEnv {
            worker: opts.worker.clone(),
            store: store.clone(),
            once: opts.once,
            broker_wait: opts.broker_wait,
            starts: Default::default(),
            ended: ended.clone(),
        },
        files,
    ));
    // The REST API comes up before anything runs, so that a port in use fails the start;
    // a `--once` run serves it only when the worker config asks for it.
    let rest = if !opts.once || opts.worker.values.contains_key("listeners") {
        RestServer::start(&opts.worker, herder.clone())?
    } else {
        None
    };
    if let Some(r) = &rest {
        herder.set_worker_id(r.advertised().worker_id());
    }
    let loaded = herder.load(report.connectors);
    if let Some(r) = &rest {
        r.open();
    }
    if wait_for_broker(&opts, &stop)? == Waited::Stopped {
        tracing::info!("stopped while waiting for Kafka; nothing was started");
        return Ok(RunSummary::default());
    }
    herder.start(&loaded);
    let mut progress = Progress::new();
    for (name, is_sink, metrics) in herder.task_metrics() {
        progress.add(&name, is_sink, metrics);
    }
    let counts = herder.counts();
    tracing::info!(
        connectors = counts.connectors,
        tasks = counts.tasks,
        startup_ms = started.elapsed().as_millis() as u64,
        "kconnect started"
    );

    // Supervise: redraw progress, start what waits for stopped tasks, and once a stop is
    // requested give tasks the graceful shutdown time (plus the store commit) before giving
    // up on them.
    let grace = opts.worker.shutdown_timeout() + Duration::from_secs(5);
    let mut systemd = Systemd::new();
    let mut stop_seen: Option<Instant> = None;
    let mut deadline_passed = false;
    let mut outage_probe = None;
    let mut store_failure = None;
    let mut period = SUPERVISE_EVERY;
    loop {
        // A task thread says it ended just before it has: look again soon after.
        period = if ended.wait(period) {
            Duration::from_millis(2)
        } else {
            SUPERVISE_EVERY
        };
        herder.tick();
        progress.tick();
        kafka::watch_outage(&opts.worker, &mut outage_probe);
        if hup.swap(false, Ordering::SeqCst) {
            if opts.once || stop_seen.is_some() {
                tracing::info!("SIGHUP ignored: a --once run or a stopping worker does not reload its connector files");
            } else {
                systemd.reloading();
                herder.reload(&reload_paths);
                systemd.reloaded();
            }
        }
        systemd.tick(&herder, stop_seen.is_some());
        if let Some(d) = opts.deadline {
            if !deadline_passed && started.elapsed() >= d {
                deadline_passed = true;
                stop.stop();
            }
        }
        if store_failure.is_none() {
            // No task can commit what it delivers any more: stop them all, as on SIGTERM
            // (their last commits fail too, so the store keeps what it had).
            store_failure = store.write_failure();
            if let Some(e) = &store_failure {
                tracing::error!("{e}; stopping the worker");
                stop.stop();
            }
        }
        if stop.is_stopped() && stop_seen.is_none() {
            tracing::info!("stopping: delivering in-flight records and committing offsets");
            systemd.stopping();
            herder.shutdown();
            stop_seen = Some(Instant::now());
        }
        // `--once` ends when every task has; a long-running worker when told to stop.
        if herder.idle() && (opts.once || stop_seen.is_some()) {
            break;
        }
        if let Some(t) = stop_seen {
            if t.elapsed() > grace {
                tracing::error!("tasks did not stop within task.shutdown.graceful.timeout.ms; exiting without them");
                break;
            }
        }
    }
    progress.finish();
    if let Some(r) = rest {
        r.stop();
    }
    let (records, tasks, failed) = herder.finish();
    let summary = RunSummary {
        connectors: counts.connectors,
        tasks,
        records,
    };
    if let Some(e) = store_failure {
        return Err(WorkerError::Store(e));
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

/// What the supervision loop tells systemd (`Type=notify`): READY once every task has
/// started, a STATUS line when the counts change, the watchdog's heartbeat from the loop
/// itself (a hung loop stops it, and systemd restarts the service), RELOADING and STOPPING.
struct Systemd {
    notifier: Notifier,
    ready: bool,
    status: String,
    last_status: Instant,
    last_watchdog: Instant,
}

impl Systemd {
    fn new() -> Systemd {
        Systemd {
            notifier: Notifier::from_env(),
            ready: false,
            status: String::new(),
            last_status: Instant::now(),
            last_watchdog: Instant::now(),
        }
    }

    fn say(&self, result: Result<(), systemd::NotifyError>) {
        if let Err(e) = result {
            tracing::debug!("systemd notification not delivered: {e}");
        }
    }

    fn tick(&mut self, herder: &Herder, stopping: bool) {
        if !self.notifier.enabled() {
            return;
        }
        if let Some(every) = self.notifier.watchdog_interval() {
            if self.last_watchdog.elapsed() >= every {
                self.say(self.notifier.watchdog());
                self.last_watchdog = Instant::now();
            }
        }
        if stopping {
            return;
        }
        if !self.ready && herder.all_started() {
            self.ready = true;
            self.say(self.notifier.ready());
            self.last_status = Instant::now()
                .checked_sub(STATUS_EVERY)
                .unwrap_or_else(Instant::now);
        }
        if self.last_status.elapsed() >= STATUS_EVERY {
            self.last_status = Instant::now();
            let line = systemd::status_line(&herder.statuses());
            if line != self.status {
                self.say(self.notifier.status(&line));
                self.status = line;
            }
        }
    }

    fn reloading(&mut self) {
        self.say(self.notifier.reloading());
    }

    fn reloaded(&mut self) {
        self.say(self.notifier.ready());
        self.last_status = Instant::now()
            .checked_sub(STATUS_EVERY)
            .unwrap_or_else(Instant::now);
    }

    fn stopping(&mut self) {
        self.say(self.notifier.stopping());
    }
}

/// How often the STATUS line is brought up to date (sent only when it changed).
const STATUS_EVERY: Duration = Duration::from_secs(1);

/// The supervision loop's period (progress, restarts, reloads, signals), unless a task
/// thread's end wakes it sooner.
const SUPERVISE_EVERY: Duration = Duration::from_millis(100);

/// Waits for the brokers: `--once` for at most `broker_wait`, a long-running worker until they
/// come (saying so once, then once a minute). `Stopped` when a signal came first.
fn wait_for_broker(opts: &RunOptions, stop: &StopFlag) -> Result<Waited, KafkaSetupError> {
    let limit = opts.once.then_some(opts.broker_wait);
    kafka::wait_for_broker(&opts.worker, limit, stop, kafka::outage(&opts.worker))
}
