//! Debezium's restart rules in the PostgreSQL source: guardrail.collections.max checked at
//! start, and errors.max.retries / retriable.restart.connector.wait.ms, the retriable failures
//! of the snapshot or the stream that restart the task before one fails it.

mod support;

use std::path::Path;
use std::time::Duration;

use support::pg_source::{connector_file, failed_run, final_rows, run_once_output, spawn_run};
use support::Postgres;

fn log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The pid of the walsender holding the connector's slot, once it is active.
fn active_slot_pid(pg: &Postgres) -> Option<String> {
    let pid = pg
        .psql_try("SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'kconnect_slot' AND active")
        .ok()?;
    let pid = pid.trim().to_string();
    (!pid.is_empty()).then_some(pid)
}

/// Ends the replication connection as a server shutting it down would (57P01), once the
/// slot is held by a walsender other than `previous`; the pid ended.
fn break_stream(pg: &Postgres, previous: Option<&str>) -> String {
    let pid = support::eventually(Duration::from_secs(60), || {
        active_slot_pid(pg).filter(|p| Some(p.as_str()) != previous)
    })
    .expect("the slot never became active");
    pg.psql(&format!("SELECT pg_terminate_backend({pid})"));
    pid
}

fn three_tables(pg: &Postgres) {
    for t in ["a", "b", "c"] {
        pg.psql(&format!(
            "CREATE TABLE {t} (id int PRIMARY KEY, val text NOT NULL)"
        ));
        pg.psql(&format!("INSERT INTO {t} VALUES (1, '{t}')"));
    }
}

/// guardrail.collections.limit.action=fail: a start capturing more tables than the limit
/// fails, naming both numbers; warn logs the same words and captures.
#[test]
fn the_collections_guardrail_fails_or_warns_at_start() {
    let pg = Postgres::start();
    let k = support::noida_kafka();
    three_tables(&pg);
    let d = tempfile::tempdir().unwrap();
    connector_file(
        d.path(),
        &pg,
        &[
            ("guardrail.collections.max", "2"),
            ("guardrail.collections.limit.action", "fail"),
        ],
    );
    let text = failed_run(d.path(), &k.bootstrap());
    assert!(
        text.contains("Guardrail limit exceeded: 3 tables/collections configured for capture, but maximum allowed is 2."),
        "{text}"
    );
    assert!(text.contains("guardrail.collections.max"), "{text}");
    // Failed before the slot was created, as Debezium checks before it.
    assert_eq!(
        pg.psql("SELECT count(*) FROM pg_replication_slots").trim(),
        "0"
    );

    let d = tempfile::tempdir().unwrap();
    connector_file(
        d.path(),
        &pg,
        &[
            ("guardrail.collections.max", "2"),
            ("guardrail.collections.limit.action", "warn"),
        ],
    );
    let out = run_once_output(d.path(), &k.bootstrap());
    let text = support::output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("WARN") && text.contains("Guardrail limit exceeded: 3 tables/collections configured for capture, but maximum allowed is 2."),
        "{text}"
    );
    let (rows, _) = final_rows(&k.bootstrap(), "dbserver1.public.c", "val");
    assert_eq!(rows.get(&1).map(String::as_str), Some("c"), "{text}");
}

/// errors.max.retries=2: the stream lost three times in a row without a change event between
/// restarts the task twice, retriable.restart.connector.wait.ms after each loss, and the
/// third loss fails it naming the setting.
#[test]
fn errors_max_retries_restarts_the_task_that_many_times_then_fails_it() {
    let pg = Postgres::start();
    let k = support::noida_kafka();
    let d = tempfile::tempdir().unwrap();
    pg.psql("CREATE TABLE t (id int PRIMARY KEY, val text NOT NULL)");
    pg.psql("INSERT INTO t VALUES (1, 'a')");
    connector_file(
        d.path(),
        &pg,
        &[
            ("table.include.list", "public.t"),
            ("errors.max.retries", "2"),
            ("retriable.restart.connector.wait.ms", "700"),
            ("slot.retry.delay.ms", "200"),
        ],
    );
    let log_path = d.path().join("kconnect.log");
    let mut child = spawn_run(d.path(), &k.bootstrap(), &log_path);
    // Streaming, not still snapshotting: the losses to count are the stream's (on a busy
    // machine the first one could otherwise land in the snapshot).
    let snapshotted = support::eventually(Duration::from_secs(60), || {
        (support::kafka::end_offset(&k.bootstrap(), "dbserver1.public.t") >= 1).then_some(())
    });
    assert!(snapshotted.is_some(), "{}", log(&log_path));
    let mut pid = None;
    for retry in 1..=2 {
        pid = Some(break_stream(&pg, pid.as_deref()));
        let said = support::eventually(Duration::from_secs(60), || {
            log(&log_path)
                .contains(&format!("retry {retry} of 2 (errors.max.retries)"))
                .then_some(())
        });
        assert!(said.is_some(), "{}", log(&log_path));
    }
    break_stream(&pg, pid.as_deref());
    let failed = support::eventually(Duration::from_secs(60), || {
        let t = log(&log_path);
        t.contains("the maximum number of 2 retries has been attempted (errors.max.retries=2)")
            .then_some(t)
    });
    let _ = child.kill();
    let _ = child.wait();
    let text = failed.unwrap_or_else(|| log(&log_path));
    assert!(
        text.contains("the maximum number of 2 retries has been attempted (errors.max.retries=2)"),
        "{text}"
    );
    assert_eq!(
        text.matches("restarting the task in 700 ms (retriable.restart.connector.wait.ms)")
            .count(),
        2,
        "{text}"
    );
    assert!(!text.contains("retry 3 of"), "{text}");
    // The task stopped: nobody holds the slot any more.
    let released = support::eventually(Duration::from_secs(30), || {
        active_slot_pid(&pg).is_none().then_some(())
    });
    assert!(released.is_some(), "{text}");
}

/// Debezium counts failures of the snapshot and the stream only: a server stopped for a
/// while is one retry however many restarts cannot reach it (each
/// retriable.restart.connector.wait.ms apart), and the change events streamed after it
/// comes back give every retry again. With -1 the losses are never counted out.
#[test]
fn a_stopped_postgres_is_ridden_out_and_change_events_reset_the_count() {
    let mut pg = Postgres::start();
    let k = support::noida_kafka();
    let d = tempfile::tempdir().unwrap();
    pg.psql("CREATE TABLE t (id int PRIMARY KEY, val text NOT NULL)");
    pg.psql("INSERT INTO t VALUES (1, 'a')");
    connector_file(
        d.path(),
        &pg,
        &[
            ("table.include.list", "public.t"),
            ("errors.max.retries", "1"),
            ("retriable.restart.connector.wait.ms", "500"),
            ("slot.retry.delay.ms", "200"),
        ],
    );
    let log_path = d.path().join("kconnect.log");
    let mut child = spawn_run(d.path(), &k.bootstrap(), &log_path);
    let rows = |n: usize| {
        support::eventually(Duration::from_secs(60), || {
            (final_rows(&k.bootstrap(), "dbserver1.public.t", "val")
                .0
                .len()
                == n)
                .then_some(())
        })
    };
    assert!(rows(1).is_some(), "{}", log(&log_path));
    for (round, id) in [(1, 2), (2, 3)] {
        support::eventually(Duration::from_secs(60), || active_slot_pid(&pg))
            .expect("the slot never became active");
        pg.restart(Duration::from_secs(3));
        pg.psql(&format!(
            "INSERT INTO t VALUES ({id}, 'after restart {round}')"
        ));
        assert!(
            rows(id as usize).is_some(),
            "round {round}: {}",
            log(&log_path)
        );
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = log(&log_path);
    assert_eq!(
        text.matches("retry 1 of 1 (errors.max.retries)").count(),
        2,
        "{text}"
    );
    assert!(!text.contains("retries has been attempted"), "{text}");

    // Without a limit: three losses in a row, and the task streams on.
    let d = tempfile::tempdir().unwrap();
    pg.psql("CREATE TABLE u (id int PRIMARY KEY, val text NOT NULL)");
    connector_file(
        d.path(),
        &pg,
        &[
            ("table.include.list", "public.u"),
            ("slot.name", "kconnect_slot"),
            ("errors.max.retries", "-1"),
            ("retriable.restart.connector.wait.ms", "300"),
            ("slot.retry.delay.ms", "200"),
        ],
    );
    pg.psql("SELECT pg_drop_replication_slot('kconnect_slot')");
    let log_path = d.path().join("kconnect.log");
    let mut child = spawn_run(d.path(), &k.bootstrap(), &log_path);
    let mut pid = None;
    for _ in 0..3 {
        pid = Some(break_stream(&pg, pid.as_deref()));
    }
    let third = support::eventually(Duration::from_secs(60), || {
        log(&log_path)
            .contains("retry 3 of unlimited")
            .then_some(())
    });
    pg.psql("INSERT INTO u VALUES (1, 'still streaming')");
    let streamed = support::eventually(Duration::from_secs(60), || {
        (final_rows(&k.bootstrap(), "dbserver1.public.u", "val")
            .0
            .len()
            == 1)
            .then_some(())
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(third.is_some() && streamed.is_some(), "{}", log(&log_path));
}
