//! Per-task counters: read by the progress display and the final summary, and served as
//! Connect's task MBeans (`connector-task-metrics`, `source-task-metrics`,
//! `sink-task-metrics`, `task-error-metrics`) in Prometheus text by [`prometheus::render`].
//!
//! The task loops update them once per batch or per event (a commit, a failure) with relaxed
//! atomics: nothing here allocates or locks on a record's path. `docs/metrics.md` lists what
//! each one means and how it differs from Connect's.

pub mod prometheus;
mod window;
mod worker;

use std::sync::atomic::{AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::api::MetricsRegistry;
pub use window::{Combined, Windowed, WINDOW};
pub use worker::WorkerMetrics;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum TaskState {
    Unassigned = 0,
    Running = 1,
    Paused = 2,
    Stopped = 3,
    Failed = 4,
}

impl TaskState {
    pub fn name(self) -> &'static str {
        match self {
            TaskState::Unassigned => "UNASSIGNED",
            TaskState::Running => "RUNNING",
            TaskState::Paused => "PAUSED",
            TaskState::Stopped => "STOPPED",
            TaskState::Failed => "FAILED",
        }
    }
}

/// How long a task has spent running and paused, for `running-ratio` and `pause-ratio`.
#[derive(Debug)]
struct StateClock {
    since_ms: u64,
    state: TaskState,
    running_ms: u64,
    paused_ms: u64,
    started_ms: u64,
}

impl StateClock {
    fn new() -> StateClock {
        let now = window::clock_ms();
        StateClock {
            since_ms: now,
            state: TaskState::Unassigned,
            running_ms: 0,
            paused_ms: 0,
            started_ms: now,
        }
    }

    /// Running and paused milliseconds up to `now`, and the whole life.
    fn totals(&self, now: u64) -> (u64, u64, u64) {
        let current = now.saturating_sub(self.since_ms);
        let (mut running, mut paused) = (self.running_ms, self.paused_ms);
        match self.state {
            TaskState::Running => running += current,
            TaskState::Paused => paused += current,
            _ => {}
        }
        (running, paused, now.saturating_sub(self.started_ms))
    }
}

/// A sink's offset commit counters (`offset-commit-seq-no`, `-completion-total`,
/// `-skip-total` in Connect's sink-task metrics).
#[derive(Debug, Default)]
pub struct CommitCounters {
    /// Commits attempted (Connect's sequence number of the last one).
    pub seq: AtomicU64,
    /// Commits that completed.
    pub completed: AtomicU64,
}

/// What went wrong with records (Connect's `task-error-metrics`).
#[derive(Debug, Default)]
pub struct ErrorCounters {
    /// Records that failed in a converter, a transform, the producer or the task's put.
    pub record_errors: AtomicU64,
    /// Failed attempts, retries included (kconnect does not retry records; see the docs).
    pub record_failures: AtomicU64,
    pub errors_logged: AtomicU64,
    pub dlq_requests: AtomicU64,
    pub dlq_failures: AtomicU64,
    /// Milliseconds since the epoch of the last error, 0 for none.
    pub last_error_ms: AtomicI64,
}

#[derive(Debug)]
pub struct TaskMetrics {
    /// Records written to Kafka (sources: acknowledged) or handed to the task (sinks).
    pub records: AtomicU64,
    /// Records skipped because of an error (tolerated).
    pub skipped: AtomicU64,
    /// Successful offset commits.
    pub committed: AtomicU64,
    /// Sinks: records between the consumer's position and the end of its partitions.
    pub lag: AtomicI64,
    state: AtomicU8,
    clock: Mutex<StateClock>,
    /// Offset commit durations (µs); failed commits count in `commit_outcome` only.
    pub commit_time: Windowed,
    /// 1 per successful commit attempt, 0 per failed one.
    pub commit_outcome: Windowed,
    /// Records per batch: polled (sources) or put (sinks).
    pub batch_size: Windowed,
    /// Sources: records returned by `poll`, before transforms.
    pub polled: AtomicU64,
    /// Sources: records per batch polled / acknowledged, for the rates.
    pub polled_window: Windowed,
    pub written_window: Windowed,
    /// Time in `poll` (sources) or `put` (sinks), µs per call that returned records.
    pub task_time: Windowed,
    /// Records polled or read but not yet written or committed, now and per batch.
    pub active: AtomicI64,
    pub active_window: Windowed,
    /// Sinks: messages consumed from Kafka, before conversion and transforms.
    pub read: AtomicU64,
    pub read_window: Windowed,
    /// Sinks: records put, per batch, for the send rate.
    pub sent_window: Windowed,
    /// Sinks: the largest lag of one partition.
    pub lag_max: AtomicI64,
    /// Sinks: partitions assigned.
    pub partitions: AtomicI64,
    pub commits: CommitCounters,
    pub errors: ErrorCounters,
    /// The connector's own metrics (Debezium's), registered by the task through its context.
    pub plugin: MetricsRegistry,
}

impl Default for TaskMetrics {
    fn default() -> TaskMetrics {
        TaskMetrics {
            records: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            committed: AtomicU64::new(0),
            lag: AtomicI64::new(0),
            state: AtomicU8::new(TaskState::Unassigned as u8),
            clock: Mutex::new(StateClock::new()),
            commit_time: Windowed::default(),
            commit_outcome: Windowed::default(),
            batch_size: Windowed::default(),
            polled: AtomicU64::new(0),
            polled_window: Windowed::default(),
            written_window: Windowed::default(),
            task_time: Windowed::default(),
            active: AtomicI64::new(0),
            active_window: Windowed::default(),
            read: AtomicU64::new(0),
            read_window: Windowed::default(),
            sent_window: Windowed::default(),
            lag_max: AtomicI64::new(0),
            partitions: AtomicI64::new(0),
            commits: CommitCounters::default(),
            errors: ErrorCounters::default(),
            plugin: MetricsRegistry::new(),
        }
    }
}

fn micros(d: Duration) -> u64 {
    d.as_micros().min(u128::from(u64::MAX)) as u64
}

impl TaskMetrics {
    pub fn add_records(&self, n: u64) {
        self.records.fetch_add(n, Ordering::Relaxed);
    }
    pub fn records(&self) -> u64 {
        self.records.load(Ordering::Relaxed)
    }

    /// Changes state; the time spent in the old one counts toward the ratios. Rare (start,
    /// pause, stop), so a lock is fine here.
    pub fn set_state(&self, s: TaskState) {
        let now = window::clock_ms();
        let mut clock = self.clock.lock().expect("state clock lock");
        let (running, paused, _) = clock.totals(now);
        clock.running_ms = running;
        clock.paused_ms = paused;
        clock.since_ms = now;
        clock.state = s;
        self.state.store(s as u8, Ordering::SeqCst);
    }

    pub fn state(&self) -> TaskState {
        match self.state.load(Ordering::SeqCst) {
            1 => TaskState::Running,
            2 => TaskState::Paused,
            3 => TaskState::Stopped,
            4 => TaskState::Failed,
            _ => TaskState::Unassigned,
        }
    }

    /// Fractions of the task's life spent running and paused (`running-ratio`,
    /// `pause-ratio`).
    pub fn ratios(&self) -> (f64, f64) {
        self.ratios_at(window::clock_ms())
    }

    fn ratios_at(&self, now: u64) -> (f64, f64) {
        let clock = self.clock.lock().expect("state clock lock");
        let (running, paused, life) = clock.totals(now);
        if life == 0 {
            return (0.0, 0.0);
        }
        (running as f64 / life as f64, paused as f64 / life as f64)
    }

    /// A source's `poll` returned `n` records after `took`, with `active` records in flight.
    pub fn source_polled(&self, n: usize, took: Duration, active: usize) {
        self.polled.fetch_add(n as u64, Ordering::Relaxed);
        self.polled_window.record(n as u64);
        self.batch_size.record(n as u64);
        self.task_time.record(micros(took));
        self.set_active(active);
    }

    /// Kafka acknowledged `n` records of a source; `in_flight` are still waiting.
    pub fn source_acked(&self, n: u64, in_flight: usize) {
        if n > 0 {
            self.add_records(n);
            self.written_window.record(n);
        }
        self.active.store(in_flight as i64, Ordering::Relaxed);
    }

    /// A sink read `read` messages into a batch of `batch` records.
    pub fn sink_read(&self, read: usize) {
        self.read.fetch_add(read as u64, Ordering::Relaxed);
        self.read_window.record(read as u64);
    }

    /// A sink's `put` of `n` records returned after `took`.
    pub fn sink_put(&self, n: usize, took: Duration) {
        self.add_records(n as u64);
        self.sent_window.record(n as u64);
        self.batch_size.record(n as u64);
        self.task_time.record(micros(took));
    }

    /// Records polled or read and not yet written or committed.
    pub fn set_active(&self, n: usize) {
        self.active.store(n as i64, Ordering::Relaxed);
        self.active_window.record(n as u64);
    }

    /// An offset commit attempt ended.
    pub fn commit_done(&self, ok: bool, took: Duration) {
        self.commit_outcome.record(u64::from(ok));
        if ok {
            self.committed.fetch_add(1, Ordering::Relaxed);
            self.commit_time.record(micros(took));
        }
    }

    /// A record failed in a stage; `skipped` when `errors.tolerance=all` let the task go on,
    /// `logged` when `errors.log.enable` logged it.
    pub fn record_failed(&self, skipped: bool, logged: bool) {
        let e = &self.errors;
        e.record_errors.fetch_add(1, Ordering::Relaxed);
        e.record_failures.fetch_add(1, Ordering::Relaxed);
        if skipped {
            self.skipped.fetch_add(1, Ordering::Relaxed);
        }
        if logged {
            e.errors_logged.fetch_add(1, Ordering::Relaxed);
        }
        e.last_error_ms
            .store(crate::api::metrics::now_ms(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_count_the_time_spent_running_and_paused() {
        let m = TaskMetrics::default();
        {
            // Pretend the task was created 1 s ago, ran 600 ms, then paused 400 ms.
            let mut c = m.clock.lock().unwrap();
            let now = window::clock_ms() + 1_000;
            c.started_ms = now - 1_000;
            c.running_ms = 600;
            c.paused_ms = 400;
            c.state = TaskState::Stopped;
            c.since_ms = now;
            drop(c);
            let (running, paused, life) = m.clock.lock().unwrap().totals(now);
            assert_eq!((running, paused, life), (600, 400, 1_000));
        }
        m.set_state(TaskState::Running);
        assert_eq!(m.state(), TaskState::Running);
    }

    #[test]
    fn a_failed_record_counts_as_error_failure_and_maybe_skip() {
        let m = TaskMetrics::default();
        m.record_failed(true, false);
        m.record_failed(false, true);
        assert_eq!(m.errors.record_errors.load(Ordering::Relaxed), 2);
        assert_eq!(m.skipped.load(Ordering::Relaxed), 1);
        assert_eq!(m.errors.errors_logged.load(Ordering::Relaxed), 1);
        assert!(m.errors.last_error_ms.load(Ordering::Relaxed) > 0);
    }

    #[test]
    fn only_successful_commits_are_timed_and_counted() {
        let m = TaskMetrics::default();
        m.commit_done(true, Duration::from_millis(4));
        m.commit_done(false, Duration::from_millis(100));
        assert_eq!(m.committed.load(Ordering::Relaxed), 1);
        assert_eq!(m.commit_time.read().max(), 4_000.0);
        assert_eq!(m.commit_outcome.read().avg(), 0.5);
    }
}
