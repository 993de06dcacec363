//! Avro schema → Connect schema, as Confluent's `AvroData.toConnectSchema` (7.0.16): the
//! schema a sink sees for what it reads is the one the JVM converter would give it (names,
//! versions, parameters, defaults, optional unions).

use std::sync::Arc;

use super::from_connect::{
    split_name, AVRO_ENUM_DEFAULT_PREFIX_PROP, AVRO_ENUM_DOC_PREFIX_PROP,
    AVRO_FIELD_DEFAULT_FLAG_PROP, AVRO_FIELD_DOC_PREFIX_PROP, AVRO_RECORD_DOC_PROP, AVRO_TYPE_ENUM,
    AVRO_TYPE_UNION, CONNECT_AVRO_DECIMAL_PRECISION_DEFAULT, CONNECT_AVRO_DECIMAL_PRECISION_PROP,
    CONNECT_AVRO_FIXED_SIZE_PROP, DEFAULT_SCHEMA_FULL_NAME, MAP_ENTRY_TYPE_NAME, NAMESPACE,
};
use super::json::Json;
use super::schema::{Avro, Prim};
use super::AvroDataOptions;
use crate::data::schema::{DATE_NAME, DECIMAL_NAME, TIMESTAMP_NAME, TIME_NAME};
use crate::data::{DataError, Decimal, Schema, SchemaRef, SchemaType, Struct, Value};

pub fn to_connect_schema(
    avro: &Avro,
    version: Option<i32>,
    opts: &AvroDataOptions,
) -> Result<SchemaRef, DataError> {
    convert(avro, false, None, version, opts).map(Arc::new)
}

fn set_param(s: &mut Schema, k: &str, v: String) {
    let params = s.parameters.get_or_insert_with(Vec::new);
    match params.iter_mut().find(|(pk, _)| pk == k) {
        Some(slot) => slot.1 = v,
        None => params.push((k.to_string(), v)),
    }
}

pub fn is_map_entry(avro: &Avro) -> bool {
    match avro {
        Avro::Record { name, props, .. } => {
            (name.namespace.as_deref() == Some(NAMESPACE) && name.name == MAP_ENTRY_TYPE_NAME)
                || props.get_str("connect.internal.type") == Some(MAP_ENTRY_TYPE_NAME)
        }
        _ => false,
    }
}

/// The Connect field name of a union member (`unionMemberFieldName`).
pub fn union_member_name(avro: &Avro, opts: &AvroDataOptions) -> String {
    match avro.name() {
        Some(n) if opts.enhanced_avro_schema_support => n.full(),
        Some(n) => split_name(&n.name, opts.scrub_invalid_names).1,
        None => avro.type_name().to_string(),
    }
}

fn convert(
    avro: &Avro,
    force_optional: bool,
    field_default: Option<&Json>,
    version: Option<i32>,
    opts: &AvroDataOptions,
) -> Result<Schema, DataError> {
    let props = avro.props();
    let prop_str = |k: &str| props.and_then(|p| p.get_str(k));
    let connect_type = prop_str("connect.type");
    let logical = prop_str("logicalType");
    let is_logical = |n: &str| logical.is_some_and(|l| l.eq_ignore_ascii_case(n));
    let mut s = match avro {
        Avro::Prim(Prim::Boolean, _) => Schema::new(SchemaType::Boolean),
        Avro::Prim(Prim::Bytes, _) | Avro::Fixed { .. } => {
            let mut s = Schema::new(SchemaType::Bytes);
            if is_logical("decimal") {
                let p = props.expect("bytes have properties");
                let scale = p.get("scale").and_then(Json::as_i64).unwrap_or(0);
                s.name = Some(DECIMAL_NAME.into());
                s.version = Some(1);
                set_param(&mut s, "scale", scale.to_string());
                if let Some(precision) = p.get("precision") {
                    let precision = precision.as_i64().ok_or_else(|| {
                        DataError::new(
                            "precision property must be a JSON Integer. https://avro.apache.org/docs/1.9.1/spec.html#Decimal",
                        )
                    })?;
                    if precision != CONNECT_AVRO_DECIMAL_PRECISION_DEFAULT {
                        set_param(
                            &mut s,
                            CONNECT_AVRO_DECIMAL_PRECISION_PROP,
                            precision.to_string(),
                        );
                    }
                }
            }
            if let Avro::Fixed { size, .. } = avro {
                set_param(&mut s, CONNECT_AVRO_FIXED_SIZE_PROP, size.to_string());
            }
            s
        }
        Avro::Prim(Prim::Double, _) => Schema::new(SchemaType::Float64),
        Avro::Prim(Prim::Float, _) => Schema::new(SchemaType::Float32),
        Avro::Prim(Prim::Int, _) => match (connect_type, logical) {
            (None, None) => Schema::new(SchemaType::Int32),
            (_, Some(_)) if is_logical("date") => logical_schema(SchemaType::Int32, DATE_NAME),
            (_, Some(_)) if is_logical("time-millis") => {
                logical_schema(SchemaType::Int32, TIME_NAME)
            }
            (_, Some(_)) => Schema::new(SchemaType::Int32),
            (Some("int8"), None) => Schema::new(SchemaType::Int8),
            (Some("int16"), None) => Schema::new(SchemaType::Int16),
            (Some(other), None) => {
                let t = SchemaType::from_json_name(other).ok_or_else(|| {
                    DataError::new("Connect type annotation for Avro int field is null")
                })?;
                Schema::new(t)
            }
        },
        Avro::Prim(Prim::Long, _) => {
            if is_logical("timestamp-millis") {
                logical_schema(SchemaType::Int64, TIMESTAMP_NAME)
            } else {
                Schema::new(SchemaType::Int64)
            }
        }
        Avro::Prim(Prim::String, _) => Schema::new(SchemaType::String),
        Avro::Array(items, _) => {
            if is_map_entry(items) {
                let Avro::Record { fields, .. } = &**items else {
                    unreachable!()
                };
                let key = fields.iter().find(|f| f.name == "key");
                let value = fields.iter().find(|f| f.name == "value");
                let (Some(key), Some(value), 2) = (key, value, fields.len()) else {
                    return Err(DataError::new("Found map encoded as array of key-value pairs, but array elements do not match the expected format."));
                };
                let mut s = Schema::new(SchemaType::Map);
                s.key_schema = Some(Arc::new(convert(&key.schema, false, None, None, opts)?));
                s.value_schema = Some(Arc::new(convert(&value.schema, false, None, None, opts)?));
                s
            } else {
                let mut s = Schema::new(SchemaType::Array);
                s.value_schema = Some(Arc::new(convert(items, false, None, None, opts)?));
                s
            }
        }
        Avro::Map(values, _) => {
            let mut s = Schema::new(SchemaType::Map);
            s.key_schema = Some(crate::data::schemas::string());
            s.value_schema = Some(Arc::new(convert(values, false, None, None, opts)?));
            s
        }
        Avro::Record { doc, fields, .. } => {
            let mut s = Schema::new(SchemaType::Struct);
            if opts.connect_meta_data {
                if let Some(d) = doc {
                    set_param(&mut s, AVRO_RECORD_DOC_PROP, d.clone());
                }
            }
            let mut cfields = Vec::with_capacity(fields.len());
            for (i, f) in fields.iter().enumerate() {
                if opts.connect_meta_data {
                    if let Some(d) = &f.doc {
                        set_param(
                            &mut s,
                            &format!("{AVRO_FIELD_DOC_PREFIX_PROP}{}", f.name),
                            d.clone(),
                        );
                    }
                }
                let fs = convert(&f.schema, false, f.default.as_ref(), None, opts)?;
                cfields.push(crate::data::Field::new(f.name.clone(), i, Arc::new(fs)));
            }
            s.fields = cfields;
            s
        }
        Avro::Enum {
            name,
            doc,
            symbols,
            default,
            ..
        } => {
            let mut s = Schema::new(SchemaType::String);
            if opts.connect_meta_data {
                if let Some(d) = doc {
                    set_param(
                        &mut s,
                        &format!("{AVRO_ENUM_DOC_PREFIX_PROP}{}", name.name),
                        d.clone(),
                    );
                }
                if let Some(d) = default {
                    set_param(
                        &mut s,
                        &format!("{AVRO_ENUM_DEFAULT_PREFIX_PROP}{}", name.name),
                        d.clone(),
                    );
                }
            }
            set_param(&mut s, AVRO_TYPE_ENUM, name.full());
            for sym in symbols {
                set_param(&mut s, &format!("{AVRO_TYPE_ENUM}.{sym}"), sym.clone());
            }
            s
        }
        Avro::Union(types) => {
            if types.len() == 2 && types.iter().any(Avro::is_null) {
                let member = types.iter().find(|t| !t.is_null()).expect("two members");
                return convert(member, true, None, None, opts);
            }
            let mut s = Schema::new(SchemaType::Struct);
            s.name = Some(AVRO_TYPE_UNION.into());
            let mut fields: Vec<crate::data::Field> = Vec::new();
            for t in types {
                if t.is_null() {
                    s.optional = true;
                    continue;
                }
                let fname = union_member_name(t, opts);
                if fields.iter().any(|f| f.name == fname) {
                    return Err(DataError::new(
                        "Multiple union schemas map to the Connect union field name",
                    ));
                }
                let fs = convert(t, true, None, None, opts)?;
                fields.push(crate::data::Field::new(fname, fields.len(), Arc::new(fs)));
            }
            s.fields = fields;
            s
        }
        Avro::Prim(Prim::Null, _) => {
            return Err(DataError::new(
                "Standalone null schemas are not supported by this converter",
            ))
        }
    };

    if opts.connect_meta_data {
        if let Some(d) = prop_str("connect.doc") {
            s.doc = Some(d.to_string());
        }
    }
    let version = match props.and_then(|p| p.get("connect.version")) {
        Some(v) => Some(v.as_i64().ok_or_else(|| {
            DataError::new(format!("Invalid Connect version found: {}", v.to_text()))
        })? as i32),
        None => version,
    };
    if let Some(v) = version.filter(|v| *v >= 0) {
        match s.version {
            Some(have) if have != v => {
                return Err(DataError::new(format!(
                    "Mismatched versions: version already added to SchemaBuilder ({have}) differs from version in source schema ({v})"
                )))
            }
            _ => s.version = Some(v),
        }
    }
    if let Some(p) = props {
        if opts.connect_meta_data {
            if let Some(params) = p.get("connect.parameters") {
                let Json::Object(members) = params else {
                    return Err(DataError::new(format!(
                        "Expected JSON object for schema parameters but found: {}",
                        params.to_text()
                    )));
                };
                for (k, v) in members {
                    let Json::Str(v) = v else {
                        return Err(DataError::new(format!(
                            "Expected schema parameter values to be strings but found: {}",
                            v.to_text()
                        )));
                    };
                    set_param(&mut s, k, v.clone());
                }
            }
        }
        for (k, v) in &p.0 {
            if k.starts_with("avro") {
                let text = match v {
                    Json::Str(s) => s.clone(),
                    other => other.to_text(),
                };
                set_param(&mut s, k, text);
            }
        }
    }
    let connect_default = props.and_then(|p| p.get("connect.default"));
    let default = match field_default {
        None => connect_default,
        Some(d) => {
            if opts.connect_meta_data && connect_default.is_none() {
                set_param(&mut s, AVRO_FIELD_DEFAULT_FLAG_PROP, "true".into());
            }
            Some(d)
        }
    };
    if let Some(d) = default {
        // As the JVM converter, a default that does not fit is dropped ("Ignoring invalid
        // default").
        s.default = default_value(&s, avro, d).filter(|v| !v.is_null());
    }
    let name = match prop_str("connect.name") {
        Some(n) => Some(n.to_string()),
        None => match props.and_then(|p| p.get("connect.name")) {
            Some(other) => {
                return Err(DataError::new(format!(
                    "Invalid schema name: {}",
                    other.to_text()
                )))
            }
            None => avro.name().map(|n| n.full()),
        },
    };
    if let Some(n) = name.filter(|n| !n.starts_with(DEFAULT_SCHEMA_FULL_NAME)) {
        match &s.name {
            Some(have) if *have != n => {
                return Err(DataError::new(format!(
                    "Mismatched names: name already added to SchemaBuilder ({have}) differs from name in source schema ({n})"
                )))
            }
            _ => s.name = Some(n),
        }
    }
    if force_optional {
        s.optional = true;
    }
    Ok(s)
}

fn logical_schema(ty: SchemaType, name: &str) -> Schema {
    let mut s = Schema::new(ty);
    s.name = Some(name.into());
    s.version = Some(1);
    s
}

/// An Avro default (JSON) as the Connect value of `schema`; None when it does not fit.
pub fn default_value(schema: &Schema, avro: &Avro, d: &Json) -> Option<Value> {
    if *d == Json::Null {
        return Some(Value::Null);
    }
    let v = match avro {
        Avro::Union(types) => {
            let first = types.first()?;
            if first.is_null() {
                return Some(Value::Null);
            }
            if schema.name.as_deref() == Some(AVRO_TYPE_UNION) {
                return None;
            }
            return default_value(schema, first, d);
        }
        Avro::Prim(Prim::Int, _) => {
            let i = d.as_i64()?;
            match schema.ty {
                SchemaType::Int8 => Value::Int8(i as i8),
                SchemaType::Int16 => Value::Int16(i as i16),
                _ => Value::Int32(i as i32),
            }
        }
        Avro::Prim(Prim::Long, _) => Value::Int64(d.as_i64()?),
        Avro::Prim(Prim::Float, _) => Value::Float32(d.as_f64()? as f32),
        Avro::Prim(Prim::Double, _) => Value::Float64(d.as_f64()?),
        Avro::Prim(Prim::Boolean, _) => match d {
            Json::Bool(b) => Value::Boolean(*b),
            _ => return None,
        },
        Avro::Prim(Prim::String, _) | Avro::Enum { .. } => match d {
            Json::Str(s) => Value::String(s.as_str().into()),
            _ => return None,
        },
        Avro::Prim(Prim::Bytes, _) | Avro::Fixed { .. } => {
            let Json::Str(s) = d else { return None };
            let bytes: Vec<u8> = s.chars().map(|c| c as u32 as u8).collect();
            if schema.name.as_deref() == Some(DECIMAL_NAME) {
                Value::Decimal(Decimal::from_bytes(&bytes, schema.decimal_scale()))
            } else {
                Value::Bytes(bytes)
            }
        }
        Avro::Array(items, _) => {
            let Json::Array(a) = d else { return None };
            if is_map_entry(items) {
                let Avro::Record { fields, .. } = &**items else {
                    return None;
                };
                let ks = schema.key_schema.as_deref()?;
                let vs = schema.value_schema.as_deref()?;
                let mut entries = Vec::new();
                for e in a {
                    let k = e.get("key")?;
                    let v = e.get("value")?;
                    entries.push((
                        default_value(ks, &fields[0].schema, k)?,
                        default_value(vs, &fields[1].schema, v)?,
                    ));
                }
                Value::Map(entries.into())
            } else {
                let is = schema.value_schema.as_deref()?;
                Value::Array(
                    a.iter()
                        .map(|x| default_value(is, items, x))
                        .collect::<Option<_>>()?,
                )
            }
        }
        Avro::Map(values, _) => {
            let Json::Object(m) = d else { return None };
            let vs = schema.value_schema.as_deref()?;
            Value::Map(
                m.iter()
                    .map(|(k, v)| {
                        Some((
                            Value::String(k.as_str().into()),
                            default_value(vs, values, v)?,
                        ))
                    })
                    .collect::<Option<_>>()?,
            )
        }
        Avro::Record { fields, .. } => {
            let Json::Object(_) = d else { return None };
            let sref = Arc::new(schema.clone());
            let mut st = Struct::new(sref.clone());
            for f in fields {
                let cf = sref.field(&f.name)?;
                let fv = match d.get(&f.name) {
                    Some(j) => default_value(&cf.schema, &f.schema, j)?,
                    None => Value::Null,
                };
                st.values[cf.index] = fv;
            }
            Value::Struct(st)
        }
        Avro::Prim(Prim::Null, _) => Value::Null,
    };
    Some(v)
}
