//! Debezium's `schema.name.adjustment.mode` and `field.name.adjustment.mode`: table and column
//! names that Avro would refuse (a dash, a space, a leading digit, non-ASCII) rewritten into
//! valid Avro names, character by character, exactly as Debezium's `SchemaNameAdjuster` does,
//! so that the schemas a registry holds for a topic are the ones Debezium registered.
//!
//! Debezium's rules, quirks included: a schema name keeps its dots (it is a full name) and a
//! field name does not; `avro` replaces each invalid character with `_` (and keeps a leading
//! digit after it: `1a` becomes `_1a`); `avro_unicode` replaces it with `_u` and its UTF-16
//! code in lower-case hex, padded with `00` only when it has at most two digits (so `\t` is
//! `_u009`), and treats `_` itself as invalid (the escape character). Two different names that
//! become the same schema name are an error, as in Debezium; for field names too.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adjustment {
    None,
    Avro,
    AvroUnicode,
}

impl Adjustment {
    pub fn parse(mode: &str) -> Adjustment {
        match mode {
            "avro" => Adjustment::Avro,
            "avro_unicode" => Adjustment::AvroUnicode,
            _ => Adjustment::None,
        }
    }
}

/// The two adjusters of one connector, with what each has replaced so far (Debezium keeps
/// this per adjuster, to warn once per name and to catch two names that collide).
#[derive(Debug)]
pub struct NameAdjusters {
    schema: Adjustment,
    field: Adjustment,
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    /// replacement -> original, per kind (schema names, field names)
    schema: HashMap<String, String>,
    field: HashMap<String, String>,
}

impl NameAdjusters {
    pub fn new(schema: Adjustment, field: Adjustment) -> NameAdjusters {
        NameAdjusters {
            schema,
            field,
            seen: Mutex::new(Seen::default()),
        }
    }

    /// A record schema name (`prefix.schema.table.Value` and the like).
    pub fn schema_name<'a>(&self, name: &'a str) -> Result<Cow<'a, str>, String> {
        let adjusted = adjust(name, self.schema, true);
        self.note(name, adjusted, true)
    }

    /// A key or value field name (a column's name).
    pub fn field_name<'a>(&self, name: &'a str) -> Result<Cow<'a, str>, String> {
        let adjusted = adjust(name, self.field, false);
        self.note(name, adjusted, false)
    }

    fn note<'a>(
        &self,
        original: &str,
        adjusted: Cow<'a, str>,
        schema: bool,
    ) -> Result<Cow<'a, str>, String> {
        let Cow::Owned(replacement) = adjusted else {
            return Ok(adjusted);
        };
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let map = if schema {
            &mut seen.schema
        } else {
            &mut seen.field
        };
        match map.get(&replacement) {
            Some(other) if other != original => {
                let what = if schema { "schema" } else { "field" };
                return Err(format!(
                    "the {what} name '{original}' is not a valid Avro name and its replacement '{replacement}' \
                     (schema.name.adjustment.mode / field.name.adjustment.mode) is also the replacement of \
                     '{other}'; rename one of them, or set the mode to none"
                ));
            }
            Some(_) => {}
            None => {
                tracing::warn!(
                    "The Kafka Connect {} name '{original}' is not a valid Avro name, so replacing with '{replacement}'",
                    if schema { "schema" } else { "field" }
                );
                map.insert(replacement.clone(), original.to_string());
            }
        }
        Ok(Cow::Owned(replacement))
    }
}

fn valid_first(c: u16, mode: Adjustment) -> bool {
    let letter = (u16::from(b'a')..=u16::from(b'z')).contains(&c)
        || (u16::from(b'A')..=u16::from(b'Z')).contains(&c);
    letter || (c == u16::from(b'_') && mode != Adjustment::AvroUnicode)
}

fn valid_next(c: u16, mode: Adjustment, full_name: bool) -> bool {
    valid_first(c, mode)
        || (u16::from(b'0')..=u16::from(b'9')).contains(&c)
        || (full_name && c == u16::from(b'.'))
}

/// Java walks the name's UTF-16 units: a character outside the BMP is two replacements.
fn adjust(name: &str, mode: Adjustment, full_name: bool) -> Cow<'_, str> {
    if mode == Adjustment::None || name.is_empty() {
        return Cow::Borrowed(name);
    }
    let units: Vec<u16> = name.encode_utf16().collect();
    let valid = |i: usize, c: u16| {
        if i == 0 {
            valid_first(c, mode)
        } else {
            valid_next(c, mode, full_name)
        }
    };
    if units.iter().enumerate().all(|(i, &c)| valid(i, c)) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 8);
    for (i, &c) in units.iter().enumerate() {
        if valid(i, c) {
            out.push(char::from(c as u8));
            continue;
        }
        match mode {
            Adjustment::AvroUnicode => {
                let hex = format!("{c:x}");
                out.push_str("_u");
                if hex.len() <= 2 {
                    out.push_str("00");
                }
                out.push_str(&hex);
            }
            _ => {
                out.push('_');
                // Keeps `1a` and `2a` apart.
                if i == 0 && (u16::from(b'0')..=u16::from(b'9')).contains(&c) {
                    out.push(char::from(c as u8));
                }
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(mode: Adjustment, s: &str) -> String {
        adjust(s, mode, true).into_owned()
    }

    fn field(mode: Adjustment, s: &str) -> String {
        adjust(s, mode, false).into_owned()
    }

    #[test]
    fn avro_replaces_invalid_characters_with_underscores() {
        use Adjustment::Avro;
        assert_eq!(
            schema(Avro, "db.public.my-table.Value"),
            "db.public.my_table.Value"
        );
        assert_eq!(field(Avro, "a.b"), "a_b");
        assert_eq!(field(Avro, "1st"), "_1st");
        assert_eq!(field(Avro, "ok_name9"), "ok_name9");
        assert_eq!(field(Avro, "größe"), "gr__e");
        assert_eq!(field(Avro, "😀"), "__");
    }

    #[test]
    fn avro_unicode_escapes_utf16_units_and_underscores() {
        use Adjustment::AvroUnicode;
        assert_eq!(field(AvroUnicode, "my_col"), "my_u005fcol");
        assert_eq!(field(AvroUnicode, "a-b"), "a_u002db");
        assert_eq!(field(AvroUnicode, "1a"), "_u0031a");
        assert_eq!(field(AvroUnicode, "a\tb"), "a_u009b");
        assert_eq!(field(AvroUnicode, "größe"), "gr_u00f6_u00dfe");
        assert_eq!(schema(AvroUnicode, "p.s.t_1.Key"), "p.s.t_u005f1.Key");
    }

    #[test]
    fn none_keeps_names() {
        assert!(matches!(
            adjust("my-table", Adjustment::None, true),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn two_names_with_one_replacement_are_an_error() {
        let a = NameAdjusters::new(Adjustment::Avro, Adjustment::Avro);
        assert_eq!(a.field_name("a-b").unwrap(), "a_b");
        assert_eq!(a.field_name("a-b").unwrap(), "a_b");
        let e = a.field_name("a b").unwrap_err();
        assert!(e.contains("'a b'") && e.contains("'a-b'"), "{e}");
        // A name that is valid as it is collides with nothing.
        assert_eq!(a.field_name("a_b").unwrap(), "a_b");
    }
}
