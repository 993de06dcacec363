//! `SetSchemaMetadata$Key` / `$Value` (rename or re-version a schema) and `ValueToKey` (build
//! the key from value fields).

use crate::api::{ConfigKey, ConfigType, KeyDefault, Problem, Settings, Validator};
use crate::data::{ConnectRecord, JavaMap, Map, Schema, SchemaRef, Struct, Value};

use super::headers::non_empty_list;
use super::prelude::{rewrite, OnNull};
use super::util::{
    field_value, invalid, map_index, problem, require_map, require_struct, SchemaCache, Target,
};
use super::{TransformError, Transformation};

pub const SET_KEYS: &[ConfigKey] = &[
    ConfigKey::new(
        "schema.name",
        ConfigType::String,
        KeyDefault::None,
        "Schema name to set.",
    ),
    ConfigKey::new(
        "schema.version",
        ConfigType::Int,
        KeyDefault::None,
        "Schema version to set.",
    ),
    ConfigKey::new(
        "replace.null.with.default",
        ConfigType::Boolean,
        KeyDefault::Value("true"),
        "Whether null fields that have a default value get that default (true) or stay null.",
    ),
];

pub const VALUE_TO_KEY_KEYS: &[ConfigKey] = &[
    ConfigKey::new(
        "fields",
        ConfigType::List,
        KeyDefault::Required,
        "Field names on the record value to extract as the record key.",
    )
    .validator(Validator::Custom(non_empty_list)),
    ConfigKey::new(
        "replace.null.with.default",
        ConfigType::Boolean,
        KeyDefault::Value("true"),
        "Whether null fields that have a default value get that default (true) or stay null.",
    ),
];

pub struct SetSchemaMetadata {
    target: Target,
    name: Option<String>,
    version: Option<i32>,
    replace_null_with_default: bool,
    cache: SchemaCache<SchemaRef>,
}

pub fn create_set(s: &Settings<'_>, target: Target) -> Result<Box<dyn Transformation>, Problem> {
    let name = s.raw("schema.name").map(str::to_string);
    let version = match s.raw("schema.version") {
        None => None,
        Some(v) => Some(v.trim().parse::<i32>().map_err(|_| {
            invalid(
                &format!("{}schema.version", s.prefix),
                v,
                "Not a number of type INT",
            )
        })?),
    };
    if name.is_none() && version.is_none() {
        return Err(Problem::new(
            format!("{}schema.name", s.prefix),
            format!("Neither schema name nor version configured: set {p}schema.name or {p}schema.version", p = s.prefix),
        ));
    }
    Ok(Box::new(SetSchemaMetadata {
        target,
        name,
        version,
        replace_null_with_default: s.bool("replace.null.with.default").map_err(problem)?,
        cache: SchemaCache::new(16),
    }))
}

impl Transformation for SetSchemaMetadata {
    fn apply(&mut self, record: ConnectRecord) -> Result<Option<ConnectRecord>, TransformError> {
        rewrite(self.target, record, OnNull::Apply, |_, schema, value| {
            let Some(schema) = schema else {
                if value.is_null() {
                    return Ok((None, value));
                }
                return Err(TransformError::new(
                    "Schema required for [updating schema metadata]",
                ));
            };
            let (name, version) = (&self.name, self.version);
            let updated = self
                .cache
                .get_or_try_insert::<TransformError>(&schema, |s| {
                    let mut n: Schema = (**s).clone();
                    if let Some(name) = name {
                        n.name = Some(name.clone());
                    }
                    if version.is_some() {
                        n.version = version;
                    }
                    Ok(std::sync::Arc::new(n))
                })?
                .clone();
            let value = match value {
                Value::Struct(st) => {
                    let values = st
                        .values
                        .into_iter()
                        .zip(&updated.fields)
                        .map(|(v, f)| field_value(v, &f.schema, self.replace_null_with_default))
                        .collect();
                    Value::Struct(Struct {
                        schema: updated.clone(),
                        values,
                    })
                }
                other => other,
            };
            Ok((Some(updated), value))
        })
    }
}

pub struct ValueToKey {
    fields: Vec<String>,
    replace_null_with_default: bool,
    cache: SchemaCache<(SchemaRef, Vec<usize>)>,
}

pub fn create_value_to_key(s: &Settings<'_>) -> Result<Box<dyn Transformation>, Problem> {
    let key = format!("{}fields", s.prefix);
    let raw = s.raw("fields").ok_or_else(|| {
        Problem::new(
            &key,
            format!("Missing required configuration \"{key}\" which has no default value."),
        )
    })?;
    non_empty_list(raw).map_err(|m| invalid(&key, raw, m))?;
    Ok(Box::new(ValueToKey {
        fields: s.list("fields"),
        replace_null_with_default: s.bool("replace.null.with.default").map_err(problem)?,
        cache: SchemaCache::new(16),
    }))
}

const V2K: &str = "copying fields from value to key";

impl Transformation for ValueToKey {
    fn apply(
        &mut self,
        mut record: ConnectRecord,
    ) -> Result<Option<ConnectRecord>, TransformError> {
        match &record.value_schema {
            None => {
                let m = require_map(record.value.clone(), V2K)?;
                let key = self
                    .fields
                    .iter()
                    .map(|f| {
                        let v = map_index(&m, f)
                            .map(|i| m[i].1.clone())
                            .unwrap_or(Value::Null);
                        (Value::String(f.as_str().into()), v)
                    })
                    .collect();
                record.key_schema = None;
                // A `new HashMap<>(fields.size())` filled in the fields' order.
                record.key = Value::Map(Map::new(key, JavaMap::with_capacity(self.fields.len())));
            }
            Some(_) => {
                let value = require_struct(std::mem::replace(&mut record.value, Value::Null), V2K)?;
                let fields = &self.fields;
                let (key_schema, idx) = self
                    .cache
                    .get_or_try_insert::<TransformError>(&value.schema, |s| {
                        let mut b = Schema::struct_builder();
                        let mut idx = Vec::new();
                        for name in fields {
                            let f = s.field(name).ok_or_else(|| {
                                TransformError::new(format!("Field does not exist: {name}"))
                            })?;
                            b = b.field(name.clone(), f.schema.clone());
                            idx.push(f.index);
                        }
                        Ok((b.build(), idx))
                    })?
                    .clone();
                let values = idx
                    .iter()
                    .map(|&i| {
                        field_value(
                            value.values[i].clone(),
                            &value.schema.fields[i].schema,
                            self.replace_null_with_default,
                        )
                    })
                    .collect();
                record.key = Value::Struct(Struct {
                    schema: key_schema.clone(),
                    values,
                });
                record.key_schema = Some(key_schema);
                record.value_schema = Some(value.schema.clone());
                record.value = Value::Struct(value);
            }
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::*;
    use crate::data::{schemas, Value};

    #[test]
    fn set_schema_metadata_renames_schema_and_struct() {
        let mut t = transform(
            "SetSchemaMetadata$Value",
            &[
                ("schema.name", "com.acme.Customer"),
                ("schema.version", "3"),
            ],
        )
        .unwrap();
        let (schema, value) = simple_struct();
        let out = t
            .apply(record_with_value(Some(schema), value))
            .unwrap()
            .unwrap();
        let s = out.value_schema.clone().unwrap();
        assert_eq!(
            (s.name.as_deref(), s.version),
            (Some("com.acme.Customer"), Some(3))
        );
        assert!(std::sync::Arc::ptr_eq(
            &out.value.as_struct().unwrap().schema,
            &s
        ));
        let err = t
            .apply(record_with_value(None, Value::Int32(1)))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Schema required for [updating schema metadata]"
        );
        assert!(t
            .apply(record_with_value(None, Value::Null))
            .unwrap()
            .is_some());
        let e = transform("SetSchemaMetadata$Key", &[]).err().unwrap();
        assert!(e
            .message
            .contains("Neither schema name nor version configured"));
    }

    #[test]
    fn value_to_key_builds_keys() {
        // Kafka docs: ValueToKey fields=userId,city.
        let mut t = transform(
            "org.apache.kafka.connect.transforms.ValueToKey",
            &[("fields", "id,flag")],
        )
        .unwrap();
        let (schema, value) = simple_struct();
        let out = t
            .apply(record_with_value(Some(schema), value))
            .unwrap()
            .unwrap();
        let k = out.key.as_struct().unwrap();
        assert_eq!(k.get("id"), Some(&Value::Int32(42)));
        assert_eq!(
            out.key_schema.unwrap().fields[1].schema,
            schemas::optional_boolean()
        );
        let out = t
            .apply(record_with_value(None, smap(&[("id", Value::Int32(1))])))
            .unwrap()
            .unwrap();
        assert_eq!(
            out.key,
            smap(&[("id", Value::Int32(1)), ("flag", Value::Null)])
        );
        let mut t = transform("ValueToKey", &[("fields", "nope")]).unwrap();
        let (schema, value) = simple_struct();
        let err = t.apply(record_with_value(Some(schema), value)).unwrap_err();
        assert_eq!(err.to_string(), "Field does not exist: nope");
    }
}
