//! SIGHUP: the connector files are read again and only the difference is applied. A new
//! file starts, a removed one stops (its offsets kept), a changed one restarts with its new
//! config, an unchanged one is not touched, and a file that no longer validates leaves its
//! connector running as it was, with the problem in its status and the log.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::Herder;
use crate::runtime::validate::{load_and_validate_maybe_empty, FileProblem};

/// What a reload did, for the log and the tests.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reloaded {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
    /// Files that did not validate, with their problems.
    pub refused: Vec<String>,
}

impl Herder {
    pub fn reload(&self, paths: &[PathBuf]) -> Reloaded {
        let report = load_and_validate_maybe_empty(paths, &self.env.worker);
        let mut problems: BTreeMap<&Path, Vec<&FileProblem>> = BTreeMap::new();
        for p in &report.problems {
            problems.entry(p.path.as_path()).or_default().push(p);
        }
        let mut done = Reloaded::default();
        let mut entries = self.lock();
        let mut seen = BTreeSet::new();
        for cfg in report.connectors {
            if !seen.insert(cfg.name.clone()) {
                // A second file with a name already taken: its problem is in `problems`.
                continue;
            }
            let name = cfg.name.clone();
            match entries.get_mut(&name) {
                Some(e) if !e.deleting => {
                    e.problem = None;
                    if e.cfg.written != cfg.written || e.cfg.path != cfg.path {
                        done.changed.push(name);
                        Self::reconfigure(e, cfg);
                    }
                }
                Some(e) => {
                    // Deleted and still stopping: it starts again with this file after.
                    e.deleting = false;
                    e.target = self.start_state(&cfg);
                    done.added.push(name);
                    Self::reconfigure(e, cfg);
                }
                None => {
                    done.added.push(name);
                    self.add(&mut entries, cfg);
                }
            }
        }
        for (path, list) in &problems {
            let text: Vec<String> = list.iter().map(|p| p.to_string()).collect();
            let text = text.join("; ");
            done.refused.push(text.clone());
            match entries
                .values_mut()
                .find(|e| !e.deleting && e.cfg.path == *path)
            {
                Some(e) => {
                    seen.insert(e.cfg.name.clone());
                    tracing::error!(connector = %e.cfg.name, "reload refused, the connector runs on with its previous config: {text}");
                    e.problem = Some(format!(
                        "the last reload of {} was refused, the connector runs on with its previous config: {text}",
                        path.display()
                    ));
                }
                None => tracing::error!("reload: not started: {text}"),
            }
        }
        for e in entries.values_mut() {
            if !e.deleting && !seen.contains(&e.cfg.name) {
                done.removed.push(e.cfg.name.clone());
                e.deleting = true;
                e.next = None;
                e.stop_tasks();
                let _ = self.env.store.set_target_state(&e.cfg.name, None);
            }
        }
        tracing::info!(
            added = done.added.len(),
            removed = done.removed.len(),
            changed = done.changed.len(),
            refused = done.refused.len(),
            "connector files reloaded{}",
            describe(&done)
        );
        done
    }
}

fn describe(r: &Reloaded) -> String {
    let mut parts = Vec::new();
    for (what, names) in [
        ("added", &r.added),
        ("removed", &r.removed),
        ("changed", &r.changed),
    ] {
        if !names.is_empty() {
            parts.push(format!("{what}: {}", names.join(", ")));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join("; "))
    }
}
