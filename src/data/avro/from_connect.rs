//! Connect schema → Avro schema, as Confluent's `AvroData.fromConnectSchema` (7.0.16) builds it:
//! the same record names, properties in the same order, the same unions and defaults, so the
//! text registered is the JVM converter's to the byte.

use super::json::Json;
use super::schema::{Avro, Field, Name, Prim, Props};
use super::AvroDataOptions;
use crate::data::schema::{DATE_NAME, DECIMAL_NAME, TIMESTAMP_NAME, TIME_NAME};
use crate::data::{DataError, Schema, SchemaType, Value};

pub const NAMESPACE: &str = "io.confluent.connect.avro";
pub const DEFAULT_SCHEMA_NAME: &str = "ConnectDefault";
pub const DEFAULT_SCHEMA_FULL_NAME: &str = "io.confluent.connect.avro.ConnectDefault";
pub const MAP_ENTRY_TYPE_NAME: &str = "MapEntry";
pub const AVRO_TYPE_UNION: &str = "io.confluent.connect.avro.Union";
pub const AVRO_TYPE_ENUM: &str = "io.confluent.connect.avro.Enum";
pub const AVRO_RECORD_DOC_PROP: &str = "io.confluent.connect.avro.record.doc";
pub const AVRO_FIELD_DOC_PREFIX_PROP: &str = "io.confluent.connect.avro.field.doc.";
pub const AVRO_FIELD_DEFAULT_FLAG_PROP: &str = "io.confluent.connect.avro.field.default";
pub const AVRO_ENUM_DOC_PREFIX_PROP: &str = "io.confluent.connect.avro.enum.doc.";
pub const AVRO_ENUM_DEFAULT_PREFIX_PROP: &str = "io.confluent.connect.avro.enum.default.";
pub const CONNECT_AVRO_FIXED_SIZE_PROP: &str = "connect.fixed.size";
pub const CONNECT_AVRO_DECIMAL_PRECISION_PROP: &str = "connect.decimal.precision";
pub const CONNECT_AVRO_DECIMAL_PRECISION_DEFAULT: i64 = 64;

/// What one conversion has built so far (`FromConnectContext`).
struct Ctx<'a> {
    opts: &'a AvroDataOptions,
    /// Non-optional Connect schemas already converted, compared by value as Java's HashMap does.
    schema_map: Vec<(Schema, Avro)>,
    /// Records by Connect name: a name seen again (through an array, map or union) reuses it.
    cycle_refs: Vec<(String, Avro)>,
    name_index: u32,
}

pub fn from_connect_schema(schema: &Schema, opts: &AvroDataOptions) -> Result<Avro, DataError> {
    let mut ctx = Ctx {
        opts,
        schema_map: Vec::new(),
        cycle_refs: Vec::new(),
        name_index: 0,
    };
    convert(schema, &mut ctx, false)
}

/// AvroData's `doScrubName`: invalid characters become `_` after URL-encoding, a leading digit
/// gets an `x`.
pub fn scrub_name(name: &str) -> String {
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if name.is_empty() || (name.chars().all(ok) && !name.starts_with(|c: char| c.is_ascii_digit()))
    {
        return name.to_string();
    }
    let mut encoded: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
    if encoded.starts_with(|c: char| c.is_ascii_digit()) {
        encoded.insert(0, 'x');
    }
    encoded
        .chars()
        .map(|c| if ok(c) { c } else { '_' })
        .collect()
}

pub fn scrub_if(name: &str, scrub: bool) -> String {
    if scrub {
        scrub_name(name)
    } else {
        name.to_string()
    }
}

/// AvroData's `splitName`: namespace and last component, each scrubbed when asked.
pub fn split_name(full: &str, scrub: bool) -> (Option<String>, String) {
    if full.is_empty() {
        return (None, String::new());
    }
    // Java's String.split drops trailing empty strings.
    let mut parts: Vec<String> = full.split('.').map(|p| scrub_if(p, scrub)).collect();
    while parts.len() > 1 && parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    let last = parts.pop().unwrap_or_default();
    if parts.is_empty() {
        (None, last)
    } else {
        (Some(parts.join(".")), last)
    }
}

fn name_or_default(ctx: &mut Ctx<'_>, name: Option<&str>) -> Name {
    match name {
        Some(n) => {
            let (namespace, name) = split_name(n, ctx.opts.scrub_invalid_names);
            Name { name, namespace }
        }
        None => {
            ctx.name_index += 1;
            let name = if ctx.name_index > 1 {
                format!("{DEFAULT_SCHEMA_NAME}{}", ctx.name_index)
            } else {
                DEFAULT_SCHEMA_NAME.to_string()
            };
            Name {
                name,
                namespace: Some(NAMESPACE.to_string()),
            }
        }
    }
}

fn non_optional(schema: &Schema) -> Schema {
    let mut s = schema.clone();
    s.optional = false;
    s
}

fn convert_with_cycle(
    schema: &Schema,
    ctx: &mut Ctx<'_>,
    ignore_optional: bool,
) -> Result<Avro, DataError> {
    if let Some(name) = &schema.name {
        if let Some((_, rec)) = ctx.cycle_refs.iter().find(|(n, _)| n == name) {
            let rec = rec.clone();
            return Ok(if ignore_optional {
                rec
            } else {
                maybe_optional(schema, rec)
            });
        }
    }
    convert(schema, ctx, ignore_optional)
}

fn convert_owned(
    schema: Schema,
    ctx: &mut Ctx<'_>,
    ignore_optional: bool,
) -> Result<Avro, DataError> {
    convert_with_cycle(&schema, ctx, ignore_optional)
}

fn convert(schema: &Schema, ctx: &mut Ctx<'_>, ignore_optional: bool) -> Result<Avro, DataError> {
    let is_union = schema.name.as_deref() == Some(AVRO_TYPE_UNION);
    if !is_union && !schema.optional {
        if let Some((_, a)) = ctx.schema_map.iter().find(|(s, _)| s == schema) {
            return Ok(a.clone());
        }
    }
    let opts = ctx.opts;
    let mut connect_type = None;
    let params = schema.parameters.as_deref().unwrap_or(&[]);
    let param = |k: &str| {
        params
            .iter()
            .find(|(pk, _)| pk == k)
            .map(|(_, v)| v.as_str())
    };
    let mut base = match schema.ty {
        SchemaType::Int8 => {
            connect_type = Some("int8");
            Avro::prim(Prim::Int)
        }
        SchemaType::Int16 => {
            connect_type = Some("int16");
            Avro::prim(Prim::Int)
        }
        SchemaType::Int32 => Avro::prim(Prim::Int),
        SchemaType::Int64 => Avro::prim(Prim::Long),
        SchemaType::Float32 => Avro::prim(Prim::Float),
        SchemaType::Float64 => Avro::prim(Prim::Double),
        SchemaType::Boolean => Avro::prim(Prim::Boolean),
        SchemaType::String => {
            if opts.enhanced_avro_schema_support && param(AVRO_TYPE_ENUM).is_some() {
                let prefix = format!("{AVRO_TYPE_ENUM}.");
                let symbols: Vec<String> = params
                    .iter()
                    .filter(|(k, _)| k.starts_with(&prefix))
                    .map(|(_, v)| v.clone())
                    .collect();
                let n = name_or_default(ctx, schema.name.as_deref());
                let enum_name = param(AVRO_TYPE_ENUM).unwrap_or_default();
                let (namespace, name) = split_name(enum_name, false);
                Avro::Enum {
                    name: Name { name, namespace },
                    doc: param(&format!("{AVRO_ENUM_DOC_PREFIX_PROP}{}", n.name))
                        .map(str::to_string),
                    symbols,
                    default: param(&format!("{AVRO_ENUM_DEFAULT_PREFIX_PROP}{}", n.name))
                        .map(str::to_string),
                    props: Props::default(),
                }
            } else {
                Avro::prim(Prim::String)
            }
        }
        SchemaType::Bytes => {
            let mut b = match param(CONNECT_AVRO_FIXED_SIZE_PROP) {
                Some(size) => Avro::Fixed {
                    name: name_or_default(ctx, schema.name.as_deref()),
                    size: size.parse().map_err(|_| {
                        DataError::new(format!(
                            "{CONNECT_AVRO_FIXED_SIZE_PROP} is not a number: {size}"
                        ))
                    })?,
                    props: Props::default(),
                },
                None => Avro::prim(Prim::Bytes),
            };
            if schema
                .name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(DECIMAL_NAME))
            {
                let scale = decimal_param(param("scale"), "scale")?;
                let props = b.props_mut().expect("bytes have properties");
                props.add("scale", Json::Int(scale))?;
                let precision = match param(CONNECT_AVRO_DECIMAL_PRECISION_PROP) {
                    Some(p) => decimal_param(Some(p), CONNECT_AVRO_DECIMAL_PRECISION_PROP)?,
                    None => CONNECT_AVRO_DECIMAL_PRECISION_DEFAULT,
                };
                props.add("precision", Json::Int(precision))?;
            }
            b
        }
        SchemaType::Array => {
            let items = schema
                .value_schema
                .as_deref()
                .ok_or_else(|| DataError::new("array schema without a value schema"))?;
            Avro::Array(
                Box::new(convert_with_cycle(items, ctx, false)?),
                Props::default(),
            )
        }
        SchemaType::Map => {
            let keys = schema
                .key_schema
                .as_deref()
                .ok_or_else(|| DataError::new("map schema without a key schema"))?;
            let values = schema
                .value_schema
                .as_deref()
                .ok_or_else(|| DataError::new("map schema without a value schema"))?;
            if keys.ty == SchemaType::String && (!keys.optional || opts.allow_optional_map_keys) {
                Avro::Map(
                    Box::new(convert_with_cycle(values, ctx, false)?),
                    Props::default(),
                )
            } else {
                let (name, props) = match &schema.name {
                    None => (
                        Name {
                            name: MAP_ENTRY_TYPE_NAME.into(),
                            namespace: Some(NAMESPACE.into()),
                        },
                        Props::default(),
                    ),
                    Some(n) => {
                        let name = name_or_default(ctx, Some(n));
                        let mut p = Props::default();
                        p.add(
                            "connect.internal.type",
                            Json::Str(MAP_ENTRY_TYPE_NAME.into()),
                        )?;
                        (name, p)
                    }
                };
                let fields = vec![
                    record_field(ctx, "key".into(), keys, None)?,
                    record_field(ctx, "value".into(), values, None)?,
                ];
                Avro::Array(
                    Box::new(Avro::Record {
                        name,
                        doc: None,
                        fields,
                        props,
                    }),
                    Props::default(),
                )
            }
        }
        SchemaType::Struct => {
            if is_union {
                let mut members = Vec::new();
                if schema.optional {
                    members.push(Avro::prim(Prim::Null));
                }
                for f in &schema.fields {
                    members.push(convert_owned(non_optional(&f.schema), ctx, true)?);
                }
                Avro::Union(members)
            } else if schema.optional {
                let inner = convert_with_cycle_owned(non_optional(schema), ctx)?;
                Avro::Union(vec![Avro::prim(Prim::Null), inner])
            } else {
                let name = name_or_default(ctx, schema.name.as_deref());
                let doc = param(AVRO_RECORD_DOC_PROP).map(str::to_string);
                let mut fields = Vec::with_capacity(schema.fields.len());
                for f in &schema.fields {
                    let fname = scrub_if(&f.name, opts.scrub_invalid_names);
                    let fdoc = param(&format!("{AVRO_FIELD_DOC_PREFIX_PROP}{}", f.name))
                        .map(str::to_string);
                    fields.push(record_field(ctx, fname, &f.schema, fdoc)?);
                }
                Avro::Record {
                    name,
                    doc,
                    fields,
                    props: Props::default(),
                }
            }
        }
    };

    if matches!(base, Avro::Union(_)) {
        if !schema.optional {
            ctx.schema_map.push((schema.clone(), base.clone()));
        }
        return Ok(base);
    }
    let props = base.props_mut().expect("not a union");
    if opts.connect_meta_data {
        if let Some(doc) = &schema.doc {
            props.add("connect.doc", Json::Str(doc.clone()))?;
        }
        if let Some(v) = schema.version {
            props.add("connect.version", Json::Int(v as i64))?;
        }
        if !params.is_empty() {
            let obj: Vec<(String, Json)> = params
                .iter()
                .filter(|(k, _)| k != AVRO_FIELD_DEFAULT_FLAG_PROP)
                .map(|(k, v)| (k.clone(), Json::Str(v.clone())))
                .collect();
            if !obj.is_empty() {
                props.add("connect.parameters", Json::Object(obj))?;
            }
        }
        if let Some(d) = &schema.default {
            if param(AVRO_FIELD_DEFAULT_FLAG_PROP).is_none() {
                props.add("connect.default", default_json(schema, d, opts)?)?;
            }
        }
        if let Some(n) = &schema.name {
            props.add("connect.name", Json::Str(n.clone()))?;
        }
        if let Some(t) = connect_type {
            props.add("connect.type", Json::Str(t.into()))?;
        }
    }
    let mut force_legacy_decimal = false;
    let name = schema.name.as_deref();
    let is = |n: &str| name.is_some_and(|s| s.eq_ignore_ascii_case(n));
    if is(DECIMAL_NAME) {
        let precision = match param(CONNECT_AVRO_DECIMAL_PRECISION_PROP) {
            Some(p) => decimal_param(Some(p), CONNECT_AVRO_DECIMAL_PRECISION_PROP)?,
            None => CONNECT_AVRO_DECIMAL_PRECISION_DEFAULT,
        };
        let scale = match param("scale") {
            Some(s) => decimal_param(Some(s), "scale")?,
            None => 0,
        };
        if scale < 0 || scale > precision {
            force_legacy_decimal = true;
        } else {
            props.add("logicalType", Json::Str("decimal".into()))?;
            props.add("precision", Json::Int(precision))?;
            props.add("scale", Json::Int(scale))?;
        }
    } else if is(TIME_NAME) {
        props.add("logicalType", Json::Str("time-millis".into()))?;
    } else if is(TIMESTAMP_NAME) {
        props.add("logicalType", Json::Str("timestamp-millis".into()))?;
    } else if is(DATE_NAME) {
        props.add("logicalType", Json::Str("date".into()))?;
    }
    if is(DECIMAL_NAME)
        && (param(CONNECT_AVRO_DECIMAL_PRECISION_PROP).is_some() || force_legacy_decimal)
    {
        props.add("logicalType", Json::Str("decimal".into()))?;
    }
    for (k, v) in params {
        if k.starts_with("avro") {
            props.add(k, Json::Str(v.clone()))?;
        }
    }
    let result = if ignore_optional {
        base
    } else {
        maybe_optional(schema, base)
    };
    if let (Avro::Record { .. }, Some(cn)) = (&result, &schema.name) {
        ctx.cycle_refs.push((cn.clone(), result.clone()));
    }
    if !schema.optional {
        ctx.schema_map.push((schema.clone(), result.clone()));
    }
    Ok(result)
}

fn convert_with_cycle_owned(schema: Schema, ctx: &mut Ctx<'_>) -> Result<Avro, DataError> {
    convert_with_cycle(&schema, ctx, false)
}

fn decimal_param(v: Option<&str>, what: &str) -> Result<i64, DataError> {
    let v =
        v.ok_or_else(|| DataError::new(format!("Decimal schema without the {what} parameter")))?;
    v.trim()
        .parse::<i32>()
        .map(i64::from)
        .map_err(|_| DataError::new(format!("Decimal {what} parameter is not a number: {v}")))
}

fn maybe_optional(schema: &Schema, base: Avro) -> Avro {
    if !schema.optional {
        return base;
    }
    if schema.default.is_some() {
        Avro::Union(vec![base, Avro::prim(Prim::Null)])
    } else {
        Avro::Union(vec![Avro::prim(Prim::Null), base])
    }
}

fn record_field(
    ctx: &mut Ctx<'_>,
    name: String,
    schema: &Schema,
    doc: Option<String>,
) -> Result<Field, DataError> {
    let default = match &schema.default {
        Some(d) => Some(default_json(schema, d, ctx.opts)?),
        None if schema.optional => Some(Json::Null),
        None => None,
    };
    let avro = convert(schema, ctx, false)?;
    // Avro checks a default against the field's type and drops one that does not fit (the
    // converter logs "Ignoring invalid default"): a non-null default of a field whose union
    // starts with null.
    let default = default.filter(|d| default_fits(&avro, d));
    Ok(Field {
        name,
        schema: avro,
        doc,
        default,
    })
}

/// Avro's default validation (`isValidDefault`), for the shapes Connect produces.
fn default_fits(schema: &Avro, d: &Json) -> bool {
    match (schema, d) {
        (Avro::Union(types), _) => types.first().is_some_and(|t| default_fits(t, d)),
        (Avro::Prim(Prim::Null, _), Json::Null) => true,
        (Avro::Prim(Prim::Null, _), _) => false,
        (_, Json::Null) => false,
        (Avro::Prim(Prim::Boolean, _), Json::Bool(_)) => true,
        (Avro::Prim(Prim::Int, _), Json::Int(i)) => i32::try_from(*i).is_ok(),
        (Avro::Prim(Prim::Long, _), Json::Int(_)) => true,
        (Avro::Prim(Prim::Float | Prim::Double, _), j) => j.as_f64().is_some(),
        (Avro::Prim(Prim::String | Prim::Bytes, _), Json::Str(_)) => true,
        (Avro::Fixed { .. } | Avro::Enum { .. }, Json::Str(_)) => true,
        (Avro::Array(items, _), Json::Array(a)) => a.iter().all(|v| default_fits(items, v)),
        (Avro::Map(values, _), Json::Object(m)) => m.iter().all(|(_, v)| default_fits(values, v)),
        (Avro::Record { fields, .. }, Json::Object(_)) => {
            fields.iter().all(|f| match d.get(&f.name) {
                Some(v) => default_fits(&f.schema, v),
                None => f.default.is_some(),
            })
        }
        _ => false,
    }
}

/// `defaultValueFromConnect`: a Connect value as the JSON of an Avro default.
pub fn default_json(schema: &Schema, v: &Value, opts: &AvroDataOptions) -> Result<Json, DataError> {
    let bad = || {
        DataError::new(format!(
            "Invalid type used for default value of {} field",
            schema.ty.connect_name()
        ))
    };
    Ok(match (schema.ty, v) {
        (_, Value::Null) => Json::Null,
        (SchemaType::Int8, Value::Int8(i)) => Json::Int(*i as i64),
        (SchemaType::Int16, Value::Int16(i)) => Json::Int(*i as i64),
        (SchemaType::Int32, Value::Int32(i)) => Json::Int(*i as i64),
        (SchemaType::Int64, Value::Int64(i)) => Json::Int(*i),
        (SchemaType::Float32, Value::Float32(f)) => Json::Float(*f),
        (SchemaType::Float64, Value::Float64(f)) => Json::Double(*f),
        (SchemaType::Boolean, Value::Boolean(b)) => Json::Bool(*b),
        (SchemaType::String, Value::String(s)) => Json::Str(s.to_string()),
        (SchemaType::Bytes, Value::Bytes(b)) => Json::Str(latin1(b)),
        (SchemaType::Bytes, Value::Decimal(d)) => {
            Json::Str(latin1(&super::encode::decimal_bytes(schema, d)?))
        }
        (SchemaType::Array, Value::Array(items)) => {
            let vs = schema.value_schema.as_deref().ok_or_else(bad)?;
            Json::Array(
                items
                    .iter()
                    .map(|i| default_json(vs, i, opts))
                    .collect::<Result<_, _>>()?,
            )
        }
        (SchemaType::Map, Value::Map(entries)) => {
            let ks = schema.key_schema.as_deref().ok_or_else(bad)?;
            let vs = schema.value_schema.as_deref().ok_or_else(bad)?;
            if ks.ty == SchemaType::String && (!ks.optional || opts.allow_optional_map_keys) {
                // Jackson's ObjectNode is a LinkedHashMap fed from Connect's map, in its
                // iteration order.
                let ordered = crate::data::java_string::hash_map_order(entries)
                    .unwrap_or_else(|| (0..entries.len()).collect());
                let mut obj: Vec<(String, Json)> = Vec::with_capacity(entries.len());
                for i in ordered {
                    let (k, val) = &entries[i];
                    let key = k.as_str().ok_or_else(bad)?.to_string();
                    obj.retain(|(kk, _)| *kk != key);
                    obj.push((key, default_json(vs, val, opts)?));
                }
                Json::Object(obj)
            } else {
                Json::Array(
                    entries
                        .iter()
                        .map(|(k, val)| {
                            Ok(Json::Array(vec![
                                default_json(ks, k, opts)?,
                                default_json(vs, val, opts)?,
                            ]))
                        })
                        .collect::<Result<_, DataError>>()?,
                )
            }
        }
        (SchemaType::Struct, Value::Struct(s)) => {
            let is_union = schema.name.as_deref() == Some(AVRO_TYPE_UNION);
            let mut obj = Vec::with_capacity(schema.fields.len());
            for f in &schema.fields {
                let fv = &s.values[f.index];
                let fv = if fv.is_null() {
                    f.schema.default.as_ref().unwrap_or(fv)
                } else {
                    fv
                };
                let j = default_json(&f.schema, fv, opts)?;
                if is_union {
                    return Ok(j);
                }
                obj.push((scrub_if(&f.name, opts.scrub_invalid_names), j));
            }
            Json::Object(obj)
        }
        (SchemaType::Int32, Value::Int64(t)) if schema.is_named(DATE_NAME) => Json::Int(*t),
        _ => return Err(bad()),
    })
}

/// `new String(bytes, ISO_8859_1)`: each byte one character.
fn latin1(b: &[u8]) -> String {
    b.iter().map(|&c| c as char).collect()
}
