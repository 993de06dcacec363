//! The JDBC sink when things go wrong: bad records named with table, column and coordinates,
//! tolerated ones skipped, a dropped table recreated, a restarted database losing nothing.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;

use support::jdbc_sink::{
    connector, env, envelope, field, key, produce, rows, run_once, simple, simple_schema, stderr,
    struct_schema, Env, Rec,
};
use support::kafka;

#[test]
fn bad_records_name_table_column_and_coordinates() {
    let e = env();
    e.pg.psql("CREATE TABLE strict (id int PRIMARY KEY, name text NOT NULL, score int)");
    // A value that does not parse as the column's type (offset 1).
    let text_score = struct_schema(
        "s",
        &[
            field("id", "int32", false),
            field("name", "string", true),
            field("score", "string", true),
        ],
    );
    produce(
        &e,
        "strict",
        &[
            (None, simple(1, "a", 1)),
            (
                None,
                Some(envelope(
                    &text_score,
                    json!({"id": 2, "name": "b", "score": "lots"}),
                )),
            ),
        ],
    );
    let conn = connector(&e, "strict", "strict", &[]);
    let out = run_once(&e, &conn);
    assert!(!out.status.success(), "{}", support::output_text(&out));
    let err = stderr(&out);
    assert!(err.contains("strict-0@1"), "{err}");
    assert!(err.contains("\"strict\""), "{err}");
    assert!(err.contains("\"score\""), "{err}");
    assert!(err.contains("lots"), "{err}");
    // The batch is one transaction: the good record before it is not there either.
    assert_eq!(e.pg.psql("SELECT count(*) FROM strict"), "0");

    // A NOT NULL column the record leaves null.
    produce(
        &e,
        "strict2",
        &[
            (None, simple(1, "a", 1)),
            (
                None,
                Some(envelope(
                    &simple_schema(),
                    json!({"id": 3, "name": null, "score": 1}),
                )),
            ),
        ],
    );
    let conn = connector(&e, "strict2", "strict2", &[("table.name.format", "strict")]);
    let out = run_once(&e, &conn);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("strict2-0@1") && err.contains("\"name\""),
        "{err}"
    );
    assert!(err.contains("not-null"), "{err}");

    // A NOT NULL column the record has no field for.
    let no_name = struct_schema("n", &[field("id", "int32", false)]);
    produce(
        &e,
        "strict3",
        &[(None, Some(envelope(&no_name, json!({"id": 4}))))],
    );
    let conn = connector(&e, "strict3", "strict3", &[("table.name.format", "strict")]);
    let out = run_once(&e, &conn);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("strict3-0@0") && err.contains("\"name\"") && err.contains("NOT NULL"),
        "{err}"
    );

    // A missing table without auto.create, and a tombstone without delete.enabled.
    produce(&e, "nowhere", &[(None, simple(1, "a", 1))]);
    let out = run_once(&e, &connector(&e, "nowhere", "nowhere", &[]));
    assert!(stderr(&out).contains("auto.create"), "{}", stderr(&out));
    produce(&e, "tomb", &[(key(1), None)]);
    let out = run_once(
        &e,
        &connector(
            &e,
            "tomb",
            "tomb",
            &[("pk.mode", "record_key"), ("table.name.format", "strict")],
        ),
    );
    assert!(stderr(&out).contains("delete.enabled"), "{}", stderr(&out));
}

/// The target database goes away mid-load (immediate shutdown) and comes back: the failed
/// batches are retried whole and every record arrives exactly once per key.
#[test]
fn restart_of_target_database_loses_nothing() {
    let mut e = env();
    let n = 8_000;
    let recs: Vec<Rec> = (0..n)
        .map(|i| (key(i), simple(i, &format!("n{i}"), i as i64 * 2)))
        .collect();
    produce(&e, "load", &recs);
    let ids: Vec<i64> = (0..n as i64).collect();
    let conn = connector(
        &e,
        "load",
        "load",
        &[
            ("pk.mode", "record_key"),
            ("insert.mode", "upsert"),
            ("auto.create", "true"),
            ("table.name.format", "load_copy"),
            ("max.retries", "100"),
            ("retry.backoff.ms", "300"),
            ("connection.backoff.ms", "300"),
            ("consumer.override.max.poll.records", "25"),
        ],
    );
    let dir = e.dir.path().to_path_buf();
    support::write(&dir, "connectors.d/load.json", &conn.to_string());
    let child = support::kconnect(&dir)
        .args(["run", "--once", "-b", &e.kafka.bootstrap(), "--offsets"])
        .arg(dir.join("offsets"))
        .arg(dir.join("connectors.d/load.json"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = support::eventually(Duration::from_secs(60), || {
        let c: i64 =
            e.pg.psql_try("SELECT count(*) FROM load_copy")
                .ok()?
                .parse()
                .ok()?;
        (c > 0).then_some(c)
    });
    assert!(started.is_some(), "no rows arrived before the restart");
    e.pg.restart(Duration::from_millis(1500));
    let start = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", support::output_text(&out));
    assert!(start.elapsed() < Duration::from_secs(120));
    assert!(
        stderr(&out).contains("retrying"),
        "the restart was not noticed: {}",
        support::output_text(&out)
    );
    assert_eq!(
        e.pg.psql("SELECT count(*), sum(id), sum(score), count(DISTINCT name) FROM load_copy"),
        format!(
            "{}|{}|{}|{}",
            ids.len(),
            ids.iter().sum::<i64>(),
            ids.iter().map(|i| i * 2).sum::<i64>(),
            ids.len()
        )
    );
}

/// With errors.tolerance=all the records the table refuses are skipped and the rest of their
/// batch is written, as Confluent's sink does through Connect's errant record reporter.
#[test]
fn tolerated_bad_records_are_skipped() {
    let e = env();
    e.pg.psql("CREATE TABLE tolerant (id int PRIMARY KEY, name text NOT NULL, score int)");
    let text_score = struct_schema(
        "s",
        &[
            field("id", "int32", false),
            field("name", "string", true),
            field("score", "string", true),
        ],
    );
    produce(
        &e,
        "tolerant",
        &[
            (None, simple(1, "a", 1)),
            (
                None,
                Some(envelope(
                    &text_score,
                    json!({"id": 2, "name": "b", "score": "lots"}),
                )),
            ),
            (None, simple(3, "c", 3)),
            (
                None,
                Some(envelope(
                    &simple_schema(),
                    json!({"id": 4, "name": null, "score": 4}),
                )),
            ),
            (None, simple(5, "e", 5)),
        ],
    );
    let conn = connector(
        &e,
        "tolerant",
        "tolerant",
        &[
            ("errors.tolerance", "all"),
            ("errors.log.enable", "true"),
            ("errors.deadletterqueue.topic.name", "tolerant-dlq"),
            ("errors.deadletterqueue.topic.replication.factor", "1"),
            ("errors.deadletterqueue.context.headers.enable", "true"),
        ],
    );
    let out = run_once(&e, &conn);
    assert!(out.status.success(), "{}", support::output_text(&out));
    let err = stderr(&out);
    assert!(
        err.contains("record tolerant-0@1 failed in stage TASK_PUT")
            && err.contains("record tolerant-0@3 failed in stage TASK_PUT"),
        "{err}"
    );
    assert_eq!(
        rows(&e.pg, "SELECT id FROM tolerant ORDER BY id"),
        vec!["1", "3", "5"]
    );
    // The refused records reach the dead letter queue as they were consumed, like any sink error.
    let dlq = kafka::consume_all(&e.kafka.bootstrap(), "tolerant-dlq");
    let offsets: Vec<String> = dlq
        .iter()
        .filter_map(|m| m.header("__connect.errors.offset"))
        .collect();
    assert_eq!(offsets, vec!["1", "3"]);
    assert!(dlq
        .iter()
        .all(|m| m.header("__connect.errors.stage").as_deref() == Some("TASK_PUT")));
    assert!(dlq[0].value_str().unwrap().contains("\"lots\""));
}

/// A table dropped behind a running sink's back is created again for the next records
/// instead of failing on the cached metadata.
#[test]
fn table_dropped_while_running_is_recreated() {
    let e = env();
    produce(&e, "dropped", &[(None, simple(1, "a", 1))]);
    let conn = connector(
        &e,
        "dropped",
        "dropped",
        &[
            ("auto.create", "true"),
            ("pk.mode", "record_value"),
            ("pk.fields", "id"),
            ("insert.mode", "upsert"),
        ],
    );
    let dir = e.dir.path().to_path_buf();
    support::write(&dir, "connectors.d/dropped.json", &conn.to_string());
    let mut child = support::kconnect(&dir)
        .args(["run", "-b", &e.kafka.bootstrap(), "--offsets"])
        .arg(dir.join("offsets"))
        .arg(dir.join("connectors.d/dropped.json"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let count = |e: &Env| e.pg.psql_try("SELECT count(*) FROM dropped").ok();
    let first = support::eventually(Duration::from_secs(60), || {
        (count(&e).as_deref() == Some("1")).then_some(())
    });
    e.pg.psql("DROP TABLE dropped");
    produce(&e, "dropped", &[(None, simple(2, "b", 2))]);
    let second = support::eventually(Duration::from_secs(60), || {
        (count(&e).as_deref() == Some("1")).then_some(())
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(first.is_some(), "the first record never arrived");
    assert!(second.is_some(), "the table was not recreated");
    assert_eq!(e.pg.psql("SELECT id, name FROM dropped"), "2|b");
}

/// A long-running worker rides out a target database that stays down past max.retries: the
/// task keeps retrying (Confluent's would fail and wait for a restart), the worker says so once
/// rather than at every attempt, and every record written while the database was down arrives.
#[test]
fn a_long_running_worker_rides_out_the_target_past_max_retries() {
    let mut e = env();
    kafka::create_topic(&e.kafka.bootstrap(), "ride", 1);
    let conn = connector(
        &e,
        "ride",
        "ride",
        &[
            ("pk.mode", "record_key"),
            ("insert.mode", "upsert"),
            ("auto.create", "true"),
            ("table.name.format", "ride_copy"),
            ("max.retries", "1"),
            ("retry.backoff.ms", "200"),
            ("connection.attempts", "1"),
        ],
    );
    let dir = e.dir.path().to_path_buf();
    support::write(&dir, "connectors.d/ride.json", &conn.to_string());
    let log = dir.join("kconnect.log");
    let mut worker = support::kconnect(&dir)
        .args(["run", "-b", &e.kafka.bootstrap(), "--offsets"])
        .arg(dir.join("offsets"))
        .arg(dir.join("connectors.d"))
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let values: Vec<(String, String)> = (0..40)
        .map(|i| {
            (
                key(i).unwrap(),
                simple(i, &format!("n{i}"), i as i64).unwrap(),
            )
        })
        .collect();
    let bootstrap = e.kafka.bootstrap();
    std::thread::scope(|s| {
        // Records arrive while the database is down for 8 s.
        let writer = s.spawn(|| {
            std::thread::sleep(Duration::from_millis(1500));
            let recs: Vec<kafka::Rec<'_>> = values
                .iter()
                .map(|(k, v)| (Some(k.as_bytes()), Some(v.as_bytes()), vec![]))
                .collect();
            kafka::produce(&bootstrap, "ride", &recs);
        });
        e.pg.restart(Duration::from_secs(8));
        writer.join().unwrap();
    });
    let arrived = support::eventually(Duration::from_secs(60), || {
        (e.pg.psql_try("SELECT count(*) FROM ride_copy").ok()? == "40").then_some(())
    });
    let alive = worker.try_wait().unwrap().is_none();
    let _ = worker.kill();
    let _ = worker.wait();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(alive && arrived.is_some(), "{text}");
    assert!(!text.contains("giving up"), "{text}");
    assert_eq!(text.matches("down since").count(), 1, "said once: {text}");
    assert!(text.contains("back after"), "{text}");
}
