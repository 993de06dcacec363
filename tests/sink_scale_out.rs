//! Sinks across processes (`kconnect.sink.group.mode=subscribe`): kconnect processes with one
//! store each run the same JDBC sink and share its topic's partitions through the consumer
//! group `connect-<name>`. One is killed with SIGKILL and one joins mid-load; every record
//! lands and the table equals the expected one. Tansu runs the group protocol (join, sync,
//! heartbeats, session expiry).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::json;
use support::jdbc_sink::{connector, env, key, simple, Env};
use support::kconnect::kconnect;

const TOPIC: &str = "scale";

fn produce(e: &Env, ids: std::ops::Range<i32>) {
    let texts: Vec<(String, String)> = ids
        .map(|id| {
            (
                key(id).unwrap(),
                simple(id, &format!("name-{id}"), i64::from(id) * 3).unwrap(),
            )
        })
        .collect();
    let records: Vec<support::kafka::Rec<'_>> = texts
        .iter()
        .map(|(k, v)| (Some(k.as_bytes()), Some(v.as_bytes()), Vec::new()))
        .collect();
    support::kafka::produce_keyed(&e.kafka.bootstrap(), TOPIC, &records);
}

fn spawn(e: &Env, name: &str, worker: &Path, conn: &Path) -> (Child, PathBuf) {
    let log = e.dir.path().join(format!("{name}.log"));
    let child = kconnect(e.dir.path())
        .args(["run", "-b", &e.kafka.bootstrap(), "--offsets"])
        .arg(e.dir.path().join(format!("offsets-{name}")))
        .arg("--worker")
        .arg(worker)
        .arg(conn)
        .env("NO_COLOR", "1")
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .unwrap();
    (child, log)
}

fn count(e: &Env) -> i64 {
    e.pg.psql_try("SELECT count(*) FROM scaled")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

fn files(e: &Env) -> (PathBuf, PathBuf) {
    files_with(e, &[])
}

/// The worker file and the connector file, with extra connector settings.
fn files_with(e: &Env, extra: &[(&str, &str)]) -> (PathBuf, PathBuf) {
    let worker = support::write(
        e.dir.path(),
        "worker.properties",
        "kconnect.sink.group.mode=subscribe\noffset.flush.interval.ms=500\n",
    );
    let conn = connector(
        e,
        "scale-sink",
        TOPIC,
        &[
            ("insert.mode", "upsert"),
            ("pk.mode", "record_value"),
            ("pk.fields", "id"),
            ("table.name.format", "scaled"),
            ("consumer.override.session.timeout.ms", "6000"),
            ("consumer.override.heartbeat.interval.ms", "500"),
        ]
        .iter()
        .chain(extra)
        .copied()
        .collect::<Vec<_>>(),
    );
    let conn = support::write(e.dir.path(), "scale-sink.json", &conn.to_string());
    (worker, conn)
}

#[test]
fn processes_share_a_sinks_partitions_through_a_kill_and_a_join() {
    share_through_a_kill_and_a_join(&[]);
}

/// The same with the cooperative protocol, named by its Java class as in a Connect config:
/// partitions move one by one (incremental assign and unassign) instead of all being revoked
/// at each rebalance.
#[test]
fn cooperative_rebalancing_shares_them_too() {
    share_through_a_kill_and_a_join(&[(
        "consumer.override.partition.assignment.strategy",
        "org.apache.kafka.clients.consumer.CooperativeStickyAssignor",
    )]);
}

/// Kills the processes a test started if it fails before stopping them.
struct Reaper(Vec<u32>);

impl Drop for Reaper {
    fn drop(&mut self) {
        for pid in &self.0 {
            unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
        }
    }
}

/// Three processes, one SIGKILLed and a fourth started mid-load; every record lands.
fn share_through_a_kill_and_a_join(extra: &[(&str, &str)]) {
    let e = env();
    support::kafka::create_topic(&e.kafka.bootstrap(), TOPIC, 12);
    e.pg.psql("CREATE TABLE scaled (id int PRIMARY KEY, name text, score bigint)");
    let (worker, conn) = files_with(&e, extra);
    produce(&e, 0..10_000);
    let (mut a, log_a) = spawn(&e, "a", &worker, &conn);
    let (mut b, _) = spawn(&e, "b", &worker, &conn);
    let (mut c, log_c) = spawn(&e, "c", &worker, &conn);
    let mut reaper = Reaper(vec![a.id(), b.id(), c.id()]);
    support::eventually(Duration::from_secs(90), || {
        (count(&e) >= 3_000).then_some(())
    })
    .expect("rows arrive");
    b.kill().unwrap(); // SIGKILL: its partitions come back after the session times out
    b.wait().unwrap();
    produce(&e, 10_000..20_000);
    let (mut d, log_d) = spawn(&e, "d", &worker, &conn);
    reaper.0.push(d.id());
    produce(&e, 20_000..30_000);
    let all = support::eventually(Duration::from_secs(150), || {
        (count(&e) == 30_000).then_some(())
    });
    let logs = [&log_a, &log_c, &log_d].map(|l| std::fs::read_to_string(l).unwrap_or_default());
    assert!(
        all.is_some(),
        "{} rows of 30000\n{}",
        count(&e),
        logs.join("\n----\n")
    );
    let check = e.pg.psql(
        "SELECT count(*), count(DISTINCT id), sum(score), bool_and(name = 'name-' || id) FROM scaled",
    );
    assert_eq!(
        check.trim(),
        format!(
            "30000|30000|{}|t",
            (0..30_000i64).map(|i| i * 3).sum::<i64>()
        )
    );
    // The work was shared: the process that joined while the others ran took partitions,
    // and so did at least one of the first ones.
    let took = |l: &String| l.lines().any(|l| l.contains("took partitions"));
    assert!(took(&logs[2]), "{}", logs[2]);
    assert!(logs[..2].iter().any(took), "{}", logs.join("\n----\n"));
    for p in [&mut a, &mut c, &mut d] {
        unsafe { libc::kill(p.id() as i32, libc::SIGTERM) };
    }
    for p in [&mut a, &mut c, &mut d] {
        assert!(p.wait().unwrap().success());
    }
    // Every partition's group offset reached the end of the partition.
    let ends: i64 = (0..12)
        .map(|p| {
            support::kafka::group_offset(&e.kafka.bootstrap(), "connect-scale-sink", TOPIC, p)
                .unwrap_or(0)
        })
        .sum();
    assert_eq!(ends, 30_000);
}

#[test]
fn a_once_run_cannot_share_partitions() {
    let e = env();
    let (worker, conn) = files(&e);
    let o = kconnect(e.dir.path())
        .args(["run", "--once", "-b", &e.kafka.bootstrap(), "--worker"])
        .arg(&worker)
        .arg(&conn)
        .output()
        .unwrap();
    let text = support::output_text(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("kconnect.sink.group.mode=subscribe"),
        "{text}"
    );
    let _ = json!(null);
}

/// A paused task keeps polling with its partitions paused: it stays in the group (a process
/// joining later gets half the partitions, not all), gives partitions back when asked, writes
/// nothing while paused, and after `resume` every record lands.
#[test]
fn a_paused_shared_sink_stays_in_the_group_and_rebalances() {
    let e = env();
    support::kafka::create_topic(&e.kafka.bootstrap(), TOPIC, 4);
    e.pg.psql("CREATE TABLE scaled (id int PRIMARY KEY, name text, score bigint)");
    let (worker, conn) = files(&e);
    let port = support::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let rest_worker = support::write(
        e.dir.path(),
        "worker-rest.properties",
        &format!(
            "{}listeners={url}\n",
            std::fs::read_to_string(&worker).unwrap()
        ),
    );
    let log_a = e.dir.path().join("a.log");
    let mut a = kconnect(e.dir.path())
        .args([
            "run",
            "-b",
            &e.kafka.bootstrap(),
            "--offsets",
            "offsets-a",
            "--worker",
        ])
        .arg(&rest_worker)
        .arg(&conn)
        .env_remove("KCONNECT_LISTENERS")
        .env("NO_COLOR", "1")
        .stderr(Stdio::from(std::fs::File::create(&log_a).unwrap()))
        .spawn()
        .unwrap();
    produce(&e, 0..1_000);
    support::eventually(Duration::from_secs(60), || {
        (count(&e) == 1_000).then_some(())
    })
    .expect("rows before the pause");
    let cli = |args: &[&str]| {
        let o = kconnect(e.dir.path())
            .args(args)
            .args(["--url", &url])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", support::output_text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    cli(&["pause", "scale-sink"]);
    support::eventually(Duration::from_secs(20), || {
        // The task's own state, which changes when its loop has stopped reading (the
        // connector's says PAUSED as soon as it is asked).
        let s: serde_json::Value =
            serde_json::from_str(&cli(&["status", "scale-sink", "--json"])).ok()?;
        let task = s["tasks"].as_array()?.first()?.clone();
        (task["state"] == "PAUSED").then_some(())
    })
    .expect("the task pauses");
    // The status says PAUSED as soon as it is asked, as Connect's does; the batch the task was
    // reading then is finished first.
    std::thread::sleep(Duration::from_secs(2));
    produce(&e, 1_000..2_000);
    // Longer than the session timeout (6 s): a member that stopped polling would be gone.
    std::thread::sleep(Duration::from_secs(8));
    assert_eq!(count(&e), 1_000, "nothing is written while paused");
    let (mut b, log_b) = spawn(&e, "b", &worker, &conn);
    let b_took = support::eventually(Duration::from_secs(60), || {
        let l = std::fs::read_to_string(&log_b).unwrap_or_default();
        l.contains("took partitions").then_some(l)
    })
    .expect("the new process takes partitions");
    assert!(
        b_took.contains("holding=2"),
        "the paused member kept its share: {b_took}"
    );
    cli(&["resume", "scale-sink"]);
    let all = support::eventually(Duration::from_secs(60), || {
        (count(&e) == 2_000).then_some(())
    });
    let la = std::fs::read_to_string(&log_a).unwrap_or_default();
    assert!(all.is_some(), "{} rows of 2000\n{la}", count(&e));
    assert!(la.contains("gave partitions back"), "{la}");
    for p in [&mut a, &mut b] {
        unsafe { libc::kill(p.id() as i32, libc::SIGTERM) };
        assert!(p.wait().unwrap().success());
    }
}

/// An offset set offline with `kconnect offsets set` is where a shared sink starts the
/// partition, over the consumer group's committed offset (which would otherwise win, and
/// silently undo the edit), and the group is moved to it.
#[test]
fn an_offline_offsets_set_moves_a_shared_sink_and_its_group() {
    let kafka = support::kafka::tansu();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = "edited";
    support::kafka::create_topic(&kafka.bootstrap(), topic, 1);
    let values: Vec<String> = (0..10).map(|i| format!("v{i}")).collect();
    let records: Vec<support::kafka::Rec<'_>> = values
        .iter()
        .map(|v| (None, Some(v.as_bytes()), Vec::new()))
        .collect();
    support::kafka::produce(&kafka.bootstrap(), topic, &records);
    let worker = support::write(
        d,
        "worker.properties",
        "kconnect.sink.group.mode=subscribe\noffset.flush.interval.ms=500\n",
    );
    let out = d.join("out.txt");
    let conn = support::write(
        d,
        "edit-sink.json",
        &json!({"name": "edit-sink", "config": {
            "connector.class": "FileStreamSink",
            "file": out.display().to_string(),
            "topics": topic,
            "value.converter": "org.apache.kafka.connect.storage.StringConverter",
            "consumer.override.session.timeout.ms": "6000",
        }})
        .to_string(),
    );
    let lines = || {
        std::fs::read_to_string(&out)
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    // Runs the worker until `until(lines written, log)`, then stops it with SIGTERM.
    let run_until = |until: &dyn Fn(usize, &str) -> bool| {
        let log_path = d.join("run.log");
        let mut child = kconnect(d)
            .args([
                "run",
                "-b",
                &kafka.bootstrap(),
                "--offsets",
                "offsets",
                "--worker",
            ])
            .arg(&worker)
            .arg(&conn)
            .env("NO_COLOR", "1")
            .stderr(Stdio::from(std::fs::File::create(&log_path).unwrap()))
            .spawn()
            .unwrap();
        let reaper = Reaper(vec![child.id()]);
        let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
        let done = support::eventually(Duration::from_secs(60), || {
            until(lines().len(), &log()).then_some(())
        });
        // A clean stop commits to the store and the group.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        child.wait().unwrap();
        std::mem::forget(reaper);
        let log = log();
        assert!(done.is_some(), "{} lines\n{log}", lines().len());
        log
    };
    run_until(&|n, _| n >= 10);
    let group = |kafka: &support::kafka::Kafka| {
        support::kafka::group_offset(&kafka.bootstrap(), "connect-edit-sink", topic, 0)
    };
    assert_eq!(group(&kafka), Some(10));
    let o = kconnect(d)
        .args([
            "offsets",
            "set",
            "edit-sink",
            "--partition",
            &json!({"kafka_topic": topic, "kafka_partition": 0}).to_string(),
            "--offset",
            r#"{"kafka_offset": 4}"#,
            "--offsets",
            "offsets",
        ])
        .arg(&conn)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", support::kconnect::output_text(&o));
    let log = run_until(&|n, _| n >= 16);
    assert!(log.contains("offset kconnect offsets set wrote"), "{log}");
    assert_eq!(
        &lines()[10..],
        &values[4..],
        "read again from the edited offset"
    );
    assert_eq!(group(&kafka), Some(10));
    // The edit is spent: the next start goes on from the group's offset, reading nothing.
    let took = std::time::Instant::now();
    let log = run_until(&|_, log| {
        log.contains("took partitions") && took.elapsed() > Duration::from_secs(3)
    });
    assert!(!log.contains("offset kconnect offsets set wrote"), "{log}");
    assert_eq!(lines().len(), 16, "{log}");
}
