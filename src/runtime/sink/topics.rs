//! Which topics a sink reads: `topics` or `topics.regex`, exactly one of them.

use crate::config::ConnectorConfig;

/// Which topics a sink reads.
#[derive(Clone, Debug)]
pub enum TopicSelection {
    List(Vec<String>),
    Regex(regex::Regex),
}

/// A sink's topic settings that select nothing; the text is the problem `validate` reports.
#[derive(Debug, thiserror::Error)]
pub enum TopicSelectionError {
    #[error("topics.regex is not a valid regular expression: {0}")]
    InvalidRegex(regex::Error),
    #[error("Must configure one of topics or topics.regex, not both")]
    Both,
    #[error("Must configure one of topics or topics.regex")]
    Neither,
}

impl TopicSelection {
    pub fn from_config(cfg: &ConnectorConfig) -> Result<TopicSelection, TopicSelectionError> {
        let topics = crate::api::Settings::new(crate::config::connector::SINK_KEYS, &cfg.values)
            .list("topics");
        let re = cfg
            .values
            .get("topics.regex")
            .map(|s| s.trim())
            .unwrap_or("");
        match (topics.is_empty(), re.is_empty()) {
            (false, true) => Ok(TopicSelection::List(topics)),
            (true, false) => regex::Regex::new(&format!("^(?:{re})$"))
                .map(TopicSelection::Regex)
                .map_err(TopicSelectionError::InvalidRegex),
            (false, false) => Err(TopicSelectionError::Both),
            (true, true) => Err(TopicSelectionError::Neither),
        }
    }

    pub fn matches(&self, topic: &str) -> bool {
        match self {
            TopicSelection::List(l) => l.iter().any(|t| t == topic),
            TopicSelection::Regex(r) => r.is_match(topic),
        }
    }
}
