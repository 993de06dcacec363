//! Single message transforms and predicates (`org.apache.kafka.connect.transforms.*`), run by
//! the worker: for sources between the task's poll and the converter, for sinks between the
//! converter and the task's put.

use std::collections::BTreeMap;

use crate::api::{split_list, unknown_class_message, validate_keys, PluginDesc, Problem, Settings};
use crate::data::ConnectRecord;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TransformError(pub String);

impl TransformError {
    pub fn new(msg: impl Into<String>) -> TransformError {
        TransformError(msg.into())
    }
}

impl From<crate::data::DataError> for TransformError {
    fn from(e: crate::data::DataError) -> Self {
        TransformError(e.0)
    }
}

pub trait Transformation: Send {
    /// Returns `None` to drop the record (Filter, ExtractNewRecordState's `drop`).
    fn apply(&mut self, record: ConnectRecord) -> Result<Option<ConnectRecord>, TransformError>;
}

pub trait Predicate: Send {
    fn test(&self, record: &ConnectRecord) -> bool;
}

#[derive(Clone, Copy)]
pub struct TransformPlugin {
    pub desc: PluginDesc,
    pub create: fn(&Settings<'_>) -> Result<Box<dyn Transformation>, Problem>,
}

#[derive(Clone, Copy)]
pub struct PredicatePlugin {
    pub desc: PluginDesc,
    pub create: fn(&Settings<'_>) -> Result<Box<dyn Predicate>, Problem>,
}

pub fn transforms() -> &'static [TransformPlugin] {
    builtin::TRANSFORMS
}

pub fn predicates() -> &'static [PredicatePlugin] {
    builtin::PREDICATES
}

pub fn find_transform(name: &str) -> Option<&'static TransformPlugin> {
    transforms().iter().find(|t| t.desc.matches(name))
}

pub fn find_predicate(name: &str) -> Option<&'static PredicatePlugin> {
    predicates().iter().find(|p| p.desc.matches(name))
}

struct Stage {
    alias: String,
    class: String,
    transform: Box<dyn Transformation>,
    predicate: Option<Box<dyn Predicate>>,
    negate: bool,
}

/// The connector's `transforms` in order, each with its optional predicate.
#[derive(Default)]
pub struct TransformationChain {
    stages: Vec<Stage>,
}

/// Which transform failed, for the error's stage and class headers.
#[derive(Debug, thiserror::Error)]
#[error("transform {alias} ({class}) failed: {error}")]
pub struct ChainError {
    pub alias: String,
    pub class: String,
    pub error: TransformError,
}

impl TransformationChain {
    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// Builds the chain from a connector's settings (its `transforms.*` and `predicates.*`).
    pub fn from_config(
        values: &BTreeMap<String, String>,
    ) -> Result<TransformationChain, Vec<Problem>> {
        let problems = validate(values);
        if !problems.is_empty() {
            return Err(problems);
        }
        let mut stages = Vec::new();
        for alias in split_list(values.get("transforms").map_or("", |v| v.as_str())) {
            let prefix = format!("transforms.{alias}.");
            let ty = values[&format!("{prefix}type")].clone();
            let plugin = find_transform(&ty).expect("validated");
            let settings = Settings::new(plugin.desc.config, values).with_prefix(prefix.clone());
            let transform = (plugin.create)(&settings).map_err(|p| vec![p])?;
            let predicate = match values.get(&format!("{prefix}predicate")) {
                Some(p) if !p.trim().is_empty() => {
                    let pprefix = format!("predicates.{}.", p.trim());
                    let pty = &values[&format!("{pprefix}type")];
                    let pp = find_predicate(pty).expect("validated");
                    let ps = Settings::new(pp.desc.config, values).with_prefix(pprefix);
                    Some((pp.create)(&ps).map_err(|p| vec![p])?)
                }
                _ => None,
            };
            let negate = settings_bool(values, &format!("{prefix}negate"));
            stages.push(Stage {
                alias: alias.to_string(),
                class: plugin.desc.class.to_string(),
                transform,
                predicate,
                negate,
            });
        }
        Ok(TransformationChain { stages })
    }

    pub fn apply(
        &mut self,
        mut record: ConnectRecord,
    ) -> Result<Option<ConnectRecord>, ChainError> {
        for stage in &mut self.stages {
            if let Some(p) = &stage.predicate {
                if p.test(&record) == stage.negate {
                    continue;
                }
            }
            match stage.transform.apply(record) {
                Ok(Some(r)) => record = r,
                Ok(None) => return Ok(None),
                Err(error) => {
                    return Err(ChainError {
                        alias: stage.alias.clone(),
                        class: stage.class.clone(),
                        error,
                    })
                }
            }
        }
        Ok(Some(record))
    }
}

fn settings_bool(values: &BTreeMap<String, String>, key: &str) -> bool {
    values
        .get(key)
        .map(|v| v.trim().eq_ignore_ascii_case("true"))
        .unwrap_or(false)
}

/// Checks `transforms.*` and `predicates.*`: every alias has a known type, every key is valid.
pub fn validate(values: &BTreeMap<String, String>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let list = |k: &str| -> Vec<String> {
        values
            .get(k)
            .map(|v| split_list(v).into_iter().map(String::from).collect())
            .unwrap_or_default()
    };
    let predicate_aliases = list("predicates");
    for alias in &predicate_aliases {
        let key = format!("predicates.{alias}.type");
        match values.get(&key) {
            None => problems.push(Problem::new(
                &key,
                format!("predicate {alias} is listed in predicates but {key} is not set"),
            )),
            Some(ty) => match find_predicate(ty) {
                None => problems.push(Problem::new(
                    &key,
                    unknown_class("predicate", ty, predicates().iter().map(|p| &p.desc)),
                )),
                Some(p) => problems.extend(validate_keys(
                    p.desc.config,
                    values,
                    &format!("predicates.{alias}."),
                )),
            },
        }
    }
    for alias in list("transforms") {
        let key = format!("transforms.{alias}.type");
        match values.get(&key) {
            None => problems.push(Problem::new(
                &key,
                format!("transform {alias} is listed in transforms but {key} is not set"),
            )),
            Some(ty) => match find_transform(ty) {
                None => problems.push(Problem::new(
                    &key,
                    unknown_class("transformation", ty, transforms().iter().map(|t| &t.desc)),
                )),
                Some(t) => {
                    let prefix = format!("transforms.{alias}.");
                    problems.extend(validate_keys(t.desc.config, values, &prefix));
                    let settings = Settings::new(t.desc.config, values).with_prefix(prefix.clone());
                    if let Err(p) = (t.create)(&settings) {
                        if !problems.iter().any(|q| q.key == p.key) {
                            problems.push(p);
                        }
                    }
                }
            },
        }
        if let Some(p) = values.get(&format!("transforms.{alias}.predicate")) {
            let p = p.trim();
            if !p.is_empty() && !predicate_aliases.iter().any(|a| a == p) {
                problems.push(Problem::new(
                    format!("transforms.{alias}.predicate"),
                    format!(
                        "predicate {p} is not listed in predicates (predicates={})",
                        predicate_aliases.join(",")
                    ),
                ));
            }
        }
    }
    problems
}

/// A transform or predicate class nobody has, with the near names among `candidates`.
fn unknown_class<'a>(
    what: &str,
    ty: &str,
    candidates: impl Iterator<Item = &'a PluginDesc>,
) -> String {
    unknown_class_message(what, ty, candidates.flat_map(|d| d.names()), || {
        "kconnect plugins lists them".into()
    })
}

mod builtin;
mod cast;
#[cfg(test)]
mod chain_tests;
mod extract_field;
mod extract_new_record_state;
mod field_path;
mod filter;
mod flatten;
#[cfg(test)]
mod golden_tests;
mod headers;
mod insert_field;
mod java_format;
mod mask_field;
mod prelude;
mod replace_field;
mod routing;
mod schema_metadata;
mod timestamp_converter;
pub mod util;

pub use routing::regex_route;
