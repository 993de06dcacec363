//! `RegexRouter` and `TimestampRouter`: rewrite the record's topic.

use regex::Regex;

use crate::api::{ConfigKey, ConfigType, KeyDefault, Problem, Settings};
use crate::data::ConnectRecord;

use super::java_format::{format_millis, java_replacement, simple_date_format};
use super::util::invalid;
use super::{TransformError, Transformation};

pub const REGEX_KEYS: &[ConfigKey] = &[
    ConfigKey::new(
        "regex",
        ConfigType::String,
        KeyDefault::Required,
        "Regular expression to use for matching.",
    ),
    ConfigKey::new(
        "replacement",
        ConfigType::String,
        KeyDefault::Required,
        "Replacement string.",
    ),
];

pub const TIMESTAMP_KEYS: &[ConfigKey] = &[
    ConfigKey::new("topic.format", ConfigType::String, KeyDefault::Value("${topic}-${timestamp}"),
        "Format string which can contain ${topic} and ${timestamp} as placeholders for the topic and timestamp, respectively."),
    ConfigKey::new("timestamp.format", ConfigType::String, KeyDefault::Value("yyyyMMdd"),
        "Format string for the timestamp that is compatible with java.text.SimpleDateFormat."),
];

/// A regex that must match the whole input, as Java's `Matcher.matches()`.
pub(crate) fn full_match_regex(key: &str, pattern: &str, what: &str) -> Result<Regex, Problem> {
    Regex::new(&format!("^(?:{pattern})$"))
        .map_err(|e| invalid(key, pattern, format!("{what}{}", last_line(&e.to_string()))))
}

/// The regex crate's errors span lines (pattern, caret, reason); the reason is the last one.
fn last_line(s: &str) -> String {
    s.lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
        .to_string()
}

pub struct RegexRouter {
    regex: Regex,
    replacement: String,
}

pub fn create_regex(s: &Settings<'_>) -> Result<Box<dyn Transformation>, Problem> {
    let key = format!("{}regex", s.prefix);
    let pattern = s.raw("regex").ok_or_else(|| {
        Problem::new(
            &key,
            format!("Missing required configuration \"{key}\" which has no default value."),
        )
    })?;
    let regex = full_match_regex(&key, pattern, "Invalid regex: ")?;
    let raw = s.raw("replacement").ok_or_else(|| {
        let k = format!("{}replacement", s.prefix);
        Problem::new(
            &k,
            format!("Missing required configuration \"{k}\" which has no default value."),
        )
    })?;
    let replacement = java_replacement(raw, regex.captures_len() - 1)
        .map_err(|m| invalid(&format!("{}replacement", s.prefix), raw, m))?;
    Ok(Box::new(RegexRouter { regex, replacement }))
}

/// The topic RegexRouter with `pattern` and `replacement` sends a record of `topic` to, as
/// the transform does (a topic the whole pattern does not match is kept); `None` when the
/// settings are not valid. For checks that know a topic before any record exists.
pub fn regex_route(pattern: &str, replacement: &str, topic: &str) -> Option<String> {
    let regex = Regex::new(&format!("^(?:{pattern})$")).ok()?;
    let replacement = java_replacement(replacement, regex.captures_len() - 1).ok()?;
    Some(match regex.captures(topic) {
        Some(caps) => {
            let mut out = String::new();
            caps.expand(&replacement, &mut out);
            out
        }
        None => topic.to_string(),
    })
}

impl Transformation for RegexRouter {
    fn apply(
        &mut self,
        mut record: ConnectRecord,
    ) -> Result<Option<ConnectRecord>, TransformError> {
        if let Some(caps) = self.regex.captures(&record.topic) {
            let mut topic = String::new();
            caps.expand(&self.replacement, &mut topic);
            record.topic = topic.into();
        }
        Ok(Some(record))
    }
}

pub struct TimestampRouter {
    topic_format: String,
    timestamp_format: String,
}

pub fn create_timestamp(s: &Settings<'_>) -> Result<Box<dyn Transformation>, Problem> {
    let raw = s.raw("timestamp.format").unwrap_or("yyyyMMdd");
    let timestamp_format = simple_date_format(raw)
        .map_err(|m| invalid(&format!("{}timestamp.format", s.prefix), raw, m))?;
    Ok(Box::new(TimestampRouter {
        topic_format: s
            .raw("topic.format")
            .unwrap_or("${topic}-${timestamp}")
            .to_string(),
        timestamp_format,
    }))
}

impl Transformation for TimestampRouter {
    fn apply(
        &mut self,
        mut record: ConnectRecord,
    ) -> Result<Option<ConnectRecord>, TransformError> {
        let Some(ts) = record.timestamp else {
            return Err(TransformError::new(format!(
                "Timestamp missing on record: topic={} partition={:?} offset={:?}",
                record.topic, record.kafka_partition, record.kafka_offset
            )));
        };
        let formatted = format_millis(ts, &self.timestamp_format);
        record.topic = self
            .topic_format
            .replace("${topic}", &record.topic)
            .replace("${timestamp}", &formatted)
            .into();
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::*;
    use crate::data::{ConnectRecord, Value};

    #[test]
    fn regex_router_matches_whole_topic() {
        // Kafka docs: regex=(.*)customers_(.*), replacement=$1customers_latest_$2... simplified.
        let mut t = transform(
            "org.apache.kafka.connect.transforms.RegexRouter",
            &[
                ("regex", "([^.]+)\\.([^.]+)\\.([^.]+)"),
                ("replacement", "$3"),
            ],
        )
        .unwrap();
        let r = ConnectRecord::new("dbserver1.inventory.customers");
        assert_eq!(t.apply(r).unwrap().unwrap().topic, "customers");
        let r = ConnectRecord::new("plain");
        assert_eq!(t.apply(r).unwrap().unwrap().topic, "plain");
        let e = transform(
            "RegexRouter",
            &[("regex", "(unclosed"), ("replacement", "x")],
        )
        .err()
        .unwrap();
        assert_eq!(e.key, "regex");
        assert!(e.message.contains("Invalid regex"), "{}", e.message);
    }

    #[test]
    fn timestamp_router_formats_utc_dates() {
        let mut t = transform("TimestampRouter", &[]).unwrap();
        let mut r = record_with_value(None, Value::Null);
        r.timestamp = Some(1_700_000_000_000);
        assert_eq!(t.apply(r).unwrap().unwrap().topic, "test-20231114");
        let mut t = transform(
            "org.apache.kafka.connect.transforms.TimestampRouter",
            &[
                ("topic.format", "${timestamp}/${topic}"),
                ("timestamp.format", "yyyy-MM"),
            ],
        )
        .unwrap();
        let mut r = record_with_value(None, Value::Null);
        r.timestamp = Some(1_700_000_000_000);
        assert_eq!(t.apply(r).unwrap().unwrap().topic, "2023-11/test");
        let err = t.apply(record_with_value(None, Value::Null)).unwrap_err();
        assert!(err.to_string().starts_with("Timestamp missing on record"));
    }
}
