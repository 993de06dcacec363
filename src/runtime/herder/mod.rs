//! The herder (Connect's `StandaloneHerder`): owns every connector and its tasks, applies
//! what the REST API, the command-line client and SIGHUP reloads ask (`control.rs`), and is
//! looked at by the worker's supervision loop ten times a second, which starts what waits
//! for stopped tasks. Requests answer at once; a task's stop and start happen afterwards and
//! show in its status.

mod entry;
pub mod files;
mod offsets;
mod reload;
mod requests;
mod task;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use entry::Entry;
pub use files::ConnectorFiles;
pub use reload::Reloaded;
use task::Ended;
pub use task::{TaskEnv, Wakeup};

use super::metrics::TaskMetrics;
use super::worker::{FailedTask, TaskEnd};
use crate::config::{ConnectorConfig, TargetState};

pub struct Herder {
    entries: Mutex<BTreeMap<String, Entry>>,
    env: TaskEnv,
    files: ConnectorFiles,
    /// The REST listener's `host:port` once it is bound, as Connect's status bodies show.
    worker_id: OnceLock<String>,
    shutting_down: AtomicBool,
    /// When the supervision loop last said that every task had failed.
    all_failed_said: Mutex<Option<Instant>>,
}

/// How often a long-running worker whose every task failed says so.
const ALL_FAILED_EVERY: Duration = Duration::from_secs(60);

impl Herder {
    pub fn new(env: TaskEnv, files: ConnectorFiles) -> Herder {
        Herder {
            entries: Mutex::new(BTreeMap::new()),
            env,
            files,
            worker_id: OnceLock::new(),
            shutting_down: AtomicBool::new(false),
            all_failed_said: Mutex::new(None),
        }
    }

    pub fn set_worker_id(&self, id: String) {
        let _ = self.worker_id.set(id);
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The state a connector starts in: what `PUT /pause` or `/stop` last set (kept in the
    /// store across restarts), else its file's `initial_state`.
    fn start_state(&self, cfg: &ConnectorConfig) -> TargetState {
        self.start_state_said(cfg).0
    }

    /// The start state and where it came from, for the log.
    fn start_state_said(&self, cfg: &ConnectorConfig) -> (TargetState, String) {
        let rest = || {
            "set through the REST API; kconnect resume NAME starts it".replace("NAME", &cfg.name)
        };
        match self.env.store.target_state(&cfg.name) {
            Ok(Some(s)) if s == "PAUSED" => (TargetState::Paused, rest()),
            Ok(Some(s)) if s == "STOPPED" => match self.env.store.moved(&cfg.name) {
                Ok(Some(to)) => (TargetState::Stopped, moved_away(&cfg.name, &to)),
                _ => (TargetState::Stopped, rest()),
            },
            Ok(_) => (cfg.initial_state, "its file's initial_state".into()),
            Err(e) => {
                tracing::warn!(connector = %cfg.name, "cannot read the connector's target state from the offsets store, starting it as its file says: {e}");
                (cfg.initial_state, "its file's initial_state".into())
            }
        }
    }

    /// Adds a connector and starts its tasks unless it is to stay STOPPED (or PAUSED in a
    /// `--once` run, where a paused task could only wait).
    fn add(&self, entries: &mut BTreeMap<String, Entry>, cfg: ConnectorConfig) {
        let (target, why) = self.start_state_said(&cfg);
        if target != TargetState::Running {
            tracing::info!(connector = %cfg.name, "not started: its target state is {target} ({why})");
        }
        let topics = self.env.store.active_topics(&cfg.name).unwrap_or_default();
        let name = cfg.name.clone();
        self.env.starts.connector_started(true);
        let mut e = Entry::new(cfg, target, topics);
        if !(self.env.once && target == TargetState::Paused) {
            e.start_tasks(&self.env);
        }
        entries.insert(name, e);
    }

    /// Registers the connectors `run` loaded without starting their tasks: the REST API is
    /// up before the broker answers, and must list them (and refuse their names to a
    /// `POST`, which would otherwise write a second file for the same connector) meanwhile.
    /// Returns their names, for `start`.
    pub fn load(&self, configs: Vec<ConnectorConfig>) -> Vec<String> {
        let mut entries = self.lock();
        let mut names = Vec::with_capacity(configs.len());
        for cfg in configs {
            let (target, why) = self.start_state_said(&cfg);
            if target != TargetState::Running {
                tracing::info!(connector = %cfg.name, "not started: its target state is {target} ({why})");
            }
            let topics = self.env.store.active_topics(&cfg.name).unwrap_or_default();
            names.push(cfg.name.clone());
            entries.insert(cfg.name.clone(), Entry::new(cfg, target, topics));
        }
        names
    }

    /// Starts the connectors `load` registered, once the broker answers, with what the API
    /// changed meanwhile (a new config, a target state, a deletion).
    pub fn start(&self, loaded: &[String]) {
        let mut entries = self.lock();
        for name in loaded {
            let Some(e) = entries.get_mut(name) else {
                continue;
            };
            if e.deleting || !e.tasks.is_empty() {
                continue;
            }
            if let Some(cfg) = e.next.take() {
                e.kind = entry::kind_of(&cfg);
                e.cfg = cfg;
            }
            self.env.starts.connector_started(true);
            if !(self.env.once && e.target == TargetState::Paused) {
                e.start_tasks(&self.env);
            }
        }
    }

    /// Per connector, its kind and the metrics of its tasks, for the progress display.
    pub fn task_metrics(&self) -> Vec<(String, bool, Vec<Arc<TaskMetrics>>)> {
        self.lock()
            .values()
            .filter(|e| !e.tasks.is_empty())
            .map(|e| {
                (
                    e.cfg.name.clone(),
                    e.kind == crate::api::PluginKind::Sink,
                    e.tasks.iter().map(|t| t.metrics.clone()).collect(),
                )
            })
            .collect()
    }

    /// One look by the supervision loop: collects ended tasks, starts what waits for them,
    /// records new active topics.
    pub fn tick(&self) {
        let shutting_down = self.shutting_down.load(Ordering::SeqCst);
        let mut entries = self.lock();
        let mut gone = Vec::new();
        for (name, e) in entries.iter_mut() {
            for t in &mut e.tasks {
                t.reap();
            }
            self.collect_topics(e);
            if shutting_down {
                continue;
            }
            if e.deleting {
                if e.all_ended() {
                    gone.push(name.clone());
                }
                continue;
            }
            e.supervise(&self.env);
        }
        for name in gone {
            entries.remove(&name);
        }
        if !self.env.once && !shutting_down {
            self.say_if_all_failed(&entries);
        }
    }

    fn collect_topics(&self, e: &mut Entry) {
        let mut changed = false;
        for t in &e.tasks {
            for topic in t.control.take_new_topics() {
                changed |= e.topics.insert(topic);
            }
        }
        if changed && !e.deleting {
            let topics: Vec<String> = e.topics.iter().cloned().collect();
            if let Err(err) = self.env.store.set_active_topics(&e.cfg.name, &topics) {
                tracing::warn!(connector = %e.cfg.name, "cannot record the connector's active topics in the offsets store: {err}");
            }
        }
    }

    /// A long-running worker with nothing left running says so once a minute, with what to
    /// do, rather than idling silently.
    fn say_if_all_failed(&self, entries: &BTreeMap<String, Entry>) {
        let tasks: Vec<_> = entries
            .values()
            .filter(|e| !e.deleting)
            .flat_map(|e| e.tasks.iter().map(move |t| (e, t)))
            .collect();
        if tasks.is_empty() || !tasks.iter().all(|(_, t)| t.failed()) {
            *self
                .all_failed_said
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = None;
            return;
        }
        let mut said = self
            .all_failed_said
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if said.is_some_and(|t| t.elapsed() < ALL_FAILED_EVERY) {
            return;
        }
        *said = Some(Instant::now());
        let names: Vec<String> = tasks
            .iter()
            .map(|(e, t)| format!("{}-{}", e.cfg.name, t.id))
            .collect();
        tracing::error!(
            "every task has FAILED ({}); nothing is running. Fix the cause, then restart them: kconnect restart NAME --tasks --failed, or POST /connectors/NAME/restart?includeTasks=true&onlyFailed=true",
            names.join(", ")
        );
    }

    /// Asks every task to stop, for good: nothing is restarted after this.
    pub fn shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        for e in self.lock().values() {
            e.stop_tasks();
        }
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// No task thread is alive and, short of a shutdown, nothing waits to start.
    pub fn idle(&self) -> bool {
        self.lock().values().all(|e| {
            e.all_ended()
                && e.next.is_none()
                && (self.is_shutting_down() || !e.tasks.iter().any(|t| t.restart))
        })
    }

    /// The run's end: records delivered, tasks run, and every task that did not end well.
    pub fn finish(&self) -> (u64, usize, Vec<FailedTask>) {
        let mut entries = self.lock();
        let mut records = 0;
        let mut tasks = 0;
        let mut failed = Vec::new();
        for e in entries.values_mut() {
            for t in &mut e.tasks {
                t.reap();
                tasks += 1;
                records += t.metrics.records();
                let end = match (t.alive(), t.ended.take()) {
                    (true, _) => TaskEnd::DidNotStop,
                    (false, Some(Ended::Failed(err))) => TaskEnd::Failed(err),
                    (false, Some(Ended::Panicked)) => TaskEnd::Panicked,
                    _ => continue,
                };
                failed.push(FailedTask {
                    connector: e.cfg.name.clone(),
                    task_id: t.id,
                    end,
                });
            }
        }
        (records, tasks, failed)
    }

    /// Every task has built its clients and started (or failed to): systemd's READY.
    pub fn all_started(&self) -> bool {
        self.lock().values().all(|e| {
            e.tasks.iter().all(|t| {
                !t.alive() || t.metrics.state() != crate::runtime::metrics::TaskState::Unassigned
            })
        })
    }

    /// Every connector's status, for systemd's STATUS line.
    pub fn statuses(&self) -> Vec<crate::runtime::control::ConnectorStatus> {
        self.lock()
            .values()
            .filter(|e| !e.deleting)
            .map(|e| e.status())
            .collect()
    }

    /// The number of connectors and of their tasks, for the log and systemd's STATUS line.
    pub fn counts(&self) -> Counts {
        let entries = self.lock();
        let mut c = Counts::default();
        for e in entries.values().filter(|e| !e.deleting) {
            c.connectors += 1;
            for t in &e.tasks {
                c.tasks += 1;
                if t.failed() {
                    c.failed += 1;
                } else if t.alive() {
                    c.running += 1;
                }
            }
        }
        c
    }
}

/// Why a connector `kconnect export` moved stays STOPPED here, and how to bring it back.
pub fn moved_away(name: &str, to: &serde_json::Value) -> String {
    let url = to
        .get("to")
        .and_then(|u| u.as_str())
        .unwrap_or("a Connect cluster");
    let at = to
        .get("at")
        .and_then(|u| u.as_str())
        .map(|t| format!(" at {t}"))
        .unwrap_or_default();
    format!("kconnect export moved it to {url}{at}, where it runs now; kconnect import --from {url} {name} brings it back with its offsets")
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub connectors: usize,
    pub tasks: usize,
    pub running: usize,
    pub failed: usize,
}
