//! Debezium's column transformations (its `ColumnMappers`): `column.truncate.to.N.chars`,
//! `column.mask.with.N.chars`, `column.mask.hash.ALGORITHM.with.salt.SALT` and
//! `column.mask.hash.v2.ALGORITHM.with.salt.SALT`, each a list of regexes of
//! `schema.table.column`. The settings are read once; each table schema resolves them to one
//! `Mapper` per column (regexes matched once per schema, never per record).
//!
//! What Debezium 3.6.3 does, read from its classes and checked against its output
//! (tests/fixtures/postgres-columns):
//! - One rule per column: the first that matches (truncate, then mask, then hash, then hash v2).
//!   kconnect refuses a column matched by two of these settings instead, since which one
//!   Debezium picks among settings of one kind depends on its configuration's key order.
//! - The rules change the value's field schema and values (before and after), never the key:
//!   Debezium builds the key without them, so a key column would reach the topic in clear.
//!   kconnect refuses to mask or hash a key column rather than write it unmasked.
//! - Masking (fixed or hashed) applies to character columns only (Debezium's JDBC types CHAR
//!   and VARCHAR: text, varchar, char, name); other columns are passed through, yet their
//!   schema gets the `masked=true` parameter all the same.
//! - `column.mask.with.N.chars` replaces every value, null included, by N asterisks.
//! - Hashing: the salt's UTF-8 bytes, then the value's bytes, into the digest; the digest as
//!   lower-case hex, cut to the column's length when it has one (varchar(n), char(n)). The
//!   value's bytes: v1 hashes Java's serialization of the string (ObjectOutputStream: AC ED 00
//!   05, 74, u16 length, modified UTF-8), v2 its UTF-8 bytes. Nulls stay null.
//! - Truncation cuts strings (in UTF-16 code units, as Java's substring) and byte arrays to
//!   N when the column may be longer than N (no length, or a longer one), and then adds the
//!   `truncateLength=N` parameter to the schema.

use regex::Regex;

use super::types::PgType;
use crate::data::Value;

/// A Java MessageDigest algorithm kconnect implements, by the names Java accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlgorithm {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
    Sha3_224,
    Sha3_256,
    Sha3_384,
    Sha3_512,
}

impl HashAlgorithm {
    /// Java's standard names and the SUN provider's aliases, case-insensitively.
    pub fn parse(name: &str) -> Option<HashAlgorithm> {
        use HashAlgorithm as H;
        Some(match name.to_ascii_uppercase().as_str() {
            "MD5" => H::Md5,
            "SHA-1" | "SHA1" | "SHA" => H::Sha1,
            "SHA-224" | "SHA224" => H::Sha224,
            "SHA-256" | "SHA256" => H::Sha256,
            "SHA-384" | "SHA384" => H::Sha384,
            "SHA-512" | "SHA512" => H::Sha512,
            "SHA3-224" => H::Sha3_224,
            "SHA3-256" => H::Sha3_256,
            "SHA3-384" => H::Sha3_384,
            "SHA3-512" => H::Sha3_512,
            _ => return None,
        })
    }

    fn digest(self) -> openssl::hash::MessageDigest {
        use openssl::hash::MessageDigest as M;
        match self {
            HashAlgorithm::Md5 => M::md5(),
            HashAlgorithm::Sha1 => M::sha1(),
            HashAlgorithm::Sha224 => M::sha224(),
            HashAlgorithm::Sha256 => M::sha256(),
            HashAlgorithm::Sha384 => M::sha384(),
            HashAlgorithm::Sha512 => M::sha512(),
            HashAlgorithm::Sha3_224 => M::sha3_224(),
            HashAlgorithm::Sha3_256 => M::sha3_256(),
            HashAlgorithm::Sha3_384 => M::sha3_384(),
            HashAlgorithm::Sha3_512 => M::sha3_512(),
        }
    }
}

/// What one setting does to the columns it matches.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Truncate(usize),
    Mask(usize),
    Hash {
        algorithm: HashAlgorithm,
        salt: String,
        v2: bool,
    },
    /// column.propagate.source.type (regexes of schema.table.column).
    PropagateColumn,
    /// datatype.propagate.source.type (regexes of schema.table.typename).
    PropagateType,
}

/// One `column.*` transformation setting.
#[derive(Clone, Debug)]
pub struct Rule {
    pub key: String,
    pub columns: Vec<Regex>,
    pub action: Action,
}

/// A column-transformation key: `Ok(None)` when `key` is none, `Err` when it is one kconnect
/// cannot run (an unknown hash algorithm).
pub fn parse_key(key: &str) -> Result<Option<Action>, String> {
    let number = |rest: &str, suffix: &str| -> Option<usize> {
        let n = rest.strip_suffix(suffix)?;
        (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .then(|| n.parse().ok())
            .flatten()
    };
    if let Some(rest) = key.strip_prefix("column.truncate.to.") {
        return Ok(number(rest, ".chars").map(Action::Truncate));
    }
    if let Some(rest) = key.strip_prefix("column.mask.with.") {
        return Ok(number(rest, ".chars").map(Action::Mask));
    }
    let Some(rest) = key.strip_prefix("column.mask.hash.") else {
        return Ok(None);
    };
    // Debezium's patterns: v1 `([^.]+)\.with\.salt\.(.+)` after the prefix, v2 the same after
    // `v2.`; a key that is both (algorithm "v2") is both, as in Debezium.
    let split = |s: &str| -> Option<(String, String)> {
        let dot = s.find('.')?;
        let (algorithm, tail) = (&s[..dot], &s[dot..]);
        let salt = tail.strip_prefix(".with.salt.")?;
        (!algorithm.is_empty() && !salt.is_empty()).then(|| (algorithm.into(), salt.into()))
    };
    let (v2, parts) = match rest.strip_prefix("v2.").and_then(split) {
        Some(p) => (true, p),
        None => match split(rest) {
            Some(p) => (false, p),
            None => return Ok(None),
        },
    };
    let (name, salt) = parts;
    let algorithm = HashAlgorithm::parse(&name).ok_or_else(|| {
        format!("hash algorithm {name} is not one kconnect implements (MD5, SHA-1, SHA-224, SHA-256, SHA-384, SHA-512, SHA3-224, SHA3-256, SHA3-384, SHA3-512)")
    })?;
    Ok(Some(Action::Hash {
        algorithm,
        salt,
        v2,
    }))
}

/// How a column's values are changed, resolved once per table schema.
#[derive(Clone, Debug)]
pub enum Mapper {
    Truncate(usize),
    Mask(Box<str>),
    Hash {
        algorithm: HashAlgorithm,
        salt: Box<[u8]>,
        v2: bool,
        /// The column's length, to which Debezium cuts the hex digest.
        cut: Option<usize>,
    },
}

/// Debezium's `Column.length()` of a PostgreSQL column (`None`: none, or not one kconnect
/// knows), as its `__debezium.source.column.length` parameter shows it.
/// Checked against tests/fixtures/postgres-propagate; `None` where kconnect has not checked.
/// `streaming`: the schema comes from a pgoutput relation message, where Debezium's numeric
/// without precision has length 131089 (0 when the snapshot reads the catalog).
pub fn column_length(ty: &PgType, oid: u32, typmod: i32, streaming: bool) -> Option<i32> {
    const MAX: i32 = i32::MAX;
    // time, timetz, timestamp and timestamptz: the text's length, with the fraction's digits.
    let fraction = |base: i32| match typmod {
        -1 => Some(base + 7),
        2..=6 => Some(base + typmod + 1),
        _ => None,
    };
    Some(match ty {
        PgType::Bool | PgType::Bit1 => 1,
        PgType::Int2 => 5,
        PgType::Int4 => 10,
        PgType::Int8 if oid == 26 => return None,
        PgType::Int8 => 19,
        PgType::Float4 => 8,
        PgType::Float8 => 17,
        PgType::Numeric { precision, .. } => *precision,
        PgType::NumericVar if streaming => 131_089,
        PgType::NumericVar => 0,
        PgType::Money | PgType::Bytea | PgType::Uuid | PgType::Json | PgType::Xml => MAX,
        PgType::ByteaText(_) | PgType::Hstore { .. } => MAX,
        PgType::IntervalString if typmod == -1 => 49,
        PgType::IntervalString => return None,
        PgType::Enum { .. } => MAX,
        PgType::Text => match oid {
            25 | 19 | 869 | 650 => MAX,
            1043 | 1042 if typmod >= 4 => typmod - 4,
            1043 => MAX,
            _ => return None,
        },
        PgType::Date | PgType::ConnectDate | PgType::IsoDate => 13,
        PgType::Time { .. } | PgType::ConnectTime | PgType::IsoTime => fraction(8)?,
        PgType::TimeTz => fraction(14)?,
        PgType::Timestamp { .. } | PgType::ConnectTimestamp | PgType::IsoTimestamp => fraction(22)?,
        PgType::TimestampTz | PgType::TimestampTzDigits(_) => fraction(28)?,
        PgType::Interval if typmod == -1 => 49,
        PgType::Interval => return None,
        PgType::Bits { .. } if typmod < 0 => MAX,
        PgType::Bits { .. } => typmod,
        PgType::StreamedName => MAX,
        PgType::Point
        | PgType::Postgis { .. }
        | PgType::Ltree
        | PgType::Tsvector
        | PgType::TextNoDefault
        | PgType::OpaqueBytes(..)
        | PgType::Unknown(_)
        | PgType::Unsupported
        | PgType::Unimplemented(_) => return None,
        // An array's is its element type's (int[]: 10, text[]: unbounded).
        PgType::Array(elem) => match &**elem {
            PgType::Text if typmod < 0 => MAX,
            PgType::Text => return None,
            e => column_length(e, 0, typmod, streaming)?,
        },
    })
}

/// Whether Debezium's masking applies to values of this type (its JDBC type is CHAR or
/// VARCHAR): `Some(true)` for text, varchar, char, "char", name and enums, `Some(false)` for
/// the other types, `None` for domains and types kconnect has not checked.
fn character_type(ty: &PgType, oid: u32) -> Option<bool> {
    match (ty, oid) {
        (PgType::Text, 25 | 1043 | 1042 | 19 | 18) | (PgType::Enum { .. }, _) => Some(true),
        (PgType::Text, 869 | 650 | 829 | 774) => Some(false),
        (PgType::StreamedName, _) => Some(true),
        (PgType::Text | PgType::TextNoDefault | PgType::Ltree | PgType::Tsvector, _) => None,
        _ => Some(false),
    }
}

/// What a setting does to one column: how its values change (`None`: they pass unchanged)
/// and the parameters its field schema gets.
pub struct Applied {
    pub mapper: Option<Mapper>,
    pub parameters: Vec<(&'static str, String)>,
}

/// A column as the settings see it.
pub struct ColumnInfo<'a> {
    /// schema.table
    pub table: &'a str,
    pub name: &'a str,
    /// Debezium's `Column.typeName()` (lower case, `serial` in snapshots).
    pub type_name: &'a str,
    pub ty: &'a PgType,
    pub oid: u32,
    pub typmod: i32,
    /// From a pgoutput relation message (else from the catalog, as in snapshots).
    pub streaming: bool,
    pub is_key: bool,
}

/// Debezium's `Column.scale()` (`Some(None)`: none), as its `__debezium.source.column.scale`
/// parameter shows it (tests/fixtures/postgres-propagate); `None` where kconnect has not
/// checked.
pub fn column_scale(ty: &PgType, typmod: i32, streaming: bool) -> Option<Option<i32>> {
    let fraction = match typmod {
        -1 => Some(6),
        2..=6 => Some(typmod),
        _ => None,
    };
    Some(match ty {
        PgType::Float4 => Some(8),
        PgType::Float8 => Some(17),
        PgType::Numeric { scale, .. } => Some(*scale),
        PgType::NumericVar => streaming.then_some(0),
        PgType::Time { .. }
        | PgType::TimeTz
        | PgType::Timestamp { .. }
        | PgType::TimestampTz
        | PgType::TimestampTzDigits(_)
        | PgType::ConnectTime
        | PgType::ConnectTimestamp => Some(fraction?),
        PgType::Interval | PgType::IntervalString if typmod == -1 => Some(6),
        PgType::Interval | PgType::IntervalString => return None,
        PgType::Array(elem) => match column_scale(elem, typmod, streaming)? {
            Some(0) => Some(0),
            _ => return None,
        },
        _ => Some(0),
    })
}

/// The one transformation of a column named `full` (schema.table.column) and the schema
/// parameter it adds, or `None` when no setting names it.
pub fn for_column(rules: &[Rule], c: &ColumnInfo<'_>) -> Result<Option<Applied>, String> {
    let ColumnInfo {
        ty,
        oid,
        typmod,
        streaming,
        is_key,
        ..
    } = *c;
    let full = format!("{}.{}", c.table, c.name);
    let full = full.as_str();
    let by_type = format!("{}.{}", c.table, c.type_name);
    let mut matching = rules.iter().filter(|r| {
        let target = match r.action {
            Action::PropagateType => by_type.as_str(),
            _ => full,
        };
        r.columns.iter().any(|re| re.is_match(target))
    });
    let Some(rule) = matching.next() else {
        return Ok(None);
    };
    let propagates = |r: &Rule| matches!(r.action, Action::PropagateColumn | Action::PropagateType);
    // Both propagation settings add the same parameters; any other pair differs.
    if let Some(other) = matching.find(|o| !(propagates(rule) && propagates(o))) {
        return Err(format!(
            "column {full} is named by both {} and {}; Debezium applies only one of them (which one depends on its configuration's key order), so kconnect refuses: name each column in one of the column.truncate, column.mask and propagate settings only",
            rule.key, other.key
        ));
    }
    let masks = matches!(rule.action, Action::Mask(_) | Action::Hash { .. });
    if masks && is_key {
        return Err(format!(
            "column {full} is part of the message key and {} would mask it; Debezium masks values only and writes the key unmasked, so kconnect refuses rather than put it in the topic in clear: leave it out of the setting, or pick other key columns with message.key.columns",
            rule.key
        ));
    }
    let length = column_length(ty, oid, typmod, streaming);
    let unknown = || {
        format!(
            "column {full} (type OID {oid}) is named by {}, and kconnect does not know yet how Debezium treats columns of its type: leave it out of the setting",
            rule.key
        )
    };
    let (mapper, parameter) = match &rule.action {
        Action::PropagateColumn | Action::PropagateType => {
            let (Some(length), Some(scale)) = (
                column_length(ty, oid, typmod, streaming),
                column_scale(ty, typmod, streaming),
            ) else {
                return Err(unknown());
            };
            if c.type_name.is_empty() {
                return Err(unknown());
            }
            let mut parameters = vec![
                (
                    "__debezium.source.column.type",
                    c.type_name.to_ascii_uppercase(),
                ),
                ("__debezium.source.column.length", length.to_string()),
            ];
            if let Some(scale) = scale {
                parameters.push(("__debezium.source.column.scale", scale.to_string()));
            }
            parameters.push(("__debezium.source.column.name", c.name.to_string()));
            return Ok(Some(Applied {
                mapper: None,
                parameters,
            }));
        }
        Action::Truncate(n) => {
            let Some(length) = length else {
                return Err(unknown());
            };
            if length < 0 || length as i64 > *n as i64 {
                (
                    Some(Mapper::Truncate(*n)),
                    Some(("truncateLength", n.to_string())),
                )
            } else {
                (None, None)
            }
        }
        Action::Mask(n) => {
            let character = character_type(ty, oid).ok_or_else(unknown)?;
            (
                character.then(|| Mapper::Mask("*".repeat(*n).into())),
                Some(("masked", "true".into())),
            )
        }
        Action::Hash {
            algorithm,
            salt,
            v2,
        } => {
            let character = character_type(ty, oid).ok_or_else(unknown)?;
            let cut = match length {
                Some(l) if l > 0 => Some(l as usize),
                Some(_) => None,
                None if character => return Err(unknown()),
                None => None,
            };
            (
                character.then(|| Mapper::Hash {
                    algorithm: *algorithm,
                    salt: salt.as_bytes().into(),
                    v2: *v2,
                    cut,
                }),
                Some(("masked", "true".into())),
            )
        }
    };
    Ok(Some(Applied {
        mapper,
        parameters: parameter.into_iter().collect(),
    }))
}

impl Mapper {
    /// The value as Debezium writes it.
    pub fn apply(&self, v: Value) -> Value {
        match self {
            Mapper::Mask(m) => Value::String((**m).into()),
            Mapper::Truncate(n) => match v {
                Value::String(s) => match utf16_prefix(&s, *n) {
                    Some(cut) => Value::String(cut.into()),
                    None => Value::String(s),
                },
                Value::Bytes(mut b) if b.len() > *n => {
                    b.truncate(*n);
                    Value::Bytes(b)
                }
                other => other,
            },
            Mapper::Hash {
                algorithm,
                salt,
                v2,
                cut,
            } => match v {
                Value::String(s) => {
                    let mut hex = hash_hex(*algorithm, salt, &s, *v2);
                    if let Some(l) = cut {
                        hex.truncate(*l);
                    }
                    Value::String(hex.into())
                }
                // Debezium hashes any Serializable value; only strings reach it here.
                Value::Null => Value::Null,
                other => other,
            },
        }
    }
}

/// `s` cut to `n` UTF-16 code units, as Java's `substring(0, n)`, or `None` when it is not
/// longer. Where the cut goes through a surrogate pair Java keeps the lone high surrogate
/// (Debezium's JSON then carries `\ud83d`), which a Rust string cannot hold: kconnect writes
/// U+FFFD in its place.
fn utf16_prefix(s: &str, n: usize) -> Option<String> {
    let mut units = 0usize;
    for (i, c) in s.char_indices() {
        let w = c.len_utf16();
        if units + w > n {
            let mut out = s[..i].to_string();
            if units < n {
                // Half of a surrogate pair: Java keeps the lone high surrogate.
                out.push(char::REPLACEMENT_CHARACTER);
            }
            return Some(out);
        }
        units += w;
    }
    None
}

/// The lower-case hex digest Debezium's `HashValueConverter` makes of a string.
pub fn hash_hex(algorithm: HashAlgorithm, salt: &[u8], value: &str, v2: bool) -> String {
    let mut h = openssl::hash::Hasher::new(algorithm.digest()).expect("digest available");
    h.update(salt).expect("digest");
    if v2 {
        h.update(value.as_bytes()).expect("digest");
    } else {
        h.update(&java_serialized(value)).expect("digest");
    }
    let digest = h.finish().expect("digest");
    super::types::lower_hex(&digest)
}

/// `new ObjectOutputStream(out).writeObject(s)`'s bytes: the stream header, then TC_STRING
/// with a u16 length (TC_LONGSTRING with a u64 length past 65535 bytes) and the modified
/// UTF-8 of the string (U+0000 as C0 80, each surrogate of a pair as three bytes).
pub fn java_serialized(s: &str) -> Vec<u8> {
    let mut utf = Vec::with_capacity(s.len() + 8);
    for u in s.encode_utf16() {
        match u {
            0x0001..=0x007f => utf.push(u as u8),
            0x0000 | 0x0080..=0x07ff => {
                utf.push(0xc0 | (u >> 6) as u8);
                utf.push(0x80 | (u & 0x3f) as u8);
            }
            _ => {
                utf.push(0xe0 | (u >> 12) as u8);
                utf.push(0x80 | ((u >> 6) & 0x3f) as u8);
                utf.push(0x80 | (u & 0x3f) as u8);
            }
        }
    }
    let mut out = Vec::with_capacity(utf.len() + 13);
    out.extend_from_slice(&[0xac, 0xed, 0x00, 0x05]);
    if utf.len() <= 0xffff {
        out.push(0x74);
        out.extend_from_slice(&(utf.len() as u16).to_be_bytes());
    } else {
        out.push(0x7c);
        out.extend_from_slice(&(utf.len() as u64).to_be_bytes());
    }
    out.extend_from_slice(&utf);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_debeziums() {
        assert_eq!(
            parse_key("column.truncate.to.20.chars").unwrap(),
            Some(Action::Truncate(20))
        );
        assert_eq!(
            parse_key("column.mask.with.0.chars").unwrap(),
            Some(Action::Mask(0))
        );
        assert_eq!(
            parse_key("column.mask.hash.SHA-256.with.salt.a.b").unwrap(),
            Some(Action::Hash {
                algorithm: HashAlgorithm::Sha256,
                salt: "a.b".into(),
                v2: false
            })
        );
        assert_eq!(
            parse_key("column.mask.hash.v2.md5.with.salt.x").unwrap(),
            Some(Action::Hash {
                algorithm: HashAlgorithm::Md5,
                salt: "x".into(),
                v2: true
            })
        );
        assert!(parse_key("column.mask.hash.MD2.with.salt.x").is_err());
        assert_eq!(parse_key("column.mask.with.x.chars").unwrap(), None);
        assert_eq!(parse_key("column.include.list").unwrap(), None);
    }

    #[test]
    fn java_serialization_of_strings() {
        assert_eq!(
            java_serialized("ab"),
            [0xac, 0xed, 0, 5, 0x74, 0, 2, b'a', b'b']
        );
        // ü is two bytes, 😀 two surrogates of three bytes each.
        assert_eq!(
            java_serialized("ü😀")[4..],
            [0x74, 0, 8, 0xc3, 0xbc, 0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80]
        );
        let long = "x".repeat(70_000);
        assert_eq!(
            java_serialized(&long)[4..13],
            [0x7c, 0, 0, 0, 0, 0, 1, 0x11, 0x70]
        );
    }

    #[test]
    fn truncation_counts_utf16_units() {
        assert_eq!(utf16_prefix("abcdef", 4).as_deref(), Some("abcd"));
        assert_eq!(utf16_prefix("abcd", 4), None);
        assert_eq!(utf16_prefix("a😀b", 3).as_deref(), Some("a😀"));
        assert_eq!(utf16_prefix("abc😀", 4).as_deref(), Some("abc\u{fffd}"));
    }
}
