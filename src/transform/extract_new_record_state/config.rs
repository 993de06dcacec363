//! The configuration: Debezium 3's keys, the delete/tombstone mode, and the keys Debezium 3
//! stopped reading (warned about, not rejected, as there).

use std::collections::HashMap;

use crate::api::{ConfigKey, ConfigType, KeyDefault, Problem, Settings, Validator};

use super::added::FieldRef;
use super::ExtractNewRecordState;
use crate::transform::insert_field::InsertField;
use crate::transform::util::AddressMap;
use crate::transform::Transformation;

pub const CLASS: &str = "io.debezium.transforms.ExtractNewRecordState";

pub const KEYS: &[ConfigKey] = &[
    ConfigKey::new("delete.tombstone.handling.mode", ConfigType::String, KeyDefault::Value("tombstone"),
        "How to handle delete records. Options are: drop - Remove the delete event and tombstone from the stream. \
         tombstone (default) - For each delete event, leave only a tombstone in the stream. \
         rewrite - Remove tombstone from the record, and add a `__deleted` field with the value `true`. \
         rewrite-with-tombstone - Retain tombstone in record and add a `__deleted` field with the value `true`. \
         delete-to-tombstone - Convert delete events to tombstone events and drop tombstone events.")
        .validator(Validator::OneOf(&["drop", "tombstone", "rewrite", "rewrite-with-tombstone", "delete-to-tombstone"])),
    ConfigKey::new("route.by.field", ConfigType::String, KeyDefault::Value(""),
        "The column which determines how the events will be routed, the value will replace the topic name."),
    ConfigKey::new("add.fields.prefix", ConfigType::String, KeyDefault::Value("__"),
        "Adds this prefix to each field listed."),
    ConfigKey::new("add.fields", ConfigType::List, KeyDefault::Value(""),
        "Adds each field listed, prefixed with __ (or __<struct>_ if the struct is specified). \
         Example: 'version,connector,source.ts_ms' would add __version, __connector and __source_ts_ms fields. \
         Optionally one can also map new field name like version:VERSION,connector:CONNECTOR,source.ts_ms:EVENT_TIMESTAMP."),
    ConfigKey::new("add.headers.prefix", ConfigType::String, KeyDefault::Value("__"),
        "Adds this prefix listed to each header."),
    ConfigKey::new("add.headers", ConfigType::List, KeyDefault::Value(""),
        "Adds each field listed to the header, __ (or __<struct>_ if the struct is specified). \
         Example: 'version,connector,source.ts_ms' would add __version, __connector and __source_ts_ms headers."),
    ConfigKey::new("replace.null.with.default", ConfigType::Boolean, KeyDefault::Value("true"),
        "When this option is enabled, null field values are replaced by source-defined defaults when rewriting the record."),
    ConfigKey::new("drop.fields.header.name", ConfigType::String, KeyDefault::None,
        "Specifies the name of a header that contains a list of fields to be removed from the event value."),
    ConfigKey::new("drop.fields.from.key", ConfigType::Boolean, KeyDefault::Value("false"),
        "Specifies whether to apply the drop fields behavior to the event key as well as the value."),
    ConfigKey::new("drop.fields.keep.schema.compatible", ConfigType::Boolean, KeyDefault::Value("true"),
        "true: dropped fields are removed if the schema indicates its optional leaving the schemas unchanged, \
         false: dropped fields are removed from the key/value schemas, regardless of optionality."),
];

/// Keys Debezium 1.x/2.x had and Debezium 3 no longer reads; they are ignored there too.
const REMOVED_KEYS: &[(&str, &str)] = &[
    ("drop.tombstones", "delete.tombstone.handling.mode"),
    ("delete.handling.mode", "delete.tombstone.handling.mode"),
    ("add.source.fields", "add.fields"),
    ("operation.header", "add.headers=op"),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    Drop,
    Tombstone,
    Rewrite,
    RewriteWithTombstone,
    DeleteToTombstone,
}

pub fn create(s: &Settings<'_>) -> Result<Box<dyn Transformation>, Problem> {
    let key = |k: &str| format!("{}{k}", s.prefix);
    let mode = match s
        .choice("delete.tombstone.handling.mode")
        .map_err(crate::transform::util::problem)?
        .as_str()
    {
        "drop" => Mode::Drop,
        "rewrite" => Mode::Rewrite,
        "rewrite-with-tombstone" => Mode::RewriteWithTombstone,
        "delete-to-tombstone" => Mode::DeleteToTombstone,
        _ => Mode::Tombstone,
    };
    for (old, new) in REMOVED_KEYS {
        if s.is_set(old) {
            tracing::warn!(
                "{} is not read by Debezium 3's ExtractNewRecordState and is ignored; use {}{new}",
                key(old),
                s.prefix
            );
        }
    }
    let refs = |list_key: &str, prefix_key: &str| -> Result<Vec<FieldRef>, Problem> {
        let prefix = s.string(prefix_key).unwrap_or_default();
        s.list(list_key)
            .iter()
            .map(|spec| {
                FieldRef::parse(&prefix, spec).map_err(|m| {
                    crate::transform::util::invalid(
                        &key(list_key),
                        s.raw(list_key).unwrap_or(""),
                        m,
                    )
                })
            })
            .collect()
    };
    let replace_null = s
        .bool("replace.null.with.default")
        .map_err(crate::transform::util::problem)?;
    let route = s.string("route.by.field").unwrap_or_default();
    Ok(Box::new(ExtractNewRecordState {
        mode,
        route_by_field: (!route.is_empty()).then_some(route),
        add_fields: refs("add.fields", "add.fields.prefix")?,
        add_headers: refs("add.headers", "add.headers.prefix")?,
        drop_fields_header: s.raw("drop.fields.header.name").map(str::to_string),
        drop_fields_from_key: s
            .bool("drop.fields.from.key")
            .map_err(crate::transform::util::problem)?,
        keep_schema_compatible: s
            .bool("drop.fields.keep.schema.compatible")
            .map_err(crate::transform::util::problem)?,
        removed: InsertField::static_value("__deleted", "true", replace_null),
        updated: InsertField::static_value("__deleted", "false", replace_null),
        add_cache: AddressMap::default(),
        header_cache: AddressMap::default(),
        drop_key: HashMap::new(),
        drop_value: HashMap::new(),
    }))
}
