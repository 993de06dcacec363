//! Reading connector and worker files in every form `connect-standalone` accepts: a flat JSON
//! object with `name`, the REST body `{"name", "config", "initial_state"}`, and `.properties`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetState {
    Running,
    Paused,
    Stopped,
}

impl fmt::Display for TargetState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TargetState::Running => "RUNNING",
            TargetState::Paused => "PAUSED",
            TargetState::Stopped => "STOPPED",
        })
    }
}

#[derive(Clone, Debug)]
pub struct ConnectorFile {
    pub path: PathBuf,
    pub name: String,
    pub config: BTreeMap<String, String>,
    pub initial_state: TargetState,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not valid JSON: {message} (line {line}, column {column})")]
    Json {
        path: PathBuf,
        message: String,
        line: usize,
        column: usize,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{path}: the connector has no name; add \"name\" (JSON) or name=... (.properties)")]
    NoName { path: PathBuf },
    #[error("{path}: not a connector file: kconnect reads *.json and *.properties")]
    UnknownExtension { path: PathBuf },
    #[error("{path}: no such file or directory")]
    Missing { path: PathBuf },
}

impl LoadError {
    pub fn path(&self) -> &Path {
        match self {
            LoadError::Io { path, .. }
            | LoadError::Json { path, .. }
            | LoadError::Invalid { path, .. }
            | LoadError::NoName { path }
            | LoadError::UnknownExtension { path }
            | LoadError::Missing { path } => path,
        }
    }
}

fn invalid(path: &Path, message: impl Into<String>) -> LoadError {
    LoadError::Invalid {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Expands the command line's paths: a directory stands for its `*.json` and `*.properties`
/// files in name order; files are taken as named.
pub fn collect_paths(args: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut out = Vec::new();
    for arg in args {
        if arg.is_dir() {
            let entries = std::fs::read_dir(arg).map_err(|source| LoadError::Io {
                path: arg.clone(),
                source,
            })?;
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && is_connector_file(p))
                .collect();
            files.sort();
            out.extend(files);
        } else if arg.exists() {
            out.push(arg.clone());
        } else {
            return Err(LoadError::Missing { path: arg.clone() });
        }
    }
    Ok(out)
}

fn is_connector_file(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("json") | Some("properties")
    )
}

/// Reads a file of settings (`.properties` or a flat JSON object) into strings.
pub fn read_settings(path: &Path) -> Result<BTreeMap<String, String>, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_settings(path, &text)
}

/// [`read_settings`] on text already read: `path` only picks the form (its extension) and
/// names the file in errors. Public for the fuzz targets (`fuzz/`), which feed it bytes.
pub fn parse_settings(path: &Path, text: &str) -> Result<BTreeMap<String, String>, LoadError> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => {
            let json = parse_json(path, text)?;
            let obj = json
                .as_object()
                .ok_or_else(|| invalid(path, "expected a JSON object of settings"))?;
            flat_strings(path, obj, "")
        }
        _ => super::properties::parse(text).map_err(|m| invalid(path, m)),
    }
}

fn parse_json(path: &Path, text: &str) -> Result<Json, LoadError> {
    serde_json::from_str(text).map_err(|e| LoadError::Json {
        path: path.to_path_buf(),
        message: e
            .to_string()
            .split(" at line")
            .next()
            .unwrap_or("")
            .to_string(),
        line: e.line(),
        column: e.column(),
    })
}

/// Connect's configs are strings; JSON numbers and booleans are accepted as their text.
fn flat_strings(
    path: &Path,
    obj: &serde_json::Map<String, Json>,
    context: &str,
) -> Result<BTreeMap<String, String>, LoadError> {
    let mut out = BTreeMap::new();
    for (k, v) in obj {
        let s = match v {
            Json::String(s) => s.clone(),
            Json::Number(n) => n.to_string(),
            Json::Bool(b) => b.to_string(),
            Json::Null => continue,
            _ => {
                return Err(invalid(
                    path,
                    format!(
                        "{context}{k}: values must be strings, numbers or booleans, not {}",
                        json_kind(v)
                    ),
                ))
            }
        };
        out.insert(k.clone(), s);
    }
    Ok(out)
}

fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
        _ => "this",
    }
}

pub fn load_connector_file(path: &Path) -> Result<ConnectorFile, LoadError> {
    if !is_connector_file(path) {
        return Err(LoadError::UnknownExtension {
            path: path.to_path_buf(),
        });
    }
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_connector_file(path, &text)
}

/// [`load_connector_file`] on text already read: `path` picks the form (`.json` or anything
/// else as `.properties`) and names the file in errors. Public for the fuzz targets (`fuzz/`),
/// which feed it bytes without a file system.
pub fn parse_connector_file(path: &Path, text: &str) -> Result<ConnectorFile, LoadError> {
    let is_json = path.extension().and_then(|e| e.to_str()) == Some("json");
    let (name, config, state) = if is_json {
        let json = parse_json(path, text)?;
        let obj = json
            .as_object()
            .ok_or_else(|| invalid(path, "expected a JSON object"))?;
        match obj.get("config") {
            // The REST body form.
            Some(Json::Object(cfg)) => {
                let mut config = flat_strings(path, cfg, "config.")?;
                let name = match obj.get("name") {
                    Some(Json::String(n)) => n.clone(),
                    Some(_) => return Err(invalid(path, "\"name\" must be a string")),
                    None => config
                        .get("name")
                        .cloned()
                        .ok_or_else(|| LoadError::NoName {
                            path: path.to_path_buf(),
                        })?,
                };
                if let Some(inner) = config.get("name") {
                    if *inner != name {
                        return Err(invalid(
                            path,
                            format!("config.name \"{inner}\" differs from name \"{name}\"; they must be equal"),
                        ));
                    }
                }
                config.insert("name".into(), name.clone());
                let state = match obj.get("initial_state") {
                    None | Some(Json::Null) => TargetState::Running,
                    Some(Json::String(s)) => parse_state(path, s)?,
                    Some(_) => return Err(invalid(path, "initial_state must be a string")),
                };
                for k in obj.keys() {
                    if !matches!(k.as_str(), "name" | "config" | "initial_state" | "tasks") {
                        return Err(invalid(
                            path,
                            format!("unexpected top-level key \"{k}\" next to \"config\"; a REST body holds name, config and initial_state"),
                        ));
                    }
                }
                (name, config, state)
            }
            Some(_) => return Err(invalid(path, "\"config\" must be an object of settings")),
            None => {
                let config = flat_strings(path, obj, "")?;
                let name = config
                    .get("name")
                    .cloned()
                    .ok_or_else(|| LoadError::NoName {
                        path: path.to_path_buf(),
                    })?;
                (name, config, TargetState::Running)
            }
        }
    } else {
        let config = super::properties::parse(text).map_err(|m| invalid(path, m))?;
        let name = config
            .get("name")
            .cloned()
            .ok_or_else(|| LoadError::NoName {
                path: path.to_path_buf(),
            })?;
        (name, config, TargetState::Running)
    };
    if name.trim().is_empty() {
        return Err(LoadError::NoName {
            path: path.to_path_buf(),
        });
    }
    Ok(ConnectorFile {
        path: path.to_path_buf(),
        name,
        config,
        initial_state: state,
    })
}

fn parse_state(path: &Path, s: &str) -> Result<TargetState, LoadError> {
    match s.to_ascii_uppercase().as_str() {
        "RUNNING" => Ok(TargetState::Running),
        "PAUSED" => Ok(TargetState::Paused),
        "STOPPED" => Ok(TargetState::Stopped),
        _ => Err(invalid(
            path,
            format!("initial_state \"{s}\" is not one of RUNNING, PAUSED, STOPPED"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn reads_all_three_forms() {
        let d = tempfile::tempdir().unwrap();
        let flat = write(
            d.path(),
            "a.json",
            r#"{"name":"a","connector.class":"FileStreamSource","tasks.max":1,"x":true}"#,
        );
        let rest = write(
            d.path(),
            "b.json",
            r#"{"name":"b","config":{"connector.class":"FileStreamSink","tasks.max":"1"},"initial_state":"PAUSED"}"#,
        );
        let props = write(
            d.path(),
            "c.properties",
            "name=c\nconnector.class=FileStreamSink\n",
        );
        let a = load_connector_file(&flat).unwrap();
        assert_eq!(a.config["tasks.max"], "1");
        assert_eq!(a.config["x"], "true");
        let b = load_connector_file(&rest).unwrap();
        assert_eq!(b.name, "b");
        assert_eq!(b.config["name"], "b");
        assert_eq!(b.initial_state, TargetState::Paused);
        let c = load_connector_file(&props).unwrap();
        assert_eq!(c.config["connector.class"], "FileStreamSink");
        let all = collect_paths(&[d.path().to_path_buf()]).unwrap();
        assert_eq!(all.len(), 3);
        assert!(all.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn bad_files_say_where_and_what() {
        let d = tempfile::tempdir().unwrap();
        let bad = write(
            d.path(),
            "bad.json",
            "{\"name\": \"x\",\n \"connector.class\" }",
        );
        let e = load_connector_file(&bad).unwrap_err().to_string();
        assert!(e.contains("bad.json") && e.contains("line 2"), "{e}");
        let noname = write(d.path(), "n.properties", "connector.class=X\n");
        let e = load_connector_file(&noname).unwrap_err().to_string();
        assert!(e.contains("n.properties") && e.contains("no name"), "{e}");
        let mismatch = write(d.path(), "m.json", r#"{"name":"a","config":{"name":"b"}}"#);
        assert!(load_connector_file(&mismatch)
            .unwrap_err()
            .to_string()
            .contains("differs"));
        let nested = write(d.path(), "o.json", r#"{"name":"a","x":{"y":1}}"#);
        assert!(load_connector_file(&nested)
            .unwrap_err()
            .to_string()
            .contains("x: values must be"));
    }
}
