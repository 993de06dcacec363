//! The partitions the store holds offsets for, written beside sled in a file of its own. sled
//! reads a damaged log as a write torn by a crash and drops what follows, so a damaged store
//! would open as a store with fewer (or no) offsets and its connectors would start over
//! without a word. The witness makes that visible: a partition it names that the store no
//! longer has is reported, never taken as "no offset yet".
//!
//! Order keeps it true across crashes: a partition is added to the witness only after sled has
//! made it durable, and removed before sled removes it, so the witness never names a partition
//! the store lost by an edit.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const FILE: &str = "partitions.json";

/// (tree, key) pairs: tree 0 for source offsets, 1 for sink offsets.
pub(super) type Keys = BTreeSet<(u8, Vec<u8>)>;

pub(super) struct Witness {
    path: PathBuf,
    keys: Mutex<Keys>,
}

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct OnDisk {
    source: Vec<String>,
    sink: Vec<String>,
}

impl Witness {
    /// The witness of `dir` and what it recorded; `None` when there is no file yet (a new
    /// store, or one written by a kconnect before the witness existed).
    pub(super) fn load(dir: &Path) -> std::io::Result<(Witness, Option<Keys>)> {
        let path = dir.join(FILE);
        let recorded = match std::fs::read(&path) {
            Ok(bytes) => {
                let disk: OnDisk = serde_json::from_slice(&bytes).map_err(|e| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{} is not readable: {e}", path.display()),
                    )
                })?;
                let mut keys = Keys::new();
                keys.extend(disk.source.into_iter().map(|k| (0, k.into_bytes())));
                keys.extend(disk.sink.into_iter().map(|k| (1, k.into_bytes())));
                Some(keys)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let witness = Witness {
            path,
            keys: Mutex::new(recorded.clone().unwrap_or_default()),
        };
        Ok((witness, recorded))
    }

    /// Starts the witness of a store that had none from what the store holds.
    pub(super) fn adopt(&self, keys: Keys) -> std::io::Result<()> {
        let mut held = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        *held = keys;
        self.write(&held)
    }

    /// After sled made `keys` durable: records those not recorded yet (a write only then).
    pub(super) fn add(&self, tree: u8, keys: &[Vec<u8>]) -> std::io::Result<()> {
        let mut held = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let mut changed = false;
        for k in keys {
            if !held.contains(&(tree, k.clone())) {
                held.insert((tree, k.clone()));
                changed = true;
            }
        }
        if changed {
            self.write(&held)?;
        }
        Ok(())
    }

    /// Before sled removes `keys`.
    pub(super) fn remove(&self, tree: u8, keys: &[Vec<u8>]) -> std::io::Result<()> {
        let mut held = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let before = held.len();
        for k in keys {
            held.remove(&(tree, k.clone()));
        }
        if held.len() != before {
            self.write(&held)?;
        }
        Ok(())
    }

    /// Atomically: a crash leaves the old file or the new one.
    fn write(&self, keys: &Keys) -> std::io::Result<()> {
        let text = |tree: u8| -> Vec<String> {
            keys.iter()
                .filter(|(t, _)| *t == tree)
                .map(|(_, k)| String::from_utf8_lossy(k).into_owned())
                .collect()
        };
        let disk = OnDisk {
            source: text(0),
            sink: text(1),
        };
        let tmp = self.path.with_extension("json.tmp");
        {
            let mut f = File::create(&tmp)?;
            f.write_all(&serde_json::to_vec(&disk).expect("JSON of strings"))?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}
