//! Protobuf message → Connect schema, as `ProtobufData.toConnectSchema` (7.0.16): a struct per
//! message with real oneofs first (as `io.confluent.connect.protobuf.Union.*` structs named
//! `<oneof>_<index>`), every field tagged with its number, unsigned and fixed types kept in a
//! `io.confluent.connect.protobuf.Type` parameter, enums as strings with their symbols as
//! parameters, map entries as maps, the well-known logical messages as Connect's logical types
//! and wrapper messages as primitives where the settings say so.

use super::model::{Field, Kind, Label, Message, Scalar, Types};
use super::{ProtobufDataOptions, ENUM_PARAM, ENUM_PREFIX, TAG_PARAM, TYPE_PARAM, UNION_PREFIX};
use crate::data::schema::{DATE_NAME, TIMESTAMP_NAME, TIME_NAME};
use crate::data::{DataError, Schema, SchemaBuilder, SchemaRef, SchemaType};

pub struct Ctx<'a> {
    pub types: &'a Types,
    pub opts: &'a ProtobufDataOptions,
    /// Messages being translated: a message that holds itself cannot become a Connect schema.
    stack: Vec<String>,
    /// Messages already made into a struct schema, with the field number of their first use
    /// when that use was a singular field. ProtobufData keeps one builder per message and
    /// sets the first field's tag on it, so a later array of that message carries that tag
    /// on its items.
    built: std::collections::HashMap<String, Option<i32>>,
}

pub fn wrapper_type(full_name: &str) -> Option<SchemaType> {
    Some(match full_name {
        "google.protobuf.DoubleValue" => SchemaType::Float64,
        "google.protobuf.FloatValue" => SchemaType::Float32,
        "google.protobuf.Int64Value"
        | "google.protobuf.UInt64Value"
        | "google.protobuf.UInt32Value" => SchemaType::Int64,
        "google.protobuf.Int32Value" => SchemaType::Int32,
        "google.protobuf.BoolValue" => SchemaType::Boolean,
        "google.protobuf.StringValue" => SchemaType::String,
        "google.protobuf.BytesValue" => SchemaType::Bytes,
        _ => return None,
    })
}

/// Whether a field is a map: a repeated `...Entry` message of a `key` and a `value`.
pub fn is_map(f: &Field, types: &Types) -> Option<std::sync::Arc<Message>> {
    if f.label != Label::Repeated {
        return None;
    }
    let Kind::Message(full) = &f.kind else {
        return None;
    };
    let m = types.messages.get(full)?;
    let ok = m.name.ends_with("Entry")
        && m.fields.len() == 2
        && m.fields[0].name == "key"
        && m.fields[1].name == "value"
        && m.fields.iter().all(|f| f.label != Label::Repeated);
    ok.then(|| m.clone())
}

/// `ProtobufSchema.toMapField`: `countsEntry` → `counts`, `ConnectDefault3Entry` →
/// `connect_default3` (Guava UPPER_CAMEL to LOWER_UNDERSCORE), on the last dotted part.
pub fn to_map_field(name: &str) -> String {
    let (head, last) = match name.rfind('.') {
        Some(i) => (&name[..=i], &name[i + 1..]),
        None => ("", name),
    };
    let Some(stem) = last.strip_suffix("Entry") else {
        return name.to_string();
    };
    let mut out = String::from(head);
    for (i, c) in stem.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A field that a proto2 file marks `optional` (outside a oneof), or a proto3 `optional`.
pub fn has_optional_keyword(f: &Field, m: &Message) -> bool {
    f.proto3_optional || (m.proto2 && f.label == Label::Optional && f.oneof.is_none())
}

/// The oneofs Connect sees (proto3 `optional` fields' synthetic ones left out), with the
/// index protobuf gives them (real oneofs come first in a descriptor).
pub fn real_oneofs(m: &Message) -> impl Iterator<Item = (usize, usize, &str)> {
    m.oneofs
        .iter()
        .enumerate()
        .filter(|(_, o)| !o.synthetic)
        .enumerate()
        .map(|(real, (i, o))| (real, i, o.name.as_str()))
}

impl<'a> Ctx<'a> {
    pub fn new(types: &'a Types, opts: &'a ProtobufDataOptions) -> Ctx<'a> {
        Ctx {
            types,
            opts,
            stack: Vec::new(),
            built: std::collections::HashMap::new(),
        }
    }

    pub fn root_schema(
        &mut self,
        m: &Message,
        version: Option<i32>,
    ) -> Result<SchemaRef, DataError> {
        if self.opts.wrapper_for_raw_primitives {
            if let Some(t) = wrapper_type(&m.full_name) {
                return Ok(Schema::builder(t).set_version(version).build());
            }
        }
        Ok(self.message_schema(m)?.set_version(version).build())
    }

    fn message_schema(&mut self, m: &Message) -> Result<SchemaBuilder, DataError> {
        if self.stack.contains(&m.full_name) {
            return Err(DataError::new(format!(
                "message {} contains itself; recursive Protobuf messages have no Connect schema",
                m.full_name
            )));
        }
        self.stack.push(m.full_name.clone());
        let name = if self.opts.enhanced_protobuf_schema_support {
            m.full_name.clone()
        } else {
            m.name.clone()
        };
        let mut b = Schema::struct_builder().name(name);
        for (real, i, oname) in real_oneofs(m) {
            let uname = if self.opts.enhanced_protobuf_schema_support {
                format!("{}.{oname}", m.full_name)
            } else {
                oname.to_string()
            };
            let mut u = Schema::struct_builder().name(format!("{UNION_PREFIX}{uname}"));
            for f in m.fields.iter().filter(|f| f.oneof == Some(i)) {
                u = u.field(f.name.clone(), self.field_schema(f, m)?);
            }
            b = b.field(format!("{oname}_{real}"), u.optional().build());
        }
        for f in &m.fields {
            if f.oneof.is_some_and(|o| !m.oneofs[o].synthetic) {
                continue;
            }
            b = b.field(f.name.clone(), self.field_schema(f, m)?);
        }
        self.stack.pop();
        Ok(b)
    }

    pub fn field_schema(&mut self, f: &Field, m: &Message) -> Result<SchemaRef, DataError> {
        let mut b = match &f.kind {
            Kind::Scalar(s) => {
                let t = match s {
                    Scalar::Int32 | Scalar::Sint32 | Scalar::Sfixed32 => {
                        match f.param("connect.type") {
                            Some("int8") => Schema::builder(SchemaType::Int8),
                            Some("int16") => Schema::builder(SchemaType::Int16),
                            _ if *s == Scalar::Int32 => Schema::builder(SchemaType::Int32),
                            _ => Schema::builder(SchemaType::Int32).parameter(TYPE_PARAM, s.name()),
                        }
                    }
                    Scalar::Int64 => Schema::builder(SchemaType::Int64),
                    Scalar::Uint32
                    | Scalar::Fixed32
                    | Scalar::Uint64
                    | Scalar::Sint64
                    | Scalar::Fixed64
                    | Scalar::Sfixed64 => {
                        Schema::builder(SchemaType::Int64).parameter(TYPE_PARAM, s.name())
                    }
                    Scalar::Float => Schema::builder(SchemaType::Float32),
                    Scalar::Double => Schema::builder(SchemaType::Float64),
                    Scalar::Bool => Schema::builder(SchemaType::Boolean),
                    Scalar::String => Schema::builder(SchemaType::String),
                    Scalar::Bytes => Schema::builder(SchemaType::Bytes),
                };
                t
            }
            Kind::Enum(full) => {
                let e = self
                    .types
                    .enums
                    .get(full)
                    .ok_or_else(|| DataError::new(format!("enum {full} is not defined")))?;
                let name = if self.opts.enhanced_protobuf_schema_support {
                    e.full_name.clone()
                } else {
                    e.name.clone()
                };
                let mut b = Schema::builder(SchemaType::String)
                    .name(name)
                    .parameter(ENUM_PARAM, e.name.clone());
                for (sym, n) in &e.values {
                    b = b.parameter(format!("{ENUM_PREFIX}{sym}"), n.to_string());
                }
                b.optional()
            }
            Kind::Message(full) => {
                let b = match full.as_str() {
                    "confluent.type.Decimal" => {
                        let scale = f.param("scale").and_then(|s| s.parse().ok()).unwrap_or(0);
                        let mut b = Schema::decimal(scale);
                        if let Some(p) = f.param("precision").and_then(|p| p.parse::<i32>().ok()) {
                            b = b.parameter("connect.decimal.precision", p.to_string());
                        }
                        b
                    }
                    "google.type.Date" => Schema::builder(SchemaType::Int32)
                        .name(DATE_NAME)
                        .version(1),
                    "google.type.TimeOfDay" => Schema::builder(SchemaType::Int32)
                        .name(TIME_NAME)
                        .version(1),
                    "google.protobuf.Timestamp" => Schema::builder(SchemaType::Int64)
                        .name(TIMESTAMP_NAME)
                        .version(1),
                    _ => self.message_field(f, full)?,
                };
                b.optional()
            }
        };
        let struct_type = match &f.kind {
            Kind::Message(full) if b.ty() == SchemaType::Struct => Some(full.clone()),
            _ => None,
        };
        if let Some(full) = &struct_type {
            let first = !self.built.contains_key(full);
            if first {
                let tag = (f.label != Label::Repeated).then_some(f.number);
                self.built.insert(full.clone(), tag);
            }
        }
        if f.label == Label::Repeated && b.ty() != SchemaType::Map {
            let mut items = b.optional();
            if let Some(Some(tag)) = struct_type.as_ref().and_then(|t| self.built.get(t)) {
                items = items.parameter(TAG_PARAM, tag.to_string());
            }
            b = Schema::array(items.build()).optional();
        }
        if self.opts.optional_for_nullables {
            if has_optional_keyword(f, m) {
                b = b.optional();
            }
        } else if !self.opts.wrapper_for_nullables {
            b = b.optional();
        }
        Ok(b.parameter(TAG_PARAM, f.number.to_string()).build())
    }

    fn message_field(&mut self, f: &Field, full: &str) -> Result<SchemaBuilder, DataError> {
        if self.opts.wrapper_for_nullables {
            if let Some(t) = wrapper_type(full) {
                return Ok(Schema::builder(t));
            }
        }
        if let Some(entry) = is_map(f, self.types) {
            let name = if self.opts.enhanced_protobuf_schema_support {
                &entry.full_name
            } else {
                &entry.name
            };
            let k = self.field_schema(&entry.fields[0], &entry)?;
            let v = self.field_schema(&entry.fields[1], &entry)?;
            return Ok(Schema::map(k, v).name(to_map_field(name)));
        }
        let m = self
            .types
            .messages
            .get(full)
            .cloned()
            .ok_or_else(|| DataError::new(format!("message {full} is not defined")))?;
        self.message_schema(&m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_field_names() {
        assert_eq!(to_map_field("countsEntry"), "counts");
        assert_eq!(to_map_field("ConnectDefault3Entry"), "connect_default3");
        assert_eq!(to_map_field("a.b.NamedMapEntry"), "a.b.named_map");
        assert_eq!(to_map_field("Plain"), "Plain");
    }
}
