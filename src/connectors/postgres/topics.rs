//! Topic names as Debezium 3.6.3's built-in topic naming strategies make them
//! (topic.naming.strategy, topic.delimiter): the table topics, which also name the tables'
//! record schemas, and the transaction and heartbeat topics.

use regex::Regex;

use crate::api::{InvalidConfig, Settings};

/// The strategies kconnect implements, by their class names.
pub const STRATEGIES: &[&str] = &[
    "io.debezium.schema.SchemaTopicNamingStrategy",
    "io.debezium.schema.DefaultTopicNamingStrategy",
    "io.debezium.schema.SchemaUnicodeTopicNamingStrategy",
    "io.debezium.schema.DefaultUnicodeTopicNamingStrategy",
    "io.debezium.schema.SchemaRegexTopicNamingStrategy",
    "io.debezium.schema.DefaultRegexTopicNamingStrategy",
];

/// The regex strategies' rerouting: a table topic the whole of `topic` matches becomes
/// `replacement` (an empty result keeps the topic), and (`key_field`) every key gets a
/// string field naming the physical table: its topic before sanitizing, or what
/// `key_regex`/`key_replacement` make of it.
#[derive(Clone, Debug)]
pub struct Rerouting {
    pub topic: Regex,
    pub replacement: String,
    pub key_field: Option<String>,
    pub key_regex: Option<(Regex, String)>,
}

/// A Java `Matcher` replacement (`$1`, `${name}`, `\$` for a dollar) in the regex crate's
/// syntax: `$1a` is group 1 then `a` in Java, group `1a` in the regex crate.
pub fn java_replacement(java: &str) -> String {
    let mut out = String::with_capacity(java.len() + 4);
    let mut chars = java.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(x) => out.push(x),
                None => {}
            },
            '$' if chars.peek().is_some_and(char::is_ascii_digit) => {
                out.push_str("${");
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    out.push(d);
                    chars.next();
                }
                out.push('}');
            }
            _ => out.push(c),
        }
    }
    out
}

/// Kafka's longest topic name, to which Debezium cuts a table topic.
const MAX_NAME_LENGTH: usize = 249;

#[derive(Clone, Debug)]
pub struct TopicNaming {
    /// `<prefix><d><schema><d><table>` (the Schema strategies) or `<prefix><d><table>` (the
    /// Default ones: a PostgreSQL table id's "database parts" are its table name alone).
    with_schema: bool,
    /// The Unicode strategies write a character Kafka does not allow in a topic name, and `_`,
    /// as `_u` and its UTF-16 code in hex; the others write `_`.
    unicode: bool,
    pub delimiter: String,
    /// The regex strategies.
    pub rerouting: Option<Rerouting>,
}

impl Default for TopicNaming {
    fn default() -> Self {
        TopicNaming {
            with_schema: true,
            unicode: false,
            delimiter: ".".into(),
            rerouting: None,
        }
    }
}

impl TopicNaming {
    /// `None` for a class kconnect does not implement.
    pub fn new(class: &str, delimiter: &str) -> Option<TopicNaming> {
        let class = class.trim();
        let class = class.strip_prefix("class ").unwrap_or(class);
        let (with_schema, unicode) = match class.rsplit('.').next()? {
            "SchemaTopicNamingStrategy" => (true, false),
            "DefaultTopicNamingStrategy" => (false, false),
            "SchemaUnicodeTopicNamingStrategy" => (true, true),
            "DefaultUnicodeTopicNamingStrategy" => (false, true),
            "SchemaRegexTopicNamingStrategy" => (true, false),
            "DefaultRegexTopicNamingStrategy" => (false, false),
            _ => return None,
        };
        STRATEGIES.contains(&class).then(|| TopicNaming {
            with_schema,
            unicode,
            delimiter: delimiter.to_string(),
            rerouting: None,
        })
    }

    /// Whether `class` is one of the regex strategies, which need a `Rerouting`.
    pub fn is_regex(class: &str) -> bool {
        class.trim().ends_with("RegexTopicNamingStrategy")
    }

    /// A table's topic: its parts joined by the delimiter (blank parts left out), then made a
    /// valid topic name.
    pub fn table_topic(&self, prefix: &str, schema: &str, table: &str) -> String {
        let topic = self.sanitized(self.origin(prefix, schema, table));
        let Some(r) = &self.rerouting else {
            return topic;
        };
        match r.topic.captures(&topic) {
            Some(c) if c.get(0).is_some_and(|m| m.len() == topic.len()) => {
                let mut new = String::new();
                c.expand(&r.replacement, &mut new);
                if new.is_empty() {
                    topic
                } else {
                    new
                }
            }
            _ => topic,
        }
    }

    /// The parts of a table's topic joined, blank ones left out (Debezium's `mkString`).
    fn origin(&self, prefix: &str, schema: &str, table: &str) -> String {
        let parts: Vec<&str> = if self.with_schema {
            vec![prefix, schema, table]
        } else {
            vec![prefix, table]
        };
        parts
            .into_iter()
            .filter(|p| !p.trim().is_empty())
            .collect::<Vec<_>>()
            .join(&self.delimiter)
    }

    /// The key field the regex strategies add (topic.key.enforce.uniqueness) and its value for
    /// a table.
    pub fn key_field(&self, prefix: &str, schema: &str, table: &str) -> Option<(&str, String)> {
        let r = self.rerouting.as_ref()?;
        let name = r.key_field.as_deref()?;
        let origin = self.origin(prefix, schema, table);
        let value = match &r.key_regex {
            Some((re, replacement)) => match re.captures(&origin) {
                Some(c) if c.get(0).is_some_and(|m| m.len() == origin.len()) => {
                    let mut v = String::new();
                    c.expand(replacement, &mut v);
                    v
                }
                _ => origin,
            },
            None => origin,
        };
        Some((name, value))
    }

    /// `<prefix><d><name>`, not sanitized, as Debezium's transaction topic.
    pub fn joined(&self, first: &str, second: &str) -> String {
        format!("{first}{}{second}", self.delimiter)
    }

    fn valid(&self, c: u16) -> bool {
        matches!(c, 0x2e /* . */ | 0x2d /* - */)
            || (c == 0x5f /* _ */ && !self.unicode)
            || (u16::from(b'A')..=u16::from(b'Z')).contains(&c)
            || (u16::from(b'a')..=u16::from(b'z')).contains(&c)
            || (u16::from(b'0')..=u16::from(b'9')).contains(&c)
    }

    fn sanitized(&self, name: String) -> String {
        let units: Vec<u16> = name.encode_utf16().collect();
        let mut out = if units.iter().all(|&c| self.valid(c)) {
            name
        } else {
            let mut out = String::with_capacity(name.len() + 8);
            for &c in &units {
                if self.valid(c) {
                    out.push(char::from(c as u8));
                } else if self.unicode {
                    let hex = format!("{c:x}");
                    out.push_str("_u");
                    if hex.len() <= 2 {
                        out.push_str("00");
                    }
                    out.push_str(&hex);
                } else {
                    out.push('_');
                }
            }
            out
        };
        // Every character is ASCII now, so bytes are characters.
        if out.len() > MAX_NAME_LENGTH {
            out.truncate(MAX_NAME_LENGTH);
        } else if out == "." || out == ".." {
            let one = if self.unicode { "_u002e" } else { "_" };
            out = one.repeat(out.len());
        }
        out
    }
}

/// topic.naming.strategy (one of Debezium's built-in classes kconnect implements) and
/// topic.delimiter.
pub fn topic_naming(s: &Settings) -> Result<TopicNaming, InvalidConfig> {
    let class = s
        .string("topic.naming.strategy")
        .unwrap_or_else(|| STRATEGIES[0].to_string());
    let delimiter = s.string("topic.delimiter").unwrap_or_else(|| ".".into());
    let topic_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if delimiter.is_empty() || !delimiter.chars().all(topic_char) {
        return Err(InvalidConfig {
            key: "topic.delimiter".into(),
            value: delimiter,
            reason: "a topic name may hold only the characters [A-Za-z0-9._-]; use one of those"
                .into(),
        });
    }
    let mut naming = TopicNaming::new(&class, &delimiter).ok_or_else(|| InvalidConfig {
        key: "topic.naming.strategy".into(),
        value: class.clone(),
        reason: format!(
            "kconnect implements Debezium's {}; other classes are not implemented: use one of those, or run this connector on Kafka Connect",
            STRATEGIES.join(", ")
        ),
    })?;
    if TopicNaming::is_regex(&class) {
        naming.rerouting = Some(rerouting(s)?);
    }
    Ok(naming)
}

/// The regex strategies' topic.regex, topic.replacement and topic.key.* settings.
fn rerouting(s: &Settings) -> Result<Rerouting, InvalidConfig> {
    let text = |key: &str| {
        s.string(key)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let regex = |key: &str, pattern: &str| {
        Regex::new(pattern).map_err(|e| InvalidConfig {
            key: key.into(),
            value: pattern.into(),
            reason: format!("not a valid regular expression: {e}"),
        })
    };
    let needed = |key: &str, reason: &str| InvalidConfig {
        key: key.into(),
        value: String::new(),
        reason: reason.into(),
    };
    let topic = text("topic.regex").ok_or_else(|| {
        needed(
            "topic.regex",
            "the regex topic naming strategies need it: set it",
        )
    })?;
    let replacement = text("topic.replacement").ok_or_else(|| {
        needed(
            "topic.replacement",
            "must be non-empty if topic.regex is set",
        )
    })?;
    let key_regex = match text("topic.key.field.regex") {
        Some(p) => {
            let r = text("topic.key.field.replacement").ok_or_else(|| {
                needed(
                    "topic.key.field.replacement",
                    "must be non-empty if topic.key.field.regex is set",
                )
            })?;
            Some((regex("topic.key.field.regex", &p)?, java_replacement(&r)))
        }
        None => None,
    };
    Ok(Rerouting {
        topic: regex("topic.regex", &topic)?,
        replacement: java_replacement(&replacement),
        key_field: s.bool("topic.key.enforce.uniqueness")?.then(|| {
            s.string("topic.key.field.name")
                .unwrap_or_else(|| "__dbz__physicalTableIdentifier".into())
        }),
        key_regex,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naming(class: &str, d: &str) -> TopicNaming {
        TopicNaming::new(&format!("io.debezium.schema.{class}"), d).unwrap()
    }

    #[test]
    fn table_topics_as_debeziums_strategies_make_them() {
        let schema = naming("SchemaTopicNamingStrategy", ".");
        assert_eq!(
            schema.table_topic("dbserver1", "public", "Odd$Name"),
            "dbserver1.public.Odd_Name"
        );
        assert_eq!(schema.table_topic("p", "s", "snake_case"), "p.s.snake_case");
        let default = naming("DefaultTopicNamingStrategy", "_");
        assert_eq!(
            default.table_topic("dbserver1", "public", "Odd$Name"),
            "dbserver1_Odd_Name"
        );
        assert_eq!(
            default.joined("dbserver1", "transaction"),
            "dbserver1_transaction"
        );
        let unicode = naming("SchemaUnicodeTopicNamingStrategy", "-");
        assert_eq!(
            unicode.table_topic("dbserver1", "public", "snake_case"),
            "dbserver1-public-snake_u005fcase"
        );
        assert_eq!(unicode.table_topic("p", "s", "a\tb"), "p-s-a_u009b");
        assert_eq!(
            unicode.table_topic("p", "s", "größe"),
            "p-s-gr_u00f6_u00dfe"
        );
        let long = "t".repeat(300);
        assert_eq!(schema.table_topic("p", "s", &long).len(), 249);
    }

    #[test]
    fn other_classes_are_not_implemented() {
        assert!(TopicNaming::new("com.example.SchemaTopicNamingStrategy", ".").is_none());
    }

    #[test]
    fn java_replacements_become_the_regex_crates() {
        assert_eq!(java_replacement("$1.orders_all"), "${1}.orders_all");
        assert_eq!(java_replacement("$1a${x}\\$"), "${1}a${x}$$");
    }

    #[test]
    fn regex_strategies_reroute_whole_topics_and_name_the_physical_table() {
        let mut n = naming("DefaultRegexTopicNamingStrategy", ".");
        n.rerouting = Some(Rerouting {
            topic: Regex::new(r"(.*)\.orders_(.*)").unwrap(),
            replacement: "${1}.orders_all".into(),
            key_field: Some("__dbz__physicalTableIdentifier".into()),
            key_regex: None,
        });
        assert_eq!(n.table_topic("p", "s", "orders_eu"), "p.orders_all");
        assert_eq!(n.table_topic("p", "s", "a"), "p.a");
        assert_eq!(
            n.key_field("p", "s", "orders_eu"),
            Some(("__dbz__physicalTableIdentifier", "p.orders_eu".into()))
        );
    }
}
