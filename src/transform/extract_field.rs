//! `ExtractField$Key` / `ExtractField$Value` and `HoistField$Key` / `HoistField$Value`: replace
//! the key or value by one of its fields, or wrap it in a one-field struct or map.

use crate::api::{ConfigKey, ConfigType, KeyDefault, Problem, Settings};
use crate::data::{ConnectRecord, Schema, SchemaRef, Value};

use super::field_path::{FieldPath, SYNTAX_KEY};
use super::prelude::{map_out, rewrite, struct_out, OnNull};
use super::util::{field_value, java_class_name, SchemaCache, Target};
use super::{TransformError, Transformation};

pub const EXTRACT_KEYS: &[ConfigKey] = &[
    ConfigKey::new(
        "field",
        ConfigType::String,
        KeyDefault::Required,
        "Field name to extract.",
    ),
    ConfigKey::new(
        "replace.null.with.default",
        ConfigType::Boolean,
        KeyDefault::Value("true"),
        "Whether null fields that have a default value get that default (true) or stay null.",
    ),
    SYNTAX_KEY,
];

pub const HOIST_KEYS: &[ConfigKey] = &[ConfigKey::new(
    "field",
    ConfigType::String,
    KeyDefault::Required,
    "Field name for the single field that will be created in the resulting Struct or Map.",
)];

const PURPOSE: &str = "field extraction";

pub struct ExtractField {
    target: Target,
    path: FieldPath,
    original: String,
    replace_null_with_default: bool,
}

pub fn create_extract(
    s: &Settings<'_>,
    target: Target,
) -> Result<Box<dyn Transformation>, Problem> {
    let original = s.required_string("field").map_err(super::util::problem)?;
    Ok(Box::new(ExtractField {
        target,
        path: FieldPath::from_settings(s, "field", &original)?,
        original,
        replace_null_with_default: s
            .bool("replace.null.with.default")
            .map_err(super::util::problem)?,
    }))
}

impl ExtractField {
    fn extract(
        &self,
        schema: Option<&SchemaRef>,
        mut value: Value,
    ) -> Result<(Option<SchemaRef>, Value), TransformError> {
        match schema {
            None => match value {
                Value::Null => Ok((None, Value::Null)),
                Value::Map(_) => Ok((None, self.path.take_from(&mut value).unwrap_or(Value::Null))),
                other => Err(TransformError::new(format!(
                    "Only Map objects supported in absence of schema for [{PURPOSE}], found: {}",
                    java_class_name(&other)
                ))),
            },
            Some(schema) => {
                if !matches!(value, Value::Null | Value::Struct(_)) {
                    return Err(TransformError::new(format!(
                        "Only Struct objects supported for [{PURPOSE}], found: {}",
                        java_class_name(&value)
                    )));
                }
                let field = self.path.field_from(schema).ok_or_else(|| {
                    TransformError::new(format!("Unknown field: {}", self.original))
                })?;
                let out = if value.is_null() {
                    Value::Null
                } else {
                    let v = self.path.take_from(&mut value).unwrap_or(Value::Null);
                    field_value(v, &field.schema, self.replace_null_with_default)
                };
                Ok((Some(field.schema.clone()), out))
            }
        }
    }
}

impl Transformation for ExtractField {
    fn apply(&mut self, record: ConnectRecord) -> Result<Option<ConnectRecord>, TransformError> {
        rewrite(self.target, record, OnNull::Apply, |_, schema, value| {
            self.extract(schema.as_ref(), value)
        })
    }
}

pub struct HoistField {
    target: Target,
    field: String,
    cache: SchemaCache<SchemaRef>,
}

pub fn create_hoist(s: &Settings<'_>, target: Target) -> Result<Box<dyn Transformation>, Problem> {
    Ok(Box::new(HoistField {
        target,
        field: s.required_string("field").map_err(super::util::problem)?,
        cache: SchemaCache::new(16),
    }))
}

impl Transformation for HoistField {
    fn apply(&mut self, record: ConnectRecord) -> Result<Option<ConnectRecord>, TransformError> {
        rewrite(self.target, record, OnNull::Apply, |_, schema, value| {
            let Some(schema) = schema else {
                return Ok(map_out(vec![(
                    Value::String(self.field.as_str().into()),
                    value,
                )]));
            };
            let field = &self.field;
            let updated = self
                .cache
                .get_or_try_insert::<TransformError>(&schema, |s| {
                    Ok(Schema::struct_builder()
                        .field(field.clone(), s.clone())
                        .build())
                })?
                .clone();
            // Connect builds the struct even around a null value.
            Ok(struct_out(updated, vec![value]))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::*;
    use crate::data::{schemas, Schema, Struct, Value};

    #[test]
    fn extracts_from_struct_and_map() {
        // Kafka docs: ExtractField$Value with field=id turns {"id": 42, "name": ...} into 42.
        let mut t = transform("ExtractField$Value", &[("field", "id")]).unwrap();
        let (schema, value) = simple_struct();
        let out = t
            .apply(record_with_value(Some(schema), value))
            .unwrap()
            .unwrap();
        assert_eq!(out.value, Value::Int32(42));
        assert_eq!(out.value_schema, Some(schemas::int32()));
        let out = t
            .apply(record_with_value(None, smap(&[("id", Value::Int32(1))])))
            .unwrap()
            .unwrap();
        assert_eq!(out.value, Value::Int32(1));
        // Missing in a map: null; missing in a schema: an error naming the field.
        let out = t
            .apply(record_with_value(None, smap(&[])))
            .unwrap()
            .unwrap();
        assert_eq!(out.value, Value::Null);
        let s = Schema::struct_builder()
            .field("x", schemas::int32())
            .build();
        let err = t
            .apply(record_with_value(
                Some(s.clone()),
                Value::Struct(Struct::new(s)),
            ))
            .unwrap_err();
        assert_eq!(err.to_string(), "Unknown field: id");
    }

    #[test]
    fn nested_paths_with_v2_and_null_passthrough() {
        let inner = Schema::struct_builder()
            .field("c", schemas::string())
            .build();
        let outer = Schema::struct_builder().field("b", inner.clone()).build();
        let mut i = Struct::new(inner);
        i.put("c", "deep".into());
        let mut o = Struct::new(outer.clone());
        o.put("b", Value::Struct(i));
        let mut t = transform(
            "org.apache.kafka.connect.transforms.ExtractField$Value",
            &[("field", "b.c"), ("field.syntax.version", "V2")],
        )
        .unwrap();
        let out = t
            .apply(record_with_value(Some(outer.clone()), Value::Struct(o)))
            .unwrap()
            .unwrap();
        assert_eq!(out.value, Value::from("deep"));
        let out = t
            .apply(record_with_value(Some(outer), Value::Null))
            .unwrap()
            .unwrap();
        assert_eq!(out.value, Value::Null);
        assert_eq!(out.value_schema, Some(schemas::string()));
    }

    #[test]
    fn hoist_wraps_values() {
        // Kafka docs: HoistField$Value with field=line turns 42 into Struct{line=42}.
        let mut t = transform("HoistField$Value", &[("field", "line")]).unwrap();
        let out = t
            .apply(record_with_value(Some(schemas::int32()), Value::Int32(42)))
            .unwrap()
            .unwrap();
        let s = out.value.as_struct().unwrap();
        assert_eq!(s.get("line"), Some(&Value::Int32(42)));
        assert_eq!(out.value_schema.unwrap().fields[0].schema, schemas::int32());
        let out = t
            .apply(record_with_value(None, Value::from("x")))
            .unwrap()
            .unwrap();
        assert_eq!(out.value, smap(&[("line", "x".into())]));
        assert!(transform("HoistField$Key", &[]).is_err());
    }
}
