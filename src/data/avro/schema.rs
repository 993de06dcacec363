//! Avro schemas as Avro's Java library holds them, printed as `Schema.toString()` prints them:
//! that text is what Confluent's serializer registers, so the registry assigns kconnect's schemas
//! the same ids and versions it assigns the JVM worker's.

use super::json::Json;
use crate::data::DataError;

/// Extra JSON attributes of a schema (`connect.name`, `logicalType`, ...), in the order they
/// were added: Avro prints them in that order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Props(pub Vec<(String, Json)>);

impl Props {
    /// Avro's `addProp`: adding a key again with the same value changes nothing, with another
    /// value is an error.
    pub fn add(&mut self, key: &str, value: Json) -> Result<(), DataError> {
        match self.0.iter().find(|(k, _)| k == key) {
            Some((_, v)) if *v == value => Ok(()),
            Some(_) => Err(DataError::new(format!(
                "Can't overwrite property: {key} (an Avro schema property set twice)"
            ))),
            None => {
                self.0.push((key.to_string(), value));
                Ok(())
            }
        }
    }

    pub fn get(&self, key: &str) -> Option<&Json> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn get_str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Json::Str(s)) => Some(s),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prim {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
}

impl Prim {
    pub fn name(self) -> &'static str {
        match self {
            Prim::Null => "null",
            Prim::Boolean => "boolean",
            Prim::Int => "int",
            Prim::Long => "long",
            Prim::Float => "float",
            Prim::Double => "double",
            Prim::Bytes => "bytes",
            Prim::String => "string",
        }
    }

    fn from_name(s: &str) -> Option<Prim> {
        Some(match s {
            "null" => Prim::Null,
            "boolean" => Prim::Boolean,
            "int" => Prim::Int,
            "long" => Prim::Long,
            "float" => Prim::Float,
            "double" => Prim::Double,
            "bytes" => Prim::Bytes,
            "string" => Prim::String,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Name {
    pub name: String,
    pub namespace: Option<String>,
}

impl Name {
    pub fn full(&self) -> String {
        match &self.namespace {
            Some(ns) if !ns.is_empty() => format!("{ns}.{}", self.name),
            _ => self.name.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub name: String,
    pub schema: Avro,
    pub doc: Option<String>,
    pub default: Option<Json>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Avro {
    Prim(Prim, Props),
    Record {
        name: Name,
        doc: Option<String>,
        fields: Vec<Field>,
        props: Props,
    },
    Enum {
        name: Name,
        doc: Option<String>,
        symbols: Vec<String>,
        default: Option<String>,
        props: Props,
    },
    Fixed {
        name: Name,
        size: usize,
        props: Props,
    },
    Array(Box<Avro>, Props),
    Map(Box<Avro>, Props),
    Union(Vec<Avro>),
}

impl Avro {
    pub fn prim(p: Prim) -> Avro {
        Avro::Prim(p, Props::default())
    }

    pub fn props(&self) -> Option<&Props> {
        match self {
            Avro::Prim(_, p)
            | Avro::Array(_, p)
            | Avro::Map(_, p)
            | Avro::Record { props: p, .. }
            | Avro::Enum { props: p, .. }
            | Avro::Fixed { props: p, .. } => Some(p),
            Avro::Union(_) => None,
        }
    }

    pub fn props_mut(&mut self) -> Option<&mut Props> {
        match self {
            Avro::Prim(_, p)
            | Avro::Array(_, p)
            | Avro::Map(_, p)
            | Avro::Record { props: p, .. }
            | Avro::Enum { props: p, .. }
            | Avro::Fixed { props: p, .. } => Some(p),
            Avro::Union(_) => None,
        }
    }

    pub fn prop_str(&self, key: &str) -> Option<&str> {
        self.props().and_then(|p| p.get_str(key))
    }

    pub fn name(&self) -> Option<&Name> {
        match self {
            Avro::Record { name, .. } | Avro::Enum { name, .. } | Avro::Fixed { name, .. } => {
                Some(name)
            }
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Avro::Prim(Prim::Null, _))
    }

    /// Avro's type name (`record`, `int`, ...), as AvroData compares it with Connect's.
    pub fn type_name(&self) -> &'static str {
        match self {
            Avro::Prim(p, _) => p.name(),
            Avro::Record { .. } => "record",
            Avro::Enum { .. } => "enum",
            Avro::Fixed { .. } => "fixed",
            Avro::Array(..) => "array",
            Avro::Map(..) => "map",
            Avro::Union(_) => "union",
        }
    }

    /// `Schema.getFullName()`: the full name of a named type, else the type name.
    pub fn full_name(&self) -> String {
        match self.name() {
            Some(n) => n.full(),
            None => self.type_name().to_string(),
        }
    }

    /// `Schema.toString()`: the text Confluent's serializer registers.
    pub fn to_text(&self) -> Result<String, DataError> {
        let mut out = Vec::with_capacity(256);
        let mut names = Names::default();
        self.write(&mut out, &mut names)?;
        Ok(String::from_utf8(out).expect("schema text is UTF-8"))
    }

    fn write(&self, out: &mut Vec<u8>, names: &mut Names) -> Result<(), DataError> {
        match self {
            Avro::Prim(p, props) => {
                if props.0.is_empty() {
                    super::json::write_string(out, p.name());
                } else {
                    out.extend_from_slice(b"{\"type\":");
                    super::json::write_string(out, p.name());
                    write_props(out, props);
                    out.push(b'}');
                }
            }
            Avro::Array(items, props) => {
                out.extend_from_slice(b"{\"type\":\"array\",\"items\":");
                items.write(out, names)?;
                write_props(out, props);
                out.push(b'}');
            }
            Avro::Map(values, props) => {
                out.extend_from_slice(b"{\"type\":\"map\",\"values\":");
                values.write(out, names)?;
                write_props(out, props);
                out.push(b'}');
            }
            Avro::Union(types) => {
                out.push(b'[');
                for (i, t) in types.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    t.write(out, names)?;
                }
                out.push(b']');
            }
            Avro::Record {
                name,
                doc,
                fields,
                props,
            } => {
                if names.write_ref(self, name, out)? {
                    return Ok(());
                }
                out.extend_from_slice(b"{\"type\":\"record\"");
                names.write_name(name, out);
                if let Some(d) = doc {
                    out.extend_from_slice(b",\"doc\":");
                    super::json::write_string(out, d);
                }
                let saved = std::mem::replace(&mut names.space, name.namespace.clone());
                out.extend_from_slice(b",\"fields\":[");
                for (i, f) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(b"{\"name\":");
                    super::json::write_string(out, &f.name);
                    out.extend_from_slice(b",\"type\":");
                    f.schema.write(out, names)?;
                    if let Some(d) = &f.doc {
                        out.extend_from_slice(b",\"doc\":");
                        super::json::write_string(out, d);
                    }
                    if let Some(d) = &f.default {
                        out.extend_from_slice(b",\"default\":");
                        d.write(out);
                    }
                    out.push(b'}');
                }
                out.push(b']');
                names.space = saved;
                write_props(out, props);
                out.push(b'}');
            }
            Avro::Enum {
                name,
                doc,
                symbols,
                default,
                props,
            } => {
                if names.write_ref(self, name, out)? {
                    return Ok(());
                }
                out.extend_from_slice(b"{\"type\":\"enum\"");
                names.write_name(name, out);
                if let Some(d) = doc {
                    out.extend_from_slice(b",\"doc\":");
                    super::json::write_string(out, d);
                }
                out.extend_from_slice(b",\"symbols\":[");
                for (i, s) in symbols.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    super::json::write_string(out, s);
                }
                out.push(b']');
                if let Some(d) = default {
                    out.extend_from_slice(b",\"default\":");
                    super::json::write_string(out, d);
                }
                write_props(out, props);
                out.push(b'}');
            }
            Avro::Fixed { name, size, props } => {
                if names.write_ref(self, name, out)? {
                    return Ok(());
                }
                out.extend_from_slice(b"{\"type\":\"fixed\"");
                names.write_name(name, out);
                out.extend_from_slice(format!(",\"size\":{size}").as_bytes());
                write_props(out, props);
                out.push(b'}');
            }
        }
        Ok(())
    }

    /// Parses schema text as a registry returns it. Named types referenced again are
    /// expanded in place; a type that refers to itself (a recursive schema) is refused.
    pub fn parse(text: &str) -> Result<Avro, DataError> {
        let json: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| DataError::new(format!("invalid Avro schema JSON: {e}")))?;
        let mut defined = Vec::new();
        parse_value(&json, None, &mut defined)
    }
}

fn write_props(out: &mut Vec<u8>, props: &Props) {
    for (k, v) in &props.0 {
        out.push(b',');
        super::json::write_string(out, k);
        out.push(b':');
        v.write(out);
    }
}

/// The names defined so far while printing, and the enclosing namespace: as Avro's `Names`.
#[derive(Default)]
struct Names {
    defined: Vec<(String, Avro)>,
    space: Option<String>,
}

impl Names {
    /// A type already printed is printed again as its name; a different type of the same name
    /// cannot be printed at all, as in Avro.
    fn write_ref(
        &mut self,
        schema: &Avro,
        name: &Name,
        out: &mut Vec<u8>,
    ) -> Result<bool, DataError> {
        let full = name.full();
        if let Some((_, s)) = self.defined.iter().find(|(n, _)| *n == full) {
            if s == schema {
                let q = if name.namespace.is_some() && name.namespace == self.space {
                    name.name.clone()
                } else {
                    full
                };
                super::json::write_string(out, &q);
                return Ok(true);
            }
            return Err(DataError::new(format!("Can't redefine: {full}")));
        }
        self.defined.push((full, schema.clone()));
        Ok(false)
    }

    fn write_name(&self, name: &Name, out: &mut Vec<u8>) {
        out.extend_from_slice(b",\"name\":");
        super::json::write_string(out, &name.name);
        match &name.namespace {
            Some(ns) => {
                if Some(ns) != self.space.as_ref() {
                    out.extend_from_slice(b",\"namespace\":");
                    super::json::write_string(out, ns);
                }
            }
            None => {
                if self.space.is_some() {
                    out.extend_from_slice(b",\"namespace\":\"\"");
                }
            }
        }
    }
}

fn bad(what: impl Into<String>) -> DataError {
    DataError::new(format!("invalid Avro schema: {}", what.into()))
}

fn split_full(full: &str, enclosing: Option<&str>, explicit_ns: Option<&str>) -> Name {
    if let Some(i) = full.rfind('.') {
        return Name {
            name: full[i + 1..].to_string(),
            namespace: Some(full[..i].to_string()),
        };
    }
    let ns = match explicit_ns {
        Some(ns) => Some(ns.to_string()),
        None => enclosing.map(str::to_string),
    };
    Name {
        name: full.to_string(),
        namespace: ns.filter(|n| !n.is_empty()),
    }
}

fn parse_value(
    v: &serde_json::Value,
    space: Option<&str>,
    defined: &mut Vec<(String, Option<Avro>)>,
) -> Result<Avro, DataError> {
    use serde_json::Value as J;
    match v {
        J::String(s) => {
            if let Some(p) = Prim::from_name(s) {
                return Ok(Avro::prim(p));
            }
            let full = split_full(s, space, None).full();
            match defined.iter().find(|(n, _)| *n == full) {
                Some((_, Some(s))) => Ok(s.clone()),
                Some((_, None)) => Err(bad(format!(
                    "{full} refers to itself; recursive schemas are not supported by kconnect"
                ))),
                None => Err(bad(format!("undefined name: {s}"))),
            }
        }
        J::Array(items) => Ok(Avro::Union(
            items
                .iter()
                .map(|i| parse_value(i, space, defined))
                .collect::<Result<_, _>>()?,
        )),
        J::Object(o) => {
            let ty = o
                .get("type")
                .ok_or_else(|| bad("a schema object without \"type\""))?;
            let ty = match ty {
                J::String(t) => t.as_str(),
                other => return parse_value(other, space, defined),
            };
            let reserved: &[&str] = match ty {
                "record" | "error" => &["type", "name", "namespace", "doc", "fields", "aliases"],
                "enum" => &[
                    "type",
                    "name",
                    "namespace",
                    "doc",
                    "symbols",
                    "aliases",
                    "default",
                ],
                "fixed" => &["type", "name", "namespace", "doc", "size", "aliases"],
                "array" => &["type", "items"],
                "map" => &["type", "values"],
                _ => &["type"],
            };
            let mut props = Props::default();
            for (k, val) in o {
                if !reserved.contains(&k.as_str()) {
                    props.0.push((k.clone(), Json::from_serde(val)));
                }
            }
            let named = |o: &serde_json::Map<String, J>| -> Result<Name, DataError> {
                let n = o
                    .get("name")
                    .and_then(J::as_str)
                    .ok_or_else(|| bad(format!("a {ty} without a name")))?;
                Ok(split_full(n, space, o.get("namespace").and_then(J::as_str)))
            };
            let doc = o.get("doc").and_then(J::as_str).map(str::to_string);
            Ok(match ty {
                "record" | "error" => {
                    let name = named(o)?;
                    let full = name.full();
                    defined.push((full.clone(), None));
                    let inner = name.namespace.clone();
                    let mut fields = Vec::new();
                    for f in o
                        .get("fields")
                        .and_then(J::as_array)
                        .ok_or_else(|| bad(format!("record {full} without fields")))?
                    {
                        let fname = f
                            .get("name")
                            .and_then(J::as_str)
                            .ok_or_else(|| bad(format!("a field of {full} without a name")))?;
                        let ftype = f.get("type").ok_or_else(|| {
                            bad(format!("field {fname} of {full} without a type"))
                        })?;
                        fields.push(Field {
                            name: fname.to_string(),
                            schema: parse_value(ftype, inner.as_deref(), defined)?,
                            doc: f.get("doc").and_then(J::as_str).map(str::to_string),
                            default: f.get("default").map(Json::from_serde),
                        });
                    }
                    let rec = Avro::Record {
                        name,
                        doc,
                        fields,
                        props,
                    };
                    if let Some(slot) = defined.iter_mut().find(|(n, _)| *n == full) {
                        slot.1 = Some(rec.clone());
                    }
                    rec
                }
                "enum" => {
                    let name = named(o)?;
                    let symbols = o
                        .get("symbols")
                        .and_then(J::as_array)
                        .ok_or_else(|| bad("an enum without symbols"))?
                        .iter()
                        .map(|s| {
                            s.as_str()
                                .map(str::to_string)
                                .ok_or_else(|| bad("an enum symbol that is not a string"))
                        })
                        .collect::<Result<_, _>>()?;
                    let e = Avro::Enum {
                        name: name.clone(),
                        doc,
                        symbols,
                        default: o.get("default").and_then(J::as_str).map(str::to_string),
                        props,
                    };
                    defined.push((name.full(), Some(e.clone())));
                    e
                }
                "fixed" => {
                    let name = named(o)?;
                    let size = o
                        .get("size")
                        .and_then(J::as_u64)
                        .ok_or_else(|| bad("a fixed without a size"))?
                        as usize;
                    let f = Avro::Fixed {
                        name: name.clone(),
                        size,
                        props,
                    };
                    defined.push((name.full(), Some(f.clone())));
                    f
                }
                "array" => Avro::Array(
                    Box::new(parse_value(
                        o.get("items")
                            .ok_or_else(|| bad("an array without items"))?,
                        space,
                        defined,
                    )?),
                    props,
                ),
                "map" => Avro::Map(
                    Box::new(parse_value(
                        o.get("values").ok_or_else(|| bad("a map without values"))?,
                        space,
                        defined,
                    )?),
                    props,
                ),
                other => match Prim::from_name(other) {
                    Some(p) => Avro::Prim(p, props),
                    None => {
                        let mut s = parse_value(&J::String(other.to_string()), space, defined)?;
                        if let Some(p) = s.props_mut() {
                            for (k, v) in props.0 {
                                p.add(&k, v)?;
                            }
                        }
                        s
                    }
                },
            })
        }
        other => Err(bad(format!("unexpected JSON {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_and_parses_back() {
        let text = r#"{"type":"record","name":"R","namespace":"a.b","fields":[{"name":"x","type":{"type":"int","connect.type":"int8"}},{"name":"inner","type":{"type":"record","name":"I","fields":[{"name":"y","type":"string"}]}},{"name":"again","type":["null","I"],"default":null},{"name":"other","type":{"type":"record","name":"O","namespace":"c","fields":[]}}],"connect.name":"a.b.R"}"#;
        let s = Avro::parse(text).unwrap();
        assert_eq!(s.to_text().unwrap(), text);
    }

    #[test]
    fn a_different_type_of_the_same_name_cannot_be_printed() {
        let r = |f: &str| Avro::Record {
            name: Name {
                name: "E".into(),
                namespace: None,
            },
            doc: None,
            fields: vec![Field {
                name: f.into(),
                schema: Avro::prim(Prim::Int),
                doc: None,
                default: None,
            }],
            props: Props::default(),
        };
        let u = Avro::Union(vec![r("a"), r("b")]);
        assert!(u.to_text().unwrap_err().0.contains("Can't redefine: E"));
    }
}
