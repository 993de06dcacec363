//! The index mapping Confluent's connector creates from a value schema, so documents get
//! the field types their schema says instead of the ones Elasticsearch would guess.

use serde_json::{json, Map as JsonMap, Value as Json};

use crate::data::schema::{DATE_NAME, DECIMAL_NAME, TIMESTAMP_NAME, TIME_NAME};
use crate::data::{Schema, SchemaType, Value};

/// The index mapping Confluent's `Mapping.inferMapping` builds from a value schema.
pub fn infer_mapping(s: &Schema) -> Result<Json, String> {
    if let Some(name) = s.name.as_deref() {
        match name {
            DATE_NAME | TIME_NAME | TIMESTAMP_NAME => return Ok(primitive("date", s)),
            DECIMAL_NAME => return Ok(primitive("double", s)),
            _ => {}
        }
    }
    Ok(match s.ty {
        SchemaType::Array => match s.value_schema.as_deref() {
            Some(item) => infer_mapping(item)?,
            None => return Err("array schema without an item schema".into()),
        },
        SchemaType::Map => {
            let k = s
                .key_schema
                .as_deref()
                .ok_or("map schema without a key schema")?;
            let v = s
                .value_schema
                .as_deref()
                .ok_or("map schema without a value schema")?;
            json!({"properties": {"key": infer_mapping(k)?, "value": infer_mapping(v)?}})
        }
        SchemaType::Struct => {
            let mut props = JsonMap::new();
            for f in &s.fields {
                props.insert(f.name.clone(), infer_mapping(&f.schema)?);
            }
            json!({ "properties": props })
        }
        SchemaType::Boolean => primitive("boolean", s),
        SchemaType::Int8 => primitive("byte", s),
        SchemaType::Int16 => primitive("short", s),
        SchemaType::Int32 => primitive("integer", s),
        SchemaType::Int64 => primitive("long", s),
        SchemaType::Float32 => primitive("float", s),
        SchemaType::Float64 => primitive("double", s),
        SchemaType::String => primitive("text", s),
        SchemaType::Bytes => primitive("binary", s),
    })
}

fn primitive(ty: &str, s: &Schema) -> Json {
    let mut obj = JsonMap::new();
    obj.insert("type".into(), Json::String(ty.into()));
    if ty == "text" {
        obj.insert(
            "fields".into(),
            json!({"keyword": {"type": "keyword", "ignore_above": 256}}),
        );
    }
    // Text and binary fields cannot have a null_value in Elasticsearch.
    let null_value = match (&s.default, ty) {
        (None, _) | (_, "text") | (_, "binary") => None,
        (Some(Value::Int32(days)), "date") if s.is_named(DATE_NAME) => {
            Some(json!(*days as i64 * 86_400_000))
        }
        (Some(Value::Decimal(d)), _) => Some(json!(d.to_f64())),
        (Some(Value::Boolean(b)), _) => Some(json!(b)),
        (Some(v), _) => v
            .as_i64()
            .map(|n| json!(n))
            .or_else(|| v.as_f64().map(|f| json!(f))),
    };
    if let Some(nv) = null_value {
        obj.insert("null_value".into(), nv);
    }
    Json::Object(obj)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::schemas;

    #[test]
    fn a_mapping_follows_the_schema() {
        let dec = Schema::decimal(2).optional().build();
        let map = Schema::map(schemas::string(), schemas::int32())
            .optional()
            .build();
        let s = Schema::struct_builder()
            .field("price", dec)
            .field("tags", map)
            .field(
                "born",
                Schema::builder(SchemaType::Int32).name(DATE_NAME).build(),
            )
            .build();
        let m = infer_mapping(&s).unwrap();
        assert_eq!(m["properties"]["price"]["type"], "double");
        assert_eq!(m["properties"]["born"]["type"], "date");
        assert_eq!(m["properties"]["tags"]["properties"]["key"]["type"], "text");
        assert_eq!(
            m["properties"]["tags"]["properties"]["key"]["fields"]["keyword"]["ignore_above"],
            256
        );
    }
}
