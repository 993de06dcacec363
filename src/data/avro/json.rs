//! The JSON values of Avro schema text (defaults and properties), kept as Jackson's nodes are:
//! a float stays a float (`1.5`, not `1.5` widened to a double's digits) and objects keep their
//! order, so the text prints as Avro's Java library prints it.

use crate::data::{java_double_string, java_float_string};

#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f32),
    Double(f64),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Json::Null => out.extend_from_slice(b"null"),
            Json::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Json::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
            Json::Float(f) => out.extend_from_slice(java_float_string(*f).as_bytes()),
            Json::Double(d) => out.extend_from_slice(java_double_string(*d).as_bytes()),
            Json::Str(s) => write_string(out, s),
            Json::Array(items) => {
                out.push(b'[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    v.write(out);
                }
                out.push(b']');
            }
            Json::Object(members) => {
                out.push(b'{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_string(out, k);
                    out.push(b':');
                    v.write(out);
                }
                out.push(b'}');
            }
        }
    }

    pub fn from_serde(v: &serde_json::Value) -> Json {
        use serde_json::Value as J;
        match v {
            J::Null => Json::Null,
            J::Bool(b) => Json::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Json::Int(i),
                None => Json::Double(n.as_f64().unwrap_or(f64::NAN)),
            },
            J::String(s) => Json::Str(s.clone()),
            J::Array(a) => Json::Array(a.iter().map(Json::from_serde).collect()),
            J::Object(o) => Json::Object(
                o.iter()
                    .map(|(k, v)| (k.clone(), Json::from_serde(v)))
                    .collect(),
            ),
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Int(i) => Some(*i as f64),
            Json::Float(f) => Some(*f as f64),
            Json::Double(d) => Some(*d),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Jackson's `toString` of the node: what AvroData puts in a parameter for an `avro*`
    /// property.
    pub fn to_text(&self) -> String {
        let mut out = Vec::new();
        self.write(&mut out);
        String::from_utf8(out).expect("JSON text is UTF-8")
    }
}

/// A JSON string as Jackson writes one into a `String` (Avro's `Schema.toString`).
pub use crate::data::json::write_str_as_java_string as write_string;
