//! Logical decoding messages (`pg_logical_emit_message`) as Debezium's message events: op `m`
//! on `<topic.prefix>.message`, keyed by prefix, the content written as binary.handling.mode
//! says, filtered by message.prefix.include.list / message.prefix.exclude.list.

use base64::Engine as _;
use regex::Regex;

use super::events::{self, SourceInfo};
use super::types::BinaryMode;
use super::PgConfig;
use crate::data::{schemas, ConnectRecord, Schema, SchemaRef, Struct, Value};

/// Which prefixes are emitted: the include list when it is set, else all but the exclude
/// list's (Debezium's LogicalDecodingMessageFilter; both lists are refused together).
#[derive(Clone, Debug, Default)]
pub struct PrefixFilter {
    pub include: Vec<Regex>,
    pub exclude: Vec<Regex>,
}

impl PrefixFilter {
    pub fn included(&self, prefix: &str) -> bool {
        if !self.include.is_empty() {
            return self.include.iter().any(|r| r.is_match(prefix));
        }
        !self.exclude.iter().any(|r| r.is_match(prefix))
    }
}

/// Debezium counts each message as a data collection of its own in a transaction's END event,
/// named by Java's default `Object.toString` of a fresh id object: the class name and an
/// identity hash, which differs from run to run. This is that name, with a hash of the same
/// form (31 bits, lower-case hex).
const DATA_COLLECTION: &str =
    "io.debezium.connector.postgresql.LogicalDecodingMessageMonitor$LogicalDecodingMessageId";

/// The schemas and topic of message events, built once per stream.
pub struct Messages {
    topic: String,
    binary: BinaryMode,
    key_schema: SchemaRef,
    block_schema: SchemaRef,
    value_schema: SchemaRef,
    /// State of the generator of identity-hash-like numbers.
    hash_state: u64,
}

/// One message as the stream hands it over.
pub struct Message<'a> {
    pub prefix: &'a str,
    pub content: &'a [u8],
    pub source: SourceInfo<'a>,
    /// The `transaction` block (provide.transaction.metadata), or null.
    pub transaction: Value,
}

impl Messages {
    pub fn new(cfg: &PgConfig) -> Messages {
        let key_schema = Schema::struct_builder()
            .name("io.debezium.connector.postgresql.MessageKey")
            .version(1)
            .field("prefix", schemas::optional_string())
            .build();
        let content = match cfg.binary_mode {
            BinaryMode::Bytes => schemas::optional_bytes(),
            _ => schemas::optional_string(),
        };
        let block_schema = Schema::struct_builder()
            .name("io.debezium.connector.postgresql.Message")
            .version(1)
            .field("prefix", schemas::optional_string())
            .field("content", content)
            .build();
        let value_schema = Schema::struct_builder()
            .name("io.debezium.connector.postgresql.MessageValue")
            .version(1)
            .field("op", schemas::string())
            .field("ts_ms", schemas::optional_int64())
            .field("source", events::source_schema())
            .field("transaction", events::transaction_schema())
            .field("message", block_schema.clone())
            .build();
        let seed = events::now_ns() as u64 | 1;
        Messages {
            topic: format!("{}.message", cfg.prefix),
            binary: cfg.binary_mode,
            key_schema,
            block_schema,
            value_schema,
            hash_state: seed,
        }
    }

    /// The name under which a transaction's END event counts one message.
    pub fn data_collection(&mut self) -> String {
        // xorshift64: any spread of values will do, as identity hashes are arbitrary.
        let mut x = self.hash_state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.hash_state = x;
        let hash = ((x >> 33) as u32).max(1);
        format!("{DATA_COLLECTION}@{hash:x}")
    }

    /// The event: no context headers, as Debezium sends messages past its header producer.
    pub fn record(&self, cfg: &PgConfig, m: Message<'_>) -> ConnectRecord {
        let content = match self.binary {
            BinaryMode::Bytes => Value::Bytes(m.content.to_vec()),
            BinaryMode::Base64 => Value::String(
                base64::engine::general_purpose::STANDARD
                    .encode(m.content)
                    .into(),
            ),
            BinaryMode::Base64UrlSafe => Value::String(
                base64::engine::general_purpose::URL_SAFE
                    .encode(m.content)
                    .into(),
            ),
            BinaryMode::Hex => Value::String(lower_hex(m.content).into()),
        };
        let prefix = Value::String(m.prefix.into());
        let key = Value::Struct(Struct {
            schema: self.key_schema.clone(),
            values: vec![prefix.clone()],
        });
        let value = Value::Struct(Struct {
            schema: self.value_schema.clone(),
            values: vec![
                Value::String("m".into()),
                Value::Int64(events::now_ns() / 1_000_000),
                events::source_value_of(cfg, "", "", m.source),
                m.transaction,
                Value::Struct(Struct {
                    schema: self.block_schema.clone(),
                    values: vec![prefix, content],
                }),
            ],
        });
        ConnectRecord::new(self.topic.clone())
            .with_key(Some(self.key_schema.clone()), key)
            .with_value(Some(self.value_schema.clone()), value)
    }
}

fn lower_hex(b: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(b.len() * 2);
    for byte in b {
        let _ = write!(s, "{byte:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(p: &str) -> Regex {
        regex::RegexBuilder::new(&format!("^(?:{p})$"))
            .case_insensitive(true)
            .build()
            .unwrap()
    }

    #[test]
    fn include_list_wins_and_patterns_match_whole_prefixes() {
        let f = PrefixFilter {
            include: vec![re("audit.*"), re("app")],
            exclude: vec![re("audit")],
        };
        assert!(f.included("Audit.nt") && f.included("audit") && f.included("APP"));
        assert!(!f.included("application") && !f.included("other"));
        let f = PrefixFilter {
            include: vec![],
            exclude: vec![re("internal[.].*")],
        };
        assert!(!f.included("INTERNAL.debug") && f.included("internal"));
        assert!(PrefixFilter::default().included(""));
    }

    #[test]
    fn data_collection_names_look_like_javas_object_names() {
        let cfg = crate::connectors::postgres::config::PgConfig::from_values(
            &[
                ("topic.prefix", "p"),
                ("database.hostname", "h"),
                ("database.user", "u"),
                ("database.dbname", "d"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        )
        .unwrap();
        let mut m = Messages::new(&cfg);
        let (a, b) = (m.data_collection(), m.data_collection());
        assert_ne!(a, b);
        let hash = a.strip_prefix(&format!("{DATA_COLLECTION}@")).unwrap();
        assert!(u32::from_str_radix(hash, 16).unwrap() <= i32::MAX as u32);
        assert_eq!(m.topic, "p.message");
        assert_eq!(lower_hex(&[0, 0xff, 0x10]), "00ff10");
    }
}
