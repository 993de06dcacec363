//! The table of built-in transforms and predicates: Kafka's `org.apache.kafka.connect.transforms`
//! with their `$Key` / `$Value` variants, and Debezium's ExtractNewRecordState.

use super::util::Target;
use super::{
    extract_field, extract_new_record_state, filter, headers, insert_field, replace_field, routing,
};
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
const HEADER_FROM: [TransformPlugin; 2] = keyed!(
    "HeaderFrom",
    "Move or copy fields of the key or value into headers (fields[i] goes to headers[i]).",
    headers::FROM_KEYS,
    headers::create_from
);
const fn plain(
    name: &'static str,
    class: &'static str,
    doc: &'static str,
    config: &'static [ConfigKey],
    create: fn(
        &crate::config::Settings<'_>,
    ) -> Result<Box<dyn super::Transformation>, crate::config::Problem>,
    aliases: &'static [&'static str],
) -> TransformPlugin {
    let _ = name;
    TransformPlugin {
        desc: t(class, aliases, doc, config),
        create,
    }
}
const DROP_HEADERS: TransformPlugin = plain(
    "DropHeaders",
    "org.apache.kafka.connect.transforms.DropHeaders",
    "Removes one or more headers from each record.",
    headers::DROP_KEYS,
    headers::create_drop,
    &["DropHeaders"],
);
const INSERT_HEADER: TransformPlugin = plain(
    "InsertHeader",
    "org.apache.kafka.connect.transforms.InsertHeader",
    "Add a header to each record.",
    headers::INSERT_KEYS,
    headers::create_insert,
    &["InsertHeader"],
);
const FILTER: TransformPlugin = plain(
    "Filter",
    "org.apache.kafka.connect.transforms.Filter",
    "Drops all records; meant to be used with a predicate (and negate) to drop some.",
    &[],
    filter::create_filter,
    &["Filter"],
);
const REGEX_ROUTER: TransformPlugin = plain(
    "RegexRouter",
    "org.apache.kafka.connect.transforms.RegexRouter",
    "Update the record topic using the configured regular expression and replacement string (the whole topic must match).",
    routing::REGEX_KEYS,
    routing::create_regex,
    &["RegexRouter"],
);
const TIMESTAMP_ROUTER: TransformPlugin = plain(
    "TimestampRouter",
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
        HEADER_FROM[0],
        HEADER_FROM[1],
        DROP_HEADERS,
        INSERT_HEADER,
        FILTER,
        REGEX_ROUTER,
        TIMESTAMP_ROUTER,
        ENRS,
    ]
};

const fn p(
    name: &'static str,
    aliases: &'static [&'static str],
    doc: &'static str,
    config: &'static [ConfigKey],
    create: fn(
        &crate::config::Settings<'_>,
    ) -> Result<Box<dyn super::Predicate>, crate::config::Problem>,
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
