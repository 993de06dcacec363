//! One connector as the herder keeps it: its config, the state it was asked to be in, its
//! tasks, and what is waiting for those tasks to stop (a new config, a deletion).

use std::collections::BTreeSet;

use super::task::{Slot, TaskEnv};
use crate::api::PluginKind;
use crate::config::{ConnectorConfig, TargetState};
use crate::runtime::control::{ConnectorStatus, State, StateInfo, TaskStatus};

pub struct Entry {
    pub cfg: ConnectorConfig,
    pub kind: PluginKind,
    pub target: TargetState,
    pub tasks: Vec<Slot>,
    /// A new config, applied once the tasks running the old one have stopped.
    pub next: Option<ConnectorConfig>,
    /// Deleted: hidden from the API, removed once its tasks have stopped.
    pub deleting: bool,
    /// Why the last reload of its file was refused: the connector runs on with the config
    /// it had, and says so in its status.
    pub problem: Option<String>,
    pub topics: BTreeSet<String>,
}

pub fn kind_of(cfg: &ConnectorConfig) -> PluginKind {
    match crate::connectors::find(cfg.class()) {
        Some(p) if !p.is_source() => PluginKind::Sink,
        _ => PluginKind::Source,
    }
}

/// How many tasks the connector runs: `tasks.max`, bounded by what the connector can split.
fn task_count(cfg: &ConnectorConfig) -> usize {
    let plugin = crate::connectors::find(cfg.class()).expect("validated");
    match plugin.max_tasks {
        Some(max) => cfg.tasks_max().min(max),
        None => cfg.tasks_max(),
    }
}

impl Entry {
    pub fn new(cfg: ConnectorConfig, target: TargetState, topics: Vec<String>) -> Entry {
        Entry {
            kind: kind_of(&cfg),
            cfg,
            target,
            tasks: Vec::new(),
            next: None,
            deleting: false,
            problem: None,
            topics: topics.into_iter().collect(),
        }
    }

    /// Creates and starts the tasks, unless the connector is STOPPED, or PAUSED before its
    /// tasks ever ran (as Connect, which makes a connector created PAUSED no task until it
    /// is resumed).
    pub fn start_tasks(&mut self, env: &TaskEnv) {
        match self.target {
            TargetState::Stopped => return,
            TargetState::Paused if self.tasks.is_empty() => return,
            _ => {}
        }
        let n = task_count(&self.cfg);
        let paused = self.target == TargetState::Paused;
        // Slots are kept (their metrics go on) when the count is unchanged.
        self.tasks.truncate(n);
        while self.tasks.len() < n {
            self.tasks.push(Slot::new(self.tasks.len()));
        }
        for slot in &mut self.tasks {
            slot.spawn(&self.cfg, n, env, paused);
        }
    }

    pub fn stop_tasks(&self) {
        for t in &self.tasks {
            t.stop.stop();
        }
    }

    /// No task thread is running; ended threads count even before the supervision loop
    /// has collected them.
    pub fn all_ended(&self) -> bool {
        self.tasks.iter().all(|t| !t.running())
    }

    pub fn set_paused(&self, paused: bool) {
        for t in &self.tasks {
            t.control.set_paused(paused);
        }
    }

    /// Asks the given tasks to restart: a live one is stopped first, and the supervision
    /// loop starts each again once its thread has ended.
    pub fn restart_tasks(&mut self, which: impl Fn(&Slot) -> bool) -> usize {
        let mut n = 0;
        for t in &mut self.tasks {
            if which(t) {
                t.stop.stop();
                t.restart = true;
                n += 1;
            }
        }
        n
    }

    /// One look by the supervision loop: starts what waits for stopped tasks.
    pub fn supervise(&mut self, env: &TaskEnv) {
        if self.deleting {
            return;
        }
        if self.next.is_some() {
            if self.all_ended() {
                let cfg = self.next.take().expect("checked above");
                self.kind = kind_of(&cfg);
                self.cfg = cfg;
                self.start_tasks(env);
            }
            return;
        }
        match self.target {
            TargetState::Stopped => {
                if self.all_ended() {
                    self.tasks.clear();
                }
            }
            TargetState::Running | TargetState::Paused => {
                if self.tasks.is_empty() {
                    self.start_tasks(env);
                    return;
                }
                let n = self.tasks.len();
                let paused = self.target == TargetState::Paused;
                for slot in &mut self.tasks {
                    if slot.restart && !slot.alive() {
                        slot.spawn(&self.cfg, n, env, paused);
                    }
                }
            }
        }
    }

    pub fn status(&self) -> ConnectorStatus {
        let state = match self.target {
            TargetState::Running => State::Running,
            TargetState::Paused => State::Paused,
            TargetState::Stopped => State::Stopped,
        };
        let tasks = if self.target == TargetState::Stopped {
            Vec::new()
        } else {
            self.tasks
                .iter()
                .map(|t| TaskStatus {
                    id: t.id,
                    status: if self.next.is_some() {
                        StateInfo {
                            state: State::Restarting,
                            trace: None,
                        }
                    } else {
                        t.status()
                    },
                })
                .collect()
        };
        ConnectorStatus {
            name: self.cfg.name.clone(),
            connector: StateInfo {
                state,
                trace: self.problem.clone(),
            },
            tasks,
            kind: self.kind,
            version: crate::connectors::find(self.cfg.class())
                .map_or(crate::api::Upstream::KCONNECT.version, |p| p.desc.version()),
        }
    }

    /// The tasks it has: none while STOPPED, or PAUSED before it ever ran.
    pub fn task_ids(&self) -> Vec<usize> {
        if self.target == TargetState::Stopped {
            Vec::new()
        } else {
            self.tasks.iter().map(|t| t.id).collect()
        }
    }
}
