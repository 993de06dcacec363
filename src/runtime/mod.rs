//! The worker and its task loops: what `connect-standalone` does, in one process.

pub mod converters;
pub mod kafka;
pub mod metrics;
pub mod progress;
pub mod sink;
pub mod source;
pub mod submitted;
pub mod worker;

/// How a task ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskOutcome {
    Done,
    Failed(String),
}

pub use worker::{run, RunError, RunOptions, RunSummary};
