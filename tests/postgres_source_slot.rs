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

/// A stored offset inside a transaction (Debezium on a Connect cluster stopped there, or an
/// edit) resumes after that change, as Debezium's WalPositionLocator does, not at the
/// transaction's start: rows of a plain INSERT by position, rows of a COPY (one WAL record for
/// many rows) by `lsn_events_processed`; without that count the rows of a COPY at the stored
/// position come again (at least once). lsn.flush.mode=manual keeps the slot where it was, so each run
/// is sent the transactions again.
#[test]
fn an_offset_inside_a_transaction_resumes_after_its_change() {
    let pg = Postgres::start();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    let topic = "dbserver1.public.t";
    pg.psql("CREATE TABLE t (id int PRIMARY KEY, v text)");
    connector_file(
        dir.path(),
        &pg,
        &with_small_messages(&[
            ("table.include.list", "public.t"),
            ("lsn.flush.mode", "manual"),
            ("snapshot.mode", "no_data"),
        ]),
    );
    once(dir.path(), &k.bootstrap());
    pg.psql("INSERT INTO t SELECT g, 'r' || g FROM generate_series(1, 10) g");
    pg.psql("COPY t (id) FROM PROGRAM 'seq 11 20' WITH (FORMAT csv)");
    once(dir.path(), &k.bootstrap());
    let events: Vec<Json> = kafka::consume_all(&k.bootstrap(), topic)
        .into_iter()
        .map(|m| serde_json::from_slice(&m.value.unwrap()).unwrap())
        .collect();
    assert_eq!(ids(&k.bootstrap(), topic), (1..=20).collect::<Vec<_>>());
    let at = |i: usize| {
        let s = &events[i]["source"];
        (s["lsn"].as_u64().unwrap(), s["txId"].as_u64().unwrap())
    };
    let (copy_lsn, copy_tx) = at(12);
    assert_eq!(at(10).0, copy_lsn, "a COPY's rows share one WAL position");
    let resume_from = |lsn: u64, tx: u64, count: Option<u64>| {
        let mut offset = serde_json::json!({
            "lsn_proc": lsn, "lsn_commit": lsn, "lsn": lsn, "txId": tx, "messageType": "INSERT",
        });
        if let Some(c) = count {
            offset["lsn_events_processed"] = c.into();
        }
        let out = support::kconnect::kconnect(dir.path())
            .args(["offsets", "set", "pg-source", "--offsets", "offsets"])
            .args(["--partition", r#"{"server":"dbserver1"}"#, "--offset"])
            .arg(offset.to_string())
            .arg("connectors.d")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", output_text(&out));
        let before = ids(&k.bootstrap(), topic).len();
        once(dir.path(), &k.bootstrap());
        ids(&k.bootstrap(), topic)[before..].to_vec()
    };
    // Debezium's offset after the fifth row of the INSERT, with and without the count (a
    // change alone at its position is the stored one).
    let (lsn5, tx) = at(4);
    assert_eq!(resume_from(lsn5, tx, Some(1)), (6..=20).collect::<Vec<_>>());
    assert_eq!(resume_from(lsn5, tx, None), (6..=20).collect::<Vec<_>>());
    // After the third row of the COPY.
    assert_eq!(
        resume_from(copy_lsn, copy_tx, Some(3)),
        (14..=20).collect::<Vec<_>>()
    );
    // Without a count, the COPY's rows at that position come again.
    assert_eq!(
        resume_from(copy_lsn, copy_tx, None),
        (11..=20).collect::<Vec<_>>()
    );
}
