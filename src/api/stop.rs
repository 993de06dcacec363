//! Stopping: the worker asks, tasks that block notice.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A stop request shared by the worker and its tasks; tasks that block check it.
#[derive(Clone, Default, Debug)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub fn new() -> StopFlag {
        StopFlag::default()
    }
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst)
    }
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
    pub fn inner(&self) -> Arc<AtomicBool> {
        self.0.clone()
    }
}

/// Sleeps in short steps so a stop request is noticed promptly.
pub fn sleep_unless_stopped(stop: &StopFlag, total: Duration) {
    let deadline = Instant::now() + total;
    while !stop.is_stopped() {
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(50)));
    }
}
