//! Topic names as Debezium 3.6.3's built-in topic naming strategies make them
//! (topic.naming.strategy, topic.delimiter): the table topics, which also name the tables'
//! record schemas, and the transaction and heartbeat topics.

/// The strategies kconnect implements, by their class names.
pub const STRATEGIES: &[&str] = &[
    "io.debezium.schema.SchemaTopicNamingStrategy",
    "io.debezium.schema.DefaultTopicNamingStrategy",
    "io.debezium.schema.SchemaUnicodeTopicNamingStrategy",
    "io.debezium.schema.DefaultUnicodeTopicNamingStrategy",
];

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
}

impl Default for TopicNaming {
    fn default() -> Self {
        TopicNaming {
            with_schema: true,
            unicode: false,
            delimiter: ".".into(),
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
            _ => return None,
        };
        STRATEGIES.contains(&class).then(|| TopicNaming {
            with_schema,
            unicode,
            delimiter: delimiter.to_string(),
        })
    }

    /// A table's topic: its parts joined by the delimiter (blank parts left out), then made a
    /// valid topic name.
    pub fn table_topic(&self, prefix: &str, schema: &str, table: &str) -> String {
        let parts: Vec<&str> = if self.with_schema {
            vec![prefix, schema, table]
        } else {
            vec![prefix, table]
        };
        let joined = parts
            .into_iter()
            .filter(|p| !p.trim().is_empty())
            .collect::<Vec<_>>()
            .join(&self.delimiter);
        self.sanitized(joined)
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
        assert!(
            TopicNaming::new("io.debezium.schema.SchemaRegexTopicNamingStrategy", ".").is_none()
        );
        assert!(TopicNaming::new("com.example.SchemaTopicNamingStrategy", ".").is_none());
    }
}
