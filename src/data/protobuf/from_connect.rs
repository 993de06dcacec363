//! Connect schema → Protobuf schema, as Confluent's `ProtobufData.fromConnectSchema` (7.0.16)
//! builds it: a proto3 file whose package is the Connect name's namespace, one message per
//! struct (nested where first used), `ConnectDefaultN` for unnamed structs and maps, map
//! entries as nested `...Entry` messages, `io.confluent.connect.protobuf.Union.*` structs as
//! oneofs, enums from `io.confluent.connect.protobuf.Enum` parameters, Connect's logical types
//! as `confluent.type.Decimal`, `google.type.Date`, `google.type.TimeOfDay` and
//! `google.protobuf.Timestamp`, and int8/int16/decimal details in `confluent.field_meta`.
//! A top-level primitive becomes the wrapper message of `google/protobuf/wrappers.proto`.

use std::collections::{HashMap, HashSet};

use super::known;
use super::model::{Enum, Field, File, Label, Message, Oneof, Scalar};
use super::{ProtobufDataOptions, ENUM_PARAM, ENUM_PREFIX, TAG_PARAM, TYPE_PARAM, UNION_PREFIX};
use crate::data::schema::{DATE_NAME, DECIMAL_NAME, TIMESTAMP_NAME, TIME_NAME};
use crate::data::{DataError, Schema, SchemaType};

/// What a Connect schema became.
#[derive(Clone, Debug)]
pub struct Written {
    pub file: File,
    /// What the registry is given (`canonicalString()`).
    pub text: String,
    /// The full name of the message a value is written as.
    pub root: String,
    /// That message's indexes in the file.
    pub indexes: Vec<i32>,
}

struct Ctx<'a> {
    opts: &'a ProtobufDataOptions,
    default_index: u32,
    imports: Vec<String>,
}

pub fn from_connect_schema(
    schema: &Schema,
    opts: &ProtobufDataOptions,
) -> Result<Written, DataError> {
    let mut ctx = Ctx {
        opts,
        default_index: 0,
        imports: Vec::new(),
    };
    let wrapper = match schema.ty {
        _ if is_logical(schema) => {
            return Err(DataError::new(format!(
                "Unsupported root schema: a top-level {} cannot be written as Protobuf; put it in a struct",
                schema.name.as_deref().unwrap_or_default()
            )))
        }
        SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 => "Int32Value",
        SchemaType::Int64 => "Int64Value",
        SchemaType::Float32 => "FloatValue",
        SchemaType::Float64 => "DoubleValue",
        SchemaType::Boolean => "BoolValue",
        SchemaType::String => "StringValue",
        SchemaType::Bytes => "BytesValue",
        SchemaType::Array | SchemaType::Map => {
            return Err(DataError::new(format!(
                "Unsupported root schema of type {}",
                schema.ty.connect_name()
            )))
        }
        SchemaType::Struct => "",
    };
    if !wrapper.is_empty() {
        let file = known::file(known::WRAPPERS)
            .expect("wrappers are known")
            .clone();
        let root = format!("google.protobuf.{wrapper}");
        let indexes = file.message_indexes(&root).expect("a wrapper message");
        return Ok(Written {
            file,
            text: known::WRAPPERS_TEXT.to_string(),
            root,
            indexes,
        });
    }
    let full = ctx.name_or_default(schema.name.as_deref());
    let (namespace, name) = ctx.split_name(&full);
    let mut message = ctx.message(&name, schema)?;
    let mut file = File::new(namespace.clone());
    let root = match &namespace {
        Some(ns) => format!("{ns}.{name}"),
        None => name.clone(),
    };
    if let Some(ns) = &namespace {
        for part in ns.split('.') {
            check_identifier(part, &root)?;
        }
    }
    check_identifier(&name, &root)?;
    set_full_names(&mut message, namespace.as_deref().unwrap_or(""));
    file.imports = ctx.imports;
    file.messages.push(message);
    let text = super::print::file(&file);
    Ok(Written {
        file,
        text,
        root,
        indexes: vec![0],
    })
}

fn is_logical(s: &Schema) -> bool {
    matches!(
        s.name.as_deref(),
        Some(DECIMAL_NAME) | Some(DATE_NAME) | Some(TIME_NAME) | Some(TIMESTAMP_NAME)
    )
}

fn set_full_names(m: &mut Message, scope: &str) {
    m.full_name = super::parse::join(scope, &m.name);
    let full = m.full_name.clone();
    for e in &mut m.enums {
        e.full_name = super::parse::join(&full, &e.name);
    }
    for n in &mut m.messages {
        set_full_names(n, &full);
    }
}

/// Protobuf-java's symbol check: letters, digits and underscores.
fn check_identifier(name: &str, scope: &str) -> Result<(), DataError> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(DataError::new(format!(
            "{scope}: \"{name}\" is not a valid identifier (set scrub.invalid.names=true to replace the characters Protobuf does not allow)"
        )));
    }
    Ok(())
}

impl Ctx<'_> {
    fn name_or_default(&mut self, name: Option<&str>) -> String {
        match name {
            Some(n) if !n.is_empty() => n.to_string(),
            _ => {
                self.default_index += 1;
                format!("ConnectDefault{}", self.default_index)
            }
        }
    }

    fn scrub(&self, name: &str) -> String {
        if self.opts.scrub_invalid_names {
            scrub_name(name)
        } else {
            name.to_string()
        }
    }

    fn split_name(&self, full: &str) -> (Option<String>, String) {
        let mut parts: Vec<String> = full.split('.').map(|p| self.scrub(p)).collect();
        // Java's split drops trailing empty strings.
        while parts.len() > 1 && parts.last().is_some_and(|p| p.is_empty()) {
            parts.pop();
        }
        let name = parts.pop().unwrap_or_default();
        if parts.is_empty() {
            (None, name)
        } else {
            (Some(parts.join(".")), name)
        }
    }

    fn unqualified(&mut self, name: Option<&str>) -> String {
        let full = self.name_or_default(name);
        let last = match full.rfind('.') {
            Some(i) => &full[i + 1..],
            None => &full,
        };
        self.scrub(last)
    }

    fn import(&mut self, path: &str) {
        if !self.imports.iter().any(|i| i == path) {
            self.imports.push(path.to_string());
        }
    }

    fn message(&mut self, name: &str, schema: &Schema) -> Result<Message, DataError> {
        let mut m = Message::new(name);
        let mut children = HashMap::new();
        let mut index = 1;
        for f in &schema.fields {
            let tag = match f.schema.parameter(TAG_PARAM) {
                Some(t) => t.parse::<i32>().map_err(|_| {
                    DataError::new(format!(
                        "{TAG_PARAM} of field {} is not a number: {t}",
                        f.name
                    ))
                })?,
                None => {
                    index += 1;
                    index - 1
                }
            };
            let fname = self.scrub(&f.name);
            if let Some(mut fd) = self.field(&mut m, &mut children, &f.schema, &fname, tag)? {
                if fd.label == Label::Optional {
                    m.oneofs.push(Oneof {
                        name: format!("_{}", fd.name),
                        synthetic: true,
                    });
                    fd.oneof = Some(m.oneofs.len() - 1);
                    fd.proto3_optional = true;
                    fd.deprecated_false = true;
                }
                m.fields.push(fd);
            }
        }
        check_message(&m)?;
        Ok(m)
    }

    fn field(
        &mut self,
        m: &mut Message,
        children: &mut HashMap<String, Schema>,
        schema: &Schema,
        name: &str,
        tag: i32,
    ) -> Result<Option<Field>, DataError> {
        let (label, schema) = match schema.ty {
            SchemaType::Array => {
                let items = schema
                    .value_schema
                    .as_deref()
                    .ok_or_else(|| DataError::new("array schema without an item schema"))?;
                if items.ty == SchemaType::Map {
                    // Confluent's converter builds the schema, then fails on the value.
                    return Err(DataError::new(format!(
                        "field {name}: an array of maps cannot be written as Protobuf (a repeated map entry is not a map)"
                    )));
                }
                (Label::Repeated, items)
            }
            SchemaType::Map => (Label::Repeated, schema),
            _ if self.opts.optional_for_nullables && schema.optional => (Label::Optional, schema),
            _ => (Label::Plain, schema),
        };
        let mut params = Vec::new();
        let ty = self.data_type(schema, name, &mut params)?;
        match schema.ty {
            SchemaType::Struct
                if schema
                    .name
                    .as_deref()
                    .is_some_and(|n| n.starts_with(UNION_PREFIX)) =>
            {
                let union = &schema.name.as_deref().expect("checked")[UNION_PREFIX.len()..];
                let oneof = self.unqualified(Some(union));
                self.oneof(m, children, schema, oneof)?;
                return Ok(None);
            }
            SchemaType::Struct => {
                if let Some(first) = children.get(&ty) {
                    // The first struct of this simple name defines the message; Confluent
                    // writes this one's fields by name into it, and fails on one it lacks.
                    fits(first, schema)?;
                } else if m.name != ty {
                    children.insert(ty.clone(), schema.clone());
                    let nested = self.message(&ty, schema)?;
                    m.messages.push(nested);
                }
            }
            SchemaType::Map => {
                let entry = self.map_entry(&ty, schema)?;
                m.messages.push(entry);
            }
            _ if schema.parameter(ENUM_PARAM).is_some() => {
                let enum_name = self.unqualified(schema.name.as_deref());
                if !m.enums.iter().any(|e| e.name == enum_name) {
                    m.enums.push(self.enumeration(enum_name, schema)?);
                }
            }
            _ => {
                if let Some(path) = dependency(&ty) {
                    self.import(path);
                }
            }
        }
        let mut f = Field::new(name, tag, label, &ty);
        f.params = params;
        Ok(Some(f))
    }

    fn oneof(
        &mut self,
        m: &mut Message,
        children: &mut HashMap<String, Schema>,
        union: &Schema,
        name: String,
    ) -> Result<(), DataError> {
        m.oneofs.push(Oneof {
            name,
            synthetic: false,
        });
        let index = m.oneofs.len() - 1;
        for f in &union.fields {
            let tag = match f.schema.parameter(TAG_PARAM) {
                Some(t) => t.parse::<i32>().unwrap_or(0),
                None => 0,
            };
            let fname = self.scrub(&f.name);
            if let Some(mut fd) = self.field(m, children, &f.schema, &fname, tag)? {
                if fd.label == Label::Repeated {
                    return Err(DataError::new(format!(
                        "field {} of union {} is an array or map, which a Protobuf oneof cannot hold",
                        f.name,
                        union.name.as_deref().unwrap_or_default()
                    )));
                }
                fd.label = Label::Plain;
                fd.oneof = Some(index);
                fd.deprecated_false = true;
                m.fields.push(fd);
            }
        }
        Ok(())
    }

    fn map_entry(&mut self, name: &str, schema: &Schema) -> Result<Message, DataError> {
        let mut entry = Message::new(name);
        let mut children = HashMap::new();
        let parts = [
            ("key", 1, schema.key_schema.as_deref()),
            ("value", 2, schema.value_schema.as_deref()),
        ];
        for (fname, tag, s) in parts {
            let s = s.ok_or_else(|| DataError::new("map schema without key or value schema"))?;
            if s.ty == SchemaType::Map {
                return Err(DataError::new(format!(
                    "map {name}: a map as a map's {fname} cannot be written as Protobuf"
                )));
            }
            let mut fd = self
                .field(&mut entry, &mut children, s, fname, tag)?
                .ok_or_else(|| {
                    DataError::new(format!(
                        "map {name}: a union as the map's {fname} cannot be written as Protobuf"
                    ))
                })?;
            // The entry's fields carry no field_meta (Confluent adds them without parameters).
            fd.params.clear();
            entry.fields.push(fd);
        }
        Ok(entry)
    }

    fn enumeration(&mut self, name: String, schema: &Schema) -> Result<Enum, DataError> {
        let mut e = Enum {
            name,
            ..Default::default()
        };
        for (k, v) in schema.parameters.iter().flatten() {
            if let Some(symbol) = k.strip_prefix(ENUM_PREFIX) {
                let n = v.parse::<i32>().map_err(|_| {
                    DataError::new(format!("enum {}: {k} is not a number: {v}", e.name))
                })?;
                e.values.push((symbol.to_string(), n));
            }
        }
        if e.values.first().is_some_and(|(_, n)| *n != 0) {
            return Err(DataError::new(format!(
                "enum {}: the first enum value must be zero in proto3",
                e.name
            )));
        }
        Ok(e)
    }

    fn wrapper_or(&self, schema: &Schema, wrapper: &str, plain: String) -> String {
        if self.opts.wrapper_for_nullables && schema.optional {
            format!("google.protobuf.{wrapper}")
        } else {
            plain
        }
    }

    fn data_type(
        &mut self,
        schema: &Schema,
        field_name: &str,
        params: &mut Vec<(String, String)>,
    ) -> Result<String, DataError> {
        match schema.name.as_deref() {
            Some(DECIMAL_NAME) => {
                if let Some(p) = schema.parameter("connect.decimal.precision") {
                    params.push(("precision".into(), p.to_string()));
                }
                if let Some(s) = schema.parameter("scale") {
                    params.push(("scale".into(), s.to_string()));
                }
                return Ok("confluent.type.Decimal".into());
            }
            Some(DATE_NAME) => return Ok("google.type.Date".into()),
            Some(TIME_NAME) => return Ok("google.type.TimeOfDay".into()),
            Some(TIMESTAMP_NAME) => return Ok("google.protobuf.Timestamp".into()),
            _ => {}
        }
        let typed = |allowed: &[&str], default: &str| -> Result<String, DataError> {
            let t = schema.parameter(TYPE_PARAM).unwrap_or(default);
            if !allowed.contains(&t) {
                return Err(DataError::new(format!(
                    "field {field_name}: {TYPE_PARAM}={t} does not fit a Connect {} (one of {})",
                    schema.ty.connect_name(),
                    allowed.join(", ")
                )));
            }
            Ok(t.to_string())
        };
        Ok(match schema.ty {
            SchemaType::Int8 | SchemaType::Int16 => {
                let t = if schema.ty == SchemaType::Int8 {
                    "int8"
                } else {
                    "int16"
                };
                params.push(("connect.type".into(), t.into()));
                self.wrapper_or(schema, "Int32Value", "int32".into())
            }
            SchemaType::Int32 => {
                let t = typed(
                    &["int32", "sint32", "sfixed32", "uint32", "fixed32"],
                    "int32",
                )?;
                self.wrapper_or(schema, "Int32Value", t)
            }
            SchemaType::Int64 => {
                let t = typed(
                    &[
                        "int64", "sint64", "sfixed64", "uint64", "fixed64", "uint32", "fixed32",
                    ],
                    "int64",
                )?;
                let w = match t.as_str() {
                    "uint32" | "fixed32" => "UInt32Value",
                    "uint64" | "fixed64" => "UInt64Value",
                    _ => "Int64Value",
                };
                self.wrapper_or(schema, w, t)
            }
            SchemaType::Float32 => self.wrapper_or(schema, "FloatValue", "float".into()),
            SchemaType::Float64 => self.wrapper_or(schema, "DoubleValue", "double".into()),
            SchemaType::Boolean => self.wrapper_or(schema, "BoolValue", "bool".into()),
            SchemaType::String => match schema.parameter(ENUM_PARAM) {
                Some(e) => e.to_string(),
                None => self.wrapper_or(schema, "StringValue", "string".into()),
            },
            SchemaType::Bytes => self.wrapper_or(schema, "BytesValue", "bytes".into()),
            SchemaType::Array => return Err(DataError::new("Array cannot be nested")),
            SchemaType::Map => to_map_entry(&self.unqualified(schema.name.as_deref())),
            SchemaType::Struct => {
                let mut n = self.unqualified(schema.name.as_deref());
                if n == field_name {
                    n.push_str("Message");
                }
                n
            }
        })
    }
}

/// Whether a struct can be written as the message another struct of the same simple name
/// defined: each of its fields must be there, of the same type.
fn fits(first: &Schema, other: &Schema) -> Result<(), DataError> {
    for f in &other.fields {
        match first.field(&f.name) {
            Some(g) if g.schema.ty == f.schema.ty => {}
            Some(_) => {
                return Err(DataError::new(format!(
                    "field {} of struct {} has another type than in struct {}, which has the same simple name and defines the Protobuf message",
                    f.name,
                    other.name.as_deref().unwrap_or_default(),
                    first.name.as_deref().unwrap_or_default()
                )))
            }
            None => return Err(DataError::new(format!("Cannot find field with name {}", f.name))),
        }
    }
    Ok(())
}

/// The import a type needs, when it is one of the well-known messages.
fn dependency(ty: &str) -> Option<&'static str> {
    Some(match ty {
        "confluent.type.Decimal" => known::DECIMAL,
        "google.type.Date" => known::DATE,
        "google.type.TimeOfDay" => known::TIME_OF_DAY,
        "google.protobuf.Timestamp" => known::TIMESTAMP,
        t if t.starts_with("google.protobuf.") && t.ends_with("Value") => known::WRAPPERS,
        _ => return None,
    })
}

/// What protobuf-java's descriptor validation refuses: a name defined twice in one message
/// (fields, nested types, enums and oneofs share the scope), a field number used twice, and
/// names that are not identifiers.
fn check_message(m: &Message) -> Result<(), DataError> {
    let mut names = HashSet::new();
    let mut numbers = HashSet::new();
    let scope = &m.name;
    let defined = |n: &str| DataError::new(format!("\"{n}\" is already defined in \"{scope}\""));
    for n in m
        .messages
        .iter()
        .map(|x| &x.name)
        .chain(m.enums.iter().map(|e| &e.name))
    {
        check_identifier(n, scope)?;
        if !names.insert(n.clone()) {
            return Err(defined(n));
        }
    }
    for f in &m.fields {
        check_identifier(&f.name, scope)?;
        if !names.insert(f.name.clone()) {
            return Err(defined(&f.name));
        }
        if !numbers.insert(f.number) {
            return Err(DataError::new(format!(
                "{scope}.{}: Field number {} has already been used in \"{scope}\"",
                f.name, f.number
            )));
        }
        if f.number < 1 || f.number > 536_870_911 {
            return Err(DataError::new(format!(
                "{scope}.{}: field number {} is out of range",
                f.name, f.number
            )));
        }
    }
    Ok(())
}

/// `ProtobufSchema.toMapEntry`: `a_b` → `AbEntry` (Guava LOWER_UNDERSCORE to UPPER_CAMEL when
/// the name has an underscore).
pub fn to_map_entry(s: &str) -> String {
    let mut out = String::new();
    if s.contains('_') {
        for word in s.split('_') {
            let mut cs = word.chars();
            if let Some(c) = cs.next() {
                out.extend(c.to_uppercase());
                out.push_str(&cs.as_str().to_lowercase());
            }
        }
    } else {
        out.push_str(s);
    }
    out.push_str("Entry");
    out
}

/// `ProtobufData.doScrubName`: URL-encode, prefix `x` when the result starts with a digit or
/// `_`, then every character that is not a letter, digit or `_` becomes `_`.
pub fn scrub_name(name: &str) -> String {
    if name.is_empty() {
        return String::new();
    }
    let ok = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
        && name.as_bytes()[0] != b'_';
    if ok {
        return name.to_string();
    }
    let mut enc = String::new();
    for b in name.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                enc.push(b as char)
            }
            b' ' => enc.push('+'),
            _ => enc.push_str(&format!("%{b:02X}")),
        }
    }
    if enc.as_bytes()[0].is_ascii_digit() || enc.as_bytes()[0] == b'_' {
        enc.insert(0, 'x');
    }
    enc.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The scalar a wrapper message holds.
pub fn wrapper_scalar(full_name: &str) -> Option<Scalar> {
    Some(match full_name {
        "google.protobuf.DoubleValue" => Scalar::Double,
        "google.protobuf.FloatValue" => Scalar::Float,
        "google.protobuf.Int64Value" => Scalar::Int64,
        "google.protobuf.UInt64Value" => Scalar::Uint64,
        "google.protobuf.Int32Value" => Scalar::Int32,
        "google.protobuf.UInt32Value" => Scalar::Uint32,
        "google.protobuf.BoolValue" => Scalar::Bool,
        "google.protobuf.StringValue" => Scalar::String,
        "google.protobuf.BytesValue" => Scalar::Bytes,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_confluent_scrubs_and_joins_them() {
        assert_eq!(scrub_name("a-b"), "a_b");
        assert_eq!(scrub_name("1st"), "x1st");
        assert_eq!(scrub_name("_x"), "x_x");
        assert_eq!(scrub_name("é"), "_C3_A9");
        assert_eq!(scrub_name("ok_1"), "ok_1");
        assert_eq!(to_map_entry("ConnectDefault3"), "ConnectDefault3Entry");
        assert_eq!(to_map_entry("my_MAP"), "MyMapEntry");
    }
}
