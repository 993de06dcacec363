//! Connector files as the source of truth: what the REST API creates, changes and deletes is
//! written back to the connectors directory, atomically (a crash leaves the old file or the
//! new one, never half of one), in the form the file already had.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::config::properties;
use crate::runtime::control::ControlError;

/// Where connectors the REST API creates are written.
#[derive(Clone, Debug)]
pub struct ConnectorFiles {
    dir: Option<PathBuf>,
}

/// The worker key that names the directory when `run` was not given exactly one.
pub const DIR_KEY: &str = "kconnect.connectors.dir";

impl ConnectorFiles {
    /// `configured`: the worker key's value; otherwise the one directory `run` was given.
    pub fn new(configured: Option<PathBuf>, run_paths: &[PathBuf]) -> ConnectorFiles {
        let dir = configured.or_else(|| match run_paths {
            [one] if one.is_dir() => Some(one.clone()),
            _ => None,
        });
        ConnectorFiles { dir }
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// A new file for connector `name`: `<name>.json`, its characters made safe for a file
    /// name, with a number added when a file of that name exists.
    pub fn path_for_new(&self, name: &str) -> Result<PathBuf, ControlError> {
        let Some(dir) = &self.dir else {
            return Err(ControlError::BadRequest(format!(
                "cannot create connector {name}: kconnect was started with connector files rather than one directory, so it has nowhere to write a new one; set the worker key {DIR_KEY} to a directory, or start kconnect run with a directory"
            )));
        };
        let stem: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let stem = stem.trim_start_matches('.');
        let stem = if stem.is_empty() { "connector" } else { stem };
        let mut path = dir.join(format!("{stem}.json"));
        let mut n = 2;
        while path.exists() {
            path = dir.join(format!("{stem}-{n}.json"));
            n += 1;
        }
        Ok(path)
    }
}

/// The file's new text: `.properties` stay properties (comments are not kept), JSON becomes
/// Connect's REST body `{"name", "config"}`.
pub fn render(path: &Path, name: &str, written: &BTreeMap<String, String>) -> String {
    if path.extension().and_then(|e| e.to_str()) == Some("properties") {
        return properties::write(
            written,
            &format!("connector {name}, written by kconnect's REST API"),
        );
    }
    let body = json!({ "name": name, "config": written });
    let mut text = serde_json::to_string_pretty(&body).expect("JSON of strings");
    text.push('\n');
    text
}

/// Writes `text` to `path` through a temporary file beside it, synced and renamed over it,
/// then syncs the directory so the rename itself survives a power cut.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), ControlError> {
    let failed = |what: &str, e: std::io::Error| {
        ControlError::Internal(format!(
            "cannot write connector file {}: {what}: {e}; check that the directory exists and is writable",
            path.display()
        ))
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Not *.json or *.properties, so a reload never reads a half-written temporary file.
    let tmp = dir.join(format!(".{file_name}.kconnect-tmp"));
    let mut f = std::fs::File::create(&tmp).map_err(|e| failed("create", e))?;
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| failed("write", e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        failed("rename", e)
    })?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

pub fn remove(path: &Path) -> Result<(), ControlError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ControlError::Internal(format!(
            "cannot remove connector file {}: {e}; remove it by hand, or it is started again at the next start",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::loader::load_connector_file;

    fn cfg(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn written_files_load_back_as_the_same_connector() {
        let d = tempfile::tempdir().unwrap();
        let written = cfg(&[
            ("name", "orders sink"),
            ("connector.class", "FileStreamSink"),
            ("file", "/tmp/out é.txt"),
            ("topics", "orders"),
            ("secret", "${env:PASSWORD}"),
        ]);
        for file in ["a.json", "b.properties"] {
            let path = d.path().join(file);
            write_atomic(&path, &render(&path, "orders sink", &written)).unwrap();
            let back = load_connector_file(&path).unwrap();
            assert_eq!(back.name, "orders sink");
            assert_eq!(back.config, written, "{file}");
        }
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn new_files_get_safe_unique_names_or_a_clear_refusal() {
        let d = tempfile::tempdir().unwrap();
        let files = ConnectorFiles::new(None, &[d.path().to_path_buf()]);
        let p = files.path_for_new("../etc/passwd x").unwrap();
        assert_eq!(p, d.path().join("_etc_passwd_x.json"));
        std::fs::write(&p, "{}").unwrap();
        assert_eq!(
            files.path_for_new("../etc/passwd x").unwrap(),
            d.path().join("_etc_passwd_x-2.json")
        );
        let none = ConnectorFiles::new(None, &[d.path().join("a.json")]);
        let e = none.path_for_new("x").unwrap_err();
        assert_eq!(e.http_status(), 400);
        assert!(e.to_string().contains(DIR_KEY), "{e}");
    }
}
