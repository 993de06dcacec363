//! PostgresConnector events beyond table changes, equal to the real Debezium 3.6.3's
//! (fixtures made by `scripts/gen-postgres-fixtures tests/fixtures/<name>`): logical decoding
//! messages (pg_logical_emit_message) with their prefix filters and transaction metadata, and
//! that a message's position survives a restart.

mod support;

use std::path::PathBuf;

use serde_json::Value as Json;
use support::kafka;
use support::pg_source::{checked_once, replay_fixture};

fn fixture(name: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The message events on dbserver1.message, as (prefix, content, txId is set).
fn messages(bootstrap: &str) -> Vec<(String, Json, bool)> {
    kafka::consume_all(bootstrap, "dbserver1.message")
        .into_iter()
        .map(|m| {
            let v: Json = serde_json::from_slice(m.value.as_deref().expect("a value")).unwrap();
            let p = &v["payload"];
            assert!(m.headers.is_empty(), "Debezium's messages carry no headers");
            (
                p["message"]["prefix"].as_str().unwrap().to_string(),
                p["message"]["content"].clone(),
                !p["source"]["txId"].is_null(),
            )
        })
        .collect()
}

/// Transactional and non-transactional messages (one in a rolled-back transaction, one with
/// binary content, one empty) among changes, filtered by message.prefix.include.list: the
/// events equal Debezium's, the non-transactional ones without a txId.
/// (tests/fixtures/postgres-messages)
#[test]
fn logical_decoding_messages_equal_debeziums() {
    let r = replay_fixture(&fixture("postgres-messages"));
    let got = messages(&r.kafka.bootstrap());
    let summary: Vec<(&str, bool)> = got.iter().map(|(p, _, t)| (p.as_str(), *t)).collect();
    assert_eq!(
        summary,
        [
            ("audit", true),
            ("Audit.nt", false),
            ("app", true),
            ("audit", false),
            ("audit", true)
        ]
    );
}

/// provide.transaction.metadata with messages: a transactional message's transaction block and
/// its count in the END event (a data collection of its own per message, as Debezium), none for
/// a non-transactional one; message.prefix.exclude.list; binary.handling.mode=hex content.
/// (tests/fixtures/postgres-messages-txn)
#[test]
fn messages_with_transaction_metadata_equal_debeziums() {
    replay_fixture(&fixture("postgres-messages-txn"));
}

/// A restart goes on after the last message handed out: a non-transactional message that was
/// the last event of a run is not sent again, and what follows it is not lost.
#[test]
fn messages_resume_after_a_restart() {
    let r = replay_fixture(&fixture("postgres-messages"));
    let (dir, bootstrap) = (r.dir.path(), r.kafka.bootstrap());
    let before = messages(&bootstrap).len();
    // A non-transactional message's WAL is not flushed by itself, and the server decodes
    // only flushed WAL: a transaction with an xid (and nothing to capture, so no event)
    // flushes it.
    r.pg.psql(
        "SELECT pg_logical_emit_message(false, 'audit', 'last of a run'); SELECT txid_current()",
    );
    checked_once(dir, &bootstrap);
    r.pg.psql(
        "SELECT pg_logical_emit_message(false, 'audit', 'first of the next'); \
         BEGIN; SELECT pg_logical_emit_message(true, 'app', 'then one in a transaction'); COMMIT",
    );
    checked_once(dir, &bootstrap);
    checked_once(dir, &bootstrap);
    let got = messages(&bootstrap);
    let new: Vec<&Json> = got[before..].iter().map(|(_, c, _)| c).collect();
    let text = |s: &str| Json::String(base64_of(s));
    assert_eq!(
        new,
        [
            &text("last of a run"),
            &text("first of the next"),
            &text("then one in a transaction")
        ]
    );
}

/// Content as the JSON converter writes bytes.
fn base64_of(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A partitioned table (one partition partitioned again) with publish.via.partition.root=false:
/// the snapshot reads the root and every partition, each to its own topic, and streamed
/// changes are events of the leaf partition that holds the row (a row moving between
/// partitions: a delete in one, a create in the other). (tests/fixtures/postgres-partitioned)
#[test]
fn partitioned_tables_equal_debeziums() {
    replay_fixture(&fixture("postgres-partitioned"));
}

/// publish.via.partition.root=true: the publication kconnect creates publishes partitions'
/// changes as the root table's, so streamed events are on the root's topic; the snapshot is
/// as without it. (tests/fixtures/postgres-partitioned-root)
#[test]
fn partitions_published_via_their_root_equal_debeziums() {
    let r = replay_fixture(&fixture("postgres-partitioned-root"));
    assert_eq!(r.pg.psql("SELECT pubviaroot FROM pg_publication"), "t");
}

/// topic.naming.strategy=DefaultTopicNamingStrategy with topic.delimiter=_: table topics
/// `<prefix>_<table>` (a `$` replaced by `_`), record schema names after them, the transaction
/// topic `<prefix>_transaction`, the message topic still `<prefix>.message`.
/// (tests/fixtures/postgres-topic-default)
#[test]
fn default_topic_naming_equals_debeziums() {
    replay_fixture(&fixture("postgres-topic-default"));
}

/// topic.naming.strategy=SchemaUnicodeTopicNamingStrategy with topic.delimiter=-: `_` and `$`
/// written as `_u005f` and `_u0024`. (tests/fixtures/postgres-topic-unicode)
#[test]
fn unicode_topic_naming_equals_debeziums() {
    replay_fixture(&fixture("postgres-topic-unicode"));
}

/// table.ignore.builtin=false without a schema filter: Debezium emits nothing for PostgreSQL's
/// own tables (nor temporary ones) all the same. (tests/fixtures/postgres-builtin-tables)
#[test]
fn builtin_tables_stay_out_as_in_debezium() {
    replay_fixture(&fixture("postgres-builtin-tables"));
}

/// topic.naming.strategy=SchemaRegexTopicNamingStrategy: two tables rerouted to one topic
/// (topic.regex, topic.replacement), record schemas named after it, and every key given the
/// physical table's field (topic.key.field.name/regex/replacement), a keyless table's too.
/// (tests/fixtures/postgres-topic-regex)
#[test]
fn regex_topic_naming_equals_debeziums() {
    replay_fixture(&fixture("postgres-topic-regex"));
}
