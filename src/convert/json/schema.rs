//! Schemas to and from JSON, as Connect's `asJsonSchema` and `asConnectSchema` do.

use serde_json::Value as Json;

use super::text::write_str;
use super::value::write_value;
use super::JsonOptions;
use crate::convert::DataError;
use crate::data::{Schema, SchemaRef, SchemaType};

/// Writes a schema as `asJsonSchema` does: type, fields/items/keys/values, optional, name,
/// version, doc, parameters, default.
pub fn write_schema(out: &mut Vec<u8>, s: &Schema, opts: JsonOptions) -> Result<(), DataError> {
    write_schema_inner(out, s, None, opts)
}

fn write_schema_inner(
    out: &mut Vec<u8>,
    s: &Schema,
    field: Option<&str>,
    opts: JsonOptions,
) -> Result<(), DataError> {
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(s.ty.json_name().as_bytes());
    out.push(b'"');
    match s.ty {
        SchemaType::Struct => {
            out.extend_from_slice(b",\"fields\":[");
            for (i, f) in s.fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_schema_inner(out, &f.schema, Some(&f.name), opts)?;
            }
            out.push(b']');
        }
        SchemaType::Array => {
            out.extend_from_slice(b",\"items\":");
            let items = s
                .value_schema
                .as_ref()
                .ok_or_else(|| DataError::new("array schema without item schema"))?;
            write_schema_inner(out, items, None, opts)?;
        }
        SchemaType::Map => {
            out.extend_from_slice(b",\"keys\":");
            let k = s
                .key_schema
                .as_ref()
                .ok_or_else(|| DataError::new("map schema without key schema"))?;
            write_schema_inner(out, k, None, opts)?;
            out.extend_from_slice(b",\"values\":");
            let v = s
                .value_schema
                .as_ref()
                .ok_or_else(|| DataError::new("map schema without value schema"))?;
            write_schema_inner(out, v, None, opts)?;
        }
        _ => {}
    }
    out.extend_from_slice(if s.optional {
        b",\"optional\":true"
    } else {
        b",\"optional\":false"
    });
    if let Some(n) = &s.name {
        out.extend_from_slice(b",\"name\":");
        write_str(out, n);
    }
    if let Some(v) = s.version {
        out.extend_from_slice(b",\"version\":");
        out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }
    if let Some(d) = &s.doc {
        out.extend_from_slice(b",\"doc\":");
        write_str(out, d);
    }
    if let Some(params) = &s.parameters {
        out.extend_from_slice(b",\"parameters\":{");
        for (i, (k, v)) in params.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(out, k);
            out.push(b':');
            write_str(out, v);
        }
        out.push(b'}');
    }
    if let Some(d) = &s.default {
        out.extend_from_slice(b",\"default\":");
        write_value(out, Some(s), d, opts)?;
    }
    if let Some(f) = field {
        out.extend_from_slice(b",\"field\":");
        write_str(out, f);
    }
    out.push(b'}');
    Ok(())
}

pub fn json_to_schema(j: &Json) -> Result<SchemaRef, DataError> {
    let obj = j
        .as_object()
        .ok_or_else(|| DataError::new("Schema must be a JSON object"))?;
    let ty_name = obj
        .get("type")
        .and_then(Json::as_str)
        .ok_or_else(|| DataError::new("Schema must contain 'type' field"))?;
    let ty = SchemaType::from_json_name(ty_name)
        .ok_or_else(|| DataError::new(format!("Unknown schema type: {ty_name}")))?;
    let mut b = match ty {
        SchemaType::Array => {
            let items = obj
                .get("items")
                .filter(|v| !v.is_null())
                .ok_or_else(|| DataError::new("Array schema did not specify the element type"))?;
            Schema::array(json_to_schema(items)?)
        }
        SchemaType::Map => {
            let k = obj
                .get("keys")
                .ok_or_else(|| DataError::new("Map schema did not specify the key type"))?;
            let v = obj
                .get("values")
                .ok_or_else(|| DataError::new("Map schema did not specify the value type"))?;
            Schema::map(json_to_schema(k)?, json_to_schema(v)?)
        }
        SchemaType::Struct => {
            let fields = obj.get("fields").and_then(Json::as_array).ok_or_else(|| {
                DataError::new("Struct schema's \"fields\" argument is not an array.")
            })?;
            let mut b = Schema::struct_builder();
            for f in fields {
                let name = f.get("field").and_then(Json::as_str).ok_or_else(|| {
                    DataError::new("Struct schema's field name not specified properly")
                })?;
                b = b.field(name, json_to_schema(f)?);
            }
            b
        }
        _ => Schema::builder(ty),
    };
    if obj.get("optional").and_then(Json::as_bool) == Some(true) {
        b = b.optional();
    }
    if let Some(n) = obj.get("name").and_then(Json::as_str) {
        b = b.name(n);
    }
    if let Some(v) = obj.get("version").and_then(Json::as_i64) {
        b = b.version(v as i32);
    }
    if let Some(d) = obj.get("doc").and_then(Json::as_str) {
        b = b.doc(d);
    }
    if let Some(p) = obj.get("parameters").and_then(Json::as_object) {
        for (k, v) in p {
            let v = v
                .as_str()
                .ok_or_else(|| DataError::new("Schema parameters must have string values."))?;
            b = b.parameter(k.clone(), v);
        }
    }
    if let Some(d) = obj.get("default") {
        let without_default = b.clone().build();
        let dv = crate::convert::json_read::read_with_schema(&without_default, &d.to_string())?;
        b = b.default_value(dv);
    }
    Ok(b.build())
}
