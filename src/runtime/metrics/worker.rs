//! The worker's own counters (Connect's `connect-worker-metrics`): how many connector and task
//! starts were attempted, and how they went. The herder records each start; the counts of
//! connectors and tasks come from what it hands `prometheus::render`.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct StartCounters {
    pub attempts: AtomicU64,
    pub successes: AtomicU64,
    pub failures: AtomicU64,
}

impl StartCounters {
    /// One start attempt and how it ended.
    pub fn record(&self, ok: bool) {
        self.attempts.fetch_add(1, Ordering::Relaxed);
        if ok {
            self.successes.fetch_add(1, Ordering::Relaxed);
        } else {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// (attempts, successes, failures).
    pub fn read(&self) -> (u64, u64, u64) {
        (
            self.attempts.load(Ordering::Relaxed),
            self.successes.load(Ordering::Relaxed),
            self.failures.load(Ordering::Relaxed),
        )
    }
}

#[derive(Debug, Default)]
pub struct WorkerMetrics {
    pub connector_starts: StartCounters,
    pub task_starts: StartCounters,
}

impl WorkerMetrics {
    /// A connector was started (its config validated and its tasks planned) or failed to.
    pub fn connector_started(&self, ok: bool) {
        self.connector_starts.record(ok);
    }

    /// A task was built (clients, converters, the connector's task) or failed to be.
    pub fn task_started(&self, ok: bool) {
        self.task_starts.record(ok);
    }
}
