//! Keys every connector has in Kafka Connect (`ConnectorConfig`, `SinkConnectorConfig`,
//! `SourceConnectorConfig`), and the connector's view of its settings.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::loader::TargetState;
use crate::api::{ConfigKey, ConfigType, KeyDefault, Settings, Validator};

pub const COMMON_KEYS: &[ConfigKey] = &[
    ConfigKey::new("name", ConfigType::String, KeyDefault::Required,
        "Unique connector name; offsets and the sink consumer group connect-<name> hang on it.")
        .validator(Validator::NonEmpty),
    ConfigKey::new("connector.class", ConfigType::String, KeyDefault::Required,
        "The connector's Java class name or alias (see kconnect plugins)."),
    ConfigKey::new("connector.plugin.version", ConfigType::String, KeyDefault::None,
        "Version (or Maven version range) of the connector required (KIP-891); kconnect has one of each, and refuses a requirement it does not meet."),
    ConfigKey::new("tasks.max", ConfigType::Int, KeyDefault::Value("1"),
        "Maximum number of tasks; sink partitions are split among them.")
        .validator(Validator::AtLeast(1)),
    ConfigKey::new("tasks.max.enforce", ConfigType::Boolean, KeyDefault::Value("true"),
        "(Deprecated in Connect) Whether a connector may run more tasks than tasks.max; kconnect's connectors never ask for more, so both values run alike."),
    ConfigKey::new("key.converter", ConfigType::Class, KeyDefault::None,
        "Overrides the worker's key converter for this connector; nested settings under key.converter.*."),
    ConfigKey::new("key.converter.plugin.version", ConfigType::String, KeyDefault::None,
        "Version (or range) required of key.converter when the connector sets it; refused unless the converter's version meets it."),
    ConfigKey::new("value.converter", ConfigType::Class, KeyDefault::None,
        "Overrides the worker's value converter for this connector; nested settings under value.converter.*."),
    ConfigKey::new("value.converter.plugin.version", ConfigType::String, KeyDefault::None,
        "Version (or range) required of value.converter when the connector sets it; refused unless the converter's version meets it."),
    ConfigKey::new("header.converter", ConfigType::Class, KeyDefault::None,
        "Overrides the worker's header converter for this connector."),
    ConfigKey::new("header.converter.plugin.version", ConfigType::String, KeyDefault::None,
        "Version (or range) required of header.converter when the connector sets it; refused unless the converter's version meets it."),
    ConfigKey::new("transforms", ConfigType::List, KeyDefault::Value(""),
        "Aliases of the transforms to apply in order; each needs transforms.<alias>.type."),
    ConfigKey::new("predicates", ConfigType::List, KeyDefault::Value(""),
        "Aliases of predicates; each needs predicates.<alias>.type."),
    ConfigKey::new("config.action.reload", ConfigType::String, KeyDefault::Value("restart"),
        "What to do when a config provider's value expires: restart or none. kconnect's providers (file, directory, env) give values that never expire, so neither acts; a SIGHUP re-reads them.")
        .validator(Validator::OneOf(&["none", "restart"])),
    ConfigKey::new("errors.retry.timeout", ConfigType::Long, KeyDefault::Value("0"),
        "Milliseconds to retry a failed operation; -1 retries forever.")
        .validator(Validator::AtLeast(-1)),
    ConfigKey::new("errors.retry.delay.max.ms", ConfigType::Long, KeyDefault::Value("60000"),
        "Longest wait between retries.").validator(Validator::AtLeast(1)),
    ConfigKey::new("errors.tolerance", ConfigType::String, KeyDefault::Value("none"),
        "none: a failed record fails the task; all: skip it (and send it to the dead letter queue).")
        .validator(Validator::OneOf(&["none", "all"])),
    ConfigKey::new("errors.log.enable", ConfigType::Boolean, KeyDefault::Value("false"),
        "Log each tolerated failure."),
    ConfigKey::new("errors.log.include.messages", ConfigType::Boolean, KeyDefault::Value("false"),
        "Include the record's coordinates and content in those logs."),
    ConfigKey::new("errors.deadletterqueue.topic.name", ConfigType::String, KeyDefault::Value(""),
        "Topic for records that failed under errors.tolerance=all."),
    ConfigKey::new("errors.deadletterqueue.topic.replication.factor", ConfigType::Int, KeyDefault::Value("3"),
        "Replication factor of the dead letter queue topic when it is created (capped at the broker count)."),
    ConfigKey::new("errors.deadletterqueue.context.headers.enable", ConfigType::Boolean, KeyDefault::Value("false"),
        "Add __connect.errors.* headers describing the failure to dead-lettered records."),
];

pub const SINK_KEYS: &[ConfigKey] = &[
    ConfigKey::new(
        "topics",
        ConfigType::List,
        KeyDefault::Value(""),
        "Topics to consume; this or topics.regex.",
    ),
    ConfigKey::new(
        "topics.regex",
        ConfigType::String,
        KeyDefault::Value(""),
        "Regular expression of topics to consume; this or topics.",
    ),
];

pub const SOURCE_KEYS: &[ConfigKey] = &[
    ConfigKey::new(
        "topic.creation.groups",
        ConfigType::List,
        KeyDefault::Value(""),
        "Groups of topic.creation.<group>.* settings besides default.",
    ),
    ConfigKey::new(
        "topic.creation.default.replication.factor",
        ConfigType::Int,
        KeyDefault::None,
        "Replication factor of topics this connector creates; -1 for the broker default.",
    ),
    ConfigKey::new(
        "topic.creation.default.partitions",
        ConfigType::Int,
        KeyDefault::None,
        "Partition count of topics this connector creates; -1 for the broker default.",
    ),
    ConfigKey::new(
        "exactly.once.support",
        ConfigType::String,
        KeyDefault::Value("requested"),
        "requested or required; kconnect delivers source records at least once (as Connect's standalone worker does), so required is refused.",
    )
    .validator(Validator::Honoured(&["requested"])),
    ConfigKey::new(
        "transaction.boundary",
        ConfigType::String,
        KeyDefault::Value("poll"),
        "Producer transactions of exactly-once sources (poll, interval, connector); kconnect writes without transactions, so only the default is accepted.",
    )
    .validator(Validator::Honoured(&["poll"])),
    ConfigKey::new(
        "transaction.boundary.interval.ms",
        ConfigType::Long,
        KeyDefault::None,
        "Commit interval of transaction.boundary=interval, which kconnect does not implement.",
    )
    .validator(Validator::Honoured(&[])),
    ConfigKey::new(
        "offsets.storage.topic",
        ConfigType::String,
        KeyDefault::None,
        "A separate offsets topic in Connect's distributed mode (its standalone worker ignores it too); kconnect keeps offsets in its store.",
    )
    .inert(),
];

/// Prefixes of connector keys that are not the connector's own.
pub const PASSTHROUGH_PREFIXES: &[&str] = &[
    "transforms.",
    "predicates.",
    "key.converter.",
    "value.converter.",
    "header.converter.",
    "producer.override.",
    "consumer.override.",
    "admin.override.",
    "topic.creation.",
];

/// One connector as the worker runs it: its resolved settings and where they came from.
#[derive(Clone, Debug)]
pub struct ConnectorConfig {
    pub name: String,
    pub path: PathBuf,
    pub values: BTreeMap<String, String>,
    /// The settings as the file or request wrote them, config provider references
    /// unresolved: what the REST API shows and writes back, so no secret leaves the process.
    pub written: BTreeMap<String, String>,
    pub initial_state: TargetState,
}

impl ConnectorConfig {
    pub fn class(&self) -> &str {
        self.values
            .get("connector.class")
            .map(|s| s.trim())
            .unwrap_or("")
    }

    pub fn common(&self) -> Settings<'_> {
        Settings::new(COMMON_KEYS, &self.values)
    }

    pub fn tasks_max(&self) -> usize {
        self.common().i64("tasks.max").unwrap_or(1).max(1) as usize
    }

    pub fn with_prefix(&self, prefix: &str) -> BTreeMap<String, String> {
        super::worker::strip_prefix(&self.values, prefix)
    }
}
