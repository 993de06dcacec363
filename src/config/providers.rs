//! Config providers (`config.providers`), so secrets stay out of connector files:
//! `${env:NAME}`, `${file:/path/secrets.properties:key}` and `${directory:/path:file}`,
//! resolved as Connect's `ConfigTransformer` does.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use regex::Regex;

pub const ENV_CLASS: &str = "org.apache.kafka.common.config.provider.EnvVarConfigProvider";
pub const FILE_CLASS: &str = "org.apache.kafka.common.config.provider.FileConfigProvider";
pub const DIRECTORY_CLASS: &str = "org.apache.kafka.common.config.provider.DirectoryConfigProvider";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Env,
    File,
    Directory,
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("config.providers names '{alias}' but config.providers.{alias}.class is not set; set it to {ENV_CLASS}, {FILE_CLASS} or {DIRECTORY_CLASS}")]
    MissingClass { alias: String },
    #[error("config.providers.{alias}.class = {class} is not a provider kconnect has; use {ENV_CLASS}, {FILE_CLASS} or {DIRECTORY_CLASS}")]
    UnknownClass { alias: String, class: String },
    #[error("{key}: ${{{reference}}} could not be resolved: {reason}")]
    Unresolved {
        key: String,
        reference: String,
        reason: String,
    },
}

/// The providers a worker config declares.
#[derive(Clone, Debug, Default)]
pub struct Providers {
    by_alias: HashMap<String, Kind>,
}

fn reference_pattern() -> &'static Regex {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\$\{([^}]*?):(?:([^}]*?):)?([^}]*?)\}").expect("static regex"))
}

impl Providers {
    pub fn from_worker(worker: &BTreeMap<String, String>) -> Result<Providers, ProviderError> {
        let mut by_alias = HashMap::new();
        if let Some(list) = worker.get("config.providers") {
            for alias in crate::api::split_list(list) {
                let class = worker
                    .get(&format!("config.providers.{alias}.class"))
                    .ok_or_else(|| ProviderError::MissingClass {
                        alias: alias.to_string(),
                    })?;
                let kind = match class.trim() {
                    ENV_CLASS => Kind::Env,
                    FILE_CLASS => Kind::File,
                    DIRECTORY_CLASS => Kind::Directory,
                    other => {
                        return Err(ProviderError::UnknownClass {
                            alias: alias.to_string(),
                            class: other.to_string(),
                        })
                    }
                };
                by_alias.insert(alias.to_string(), kind);
            }
        }
        Ok(Providers { by_alias })
    }

    /// Providers enabled without a worker file, for tests and `validate` hints.
    pub fn with_defaults() -> Providers {
        let mut by_alias = HashMap::new();
        by_alias.insert("env".to_string(), Kind::Env);
        by_alias.insert("file".to_string(), Kind::File);
        by_alias.insert("directory".to_string(), Kind::Directory);
        Providers { by_alias }
    }

    pub fn is_empty(&self) -> bool {
        self.by_alias.is_empty()
    }

    /// Aliases referenced in `values` that no provider answers to; Connect leaves such
    /// references as they are, which is almost always a mistake worth reporting.
    pub fn unknown_references(&self, values: &BTreeMap<String, String>) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (k, v) in values {
            for cap in reference_pattern().captures_iter(v) {
                let alias = &cap[1];
                if !self.by_alias.contains_key(alias) {
                    out.push((k.clone(), alias.to_string()));
                }
            }
        }
        out
    }

    /// Replaces every reference to a configured provider. Unknown aliases stay literal.
    pub fn resolve(&self, values: &mut BTreeMap<String, String>) -> Result<(), ProviderError> {
        let mut file_cache: HashMap<String, BTreeMap<String, String>> = HashMap::new();
        for (key, value) in values.iter_mut() {
            if !value.contains("${") {
                continue;
            }
            let mut err = None;
            let replaced = reference_pattern().replace_all(value, |cap: &regex::Captures| {
                let whole = cap[0].to_string();
                let alias = &cap[1];
                let Some(kind) = self.by_alias.get(alias) else {
                    return whole;
                };
                let path = cap.get(2).map(|m| m.as_str()).unwrap_or("");
                let name = &cap[3];
                let result = match kind {
                    Kind::Env => std::env::var(name)
                        .map_err(|_| format!("environment variable {name} is not set")),
                    Kind::File => {
                        if !file_cache.contains_key(path) {
                            match std::fs::read_to_string(path) {
                                Ok(text) => match super::properties::parse(&text) {
                                    Ok(p) => {
                                        file_cache.insert(path.to_string(), p);
                                    }
                                    Err(e) => {
                                        err.get_or_insert(ProviderError::Unresolved {
                                            key: key.clone(),
                                            reference: whole[2..whole.len() - 1].to_string(),
                                            reason: format!("{path}: {e}"),
                                        });
                                        return whole;
                                    }
                                },
                                Err(e) => {
                                    err.get_or_insert(ProviderError::Unresolved {
                                        key: key.clone(),
                                        reference: whole[2..whole.len() - 1].to_string(),
                                        reason: format!("cannot read {path}: {e}"),
                                    });
                                    return whole;
                                }
                            }
                        }
                        file_cache[path]
                            .get(name)
                            .cloned()
                            .ok_or_else(|| format!("{path} has no key {name}"))
                    }
                    Kind::Directory => std::fs::read_to_string(Path::new(path).join(name))
                        .map_err(|e| format!("cannot read {path}/{name}: {e}")),
                };
                match result {
                    Ok(v) => v,
                    Err(reason) => {
                        err.get_or_insert(ProviderError::Unresolved {
                            key: key.clone(),
                            reference: whole[2..whole.len() - 1].to_string(),
                            reason,
                        });
                        whole
                    }
                }
            });
            if let Some(e) = err {
                return Err(e);
            }
            *value = replaced.into_owned();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_env_and_file_references() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = dir.path().join("secrets.properties");
        std::fs::write(&secrets, "db.password=s3cret\n").unwrap();
        std::env::set_var("KCONNECT_TEST_PROVIDER_USER", "alice");
        let mut worker = BTreeMap::new();
        worker.insert("config.providers".into(), "env,file".into());
        worker.insert("config.providers.env.class".into(), ENV_CLASS.into());
        worker.insert("config.providers.file.class".into(), FILE_CLASS.into());
        let p = Providers::from_worker(&worker).unwrap();
        let mut cfg = BTreeMap::new();
        cfg.insert("user".into(), "${env:KCONNECT_TEST_PROVIDER_USER}".into());
        cfg.insert(
            "password".into(),
            format!("${{file:{}:db.password}}", secrets.display()),
        );
        cfg.insert("other".into(), "${vault:x}".into());
        p.resolve(&mut cfg).unwrap();
        assert_eq!(cfg["user"], "alice");
        assert_eq!(cfg["password"], "s3cret");
        assert_eq!(
            cfg["other"], "${vault:x}",
            "unknown providers stay literal, as in Connect"
        );
        assert_eq!(
            p.unknown_references(&cfg),
            vec![("other".to_string(), "vault".to_string())]
        );
    }

    #[test]
    fn missing_variable_names_key_without_value() {
        let p = Providers::with_defaults();
        let mut cfg = BTreeMap::new();
        cfg.insert(
            "database.password".into(),
            "${env:KCONNECT_SURELY_UNSET_VAR}".into(),
        );
        let e = p.resolve(&mut cfg).unwrap_err().to_string();
        assert!(
            e.contains("database.password") && e.contains("KCONNECT_SURELY_UNSET_VAR"),
            "{e}"
        );
    }

    #[test]
    fn unknown_provider_class_is_an_error() {
        let mut worker = BTreeMap::new();
        worker.insert("config.providers".into(), "vault".into());
        worker.insert(
            "config.providers.vault.class".into(),
            "com.example.Vault".into(),
        );
        assert!(Providers::from_worker(&worker).is_err());
    }
}
