//! Connect's `SingleFieldPath` (KIP-821): `field.syntax.version=V1` names a top-level field
//! verbatim; `V2` is a dotted path into nested structs and maps, with backticks around names
//! that contain dots.

use crate::api::{ConfigKey, ConfigType, KeyDefault, Problem, Settings, Validator};
use crate::data::{Field, Schema, Value};

pub const SYNTAX_KEY: ConfigKey = ConfigKey::new(
    "field.syntax.version",
    ConfigType::String,
    KeyDefault::Value("V1"),
    "V1: field names address top-level fields only; V2: dotted paths reach nested fields (backticks quote names with dots).",
)
.validator(Validator::OneOf(&["V1", "V2"]));

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldPath {
    steps: Vec<String>,
}

impl FieldPath {
    pub fn from_settings(s: &Settings<'_>, key: &str, path: &str) -> Result<FieldPath, Problem> {
        let v2 = s
            .choice("field.syntax.version")
            .map_err(super::util::problem)?
            .eq_ignore_ascii_case("v2");
        if v2 {
            FieldPath::v2(path).map_err(|m| Problem::new(format!("{}{key}", s.prefix), m))
        } else {
            Ok(FieldPath {
                steps: vec![path.to_string()],
            })
        }
    }

    pub fn v2(path: &str) -> Result<FieldPath, String> {
        let b = path.as_bytes();
        let mut steps = Vec::new();
        let mut idx = 0usize;
        let incomplete = |at: usize| {
            format!(
                "Incomplete backtick pair in path: [{path}], consider adding a backslash before backtick at position {at} to escape it"
            )
        };
        while idx < b.len() {
            if b[idx] != b'`' {
                match path[idx..].find('.') {
                    Some(rel) => {
                        steps.push(path[idx..idx + rel].to_string());
                        idx += rel + 1;
                    }
                    None => {
                        steps.push(path[idx..].to_string());
                        idx = b.len();
                    }
                }
            } else {
                let backtick_at = idx;
                idx += 1;
                let mut field = String::new();
                let mut start = idx;
                loop {
                    let Some(rel) = path[idx..].find('`') else {
                        return Err(incomplete(backtick_at));
                    };
                    idx += rel;
                    let escaped = b[idx - 1] == b'\\';
                    if idx >= b.len() - 1 {
                        if escaped {
                            return Err(incomplete(backtick_at));
                        }
                        field.push_str(&path[start..idx]);
                        steps.push(std::mem::take(&mut field));
                        idx += 1;
                        break;
                    }
                    if b[idx + 1] != b'.' {
                        idx += 1;
                        continue;
                    }
                    if escaped {
                        field.push_str(&path[start..idx - 1]);
                        field.push('`');
                        idx += 1;
                        start = idx;
                        continue;
                    }
                    field.push_str(&path[start..idx]);
                    steps.push(std::mem::take(&mut field));
                    idx += 2;
                    break;
                }
            }
        }
        if path.ends_with('.') {
            steps.push(String::new());
        }
        Ok(FieldPath { steps })
    }

    fn split(&self) -> (&[String], &str) {
        let (last, init) = self.steps.split_last().expect("a path has a step");
        (init, last)
    }

    pub fn field_from<'s>(&self, schema: &'s Schema) -> Option<&'s Field> {
        let (init, last) = self.split();
        let mut cur = schema;
        for step in init {
            cur = &cur.field(step)?.schema;
        }
        cur.field(last)
    }

    /// Moves the value at this path out of `value` (top-level V1 paths avoid any clone).
    pub fn take_from(&self, value: &mut Value) -> Option<Value> {
        let (init, last) = self.split();
        let mut cur = value;
        for step in init {
            cur = step_into_mut(cur, step)?;
        }
        step_into_mut(cur, last).map(|v| std::mem::replace(v, Value::Null))
    }
}

fn step_into_mut<'v>(v: &'v mut Value, step: &str) -> Option<&'v mut Value> {
    match v {
        Value::Struct(s) => s.get_mut(step),
        Value::Map(m) => m
            .iter_mut()
            .find(|(k, _)| k.as_str() == Some(step))
            .map(|(_, v)| v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_paths_split_on_dots_and_honour_backticks() {
        assert_eq!(FieldPath::v2("a.b.c").unwrap().steps, ["a", "b", "c"]);
        assert_eq!(FieldPath::v2("`a.b`.c").unwrap().steps, ["a.b", "c"]);
        assert_eq!(FieldPath::v2("a.").unwrap().steps, ["a", ""]);
        assert!(FieldPath::v2("`a.b")
            .unwrap_err()
            .contains("Incomplete backtick pair"));
    }
}
