//! What the REST API and the command-line client ask of the herder (`runtime::control`).
//! A change of config is checked whole, written to its file, then applied; nothing is
//! applied that could not be written, so the files stay the source of truth.

use std::collections::BTreeMap;

use super::entry::Entry;
use super::{files, offsets, Herder};
use crate::api::PluginKind;
use crate::config::loader::ConnectorFile;
use crate::config::{ConnectorConfig, TargetState, WorkerConfig};
use crate::runtime::control::{
    ConnectorInfo, ConnectorStatus, Control, ControlError, OffsetView, State, StateInfo,
};
use crate::runtime::metrics::prometheus::{self, ConnectorEntry as MetricsConnector, TaskEntry};
use crate::runtime::validate::check_connector;

impl Herder {
    /// The connector config a request describes, checked as a file would be.
    fn checked(
        &self,
        name: &str,
        mut config: BTreeMap<String, String>,
        path: std::path::PathBuf,
        initial: TargetState,
    ) -> Result<ConnectorConfig, ControlError> {
        if let Some(inner) = config.get("name") {
            if inner != name {
                return Err(ControlError::BadRequest(format!(
                    "Connector name configuration ({inner}) doesn't match connector name in the URL ({name})"
                )));
            }
        }
        config.insert("name".into(), name.to_string());
        let class = config.get("connector.class").cloned().unwrap_or_default();
        let file = ConnectorFile {
            path,
            name: name.to_string(),
            config,
            initial_state: initial,
        };
        let (cfg, problems, warnings) = check_connector(file, &self.env.worker);
        for w in &warnings {
            tracing::warn!(connector = %name, "{}", w.to_string());
        }
        cfg.ok_or_else(|| {
            let lines: Vec<String> = problems
                .iter()
                .map(|p| match &p.key {
                    Some(k) => format!("{k}: {}", p.message),
                    None => p.message.clone(),
                })
                .collect();
            ControlError::BadRequest(format!(
                "Connector configuration is invalid and contains the following {} error(s):\n{}\nYou can also find the above list of errors at the endpoint `/connector-plugins/{class}/config/validate`",
                lines.len(),
                lines.join("\n")
            ))
        })
    }

    /// A connector whose tasks are restarting with a new config already shows the new one.
    fn info_of(e: &Entry) -> ConnectorInfo {
        let cfg = e.next.as_ref().unwrap_or(&e.cfg);
        ConnectorInfo {
            name: cfg.name.clone(),
            config: cfg.written.clone(),
            tasks: e.task_ids(),
            kind: e.kind,
        }
    }

    fn save_state(&self, name: &str, state: TargetState) -> Result<(), ControlError> {
        let value = match state {
            TargetState::Running => None,
            TargetState::Paused => Some("PAUSED"),
            TargetState::Stopped => Some("STOPPED"),
        };
        self.env.store.set_target_state(name, value).map_err(|e| {
            ControlError::Internal(format!(
                "cannot record the target state of connector {name} in the offsets store: {e}"
            ))
        })
    }

    /// Runs an offsets edit once the connector's tasks have ended: a STOPPED connector whose
    /// tasks are still delivering and committing is waited for (up to the graceful shutdown
    /// time), so a script's `PUT /stop` followed at once by `PATCH /offsets` works.
    fn when_stopped(
        &self,
        name: &str,
        edit: impl Fn(&Entry) -> Result<(), ControlError>,
    ) -> Result<(), ControlError> {
        let deadline = std::time::Instant::now()
            + self.env.worker.shutdown_timeout()
            + std::time::Duration::from_secs(1);
        loop {
            let stopping = with_entry(&mut self.lock(), name, |e| {
                if e.target == TargetState::Stopped && !e.all_ended() {
                    return Ok(true);
                }
                edit(e).map(|_| false)
            })?;
            if !stopping {
                return Ok(());
            }
            if std::time::Instant::now() >= deadline {
                return Err(ControlError::Conflict(format!(
                    "connector {name} is STOPPED but its tasks have not finished stopping; try again in a moment"
                )));
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Replaces a connector's config: its tasks stop, and start again with the new one.
    pub(super) fn reconfigure(e: &mut Entry, cfg: ConnectorConfig) {
        if e.cfg.written == cfg.written && e.cfg.path == cfg.path {
            e.cfg.values = cfg.values;
            return;
        }
        tracing::info!(connector = %cfg.name, "config changed; restarting its tasks with it");
        e.stop_tasks();
        e.next = Some(cfg);
    }
}

fn with_entry<T>(
    entries: &mut BTreeMap<String, Entry>,
    name: &str,
    f: impl FnOnce(&mut Entry) -> Result<T, ControlError>,
) -> Result<T, ControlError> {
    with_entry_or(entries, name, ControlError::connector_not_found, f)
}

/// As `with_entry`, with the wording Connect uses on that endpoint for an unknown name.
fn with_entry_or<T>(
    entries: &mut BTreeMap<String, Entry>,
    name: &str,
    unknown: impl FnOnce(&str) -> ControlError,
    f: impl FnOnce(&mut Entry) -> Result<T, ControlError>,
) -> Result<T, ControlError> {
    match entries.get_mut(name) {
        Some(e) if !e.deleting => f(e),
        _ => Err(unknown(name)),
    }
}

fn not_found(text: String) -> ControlError {
    ControlError::NotFound(text)
}

impl Control for Herder {
    fn worker_id(&self) -> String {
        self.worker_id
            .get()
            .cloned()
            .unwrap_or_else(|| "127.0.0.1:8083".into())
    }

    fn worker_config(&self) -> &WorkerConfig {
        &self.env.worker
    }

    fn connectors(&self) -> Vec<String> {
        self.lock()
            .values()
            .filter(|e| !e.deleting)
            .map(|e| e.cfg.name.clone())
            .collect()
    }

    fn info(&self, name: &str) -> Result<ConnectorInfo, ControlError> {
        with_entry(&mut self.lock(), name, |e| Ok(Self::info_of(e)))
    }

    fn status(&self, name: &str) -> Result<ConnectorStatus, ControlError> {
        with_entry_or(
            &mut self.lock(),
            name,
            |n| not_found(format!("No status found for connector {n}")),
            |e| Ok(e.status()),
        )
    }

    fn create(
        &self,
        name: &str,
        config: BTreeMap<String, String>,
        initial: TargetState,
    ) -> Result<ConnectorInfo, ControlError> {
        let mut entries = self.lock();
        if entries.get(name).is_some_and(|e| !e.deleting) {
            return Err(ControlError::Conflict(format!(
                "Connector {name} already exists"
            )));
        }
        let path = self.files.path_for_new(name)?;
        let cfg = self.checked(name, config, path.clone(), initial)?;
        files::write_atomic(&path, &files::render(&path, name, &cfg.written))?;
        self.save_state(name, initial)?;
        match entries.get_mut(name) {
            // Deleted a moment ago and still stopping: it starts with this config after.
            Some(e) => {
                e.deleting = false;
                e.target = initial;
                e.problem = None;
                Self::reconfigure(e, cfg);
            }
            None => self.add(&mut entries, cfg),
        }
        tracing::info!(connector = %name, file = %path.display(), "connector created");
        Ok(Self::info_of(&entries[name]))
    }

    fn put_config(
        &self,
        name: &str,
        config: BTreeMap<String, String>,
    ) -> Result<(bool, ConnectorInfo), ControlError> {
        let existing = self
            .lock()
            .get(name)
            .filter(|e| !e.deleting)
            .map(|e| e.cfg.path.clone());
        let Some(path) = existing else {
            return self
                .create(name, config, TargetState::Running)
                .map(|i| (true, i));
        };
        let mut entries = self.lock();
        let cfg = self.checked(name, config, path.clone(), TargetState::Running)?;
        with_entry(&mut entries, name, |e| {
            files::write_atomic(&path, &files::render(&path, name, &cfg.written))?;
            e.problem = None;
            Self::reconfigure(e, cfg);
            Ok((false, Self::info_of(e)))
        })
    }

    fn patch_config(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> Result<ConnectorInfo, ControlError> {
        let mut config = self.info(name)?.config;
        for (k, v) in patch {
            match v {
                Some(v) => config.insert(k, v),
                None => config.remove(&k),
            };
        }
        self.put_config(name, config).map(|(_, info)| info)
    }

    fn delete(&self, name: &str) -> Result<(), ControlError> {
        let mut entries = self.lock();
        with_entry(&mut entries, name, |e| {
            files::remove(&e.cfg.path)?;
            e.deleting = true;
            e.next = None;
            e.stop_tasks();
            Ok(())
        })?;
        // Offsets stay: a connector created again under the name goes on from them.
        let _ = self.env.store.set_target_state(name, None);
        let _ = self.env.store.set_active_topics(name, &[]);
        tracing::info!(connector = %name, "connector deleted; its offsets are kept");
        Ok(())
    }

    fn set_target_state(&self, name: &str, state: TargetState) -> Result<(), ControlError> {
        let mut entries = self.lock();
        let unknown = |n: &str| match state {
            TargetState::Stopped => ControlError::connector_not_found(n),
            _ => not_found(format!("Unknown connector {n}")),
        };
        with_entry_or(&mut entries, name, unknown, |e| {
            if state != TargetState::Stopped {
                if let Ok(Some(to)) = self.env.store.moved(name) {
                    return Err(ControlError::Conflict(format!(
                        "connector {name} stays STOPPED here: {}",
                        super::moved_away(name, &to)
                    )));
                }
            }
            self.save_state(name, state)?;
            let was = e.target;
            e.target = state;
            match state {
                TargetState::Stopped => e.stop_tasks(),
                TargetState::Running | TargetState::Paused => {
                    let paused = state == TargetState::Paused;
                    e.set_paused(paused);
                    if was == TargetState::Stopped {
                        // Tasks still on their way out start again once they have ended.
                        e.restart_tasks(|t| t.alive());
                    }
                }
            }
            if was != state {
                tracing::info!(connector = %name, "target state {was} -> {state}");
            }
            Ok(())
        })
    }

    fn restart(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<ConnectorStatus, ControlError> {
        let mut entries = self.lock();
        let unknown = |n: &str| match include_tasks || only_failed {
            true => not_found(format!("Unknown connector: {n}")),
            false => ControlError::connector_not_found(n),
        };
        with_entry_or(&mut entries, name, unknown, |e| {
            // The connector itself holds no running state in kconnect: only tasks restart.
            // It is shown RESTARTING in the answer when it was asked for, as in Connect.
            let connector_restarts = !only_failed;
            if include_tasks && e.target != TargetState::Stopped {
                e.restart_tasks(|t| !only_failed || t.failed());
            }
            let mut status = e.status();
            if connector_restarts {
                status.connector = StateInfo {
                    state: State::Restarting,
                    trace: None,
                };
            }
            Ok(status)
        })
    }

    fn restart_task(&self, name: &str, task: usize) -> Result<(), ControlError> {
        let mut entries = self.lock();
        with_entry(&mut entries, name, |e| {
            if e.target == TargetState::Stopped || !e.tasks.iter().any(|t| t.id == task) {
                return Err(ControlError::NotFound(format!(
                    "Task {name}-{task} not found"
                )));
            }
            e.restart_tasks(|t| t.id == task);
            Ok(())
        })
    }

    fn topics(&self, name: &str) -> Result<Vec<String>, ControlError> {
        let mut entries = self.lock();
        with_entry(&mut entries, name, |e| {
            self.collect_topics(e);
            Ok(e.topics.iter().cloned().collect())
        })
    }

    fn reset_topics(&self, name: &str) -> Result<(), ControlError> {
        let mut entries = self.lock();
        with_entry(&mut entries, name, |e| {
            for t in &e.tasks {
                t.control.take_new_topics();
                t.control.forget_topics();
            }
            e.topics.clear();
            self.env
                .store
                .set_active_topics(name, &[])
                .map_err(|err| ControlError::Internal(format!("cannot reset the active topics of connector {name} in the offsets store: {err}")))
        })
    }

    fn offsets(&self, name: &str) -> Result<Vec<OffsetView>, ControlError> {
        with_entry(&mut self.lock(), name, |_| Ok(()))?;
        offsets::list(&self.env.store, name)
    }

    fn alter_offsets(&self, name: &str, edits: Vec<OffsetView>) -> Result<(), ControlError> {
        with_entry(&mut self.lock(), name, |e| offsets::check(e, &edits))?;
        self.when_stopped(name, |e| {
            offsets::alter(&self.env.store, &self.env.worker, e, &edits)
        })
    }

    fn reset_offsets(&self, name: &str) -> Result<(), ControlError> {
        self.when_stopped(name, |e| {
            offsets::reset(&self.env.store, &self.env.worker, e)
        })
    }

    fn prometheus(&self) -> String {
        // What is read under the lock: names, states and the tasks' shared counters; the
        // text is made after the lock is released.
        let mut heads: Vec<(String, String, PluginKind, State)> = Vec::new();
        let mut tasks: Vec<Vec<TaskEntry>> = Vec::new();
        for e in self.lock().values().filter(|e| !e.deleting) {
            let status = e.status();
            tasks.push(
                e.tasks
                    .iter()
                    .zip(&status.tasks)
                    .map(|(t, s)| TaskEntry {
                        id: t.id,
                        state: s.status.state,
                        metrics: t.metrics.clone(),
                    })
                    .collect(),
            );
            heads.push((
                e.cfg.name.clone(),
                e.cfg.class().to_string(),
                e.kind,
                status.connector.state,
            ));
        }
        let connectors: Vec<MetricsConnector<'_>> = heads
            .iter()
            .zip(tasks)
            .map(|((name, class, kind, state), tasks)| MetricsConnector {
                name,
                class,
                kind: *kind,
                version: crate::connectors::find(class)
                    .map_or(crate::api::Upstream::KCONNECT.version, |p| p.desc.version()),
                state: *state,
                tasks,
            })
            .collect();
        prometheus::render(&self.env.starts, &connectors)
    }
}
