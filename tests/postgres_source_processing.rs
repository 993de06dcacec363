//! PostgresConnector's event processing settings, each against the real Debezium 3.6.3's events
//! (fixtures made by `scripts/gen-postgres-fixtures tests/fixtures/<name>`):
//! include.schema.comments (postgres-comments), post.processors with Debezium's
//! ReselectColumnsPostProcessor (postgres-reselect, postgres-reselect-eventkey) and event.processing.failure.handling.mode
//! with a change the reselect post processor fails (postgres-reselect-skip).

mod support;

use std::path::PathBuf;

use support::pg_source::{
    checked_once, connector_file, failed_run, fixture_settings, psql_file, replay_fixture,
};
use support::{kafka, Postgres};

fn fixture(name: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Debezium's PostgreSQL connector reads no COMMENT ON, so include.schema.comments=true gives
/// the same events as false: no schema carries a doc, before or after a comment changes while
/// streaming.
#[test]
fn schema_comments_equal_debeziums() {
    let replayed = replay_fixture(&fixture("postgres-comments"));
    assert_eq!(replayed.records.len(), 3);
    for (_, m) in &replayed.records {
        let value = String::from_utf8_lossy(m.value.as_deref().unwrap_or_default());
        assert!(!value.contains("\"doc\""), "{value}");
    }
}

/// An update leaving TOASTed values unchanged has the included one read again (the other keeps
/// the placeholder), a null read again shows the row's current value, and a row gone by the
/// time its update is processed leaves the placeholder with a warning: Debezium's events.
#[test]
fn reselected_columns_equal_debeziums() {
    let replayed = replay_fixture(&fixture("postgres-reselect"));
    assert!(
        replayed
            .log
            .contains("failed to find row in table public.docs with key id=2"),
        "{}",
        replayed.log
    );
}

/// reselect.use.event.key=true finds the row of a table without a primary key by the columns
/// message.key.columns gives its key (postgres-reselect-eventkey).
#[test]
fn reselection_by_the_event_key_equals_debeziums() {
    replay_fixture(&fixture("postgres-reselect-eventkey"));
}

/// With reselect.error.handling.mode=fail and event.processing.failure.handling.mode=warn, the
/// update whose row is gone is skipped with a warning and the stream goes on, as in Debezium;
/// the offsets are past it, so the next run emits nothing again.
#[test]
fn a_change_that_cannot_be_processed_is_skipped_with_warn() {
    let replayed = replay_fixture(&fixture("postgres-reselect-skip"));
    assert!(
        replayed
            .log
            .contains("which is skipped (event.processing.failure.handling.mode=warn)")
            && replayed
                .log
                .contains("failed to find row in table public.docs with key id=2"),
        "{}",
        replayed.log
    );
    let before = replayed.records.len();
    checked_once(replayed.dir.path(), &replayed.kafka.bootstrap());
    let topic = "dbserver1.public.docs";
    assert_eq!(
        kafka::consume_all(&replayed.kafka.bootstrap(), topic).len(),
        before
    );
}

/// The same failure with event.processing.failure.handling.mode=fail (the default) stops the
/// task, naming the change's position and the cause; nothing of its transaction is emitted.
#[test]
fn a_change_that_cannot_be_processed_fails_the_task_by_default() {
    let fixture = fixture("postgres-reselect-skip");
    let pg = Postgres::start();
    let kafka = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    psql_file(&pg, &fixture.join("setup.sql"));
    kafka::create_topic(&kafka.bootstrap(), "dbserver1.public.docs", 1);
    let settings = fixture_settings(&fixture);
    let mut extra: Vec<(&str, &str)> = vec![("schema.include.list", "public")];
    extra.extend(
        settings
            .iter()
            .filter(|(k, _)| k != "event.processing.failure.handling.mode")
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    connector_file(dir.path(), &pg, &extra);
    checked_once(dir.path(), &kafka.bootstrap());
    psql_file(&pg, &fixture.join("stream.sql"));
    let text = failed_run(dir.path(), &kafka.bootstrap());
    assert!(
        text.contains("error while processing the change at {lsn_proc=")
            && text.contains("failed to find row in table public.docs with key id=2"),
        "{text}"
    );
    let events = kafka::consume_all(&kafka.bootstrap(), "dbserver1.public.docs");
    assert_eq!(events.len(), 2, "only the snapshot's rows");
}
