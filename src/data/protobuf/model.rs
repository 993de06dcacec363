//! A `.proto` file as far as the converter needs it: messages, their fields with numbers and
//! types, oneofs, enums and the Confluent `field_meta` parameters. Written by
//! [`super::from_connect`] and printed by [`super::text`], or parsed from a registry's text and
//! resolved, so that every field knows the full name of the message or enum it holds.

use std::collections::HashMap;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    Double,
    Float,
    Int64,
    Uint64,
    Int32,
    Fixed64,
    Fixed32,
    Bool,
    String,
    Bytes,
    Uint32,
    Sfixed32,
    Sfixed64,
    Sint32,
    Sint64,
}

impl Scalar {
    pub fn from_name(s: &str) -> Option<Scalar> {
        Some(match s {
            "double" => Scalar::Double,
            "float" => Scalar::Float,
            "int64" => Scalar::Int64,
            "uint64" => Scalar::Uint64,
            "int32" => Scalar::Int32,
            "fixed64" => Scalar::Fixed64,
            "fixed32" => Scalar::Fixed32,
            "bool" => Scalar::Bool,
            "string" => Scalar::String,
            "bytes" => Scalar::Bytes,
            "uint32" => Scalar::Uint32,
            "sfixed32" => Scalar::Sfixed32,
            "sfixed64" => Scalar::Sfixed64,
            "sint32" => Scalar::Sint32,
            "sint64" => Scalar::Sint64,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Scalar::Double => "double",
            Scalar::Float => "float",
            Scalar::Int64 => "int64",
            Scalar::Uint64 => "uint64",
            Scalar::Int32 => "int32",
            Scalar::Fixed64 => "fixed64",
            Scalar::Fixed32 => "fixed32",
            Scalar::Bool => "bool",
            Scalar::String => "string",
            Scalar::Bytes => "bytes",
            Scalar::Uint32 => "uint32",
            Scalar::Sfixed32 => "sfixed32",
            Scalar::Sfixed64 => "sfixed64",
            Scalar::Sint32 => "sint32",
            Scalar::Sint64 => "sint64",
        }
    }

    /// The wire type of one value: 0 varint, 1 eight bytes, 2 length-delimited, 5 four bytes.
    pub fn wire_type(self) -> u8 {
        match self {
            Scalar::Double | Scalar::Fixed64 | Scalar::Sfixed64 => 1,
            Scalar::Float | Scalar::Fixed32 | Scalar::Sfixed32 => 5,
            Scalar::String | Scalar::Bytes => 2,
            _ => 0,
        }
    }

    /// Whether a repeated field of this type may be packed.
    pub fn packable(self) -> bool {
        !matches!(self, Scalar::String | Scalar::Bytes)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    Plain,
    Optional,
    Required,
    Repeated,
}

/// What a field holds; message and enum names are full names without the leading dot once
/// the file is resolved (before that, the name as written).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Scalar(Scalar),
    Message(String),
    Enum(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub name: String,
    pub number: i32,
    pub label: Label,
    /// The type as the text writes it (`int32`, `Inner`, `google.protobuf.Timestamp`).
    pub type_name: String,
    pub kind: Kind,
    /// Index into the message's oneofs (a proto3 `optional` field's synthetic oneof included).
    pub oneof: Option<usize>,
    pub proto3_optional: bool,
    /// `(confluent.field_meta).params`, in order.
    pub params: Vec<(String, String)>,
    pub packed: Option<bool>,
    /// A proto2 `[default = ...]`, as written.
    pub default: Option<String>,
    /// ProtobufData writes fields of a oneof (and proto3 optional fields, which are one-field
    /// oneofs) with an explicit `deprecated = false` option.
    pub deprecated_false: bool,
}

impl Field {
    pub fn new(name: impl Into<String>, number: i32, label: Label, type_name: &str) -> Field {
        let kind = match Scalar::from_name(type_name) {
            Some(s) => Kind::Scalar(s),
            None => Kind::Message(type_name.to_string()),
        };
        Field {
            name: name.into(),
            number,
            label,
            type_name: type_name.to_string(),
            kind,
            oneof: None,
            proto3_optional: false,
            params: Vec::new(),
            packed: None,
            default: None,
            deprecated_false: false,
        }
    }

    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Oneof {
    pub name: String,
    /// A proto3 `optional` field's oneof: not a real oneof to Connect.
    pub synthetic: bool,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Message {
    pub name: String,
    pub full_name: String,
    pub fields: Vec<Field>,
    pub oneofs: Vec<Oneof>,
    pub messages: Vec<Message>,
    pub enums: Vec<Enum>,
    pub map_entry: bool,
    /// Declared in a proto2 file (presence and defaults differ).
    pub proto2: bool,
}

impl Message {
    pub fn new(name: impl Into<String>) -> Message {
        Message {
            name: name.into(),
            ..Default::default()
        }
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Enum {
    pub name: String,
    pub full_name: String,
    pub values: Vec<(String, i32)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    Proto2,
    Proto3,
}

#[derive(Clone, Debug, PartialEq)]
pub struct File {
    pub syntax: Syntax,
    pub package: Option<String>,
    pub imports: Vec<String>,
    pub public_imports: Vec<String>,
    pub messages: Vec<Message>,
    pub enums: Vec<Enum>,
}

impl File {
    pub fn new(package: Option<String>) -> File {
        File {
            syntax: Syntax::Proto3,
            package,
            imports: Vec::new(),
            public_imports: Vec::new(),
            messages: Vec::new(),
            enums: Vec::new(),
        }
    }

    /// The message indexes of a message by its full name, as Confluent writes them after the
    /// schema id: the index among the messages at each level of nesting.
    pub fn message_indexes(&self, full_name: &str) -> Option<Vec<i32>> {
        let rel = match &self.package {
            Some(p) => full_name.strip_prefix(p.as_str())?.strip_prefix('.')?,
            None => full_name,
        };
        let mut out = Vec::new();
        let mut level = &self.messages;
        for part in rel.split('.') {
            let i = level.iter().position(|m| m.name == part)?;
            out.push(i as i32);
            level = &level[i].messages;
        }
        Some(out)
    }

    /// The message the indexes name.
    pub fn message_at(&self, indexes: &[i32]) -> Option<&Message> {
        let mut level = &self.messages;
        let mut found = None;
        for i in indexes {
            let m = level.get(usize::try_from(*i).ok()?)?;
            level = &m.messages;
            found = Some(m);
        }
        found
    }
}

/// Every message and enum of a file and its imports, by full name: what a field's type
/// resolves against.
#[derive(Default, Debug)]
pub struct Types {
    pub messages: HashMap<String, Arc<Message>>,
    pub enums: HashMap<String, Arc<Enum>>,
}

impl Types {
    pub fn add_file(&mut self, file: &File) {
        fn walk(t: &mut Types, m: &Message) {
            t.messages.insert(m.full_name.clone(), Arc::new(m.clone()));
            for e in &m.enums {
                t.enums.insert(e.full_name.clone(), Arc::new(e.clone()));
            }
            for n in &m.messages {
                walk(t, n);
            }
        }
        for m in &file.messages {
            walk(self, m);
        }
        for e in &file.enums {
            self.enums.insert(e.full_name.clone(), Arc::new(e.clone()));
        }
    }
}
