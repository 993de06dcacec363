//! `MaskField$Key` / `MaskField$Value`: replace field values by the type's "empty" value or a
//! configured replacement.

use std::collections::HashSet;

use crate::api::{ConfigKey, ConfigType, KeyDefault, Problem, Settings, Validator};
use crate::data::{ConnectRecord, Decimal, Struct, Value};

use super::headers::non_empty_list;
use super::prelude::{map_out, rewrite_fields, OnNull, Operand};
use super::util::{field_value, invalid, java_class_name, map_index, problem, Target};
use super::{TransformError, Transformation};

pub const KEYS: &[ConfigKey] = &[
    ConfigKey::new("fields", ConfigType::List, KeyDefault::Required, "Names of fields to mask.")
        .validator(Validator::Custom(non_empty_list)),
    ConfigKey::new("replacement", ConfigType::String, KeyDefault::None,
        "Custom value replacement, that will be applied to all 'fields' values (numeric or non-empty string values only).")
        .validator(Validator::NonEmpty),
    ConfigKey::new("replace.null.with.default", ConfigType::Boolean, KeyDefault::Value("true"),
        "Whether null fields that have a default value get that default (true) or stay null."),
];

const PURPOSE: &str = "mask fields";

pub struct MaskField {
    target: Target,
    fields: HashSet<String>,
    /// The fields in the order of Connect's `new HashSet<>(list)` of them, which a schemaless
    /// map is walked in.
    java_order: Vec<String>,
    replacement: Option<String>,
    replace_null_with_default: bool,
}

pub fn create(s: &Settings<'_>, target: Target) -> Result<Box<dyn Transformation>, Problem> {
    let key = format!("{}fields", s.prefix);
    let raw = s.raw("fields").ok_or_else(|| {
        Problem::new(
            &key,
            format!("Missing required configuration \"{key}\" which has no default value."),
        )
    })?;
    non_empty_list(raw).map_err(|m| invalid(&key, raw, m))?;
    let replacement = s.raw("replacement").map(str::to_string);
    if replacement.as_deref() == Some("") {
        return Err(invalid(
            &format!("{}replacement", s.prefix),
            "",
            "String must be non-empty",
        ));
    }
    Ok(Box::new(MaskField {
        target,
        fields: s.list("fields").into_iter().collect(),
        java_order: {
            let list = s.list("fields");
            // HashSet(Collection): a table for max(size / .75 + 1, 16) entries.
            let capacity = crate::data::java_string::table_size_for(
                ((list.len() as f32 / 0.75) as usize + 1).max(16),
            );
            super::util::java_hash_order(list, capacity)
        },
        replacement,
        replace_null_with_default: s.bool("replace.null.with.default").map_err(problem)?,
    }))
}

impl MaskField {
    fn masked(&self, v: Value) -> Result<Value, TransformError> {
        if v.is_null() {
            return Ok(v);
        }
        match &self.replacement {
            None => Ok(match v {
                Value::Boolean(_) => Value::Boolean(false),
                Value::Int8(_) => Value::Int8(0),
                Value::Int16(_) => Value::Int16(0),
                Value::Int32(_) => Value::Int32(0),
                Value::Int64(_) => Value::Int64(0),
                Value::Float32(_) => Value::Float32(0.0),
                Value::Float64(_) => Value::Float64(0.0),
                // Connect's BigDecimal.ZERO: scale 0 whatever the field's, so it prints `0`
                // (zero is zero at any scale when written).
                Value::Decimal(_) => Value::Decimal(Decimal {
                    unscaled: 0.into(),
                    scale: 0,
                }),
                Value::String(_) => Value::String(Default::default()),
                Value::Array(_) => Value::Array(Vec::new()),
                Value::Map(_) => Value::Map(Vec::new().into()),
                // Connect's `new Date(0)`.
                Value::JavaDate(_) => Value::JavaDate(0),
                other => {
                    return Err(TransformError::new(format!(
                        "Cannot mask value of type: class {}",
                        java_class_name(&other)
                    )))
                }
            }),
            Some(r) => {
                let bad = || {
                    TransformError::new(format!(
                        "Unable to convert {r} (class java.lang.String) to number"
                    ))
                };
                Ok(match v {
                    Value::Int8(_) => Value::Int8(r.trim().parse().map_err(|_| bad())?),
                    Value::Int16(_) => Value::Int16(r.trim().parse().map_err(|_| bad())?),
                    Value::Int32(_) => Value::Int32(r.trim().parse().map_err(|_| bad())?),
                    Value::Int64(_) => Value::Int64(r.trim().parse().map_err(|_| bad())?),
                    Value::Float32(_) => Value::Float32(r.trim().parse().map_err(|_| bad())?),
                    Value::Float64(_) => Value::Float64(r.trim().parse().map_err(|_| bad())?),
                    Value::Decimal(_) => Value::Decimal(Decimal::parse(r).ok_or_else(bad)?),
                    Value::String(_) => Value::String(r.as_str().into()),
                    other => {
                        return Err(TransformError::new(format!(
                            "Cannot mask value of type class {} with custom replacement.",
                            java_class_name(&other)
                        )))
                    }
                })
            }
        }
    }
}

impl Transformation for MaskField {
    fn apply(&mut self, record: ConnectRecord) -> Result<Option<ConnectRecord>, TransformError> {
        rewrite_fields(
            self.target,
            record,
            OnNull::Apply,
            PURPOSE,
            |_, operand| match operand {
                Operand::Schemaless(m) => {
                    // `new HashMap<>(value)`, then a put for each field.
                    let mut m = m.copied();
                    for f in &self.java_order {
                        match map_index(&m, f) {
                            Some(i) => {
                                let v = std::mem::replace(&mut m[i].1, Value::Null);
                                m[i].1 = self.masked(v)?;
                            }
                            None => m.push((Value::String(f.as_str().into()), Value::Null)),
                        }
                    }
                    Ok(map_out(m))
                }
                Operand::WithSchema(schema, input) => {
                    let s = input.schema.clone();
                    let mut values = Vec::with_capacity(input.values.len());
                    for (v, f) in input.values.into_iter().zip(&s.fields) {
                        let v = field_value(v, &f.schema, self.replace_null_with_default);
                        values.push(if self.fields.contains(&f.name) {
                            self.masked(v)?
                        } else {
                            v
                        });
                    }
                    Ok((Some(schema), Value::Struct(Struct { schema: s, values })))
                }
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::*;
    use crate::data::{Decimal, Value};

    /// Connect 4.3.0 masks a decimal with `BigDecimal.ZERO`, printed `0` (not `0.00`).
    #[test]
    fn masked_decimals_are_big_decimal_zero() {
        let mut t = transform("MaskField$Value", &[("fields", "d")]).unwrap();
        let value = smap(&[("d", Value::Decimal(Decimal::parse("123.45").unwrap()))]);
        let out = t.apply(record_with_value(None, value)).unwrap().unwrap();
        let mut text = Vec::new();
        crate::data::write_java_string(None, &out.value, &mut text);
        assert_eq!(text, b"{d=0}");
    }

    #[test]
    fn masks_with_empty_values_or_replacement() {
        let mut t = transform("MaskField$Value", &[("fields", "id,name")]).unwrap();
        let (schema, value) = simple_struct();
        let out = t
            .apply(record_with_value(Some(schema.clone()), value.clone()))
            .unwrap()
            .unwrap();
        let v = out.value.as_struct().unwrap();
        assert_eq!(v.get("id"), Some(&Value::Int32(0)));
        assert_eq!(v.get("name"), Some(&Value::from("")));
        assert_eq!(v.get("flag"), Some(&Value::Boolean(true)));
        // Kafka docs: replacement=<redacted> for string fields.
        let mut t = transform(
            "MaskField$Value",
            &[("fields", "name"), ("replacement", "<redacted>")],
        )
        .unwrap();
        let out = t
            .apply(record_with_value(Some(schema.clone()), value.clone()))
            .unwrap()
            .unwrap();
        assert_eq!(
            out.value.as_struct().unwrap().get("name"),
            Some(&Value::from("<redacted>"))
        );
        let mut t = transform(
            "MaskField$Value",
            &[("fields", "id"), ("replacement", "abc")],
        )
        .unwrap();
        let err = t.apply(record_with_value(Some(schema), value)).unwrap_err();
        assert!(err.to_string().contains("Unable to convert abc"));
        let mut t = transform("MaskField$Value", &[("fields", "a")]).unwrap();
        let out = t
            .apply(record_with_value(
                None,
                smap(&[("a", Value::Int64(9)), ("b", Value::Int64(1))]),
            ))
            .unwrap()
            .unwrap();
        assert_eq!(
            out.value,
            smap(&[("a", Value::Int64(0)), ("b", Value::Int64(1))])
        );
        assert!(transform("MaskField$Value", &[("fields", "")]).is_err());
    }
}
