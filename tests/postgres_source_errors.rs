//! PostgresConnector's failures reach the user with the server's words and what to do: a
//! slot in use, an unreachable server, `wal_level`, missing privileges.

mod support;

use std::process::Command;
use std::time::Duration;

use support::pg_source::{connector_file, failed_run, spawn_run};
use support::{PgOptions, Postgres};

/// pg_recvlogical holding the slot `kconnect_slot` (publication `kconnect_pub`), once the
/// server shows it active.
fn hold_slot(pg: &Postgres) -> std::process::Child {
    pg.psql("CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL)");
    pg.psql("CREATE PUBLICATION kconnect_pub FOR ALL TABLES");
    pg.psql("SELECT pg_create_logical_replication_slot('kconnect_slot', 'pgoutput')");
    let holder = Command::new("pg_recvlogical")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &pg.port().to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
        ])
        .args([
            "--slot",
            "kconnect_slot",
            "--start",
            "-o",
            "proto_version=1",
            "-o",
            "publication_names=kconnect_pub",
            "-f",
            "/dev/null",
        ])
        .spawn()
        .unwrap();
    let held = support::eventually(Duration::from_secs(20), || {
        (pg.psql("SELECT active FROM pg_replication_slots WHERE slot_name = 'kconnect_slot'")
            == "t")
            .then_some(())
    });
    assert!(held.is_some());
    holder
}

/// A slot another client holds is reported with that client's pid and what to do.
#[test]
fn slot_in_use_is_reported() {
    let pg = Postgres::start();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    let mut holder = hold_slot(&pg);
    connector_file(dir.path(), &pg, &[("slot.retry.delay.ms", "500")]);
    let log = dir.path().join("kconnect.log");
    let mut child = spawn_run(dir.path(), &k.bootstrap(), &log);
    let reported = support::eventually(Duration::from_secs(30), || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.contains("replication slot kconnect_slot is in use by another client")
            .then_some(text)
    });
    let _ = child.kill();
    let _ = child.wait();
    let _ = holder.kill();
    let _ = holder.wait();
    let text = reported.expect("no slot-in-use message");
    assert!(text.contains("pg_terminate_backend"), "{text}");
    assert!(
        text.contains("trying again in 500 ms (retry 1 of slot.max.retries=6)"),
        "{text}"
    );
}

/// slot.max.retries and slot.retry.delay.ms as Debezium has them: a slot still held after the
/// last retry fails the task, saying so; one let go of in time is taken.
#[test]
fn a_slot_held_past_slot_max_retries_fails_the_task() {
    let pg = Postgres::start();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    let mut holder = hold_slot(&pg);
    connector_file(
        dir.path(),
        &pg,
        &[("slot.max.retries", "2"), ("slot.retry.delay.ms", "300")],
    );
    let text = failed_run(dir.path(), &k.bootstrap());
    assert!(
        text.contains("unable to obtain the replication slot after 2 retries 300 ms apart (slot.max.retries, slot.retry.delay.ms)")
            && text.contains("retry 2 of slot.max.retries=2")
            && !text.contains("retry 3 of"),
        "{text}"
    );
    // Let go of during the retries: the run goes on and streams.
    connector_file(
        dir.path(),
        &pg,
        &[("slot.max.retries", "20"), ("slot.retry.delay.ms", "500")],
    );
    let log = dir.path().join("kconnect.log");
    let mut child = spawn_run(dir.path(), &k.bootstrap(), &log);
    let waiting = support::eventually(Duration::from_secs(30), || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.contains("retry 1 of slot.max.retries=20")
            .then_some(())
    });
    let _ = holder.kill();
    let _ = holder.wait();
    pg.psql("INSERT INTO customers (id, name) VALUES (990, 'after the slot was let go')");
    let streamed = support::eventually(Duration::from_secs(60), || {
        support::kafka::consume_all(&k.bootstrap(), "dbserver1.public.customers")
            .iter()
            .any(|m| {
                m.value.as_deref().is_some_and(|v| {
                    String::from_utf8_lossy(v).contains("after the slot was let go")
                })
            })
            .then_some(())
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        waiting.is_some(),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(
        streamed.is_some(),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}

/// An unreachable server is retried, with one message (not one per attempt) saying where and
/// what to check.
#[test]
fn unreachable_server_is_retried_with_a_clear_message() {
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let body = serde_json::json!({"name": "pg-source", "config": {
        "connector.class": "PostgresConnector", "database.hostname": "127.0.0.1",
        "database.port": port.to_string(), "database.user": "postgres", "database.password": "s3cret",
        "database.dbname": "postgres", "topic.prefix": "dbserver1", "plugin.name": "pgoutput",
        "database.connect.timeout.ms": "1000"}});
    support::write(dir.path(), "connectors.d/pg.json", &body.to_string());
    let log = dir.path().join("kconnect.log");
    let mut child = spawn_run(dir.path(), &k.bootstrap(), &log);
    let said = support::eventually(Duration::from_secs(20), || {
        let t = std::fs::read_to_string(&log).unwrap_or_default();
        t.contains("cannot reach PostgreSQL").then_some(t)
    });
    // Several more attempts (1 s connect timeout, backoff from 200 ms) happen meanwhile.
    std::thread::sleep(Duration::from_secs(4));
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let still_running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    said.expect("no connection error reported");
    assert_eq!(
        text.matches("cannot reach PostgreSQL").count(),
        1,
        "the outage is reported once, not per attempt: {text}"
    );
    assert!(text.contains("down since"), "{text}");
    assert!(
        still_running,
        "a transient failure must not stop the task: {text}"
    );
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(text.contains("database.hostname"), "{text}");
    assert!(!text.contains("s3cret"), "the password leaked: {text}");
}

/// The server's own message, SQLSTATE and hint reach the user, not just "db error".
#[test]
fn server_errors_carry_the_servers_words() {
    let pg = Postgres::start();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    pg.psql("CREATE TABLE t (id int PRIMARY KEY)");
    connector_file(
        dir.path(),
        &pg,
        &[
            ("slot.name", "Bad-Slot"),
            ("table.include.list", "public.t"),
        ],
    );
    let text = failed_run(dir.path(), &k.bootstrap());
    assert!(text.contains("Bad-Slot"), "{text}");
    assert!(text.contains("contains invalid character"), "{text}");
    assert!(text.contains("SQLSTATE 42602"), "{text}");
    assert!(
        text.contains("may only contain lower case letters, numbers, and the underscore"),
        "{text}"
    );
    assert!(!text.contains("db error"), "{text}");
}

/// A server without logical decoding is reported with the setting to change.
#[test]
fn wal_level_replica_is_reported() {
    let pg = Postgres::start_with(PgOptions {
        wal_level: Some("replica"),
        ..PgOptions::default()
    });
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    connector_file(dir.path(), &pg, &[]);
    let text = failed_run(dir.path(), &k.bootstrap());
    assert!(
        text.contains(
            "the server's wal_level is replica, logical decoding needs wal_level=logical"
        ),
        "{text}"
    );
    assert!(
        text.contains("ALTER SYSTEM SET wal_level = logical"),
        "{text}"
    );
}

/// A role without REPLICATION, then without SELECT on a captured table, is told what to grant.
#[test]
fn missing_privileges_are_reported() {
    let pg = Postgres::start();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    pg.psql(
        "CREATE TABLE guarded (id int PRIMARY KEY); INSERT INTO guarded VALUES (1); \
         CREATE ROLE kc LOGIN; CREATE PUBLICATION kconnect_pub FOR ALL TABLES",
    );
    connector_file(dir.path(), &pg, &[("database.user", "kc")]);
    let text = failed_run(dir.path(), &k.bootstrap());
    assert!(text.contains("user kc lacks a privilege"), "{text}");
    assert!(text.contains("ALTER ROLE kc REPLICATION"), "{text}");

    pg.psql("ALTER ROLE kc REPLICATION");
    let text = failed_run(dir.path(), &k.bootstrap());
    assert!(
        text.contains("user kc lacks a privilege: permission denied for table guarded"),
        "{text}"
    );
    assert!(text.contains("SELECT on the captured tables"), "{text}");

    // An existing slot does not spare the REPLICATION attribute: the replication connection
    // itself needs it (the second run above created the slot).
    pg.psql("GRANT SELECT ON guarded TO kc; ALTER ROLE kc NOREPLICATION");
    assert_eq!(
        pg.psql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'kconnect_slot'"),
        "1"
    );
    connector_file(
        dir.path(),
        &pg,
        &[("database.user", "kc"), ("snapshot.mode", "no_data")],
    );
    let text = failed_run(dir.path(), &k.bootstrap());
    assert!(text.contains("user kc lacks a privilege"), "{text}");
    assert!(text.contains("replication role"), "{text}");
    assert!(text.contains("ALTER ROLE kc REPLICATION"), "{text}");
}

/// snapshot.locking.mode=shared locks the captured tables before reading them and waits at
/// most snapshot.lock.timeout.ms for a lock another session holds; the task then fails saying
/// which tables and what to do. Without a conflicting lock the snapshot runs as usual.
#[test]
fn a_snapshot_lock_not_granted_in_time_is_reported() {
    let pg = Postgres::start();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    pg.psql("CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL); INSERT INTO customers VALUES (1, 'one')");
    // Made beforehand: creating a slot waits for every running transaction to end.
    pg.psql("SELECT pg_create_logical_replication_slot('kconnect_slot', 'pgoutput')");
    // A migration in progress: ACCESS EXCLUSIVE held for a while.
    let mut holder = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &pg.port().to_string(),
            "-U",
            "postgres",
        ])
        .args([
            "-qXc",
            "BEGIN; LOCK TABLE customers IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60); COMMIT",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let held = support::eventually(Duration::from_secs(20), || {
        (pg.psql("SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = 'customers'::regclass") == "1")
            .then_some(())
    });
    assert!(held.is_some());
    connector_file(
        dir.path(),
        &pg,
        &[
            ("snapshot.locking.mode", "shared"),
            ("snapshot.lock.timeout.ms", "500"),
        ],
    );
    let text = failed_run(dir.path(), &k.bootstrap());
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(
        text.contains("could not lock the captured tables (public.customers) within snapshot.lock.timeout.ms=500 (snapshot.locking.mode=shared)")
            && text.contains("lock timeout"),
        "{text}"
    );
    pg.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()");
    support::pg_source::run_once(dir.path(), &k.bootstrap());
    let records = support::kafka::consume_all(&k.bootstrap(), "dbserver1.public.customers");
    assert_eq!(records.len(), 1, "the snapshot's one row");
}
