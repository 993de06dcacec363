//! The table of built-in transforms and predicates: Kafka's `org.apache.kafka.connect.transforms`
//! with their `$Key` / `$Value` variants, and Debezium's ExtractNewRecordState.

use super::util::Target;
use super::{extract_field, extract_new_record_state, insert_field, replace_field};
use super::{PredicatePlugin, TransformPlugin};
use crate::config::ConfigKey;
use crate::plugins::{PluginDesc, PluginKind};

const fn t(
    class: &'static str,
    aliases: &'static [&'static str],
    doc: &'static str,
    config: &'static [ConfigKey],
) -> PluginDesc {
    PluginDesc {
        kind: PluginKind::Transformation,
        class,
        aliases,
        doc,
        config,
    }
}

/// A `$Key` and a `$Value` entry for one Connect transform.
macro_rules! keyed {
    ($name:literal, $doc:literal, $keys:expr, $create:path) => {
        [
            TransformPlugin {
                desc: t(
                    concat!("org.apache.kafka.connect.transforms.", $name, "$Key"),
                    &[concat!($name, "$Key")],
                    concat!($doc, " Applies to the record key."),
                    $keys,
                ),
                create: |s| $create(s, Target::Key),
            },
            TransformPlugin {
                desc: t(
                    concat!("org.apache.kafka.connect.transforms.", $name, "$Value"),
                    &[concat!($name, "$Value")],
                    concat!($doc, " Applies to the record value."),
                    $keys,
                ),
                create: |s| $create(s, Target::Value),
            },
        ]
    };
}

const CAST: [TransformPlugin; 0] = [];
const EXTRACT_FIELD: [TransformPlugin; 2] = keyed!(
    "ExtractField",
    "Replace the key or value with one of its fields (a Struct field, or a Map entry when schemaless).",
    extract_field::EXTRACT_KEYS,
    extract_field::create_extract
);
const HOIST_FIELD: [TransformPlugin; 2] = keyed!(
    "HoistField",
    "Wrap the data in a Struct (with a schema) or a Map (without) holding it in one field.",
    extract_field::HOIST_KEYS,
    extract_field::create_hoist
);
const INSERT_FIELD: [TransformPlugin; 2] = keyed!(
    "InsertField",
    "Insert fields from the record's topic, partition, offset, timestamp or a static value.",
    insert_field::KEYS,
    insert_field::create
);
const REPLACE_FIELD: [TransformPlugin; 2] = keyed!(
    "ReplaceField",
    "Filter or rename fields.",
    replace_field::KEYS,
    replace_field::create
);
const ENRS: TransformPlugin = TransformPlugin {
    desc: t(
        extract_new_record_state::CLASS,
        &["ExtractNewRecordState"],
        "Debezium: flatten a change event envelope to the row after the change, with delete, tombstone, added-field and routing options.",
        extract_new_record_state::KEYS,
    ),
    create: extract_new_record_state::create,
};

pub static TRANSFORMS: &[TransformPlugin] = &{
    let _ = CAST;
    [
        EXTRACT_FIELD[0],
        EXTRACT_FIELD[1],
        HOIST_FIELD[0],
        HOIST_FIELD[1],
        INSERT_FIELD[0],
        INSERT_FIELD[1],
        REPLACE_FIELD[0],
        REPLACE_FIELD[1],
        ENRS,
    ]
};

pub static PREDICATES: &[PredicatePlugin] = &[];
