//! The worker and its task loops: what `connect-standalone` does, in one process.

pub mod control;
pub mod converters;
pub mod errors;
pub mod herder;
pub mod kafka;
pub mod metrics;
pub mod nested;
pub mod offset_reader;
pub mod pipeline_check;
pub mod progress;
pub mod registry;
pub mod rest;
pub mod setup;
pub mod sink;
pub mod source;
pub mod submitted;
pub mod systemd;
pub mod task_error;
pub mod validate;
pub mod worker;

use std::sync::OnceLock;
use std::time::Instant;

/// When the process started, as near as `main` can tell: start-up time is measured from it.
pub static PROCESS_START: OnceLock<Instant> = OnceLock::new();

/// Milliseconds since `PROCESS_START`.
pub fn since_start_ms() -> f64 {
    PROCESS_START
        .get_or_init(Instant::now)
        .elapsed()
        .as_secs_f64()
        * 1000.0
}

/// How a task ended.
#[derive(Debug)]
pub enum TaskOutcome {
    Done,
    Failed(TaskError),
}

pub use task_error::{ErrorChain, TaskError};
pub use worker::{run, FailedTask, RunOptions, RunSummary, TaskEnd, WorkerError};
