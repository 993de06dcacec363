//! `Cast$Key` / `Cast$Value`: cast fields, or the whole key or value, to another primitive type.

use std::collections::HashMap;

use crate::api::{ConfigKey, ConfigType, KeyDefault, Problem, Settings};
use crate::data::schema::{DATE_NAME, TIMESTAMP_NAME, TIME_NAME};
use crate::data::{ConnectRecord, Schema, SchemaRef, SchemaType, Value};

use super::java_format::format_millis;
use super::prelude::{map_out, rewrite, struct_out, OnNull};
use super::util::{
    copy_basics, field_value, invalid, java_class_name, map_index, problem, require_map,
    require_struct, SchemaCache, Target,
};
use super::{TransformError, Transformation};

pub const KEYS: &[ConfigKey] = &[
    ConfigKey::new("spec", ConfigType::List, KeyDefault::Required,
        "List of fields and the type to cast them to of the form field1:type,field2:type to cast fields of Maps or Structs. \
         A single type to cast the entire value. Valid types are int8, int16, int32, int64, float32, float64, boolean, and string. \
         Note that binary fields can only be cast to string."),
    ConfigKey::new("replace.null.with.default", ConfigType::Boolean, KeyDefault::Value("true"),
        "Whether null fields that have a default value get that default (true) or stay null."),
];

const PURPOSE: &str = "cast types";
const OUTPUTS: &str = "[INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]";
const INPUTS: &str = "[INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING, BYTES]";

pub struct Cast {
    target: Target,
    whole: Option<SchemaType>,
    casts: HashMap<String, SchemaType>,
    /// The casts in the order of Connect's `HashMap` of them, which a schemaless map is
    /// walked in.
    java_order: Vec<(String, SchemaType)>,
    replace_null_with_default: bool,
    cache: SchemaCache<SchemaRef>,
}

fn parse_type(name: &str) -> Result<SchemaType, String> {
    let ty = match name.trim().to_ascii_uppercase().as_str() {
        "INT8" => SchemaType::Int8,
        "INT16" => SchemaType::Int16,
        "INT32" => SchemaType::Int32,
        "INT64" => SchemaType::Int64,
        "FLOAT32" => SchemaType::Float32,
        "FLOAT64" => SchemaType::Float64,
        "BOOLEAN" => SchemaType::Boolean,
        "STRING" => SchemaType::String,
        "BYTES" => SchemaType::Bytes,
        "ARRAY" => SchemaType::Array,
        "MAP" => SchemaType::Map,
        "STRUCT" => SchemaType::Struct,
        _ => {
            return Err(format!(
                "Invalid type found in casting spec: {}",
                name.trim()
            ))
        }
    };
    if matches!(
        ty,
        SchemaType::Bytes | SchemaType::Array | SchemaType::Map | SchemaType::Struct
    ) {
        return Err(format!(
            "Cast transformation does not support casting to {}; supported types are {OUTPUTS}",
            ty.connect_name()
        ));
    }
    Ok(ty)
}

pub fn create(s: &Settings<'_>, target: Target) -> Result<Box<dyn Transformation>, Problem> {
    let key = format!("{}spec", s.prefix);
    let Some(raw) = s.raw("spec") else {
        return Err(Problem::new(
            &key,
            format!("Missing required configuration \"{key}\" which has no default value."),
        ));
    };
    let spec = s.list("spec");
    if spec.is_empty() {
        return Err(invalid(
            &key,
            raw,
            "Must specify at least one field to cast.",
        ));
    }
    let mut whole = None;
    let mut casts = HashMap::new();
    for m in &spec {
        let parts: Vec<&str> = m.split(':').collect();
        match parts.as_slice() {
            [ty] => whole = Some(parse_type(ty).map_err(|e| invalid(&key, raw, e))?),
            [field, ty] => {
                casts.insert(
                    field.trim().to_string(),
                    parse_type(ty).map_err(|e| invalid(&key, raw, e))?,
                );
            }
            _ => return Err(invalid(&key, raw, format!("Invalid rename mapping: {m}"))),
        }
    }
    if whole.is_some() && spec.len() > 1 {
        return Err(invalid(&key, raw,
            "Cast transformations that specify a type to cast the entire value to may only specify a single cast in their spec"));
    }
    let java_order = spec
        .iter()
        .filter_map(|m| m.split_once(':').map(|(f, _)| f.trim().to_string()));
    let java_order = super::util::java_hash_order(java_order, 16)
        .into_iter()
        .map(|f| {
            let ty = casts[&f];
            (f, ty)
        })
        .collect();
    Ok(Box::new(Cast {
        target,
        whole,
        casts,
        java_order,
        replace_null_with_default: s.bool("replace.null.with.default").map_err(problem)?,
        cache: SchemaCache::new(16),
    }))
}

fn type_schema(ty: SchemaType) -> crate::data::SchemaBuilder {
    Schema::builder(ty)
}

/// Connect's `castValueToType`: `schema` is the input's schema when there is one.
fn cast_value(
    schema: Option<&Schema>,
    value: Value,
    to: SchemaType,
) -> Result<Value, TransformError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let from = match schema {
        Some(s) => s.ty,
        None => value.inferred_type().ok_or_else(|| {
            TransformError::new(format!(
                "Cast transformation was passed a value of type class {} which is not supported \
                 by Connect's data API",
                java_class_name(&value)
            ))
        })?,
    };
    if matches!(
        from,
        SchemaType::Array | SchemaType::Map | SchemaType::Struct
    ) {
        return Err(TransformError::new(format!(
            "Cast transformation does not support casting from {}; supported types are {INPUTS}",
            from.connect_name()
        )));
    }
    let logical = schema.and_then(|s| s.name.as_deref());
    if to == SchemaType::String {
        // Dates render as Connect's `Values.dateFormatFor` does.
        let ms = match (logical, &value) {
            (Some(DATE_NAME), Value::Int32(d)) => Some(*d as i64 * 86_400_000),
            (Some(TIME_NAME), Value::Int32(t)) => Some(*t as i64),
            (Some(TIMESTAMP_NAME), Value::Int64(t)) => Some(*t),
            _ => None,
        };
        if let Some(ms) = ms {
            let fmt = if ms < 86_400_000 {
                "%H:%M:%S%.3fZ"
            } else if ms % 86_400_000 == 0 {
                "%Y-%m-%d"
            } else {
                "%Y-%m-%dT%H:%M:%S%.3fZ"
            };
            return Ok(Value::String(format_millis(ms, fmt).into()));
        }
        return Ok(Value::String(value.to_display_string().into()));
    }
    let out_of_range = |v: &Value| {
        TransformError::new(format!(
            "Value ({}) was out of range for requested data type",
            v.to_display_string()
        ))
    };
    let unexpected = |v: &Value| {
        TransformError::new(format!(
            "Unexpected type in Cast transformation: class {}",
            java_class_name(v)
        ))
    };
    // Numbers narrow as Java's Number.xxxValue() does: integers wrap, floats saturate.
    enum N {
        I(i64),
        F(f64),
    }
    let num = match &value {
        Value::Int8(v) => Some(N::I(*v as i64)),
        Value::Int16(v) => Some(N::I(*v as i64)),
        Value::Int32(v) => Some(N::I(*v as i64)),
        Value::Int64(v) => Some(N::I(*v)),
        Value::Float32(v) => Some(N::F(*v as f64)),
        Value::Float64(v) => Some(N::F(*v)),
        Value::Decimal(d) => Some(N::F(d.to_f64())),
        Value::Boolean(b) => Some(N::I(*b as i64)),
        _ => None,
    };
    if let Some(n) = num {
        let as_long = |n: &N| match n {
            N::I(i) => *i,
            N::F(f) => *f as i64,
        };
        let as_int = |n: &N| match n {
            N::I(i) => *i as i32,
            N::F(f) => *f as i32,
        };
        return Ok(match to {
            SchemaType::Int8 => Value::Int8(as_int(&n) as i8),
            SchemaType::Int16 => Value::Int16(as_int(&n) as i16),
            SchemaType::Int32 => Value::Int32(as_int(&n)),
            SchemaType::Int64 => Value::Int64(as_long(&n)),
            SchemaType::Float32 => Value::Float32(match n {
                N::I(i) => i as f32,
                N::F(f) => f as f32,
            }),
            SchemaType::Float64 => Value::Float64(match n {
                N::I(i) => i as f64,
                N::F(f) => f,
            }),
            SchemaType::Boolean => Value::Boolean(as_long(&n) != 0),
            _ => unreachable!("outputs are checked at configuration"),
        });
    }
    match &value {
        Value::String(s) => Ok(match to {
            SchemaType::Int8 => Value::Int8(s.parse().map_err(|_| out_of_range(&value))?),
            SchemaType::Int16 => Value::Int16(s.parse().map_err(|_| out_of_range(&value))?),
            SchemaType::Int32 => Value::Int32(s.parse().map_err(|_| out_of_range(&value))?),
            SchemaType::Int64 => Value::Int64(s.parse().map_err(|_| out_of_range(&value))?),
            SchemaType::Float32 => {
                Value::Float32(s.trim().parse().map_err(|_| out_of_range(&value))?)
            }
            SchemaType::Float64 => {
                Value::Float64(s.trim().parse().map_err(|_| out_of_range(&value))?)
            }
            SchemaType::Boolean => Value::Boolean(s.eq_ignore_ascii_case("true")),
            _ => unreachable!("outputs are checked at configuration"),
        }),
        other => Err(unexpected(other)),
    }
}

impl Cast {
    fn build_schema(&self, schema: &Schema) -> Result<SchemaRef, TransformError> {
        let mut b = match self.whole {
            Some(ty) => copy_basics(schema, type_schema(ty)),
            None => {
                let mut b = copy_basics(schema, Schema::struct_builder());
                for f in &schema.fields {
                    match self.casts.get(&f.name) {
                        Some(&ty) => {
                            let mut fb = type_schema(ty).set_optional(f.schema.optional);
                            if let Some(d) = &f.schema.default {
                                fb = fb.default_value(cast_value(Some(&f.schema), d.clone(), ty)?);
                            }
                            b = b.field(f.name.clone(), fb.build());
                        }
                        None => b = b.field(f.name.clone(), f.schema.clone()),
                    }
                }
                b
            }
        };
        if schema.optional {
            b = b.optional();
        }
        if let (Some(d), Some(ty)) = (&schema.default, self.whole) {
            b = b.default_value(cast_value(Some(schema), d.clone(), ty)?);
        }
        Ok(b.build())
    }
}

impl Transformation for Cast {
    fn apply(&mut self, record: ConnectRecord) -> Result<Option<ConnectRecord>, TransformError> {
        // Not `rewrite_fields`: a whole-value cast takes any value, and with a schema Connect
        // builds the cast schema before it checks for a struct.
        rewrite(
            self.target,
            record,
            OnNull::PassThrough,
            |_, schema, value| {
                let Some(schema) = schema else {
                    if let Some(ty) = self.whole {
                        return Ok((None, cast_value(None, value, ty)?));
                    }
                    // `new HashMap<>(value)`, then a put for each cast in the casts'
                    // HashMap order (a missing field is added as null).
                    let mut m = require_map(value, PURPOSE)?.copied();
                    for (field, ty) in &self.java_order {
                        let ty = *ty;
                        match map_index(&m, field) {
                            Some(i) => {
                                let v = std::mem::replace(&mut m[i].1, Value::Null);
                                m[i].1 = cast_value(None, v, ty)?;
                            }
                            None => m.push((Value::String(field.into()), Value::Null)),
                        }
                    }
                    return Ok(map_out(m));
                };
                let this: &Cast = self;
                let mut built = None;
                if this.cache.peek(&schema).is_none() {
                    built = Some(this.build_schema(&schema)?);
                }
                let updated = self
                    .cache
                    .get_or_try_insert::<TransformError>(&schema, |_| {
                        Ok(built.take().expect("built"))
                    })?
                    .clone();
                if let Some(ty) = self.whole {
                    return Ok((Some(updated), cast_value(Some(&schema), value, ty)?));
                }
                let input = require_struct(value, PURPOSE)?;
                let in_schema = input.schema.clone();
                let mut out = Vec::with_capacity(input.values.len());
                for (v, f) in input.values.into_iter().zip(&in_schema.fields) {
                    let v = field_value(v, &f.schema, self.replace_null_with_default);
                    out.push(match self.casts.get(&f.name) {
                        Some(&ty) => cast_value(Some(&f.schema), v, ty)?,
                        None => v,
                    });
                }
                Ok(struct_out(updated, out))
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::*;
    use crate::data::{schemas, Schema, SchemaType, Struct, Value};

    #[test]
    fn casts_struct_fields_and_schemas() {
        // Kafka docs: Cast$Value spec=ID:string,score:float64.
        let schema = Schema::struct_builder()
            .name("r")
            .field("ID", schemas::int32())
            .field(
                "score",
                Schema::builder(SchemaType::Int32)
                    .optional()
                    .default_value(Value::Int32(5))
                    .build(),
            )
            .field("raw", schemas::optional_bytes())
            .build();
        let mut s = Struct::new(schema.clone());
        s.put("ID", Value::Int32(7));
        s.put("raw", Value::Bytes(vec![1, 2]));
        let mut t = transform(
            "Cast$Value",
            &[("spec", "ID:string,score:float64,raw:string")],
        )
        .unwrap();
        let out = t
            .apply(record_with_value(Some(schema), Value::Struct(s)))
            .unwrap()
            .unwrap();
        let os = out.value_schema.clone().unwrap();
        assert_eq!(os.field("ID").unwrap().schema.ty, SchemaType::String);
        let score = &os.field("score").unwrap().schema;
        assert!(score.optional);
        assert_eq!(score.default, Some(Value::Float64(5.0)));
        let v = out.value.as_struct().unwrap();
        assert_eq!(v.get("ID"), Some(&Value::from("7")));
        assert_eq!(
            v.get("score"),
            Some(&Value::Float64(5.0)),
            "null took the default first"
        );
        assert_eq!(v.get("raw"), Some(&Value::from("AQI=")));
    }

    #[test]
    fn casts_whole_values_and_schemaless_maps() {
        let mut t = transform("Cast$Key", &[("spec", "int8")]).unwrap();
        let mut r = record_with_value(None, Value::Null);
        r.key = Value::Int32(300);
        assert_eq!(
            t.apply(r).unwrap().unwrap().key,
            Value::Int8(44),
            "narrowing wraps as in Java"
        );
        let mut t = transform("Cast$Value", &[("spec", "a:boolean,b:int64")]).unwrap();
        let out = t
            .apply(record_with_value(
                None,
                smap(&[("a", Value::from("TRUE")), ("b", Value::Float64(2.9))]),
            ))
            .unwrap()
            .unwrap();
        assert_eq!(
            out.value,
            smap(&[("a", Value::Boolean(true)), ("b", Value::Int64(2))])
        );
        let err = transform("Cast$Value", &[("spec", "a:int32")])
            .unwrap()
            .apply(record_with_value(None, smap(&[("a", Value::from("x1"))])))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Value (x1) was out of range for requested data type"
        );
    }

    #[test]
    fn bad_specs_are_rejected() {
        let e = transform("Cast$Value", &[("spec", "a:bytes")])
            .err()
            .unwrap();
        assert!(
            e.message.contains("does not support casting to BYTES"),
            "{}",
            e.message
        );
        let e = transform("Cast$Value", &[("spec", "a:nope")])
            .err()
            .unwrap();
        assert!(e
            .message
            .contains("Invalid type found in casting spec: nope"));
        let e = transform("Cast$Value", &[("spec", "int8,a:int16")])
            .err()
            .unwrap();
        assert!(e.message.contains("may only specify a single cast"));
        let e = transform("Cast$Value", &[("spec", "")]).err().unwrap();
        assert!(e
            .message
            .contains("Must specify at least one field to cast."));
    }
}
