//! Incremental snapshots by signal (signal.data.collection, execute-snapshot): the events equal
//! the real Debezium's (tests/fixtures/postgres-incremental*, made by
//! `scripts/gen-postgres-fixtures tests/fixtures/postgres-incremental`), watermark rows
//! included, and the progress in the offsets lets a killed run resume from its chunk.

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use support::pg_source::{
    actual, brief, connector_file, expected_in, fixture_settings, psql_file, run_once, Event,
};
use support::{kafka, Postgres};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Window marks carry a new chunk id and the time they were written: compared by kind.
fn normalize_mark(e: &mut Event) {
    let mark = |id: &mut Json| {
        let s = id.as_str().unwrap_or_default().to_string();
        for end in ["-open", "-close"] {
            if s.ends_with(end) && s.len() > 30 {
                *id = Json::String(format!("<chunk>{end}"));
            }
        }
    };
    if let Some(id) = e.0.as_mut().and_then(|k| k["payload"].get_mut("id")) {
        mark(id);
    }
    if let Some(v) = e.1.as_mut() {
        for side in ["before", "after"] {
            let row = &mut v["payload"][side];
            if let Some(id) = row.get_mut("id") {
                mark(id);
            }
            if row
                .get("type")
                .and_then(Json::as_str)
                .is_some_and(|t| t.starts_with("snapshot-window"))
            {
                row["data"] = Json::String("<timestamps>".into());
            }
        }
    }
}

/// Notifications carry the time they were made, and the initial snapshot's a random id (an
/// incremental snapshot's is its signal's id, compared as it is).
fn normalize_notification(e: &mut Event) {
    let Some(v) = e.1.as_mut() else { return };
    if v["schema"]["name"] != "io.debezium.connector.common.Notification" {
        return;
    }
    let p = &mut v["payload"];
    p["timestamp"] = Json::from(0);
    if p["aggregate_type"] == "Initial Snapshot" {
        p["id"] = Json::String("<uuid>".into());
        if let Some(k) = e.0.as_mut() {
            k["payload"]["id"] = Json::String("<uuid>".into());
        }
    }
}

fn normalize(e: &mut Event) {
    normalize_mark(e);
    normalize_notification(e);
}

/// Replays a fixture (setup.sql, then stream.sql with the connector streaming) and compares
/// every topic with its expected.jsonl.
fn replay(fixture: &Path) {
    let pg = Postgres::start();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    psql_file(&pg, &fixture.join("setup.sql"));
    let expected = expected_in(fixture);
    for topic in expected.keys() {
        kafka::create_topic(&k.bootstrap(), topic, 1);
    }
    let settings = fixture_settings(fixture);
    let mut extra: Vec<(&str, &str)> = vec![("schema.include.list", "public")];
    extra.extend(settings.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    connector_file(dir.path(), &pg, &extra);
    run_once(dir.path(), &k.bootstrap());
    psql_file(&pg, &fixture.join("stream.sql"));
    run_once(dir.path(), &k.bootstrap());
    if std::env::var("PG_TEST_DEBUG").is_ok() {
        for topic in expected.keys() {
            let mut got = actual(&k.bootstrap(), topic);
            got.iter_mut().for_each(normalize);
            eprintln!("{topic}: {:#?}", brief(&got));
        }
    }
    for (topic, want) in expected {
        let mut want = want;
        want.iter_mut().for_each(normalize);
        let mut got = actual(&k.bootstrap(), &topic);
        got.iter_mut().for_each(normalize);
        // The reference streamed stream.sql in the run that started first; kconnect's second
        // `--once` run is a start without a snapshot, which Debezium reports as SKIPPED too.
        let skipped = |e: &Event| {
            e.1.as_ref().is_some_and(|v| {
                v["payload"]["aggregate_type"] == "Initial Snapshot"
                    && v["payload"]["type"] == "SKIPPED"
            })
        };
        if want.iter().any(|e| {
            e.1.as_ref()
                .is_some_and(|v| v["payload"]["aggregate_type"] == "Initial Snapshot")
        }) {
            let want_skipped = want.iter().filter(|e| skipped(e)).count();
            assert_eq!(
                got.iter().filter(|e| skipped(e)).count(),
                want_skipped + 1,
                "one SKIPPED more, at the second start"
            );
            let second = got.iter().rposition(skipped).expect("a SKIPPED");
            got.remove(second);
        }
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
}

/// An execute-snapshot of type blocking from the signal table, between streamed changes: the
/// read events (items through its additional-conditions statement), their snapshot markers,
/// the Initial Snapshot notifications and the changes streamed after it equal Debezium's.
#[test]
fn blocking_snapshot_equals_debeziums() {
    replay(&fixture("postgres-blocking"));
}

/// An execute-snapshot of two tables (one named by regex, one with a composite key) in
/// chunks of 4 rows: read events, window marks and their order equal Debezium's.
#[test]
fn execute_snapshot_equals_debeziums() {
    replay(&fixture("postgres-incremental"));
}

/// pause-snapshot, resume-snapshot (which reads a chunk while the paused one's window is still
/// open, so both go out at the second close mark), log, and stop-snapshot of the second table,
/// all in the stream before the connector reads them: events and window marks equal Debezium's.
#[test]
fn pause_resume_log_and_stop_signals_equal_debeziums() {
    replay(&fixture("postgres-incremental-signals"));
}

/// The same snapshot with read.only=true: no window rows; the chunks go out when the stream
/// shows their readings are past (the first before the signal's own event, the rest at its
/// commit and while the stream is idle), in Debezium's order.
#[test]
fn read_only_execute_snapshot_equals_debeziums() {
    replay(&fixture("postgres-incremental-read-only"));
}

/// notification.enabled.channels=sink,log: the initial snapshot's STARTED, IN_PROGRESS and
/// TABLE_SCAN_COMPLETED per table (an empty one too) and COMPLETED, then an incremental
/// snapshot's STARTED, IN_PROGRESS per chunk, TABLE_SCAN_COMPLETED and COMPLETED, equal
/// Debezium's (times and the initial snapshot's random ids aside), and the signal table's rows
/// are not snapshotted.
#[test]
fn notifications_equal_debeziums() {
    replay(&fixture("postgres-notifications"));
}

/// An incremental snapshot of a table being updated and deleted from everywhere (chunks not
/// read yet, the chunk in its window, chunks already read), with a SIGKILL in the middle: the
/// next run resumes from the chunk in the offsets, not from the table's start; afterwards the
/// last event of every key is the row's final state, and no row appears as a read event after
/// its delete was streamed.
#[test]
fn a_killed_incremental_snapshot_resumes_from_its_chunk_under_writes() {
    killed_snapshot_under_writes(false);
}

/// The same with read.only=true, run as a database user that cannot write (its transactions
/// are read-only by default, it has no INSERT right, the publication is made for it): the
/// windows are pg_current_snapshot() readings, the signal table holds only the signal, and
/// the same guarantees hold.
#[test]
fn a_killed_read_only_incremental_snapshot_resumes_under_writes_without_writing() {
    killed_snapshot_under_writes(true);
}

fn killed_snapshot_under_writes(read_only: bool) {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;
    use support::pg_source::{final_rows, spawn_run, table_rows};

    const ROWS: i64 = 30000;
    let pg = Postgres::start();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    pg.psql("CREATE TABLE dbz_signal (id varchar(64) PRIMARY KEY, type varchar(32), data varchar(2048))");
    pg.psql("CREATE TABLE load (id int PRIMARY KEY, val text)");
    pg.psql(&format!(
        "INSERT INTO load SELECT g, 'v' || g FROM generate_series(1, {ROWS}) g"
    ));
    let topic = "dbserver1.public.load";
    kafka::create_topic(&k.bootstrap(), topic, 1);
    let mut settings = vec![
        ("snapshot.mode", "no_data"),
        ("signal.data.collection", "public.dbz_signal"),
        ("incremental.snapshot.chunk.size", "100"),
    ];
    if read_only {
        pg.psql("CREATE ROLE reader LOGIN REPLICATION PASSWORD 'reader'");
        pg.psql("ALTER ROLE reader SET default_transaction_read_only = on");
        pg.psql("GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader");
        pg.psql("CREATE PUBLICATION kconnect_pub FOR ALL TABLES");
        settings.extend([
            ("read.only", "true"),
            ("database.user", "reader"),
            ("database.password", "reader"),
        ]);
    }
    connector_file(
        dir.path(),
        &pg,
        &support::pg_source::with_small_messages(&settings),
    );
    let slot_active = || {
        support::eventually(Duration::from_secs(60), || {
            (pg.psql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'kconnect_slot' AND active") == "1").then_some(())
        })
    };
    let first_log = dir.path().join("first.log");
    let mut child = spawn_run(dir.path(), &k.bootstrap(), &first_log);
    slot_active().expect("the connector never started streaming");

    // Updates and deletes spread over the whole table, for the whole test.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let port = pg.port();
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(
                &format!(
                    "host=127.0.0.1 port={port} user=postgres password=postgres dbname=postgres"
                ),
                postgres::NoTls,
            )
            .unwrap();
            let mut x: u64 = 12345;
            let mut i = 0u64;
            while !stop.load(Ordering::SeqCst) {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let id = ((x >> 33) % ROWS as u64) as i32 + 1;
                if i % 4 == 0 {
                    c.execute("DELETE FROM load WHERE id = $1", &[&id]).unwrap();
                } else {
                    c.execute(
                        "UPDATE load SET val = $1 WHERE id = $2",
                        &[&format!("u{i}"), &id],
                    )
                    .unwrap();
                }
                i += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
            i
        })
    };
    pg.psql(r#"INSERT INTO dbz_signal VALUES ('snap-1', 'execute-snapshot', '{"data-collections": ["public.load"]}')"#);
    // Kill once a good part of the table, but not all of it, is in Kafka.
    let stored = kill_midway(
        &mut child,
        (&k.bootstrap(), topic, ROWS / 5),
        &first_log,
        dir.path(),
        "incremental",
    );
    assert!(
        stored.contains("incremental_snapshot_primary_key"),
        "{stored}"
    );

    let second_log = dir.path().join("second.log");
    let mut child = spawn_run(dir.path(), &k.bootstrap(), &second_log);
    let done = support::eventually(Duration::from_secs(180), || {
        std::fs::read_to_string(&second_log)
            .unwrap_or_default()
            .contains("incremental snapshot completed")
            .then_some(())
    });
    stop.store(true, Ordering::SeqCst);
    let writes = writer.join().unwrap();
    let want = table_rows(&pg);
    let settled = support::eventually(Duration::from_secs(60), || {
        (final_rows(&k.bootstrap(), topic, "val").0 == want).then_some(())
    });
    child.kill().unwrap();
    let _ = child.wait();
    let second = std::fs::read_to_string(&second_log).unwrap_or_default();
    done.unwrap_or_else(|| panic!("the resumed snapshot never completed: {second}"));
    assert!(
        second.contains("an incremental snapshot was in progress"),
        "{second}"
    );
    let (got, _) = final_rows(&k.bootstrap(), topic, "val");
    assert!(
        settled.is_some(),
        "{} of {} rows differ from the table's final state after {writes} writes",
        want.iter().filter(|(id, v)| got.get(id) != Some(v)).count()
            + got.keys().filter(|id| !want.contains_key(id)).count(),
        want.len()
    );

    // Event by event: reads per key, and no read after the key's delete.
    let mut reads: HashMap<i64, usize> = HashMap::new();
    let mut deleted: HashMap<i64, bool> = HashMap::new();
    for m in kafka::consume_all(&k.bootstrap(), topic) {
        let key: Json = serde_json::from_slice(m.key.as_ref().unwrap()).unwrap();
        let id = key.get("payload").unwrap_or(&key)["id"].as_i64().unwrap();
        let Some(v) = m.value else { continue };
        let v: Json = serde_json::from_slice(&v).unwrap();
        match v["op"].as_str().unwrap() {
            "r" => {
                assert_eq!(v["source"]["snapshot"], "incremental");
                assert!(
                    !deleted.get(&id).copied().unwrap_or(false),
                    "row {id} was read by the snapshot after its delete was streamed"
                );
                *reads.entry(id).or_default() += 1;
            }
            "d" => {
                deleted.insert(id, true);
            }
            _ => {}
        }
    }
    // The first chunk was read once: the second run did not start the table over.
    assert_eq!(
        reads.get(&1).copied().unwrap_or(0),
        1,
        "row 1 read {:?} times; stored offsets after the kill: {stored}",
        reads.get(&1)
    );
    let total: usize = reads.values().sum();
    assert!(
        total < (ROWS as usize) * 3 / 2,
        "{total} read events for {ROWS} rows: the snapshot was not resumed from its chunk"
    );
    // (A row changed while its chunk was in the window is not read: its streamed event
    // stands for it, and the final-state check above covers it.)
    if read_only {
        assert_eq!(
            pg.psql("SELECT string_agg(id, ',') FROM dbz_signal"),
            "snap-1",
            "a read.only snapshot wrote to the signal table"
        );
    }
}

/// SIGKILLs a run once `topic` holds `at_least` records and an offsets flush (every 200 ms
/// here) has passed, and checks the `kind` snapshot had started and not completed. Returns
/// the stored offsets (`kconnect offsets list --json`).
fn kill_midway(
    child: &mut std::process::Child,
    (bootstrap, topic, at_least): (&str, &str, i64),
    log: &Path,
    dir: &Path,
    kind: &str,
) -> String {
    use std::time::Duration;
    let progressed = support::eventually(Duration::from_secs(120), || {
        (kafka::end_offset(bootstrap, topic) >= at_least).then_some(())
    });
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    let first = std::fs::read_to_string(log).unwrap_or_default();
    progressed.unwrap_or_else(|| panic!("the {kind} snapshot made no progress: {first}"));
    assert!(
        !first.contains(&format!("{kind} snapshot completed")),
        "the snapshot ended before the kill; nothing to resume: {first}"
    );
    let listed = support::kconnect(dir)
        .args(["offsets", "list", "--json", "--offsets"])
        .arg(dir.join("offsets"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&listed.stdout).into_owned()
}

/// A SIGKILL during a blocking snapshot: as Debezium 3.6.3 does (its offsets then say
/// `snapshot: BLOCKING`, `snapshot_completed: false` at the stream's position after the
/// signal), the next run does not take the snapshot again and streams on from after the
/// signal, so the change written after the signal arrives once the run resumes.
#[test]
fn a_killed_blocking_snapshot_is_not_taken_again_and_streaming_goes_on() {
    use std::time::Duration;
    use support::pg_source::{final_rows, spawn_run};

    let pg = Postgres::start();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    pg.psql("CREATE TABLE dbz_signal (id varchar(64) PRIMARY KEY, type varchar(32), data varchar(2048))");
    pg.psql("CREATE TABLE load (id int PRIMARY KEY, val text)");
    pg.psql("INSERT INTO load SELECT g, 'v' || g FROM generate_series(1, 20000) g");
    let topic = "dbserver1.public.load";
    kafka::create_topic(&k.bootstrap(), topic, 1);
    connector_file(
        dir.path(),
        &pg,
        &support::pg_source::with_small_messages(&[
            ("snapshot.mode", "no_data"),
            ("signal.data.collection", "public.dbz_signal"),
            ("snapshot.fetch.size", "100"),
        ]),
    );
    let slot_active = || {
        support::eventually(Duration::from_secs(60), || {
            (pg.psql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'kconnect_slot' AND active") == "1").then_some(())
        })
    };
    let first_log = dir.path().join("first.log");
    let mut child = spawn_run(dir.path(), &k.bootstrap(), &first_log);
    slot_active().expect("the connector never started streaming");
    pg.psql("INSERT INTO load VALUES (30001, 'before')");
    // The snapshot's statement reads 1000 rows at once, then one row every 50 ms: the kill
    // lands in the middle of it.
    pg.psql(r#"INSERT INTO dbz_signal VALUES ('blk-1', 'execute-snapshot', '{"data-collections": ["public.load"], "type": "blocking", "additional-conditions": [{"data-collection": "public.load", "filter": "SELECT * FROM public.load WHERE id <= 1000 OR pg_sleep(0.05) IS NOT NULL ORDER BY id"}]}')"#);
    pg.psql("INSERT INTO load VALUES (30002, 'after')");
    let stored = kill_midway(
        &mut child,
        (&k.bootstrap(), topic, 1000),
        &first_log,
        dir.path(),
        "blocking",
    );
    assert!(stored.contains("BLOCKING"), "{stored}");
    assert!(stored.contains("snapshot_completed"), "{stored}");

    let second_log = dir.path().join("second.log");
    let mut child = spawn_run(dir.path(), &k.bootstrap(), &second_log);
    slot_active().expect("the second run never started streaming");
    pg.psql("INSERT INTO load VALUES (30003, 'second run')");
    let settled = support::eventually(Duration::from_secs(60), || {
        let (rows, _) = final_rows(&k.bootstrap(), topic, "val");
        (rows.contains_key(&30003)).then_some(rows)
    });
    child.kill().unwrap();
    let _ = child.wait();
    let second = std::fs::read_to_string(&second_log).unwrap_or_default();
    let rows = settled.unwrap_or_else(|| panic!("the second run streamed nothing: {second}"));
    assert_eq!(rows.get(&30002).map(String::as_str), Some("after"));
    assert!(
        !second.contains("blocking snapshot started"),
        "the snapshot was taken again: {second}"
    );
    let mut reads = 0;
    let mut changes = Vec::new();
    for m in kafka::consume_all(&k.bootstrap(), topic) {
        let v: Json = serde_json::from_slice(m.value.as_ref().unwrap()).unwrap();
        match v["op"].as_str().unwrap() {
            "r" => {
                assert_ne!(v["source"]["snapshot"], "false");
                reads += 1;
            }
            _ => changes.push(v["after"]["id"].as_i64().unwrap()),
        }
    }
    assert!((1000..20000).contains(&reads), "{reads} read events");
    // Each change once: 'before' ahead of the snapshot, 'after' and the second run's after it.
    assert_eq!(changes, vec![30001, 30002, 30003]);
}

/// additional-conditions, string and bigint keys, and insert_delete watermarks (the open row's
/// delete, with its tombstone, closes the window); a log signal changes nothing else.
#[test]
fn conditions_and_insert_delete_equal_debeziums() {
    replay(&fixture("postgres-incremental-conditions"));
}

/// The file channel: an execute-snapshot line in signal.file snapshots the table, and the
/// file is emptied once read.
#[test]
fn the_file_channel_starts_a_snapshot() {
    file_channel_snapshot(false);
}

/// The same with read.only=true and no signal table at all, on a database where nothing
/// else happens: the stream has seen no transaction, and the chunks still go out while idle.
#[test]
fn the_file_channel_starts_a_read_only_snapshot_without_a_signal_table() {
    file_channel_snapshot(true);
}

fn file_channel_snapshot(read_only: bool) {
    let pg = Postgres::start();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    psql_file(&pg, &fixture("postgres-incremental").join("setup.sql"));
    let signals = dir.path().join("signals.txt");
    let file = signals.to_str().unwrap().to_string();
    let mut settings = vec![
        ("schema.include.list", "public"),
        ("snapshot.mode", "no_data"),
        ("signal.file", &file),
        ("signal.poll.interval.ms", "0"),
    ];
    if read_only {
        settings.extend([("signal.enabled.channels", "file"), ("read.only", "true")]);
    } else {
        settings.extend([
            ("signal.data.collection", "public.dbz_signal"),
            ("signal.enabled.channels", "source,file"),
        ]);
    }
    connector_file(dir.path(), &pg, &settings);
    run_once(dir.path(), &k.bootstrap());
    std::fs::write(
        &signals,
        "{\"id\": \"f-1\", \"type\": \"execute-snapshot\", \"data\": {\"data-collections\": [\"public.items\"], \"type\": \"incremental\"}}\n",
    )
    .unwrap();
    run_once(dir.path(), &k.bootstrap());
    let reads: Vec<i64> = actual(&k.bootstrap(), "dbserver1.public.items")
        .iter()
        .filter_map(|(k, v)| {
            let p = &v.as_ref()?["payload"];
            (p["op"] == "r" && p["source"]["snapshot"] == "incremental")
                .then(|| k.as_ref().unwrap()["payload"]["id"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(reads, (1..=10).collect::<Vec<_>>());
    assert_eq!(std::fs::read_to_string(&signals).unwrap(), "");
}

/// PostgreSQL with the incremental fixture's tables (and `more_sql` after them), a connector
/// with the source and file signal channels plus `extra`, run once so that its slot exists;
/// and the signal file.
fn with_file_signals(
    more_sql: &str,
    extra: &[(&str, &str)],
) -> (Postgres, support::Kafka, tempfile::TempDir, PathBuf) {
    let pg = Postgres::start();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    psql_file(&pg, &fixture("postgres-incremental").join("setup.sql"));
    if !more_sql.is_empty() {
        pg.psql(more_sql);
    }
    let signals = dir.path().join("signals.txt");
    let file = signals.to_str().unwrap().to_string();
    let mut settings = vec![
        ("schema.include.list", "public"),
        ("snapshot.mode", "no_data"),
        ("signal.data.collection", "public.dbz_signal"),
        ("signal.enabled.channels", "source,file"),
        ("signal.file", &file),
        ("signal.poll.interval.ms", "0"),
    ];
    settings.extend_from_slice(extra);
    connector_file(dir.path(), &pg, &settings);
    run_once(dir.path(), &k.bootstrap());
    (pg, k, dir, signals)
}

/// The snapshot reads (`op` r) of public.items in topic order: id and snapshot marker.
fn item_reads(bootstrap: &str) -> Vec<(i64, String)> {
    actual(bootstrap, "dbserver1.public.items")
        .iter()
        .filter_map(|(k, v)| {
            let p = &v.as_ref()?["payload"];
            (p["op"] == "r").then(|| {
                (
                    k.as_ref().unwrap()["payload"]["id"].as_i64().unwrap(),
                    p["source"]["snapshot"].as_str().unwrap().to_string(),
                )
            })
        })
        .collect()
}

/// A blocking snapshot from the file channel (outside any transaction): the rows its
/// additional-conditions statement selects, with the initial snapshot's markers.
#[test]
fn the_file_channel_starts_a_blocking_snapshot() {
    let (_pg, k, dir, signals) = with_file_signals("", &[]);
    std::fs::write(
        &signals,
        "{\"id\": \"f-b\", \"type\": \"execute-snapshot\", \"data\": {\"data-collections\": [\"PUBLIC.ITEMS\"], \"type\": \"blocking\", \"additional-conditions\": [{\"data-collection\": \"public.items\", \"filter\": \"SELECT * FROM public.items WHERE id > 7\"}]}}\n",
    )
    .unwrap();
    run_once(dir.path(), &k.bootstrap());
    run_once(dir.path(), &k.bootstrap());
    assert_eq!(
        item_reads(&k.bootstrap()),
        vec![
            (8, "first".to_string()),
            (9, "true".to_string()),
            (10, "last".to_string())
        ]
    );
}

/// The Kafka channel (Debezium's KafkaSignalChannel): a message keyed by the topic.prefix on
/// `<topic.prefix>-signal` starts an incremental snapshot; one with another key is ignored;
/// the consumer group's committed offset keeps a later run from acting on it again.
#[test]
fn the_kafka_channel_starts_a_snapshot_once() {
    let pg = Postgres::start();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    psql_file(&pg, &fixture("postgres-incremental").join("setup.sql"));
    let bootstrap = k.bootstrap();
    connector_file(
        dir.path(),
        &pg,
        &[
            ("schema.include.list", "public"),
            ("snapshot.mode", "no_data"),
            ("signal.data.collection", "public.dbz_signal"),
            ("signal.enabled.channels", "source,kafka"),
            ("signal.kafka.bootstrap.servers", &bootstrap),
            ("signal.kafka.groupId", "kconnect-test-signals"),
            ("signal.poll.interval.ms", "100"),
        ],
    );
    kafka::create_topic(&bootstrap, "dbserver1-signal", 1);
    run_once(dir.path(), &bootstrap);
    let signal = |id: &str, table: &str| {
        format!("{{\"id\": \"{id}\", \"type\": \"execute-snapshot\", \"data\": {{\"data-collections\": [\"{table}\"], \"type\": \"incremental\"}}}}")
    };
    let (wrong, right) = (
        signal("k-0", "public.order_lines"),
        signal("k-1", "public.items"),
    );
    kafka::produce(
        &bootstrap,
        "dbserver1-signal",
        &[
            (
                Some(b"another-connector".as_slice()),
                Some(wrong.as_bytes()),
                vec![],
            ),
            (
                Some(b"dbserver1".as_slice()),
                Some(right.as_bytes()),
                vec![],
            ),
        ],
    );
    run_once(dir.path(), &bootstrap);
    let reads = |topic: &str| -> usize {
        actual(&bootstrap, topic)
            .iter()
            .filter(|(_, v)| {
                v.as_ref().is_some_and(|v| {
                    v["payload"]["op"] == "r" && v["payload"]["source"]["snapshot"] == "incremental"
                })
            })
            .count()
    };
    assert_eq!(reads("dbserver1.public.items"), 10);
    assert_eq!(
        reads("dbserver1.public.order_lines"),
        0,
        "the other connector's signal"
    );
    // Read once: a third run snapshots nothing again.
    run_once(dir.path(), &bootstrap);
    assert_eq!(reads("dbserver1.public.items"), 10);
}

/// pause-snapshot holds the snapshot after the chunk in its window; a restart goes on from the
/// stored chunk (Debezium does not keep a pause across restarts either); stop-snapshot ends it
/// when the next chunk is due.
#[test]
fn pause_and_stop_signals_hold_and_end_the_snapshot() {
    let pg = Postgres::start();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    psql_file(&pg, &fixture("postgres-incremental").join("setup.sql"));
    connector_file(
        dir.path(),
        &pg,
        &[
            ("schema.include.list", "public"),
            ("snapshot.mode", "no_data"),
            ("signal.data.collection", "public.dbz_signal"),
            ("incremental.snapshot.chunk.size", "2"),
        ],
    );
    run_once(dir.path(), &k.bootstrap());
    let reads = || -> Vec<i64> {
        actual(&k.bootstrap(), "dbserver1.public.items")
            .iter()
            .filter_map(|(k, v)| {
                let p = &v.as_ref()?["payload"];
                (p["op"] == "r").then(|| k.as_ref().unwrap()["payload"]["id"].as_i64().unwrap())
            })
            .collect()
    };
    // The pause arrives (same transaction) before the first chunk's window closes.
    pg.psql(
        r#"BEGIN; INSERT INTO dbz_signal VALUES ('s-1', 'execute-snapshot', '{"data-collections": ["public.items"]}'); INSERT INTO dbz_signal VALUES ('p-1', 'pause-snapshot', NULL); COMMIT"#,
    );
    run_once(dir.path(), &k.bootstrap());
    assert_eq!(reads(), [1, 2], "paused after the first chunk");
    // Restarted: the next chunk is read; the stop then ends the snapshot.
    pg.psql(r#"INSERT INTO dbz_signal VALUES ('x-1', 'stop-snapshot', '{"data-collections": ["public\\.it.*"], "type": "incremental"}')"#);
    run_once(dir.path(), &k.bootstrap());
    assert_eq!(
        reads(),
        [1, 2, 3, 4],
        "stopped after the chunk read at the restart"
    );
    run_once(dir.path(), &k.bootstrap());
    assert_eq!(reads(), [1, 2, 3, 4], "nothing resumed after the stop");
}

/// A table added to table.include.list and named by an execute-snapshot signal is backfilled
/// while the stream goes on from its offset: every row of the new table (those written while
/// it was not captured too) arrives, its later changes stream, and the table already captured
/// is neither snapshotted again nor missing a change.
#[test]
fn a_table_added_to_the_include_list_is_backfilled_by_signal() {
    let pg = Postgres::start();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    pg.psql("CREATE TABLE dbz_signal (id varchar(64) PRIMARY KEY, type varchar(32), data varchar(2048))");
    pg.psql("CREATE TABLE kept (id int PRIMARY KEY, val text)");
    pg.psql("INSERT INTO kept SELECT g, 'k' || g FROM generate_series(1, 5) g");
    pg.psql("CREATE TABLE added (id int PRIMARY KEY, val text)");
    pg.psql("INSERT INTO added SELECT g, 'a' || g FROM generate_series(1, 7) g");
    let settings = |include: &'static str| {
        vec![
            ("table.include.list", include),
            ("signal.data.collection", "public.dbz_signal"),
            ("incremental.snapshot.chunk.size", "3"),
        ]
    };
    connector_file(dir.path(), &pg, &settings("public.kept"));
    run_once(dir.path(), &k.bootstrap());
    pg.psql("INSERT INTO kept VALUES (6, 'k6')");
    pg.psql("INSERT INTO added VALUES (8, 'a8')");

    connector_file(dir.path(), &pg, &settings("public.kept,public.added"));
    pg.psql(r#"INSERT INTO dbz_signal VALUES ('add-1', 'execute-snapshot', '{"data-collections": ["public.added"]}')"#);
    pg.psql("UPDATE added SET val = 'a2x' WHERE id = 2");
    pg.psql("UPDATE kept SET val = 'k1x' WHERE id = 1");
    run_once(dir.path(), &k.bootstrap());

    let ops = |topic: &str| -> Vec<(i64, String, String)> {
        actual(&k.bootstrap(), topic)
            .iter()
            .filter_map(|(key, v)| {
                let p = &v.as_ref()?["payload"];
                let id = key.as_ref()?["payload"]["id"].as_i64()?;
                let val = p["after"]["val"].as_str().unwrap_or_default().to_string();
                Some((id, p["op"].as_str()?.to_string(), val))
            })
            .collect()
    };
    let kept = ops("dbserver1.public.kept");
    assert_eq!(
        kept.iter().filter(|(_, op, _)| op == "r").count(),
        5,
        "kept is snapshotted once, at the first run: {kept:?}"
    );
    assert_eq!(
        &kept[5..],
        &[(6, "c".into(), "k6".into()), (1, "u".into(), "k1x".into())],
        "kept's changes stream on from the offset: {kept:?}"
    );
    let added = ops("dbserver1.public.added");
    let mut last: std::collections::BTreeMap<i64, String> = Default::default();
    for (id, _, val) in &added {
        last.insert(*id, val.clone());
    }
    let want: std::collections::BTreeMap<i64, String> = (1..=8)
        .map(|i| {
            (
                i,
                if i == 2 {
                    "a2x".into()
                } else {
                    format!("a{i}")
                },
            )
        })
        .collect();
    assert_eq!(
        last, want,
        "every row of the added table, last state last: {added:?}"
    );
    assert!(
        added.iter().any(|(_, op, _)| op == "r"),
        "the added table is read by the incremental snapshot: {added:?}"
    );
}

/// A blocking snapshot with `snapshot.max.threads` (Debezium's chunked snapshot): every row
/// once, one first and one last marker, and streaming goes on after it.
#[test]
fn a_blocking_snapshot_reads_in_chunks_with_threads() {
    let (pg, k, dir, signals) = with_file_signals(
        "INSERT INTO public.items SELECT g, 'bulk' || g FROM generate_series(11, 3000) g",
        &[("snapshot.max.threads", "3")],
    );
    std::fs::write(
        &signals,
        "{\"id\": \"f-bt\", \"type\": \"execute-snapshot\", \"data\": {\"data-collections\": [\"public.items\"], \"type\": \"blocking\"}}\n",
    )
    .unwrap();
    run_once(dir.path(), &k.bootstrap());
    pg.psql("INSERT INTO public.items VALUES (5000, 'after')");
    run_once(dir.path(), &k.bootstrap());
    let mut reads = item_reads(&k.bootstrap());
    let markers = |m: &str| reads.iter().filter(|(_, s)| s == m).count();
    assert_eq!((markers("first"), markers("last")), (1, 1), "{reads:?}");
    assert_eq!(markers("true"), 2998);
    reads.sort();
    assert_eq!(
        reads.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        (1..=3000).collect::<Vec<_>>()
    );
    let created: Vec<i64> = actual(&k.bootstrap(), "dbserver1.public.items")
        .iter()
        .filter_map(|(_, v)| {
            let p = &v.as_ref()?["payload"];
            (p["op"] == "c").then(|| p["after"]["id"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(created, vec![5000], "streaming goes on after the snapshot");
}
