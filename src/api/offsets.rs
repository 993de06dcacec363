//! Read access to committed source offsets, as Connect's `OffsetStorageReader`. A trait so
//! that connectors know nothing of the store behind it; the runtime implements it.

use std::collections::BTreeMap;

use serde_json::{Map as JsonMap, Value as Json};

use super::error::ConnectError;
use crate::data::SourceOffset;

pub trait OffsetReader: Send + Sync {
    /// The last committed offset of this connector for `partition`, if any.
    fn offset(
        &self,
        partition: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Option<SourceOffset>, ConnectError>;
}

/// The JSON type an offset key holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffsetType {
    /// An integer ≥ 0 (positions, LSNs, transaction ids, timestamps).
    Position,
    /// Any integer that fits in 64 bits (Datagen's `random.seed`).
    Integer,
    Bool,
    /// A string (Debezium's serialized incremental snapshot state).
    Text,
    /// A flag some writers spell as one of a few names (Debezium's `snapshot`: a boolean,
    /// or the kind of snapshot under way, `INITIAL` or `BLOCKING`).
    BoolOrName(&'static [&'static str]),
}

impl OffsetType {
    fn accepts(self, v: &Json) -> bool {
        match self {
            OffsetType::Position => v.as_u64().is_some(),
            OffsetType::Integer => v.as_i64().is_some(),
            OffsetType::Bool => v.is_boolean(),
            OffsetType::Text => v.is_string(),
            OffsetType::BoolOrName(names) => {
                v.is_boolean() || v.as_str().is_some_and(|s| names.contains(&s))
            }
        }
    }

    fn name(self) -> String {
        match self {
            OffsetType::Position => "an integer >= 0".into(),
            OffsetType::Integer => "an integer".into(),
            OffsetType::Bool => "true or false".into(),
            OffsetType::Text => "a string".into(),
            OffsetType::BoolOrName(names) => format!("true, false or one of {}", names.join(", ")),
        }
    }
}

/// One key of a source offset as the connector writes it.
#[derive(Clone, Copy, Debug)]
pub struct OffsetKey {
    pub name: &'static str,
    pub ty: OffsetType,
    /// Every offset the connector writes has it.
    pub required: bool,
}

/// The source partitions a connector with these settings writes offsets under.
pub type PartitionsOf = fn(&BTreeMap<String, String>) -> Vec<JsonMap<String, Json>>;

/// How a connector keys its committed positions. An offset edit of another shape would be
/// stored and then ignored or misread by the task, so `kconnect offsets set` checks edits
/// against this before writing.
#[derive(Clone, Copy, Debug)]
pub enum OffsetShape {
    /// Connect's sink shape (KIP-875), the same for every sink:
    /// `{"kafka_topic": <string>, "kafka_partition": <int>}` → `{"kafka_offset": <int>}`.
    Sink,
    /// A source: the partitions its settings make (one per task for Datagen, one for the
    /// others), and the keys of its offsets.
    Source {
        partitions: PartitionsOf,
        offset: &'static [OffsetKey],
    },
}

/// Which half of an offset edit is of the wrong shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffsetPart {
    Partition,
    Offset,
}

/// An offset edit the connector would not read back as meant.
#[derive(Debug, thiserror::Error)]
#[error("the {} {problem}; {expected}", match .part { OffsetPart::Partition => "partition", OffsetPart::Offset => "offset" })]
pub struct OffsetShapeError {
    pub part: OffsetPart,
    pub problem: String,
    /// The shape this connector uses, said so that the user can write it.
    pub expected: String,
}

const SINK_OFFSET: &[OffsetKey] = &[OffsetKey {
    name: "kafka_offset",
    ty: OffsetType::Position,
    required: true,
}];

impl OffsetShape {
    /// Checks a partition and (unless it is being removed) an offset against this shape, for
    /// a connector with these settings.
    pub fn check(
        &self,
        settings: &BTreeMap<String, String>,
        partition: &JsonMap<String, Json>,
        offset: Option<&JsonMap<String, Json>>,
    ) -> Result<(), OffsetShapeError> {
        let keys = match self {
            OffsetShape::Sink => {
                check_sink_partition(partition)?;
                SINK_OFFSET
            }
            OffsetShape::Source {
                partitions: make,
                offset,
            } => {
                let expected = make(settings);
                if !expected.contains(partition) {
                    return Err(OffsetShapeError {
                        part: OffsetPart::Partition,
                        problem: format!(
                            "{} is not one this connector reads",
                            Json::Object(partition.clone())
                        ),
                        expected: match expected.as_slice() {
                            [only] => format!(
                                "with its settings its only partition is {}",
                                Json::Object(only.clone())
                            ),
                            all => format!(
                                "with its settings its partitions are {}",
                                all.iter()
                                    .map(|p| Json::Object(p.clone()).to_string())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        },
                    });
                }
                offset
            }
        };
        match offset {
            Some(o) => check_offset(keys, o),
            None => Ok(()),
        }
    }
}

fn check_sink_partition(p: &JsonMap<String, Json>) -> Result<(), OffsetShapeError> {
    let problem = if !p.get("kafka_topic").is_some_and(Json::is_string) {
        Some("has no \"kafka_topic\" string".to_string())
    } else if p
        .get("kafka_partition")
        .is_none_or(|v| v.as_u64().is_none_or(|n| n > i32::MAX as u64))
    {
        Some("has no \"kafka_partition\" integer >= 0".to_string())
    } else {
        p.keys()
            .find(|k| *k != "kafka_topic" && *k != "kafka_partition")
            .map(|k| format!("has key \"{k}\", which a sink partition does not"))
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(OffsetShapeError {
            part: OffsetPart::Partition,
            problem,
            expected:
                "a sink's partition is {\"kafka_topic\": \"<topic>\", \"kafka_partition\": <n>}"
                    .into(),
        }),
    }
}

fn check_offset(keys: &[OffsetKey], o: &JsonMap<String, Json>) -> Result<(), OffsetShapeError> {
    let problem = o
        .iter()
        .find_map(|(k, v)| match keys.iter().find(|d| d.name == k) {
            None => Some(format!(
                "has key \"{k}\", which this connector does not write"
            )),
            Some(d) if !d.ty.accepts(v) => Some(format!(
                "key \"{k}\" is {v}, where it must be {}",
                d.ty.name()
            )),
            Some(_) => None,
        })
        .or_else(|| {
            keys.iter()
                .find(|d| d.required && !o.contains_key(d.name))
                .map(|d| format!("lacks \"{}\"", d.name))
        });
    match problem {
        None => Ok(()),
        Some(problem) => Err(OffsetShapeError {
            part: OffsetPart::Offset,
            problem,
            expected: format!(
                "this connector's offset holds {} (null removes the partition's offset)",
                keys.iter()
                    .map(|d| format!(
                        "\"{}\": {}{}",
                        d.name,
                        d.ty.name(),
                        if d.required { "" } else { " (optional)" }
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Json) -> JsonMap<String, Json> {
        v.as_object().unwrap().clone()
    }

    const FILE: OffsetShape = OffsetShape::Source {
        partitions: |s| vec![map(json!({"filename": s.get("file")}))],
        offset: &[OffsetKey {
            name: "position",
            ty: OffsetType::Position,
            required: true,
        }],
    };

    #[test]
    fn a_flag_spelled_as_a_name_is_accepted_as_either() {
        let ty = OffsetType::BoolOrName(&["INITIAL", "BLOCKING"]);
        assert!(ty.accepts(&json!(true)) && ty.accepts(&json!("BLOCKING")));
        assert!(!ty.accepts(&json!(1)) && !ty.accepts(&json!("yes")));
    }

    #[test]
    fn sink_edits_must_be_connects_shape() {
        let none = BTreeMap::new();
        let ok = map(json!({"kafka_topic": "t", "kafka_partition": 3}));
        let off = map(json!({"kafka_offset": 9}));
        OffsetShape::Sink.check(&none, &ok, Some(&off)).unwrap();
        OffsetShape::Sink.check(&none, &ok, None).unwrap();
        let e = OffsetShape::Sink
            .check(&none, &map(json!({"kafka_topic": "t"})), Some(&off))
            .unwrap_err();
        assert_eq!(e.part, OffsetPart::Partition);
        assert!(e.to_string().contains("kafka_partition"), "{e}");
        let e = OffsetShape::Sink
            .check(&none, &ok, Some(&map(json!({"kafka_offset": -1}))))
            .unwrap_err();
        assert_eq!(e.part, OffsetPart::Offset);
    }

    #[test]
    fn source_edits_must_match_the_connectors_partition_and_keys() {
        let settings: BTreeMap<String, String> = [("file".to_string(), "/in".to_string())].into();
        let p = map(json!({"filename": "/in"}));
        FILE.check(&settings, &p, Some(&map(json!({"position": 0}))))
            .unwrap();
        let e = FILE
            .check(&settings, &map(json!({"filename": "/other"})), None)
            .unwrap_err();
        assert!(e.to_string().contains(r#"{"filename":"/in"}"#), "{e}");
        for bad in [
            json!({"position": true}),
            json!({}),
            json!({"position": 1, "x": 2}),
        ] {
            let e = FILE.check(&settings, &p, Some(&map(bad))).unwrap_err();
            assert_eq!(e.part, OffsetPart::Offset);
            assert!(
                e.to_string().contains("\"position\": an integer >= 0"),
                "{e}"
            );
        }
    }
}
