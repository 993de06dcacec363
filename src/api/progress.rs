//! Progress a task shows a person while it does something long (a snapshot): a handle in the
//! source context, so a connector draws nothing itself. The runtime draws on a terminal;
//! with none, every call does nothing.

use std::sync::Arc;

/// Where a task's progress lines go.
pub trait Progress: Send + Sync {
    /// Whether lines are shown at all: lets a task skip work done only for them (an estimate).
    fn is_shown(&self) -> bool;
    /// A new line, e.g. `snapshot public.t`, counting `unit` up to `estimate` when known.
    fn line(&self, label: &str, unit: &str, estimate: Option<u64>) -> Box<dyn ProgressLine>;
}

/// One line of progress; dropping it leaves it as it is, `finish` removes it.
pub trait ProgressLine: Send {
    fn set_position(&self, done: u64);
    fn finish(&self);
}

/// Progress for nobody: tests, and runs without a terminal.
pub struct NoProgress;

impl Progress for NoProgress {
    fn is_shown(&self) -> bool {
        false
    }
    fn line(&self, _: &str, _: &str, _: Option<u64>) -> Box<dyn ProgressLine> {
        Box::new(NoProgress)
    }
}

impl ProgressLine for NoProgress {
    fn set_position(&self, _: u64) {}
    fn finish(&self) {}
}

/// The handle tasks get.
pub type ProgressHandle = Arc<dyn Progress>;
