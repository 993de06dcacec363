//! snapshot.mode=configuration_based and snapshot.isolation.mode as Debezium 3.6.3's
//! PostgreSQL connector runs them: goldens made by the real connector
//! (tests/fixtures/postgres-configuration-based-*), and the starts Debezium refuses or
//! recovers from, as its BaseSourceTask decides them.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value as Json;
use support::kafka;
use support::pg_source::{checked_once, connector_file, failed_run, fixtures, replay_fixture};
use support::{PgOptions, Postgres};

fn fixture(name: &str) -> std::path::PathBuf {
    fixtures().parent().unwrap().join(name)
}

fn configuration_based<'a>(
    data: &'a str,
    stream: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut v = vec![
        ("snapshot.mode", "configuration_based"),
        ("snapshot.mode.configuration.based.snapshot.data", data),
        ("snapshot.mode.configuration.based.start.stream", stream),
    ];
    v.extend_from_slice(extra);
    v
}

/// The ids and ops of a topic's events, in order.
fn ops(bootstrap: &str, topic: &str) -> Vec<(String, i64)> {
    kafka::consume_all(bootstrap, topic)
        .into_iter()
        .filter_map(|m| {
            let v: Json = serde_json::from_slice(m.value.as_ref()?).unwrap();
            let p = v.get("payload").cloned().unwrap_or(v);
            let row = if p["after"].is_null() {
                &p["before"]
            } else {
                &p["after"]
            };
            Some((p["op"].as_str()?.to_string(), row["id"].as_i64()?))
        })
        .collect()
}

fn slots(pg: &Postgres) -> String {
    pg.psql("SELECT string_agg(slot_name, ',') FROM pg_replication_slots")
}

/// snapshot.data=false, start.stream=true: the rows already there are not read, the changes
/// after the start are streamed, as Debezium's events show.
#[test]
fn configuration_based_streaming_only_equals_debeziums() {
    replay_fixture(&fixture("postgres-configuration-based-stream"));
}

/// snapshot.data=true, start.stream=false: the rows are snapshotted (in READ COMMITTED, with
/// snapshot.isolation.mode=read_uncommitted), no slot or publication is created, the run ends
/// after the snapshot, and the next start snapshots again.
#[test]
fn configuration_based_snapshot_only_equals_debeziums() {
    let r = replay_fixture(&fixture("postgres-configuration-based-snapshot"));
    assert_eq!(slots(&r.pg), "", "no slot without streaming");
    assert_eq!(r.pg.psql("SELECT count(*) FROM pg_publication"), "0");
    assert!(r.log.contains("read committed"), "{}", r.log);
    checked_once(r.dir.path(), &r.kafka.bootstrap());
    let got = ops(&r.kafka.bootstrap(), "dbserver1.public.a");
    let want: Vec<(String, i64)> = [1, 2, 1, 2].iter().map(|&i| ("r".to_string(), i)).collect();
    assert_eq!(got, want, "snapshot.data=true snapshots at every start");
}

/// Without streaming, logical decoding is not needed, as in Debezium (which only warns).
#[test]
fn a_snapshot_without_streaming_needs_no_logical_decoding() {
    let pg = Postgres::start_with(PgOptions {
        wal_level: Some("replica"),
        ..PgOptions::default()
    });
    pg.psql("CREATE TABLE a (id int PRIMARY KEY); INSERT INTO a VALUES (1), (2)");
    let k = support::noida_kafka();
    for mode in [
        configuration_based("true", "false", &[]),
        vec![("snapshot.mode", "initial_only")],
    ] {
        let dir = tempfile::tempdir().unwrap();
        connector_file(dir.path(), &pg, &mode);
        let log = checked_once(dir.path(), &k.bootstrap());
        assert!(log.contains("wal_level is replica"), "{log}");
    }
    let got = ops(&k.bootstrap(), "dbserver1.public.a");
    assert_eq!(got.len(), 4, "{got:?}");
}

/// snapshot.on.schema.error=true needs a stored offset, as in Debezium 3.6.3, whose task
/// fails without one.
#[test]
fn schema_error_recovery_without_an_offset_fails() {
    let pg = Postgres::start();
    pg.psql("CREATE TABLE a (id int PRIMARY KEY)");
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    connector_file(
        dir.path(),
        &pg,
        &configuration_based(
            "true",
            "true",
            &[(
                "snapshot.mode.configuration.based.snapshot.on.schema.error",
                "true",
            )],
        ),
    );
    let text = failed_run(dir.path(), &k.bootstrap());
    assert!(
        text.contains("snapshot.on.schema.error=true needs a stored offset")
            && text.contains("Could not find existing redo log information"),
        "{text}"
    );
}

/// A lost slot: without snapshot.on.data.error the task fails, names the lost position, and
/// leaves no new slot behind (the next start fails too); with it (and snapshot.data) the
/// offset is forgotten, the tables snapshotted and streaming starts on a new slot.
#[test]
fn a_lost_slot_fails_or_is_recovered_by_on_data_error() {
    let pg = Postgres::start();
    pg.psql("CREATE TABLE a (id int PRIMARY KEY); INSERT INTO a VALUES (1)");
    let k = support::noida_kafka();
    let bootstrap = k.bootstrap();
    let dir = tempfile::tempdir().unwrap();
    let strict = configuration_based("false", "true", &[]);
    connector_file(dir.path(), &pg, &strict);
    checked_once(dir.path(), &bootstrap);
    pg.psql("INSERT INTO a VALUES (2)");
    checked_once(dir.path(), &bootstrap);
    assert_eq!(
        ops(&bootstrap, "dbserver1.public.a"),
        [("c".to_string(), 2)]
    );
    pg.psql("SELECT pg_drop_replication_slot('kconnect_slot')");
    pg.psql("INSERT INTO a VALUES (3)");
    for _ in 0..2 {
        let text = failed_run(dir.path(), &bootstrap);
        assert!(
            text.contains("is no longer available on the server")
                && text.contains("snapshot.on.data.error"),
            "{text}"
        );
        assert_eq!(slots(&pg), "", "the failing start creates no slot");
    }
    connector_file(
        dir.path(),
        &pg,
        &configuration_based(
            "true",
            "true",
            &[(
                "snapshot.mode.configuration.based.snapshot.on.data.error",
                "true",
            )],
        ),
    );
    let log = checked_once(dir.path(), &bootstrap);
    assert!(log.contains("the stored offset is forgotten"), "{log}");
    // snapshot.data=true would snapshot again at every start: streaming alone from here.
    connector_file(dir.path(), &pg, &strict);
    pg.psql("INSERT INTO a VALUES (4)");
    checked_once(dir.path(), &bootstrap);
    let got = ops(&bootstrap, "dbserver1.public.a");
    let want: Vec<(String, i64)> = [("c", 2), ("r", 1), ("r", 2), ("r", 3), ("c", 4)]
        .iter()
        .map(|(o, i)| (o.to_string(), *i))
        .collect();
    assert_eq!(got, want);
    assert_eq!(slots(&pg), "kconnect_slot");
}

/// snapshot.mode=initial (the default) with its slot dropped: the start fails, as Debezium's
/// log position check fails it, and creates no slot; with the check off
/// (internal.log.position.check.enable=false) a new slot is created and streaming goes on.
#[test]
fn a_lost_slot_fails_an_initial_start_unless_the_check_is_off() {
    let pg = Postgres::start();
    pg.psql("CREATE TABLE a (id int PRIMARY KEY); INSERT INTO a VALUES (1)");
    let k = support::noida_kafka();
    let bootstrap = k.bootstrap();
    let dir = tempfile::tempdir().unwrap();
    connector_file(dir.path(), &pg, &[]);
    checked_once(dir.path(), &bootstrap);
    pg.psql("SELECT pg_drop_replication_slot('kconnect_slot')");
    pg.psql("INSERT INTO a VALUES (2)");
    let text = failed_run(dir.path(), &bootstrap);
    assert!(
        text.contains("is no longer available on the server")
            && text.contains("snapshot.mode=when_needed"),
        "{text}"
    );
    assert_eq!(slots(&pg), "", "the failing start creates no slot");
    connector_file(
        dir.path(),
        &pg,
        &[("internal.log.position.check.enable", "false")],
    );
    let log = checked_once(dir.path(), &bootstrap);
    assert!(log.contains("has been created again"), "{log}");
    pg.psql("INSERT INTO a VALUES (3)");
    checked_once(dir.path(), &bootstrap);
    // Row 2 was written while the slot was gone: not captured, as the warning says.
    let got = ops(&bootstrap, "dbserver1.public.a");
    let want: Vec<(String, i64)> = [("r", 1), ("c", 3)]
        .iter()
        .map(|(o, i)| (o.to_string(), *i))
        .collect();
    assert_eq!(got, want);
}

/// Holds the advisory lock 42, which the snapshot's read of `b` waits for (its
/// snapshot.select.statement.overrides query takes it), until `release`. Not a table lock:
/// that would give the holder a transaction id, which a slot's creation waits for.
struct Gate(std::process::Child);

const GATED_B: [(&str, &str); 2] = [
    ("snapshot.select.statement.overrides", "public.b"),
    (
        "snapshot.select.statement.overrides.public.b",
        "SELECT b.* FROM b, (SELECT pg_advisory_lock_shared(42)) AS gate",
    ),
];

impl Gate {
    fn close(pg: &Postgres) -> Gate {
        let mut child = Command::new("psql")
            .args(["-h", "127.0.0.1", "-p", &pg.port().to_string()])
            .args(["-U", "postgres", "-qAtX", "-v", "ON_ERROR_STOP=1"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.as_mut().unwrap();
        stdin.write_all(b"SELECT pg_advisory_lock(42);\n").unwrap();
        stdin.flush().unwrap();
        let held = support::eventually(Duration::from_secs(30), || {
            (pg.psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")
                == "1")
                .then_some(())
        });
        assert!(held.is_some(), "the advisory lock was not taken");
        Gate(child)
    }

    fn open(mut self) {
        drop(self.0.stdin.take());
        assert!(self.0.wait().unwrap().success());
    }
}

/// snapshot.isolation.mode=read_committed reads each table as it is when its read begins:
/// a row committed into `c` while the read of `b` waits (see `Gate`) is in `c`'s snapshot, as in
/// Debezium's READ COMMITTED transaction; repeatable_read reads every table as of the
/// snapshot's start, and so does read_committed on a slot that start created (Debezium reads
/// the slot's exported snapshot then).
#[test]
fn read_committed_snapshots_see_changes_committed_between_tables() {
    let pg = Postgres::start();
    pg.psql(
        "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY); \
         CREATE TABLE c (id int PRIMARY KEY); INSERT INTO a VALUES (1); INSERT INTO b VALUES (1); \
         INSERT INTO c VALUES (1)",
    );
    let k = support::noida_kafka();
    let bootstrap = k.bootstrap();
    // Topic prefix, settings, the row committed while b is read, whether c's snapshot has it.
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, i64, bool);
    let cases: [Case; 3] = [
        (
            "rc",
            configuration_based(
                "true",
                "false",
                &[("snapshot.isolation.mode", "read_committed")],
            ),
            2,
            true,
        ),
        (
            "rr",
            configuration_based(
                "true",
                "false",
                &[("snapshot.isolation.mode", "repeatable_read")],
            ),
            3,
            false,
        ),
        (
            "newslot",
            vec![
                ("snapshot.mode", "initial"),
                ("snapshot.isolation.mode", "read_committed"),
                ("slot.name", "newslot"),
            ],
            4,
            false,
        ),
    ];
    for (prefix, settings, row, seen) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = settings;
        settings.push(("topic.prefix", prefix));
        settings.extend(GATED_B);
        connector_file(dir.path(), &pg, &settings);
        let gate = Gate::close(&pg);
        let run = support::pg_source::once_command(dir.path(), &bootstrap)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let waiting = support::eventually(Duration::from_secs(60), || {
            (pg.psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
                != "0")
                .then_some(())
        });
        assert!(
            waiting.is_some(),
            "{prefix}: the snapshot never waited for b"
        );
        pg.psql(&format!("INSERT INTO c VALUES ({row})"));
        gate.open();
        let out = run.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{prefix}: {}",
            support::output_text(&out)
        );
        let got: Vec<i64> = ops(&bootstrap, &format!("{prefix}.public.c"))
            .into_iter()
            .filter(|(op, _)| op == "r")
            .map(|(_, id)| id)
            .collect();
        assert_eq!(got.contains(&row), seen, "{prefix}: snapshot of c {got:?}");
    }
}

/// recovery is refused as Debezium 3.6.3's PostgreSQL connector refuses it (its snapshot
/// mode enum has no such value); custom needs a Java class; the isolation modes are taken.
#[test]
fn snapshot_mode_values_are_checked_as_debezium_checks_them() {
    let pg_free = |extra: &[(&str, &str)]| {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = serde_json::json!({
            "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
            "topic.prefix": "dbserver1", "database.hostname": "127.0.0.1", "database.port": "1",
            "database.user": "postgres", "database.dbname": "postgres"});
        for (key, value) in extra {
            cfg[*key] = Json::String(value.to_string());
        }
        support::write(
            dir.path(),
            "connectors.d/pg.json",
            &serde_json::json!({"name": "pg", "config": cfg}).to_string(),
        );
        let out = support::kconnect(dir.path())
            .arg("validate")
            .arg(dir.path().join("connectors.d"))
            .output()
            .unwrap();
        (out.status.code(), support::output_text(&out))
    };
    let (code, text) = pg_free(&[("snapshot.mode", "recovery")]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("snapshot.mode")
            && text.contains("Value must be one of always, initial_only, configuration_based, when_needed, initial, custom, no_data"),
        "{text}"
    );
    let (code, text) = pg_free(&[("snapshot.mode", "never")]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("use no_data"), "{text}");
    let (code, text) = pg_free(&[("snapshot.mode", "custom")]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("Java class"), "{text}");
    for isolation in [
        "read_committed",
        "read_uncommitted",
        "serializable",
        "repeatable_read",
    ] {
        let (code, text) = pg_free(&[
            ("snapshot.mode", "configuration_based"),
            ("snapshot.isolation.mode", isolation),
        ]);
        assert_eq!(code, Some(0), "{isolation}: {text}");
    }
    let (code, text) = pg_free(&[("snapshot.isolation.mode", "snapshot")]);
    assert_eq!(code, Some(1), "{text}");
}
