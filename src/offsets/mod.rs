//! The offsets store: a sled database in `offsets/`, keyed as Connect's standalone offset
//! file is (`["<connector>", {partition}]` → `{offset}`), so `kconnect offsets` shows what
//! Connect's offsets REST API would.
//!
//! One process at a time: an exclusive `flock` on `kconnect.lock`, holding the owner's PID.
//! The kernel drops the lock when the process dies, so a SIGKILL leaves nothing stale.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use serde_json::{Map as JsonMap, Value as Json};

use crate::data::SourceOffset;

mod witness;
use witness::{Keys, Witness};

const SOURCE: u8 = 0;
const SINK: u8 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the offsets store {dir} is in use by another kconnect process{}; stop it first, or give this run its own store with --offsets DIR", pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Locked { dir: PathBuf, pid: Option<u32> },
    #[error("offsets store {dir}: {source}")]
    Io {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("offsets store {dir}: {source}")]
    Sled { dir: PathBuf, source: sled::Error },
    /// Never answered by starting over: which records were delivered is not known any more.
    #[error("the offsets store {dir} is damaged ({source}); kconnect does not guess offsets: restore {dir} from a backup, or move it aside to start over (sources then read or snapshot again from the start, sinks resume from their consumer groups)")]
    Damaged { dir: PathBuf, source: sled::Error },
    /// A disk that is full or read-only: the offsets committed before stay as they were.
    #[error("offsets store {dir}: {source}; the offsets committed before stay as they were (later records are delivered again): free space or make {dir} writable, then run again")]
    Write {
        dir: PathBuf,
        source: std::io::Error,
    },
    /// Partitions the witness file names are gone: see `witness`.
    #[error("the offsets store {dir} is damaged: {missing} partition(s) it held offsets for are gone (first: {first}); kconnect does not take that as \"no offset yet\": restore {dir} from a backup, or move it aside to start over (sources then read or snapshot again from the start, sinks resume from their consumer groups)")]
    Lost {
        dir: PathBuf,
        missing: usize,
        first: String,
    },
    #[error("offsets store {dir}: corrupt entry: {message}")]
    Corrupt { dir: PathBuf, message: String },
}

const LOCK_FILE: &str = "kconnect.lock";

struct LockFile {
    _file: File,
}

/// A disk that cannot take writes (full, read-only, not ours) gets the message that says
/// what to do; other I/O errors as the system words them.
fn io_error(dir: &Path, source: std::io::Error) -> StoreError {
    use std::io::ErrorKind::*;
    let dir = dir.to_path_buf();
    match source.kind() {
        PermissionDenied | ReadOnlyFilesystem | StorageFull | FileTooLarge | QuotaExceeded => {
            StoreError::Write { dir, source }
        }
        _ => StoreError::Io { dir, source },
    }
}

fn lock(dir: &Path) -> Result<LockFile, StoreError> {
    let io = |source| io_error(dir, source);
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join(LOCK_FILE))
        .map_err(io)?;
    // SAFETY: flock on a descriptor we own; no memory is shared with the kernel.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        let mut text = String::new();
        let _ = file.read_to_string(&mut text);
        return Err(StoreError::Locked {
            dir: dir.to_path_buf(),
            pid: text.trim().parse().ok(),
        });
    }
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    writeln!(file, "{}", std::process::id()).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(LockFile { _file: file })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OffsetKind {
    Source,
    Sink,
}

/// One partition's committed position, in the shape of Connect's offsets REST API.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct OffsetEntry {
    pub connector: String,
    #[serde(rename = "type")]
    pub kind: OffsetKind,
    pub partition: Json,
    pub offset: Json,
}

/// Marks a sink offset written by `kconnect offsets set` (not by the sink's own commits);
/// never shown by `offsets list` or the REST API.
const EDITED: &str = "kconnect.edited";

pub struct OffsetStore {
    dir: PathBuf,
    db: sled::Db,
    source: sled::Tree,
    sink: sled::Tree,
    /// What the herder keeps about connectors besides offsets, as Connect's config and
    /// status topics do: target states set by pause/stop, and active topics.
    meta: sled::Tree,
    witness: Witness,
    /// The first commit that could not be written (full disk, read-only directory): the
    /// worker stops on it rather than go on delivering records it cannot commit.
    write_failure: std::sync::Mutex<Option<(std::io::ErrorKind, String)>>,
    _lock: LockFile,
}

/// Canonical key bytes: `["name",{partition with sorted keys}]`.
fn key_bytes(connector: &str, partition: &JsonMap<String, Json>) -> Vec<u8> {
    let sorted: BTreeMap<&String, &Json> = partition.iter().collect();
    serde_json::to_vec(&(connector, sorted)).expect("JSON of strings and values")
}

fn sink_partition(topic: &str, partition: i32) -> JsonMap<String, Json> {
    let mut m = JsonMap::new();
    m.insert("kafka_topic".into(), Json::String(topic.to_string()));
    m.insert("kafka_partition".into(), Json::from(partition));
    m
}

/// Corruption and failed writes get messages that say what to do; the rest as sled words it.
fn classify(dir: &Path, source: sled::Error) -> StoreError {
    let dir = dir.to_path_buf();
    match source {
        sled::Error::Corruption { .. } => StoreError::Damaged { dir, source },
        sled::Error::Io(e) => StoreError::Write { dir, source: e },
        source => StoreError::Sled { dir, source },
    }
}

impl OffsetStore {
    pub fn open(dir: &Path) -> Result<OffsetStore, StoreError> {
        let lock = lock(dir)?;
        let sled_err = |source| classify(dir, source);
        let db = sled::Config::new()
            .path(dir.join("db"))
            .cache_capacity(4 << 20)
            .mode(sled::Mode::LowSpace)
            .open()
            .map_err(sled_err)?;
        let source = db.open_tree("source").map_err(sled_err)?;
        let sink = db.open_tree("sink").map_err(sled_err)?;
        let meta = db.open_tree("meta").map_err(sled_err)?;
        let write_err = |source| StoreError::Write {
            dir: dir.to_path_buf(),
            source,
        };
        let (witness, recorded) = Witness::load(dir).map_err(write_err)?;
        let mut held = Keys::new();
        for (id, tree) in [(SOURCE, &source), (SINK, &sink)] {
            for k in tree.iter().keys() {
                held.insert((id, k.map_err(sled_err)?.to_vec()));
            }
        }
        match recorded {
            Some(recorded) => {
                let missing: Vec<&(u8, Vec<u8>)> = recorded.difference(&held).collect();
                if let Some((_, first)) = missing.first() {
                    return Err(StoreError::Lost {
                        dir: dir.to_path_buf(),
                        missing: missing.len(),
                        first: String::from_utf8_lossy(first).into_owned(),
                    });
                }
            }
            None if !held.is_empty() => witness.adopt(held).map_err(write_err)?,
            None => {}
        }
        Ok(OffsetStore {
            dir: dir.to_path_buf(),
            db,
            source,
            sink,
            meta,
            witness,
            write_failure: std::sync::Mutex::new(None),
            _lock: lock,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn sled_err(&self, source: sled::Error) -> StoreError {
        classify(&self.dir, source)
    }

    fn write_err(&self, source: std::io::Error) -> StoreError {
        StoreError::Write {
            dir: self.dir.clone(),
            source,
        }
    }

    /// Notes a commit that failed for want of a writable disk (see `write_failure`).
    fn noted<T>(&self, r: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(StoreError::Write { source, .. }) = &r {
            let mut failure = self.write_failure.lock().unwrap_or_else(|e| e.into_inner());
            failure.get_or_insert_with(|| (source.kind(), source.to_string()));
        }
        r
    }

    /// The first commit that could not be written, if one failed: the offsets committed
    /// before stay as they were.
    pub fn write_failure(&self) -> Option<StoreError> {
        let failure = self.write_failure.lock().unwrap_or_else(|e| e.into_inner());
        failure.as_ref().map(|(kind, message)| StoreError::Write {
            dir: self.dir.clone(),
            source: std::io::Error::new(*kind, message.clone()),
        })
    }

    fn decode(&self, bytes: &[u8]) -> Result<Json, StoreError> {
        serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
            dir: self.dir.clone(),
            message: e.to_string(),
        })
    }

    pub fn source_offset(
        &self,
        connector: &str,
        partition: &JsonMap<String, Json>,
    ) -> Result<Option<JsonMap<String, Json>>, StoreError> {
        match self
            .source
            .get(key_bytes(connector, partition))
            .map_err(|e| self.sled_err(e))?
        {
            Some(v) => match self.decode(&v)? {
                Json::Object(m) => Ok(Some(m)),
                _ => Ok(None),
            },
            None => Ok(None),
        }
    }

    /// Writes all offsets of one commit atomically and makes them durable before returning.
    pub fn commit_source<'a>(
        &self,
        connector: &str,
        offsets: impl IntoIterator<Item = (&'a JsonMap<String, Json>, &'a SourceOffset)>,
    ) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        let mut keys = Vec::new();
        for (p, o) in offsets {
            let key = key_bytes(connector, p);
            keys.push(key.clone());
            batch.insert(key, serde_json::to_vec(o).expect("JSON values serialize"));
        }
        self.noted(self.write(&self.source, batch, SOURCE, &keys))
    }

    /// Applies a commit and makes it durable; the witness learns new keys only after that.
    fn write(
        &self,
        tree: &sled::Tree,
        batch: sled::Batch,
        kind: u8,
        keys: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        tree.apply_batch(batch).map_err(|e| self.sled_err(e))?;
        self.db.flush().map_err(|e| self.sled_err(e))?;
        self.witness.add(kind, keys).map_err(|e| self.write_err(e))
    }

    /// The next offset to consume, as committed.
    pub fn sink_offset(
        &self,
        connector: &str,
        topic: &str,
        partition: i32,
    ) -> Result<Option<i64>, StoreError> {
        Ok(self
            .sink_entry(connector, topic, partition)?
            .and_then(|(o, _)| o))
    }

    /// The offset `kconnect offsets set` wrote for this partition, if the sink has not
    /// committed it since.
    pub fn sink_offset_edited(
        &self,
        connector: &str,
        topic: &str,
        partition: i32,
    ) -> Result<Option<i64>, StoreError> {
        Ok(self
            .sink_entry(connector, topic, partition)?
            .and_then(|(o, edited)| o.filter(|_| edited)))
    }

    /// A sink partition's stored offset, and whether an offline edit wrote it.
    fn sink_entry(
        &self,
        connector: &str,
        topic: &str,
        partition: i32,
    ) -> Result<Option<(Option<i64>, bool)>, StoreError> {
        let key = key_bytes(connector, &sink_partition(topic, partition));
        let Some(v) = self.sink.get(key).map_err(|e| self.sled_err(e))? else {
            return Ok(None);
        };
        let o = self.decode(&v)?;
        let edited = o.get(EDITED) == Some(&Json::Bool(true));
        Ok(Some((o.get("kafka_offset").and_then(Json::as_i64), edited)))
    }

    pub fn commit_sink<'a>(
        &self,
        connector: &str,
        offsets: impl IntoIterator<Item = (&'a str, i32, i64)>,
    ) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        let mut keys = Vec::new();
        for (topic, partition, offset) in offsets {
            let key = key_bytes(connector, &sink_partition(topic, partition));
            keys.push(key.clone());
            batch.insert(
                key,
                serde_json::to_vec(&serde_json::json!({ "kafka_offset": offset })).expect("JSON"),
            );
        }
        self.noted(self.write(&self.sink, batch, SINK, &keys))
    }

    pub fn list(&self, connector: Option<&str>) -> Result<Vec<OffsetEntry>, StoreError> {
        let mut out = Vec::new();
        for (tree, kind) in [
            (&self.source, OffsetKind::Source),
            (&self.sink, OffsetKind::Sink),
        ] {
            for item in tree.iter() {
                let (k, v) = item.map_err(|e| self.sled_err(e))?;
                let key = self.decode(&k)?;
                let (name, partition) = match key {
                    Json::Array(mut a) if a.len() == 2 => {
                        let p = a.pop().unwrap_or(Json::Null);
                        (
                            a.pop()
                                .and_then(|n| n.as_str().map(String::from))
                                .unwrap_or_default(),
                            p,
                        )
                    }
                    other => {
                        return Err(StoreError::Corrupt {
                            dir: self.dir.clone(),
                            message: format!("unexpected key {other}"),
                        })
                    }
                };
                if connector.is_some_and(|c| c != name) {
                    continue;
                }
                let mut offset = self.decode(&v)?;
                if let Json::Object(o) = &mut offset {
                    o.remove(EDITED);
                }
                out.push(OffsetEntry {
                    connector: name,
                    kind,
                    partition,
                    offset,
                });
            }
        }
        Ok(out)
    }

    /// The names of the connectors with offsets here, sorted, for messages about a name
    /// the store does not know.
    pub fn connectors(&self) -> Result<Vec<String>, StoreError> {
        let mut names: Vec<String> = self.list(None)?.into_iter().map(|e| e.connector).collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Forgets every offset of a connector; returns how many partitions were removed.
    pub fn reset(&self, connector: &str) -> Result<usize, StoreError> {
        let entries = self.list(Some(connector))?;
        let keys = |kind| -> Vec<Vec<u8>> {
            entries
                .iter()
                .filter(|e| e.kind == kind)
                .map(|e| {
                    key_bytes(
                        connector,
                        &e.partition.as_object().cloned().unwrap_or_default(),
                    )
                })
                .collect()
        };
        for (id, kind, tree) in [
            (SOURCE, OffsetKind::Source, &self.source),
            (SINK, OffsetKind::Sink, &self.sink),
        ] {
            let keys = keys(kind);
            self.witness
                .remove(id, &keys)
                .map_err(|e| self.write_err(e))?;
            for k in keys {
                tree.remove(k).map_err(|e| self.sled_err(e))?;
            }
        }
        if entries.iter().any(|e| e.kind == OffsetKind::Sink) {
            self.meta_set("sink-reset", connector, Some(&Json::Bool(true)))?;
        }
        self.db.flush().map_err(|e| self.sled_err(e))?;
        Ok(entries.len())
    }

    /// Sets (or with `None`, removes) one partition's offset.
    pub fn set(
        &self,
        connector: &str,
        kind: OffsetKind,
        partition: &JsonMap<String, Json>,
        offset: Option<&JsonMap<String, Json>>,
    ) -> Result<(), StoreError> {
        let (tree, id) = match kind {
            OffsetKind::Source => (&self.source, SOURCE),
            OffsetKind::Sink => (&self.sink, SINK),
        };
        let key = key_bytes(connector, partition);
        match offset {
            Some(o) => {
                let mut o = o.clone();
                if kind == OffsetKind::Sink {
                    // Until the sink next commits this partition (which rewrites the entry
                    // without it): an explicit edit, which a shared sink (subscribe mode)
                    // takes over its consumer group's offset.
                    o.insert(EDITED.into(), Json::Bool(true));
                }
                tree.insert(key.clone(), serde_json::to_vec(&o).expect("JSON map"))
                    .map_err(|e| self.sled_err(e))?;
                self.db.flush().map_err(|e| self.sled_err(e))?;
                self.witness
                    .add(id, &[key])
                    .map_err(|e| self.write_err(e))?;
            }
            None => {
                self.witness
                    .remove(id, std::slice::from_ref(&key))
                    .map_err(|e| self.write_err(e))?;
                tree.remove(key).map_err(|e| self.sled_err(e))?;
                if kind == OffsetKind::Sink {
                    self.meta_set("sink-reset", connector, Some(&Json::Bool(true)))?;
                }
                self.db.flush().map_err(|e| self.sled_err(e))?;
            }
        }
        Ok(())
    }
}

impl OffsetStore {
    fn meta_get(&self, kind: &str, connector: &str) -> Result<Option<Json>, StoreError> {
        let key = serde_json::to_vec(&(kind, connector)).expect("JSON of strings");
        match self.meta.get(key).map_err(|e| self.sled_err(e))? {
            Some(v) => Ok(Some(self.decode(&v)?)),
            None => Ok(None),
        }
    }

    fn meta_set(
        &self,
        kind: &str,
        connector: &str,
        value: Option<&Json>,
    ) -> Result<(), StoreError> {
        let key = serde_json::to_vec(&(kind, connector)).expect("JSON of strings");
        match value {
            Some(v) => self
                .meta
                .insert(key, serde_json::to_vec(v).expect("JSON"))
                .map(|_| ()),
            None => self.meta.remove(key).map(|_| ()),
        }
        .map_err(|e| self.sled_err(e))?;
        self.db.flush().map_err(|e| self.sled_err(e))?;
        Ok(())
    }

    /// The target state set through the REST API (`PAUSED`, `STOPPED`), if any: it outlives
    /// a restart of kconnect, as it outlives one of a Connect worker.
    pub fn target_state(&self, connector: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .meta_get("state", connector)?
            .and_then(|v| v.as_str().map(String::from)))
    }

    /// `None` forgets it: the connector starts as its file says.
    pub fn set_target_state(&self, connector: &str, state: Option<&str>) -> Result<(), StoreError> {
        self.meta_set("state", connector, state.map(Json::from).as_ref())
    }

    /// Where `kconnect export` moved the connector (`{"to": URL, "at": time}`), if it did: its
    /// target state is then STOPPED here, and stays so until `kconnect import` brings it back,
    /// so it never runs in two places at once.
    pub fn moved(&self, connector: &str) -> Result<Option<Json>, StoreError> {
        self.meta_get("moved", connector)
    }

    /// Marks the connector as moved away (STOPPED here, with where it went), or with `None`
    /// as back here (the target state is forgotten: it starts as its file says).
    pub fn set_moved(&self, connector: &str, to: Option<&Json>) -> Result<(), StoreError> {
        match to {
            Some(v) => {
                self.meta_set("state", connector, Some(&Json::from("STOPPED")))?;
                self.meta_set("moved", connector, Some(v))
            }
            None => {
                self.meta_set("moved", connector, None)?;
                self.meta_set("state", connector, None)
            }
        }
    }

    /// Whether sink offsets of this connector were removed from the store (reset, or one
    /// partition set to null). A sink resumes a partition the store has no offset for from its
    /// consumer group's committed offset; after such an edit that offset is the one the user
    /// meant to forget, so the partition starts as `auto.offset.reset` says instead, and the
    /// group follows at the sink's next commit. Works without a broker, as `offsets` edits do.
    pub fn sink_offsets_reset(&self, connector: &str) -> Result<bool, StoreError> {
        Ok(self.meta_get("sink-reset", connector)? == Some(Json::Bool(true)))
    }

    /// The topics the connector used since its topics were last reset (KIP-558).
    pub fn active_topics(&self, connector: &str) -> Result<Vec<String>, StoreError> {
        Ok(match self.meta_get("topics", connector)? {
            Some(Json::Array(a)) => a
                .into_iter()
                .filter_map(|t| t.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        })
    }

    pub fn set_active_topics(&self, connector: &str, topics: &[String]) -> Result<(), StoreError> {
        let value = (!topics.is_empty()).then(|| Json::from(topics.to_vec()));
        self.meta_set("topics", connector, value.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Json) -> JsonMap<String, Json> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn source_offsets_round_trip_and_survive_reopen() {
        let d = tempfile::tempdir().unwrap();
        let p = map(json!({"filename": "/tmp/in.txt"}));
        {
            let s = OffsetStore::open(d.path()).unwrap();
            s.commit_source("file-src", [(&p, &map(json!({"position": 42})).into())])
                .unwrap();
            s.commit_sink("file-sink", [("t", 0, 7)]).unwrap();
        }
        let s = OffsetStore::open(d.path()).unwrap();
        assert_eq!(
            s.source_offset("file-src", &p).unwrap().unwrap()["position"],
            42
        );
        assert_eq!(s.sink_offset("file-sink", "t", 0).unwrap(), Some(7));
        let all = s.list(None).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].partition, json!({"filename": "/tmp/in.txt"}));
        assert_eq!(
            all[1].partition,
            json!({"kafka_partition": 0, "kafka_topic": "t"})
        );
        assert_eq!(s.reset("file-src").unwrap(), 1);
        assert!(s.source_offset("file-src", &p).unwrap().is_none());
    }

    #[test]
    fn an_offline_sink_edit_is_marked_until_the_sink_commits_the_partition() {
        let d = tempfile::tempdir().unwrap();
        let s = OffsetStore::open(d.path()).unwrap();
        s.commit_sink("snk", [("t", 0, 10)]).unwrap();
        assert_eq!(s.sink_offset_edited("snk", "t", 0).unwrap(), None);
        let p = map(json!({"kafka_topic": "t", "kafka_partition": 0}));
        s.set(
            "snk",
            OffsetKind::Sink,
            &p,
            Some(&map(json!({"kafka_offset": 4}))),
        )
        .unwrap();
        assert_eq!(s.sink_offset_edited("snk", "t", 0).unwrap(), Some(4));
        assert_eq!(s.sink_offset("snk", "t", 0).unwrap(), Some(4));
        // The mark is kconnect's own: neither `offsets list` nor the REST API shows it.
        assert_eq!(
            s.list(Some("snk")).unwrap()[0].offset,
            json!({"kafka_offset": 4})
        );
        s.commit_sink("snk", [("t", 0, 6)]).unwrap();
        assert_eq!(s.sink_offset_edited("snk", "t", 0).unwrap(), None);
        assert_eq!(s.sink_offset("snk", "t", 0).unwrap(), Some(6));
    }

    #[test]
    fn partition_key_order_does_not_matter() {
        let d = tempfile::tempdir().unwrap();
        let s = OffsetStore::open(d.path()).unwrap();
        let a = map(json!({"a": 1, "b": 2}));
        let mut b = JsonMap::new();
        b.insert("b".into(), json!(2));
        b.insert("a".into(), json!(1));
        s.commit_source("c", [(&a, &map(json!({"x": 1})).into())])
            .unwrap();
        assert!(s.source_offset("c", &b).unwrap().is_some());
    }

    #[test]
    fn second_open_is_refused_with_the_holder_pid() {
        let d = tempfile::tempdir().unwrap();
        let _first = OffsetStore::open(d.path()).unwrap();
        // flock is per open file description, so a second open in this process conflicts too.
        match OffsetStore::open(d.path()) {
            Err(StoreError::Locked { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("second open succeeded"),
        }
    }

    #[test]
    fn target_states_and_topics_survive_reopen() {
        let d = tempfile::tempdir().unwrap();
        {
            let s = OffsetStore::open(d.path()).unwrap();
            s.set_target_state("a", Some("PAUSED")).unwrap();
            s.set_target_state("b", Some("STOPPED")).unwrap();
            s.set_target_state("b", None).unwrap();
            s.set_active_topics("a", &["t1".into(), "t2".into()])
                .unwrap();
        }
        let s = OffsetStore::open(d.path()).unwrap();
        assert_eq!(s.target_state("a").unwrap().as_deref(), Some("PAUSED"));
        assert_eq!(s.target_state("b").unwrap(), None);
        assert_eq!(s.active_topics("a").unwrap(), vec!["t1", "t2"]);
        assert!(s.active_topics("b").unwrap().is_empty());
        // Offsets listings do not see them.
        assert!(s.list(None).unwrap().is_empty());
    }

    #[test]
    fn a_damaged_store_is_reported_and_never_read_as_empty() {
        let d = tempfile::tempdir().unwrap();
        {
            let s = OffsetStore::open(d.path()).unwrap();
            let p = json!({"filename": "/in"});
            s.set(
                "src",
                OffsetKind::Source,
                p.as_object().unwrap(),
                json!({"position": 3}).as_object(),
            )
            .unwrap();
            s.commit_sink("sink", [("t", 0, 7)]).unwrap();
        }
        // Bytes flipped in sled's log: sled takes the damage for a torn write and drops what
        // follows, so the store would open empty; the witness says it is not.
        let file = d.path().join("db").join("db");
        let mut bytes = std::fs::read(&file).unwrap();
        for b in bytes.iter_mut().skip(100).take(200) {
            *b ^= 0x5a;
        }
        std::fs::write(&file, &bytes).unwrap();
        for attempt in 0..2 {
            let e = OffsetStore::open(d.path())
                .and_then(|s| s.list(None))
                .err()
                .unwrap_or_else(|| panic!("attempt {attempt}: a damaged store was read"));
            assert!(
                matches!(e, StoreError::Damaged { .. } | StoreError::Lost { .. }),
                "{e:?}"
            );
            let m = e.to_string();
            assert!(m.contains("is damaged") && m.contains("restore"), "{m}");
        }
    }

    #[test]
    fn the_witness_follows_edits_and_adopts_an_older_store() {
        let d = tempfile::tempdir().unwrap();
        let p = json!({"filename": "/in"});
        {
            let s = OffsetStore::open(d.path()).unwrap();
            s.set(
                "a",
                OffsetKind::Source,
                p.as_object().unwrap(),
                json!({"position": 1}).as_object(),
            )
            .unwrap();
            s.commit_sink("b", [("t", 0, 7), ("t", 1, 8)]).unwrap();
            s.reset("b").unwrap();
            s.set("a", OffsetKind::Source, p.as_object().unwrap(), None)
                .unwrap();
            s.commit_sink("c", [("t", 0, 1)]).unwrap();
        }
        // Removed partitions are not missed, kept ones are there.
        let s = OffsetStore::open(d.path()).unwrap();
        assert_eq!(s.list(None).unwrap().len(), 1);
        drop(s);
        // A store from before the witness: it is started from what the store holds.
        std::fs::remove_file(d.path().join("partitions.json")).unwrap();
        drop(OffsetStore::open(d.path()).unwrap());
        let text = std::fs::read_to_string(d.path().join("partitions.json")).unwrap();
        assert!(text.contains("kafka_topic"), "{text}");
    }

    #[test]
    fn removing_sink_offsets_is_remembered_and_source_resets_are_not() {
        let d = tempfile::tempdir().unwrap();
        let s = OffsetStore::open(d.path()).unwrap();
        let sink_p = json!({"kafka_topic": "t", "kafka_partition": 0});
        let sink_o = json!({"kafka_offset": 5});
        let src_p = json!({"filename": "/in"});
        let src_o = json!({"position": 3});
        for (c, kind, p, o) in [
            ("sink", OffsetKind::Sink, &sink_p, &sink_o),
            ("one", OffsetKind::Sink, &sink_p, &sink_o),
            ("src", OffsetKind::Source, &src_p, &src_o),
        ] {
            s.set(c, kind, p.as_object().unwrap(), o.as_object())
                .unwrap();
            assert!(!s.sink_offsets_reset(c).unwrap());
        }
        s.reset("sink").unwrap();
        s.set("one", OffsetKind::Sink, sink_p.as_object().unwrap(), None)
            .unwrap();
        s.reset("src").unwrap();
        assert!(s.sink_offsets_reset("sink").unwrap());
        assert!(s.sink_offsets_reset("one").unwrap());
        assert!(!s.sink_offsets_reset("src").unwrap());
    }
}
