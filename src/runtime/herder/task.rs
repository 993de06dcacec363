//! One task of a connector as the herder keeps it: the thread that runs it, the flags that
//! stop and pause it, and how it ended.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::api::{Factory, SinkTaskContext, SourceTaskContext, StopFlag};
use crate::config::{ConnectorConfig, WorkerConfig};
use crate::offsets::OffsetStore;
use crate::runtime::control::{State, StateInfo};
use crate::runtime::metrics::{TaskMetrics, TaskState, WorkerMetrics};
use crate::runtime::offset_reader::StoreOffsetReader;
use crate::runtime::progress::TerminalProgress;
use crate::runtime::setup::{TaskControl, TaskPlan};
use crate::runtime::sink::SinkRunner;
use crate::runtime::source::SourceRunner;
use crate::runtime::task_error::{SetupError, TaskError};
use crate::runtime::TaskOutcome;

/// How a task thread ended.
pub enum Ended {
    Done,
    Failed(TaskError),
    Panicked,
}

/// What every task of the worker shares: the settings a `TaskPlan` is made of.
pub struct TaskEnv {
    pub worker: WorkerConfig,
    pub store: Arc<OffsetStore>,
    pub once: bool,
    pub broker_wait: std::time::Duration,
    /// Connect's worker metrics: connector and task start attempts.
    pub starts: Arc<WorkerMetrics>,
    /// Told by every task thread as it ends.
    pub ended: Wakeup,
}

/// Wakes the supervision loop before its period is out: a task thread says so as it ends,
/// so that a `--once` run exits, and a failed task is seen, as soon as it happens rather
/// than at the loop's next turn (up to two turns, 200 ms, at the end of every `--once` run).
#[derive(Clone, Default)]
pub struct Wakeup(Arc<(Mutex<bool>, Condvar)>);

impl Wakeup {
    pub fn wake(&self) {
        let (woken, cvar) = &*self.0;
        *woken.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cvar.notify_all();
    }

    /// Waits up to `period`; true when woken meanwhile (or since the last wait).
    pub fn wait(&self, period: Duration) -> bool {
        let (woken, cvar) = &*self.0;
        let guard = woken.lock().unwrap_or_else(|e| e.into_inner());
        let (mut guard, _) = cvar
            .wait_timeout_while(guard, period, |woken| !*woken)
            .unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut *guard)
    }
}

/// Wakes the supervision loop when dropped: the last thing a task thread does, so that its
/// outcome is set even when the task panics.
struct WakeOnEnd(Wakeup);

impl Drop for WakeOnEnd {
    fn drop(&mut self) {
        self.0.wake();
    }
}

pub struct Slot {
    pub id: usize,
    pub stop: StopFlag,
    pub control: Arc<TaskControl>,
    /// Kept across restarts of the task, so counters and the progress display go on.
    pub metrics: Arc<TaskMetrics>,
    pub handle: Option<JoinHandle<TaskOutcome>>,
    pub ended: Option<Ended>,
    /// A restart was asked for: a new thread starts once this one has ended.
    pub restart: bool,
}

impl Slot {
    pub fn new(id: usize) -> Slot {
        Slot {
            id,
            stop: StopFlag::new(),
            control: Arc::new(TaskControl::default()),
            metrics: Arc::new(TaskMetrics::default()),
            handle: None,
            ended: None,
            restart: false,
        }
    }

    /// Its thread has not been collected yet.
    pub fn alive(&self) -> bool {
        self.handle.is_some()
    }

    /// Its thread is still running.
    pub fn running(&self) -> bool {
        self.handle.as_ref().is_some_and(|h| !h.is_finished())
    }

    /// Starts (or starts again) the task's thread.
    pub fn spawn(&mut self, cfg: &ConnectorConfig, tasks: usize, env: &TaskEnv, paused: bool) {
        let factory = crate::connectors::find(cfg.class())
            .expect("validated")
            .factory;
        self.stop = StopFlag::new();
        self.control.set_paused(paused);
        self.control.set_failure(None);
        self.metrics.set_state(TaskState::Unassigned);
        self.ended = None;
        self.restart = false;
        let plan = TaskPlan {
            config: cfg.clone(),
            task_id: self.id,
            tasks,
            worker: env.worker.clone(),
            store: env.store.clone(),
            stop: self.stop.clone(),
            once: env.once,
            broker_wait: env.broker_wait,
            metrics: self.metrics.clone(),
            control: self.control.clone(),
        };
        let task_id = self.id;
        let starts = env.starts.clone();
        let wake = WakeOnEnd(env.ended.clone());
        let handle = std::thread::Builder::new()
            .name(format!("{}-{task_id}", cfg.name))
            .spawn(move || {
                // Dropped as the thread ends, after the task and its clients are gone.
                let _wake = wake;
                let outcome = match factory {
                    Factory::Source(f) => start_source(f, &plan, &starts),
                    Factory::Sink(f) => start_sink(f, &plan, &starts),
                };
                let outcome = outcome.unwrap_or_else(TaskOutcome::Failed);
                if let TaskOutcome::Failed(e) = &outcome {
                    plan.control.set_failure(Some(e.reason()));
                    plan.metrics.set_state(TaskState::Failed);
                    // A `--once` run ends with the failure in its summary: one message.
                    if !plan.once {
                        tracing::error!(connector = %plan.config.name, task = task_id, "task FAILED: {}", e.reason());
                    }
                }
                outcome
            })
            .expect("spawning a task thread");
        self.handle = Some(handle);
    }

    /// Collects the thread's outcome once it has ended; `true` when it just did.
    pub fn reap(&mut self) -> bool {
        if !self.handle.as_ref().is_some_and(|h| h.is_finished()) {
            return false;
        }
        let handle = self.handle.take().expect("checked above");
        self.ended = Some(match handle.join() {
            Ok(TaskOutcome::Done) => Ended::Done,
            Ok(TaskOutcome::Failed(e)) => Ended::Failed(e),
            Err(_) => Ended::Panicked,
        });
        true
    }

    /// The task's state for the status endpoints.
    pub fn status(&self) -> StateInfo {
        let plain = |state| StateInfo { state, trace: None };
        if self.restart {
            // As Connect, a failed task being restarted still shows why it failed.
            return StateInfo {
                state: State::Restarting,
                trace: self.failure(),
            };
        }
        match &self.ended {
            Some(Ended::Failed(e)) => StateInfo {
                state: State::Failed,
                trace: Some(e.reason()),
            },
            Some(Ended::Panicked) => StateInfo {
                state: State::Failed,
                trace: Some("the task panicked; the log has the panic message".into()),
            },
            // A source that read everything (`--once`) or a task stopped for good.
            Some(Ended::Done) => plain(State::Unassigned),
            None if !self.alive() => plain(State::Unassigned),
            None => plain(match self.metrics.state() {
                TaskState::Unassigned => State::Unassigned,
                TaskState::Running if self.control.is_paused() => State::Paused,
                // Running, and what it waits for while a system it needs is down: its own,
                // or the worker's broker.
                TaskState::Running => {
                    return StateInfo {
                        state: State::Running,
                        trace: self.control.waiting.get().or_else(|| {
                            crate::runtime::kafka::outage_reason().map(|r| format!("waiting: {r}"))
                        }),
                    }
                }
                TaskState::Paused => State::Paused,
                // Still delivering and committing on its way out.
                TaskState::Stopped => State::Unassigned,
                // The thread is ending; it has left its reason.
                TaskState::Failed => {
                    return StateInfo {
                        state: State::Failed,
                        trace: self.failure(),
                    }
                }
            }),
        }
    }

    fn failure(&self) -> Option<String> {
        match &self.ended {
            Some(Ended::Failed(e)) => Some(e.reason()),
            Some(Ended::Panicked) => {
                Some("the task panicked; the log has the panic message".into())
            }
            _ => self.control.failure(),
        }
    }

    /// FAILED as the status shows it: also before the supervision loop has collected the
    /// thread, so a restart of failed tasks asked for at once finds it.
    pub fn failed(&self) -> bool {
        self.status().state == State::Failed
    }
}

fn start_source(
    factory: crate::api::SourceFactory,
    plan: &TaskPlan,
    starts: &WorkerMetrics,
) -> Result<TaskOutcome, TaskError> {
    let built = (|| {
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
            waiting: plan.control.waiting.clone(),
            topic_readers: Some(crate::runtime::kafka::topic_readers()),
        };
        let task = factory(ctx).map_err(SetupError::Connector)?;
        Ok::<_, TaskError>((setup, task))
    })();
    starts.task_started(built.is_ok());
    let (setup, task) = built?;
    Ok(SourceRunner::new(setup, task).run())
}

fn start_sink(
    factory: crate::api::SinkFactory,
    plan: &TaskPlan,
    starts: &WorkerMetrics,
) -> Result<TaskOutcome, TaskError> {
    let built = (|| {
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
            waiting: plan.control.waiting.clone(),
        };
        let task = factory(ctx).map_err(SetupError::Connector)?;
        Ok::<_, TaskError>((setup, task, errant))
    })();
    starts.task_started(built.is_ok());
    let (setup, task, errant) = built?;
    Ok(SinkRunner::new(setup, task, errant).run())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wakeup_ends_the_wait_and_is_taken_by_it() {
        let w = Wakeup::default();
        assert!(!w.wait(Duration::from_millis(1)), "nothing woke it");
        w.wake();
        assert!(w.wait(Duration::from_secs(60)), "woken before the wait");
        assert!(!w.wait(Duration::from_millis(1)), "a wake is seen once");
    }

    #[test]
    fn a_thread_that_ends_wakes_the_supervisor_even_when_it_panics() {
        for panics in [false, true] {
            let w = Wakeup::default();
            let wake = WakeOnEnd(w.clone());
            let t = std::thread::spawn(move || {
                let _wake = wake;
                std::thread::sleep(Duration::from_millis(20));
                assert!(!panics, "the task panicked");
            });
            assert!(w.wait(Duration::from_secs(60)), "panics: {panics}");
            assert_eq!(t.join().is_err(), panics);
        }
    }
}
