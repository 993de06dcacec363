//! PostgresConnector's slot settings: lsn.flush.mode / flush.lsn.source (who confirms the
//! slot), slot.stream.params (options of START_REPLICATION) and
//! replica.identity.autoset.values (REPLICA IDENTITY set at start).

mod support;

use std::path::Path;

use serde_json::Value as Json;

use support::pg_source::{
    connector_file, fixtures, replay_fixture, run_once_output, with_small_messages,
};
use support::{kafka, output_text, Postgres};

const SLOT: &str = "kconnect_slot";

fn confirmed(pg: &Postgres) -> String {
    pg.psql(&format!(
        "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '{SLOT}'"
    ))
}

/// `kconnect run --once`, which must succeed; its output.
fn once(dir: &Path, bootstrap: &str) -> String {
    let out = run_once_output(dir, bootstrap);
    let text = output_text(&out);
    assert!(out.status.success(), "{text}");
    text
}

/// The `after.id` of each event on `topic`, in order.
fn ids(bootstrap: &str, topic: &str) -> Vec<i64> {
    kafka::consume_all(bootstrap, topic)
        .into_iter()
        .filter_map(|m| {
            let v: Json = serde_json::from_slice(&m.value?).unwrap();
            v["after"]["id"].as_i64()
        })
        .collect()
}

/// manual (and its older spelling flush.lsn.source=false): offsets are committed, the slot's
/// confirmed_flush_lsn never moves, and each run resumes from the stored offsets, not from
/// the slot (which would stream every change again).
#[test]
fn manual_flush_mode_leaves_the_slot_and_resumes_from_stored_offsets() {
    for setting in [("lsn.flush.mode", "manual"), ("flush.lsn.source", "false")] {
        let pg = Postgres::start();
        let k = support::noida_kafka();
        let dir = tempfile::tempdir().unwrap();
        pg.psql("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a')");
        connector_file(
            dir.path(),
            &pg,
            &with_small_messages(&[("table.include.list", "public.t"), setting]),
        );
        let text = once(dir.path(), &k.bootstrap());
        assert!(
            text.contains("lsn.flush.mode=manual"),
            "{setting:?}: {text}"
        );
        let created = confirmed(&pg);
        pg.psql("INSERT INTO t VALUES (2, 'b'); INSERT INTO t VALUES (3, 'c')");
        once(dir.path(), &k.bootstrap());
        assert_eq!(confirmed(&pg), created, "{setting:?}: the slot moved");
        pg.psql("INSERT INTO t VALUES (4, 'd')");
        once(dir.path(), &k.bootstrap());
        assert_eq!(confirmed(&pg), created, "{setting:?}: the slot moved");
        assert_eq!(
            ids(&k.bootstrap(), "dbserver1.public.t"),
            [1, 2, 3, 4],
            "{setting:?}: each change once"
        );
        // The slot still holds every streamed change for whoever advances it.
        let pending = pg.psql(&format!(
            "SELECT count(*) > 0 FROM pg_logical_slot_peek_binary_changes('{SLOT}', NULL, NULL, 'proto_version', '1', 'publication_names', 'kconnect_pub')"
        ));
        assert_eq!(pending, "t", "{setting:?}");
    }
}

/// slot.stream.params reach START_REPLICATION: harmless options stream as usual, an option
/// pgoutput does not know is refused by the server with the setting named, and options that
/// collide with the connector's own are refused before anything runs.
/// connector_and_driver confirms the slot and gets Debezium's fallback heartbeat interval.
#[test]
fn slot_stream_params_go_to_the_server() {
    let pg = Postgres::start();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    pg.psql("CREATE TABLE p (id int PRIMARY KEY); INSERT INTO p VALUES (1)");
    let base = [
        ("table.include.list", "public.p"),
        ("lsn.flush.mode", "connector_and_driver"),
    ];
    let with = |params: &'static str| {
        let mut v = with_small_messages(&base);
        v.push(("slot.stream.params", params));
        v
    };
    connector_file(dir.path(), &pg, &with("binary=false;streaming=off"));
    let text = once(dir.path(), &k.bootstrap());
    assert!(
        text.contains("heartbeat.interval.ms was internally set to 600000"),
        "{text}"
    );
    let created = confirmed(&pg);
    pg.psql("INSERT INTO p VALUES (2)");
    once(dir.path(), &k.bootstrap());
    assert_eq!(ids(&k.bootstrap(), "dbserver1.public.p"), [1, 2]);
    let moved = pg.psql(&format!(
        "SELECT confirmed_flush_lsn > '{created}'::pg_lsn FROM pg_replication_slots WHERE slot_name = '{SLOT}'"
    ));
    assert_eq!(moved, "t", "connector_and_driver confirms the slot");

    // PostgreSQL 15's pgoutput has no origin option (16 has): the server's refusal proves it
    // was sent.
    connector_file(dir.path(), &pg, &with("origin=any"));
    let out = run_once_output(dir.path(), &k.bootstrap());
    let text = output_text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("slot.stream.params (origin)") && text.contains("origin"),
        "{text}"
    );

    connector_file(dir.path(), &pg, &with("messages=false"));
    let out = run_once_output(dir.path(), &k.bootstrap());
    let text = output_text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("slot.stream.params")
            && text.contains("option messages is set by the connector"),
        "{text}"
    );
}

/// replica.identity.autoset.values sets the captured tables' REPLICA IDENTITY at start (FULL,
/// USING INDEX) and leaves unnamed tables alone; the events that follow are Debezium's (golden:
/// tests/fixtures/postgres-replica-identity): FULL updates and deletes carry the whole old
/// row, an update of the identity index's column is a delete and a create.
#[test]
fn replica_identity_autoset_values_alter_the_tables_at_start() {
    let r = replay_fixture(&fixtures().with_file_name("postgres-replica-identity"));
    let ident = |t: &str| {
        r.pg.psql(&format!(
            "SELECT relreplident FROM pg_class WHERE oid = 'public.{t}'::regclass"
        ))
    };
    assert_eq!(ident("orders"), "f");
    assert_eq!(ident("items"), "i");
    assert_eq!(ident("plain"), "d");
    let index = r.pg.psql(
        "SELECT indexrelid::regclass FROM pg_index WHERE indrelid = 'items'::regclass AND indisreplident",
    );
    assert_eq!(index, "items_sku");
    // The first run sets them, the second finds them set.
    for said in [
        "replica identity set to FULL for table 'public.orders'",
        "replica identity set to USING INDEX items_sku for table 'public.items'",
        "replica identity for table 'public.orders' is already FULL",
    ] {
        assert!(r.log.contains(said), "{said}: {}", r.log);
    }
}
