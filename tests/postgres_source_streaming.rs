//! PostgresConnector's delivery: the snapshot hands over to streaming exactly, a SIGKILL at
//! any moment loses nothing, and the replication slot follows the WAL, large transactions and
//! `slot.drop.on.stop`.

mod support;

use std::time::Duration;

use serde_json::Value as Json;

use support::pg_source::{
    connector_file, final_rows, psql_c, run_once, run_once_output, spawn_run, table_rows,
    with_small_messages,
};
use support::{kafka, Postgres};

/// Sessions write while the snapshot runs: every row's final state arrives, and no
/// transaction the snapshot already contained is streamed again.
#[test]
fn concurrent_writes_during_snapshot_hand_over_exactly() {
    let pg = Postgres::start();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    pg.psql("CREATE TABLE load (id int PRIMARY KEY, val text NOT NULL)");
    pg.psql("INSERT INTO load SELECT g, 'v0-' || g FROM generate_series(1, 20000) g");
    connector_file(
        dir.path(),
        &pg,
        &with_small_messages(&[
            ("table.include.list", "public.load"),
            ("snapshot.fetch.size", "500"),
            ("max.batch.size", "500"),
        ]),
    );
    let port = pg.port();
    let writer = std::thread::spawn(move || {
        for i in 0..200 {
            let sql = format!(
                "BEGIN; UPDATE load SET val = 'v{i}-' || id WHERE id % 200 = {r}; \
                 INSERT INTO load VALUES ({n}, 'new-{i}'); DELETE FROM load WHERE id = {d}; COMMIT;",
                r = i % 200,
                n = 100_000 + i,
                d = 1 + i * 7
            );
            psql_c(port, &sql);
        }
    });
    let log = dir.path().join("kconnect.log");
    let mut child = spawn_run(dir.path(), &k.bootstrap(), &log);
    writer.join().unwrap();
    let want = table_rows(&pg);
    let got = support::eventually(Duration::from_secs(60), || {
        let (rows, _) = final_rows(&k.bootstrap(), "dbserver1.public.load", "val");
        (rows == want).then_some(rows)
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(got.is_some(), "final state differs from the table");
    // Exactly once: 20000 snapshot rows, then per writer transaction 10 updates (of rows
    // still alive), 1 insert and a delete with its tombstone, none of them twice.
    let msgs = kafka::consume_all(&k.bootstrap(), "dbserver1.public.load");
    let mut seen = std::collections::HashSet::new();
    for m in &msgs {
        if let Some(v) = &m.value {
            let v: Json = serde_json::from_slice(v).unwrap();
            let p = v.get("payload").unwrap_or(&v);
            let ident = format!(
                "{}|{}|{}|{}",
                p["op"], p["source"]["lsn"], p["before"], p["after"]
            );
            assert!(seen.insert(ident.clone()), "event delivered twice: {ident}");
        }
    }
}

/// kconnect is killed again and again while sessions write; after a final clean run every
/// committed row's final state is in Kafka.
#[test]
fn sigkill_during_writes_loses_nothing() {
    let pg = Postgres::start();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    pg.psql("CREATE TABLE load (id int PRIMARY KEY, val text NOT NULL)");
    connector_file(
        dir.path(),
        &pg,
        &with_small_messages(&[("table.include.list", "public.load")]),
    );
    let port = pg.port();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_w = stop.clone();
    let writer = std::thread::spawn(move || {
        let mut i = 0;
        while !stop_w.load(std::sync::atomic::Ordering::SeqCst) {
            let sql = format!(
                "BEGIN; INSERT INTO load SELECT g, 'v{i}' FROM generate_series({a}, {b}) g; \
                 UPDATE load SET val = 'u{i}' WHERE id % 97 = {m}; DELETE FROM load WHERE id = {d}; COMMIT;",
                a = i * 50,
                b = i * 50 + 49,
                m = i % 97,
                d = i * 13
            );
            psql_c(port, &sql);
            i += 1;
        }
    });
    for round in 0..5u64 {
        let mut child = spawn_run(dir.path(), &k.bootstrap(), &dir.path().join("kconnect.log"));
        std::thread::sleep(Duration::from_millis(700 + round * 350));
        unsafe {
            libc::kill(child.id() as i32, libc::SIGKILL);
        }
        let _ = child.wait();
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    writer.join().unwrap();
    run_once(dir.path(), &k.bootstrap());
    let want = table_rows(&pg);
    assert!(
        want.len() > 100,
        "the writer wrote too little: {}",
        want.len()
    );
    let (got, _) = final_rows(&k.bootstrap(), "dbserver1.public.load", "val");
    let missing: Vec<_> = want
        .iter()
        .filter(|(id, v)| got.get(id) != Some(v))
        .take(5)
        .collect();
    assert!(
        missing.is_empty(),
        "rows whose final state did not arrive: {missing:?} ({} of {})",
        want.len() - got.len().min(want.len()),
        want.len()
    );
    assert_eq!(
        got.len(),
        want.len(),
        "rows that should have been deleted are still there"
    );
}

/// Other tables' writes do not hold WAL back: with the captured table quiet, the slot's
/// confirmed position still follows the WAL (no heartbeat configured).
#[test]
fn slot_moves_while_captured_tables_are_quiet() {
    let pg = Postgres::start();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    pg.psql("CREATE TABLE captured (id int PRIMARY KEY); CREATE TABLE other (id int PRIMARY KEY, t text)");
    connector_file(
        dir.path(),
        &pg,
        &[
            ("table.include.list", "public.captured"),
            ("poll.interval.ms", "100"),
        ],
    );
    let log = dir.path().join("kconnect.log");
    let mut child = spawn_run(dir.path(), &k.bootstrap(), &log);
    let started = support::eventually(Duration::from_secs(30), || {
        let n =
            pg.psql("SELECT active FROM pg_replication_slots WHERE slot_name = 'kconnect_slot'");
        (n == "t").then_some(())
    });
    assert!(
        started.is_some(),
        "kconnect did not start streaming: {}",
        std::fs::read_to_string(&log).unwrap()
    );
    for i in 0..20 {
        pg.psql(&format!(
            "INSERT INTO other SELECT g, repeat('x', 100) FROM generate_series({}, {}) g",
            i * 1000,
            i * 1000 + 999
        ));
    }
    let target = pg.psql("SELECT pg_current_wal_lsn()");
    let moved = support::eventually(Duration::from_secs(30), || {
        let ok = pg.psql(&format!(
            "SELECT confirmed_flush_lsn >= '{target}'::pg_lsn FROM pg_replication_slots WHERE slot_name = 'kconnect_slot'"
        ));
        (ok == "t").then_some(())
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        moved.is_some(),
        "the slot stayed behind {target}: {}",
        pg.psql("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'kconnect_slot'")
    );
    assert!(kafka::consume_all(&k.bootstrap(), "dbserver1.public.other").is_empty());
}

/// A transaction larger than max.batch.size streams in pieces and still ends with the slot
/// confirmed past it.
#[test]
fn large_transaction_streams_in_batches() {
    let pg = Postgres::start();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    pg.psql("CREATE TABLE big (id int PRIMARY KEY, t text); INSERT INTO big VALUES (-1, 'first')");
    connector_file(
        dir.path(),
        &pg,
        &with_small_messages(&[
            ("table.include.list", "public.big"),
            ("max.batch.size", "300"),
            ("max.queue.size", "1000"),
        ]),
    );
    run_once(dir.path(), &k.bootstrap());
    pg.psql("INSERT INTO big SELECT g, 'row ' || g FROM generate_series(1, 5000) g");
    pg.psql("INSERT INTO big VALUES (0, 'after')");
    run_once(dir.path(), &k.bootstrap());
    let (rows, n) = final_rows(&k.bootstrap(), "dbserver1.public.big", "t");
    assert_eq!(n, 5002, "1 snapshot event, 5001 streamed ones");
    assert_eq!(rows.len(), 5002);
    let pending = pg.psql(
        "SELECT count(*) FROM pg_logical_slot_peek_binary_changes('kconnect_slot', NULL, NULL, 'proto_version', '1', 'publication_names', 'kconnect_pub')",
    );
    assert_eq!(pending, "0");
}

/// slot.drop.on.stop drops the slot when the task stops: the replication connection has let
/// go of it by then (a slot still in use cannot be dropped).
#[test]
fn slot_is_dropped_on_stop_when_asked() {
    let pg = Postgres::start();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    pg.psql("CREATE TABLE dropped (id int PRIMARY KEY); INSERT INTO dropped VALUES (1)");
    connector_file(
        dir.path(),
        &pg,
        &[
            ("table.include.list", "public.dropped"),
            ("slot.drop.on.stop", "true"),
        ],
    );
    let out = run_once_output(dir.path(), &k.bootstrap());
    let text = support::output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("streaming changes"), "{text}");
    assert!(text.contains("dropped replication slot"), "{text}");
    assert_eq!(
        pg.psql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'kconnect_slot'"),
        "0"
    );
}
