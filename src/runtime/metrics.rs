//! Per-task counters, read by the progress display and the final summary.

use std::sync::atomic::{AtomicI64, AtomicU64, AtomicU8, Ordering};

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

#[derive(Debug, Default)]
pub struct TaskMetrics {
    /// Records written to Kafka (sources) or handed to the task (sinks).
    pub records: AtomicU64,
    pub skipped: AtomicU64,
    pub committed: AtomicU64,
    /// Sinks: records between the consumer's position and the end of its partitions.
    pub lag: AtomicI64,
    state: AtomicU8,
}

impl TaskMetrics {
    pub fn add_records(&self, n: u64) {
        self.records.fetch_add(n, Ordering::Relaxed);
    }
    pub fn records(&self) -> u64 {
        self.records.load(Ordering::Relaxed)
    }
    pub fn set_state(&self, s: TaskState) {
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
}
