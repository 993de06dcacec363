//! Header transforms: `DropHeaders`, `InsertHeader` and `HeaderFrom$Key` / `HeaderFrom$Value`.

use std::collections::HashSet;

use crate::api::{ConfigKey, ConfigType, KeyDefault, Problem, Settings, Validator};
use crate::data::{schemas, ConnectRecord, Decimal, Schema, SchemaRef, SchemaType, Struct, Value};

use super::prelude::{map_out, rewrite_fields, struct_out, OnNull, Operand, Rewritten};
use super::util::{copy_basics, field_value, invalid, problem, SchemaCache, Target};
use super::{TransformError, Transformation};

pub const DROP_KEYS: &[ConfigKey] = &[ConfigKey::new(
    "headers",
    ConfigType::List,
    KeyDefault::Required,
    "The name of the headers to be removed.",
)
.validator(Validator::Custom(non_empty_list))];

pub const INSERT_KEYS: &[ConfigKey] = &[
    ConfigKey::new(
        "header",
        ConfigType::String,
        KeyDefault::Required,
        "The name of the header.",
    ),
    ConfigKey::new(
        "value.literal",
        ConfigType::String,
        KeyDefault::Required,
        "The literal value that is to be set as the header value on all records.",
    ),
];

pub const FROM_KEYS: &[ConfigKey] = &[
    ConfigKey::new("fields", ConfigType::List, KeyDefault::Required,
        "Field names in the record whose values are to be copied or moved to headers.")
        .validator(Validator::Custom(non_empty_list)),
    ConfigKey::new("headers", ConfigType::List, KeyDefault::Required,
        "Header names, in the same order as the field names listed in the fields configuration property.")
        .validator(Validator::Custom(non_empty_list)),
    ConfigKey::new("operation", ConfigType::String, KeyDefault::Required,
        "Either move if the fields are to be moved to the headers (removed from the key/value), or copy if the fields are to be copied to the headers (retained in the key/value).")
        .validator(Validator::Custom(move_or_copy)),
    ConfigKey::new("replace.null.with.default", ConfigType::Boolean, KeyDefault::Value("true"),
        "Whether null fields that have a default value get that default (true) or stay null."),
];

/// Connect's `NonEmptyListValidator`.
pub(crate) fn non_empty_list(v: &str) -> Result<(), String> {
    if crate::api::split_list(v).is_empty() {
        Err("Empty list".into())
    } else {
        Ok(())
    }
}

/// `ValidString.in("move", "copy")`: case-sensitive, as in Connect.
fn move_or_copy(v: &str) -> Result<(), String> {
    match v {
        "move" | "copy" => Ok(()),
        _ => Err("String must be one of: move, copy".into()),
    }
}

fn required_list(s: &Settings<'_>, key: &str) -> Result<Vec<String>, Problem> {
    let full = format!("{}{key}", s.prefix);
    match s.raw(key) {
        None => Err(Problem::new(
            &full,
            format!("Missing required configuration \"{full}\" which has no default value."),
        )),
        Some(v) => {
            non_empty_list(v).map_err(|m| invalid(&full, v, m))?;
            Ok(s.list(key))
        }
    }
}

fn required(s: &Settings<'_>, key: &str) -> Result<String, Problem> {
    let full = format!("{}{key}", s.prefix);
    s.raw(key).map(str::to_string).ok_or_else(|| {
        Problem::new(
            &full,
            format!("Missing required configuration \"{full}\" which has no default value."),
        )
    })
}

pub struct DropHeaders {
    headers: HashSet<String>,
}

pub fn create_drop(s: &Settings<'_>) -> Result<Box<dyn Transformation>, Problem> {
    Ok(Box::new(DropHeaders {
        headers: required_list(s, "headers")?.into_iter().collect(),
    }))
}

impl Transformation for DropHeaders {
    fn apply(
        &mut self,
        mut record: ConnectRecord,
    ) -> Result<Option<ConnectRecord>, TransformError> {
        record.headers.0.retain(|h| !self.headers.contains(&h.key));
        Ok(Some(record))
    }
}

pub struct InsertHeader {
    header: String,
    schema: SchemaRef,
    value: Value,
}

pub fn create_insert(s: &Settings<'_>) -> Result<Box<dyn Transformation>, Problem> {
    let header = required(s, "header")?;
    let literal = required(s, "value.literal")?;
    let (schema, value) = parse_literal(&literal);
    Ok(Box::new(InsertHeader {
        header,
        schema,
        value,
    }))
}

/// Connect's `Values.parseString`: booleans, the narrowest integer type, floats, decimals,
/// arrays and maps of those and of quoted strings (`[1, 2.5, "x"]`, `{"a":1}`; an item, key or
/// value schema only when every element has the same one), otherwise the string itself. A
/// literal with a `null`, a bare word or unbalanced brackets stays a string, as in Connect.
pub(crate) fn parse_literal(s: &str) -> (SchemaRef, Value) {
    let t = s.trim();
    if let Some(parsed) = parse_array(t).or_else(|| parse_map(t)) {
        return parsed;
    }
    parse_scalar(s)
}

/// Splits at top-level `sep`, minding quotes and nested brackets and braces. `None` for an
/// escape inside quotes, unbalanced nesting or an unterminated quote.
fn split_top(inner: &str, sep: char) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    let (mut depth, mut quoted, mut start) = (0usize, false, 0usize);
    for (i, c) in inner.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '\\' if quoted => return None,
            '[' | '{' if !quoted => depth += 1,
            ']' | '}' if !quoted => depth = depth.checked_sub(1)?,
            c if c == sep && !quoted && depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quoted || depth != 0 {
        return None;
    }
    parts.push(&inner[start..]);
    Some(parts)
}

/// The elements of an array or the entries of a map: `[]` and a trailing comma (`[1,]`) are
/// accepted; any other empty element is not.
fn elements(inner: &str) -> Option<Vec<&str>> {
    let mut elements = split_top(inner, ',')?;
    if elements.last().is_some_and(|e| e.trim().is_empty()) {
        elements.pop();
    }
    Some(elements)
}

/// One element inside an array or map: a quoted string, an array, a map, or a scalar that is
/// not a bare word (`null` and bare words make the whole literal a string, as in Connect).
fn parse_element(e: &str) -> Option<(SchemaRef, Value)> {
    let e = e.trim();
    if let Some(q) = e.strip_prefix('"') {
        let body = q.strip_suffix('"')?;
        if body.contains('"') {
            return None;
        }
        return Some((schemas::string(), Value::String(body.into())));
    }
    if e.starts_with('[') {
        return parse_array(e);
    }
    if e.starts_with('{') {
        return parse_map(e);
    }
    let (schema, value) = parse_scalar(e);
    (!matches!(value, Value::String(_))).then_some((schema, value))
}

/// The schema every element shares, if they all have the same one.
fn common(schemas: &[SchemaRef]) -> Option<SchemaRef> {
    let first = schemas.first()?;
    schemas.iter().all(|s| s == first).then(|| first.clone())
}

fn parse_array(t: &str) -> Option<(SchemaRef, Value)> {
    let inner = t.strip_prefix('[')?.strip_suffix(']')?;
    let mut schemas_seen = Vec::new();
    let mut values = Vec::new();
    for e in elements(inner)? {
        let (schema, value) = parse_element(e)?;
        schemas_seen.push(schema);
        values.push(value);
    }
    let mut builder = Schema::builder(SchemaType::Array);
    if let Some(items) = common(&schemas_seen) {
        builder = Schema::array(items);
    }
    Some((builder.build(), Value::Array(values)))
}

/// `{"a":1}`: entries `key:value` with keys and values as array elements are. The map keeps
/// the literal's order (Connect builds a LinkedHashMap).
fn parse_map(t: &str) -> Option<(SchemaRef, Value)> {
    let inner = t.strip_prefix('{')?.strip_suffix('}')?;
    let (mut key_schemas, mut value_schemas, mut entries) = (Vec::new(), Vec::new(), Vec::new());
    for e in elements(inner)? {
        let [k, v] = split_top(e, ':')?[..] else {
            return None;
        };
        let (ks, k) = parse_element(k)?;
        let (vs, v) = parse_element(v)?;
        key_schemas.push(ks);
        value_schemas.push(vs);
        entries.push((k, v));
    }
    let mut schema = Schema::builder(SchemaType::Map).build_schema();
    schema.key_schema = common(&key_schemas);
    schema.value_schema = common(&value_schemas);
    // Values.parseString builds a LinkedHashMap.
    Some((
        std::sync::Arc::new(schema),
        Value::Map(crate::data::Map::linked(entries)),
    ))
}

fn parse_scalar(s: &str) -> (SchemaRef, Value) {
    let t = s.trim();
    if t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false") {
        return (
            schemas::boolean(),
            Value::Boolean(t.eq_ignore_ascii_case("true")),
        );
    }
    let numeric = !t.is_empty()
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
        && t.chars().any(|c| c.is_ascii_digit());
    if numeric {
        if let Some(d) = Decimal::parse(t) {
            let whole = d.rescale(0);
            let exact = whole
                .as_ref()
                .filter(|w| d.scale <= 0 || w.rescale(d.scale).as_ref() == Some(&d));
            if let Some(whole) = exact {
                if let Ok(i) = i64::try_from(whole.unscaled.clone()) {
                    return if let Ok(v) = i8::try_from(i) {
                        (schemas::int8(), Value::Int8(v))
                    } else if let Ok(v) = i16::try_from(i) {
                        (schemas::int16(), Value::Int16(v))
                    } else if let Ok(v) = i32::try_from(i) {
                        (schemas::int32(), Value::Int32(v))
                    } else {
                        (schemas::int64(), Value::Int64(i))
                    };
                }
            }
            if d.scale != 0 {
                let f = d.to_f64() as f32;
                if f.is_finite() {
                    return (schemas::float32(), Value::Float32(f));
                }
                let f = d.to_f64();
                if f.is_finite() {
                    return (schemas::float64(), Value::Float64(f));
                }
            }
            let scale = d.scale;
            return (Schema::decimal(scale).build(), Value::Decimal(d));
        }
    }
    (schemas::string(), Value::String(s.to_string().into()))
}

impl Transformation for InsertHeader {
    fn apply(
        &mut self,
        mut record: ConnectRecord,
    ) -> Result<Option<ConnectRecord>, TransformError> {
        record.headers.add(
            self.header.clone(),
            Some(self.schema.clone()),
            self.value.clone(),
        );
        Ok(Some(record))
    }
}

pub struct HeaderFrom {
    target: Target,
    fields: Vec<String>,
    headers: Vec<String>,
    moving: bool,
    replace_null_with_default: bool,
    cache: SchemaCache<SchemaRef>,
}

pub fn create_from(s: &Settings<'_>, target: Target) -> Result<Box<dyn Transformation>, Problem> {
    let fields = required_list(s, "fields")?;
    let headers = required_list(s, "headers")?;
    let op = required(s, "operation")?;
    move_or_copy(&op).map_err(|m| invalid(&format!("{}operation", s.prefix), &op, m))?;
    if fields.len() != headers.len() {
        return Err(Problem::new(
            format!("{}headers", s.prefix),
            "'fields' config must have the same number of elements as 'headers' config.",
        ));
    }
    Ok(Box::new(HeaderFrom {
        target,
        fields,
        headers,
        moving: op == "move",
        replace_null_with_default: s.bool("replace.null.with.default").map_err(problem)?,
        cache: SchemaCache::new(16),
    }))
}

impl HeaderFrom {
    fn purpose(&self) -> &'static str {
        if self.moving {
            "header move"
        } else {
            "header copy"
        }
    }
}

impl Transformation for HeaderFrom {
    fn apply(&mut self, record: ConnectRecord) -> Result<Option<ConnectRecord>, TransformError> {
        let purpose = self.purpose();
        rewrite_fields(
            self.target,
            record,
            OnNull::Apply,
            purpose,
            |record, operand| match operand {
                Operand::Schemaless(entries) => {
                    // `new HashMap<>(value)`, then the removes (move).
                    let mut entries = entries.copied();
                    for (field, header) in self.fields.iter().zip(&self.headers) {
                        let idx = super::util::map_index(&entries, field);
                        let v = match idx {
                            Some(i) if self.moving => entries.remove(i).1,
                            Some(i) => entries[i].1.clone(),
                            None => Value::Null,
                        };
                        record.headers.add(header.clone(), None, v);
                    }
                    Ok(map_out(entries))
                }
                Operand::WithSchema(schema, input) => self.apply_with_schema(record, schema, input),
            },
        )
    }
}

impl HeaderFrom {
    fn apply_with_schema(
        &mut self,
        record: &mut ConnectRecord,
        schema: SchemaRef,
        input: Struct,
    ) -> Result<Rewritten, TransformError> {
        for (field, header) in self.fields.iter().zip(&self.headers) {
            let f = schema.field(field).ok_or_else(|| {
                TransformError::new(format!(
                    "HeaderFrom: field {field} does not exist in schema {schema}"
                ))
            })?;
            let v = match input.schema.field(field) {
                Some(inf) => field_value(
                    input.values[inf.index].clone(),
                    &inf.schema,
                    self.replace_null_with_default,
                ),
                None => Value::Null,
            };
            record
                .headers
                .add(header.clone(), Some(f.schema.clone()), v);
        }
        if !self.moving {
            return Ok((Some(schema), Value::Struct(input)));
        }
        let fields = &self.fields;
        let moved = self
            .cache
            .get_or_try_insert::<TransformError>(&schema, |s| {
                let mut b = copy_basics(s, Schema::struct_builder());
                for f in &s.fields {
                    if !fields.contains(&f.name) {
                        b = b.field(f.name.clone(), f.schema.clone());
                    }
                }
                Ok(b.build())
            })?
            .clone();
        let in_schema = input.schema.clone();
        let mut values = input.values;
        let out = moved
            .fields
            .iter()
            .map(|f| {
                let i = in_schema.field(&f.name).map(|x| x.index);
                match i {
                    Some(i) => field_value(
                        std::mem::replace(&mut values[i], Value::Null),
                        &f.schema,
                        self.replace_null_with_default,
                    ),
                    None => Value::Null,
                }
            })
            .collect();
        Ok(struct_out(moved, out))
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::*;
    use super::parse_literal;
    use crate::data::{schemas, SchemaType, Value};

    #[test]
    fn drop_and_insert_headers() {
        let mut t = transform(
            "InsertHeader",
            &[("header", "app.id"), ("value.literal", "myapp")],
        )
        .unwrap();
        let out = t
            .apply(record_with_value(None, Value::Null))
            .unwrap()
            .unwrap();
        let h = out.headers.last("app.id").unwrap();
        assert_eq!(
            (h.schema.clone(), h.value.clone()),
            (Some(schemas::string()), Value::from("myapp"))
        );
        let mut t = transform(
            "org.apache.kafka.connect.transforms.InsertHeader",
            &[("header", "n"), ("value.literal", "42")],
        )
        .unwrap();
        let out = t.apply(out).unwrap().unwrap();
        assert_eq!(out.headers.last("n").unwrap().value, Value::Int8(42));
        let mut d = transform("DropHeaders", &[("headers", "app.id, other")]).unwrap();
        let out = d.apply(out).unwrap().unwrap();
        assert!(out.headers.last("app.id").is_none());
        assert!(out.headers.last("n").is_some());
        let e = transform("DropHeaders", &[("headers", "")]).err().unwrap();
        assert!(e.message.contains("Empty list"), "{}", e.message);
    }

    /// Expectations from Connect 4.3.0's `Values.parseString` and `convertToString`.
    #[test]
    fn array_literals_parse_like_values_parse_string() {
        let (schema, v) = parse_literal("[1, 2.5, \"x\"]");
        assert_eq!(
            v,
            Value::Array(vec![Value::Int8(1), Value::Float32(2.5), Value::from("x")])
        );
        assert!(schema.value_schema.is_none(), "mixed items have no schema");
        assert_eq!(v.to_display_string(), "[1,2.5,\"x\"]");
        let (schema, v) = parse_literal("[ 1 ,2,]");
        assert_eq!(v, Value::Array(vec![Value::Int8(1), Value::Int8(2)]));
        assert_eq!(schema.value_schema.as_ref().unwrap().ty, SchemaType::Int8);
        let (_, v) = parse_literal("[1, [2]]");
        assert_eq!(
            v,
            Value::Array(vec![Value::Int8(1), Value::Array(vec![Value::Int8(2)])])
        );
        assert_eq!(parse_literal("[]").1, Value::Array(vec![]));
        for stays in [
            "[1, 2.5, x]",
            "[true,null]",
            "[1,2",
            "{\"a\":1,\"b\":[true,null]}",
        ] {
            assert_eq!(parse_literal(stays).1, Value::from(stays), "{stays}");
        }
    }

    #[test]
    fn literals_parse_like_values_parse_string() {
        assert_eq!(parse_literal("true").1, Value::Boolean(true));
        assert_eq!(parse_literal("300").1, Value::Int16(300));
        assert_eq!(parse_literal("70000").1, Value::Int32(70000));
        assert_eq!(parse_literal("1.5").1, Value::Float32(1.5));
        assert_eq!(parse_literal("hello world").1, Value::from("hello world"));
    }

    #[test]
    fn header_from_moves_and_copies() {
        // Kafka docs: HeaderFrom$Value fields=id,name headers=key_id,key_name operation=move.
        let mut t = transform(
            "HeaderFrom$Value",
            &[
                ("fields", "id,name"),
                ("headers", "h_id,h_name"),
                ("operation", "move"),
            ],
        )
        .unwrap();
        let (schema, value) = simple_struct();
        let out = t
            .apply(record_with_value(Some(schema.clone()), value.clone()))
            .unwrap()
            .unwrap();
        assert_eq!(out.headers.last("h_id").unwrap().value, Value::Int32(42));
        assert_eq!(
            out.headers.last("h_name").unwrap().schema,
            Some(schemas::optional_string())
        );
        let names: Vec<_> = out
            .value_schema
            .unwrap()
            .fields
            .iter()
            .map(|f| f.name.clone())
            .collect();
        assert_eq!(names, ["flag"]);
        let mut t = transform(
            "HeaderFrom$Value",
            &[("fields", "a"), ("headers", "h"), ("operation", "copy")],
        )
        .unwrap();
        let out = t
            .apply(record_with_value(
                None,
                smap(&[("a", Value::Int32(1)), ("b", Value::Int32(2))]),
            ))
            .unwrap()
            .unwrap();
        assert_eq!(out.headers.last("h").unwrap().value, Value::Int32(1));
        assert_eq!(
            out.value,
            smap(&[("a", Value::Int32(1)), ("b", Value::Int32(2))])
        );
        let e = transform(
            "HeaderFrom$Key",
            &[("fields", "a,b"), ("headers", "h"), ("operation", "copy")],
        )
        .err()
        .unwrap();
        assert!(e.message.contains("same number of elements"));
        let e = transform(
            "HeaderFrom$Key",
            &[("fields", "a"), ("headers", "h"), ("operation", "MOVE")],
        )
        .err()
        .unwrap();
        assert_eq!(e.key, "operation");
    }
}
