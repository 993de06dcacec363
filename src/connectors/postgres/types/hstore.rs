//! hstore values (hstore.handling.mode): PostgreSQL's text output read into key/value pairs,
//! then written as Debezium writes them: a `io.debezium.data.Json` string (json) or a Connect
//! map of strings (map). Debezium reads an hstore into a Java `HashMap`, so both forms list
//! the pairs in that map's iteration order, not hstore's own.

use crate::data::java_string::{hash_map_order, in_order};
use crate::data::Value;

/// Parses hstore's text output: `"k"=>"v", "k2"=>NULL`, keys and values double-quoted with `\"`
/// and `\\` escapes (unquoted words are accepted too, as hstore's input reads them).
pub fn parse(text: &str) -> Option<Vec<(String, Option<String>)>> {
    let mut pairs = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let (key, after) = token(rest)?;
        let key = key?;
        let after = after.trim_start().strip_prefix("=>")?.trim_start();
        let (value, after) = token(after)?;
        pairs.push((key, value));
        rest = after.trim_start();
        if let Some(r) = rest.strip_prefix(',') {
            rest = r.trim_start();
        } else if !rest.is_empty() {
            return None;
        }
    }
    Some(pairs)
}

/// One key or value and what follows it; `None` inside for an unquoted NULL.
fn token(s: &str) -> Option<(Option<String>, &str)> {
    if let Some(quoted) = s.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => out.push(chars.next()?.1),
                '"' => return Some((Some(out), &quoted[i + 1..])),
                c => out.push(c),
            }
        }
        return None;
    }
    let end = s
        .find(|c: char| c.is_whitespace() || c == ',' || c == '=')
        .unwrap_or(s.len());
    let word = &s[..end];
    if word.is_empty() {
        return None;
    }
    let value = (!word.eq_ignore_ascii_case("NULL")).then(|| word.to_string());
    Some((value, &s[end..]))
}

/// The pairs in the order a Java `HashMap` of them iterates.
fn java_order(pairs: Vec<(String, Option<String>)>) -> Vec<(Value, Value)> {
    let entries: Vec<(Value, Value)> = pairs
        .into_iter()
        .map(|(k, v)| {
            (
                Value::String(k.into()),
                v.map_or(Value::Null, |v| Value::String(v.into())),
            )
        })
        .collect();
    let order = hash_map_order(&entries);
    in_order(entries, order)
}

/// hstore.handling.mode=map: a Connect map of strings.
pub fn to_map(text: &str) -> Option<Value> {
    Some(Value::Map(crate::data::Map::linked(java_order(parse(
        text,
    )?))))
}

/// hstore.handling.mode=json: the map as compact JSON text, as Debezium's ObjectMapper writes
/// it into a String (characters outside the BMP raw).
pub fn to_json(text: &str) -> Option<Value> {
    let mut out = Vec::with_capacity(text.len() + 2);
    out.push(b'{');
    for (i, (k, v)) in java_order(parse(text)?).iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if let Value::String(k) = k {
            crate::data::json::write_str_as_java_string(&mut out, k);
        }
        out.push(b':');
        match v {
            Value::String(v) => crate::data::json::write_str_as_java_string(&mut out, v),
            _ => out.extend_from_slice(b"null"),
        }
    }
    out.push(b'}');
    Some(Value::String(String::from_utf8(out).ok()?.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_hstore_output_with_escapes_and_nulls() {
        let p = parse(r#""a"=>"1", "b"=>NULL, "c d"=>"x\"y", "ü"=>"\\""#).unwrap();
        assert_eq!(
            p,
            [
                ("a".into(), Some("1".into())),
                ("b".into(), None),
                ("c d".into(), Some("x\"y".into())),
                ("ü".into(), Some("\\".into())),
            ]
        );
        assert_eq!(parse("").unwrap(), []);
        assert!(parse(r#""a"=>"1" "b""#).is_none());
    }

    #[test]
    fn json_lists_pairs_in_java_hash_map_order() {
        // hstore's own order is by key length (a, b, ü, c d); Java's HashMap puts "c d"
        // (bucket 6) before "ü" (bucket 12), as the real Debezium writes it.
        let v = to_json(r#""a"=>"1", "b"=>NULL, "ü"=>"\\", "c d"=>"x\"y""#).unwrap();
        assert_eq!(
            v,
            Value::String(r#"{"a":"1","b":null,"c d":"x\"y","ü":"\\"}"#.into())
        );
    }
}
