//! `Filter` and the predicates (`TopicNameMatches`, `HasHeaderKey`, `RecordIsTombstone`) that
//! decide, per `transforms.<alias>.predicate`, which records a transform applies to.

use regex::Regex;

use crate::api::{ConfigKey, ConfigType, KeyDefault, Problem, Settings};
use crate::data::ConnectRecord;

use super::util::invalid;
use super::{Predicate, TransformError, Transformation};

pub struct Filter;

pub fn create_filter(_: &Settings<'_>) -> Result<Box<dyn Transformation>, Problem> {
    Ok(Box::new(Filter))
}

impl Transformation for Filter {
    fn apply(&mut self, _: ConnectRecord) -> Result<Option<ConnectRecord>, TransformError> {
        Ok(None)
    }
}

pub const TOPIC_KEYS: &[ConfigKey] = &[ConfigKey::new(
    "pattern",
    ConfigType::String,
    KeyDefault::Required,
    "A Java regular expression for matching against the name of a record's topic.",
)];

pub const HEADER_KEYS: &[ConfigKey] = &[ConfigKey::new(
    "name",
    ConfigType::String,
    KeyDefault::Required,
    "The header name.",
)];

pub struct TopicNameMatches(Regex);

pub fn create_topic_matches(s: &Settings<'_>) -> Result<Box<dyn Predicate>, Problem> {
    let key = format!("{}pattern", s.prefix);
    let pattern = s.raw("pattern").unwrap_or("");
    if pattern.is_empty() {
        return Err(invalid(&key, pattern, "String must be non-empty"));
    }
    let re = super::routing::full_match_regex(
        &key,
        pattern,
        "entry must be a Java-compatible regular expression: ",
    )?;
    Ok(Box::new(TopicNameMatches(re)))
}

impl Predicate for TopicNameMatches {
    fn test(&self, record: &ConnectRecord) -> bool {
        self.0.is_match(&record.topic)
    }
}

pub struct HasHeaderKey(String);

pub fn create_has_header(s: &Settings<'_>) -> Result<Box<dyn Predicate>, Problem> {
    let key = format!("{}name", s.prefix);
    match s.raw("name") {
        Some(n) if !n.is_empty() => Ok(Box::new(HasHeaderKey(n.to_string()))),
        Some(n) => Err(invalid(&key, n, "String must be non-empty")),
        None => Err(Problem::new(
            &key,
            format!("Missing required configuration \"{key}\" which has no default value."),
        )),
    }
}

impl Predicate for HasHeaderKey {
    fn test(&self, record: &ConnectRecord) -> bool {
        record.headers.iter().any(|h| h.key == self.0)
    }
}

pub struct RecordIsTombstone;

pub fn create_tombstone(_: &Settings<'_>) -> Result<Box<dyn Predicate>, Problem> {
    Ok(Box::new(RecordIsTombstone))
}

impl Predicate for RecordIsTombstone {
    fn test(&self, record: &ConnectRecord) -> bool {
        record.value.is_null()
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::*;
    use crate::data::{ConnectRecord, Value};

    #[test]
    fn predicates_test_records() {
        let p = predicate(
            "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
            &[("pattern", "foo-.*")],
        )
        .unwrap();
        assert!(p.test(&ConnectRecord::new("foo-1")));
        assert!(
            !p.test(&ConnectRecord::new("xfoo-1")),
            "the whole topic must match"
        );
        assert!(predicate("TopicNameMatches", &[("pattern", "")]).is_err());
        let e = predicate("TopicNameMatches", &[("pattern", "a(")])
            .err()
            .unwrap();
        assert_eq!(e.key, "pattern");

        let p = predicate("HasHeaderKey", &[("name", "trace")]).unwrap();
        let mut r = ConnectRecord::new("t");
        assert!(!p.test(&r));
        r.headers.add_string("trace", "1");
        assert!(p.test(&r));

        let p = predicate("RecordIsTombstone", &[]).unwrap();
        assert!(p.test(&ConnectRecord::new("t")));
        assert!(!p.test(&record_with_value(None, Value::Int32(1))));
    }

    #[test]
    fn filter_drops_everything() {
        let mut f = transform("org.apache.kafka.connect.transforms.Filter", &[]).unwrap();
        assert!(f.apply(ConnectRecord::new("t")).unwrap().is_none());
    }
}
