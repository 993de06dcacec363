//! snapshot.max.threads and snapshot.max.threads.multiplier as Debezium 3.6.3's PostgreSQL
//! connector reads them: a chunked snapshot in key ranges, several sessions in one exported
//! snapshot. Goldens made by the real connector (tests/fixtures/postgres-snapshot-chunks,
//! postgres-snapshot-threads).
//!
//! With one thread the order is fixed (chunks in turn, each ORDER BY the key), and the events
//! are compared one by one. With several, chunks interleave differently from run to run in
//! Debezium too, so each topic is compared as a multiset of events; every row's marker is
//! still fixed (a table's first and last key carry first_in_data_collection and
//! last_in_data_collection, the snapshot's final row last) because the last table of that
//! fixture has rows, and the multiset comparison includes them. What is not deterministic,
//! in Debezium or kconnect: the order of rows across chunks, and of tables whose chunks
//! overlap in time; with an empty last table, which table's last row takes `last`.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value as Json;
use support::kafka;
use support::pg_source::{
    actual, checked_once, compare_events, connector_file, expected_in, fixture_settings, fixtures,
    psql_c, psql_file, replay_fixture, spawn_run,
};
use support::Postgres;

fn fixture(name: &str) -> std::path::PathBuf {
    fixtures().parent().unwrap().join(name)
}

/// One thread, three chunks per table, largest table first: Debezium's exact order.
#[test]
fn one_thread_in_chunks_equals_debeziums() {
    replay_fixture(&fixture("postgres-snapshot-chunks"));
}

fn marker(e: &(Option<Json>, Option<Json>)) -> String {
    e.1.as_ref()
        .and_then(|v| v["payload"]["source"]["snapshot"].as_str())
        .unwrap_or("-")
        .to_string()
}

/// Three threads: every topic holds the events of Debezium's run, markers included, in some
/// order Debezium could have produced; the snapshot's events come before the streamed ones,
/// each table's first-marked row before its others, and the `last` row at the very end.
#[test]
fn three_threads_equal_debeziums_as_multisets() {
    let fx = fixture("postgres-snapshot-threads");
    let pg = Postgres::start();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    psql_file(&pg, &fx.join("setup.sql"));
    let expected = expected_in(&fx);
    for topic in expected.keys() {
        kafka::create_topic(&k.bootstrap(), topic, 1);
    }
    let settings = fixture_settings(&fx);
    let mut extra: Vec<(&str, &str)> = vec![("schema.include.list", "public")];
    extra.extend(settings.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    // Small batches, so that chunks really interleave.
    extra.push(("snapshot.fetch.size", "2"));
    connector_file(dir.path(), &pg, &extra);
    checked_once(dir.path(), &k.bootstrap());
    psql_file(&pg, &fx.join("stream.sql"));
    checked_once(dir.path(), &k.bootstrap());
    let text = |e: &(Option<Json>, Option<Json>)| serde_json::to_string(e).unwrap();
    for (topic, want) in &expected {
        let got = actual(&k.bootstrap(), topic);
        let mut g: Vec<String> = got.iter().map(text).collect();
        let mut w: Vec<String> = want.iter().map(text).collect();
        g.sort();
        w.sort();
        if g != w {
            // The first difference, to read.
            let mut gs = got.clone();
            let mut ws = want.clone();
            gs.sort_by_key(text);
            ws.sort_by_key(text);
            compare_events(&gs, &ws, topic);
        }
        // Within a topic: reads before changes, the table's first-marked row first.
        let ops: Vec<String> = got
            .iter()
            .map(|e| {
                e.1.as_ref()
                    .map_or("tombstone".into(), |v| v["payload"]["op"].to_string())
            })
            .collect();
        let reads = ops.iter().filter(|o| *o == "\"r\"").count();
        assert!(
            ops[..reads].iter().all(|o| o == "\"r\""),
            "{topic}: snapshot reads come first: {ops:?}"
        );
        let firsts: Vec<usize> = got
            .iter()
            .enumerate()
            .filter(|(_, e)| matches!(marker(e).as_str(), "first" | "first_in_data_collection"))
            .map(|(i, _)| i)
            .collect();
        assert!(firsts.iter().all(|&i| i == 0), "{topic}: {firsts:?}");
    }
    // The last row of the last table closes the snapshot.
    let a = actual(&k.bootstrap(), "dbserver1.public.a");
    let reads: Vec<_> = a
        .iter()
        .filter(|e| !matches!(marker(e).as_str(), "-" | "false"))
        .collect();
    assert_eq!(marker(reads.last().unwrap()), "last");
}

/// A parallel snapshot while rows change: with four threads in small chunks and writes going
/// on all along, every row's events are its snapshot value followed by each later change
/// exactly once (values count up by one per update), and the topic ends as the table does.
#[test]
fn a_parallel_snapshot_under_writes_loses_and_repeats_nothing() {
    let pg = Postgres::start();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    pg.psql(
        "CREATE TABLE load (id int PRIMARY KEY, val text NOT NULL); \
         INSERT INTO load SELECT g, '0' FROM generate_series(1, 3000) g",
    );
    kafka::create_topic(&k.bootstrap(), "dbserver1.public.load", 1);
    connector_file(
        dir.path(),
        &pg,
        &[
            ("table.include.list", "public.load"),
            ("snapshot.max.threads", "4"),
            ("snapshot.max.threads.multiplier", "3"),
            ("snapshot.fetch.size", "100"),
        ],
    );
    let port = pg.port();
    let writer = std::thread::spawn(move || {
        for round in 0..30 {
            let sql = format!(
                "UPDATE load SET val = (val::int + 1)::text WHERE id % 50 = {m}; \
                 INSERT INTO load VALUES ({new}, '0'); \
                 DELETE FROM load WHERE id = {gone}; \
                 SELECT pg_sleep(0.02)",
                m = round % 50,
                new = 100_000 + round,
                gone = 1 + round * 97,
            );
            psql_c(port, &sql);
        }
    });
    // One run all along: the snapshot reads while the writer goes on, then streams the rest.
    let log_file = dir.path().join("kconnect.log");
    let mut child = spawn_run(dir.path(), &k.bootstrap(), &log_file);
    writer.join().unwrap();
    let want = support::pg_source::table_rows(&pg);
    let done = support::eventually(Duration::from_secs(120), || {
        let (rows, _) =
            support::pg_source::final_rows(&k.bootstrap(), "dbserver1.public.load", "val");
        (rows == want).then_some(())
    });
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(&log_file).unwrap_or_default();
    assert!(done.is_some(), "the topic never ended as the table: {log}");
    // Per row: one read at most, then the changes, each value one more than the last.
    let mut seen: HashMap<i64, (i64, bool)> = HashMap::new();
    let mut reads = 0;
    for m in kafka::consume_all(&k.bootstrap(), "dbserver1.public.load") {
        let Some(v) = m.value else { continue };
        let v: Json = serde_json::from_slice(&v).unwrap();
        let p = v.get("payload").unwrap_or(&v);
        let op = p["op"].as_str().unwrap();
        let row = if p["after"].is_null() {
            &p["before"]
        } else {
            &p["after"]
        };
        let id = row["id"].as_i64().unwrap();
        let val = |r: &Json| r["val"].as_str().and_then(|s| s.parse::<i64>().ok());
        match op {
            "r" | "c" => {
                reads += usize::from(op == "r");
                assert!(
                    !seen.contains_key(&id),
                    "row {id} created or read twice ({op})"
                );
                seen.insert(id, (val(row).unwrap(), true));
            }
            "u" => {
                let (last, alive) = seen
                    .get(&id)
                    .copied()
                    .unwrap_or_else(|| panic!("update of {id} before its read"));
                assert!(alive, "update of deleted row {id}");
                let now = val(row).unwrap();
                assert_eq!(now, last + 1, "row {id}: an update lost or repeated");
                seen.insert(id, (now, true));
            }
            "d" => {
                let e = seen
                    .get_mut(&id)
                    .unwrap_or_else(|| panic!("delete of {id} before its read"));
                assert!(e.1, "row {id} deleted twice");
                e.1 = false;
            }
            other => panic!("unexpected op {other}"),
        }
    }
    assert!(reads > 0, "no snapshot");
    assert!(log.contains("snapshot chunks"), "a chunked snapshot: {log}");
}

/// Settings kconnect refuses rather than ignores: the legacy table-per-thread pool and
/// per-table multipliers.
#[test]
fn legacy_threads_and_table_multipliers_are_refused() {
    let pg = Postgres::start();
    let k = support::noida_kafka();
    for (key, value) in [
        ("legacy.snapshot.max.threads", "true"),
        ("snapshot.max.threads.multiplier.public.a", "2"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        connector_file(
            dir.path(),
            &pg,
            &[("snapshot.max.threads", "2"), (key, value)],
        );
        let out = support::pg_source::run_once_output(dir.path(), &k.bootstrap());
        let text = support::output_text(&out);
        assert!(!out.status.success() && text.contains(key), "{text}");
    }
}
