//! PostgresConnector against a real PostgreSQL and Kafka-protocol broker: the events equal the
//! real Debezium's (golden files made by scripts/gen-postgres-fixtures), heartbeats included,
//! and the filters and event options shape them as Debezium's do. The streaming, TLS and
//! error tests are in the other tests/postgres_source_*.rs files.

mod support;

use std::time::Duration;

use serde_json::Value as Json;

use support::pg_source::{
    actual, brief, connector_file, expected_by_topic, fixtures, psql_file, run_once, spawn_run,
};
use support::{kafka, Postgres};

// The brokers: noida-db's, because Tansu 0.6 as run by the harness hands back only the first
// record of each produced batch to consume_all (seen with five records in one batch).

/// Snapshot and streamed events of every type and operation equal Debezium 3.6.3's.
#[test]
fn events_equal_debeziums() {
    let pg = Postgres::start();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    psql_file(&pg, &fixtures().join("setup.sql"));
    // One partition per topic so that the order of events is comparable.
    for topic in expected_by_topic().keys() {
        kafka::create_topic(&k.bootstrap(), topic, 1);
    }
    connector_file(dir.path(), &pg, &[("schema.include.list", "public")]);
    run_once(dir.path(), &k.bootstrap());
    psql_file(&pg, &fixtures().join("stream.sql"));
    run_once(dir.path(), &k.bootstrap());
    for (topic, want) in expected_by_topic() {
        let got = actual(&k.bootstrap(), &topic);
        assert_eq!(brief(&got), brief(&want), "events on {topic}");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(
                g,
                w,
                "event {i} on {topic} differs:\n got: {}\nwant: {}",
                serde_json::to_string(g).unwrap(),
                serde_json::to_string(w).unwrap()
            );
        }
    }
    // Everything delivered was confirmed: the slot has nothing left for these changes.
    let pending = pg.psql(
        "SELECT count(*) FROM pg_logical_slot_peek_binary_changes('kconnect_slot', NULL, NULL, 'proto_version', '1', 'publication_names', 'kconnect_pub')",
    );
    assert_eq!(
        pending, "0",
        "the slot was not advanced past delivered changes"
    );
}

/// heartbeat.interval.ms emits Debezium's heartbeat records to __debezium-heartbeat.<prefix>.
#[test]
fn heartbeats_are_debeziums() {
    let pg = Postgres::start();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    pg.psql("CREATE TABLE captured (id int PRIMARY KEY)");
    connector_file(
        dir.path(),
        &pg,
        &[
            ("table.include.list", "public.captured"),
            ("heartbeat.interval.ms", "300"),
            ("poll.interval.ms", "100"),
        ],
    );
    let log = dir.path().join("kconnect.log");
    let mut child = spawn_run(dir.path(), &k.bootstrap(), &log);
    let got = support::eventually(Duration::from_secs(30), || {
        let msgs = kafka::consume_all(&k.bootstrap(), "__debezium-heartbeat.dbserver1");
        (msgs.len() >= 2).then_some(msgs)
    });
    let _ = child.kill();
    let _ = child.wait();
    let msgs =
        got.unwrap_or_else(|| panic!("no heartbeats: {}", std::fs::read_to_string(&log).unwrap()));
    let key: Json = serde_json::from_slice(msgs[0].key.as_ref().unwrap()).unwrap();
    assert_eq!(
        key,
        serde_json::json!({"schema": {"type": "struct", "fields": [{"type": "string", "optional": false, "field": "serverName"}],
            "optional": false, "name": "io.debezium.connector.common.ServerNameKey"}, "payload": {"serverName": "dbserver1"}})
    );
    let value: Json = serde_json::from_slice(msgs[0].value.as_ref().unwrap()).unwrap();
    assert_eq!(
        value["schema"]["name"],
        "io.debezium.connector.common.Heartbeat"
    );
    assert!(value["payload"]["ts_ms"].as_i64().unwrap() > 1_600_000_000_000);
}

/// Table and column filters, message.key.columns, skipped.operations, tombstones.on.delete
/// and decimal.handling.mode shape the events as Debezium's do.
#[test]
fn filters_and_event_options() {
    let pg = Postgres::start();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    pg.psql(
        "CREATE TABLE orders (id int PRIMARY KEY, customer int NOT NULL, secret text, amount numeric(8,2)); \
         CREATE TABLE skipme (id int PRIMARY KEY); \
         INSERT INTO orders VALUES (1, 5, 'hidden', 12.5)",
    );
    connector_file(
        dir.path(),
        &pg,
        &[
            ("table.include.list", "public.orders"),
            ("column.exclude.list", "public.orders.secret"),
            ("message.key.columns", "public.orders:customer"),
            ("skipped.operations", "u"),
            ("tombstones.on.delete", "false"),
            ("decimal.handling.mode", "string"),
        ],
    );
    run_once(dir.path(), &k.bootstrap());
    pg.psql("UPDATE orders SET amount = 13 WHERE id = 1");
    pg.psql("DELETE FROM orders WHERE id = 1");
    pg.psql("INSERT INTO skipme VALUES (1)");
    run_once(dir.path(), &k.bootstrap());
    let events = actual(&k.bootstrap(), "dbserver1.public.orders");
    let ops: Vec<String> = events
        .iter()
        .map(|(_, v)| {
            v.as_ref()
                .map(|v| v["payload"]["op"].to_string())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(ops, ["\"r\"", "\"d\""], "update skipped, no tombstone");
    let (key, value) = &events[0];
    let key = key.as_ref().unwrap();
    assert_eq!(key["payload"], serde_json::json!({"customer": 5}));
    assert_eq!(key["schema"]["name"], "dbserver1.public.orders.Key");
    let after = &value.as_ref().unwrap()["payload"]["after"];
    assert_eq!(
        after,
        &serde_json::json!({"id": 1, "customer": 5, "amount": "12.50"})
    );
    let before = &events[1].1.as_ref().unwrap()["payload"]["before"];
    assert_eq!(before["id"], 1);
    assert!(kafka::consume_all(&k.bootstrap(), "dbserver1.public.skipme").is_empty());
}
