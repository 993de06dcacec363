//! The table of built-in transforms and predicates: Kafka's `org.apache.kafka.connect.transforms`
//! with their `$Key` / `$Value` variants, and Debezium's ExtractNewRecordState.

use super::util::Target;
use super::{
    cast, extract_field, extract_new_record_state, filter, flatten, headers, insert_field,
    mask_field, replace_field, routing, schema_metadata, timestamp_converter,
};
use super::{PredicatePlugin, TransformPlugin};
use crate::api::{ConfigKey, PluginDesc, PluginKind};

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

const CAST: [TransformPlugin; 2] = keyed!(
    "Cast",
    "Cast fields, or the entire key or value, to int8, int16, int32, int64, float32, float64, boolean or string.",
    cast::KEYS,
    cast::create
);
const FLATTEN: [TransformPlugin; 2] = keyed!(
    "Flatten",
    "Flatten nested structs (or maps) into one level, joining names with the delimiter; arrays are left as they are.",
    flatten::KEYS,
    flatten::create
);
const MASK_FIELD: [TransformPlugin; 2] = keyed!(
    "MaskField",
    "Mask fields with the empty value of their type (0, false, \"\") or a configured replacement.",
    mask_field::KEYS,
    mask_field::create
);
const SET_SCHEMA_METADATA: [TransformPlugin; 2] = keyed!(
    "SetSchemaMetadata",
    "Set the schema name, version or both.",
    schema_metadata::SET_KEYS,
    schema_metadata::create_set
);
const TIMESTAMP_CONVERTER: [TransformPlugin; 2] = keyed!(
    "TimestampConverter",
    "Convert timestamps between Unix epoch numbers, formatted strings and Connect's Date, Time and Timestamp.",
    timestamp_converter::KEYS,
    timestamp_converter::create
);
const VALUE_TO_KEY: TransformPlugin = plain(
    "org.apache.kafka.connect.transforms.ValueToKey",
    "Replace the record key with a new key formed from fields of the record value.",
    schema_metadata::VALUE_TO_KEY_KEYS,
    schema_metadata::create_value_to_key,
    &["ValueToKey"],
);
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
const HEADER_FROM: [TransformPlugin; 2] = keyed!(
    "HeaderFrom",
    "Move or copy fields of the key or value into headers (fields[i] goes to headers[i]).",
    headers::FROM_KEYS,
    headers::create_from
);
const fn plain(
    class: &'static str,
    doc: &'static str,
    config: &'static [ConfigKey],
    create: fn(
        &crate::api::Settings<'_>,
    ) -> Result<Box<dyn super::Transformation>, crate::api::Problem>,
    aliases: &'static [&'static str],
) -> TransformPlugin {
    TransformPlugin {
        desc: t(class, aliases, doc, config),
        create,
    }
}
const DROP_HEADERS: TransformPlugin = plain(
    "org.apache.kafka.connect.transforms.DropHeaders",
    "Removes one or more headers from each record.",
    headers::DROP_KEYS,
    headers::create_drop,
    &["DropHeaders"],
);
const INSERT_HEADER: TransformPlugin = plain(
    "org.apache.kafka.connect.transforms.InsertHeader",
    "Add a header to each record.",
    headers::INSERT_KEYS,
    headers::create_insert,
    &["InsertHeader"],
);
const FILTER: TransformPlugin = plain(
    "org.apache.kafka.connect.transforms.Filter",
    "Drops all records; meant to be used with a predicate (and negate) to drop some.",
    &[],
    filter::create_filter,
    &["Filter"],
);
const REGEX_ROUTER: TransformPlugin = plain(
    "org.apache.kafka.connect.transforms.RegexRouter",
    "Update the record topic using the configured regular expression and replacement string (the whole topic must match).",
    routing::REGEX_KEYS,
    routing::create_regex,
    &["RegexRouter"],
);
const TIMESTAMP_ROUTER: TransformPlugin = plain(
    "org.apache.kafka.connect.transforms.TimestampRouter",
    "Update the record's topic from the original topic and the record timestamp (UTC).",
    routing::TIMESTAMP_KEYS,
    routing::create_timestamp,
    &["TimestampRouter"],
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
    [
        CAST[0],
        CAST[1],
        DROP_HEADERS,
        EXTRACT_FIELD[0],
        EXTRACT_FIELD[1],
        FILTER,
        FLATTEN[0],
        FLATTEN[1],
        HEADER_FROM[0],
        HEADER_FROM[1],
        HOIST_FIELD[0],
        HOIST_FIELD[1],
        INSERT_FIELD[0],
        INSERT_FIELD[1],
        INSERT_HEADER,
        MASK_FIELD[0],
        MASK_FIELD[1],
        REGEX_ROUTER,
        REPLACE_FIELD[0],
        REPLACE_FIELD[1],
        SET_SCHEMA_METADATA[0],
        SET_SCHEMA_METADATA[1],
        TIMESTAMP_CONVERTER[0],
        TIMESTAMP_CONVERTER[1],
        TIMESTAMP_ROUTER,
        VALUE_TO_KEY,
        ENRS,
    ]
};

const fn p(
    name: &'static str,
    aliases: &'static [&'static str],
    doc: &'static str,
    config: &'static [ConfigKey],
    create: fn(&crate::api::Settings<'_>) -> Result<Box<dyn super::Predicate>, crate::api::Problem>,
) -> PredicatePlugin {
    PredicatePlugin {
        desc: PluginDesc {
            kind: PluginKind::Predicate,
            class: name,
            aliases,
            doc,
            config,
        },
        create,
    }
}

pub static PREDICATES: &[PredicatePlugin] = &[
    p(
        "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
        &["TopicNameMatches"],
        "True for records whose whole topic name matches the regular expression.",
        filter::TOPIC_KEYS,
        filter::create_topic_matches,
    ),
    p(
        "org.apache.kafka.connect.transforms.predicates.HasHeaderKey",
        &["HasHeaderKey"],
        "True for records with at least one header with the configured name.",
        filter::HEADER_KEYS,
        filter::create_has_header,
    ),
    p(
        "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
        &["RecordIsTombstone"],
        "True for tombstones (records with a null value).",
        &[],
        filter::create_tombstone,
    ),
];
