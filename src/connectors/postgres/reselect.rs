//! `post.processors` with Debezium's `ReselectColumnsPostProcessor`: a streamed change whose
//! after-image lacks values (an unchanged TOASTed column the WAL did not carry, or a null) has
//! them read again from the table, so consumers see the row's values rather than the
//! `unavailable.value.placeholder`. What is read is the row when the change is processed, not
//! when it was made; Debezium documents the same.

use std::collections::BTreeMap;

use postgres::{Client, SimpleQueryMessage};
use regex::Regex;

use super::db;
use super::events::TableSchema;
use super::pgoutput::TupleValue;
use super::PgConfig;
use crate::api::InvalidConfig;
use crate::data::{Schema, SchemaType, Value};

pub const RESELECT_CLASS: &str = "io.debezium.processors.reselect.ReselectColumnsPostProcessor";
const POST_PROCESSORS: &str = "post.processors";
const JSON_NAME: &str = "io.debezium.data.Json";

/// The options Debezium's processor reads (besides its `type`); any other under a
/// processor's prefix would be ignored there, so kconnect refuses it.
const OPTIONS: &[&str] = &[
    "type",
    "reselect.columns.include.list",
    "reselect.columns.exclude.list",
    "reselect.unavailable.values",
    "reselect.null.values",
    "reselect.use.event.key",
    "reselect.error.handling.mode",
];

/// One configured `ReselectColumnsPostProcessor`.
#[derive(Clone, Debug)]
pub struct Reselector {
    /// `<schema>.<table>:<column>` patterns; `include` says whether a match selects a column
    /// (include list) or keeps it out (exclude list). Empty: every column.
    patterns: Vec<Regex>,
    include: bool,
    unavailable: bool,
    nulls: bool,
    use_event_key: bool,
    fail: bool,
}

/// Why a change could not be completed: the processor's failure with
/// `reselect.error.handling.mode=fail`, or a re-read value that could not be converted.
/// The stream hands it to `event.processing.failure.handling.mode`.
pub type ReselectError = String;

/// The post processors of `post.processors`, each read from `post.processors.<name>.*` or,
/// as Debezium still accepts, from `<name>.*`.
pub fn post_processors(
    values: &BTreeMap<String, String>,
) -> Result<Vec<Reselector>, InvalidConfig> {
    let listed = values
        .get(POST_PROCESSORS)
        .map(String::as_str)
        .unwrap_or("");
    let names: Vec<&str> = listed
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    let invalid = |key: &str, value: &str, reason: String| InvalidConfig {
        key: key.to_string(),
        value: value.to_string(),
        reason,
    };
    let prefix = format!("{POST_PROCESSORS}.");
    for (key, value) in values.range(prefix.clone()..) {
        let Some(rest) = key.strip_prefix(&prefix) else {
            break;
        };
        if !names.iter().any(|n| rest.starts_with(&format!("{n}."))) {
            return Err(invalid(key, value, format!("it names a post processor that {POST_PROCESSORS} does not list, so Debezium would not use it; add the name to {POST_PROCESSORS}, or remove this key")));
        }
    }
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let new_prefix = format!("{POST_PROCESSORS}.{name}.");
        let old_prefix = format!("{name}.");
        let subset = |p: &str| -> Vec<(String, String)> {
            values
                .range(p.to_string()..)
                .take_while(|(k, _)| k.starts_with(p))
                .map(|(k, v)| (k[p.len()..].to_string(), v.clone()))
                .collect()
        };
        let (key_prefix, options) = match subset(&new_prefix) {
            o if !o.is_empty() => (new_prefix, o),
            _ if values.contains_key(&format!("{old_prefix}type")) => {
                let o = subset(&old_prefix);
                (old_prefix, o)
            }
            _ => {
                return Err(invalid(POST_PROCESSORS, listed, format!("post processor '{name}' is missing post.processors.{name}.type (its class) and its options post.processors.{name}.<option>; set them, or remove '{name}'")));
            }
        };
        let get = |o: &str| {
            options
                .iter()
                .find(|(k, _)| k == o)
                .map(|(_, v)| v.trim().to_string())
        };
        for (option, value) in &options {
            if !OPTIONS.contains(&option.as_str()) {
                return Err(invalid(&format!("{key_prefix}{option}"), value, format!("{RESELECT_CLASS} has no option {option}, so Debezium would ignore it; kconnect refuses it: remove it, or use one of {}", OPTIONS[1..].join(", "))));
            }
        }
        let type_key = format!("{key_prefix}type");
        match get("type") {
            Some(class) if class == RESELECT_CLASS => {}
            Some(class) => {
                return Err(invalid(&type_key, &class, format!("kconnect implements only the post processor {RESELECT_CLASS}: use it, or run this connector on Kafka Connect")));
            }
            None => {
                return Err(invalid(
                    &type_key,
                    "",
                    format!(
                        "post processor '{name}' needs its class; set {type_key}={RESELECT_CLASS}"
                    ),
                ));
            }
        }
        let flag = |o: &str, default: bool| -> Result<bool, InvalidConfig> {
            match get(o) {
                None => Ok(default),
                Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
                Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
                Some(v) => Err(invalid(
                    &format!("{key_prefix}{o}"),
                    &v,
                    "must be true or false".into(),
                )),
            }
        };
        let fail = match get("reselect.error.handling.mode") {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("warn") => false,
            Some(v) if v.eq_ignore_ascii_case("fail") => true,
            Some(v) => {
                return Err(invalid(
                    &format!("{key_prefix}reselect.error.handling.mode"),
                    &v,
                    "must be warn or fail".into(),
                ))
            }
        };
        let include = get("reselect.columns.include.list").filter(|v| !v.is_empty());
        let exclude = get("reselect.columns.exclude.list").filter(|v| !v.is_empty());
        if include.is_some() && exclude.is_some() {
            return Err(invalid(&format!("{key_prefix}reselect.columns.exclude.list"), exclude.as_deref().unwrap_or(""), format!("{key_prefix}reselect.columns.include.list is set too, and Debezium would ignore this exclude list; set only one of them")));
        }
        let (list_key, list) = match (&include, &exclude) {
            (Some(l), _) => ("reselect.columns.include.list", l.as_str()),
            (_, Some(l)) => ("reselect.columns.exclude.list", l.as_str()),
            _ => ("", ""),
        };
        let patterns = split_regexes(list)
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .map(|p| {
                regex::RegexBuilder::new(&format!("^(?:{p})$"))
                    .case_insensitive(true)
                    .build()
                    .map_err(|e| {
                        invalid(
                            &format!("{key_prefix}{list_key}"),
                            p,
                            format!("not a valid regular expression: {e}"),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let r = Reselector {
            patterns,
            include: include.is_some(),
            unavailable: flag("reselect.unavailable.values", true)?,
            nulls: flag("reselect.null.values", true)?,
            use_event_key: flag("reselect.use.event.key", false)?,
            fail,
        };
        if !r.unavailable && !r.nulls {
            tracing::warn!("post processor '{name}' re-selects neither unavailable values nor nulls (reselect.unavailable.values and reselect.null.values are false), so it changes no event");
        }
        out.push(r);
    }
    Ok(out)
}

/// A comma-separated list of regexes as Debezium's RegExSplitter reads it: `\,` is a comma
/// inside a regex.
fn split_regexes(list: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = list.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                out.last_mut().expect("one item").push(',');
                chars.next();
            }
            ',' => out.push(String::new()),
            c => out.last_mut().expect("one item").push(c),
        }
    }
    out
}

impl Reselector {
    fn selects(&self, qualified: &str) -> bool {
        if self.patterns.is_empty() {
            return true;
        }
        self.patterns.iter().any(|p| p.is_match(qualified)) == self.include
    }

    /// The indexes (in `t.columns`) of the columns of `after` to read again.
    fn wanted(&self, t: &TableSchema, after: &[Value], placeholder: &str) -> Vec<usize> {
        let mut wanted = Vec::new();
        let mut field = 0;
        for (i, c) in t.columns.iter().enumerate() {
            let Some(schema) = &c.schema else { continue };
            let value = &after[field];
            field += 1;
            let missing = (self.unavailable && is_unavailable(value, schema, placeholder))
                || (self.nulls && matches!(value, Value::Null));
            if missing
                && self.selects(&format!(
                    "{}.{}:{}",
                    t.schema_name, t.table_name, c.field_name
                ))
            {
                wanted.push(i);
            }
        }
        wanted
    }

    /// Reads the missing columns of a created or updated row (`tuple`, its after-image as
    /// pgoutput sent it) again and puts them into `after`. A row not found or a failed
    /// query is logged (warn) or returned as the change's failure (fail), as Debezium's
    /// reselect.error.handling.mode says.
    pub fn apply(
        &self,
        client: &mut Client,
        cfg: &PgConfig,
        t: &TableSchema,
        tuple: &[TupleValue<'_>],
        after: &mut Value,
    ) -> Result<(), ReselectError> {
        // As Debezium: a change without a key (a table without primary key or
        // message.key.columns) is left as it is, quietly.
        let (Value::Struct(row), Some(_)) = (after, &t.key_schema) else {
            return Ok(());
        };
        let wanted = self.wanted(t, &row.values, &cfg.placeholder);
        if wanted.is_empty() {
            return Ok(());
        }
        let table = format!("{}.{}", t.schema_name, t.table_name);
        let keys: &[usize] = if self.use_event_key {
            &t.key_columns
        } else {
            &t.pk_columns
        };
        let key_text = || {
            keys.iter()
                .map(|&i| {
                    let v = match tuple.get(i) {
                        Some(TupleValue::Text(s)) => s,
                        _ => "null",
                    };
                    format!("{}={v}", t.columns[i].name)
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let failed = |what: String| -> Result<(), ReselectError> {
            if self.fail {
                Err(what)
            } else {
                tracing::warn!("{what}; the change keeps the values it had (reselect.error.handling.mode=warn)");
                Ok(())
            }
        };
        if keys.is_empty() {
            return failed(format!(
                "cannot re-select columns of {table}: it has no primary key to find the row by (set reselect.use.event.key=true to use the key message.key.columns gives it)"
            ));
        }
        let columns: Vec<String> = wanted
            .iter()
            .map(|&i| db::ident(&t.columns[i].name))
            .collect();
        // Untyped literals take the key columns' own types, as Debezium's `?::<type>` casts do.
        let condition: Vec<String> = keys
            .iter()
            .map(|&i| {
                let value = match tuple.get(i) {
                    Some(TupleValue::Text(s)) => db::literal(s),
                    _ => "NULL".to_string(),
                };
                format!("{} = {value}", db::ident(&t.columns[i].name))
            })
            .collect();
        let sql = format!(
            "SELECT {} FROM {}.{} WHERE {}",
            columns.join(","),
            db::ident(&t.schema_name),
            db::ident(&t.table_name),
            condition.join(" AND ")
        );
        let messages = match client.simple_query(&sql) {
            Ok(m) => m,
            Err(e) => {
                return failed(format!(
                    "failed to re-select columns of {table} for key {}: {e}",
                    key_text()
                ))
            }
        };
        let mut rows = messages.iter().filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(r),
            _ => None,
        });
        let Some(found) = rows.next() else {
            return failed(format!(
                "failed to find row in table {table} with key {}",
                key_text()
            ));
        };
        if rows.next().is_some() {
            tracing::warn!("re-selection found several rows for the same key in table {table}, using the first");
        }
        for (n, &i) in wanted.iter().enumerate() {
            let text = found.get(n);
            let value = t.value_of(i, text, cfg)?;
            let field = t.columns[..i].iter().filter(|c| c.schema.is_some()).count();
            row.values[field] = value;
        }
        Ok(())
    }
}

/// Whether a value is Debezium's unavailable value placeholder as its converters write it
/// for the field's schema: the text, its bytes, a one-entry map of it, hstore's JSON of it,
/// an array holding it, or an integer array of its bytes.
fn is_unavailable(value: &Value, schema: &Schema, placeholder: &str) -> bool {
    if let (SchemaType::Array, Value::Array(items)) = (schema.ty, value) {
        let Some(elem) = schema.value_schema.as_deref() else {
            return false;
        };
        if items
            .iter()
            .any(|v| is_unavailable_scalar(v, elem, placeholder))
        {
            return true;
        }
        let bytes = placeholder.as_bytes();
        return items.len() == bytes.len()
            && match elem.ty {
                SchemaType::Int32 => items
                    .iter()
                    .zip(bytes)
                    .all(|(v, &b)| *v == Value::Int32(b as i8 as i32)),
                SchemaType::Int64 => items
                    .iter()
                    .zip(bytes)
                    .all(|(v, &b)| *v == Value::Int64(b as i8 as i64)),
                _ => false,
            };
    }
    is_unavailable_scalar(value, schema, placeholder)
}

fn is_unavailable_scalar(value: &Value, schema: &Schema, placeholder: &str) -> bool {
    match (schema.ty, value) {
        (SchemaType::Bytes, Value::Bytes(b)) => b == placeholder.as_bytes(),
        (SchemaType::Map, Value::Map(m)) => {
            let ph = Value::String(placeholder.into());
            m.entries.len() == 1 && m.entries[0] == (ph.clone(), ph)
        }
        (SchemaType::String, Value::String(s)) => {
            s == placeholder
                || (schema.name.as_deref() == Some(JSON_NAME)
                    && s.strip_prefix("{\"")
                        .and_then(|r| r.strip_suffix("\"}"))
                        .and_then(|r| r.split_once("\":\""))
                        .is_some_and(|(a, b)| a == placeholder && b == placeholder))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::schemas;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn processors_are_read_in_both_conventions_and_the_rest_refused() {
        let new = values(&[
            ("post.processors", "reselector"),
            ("post.processors.reselector.type", RESELECT_CLASS),
            (
                "post.processors.reselector.reselect.columns.include.list",
                "public.docs:b.*",
            ),
            ("post.processors.reselector.reselect.null.values", "FALSE"),
            (
                "post.processors.reselector.reselect.error.handling.mode",
                "FAIL",
            ),
        ]);
        let r = &post_processors(&new).unwrap()[0];
        assert!(r.fail && r.unavailable && !r.nulls && !r.use_event_key);
        assert!(r.selects("PUBLIC.docs:body") && !r.selects("public.docs:title"));
        let old = values(&[
            ("post.processors", "x"),
            ("x.type", RESELECT_CLASS),
            ("x.reselect.columns.exclude.list", "public.docs:title"),
        ]);
        let r = &post_processors(&old).unwrap()[0];
        assert!(!r.fail && r.selects("public.docs:body") && !r.selects("public.docs:title"));
        assert!(post_processors(&values(&[])).unwrap().is_empty());

        for (bad, key) in [
            (vec![("post.processors", "r")], "post.processors"),
            (
                vec![("post.processors", "r"), ("r.type", "com.example.Other")],
                "r.type",
            ),
            (
                vec![
                    ("post.processors", "r"),
                    ("r.type", RESELECT_CLASS),
                    ("r.reselect.colums.include.list", "x"),
                ],
                "r.reselect.colums.include.list",
            ),
            (
                vec![("post.processors.r.type", RESELECT_CLASS)],
                "post.processors.r.type",
            ),
            (
                vec![
                    ("post.processors", "r"),
                    ("r.type", RESELECT_CLASS),
                    ("r.reselect.error.handling.mode", "skip"),
                ],
                "r.reselect.error.handling.mode",
            ),
            (
                vec![
                    ("post.processors", "r"),
                    ("r.type", RESELECT_CLASS),
                    ("r.reselect.columns.include.list", "a"),
                    ("r.reselect.columns.exclude.list", "b"),
                ],
                "r.reselect.columns.exclude.list",
            ),
        ] {
            let e = post_processors(&values(&bad)).unwrap_err();
            assert_eq!(e.key, key, "{bad:?}: {e}");
        }
    }

    #[test]
    fn an_escaped_comma_stays_in_its_regex() {
        assert_eq!(
            split_regexes(r"public.t:a{1\,2}, public.u:b"),
            vec!["public.t:a{1,2}", " public.u:b"]
        );
    }

    #[test]
    fn placeholders_are_recognised_as_debeziums_converters_write_them() {
        let ph = "__debezium_unavailable_value";
        let string = schemas::optional_string();
        assert!(is_unavailable(&Value::String(ph.into()), &string, ph));
        assert!(!is_unavailable(&Value::String("x".into()), &string, ph));
        let bytes = schemas::optional_bytes();
        assert!(is_unavailable(
            &Value::Bytes(ph.as_bytes().to_vec()),
            &bytes,
            ph
        ));
        let json = Schema::builder(SchemaType::String)
            .name(JSON_NAME)
            .optional()
            .build();
        let hstore = format!("{{\"{ph}\":\"{ph}\"}}");
        assert!(is_unavailable(
            &Value::String(hstore.as_str().into()),
            &json,
            ph
        ));
        assert!(!is_unavailable(
            &Value::String(hstore.as_str().into()),
            &string,
            ph
        ));
        let texts = Schema::array(schemas::optional_string()).optional().build();
        let arr = Value::Array(vec![Value::String("a".into()), Value::String(ph.into())]);
        assert!(is_unavailable(&arr, &texts, ph));
        let ints = Schema::array(schemas::optional_int32()).optional().build();
        let coded = Value::Array(ph.bytes().map(|b| Value::Int32(b as i32)).collect());
        assert!(is_unavailable(&coded, &ints, ph));
        assert!(!is_unavailable(
            &Value::Array(vec![Value::Int32(1)]),
            &ints,
            ph
        ));
    }
}
