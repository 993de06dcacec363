//! `Flatten$Key` / `Flatten$Value`: nested structs (or maps) become one level, names joined by
//! the delimiter; optionality and defaults of parents carry down as Connect does.

use crate::api::{ConfigKey, ConfigType, KeyDefault, Problem, Settings};
use crate::data::{
    ConnectRecord, Map, Schema, SchemaBuilder, SchemaRef, SchemaType, Struct, Value,
};

use super::prelude::{map_out, rewrite_fields, struct_out, OnNull, Operand};
use super::util::{copy_basics, copy_basics_same_type, java_class_name, SchemaCache, Target};
use super::{TransformError, Transformation};

pub const KEYS: &[ConfigKey] = &[ConfigKey::new(
    "delimiter",
    ConfigType::String,
    KeyDefault::Value("."),
    "Delimiter to insert between field names from the input record when generating field names for the output record",
)];

const PURPOSE: &str = "flattening";

pub struct Flatten {
    target: Target,
    delimiter: String,
    cache: SchemaCache<SchemaRef>,
}

pub fn create(s: &Settings<'_>, target: Target) -> Result<Box<dyn Transformation>, Problem> {
    Ok(Box::new(Flatten {
        target,
        delimiter: s.raw("delimiter").unwrap_or(".").to_string(),
        cache: SchemaCache::new(16),
    }))
}

impl Flatten {
    fn name(&self, prefix: &str, field: &str) -> String {
        if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}{}{field}", self.delimiter)
        }
    }

    fn build_schema(
        &self,
        schema: &Schema,
        prefix: &str,
        mut b: SchemaBuilder,
        optional: bool,
        parent_default: Option<&Struct>,
    ) -> Result<SchemaBuilder, TransformError> {
        for f in &schema.fields {
            let name = self.name(prefix, &f.name);
            let opt = optional || f.schema.optional;
            let default = match &f.schema.default {
                Some(d) => Some(d.clone()),
                None => parent_default
                    .and_then(|p| p.values.get(f.index).cloned())
                    .filter(|v| !v.is_null()),
            };
            match f.schema.ty {
                SchemaType::Map => {
                    return Err(TransformError::new(format!(
                        "Flatten transformation does not support MAP for record with schemas (for field {name})."
                    )))
                }
                SchemaType::Struct => {
                    let d = match &default {
                        Some(Value::Struct(s)) => Some(s.clone()),
                        _ => None,
                    };
                    b = self.build_schema(&f.schema, &name, b, opt, d.as_ref())?;
                }
                _ => {
                    let mut fb = copy_basics_same_type(&f.schema);
                    if opt {
                        fb = fb.optional();
                    }
                    if let Some(d) = default {
                        fb = fb.default_value(d);
                    }
                    b = b.field(name, fb.build());
                }
            }
        }
        Ok(b)
    }

    fn flatten_struct(&self, s: Struct, prefix: &str, out: &mut Vec<Value>) {
        let schema = s.schema;
        for (v, f) in s.values.into_iter().zip(&schema.fields) {
            match f.schema.ty {
                SchemaType::Struct => match v {
                    Value::Struct(inner) => {
                        self.flatten_struct(inner, &self.name(prefix, &f.name), out)
                    }
                    _ => push_nulls(&f.schema, out),
                },
                _ => out.push(match (v, &f.schema.default) {
                    (Value::Null, Some(d)) => d.clone(),
                    (v, _) => v,
                }),
            }
        }
    }

    /// Connect iterates each map, nested ones too, in its Java order into a `LinkedHashMap`.
    fn flatten_map(
        &self,
        mut entries: Map,
        prefix: &str,
        out: &mut Vec<(Value, Value)>,
    ) -> Result<(), TransformError> {
        entries.put_in_java_order();
        for (k, v) in entries {
            let key = match &k {
                Value::String(s) => self.name(prefix, s),
                other => self.name(prefix, &other.to_display_string()),
            };
            match v {
                Value::Map(inner) => self.flatten_map(inner, &key, out)?,
                Value::JavaDate(_) => {
                    return Err(TransformError::new(format!(
                        "Flatten transformation was passed a value of type class {} which is not supported by Connect's data API",
                        java_class_name(&v)
                    )))
                }
                Value::Struct(_) => {
                    return Err(TransformError::new(format!(
                        "Flatten transformation does not support class {} for record without schemas (for field {key}).",
                        java_class_name(&v)
                    )))
                }
                other => out.push((Value::String(key.into()), other)),
            }
        }
        Ok(())
    }
}

/// A null nested struct leaves all its flattened fields null.
fn push_nulls(schema: &Schema, out: &mut Vec<Value>) {
    for f in &schema.fields {
        if f.schema.ty == SchemaType::Struct {
            push_nulls(&f.schema, out);
        } else {
            out.push(Value::Null);
        }
    }
}

impl Transformation for Flatten {
    fn apply(&mut self, record: ConnectRecord) -> Result<Option<ConnectRecord>, TransformError> {
        rewrite_fields(
            self.target,
            record,
            OnNull::PassThrough,
            PURPOSE,
            |_, operand| match operand {
                Operand::Schemaless(m) => {
                    let mut out = Vec::with_capacity(m.len());
                    self.flatten_map(m, "", &mut out)?;
                    Ok(map_out(Map::linked(out)))
                }
                Operand::WithSchema(schema, input) => {
                    let built = match self.cache.peek(&schema) {
                        Some(_) => None,
                        None => {
                            let d = match &schema.default {
                                Some(Value::Struct(s)) => Some(s.clone()),
                                _ => None,
                            };
                            let b = copy_basics(&schema, Schema::struct_builder());
                            Some(
                                self.build_schema(&schema, "", b, schema.optional, d.as_ref())?
                                    .build(),
                            )
                        }
                    };
                    let mut built = built;
                    let updated = self
                        .cache
                        .get_or_try_insert::<TransformError>(&schema, |_| {
                            Ok(built.take().expect("built"))
                        })?
                        .clone();
                    let mut values = Vec::with_capacity(updated.fields.len());
                    self.flatten_struct(input, "", &mut values);
                    Ok(struct_out(updated, values))
                }
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::*;
    use crate::data::{schemas, Schema, Struct, Value};

    #[test]
    fn flattens_nested_structs() {
        // Kafka docs: {"content": {"id": 42, "name": {"first": "David", "middle": null, "last": "Wong"}}}
        // becomes content.id, content.name.first, content.name.middle, content.name.last.
        let name = Schema::struct_builder()
            .field("first", schemas::string())
            .field("middle", schemas::optional_string())
            .field("last", schemas::string())
            .build();
        let content = Schema::struct_builder()
            .optional()
            .field("id", schemas::int32())
            .field("name", name.clone())
            .build();
        let root = Schema::struct_builder()
            .name("root")
            .field("content", content.clone())
            .build();
        let mut n = Struct::new(name);
        n.put("first", "David".into());
        n.put("last", "Wong".into());
        let mut c = Struct::new(content);
        c.put("id", Value::Int32(42));
        c.put("name", Value::Struct(n));
        let mut r = Struct::new(root.clone());
        r.put("content", Value::Struct(c));
        let mut t = transform("Flatten$Value", &[]).unwrap();
        let out = t
            .apply(record_with_value(Some(root.clone()), Value::Struct(r)))
            .unwrap()
            .unwrap();
        let s = out.value_schema.clone().unwrap();
        let names: Vec<_> = s.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "content.id",
                "content.name.first",
                "content.name.middle",
                "content.name.last"
            ]
        );
        assert!(
            s.fields.iter().all(|f| f.schema.optional),
            "the optional parent makes children optional"
        );
        assert_eq!(s.name.as_deref(), Some("root"));
        let v = out.value.as_struct().unwrap();
        assert_eq!(v.get("content.name.first"), Some(&Value::from("David")));
        assert_eq!(v.get("content.id"), Some(&Value::Int32(42)));
        // A null nested struct gives nulls.
        let mut r = Struct::new(root.clone());
        r.put("content", Value::Null);
        let out = t
            .apply(record_with_value(Some(root), Value::Struct(r)))
            .unwrap()
            .unwrap();
        assert!(out
            .value
            .as_struct()
            .unwrap()
            .values
            .iter()
            .all(Value::is_null));
    }

    #[test]
    fn flattens_maps_with_custom_delimiter() {
        let mut t = transform("Flatten$Value", &[("delimiter", "_")]).unwrap();
        let v = smap(&[
            ("a", smap(&[("b", Value::Int32(1)), ("c", Value::Null)])),
            ("d", Value::Array(vec![])),
        ]);
        let out = t.apply(record_with_value(None, v)).unwrap().unwrap();
        assert_eq!(
            out.value,
            smap(&[
                ("a_b", Value::Int32(1)),
                ("a_c", Value::Null),
                ("d", Value::Array(vec![]))
            ])
        );
        let r = record_with_value(None, Value::Null);
        assert_eq!(t.apply(r.clone()).unwrap().unwrap(), r);
    }
}
