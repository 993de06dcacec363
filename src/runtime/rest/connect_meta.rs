//! What Connect 4.3.0's `ConfigKeyInfo` says of the framework's connector keys beyond what
//! kconnect's key definitions carry: importance, group, order in the group, width and display
//! name, as the real worker answers `GET /connector-plugins/{connector}/config`. UIs group and
//! order a connector form by them.

/// (key, importance, group, order_in_group, width, display_name).
pub type Meta = (
    &'static str,
    &'static str,
    &'static str,
    i32,
    &'static str,
    &'static str,
);

#[rustfmt::skip]
pub const FRAMEWORK: &[Meta] = &[
    ("name", "HIGH", "Common", 1, "MEDIUM", "Connector name"),
    ("connector.class", "HIGH", "Common", 2, "LONG", "Connector class"),
    ("connector.plugin.version", "MEDIUM", "Common", 3, "MEDIUM", "Connector version"),
    ("tasks.max", "HIGH", "Common", 4, "SHORT", "Tasks max"),
    ("tasks.max.enforce", "LOW", "Common", 5, "SHORT", "Enforce tasks max"),
    ("key.converter", "LOW", "Common", 6, "SHORT", "Key converter class"),
    ("key.converter.plugin.version", "LOW", "Common", 7, "SHORT", "Key converter version"),
    ("value.converter", "LOW", "Common", 8, "SHORT", "Value converter class"),
    ("value.converter.plugin.version", "LOW", "Common", 9, "SHORT", "Value converter version"),
    ("header.converter", "LOW", "Common", 10, "SHORT", "Header converter class"),
    ("header.converter.plugin.version", "LOW", "Common", 11, "SHORT", "Header converter version"),
    ("transforms", "LOW", "Transforms", 12, "LONG", "Transforms"),
    ("predicates", "LOW", "Predicates", 13, "LONG", "Predicates"),
    ("config.action.reload", "LOW", "Common", 14, "MEDIUM", "Reload Action"),
    ("errors.retry.timeout", "MEDIUM", "Error Handling", 1, "MEDIUM", "Retry Timeout for Errors"),
    ("errors.retry.delay.max.ms", "MEDIUM", "Error Handling", 2, "MEDIUM", "Maximum Delay Between Retries for Errors"),
    ("errors.tolerance", "MEDIUM", "Error Handling", 3, "SHORT", "Error Tolerance"),
    ("errors.log.enable", "MEDIUM", "Error Handling", 4, "SHORT", "Log Errors"),
    ("errors.log.include.messages", "MEDIUM", "Error Handling", 5, "SHORT", "Log Error Details"),
    ("topics", "HIGH", "Common", 4, "LONG", "Topics"),
    ("topics.regex", "HIGH", "Common", 4, "LONG", "Topics regex"),
    ("errors.deadletterqueue.topic.name", "MEDIUM", "Error Handling", 6, "MEDIUM", "Dead Letter Queue Topic Name"),
    ("errors.deadletterqueue.topic.replication.factor", "MEDIUM", "Error Handling", 7, "MEDIUM", "Dead Letter Queue Topic Replication Factor"),
    ("errors.deadletterqueue.context.headers.enable", "MEDIUM", "Error Handling", 8, "MEDIUM", "Enable Error Context Headers"),
    ("topic.creation.groups", "LOW", "Topic Creation", 1, "LONG", "Topic Creation Groups"),
    ("exactly.once.support", "MEDIUM", "Exactly Once Support", 2, "SHORT", "Exactly once support"),
    ("transaction.boundary", "MEDIUM", "Exactly Once Support", 3, "SHORT", "Transaction Boundary"),
    ("transaction.boundary.interval.ms", "LOW", "Exactly Once Support", 4, "SHORT", "Transaction boundary interval"),
    ("offsets.storage.topic", "LOW", "offsets.topic", 1, "LONG", "Offsets topic"),
];

/// A framework key's metadata, `None` for a plugin's own key.
pub fn framework(key: &str) -> Option<&'static Meta> {
    FRAMEWORK.iter().find(|m| m.0 == key)
}
