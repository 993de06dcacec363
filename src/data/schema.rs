//! Connect's schema model (`org.apache.kafka.connect.data.Schema`).
//!
//! Schemas are shared behind `Arc` so a connector builds one per table or shape and every
//! record of that shape points at it: converters and transforms cache their work by the
//! schema's address, which is what keeps per-record cost flat.

use std::fmt;
use std::sync::Arc;

use super::Value;

pub type SchemaRef = Arc<Schema>;

/// The physical types of Connect; logical types are these plus a schema name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SchemaType {
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Boolean,
    String,
    Bytes,
    Array,
    Map,
    Struct,
}

impl SchemaType {
    /// The name JsonConverter writes in a schema's `type`.
    pub fn json_name(self) -> &'static str {
        match self {
            SchemaType::Int8 => "int8",
            SchemaType::Int16 => "int16",
            SchemaType::Int32 => "int32",
            SchemaType::Int64 => "int64",
            SchemaType::Float32 => "float",
            SchemaType::Float64 => "double",
            SchemaType::Boolean => "boolean",
            SchemaType::String => "string",
            SchemaType::Bytes => "bytes",
            SchemaType::Array => "array",
            SchemaType::Map => "map",
            SchemaType::Struct => "struct",
        }
    }

    pub fn from_json_name(name: &str) -> Option<SchemaType> {
        Some(match name {
            "int8" => SchemaType::Int8,
            "int16" => SchemaType::Int16,
            "int32" => SchemaType::Int32,
            "int64" => SchemaType::Int64,
            "float" => SchemaType::Float32,
            "double" => SchemaType::Float64,
            "boolean" => SchemaType::Boolean,
            "string" => SchemaType::String,
            "bytes" => SchemaType::Bytes,
            "array" => SchemaType::Array,
            "map" => SchemaType::Map,
            "struct" => SchemaType::Struct,
            _ => return None,
        })
    }

    /// Connect's upper-case type names, used by Cast's spec and in error messages.
    pub fn connect_name(self) -> &'static str {
        match self {
            SchemaType::Int8 => "INT8",
            SchemaType::Int16 => "INT16",
            SchemaType::Int32 => "INT32",
            SchemaType::Int64 => "INT64",
            SchemaType::Float32 => "FLOAT32",
            SchemaType::Float64 => "FLOAT64",
            SchemaType::Boolean => "BOOLEAN",
            SchemaType::String => "STRING",
            SchemaType::Bytes => "BYTES",
            SchemaType::Array => "ARRAY",
            SchemaType::Map => "MAP",
            SchemaType::Struct => "STRUCT",
        }
    }

    pub fn is_primitive(self) -> bool {
        !matches!(
            self,
            SchemaType::Array | SchemaType::Map | SchemaType::Struct
        )
    }
}

#[derive(Clone)]
pub struct Field {
    pub name: String,
    pub index: usize,
    pub schema: SchemaRef,
    /// `"name":` as JSON, escaped once when the schema is built: JsonConverter writes every
    /// field name of every record, and for change events names are most of the strings.
    json_key: Box<[u8]>,
}

impl Field {
    pub fn new(name: impl Into<String>, index: usize, schema: SchemaRef) -> Field {
        let name = name.into();
        // Escaped as Jackson does, like every other string the JSON writer puts out.
        let mut json_key = Vec::with_capacity(name.len() + 3);
        super::json::write_str(&mut json_key, &name);
        json_key.push(b':');
        Field {
            name,
            index,
            schema,
            json_key: json_key.into_boxed_slice(),
        }
    }

    pub fn json_key(&self) -> &[u8] {
        &self.json_key
    }
}

impl fmt::Debug for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Field")
            .field("name", &self.name)
            .field("index", &self.index)
            .field("schema", &self.schema)
            .finish()
    }
}

impl PartialEq for Field {
    fn eq(&self, other: &Field) -> bool {
        self.name == other.name && self.index == other.index && self.schema == other.schema
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Schema {
    pub ty: SchemaType,
    pub optional: bool,
    pub default: Option<Value>,
    pub name: Option<String>,
    pub version: Option<i32>,
    pub doc: Option<String>,
    /// Insertion-ordered, because JsonConverter writes them in the order they were set and
    /// Debezium consumers compare schemas textually.
    pub parameters: Option<Vec<(String, String)>>,
    pub fields: Vec<Field>,
    pub key_schema: Option<SchemaRef>,
    pub value_schema: Option<SchemaRef>,
}

pub const DECIMAL_NAME: &str = "org.apache.kafka.connect.data.Decimal";
pub const DATE_NAME: &str = "org.apache.kafka.connect.data.Date";
pub const TIME_NAME: &str = "org.apache.kafka.connect.data.Time";
pub const TIMESTAMP_NAME: &str = "org.apache.kafka.connect.data.Timestamp";
pub const DECIMAL_SCALE_PARAM: &str = "scale";

impl Schema {
    pub fn new(ty: SchemaType) -> Schema {
        Schema {
            ty,
            optional: false,
            default: None,
            name: None,
            version: None,
            doc: None,
            parameters: None,
            fields: Vec::new(),
            key_schema: None,
            value_schema: None,
        }
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn parameter(&self, key: &str) -> Option<&str> {
        self.parameters
            .as_ref()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn is_named(&self, name: &str) -> bool {
        self.name.as_deref() == Some(name)
    }

    /// Scale of a Decimal schema; Connect requires the parameter, a missing one is 0.
    pub fn decimal_scale(&self) -> i32 {
        self.parameter(DECIMAL_SCALE_PARAM)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    pub fn builder(ty: SchemaType) -> SchemaBuilder {
        SchemaBuilder {
            schema: Schema::new(ty),
        }
    }

    pub fn struct_builder() -> SchemaBuilder {
        Self::builder(SchemaType::Struct)
    }

    pub fn array(items: SchemaRef) -> SchemaBuilder {
        let mut b = Self::builder(SchemaType::Array);
        b.schema.value_schema = Some(items);
        b
    }

    pub fn map(keys: SchemaRef, values: SchemaRef) -> SchemaBuilder {
        let mut b = Self::builder(SchemaType::Map);
        b.schema.key_schema = Some(keys);
        b.schema.value_schema = Some(values);
        b
    }

    /// A primitive schema, shared: the common ones are built once per call site's needs.
    pub fn primitive(ty: SchemaType, optional: bool) -> SchemaRef {
        let mut s = Schema::new(ty);
        s.optional = optional;
        Arc::new(s)
    }

    pub fn decimal(scale: i32) -> SchemaBuilder {
        Self::builder(SchemaType::Bytes)
            .name(DECIMAL_NAME)
            .version(1)
            .parameter(DECIMAL_SCALE_PARAM, scale.to_string())
    }

    /// A copy that can be edited: transforms derive schemas this way.
    pub fn to_builder(&self) -> SchemaBuilder {
        SchemaBuilder {
            schema: self.clone(),
        }
    }
}

impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "Schema{{{}:{}}}", n, self.ty.connect_name()),
            None => write!(f, "Schema{{{}}}", self.ty.connect_name()),
        }
    }
}

/// Mirrors Connect's SchemaBuilder so code ported from Connect's docs reads the same.
#[derive(Clone, Debug)]
pub struct SchemaBuilder {
    schema: Schema,
}

impl SchemaBuilder {
    pub fn optional(mut self) -> Self {
        self.schema.optional = true;
        self
    }
    pub fn required(mut self) -> Self {
        self.schema.optional = false;
        self
    }
    pub fn set_optional(mut self, optional: bool) -> Self {
        self.schema.optional = optional;
        self
    }
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.schema.name = Some(name.into());
        self
    }
    pub fn set_name(mut self, name: Option<String>) -> Self {
        self.schema.name = name;
        self
    }
    pub fn version(mut self, v: i32) -> Self {
        self.schema.version = Some(v);
        self
    }
    pub fn set_version(mut self, v: Option<i32>) -> Self {
        self.schema.version = v;
        self
    }
    pub fn doc(mut self, doc: impl Into<String>) -> Self {
        self.schema.doc = Some(doc.into());
        self
    }
    pub fn default_value(mut self, v: Value) -> Self {
        self.schema.default = Some(v);
        self
    }
    pub fn set_default(mut self, v: Option<Value>) -> Self {
        self.schema.default = v;
        self
    }
    pub fn parameter(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        let (k, v) = (k.into(), v.into());
        let params = self.schema.parameters.get_or_insert_with(Vec::new);
        match params.iter_mut().find(|(pk, _)| *pk == k) {
            Some(slot) => slot.1 = v,
            None => params.push((k, v)),
        }
        self
    }
    pub fn parameters(mut self, p: Option<Vec<(String, String)>>) -> Self {
        self.schema.parameters = p;
        self
    }
    pub fn field(mut self, name: impl Into<String>, schema: SchemaRef) -> Self {
        let index = self.schema.fields.len();
        self.schema.fields.push(Field::new(name, index, schema));
        self
    }
    pub fn clear_fields(mut self) -> Self {
        self.schema.fields.clear();
        self
    }
    pub fn fields(&self) -> &[Field] {
        &self.schema.fields
    }
    pub fn ty(&self) -> SchemaType {
        self.schema.ty
    }
    pub fn build(self) -> SchemaRef {
        Arc::new(self.schema)
    }
    pub fn build_schema(self) -> Schema {
        self.schema
    }
}

/// Common schemas, named as in Connect (`Schema.OPTIONAL_STRING_SCHEMA`, ...).
pub mod schemas {
    use super::*;
    use std::sync::OnceLock;

    macro_rules! shared {
        ($name:ident, $ty:expr, $opt:expr) => {
            pub fn $name() -> SchemaRef {
                static S: OnceLock<SchemaRef> = OnceLock::new();
                S.get_or_init(|| Schema::primitive($ty, $opt)).clone()
            }
        };
    }
    shared!(string, SchemaType::String, false);
    shared!(optional_string, SchemaType::String, true);
    shared!(bytes, SchemaType::Bytes, false);
    shared!(optional_bytes, SchemaType::Bytes, true);
    shared!(int8, SchemaType::Int8, false);
    shared!(int16, SchemaType::Int16, false);
    shared!(int32, SchemaType::Int32, false);
    shared!(optional_int32, SchemaType::Int32, true);
    shared!(int64, SchemaType::Int64, false);
    shared!(optional_int64, SchemaType::Int64, true);
    shared!(float32, SchemaType::Float32, false);
    shared!(float64, SchemaType::Float64, false);
    shared!(optional_float64, SchemaType::Float64, true);
    shared!(boolean, SchemaType::Boolean, false);
    shared!(optional_boolean, SchemaType::Boolean, true);
}
