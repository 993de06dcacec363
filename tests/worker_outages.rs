//! A long-running worker and its broker: it waits for a broker that is not there yet and
//! starts when it comes, a signal during that wait stops it at once (exit 0), and a broker
//! outage (and a PostgreSQL one under a Debezium source) is logged once when it begins and
//! once when it ends, not per failed connection.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use support::file_pipeline::{lines, sink_conf, source_conf};
use support::noida::{noida_on, restart};
use support::pg_source::{connector_file, final_rows, spawn_run as pg_spawn_run};
use support::{eventually, free_port, kconnect, noida_kafka, write};

/// A FileStream source → topic `t` → FileStream sink pipeline in `dir/connectors.d`.
fn pipeline(dir: &Path) {
    let conf = dir.join("connectors.d");
    std::fs::create_dir_all(&conf).unwrap();
    write(dir, "in.txt", &lines(0..5));
    source_conf(&conf, "src", &dir.join("in.txt"), "t");
    sink_conf(&conf, "sink", &dir.join("out.txt"), "t");
}

/// `kconnect run` (long-running unless `once`), its log in `dir/kconnect.log`.
fn spawn(dir: &Path, bootstrap: &str, once: bool) -> Child {
    let log = std::fs::File::create(dir.join("kconnect.log")).unwrap();
    let mut c = kconnect(dir);
    c.args(["run", "-b", bootstrap, "--offsets", "offsets"]);
    if once {
        c.arg("--once").env("KCONNECT_BROKER_WAIT_MS", "60000");
    }
    c.arg("connectors.d")
        .env("KCONNECT_OFFSET_FLUSH_INTERVAL_MS", "500")
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap()
}

fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("kconnect.log")).unwrap()
}

fn out_lines(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("out.txt"))
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

/// SIGTERM, then the exit status, which must come within the graceful timeout (5 s).
fn terminate(child: &mut Child) -> (i32, Duration) {
    let sent = Instant::now();
    // SAFETY: signalling our own child by its pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code().unwrap_or(-1), sent.elapsed());
        }
        if sent.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("kconnect did not stop within 10 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn count(text: &str, what: &str) -> usize {
    text.lines().filter(|l| l.contains(what)).count()
}

#[test]
fn sigterm_while_waiting_for_an_absent_broker_exits_0_at_once() {
    for once in [false, true] {
        let d = tempfile::tempdir().unwrap();
        pipeline(d.path());
        let dead = format!("127.0.0.1:{}", free_port());
        let mut child = spawn(d.path(), &dead, once);
        std::thread::sleep(Duration::from_millis(1500));
        let (code, took) = terminate(&mut child);
        let log = log(d.path());
        assert_eq!(code, 0, "once={once}: {log}");
        assert!(
            took < Duration::from_secs(5),
            "once={once}: took {took:?}: {log}"
        );
        assert!(log.contains("stopped while waiting for Kafka"), "{log}");
        if !once {
            assert_eq!(
                count(&log, &format!("Kafka at {dead} down since")),
                1,
                "{log}"
            );
        }
    }
}

#[test]
fn a_long_running_worker_starts_when_the_broker_comes() {
    let d = tempfile::tempdir().unwrap();
    pipeline(d.path());
    let port = free_port();
    let mut child = spawn(d.path(), &format!("127.0.0.1:{port}"), false);
    // Longer than a --once run would wait with a short KCONNECT_BROKER_WAIT_MS.
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        child.try_wait().unwrap().is_none(),
        "exited: {}",
        log(d.path())
    );
    let _kafka = noida_on("kafka", port).expect("noida-db on the port kconnect was given");
    let delivered = eventually(Duration::from_secs(60), || {
        (out_lines(d.path()) == 5).then_some(())
    });
    let (code, _) = terminate(&mut child);
    let log = log(d.path());
    assert!(delivered.is_some(), "records not delivered: {log}");
    assert_eq!(code, 0, "{log}");
    assert_eq!(count(&log, "down since"), 1, "{log}");
    assert_eq!(count(&log, "back after"), 1, "{log}");
}

#[test]
fn a_broker_outage_is_logged_once_when_it_begins_and_once_when_it_ends() {
    let d = tempfile::tempdir().unwrap();
    pipeline(d.path());
    let mut kafka = noida_kafka();
    let bootstrap = format!("127.0.0.1:{}", kafka.service.port);
    let mut child = spawn(d.path(), &bootstrap, false);
    assert!(
        eventually(Duration::from_secs(60), || (out_lines(d.path()) == 5)
            .then_some(()))
        .is_some(),
        "{}",
        log(d.path())
    );
    let before = log(d.path());
    restart(&mut kafka.service, "kafka", Duration::from_secs(6));
    // New lines after the broker is back are delivered.
    std::fs::write(d.path().join("in.txt"), lines(0..8)).unwrap();
    let delivered = eventually(Duration::from_secs(60), || {
        (out_lines(d.path()) == 8).then_some(())
    });
    std::thread::sleep(Duration::from_secs(3));
    let (code, _) = terminate(&mut child);
    let all = log(d.path());
    let during = &all[before.len()..];
    assert!(delivered.is_some(), "not delivered after the outage: {all}");
    assert_eq!(code, 0, "{all}");
    assert_eq!(
        count(during, &format!("Kafka at {bootstrap} down since")),
        1,
        "{during}"
    );
    assert_eq!(
        count(during, &format!("Kafka at {bootstrap} back after")),
        1,
        "{during}"
    );
    assert!(
        count(during, "ERROR") <= 2,
        "one line per outage, not per connection: {during}"
    );
}

/// PostgreSQL restarted under a running Debezium source: the task's retries are said once
/// ("down since") and its return once ("back after"), and the rows written after it are
/// streamed.
#[test]
fn a_postgres_outage_is_logged_once_and_streaming_resumes() {
    let mut pg = support::Postgres::start();
    let k = noida_kafka();
    let d = tempfile::tempdir().unwrap();
    pg.psql("CREATE TABLE t (id int PRIMARY KEY, val text NOT NULL)");
    pg.psql("INSERT INTO t VALUES (1, 'a')");
    connector_file(d.path(), &pg, &[("table.include.list", "public.t")]);
    let log_path = d.path().join("kconnect.log");
    let mut child = pg_spawn_run(d.path(), &k.bootstrap(), &log_path);
    let rows = |n: usize| {
        eventually(Duration::from_secs(60), || {
            (final_rows(&k.bootstrap(), "dbserver1.public.t", "val")
                .0
                .len()
                == n)
                .then_some(())
        })
    };
    assert!(rows(1).is_some(), "{}", log(d.path()));
    let before = log(d.path());
    pg.restart(Duration::from_secs(5));
    pg.psql("INSERT INTO t VALUES (2, 'b')");
    let resumed = rows(2);
    let (code, _) = terminate(&mut child);
    let all = log(d.path());
    let during = &all[before.len()..];
    assert!(resumed.is_some(), "not streamed after the restart: {all}");
    assert_eq!(code, 0, "{all}");
    let source = "the source of connector pg-source (task 0)";
    assert_eq!(
        count(during, &format!("{source} down since")),
        1,
        "{during}"
    );
    assert_eq!(
        count(during, &format!("{source} back after")),
        1,
        "{during}"
    );
    assert_eq!(count(during, "poll failed"), 0, "{during}");
}

/// A server that is starting up turns logins away (57P03, seen after a crash restart in the
/// soak); the source waits for it instead of failing as on a wrong user or database.
#[test]
fn a_postgres_that_is_starting_up_is_waited_for_not_a_failed_login() {
    let pg = support::Postgres::start();
    let k = noida_kafka();
    let d = tempfile::tempdir().unwrap();
    pg.psql("CREATE TABLE t (id int PRIMARY KEY, val text NOT NULL)");
    pg.psql("INSERT INTO t VALUES (1, 'a')");
    let proxy = support::pg_proxy::StartingUpProxy::start(pg.port(), 3);
    let port = proxy.port.to_string();
    connector_file(
        d.path(),
        &pg,
        &[("table.include.list", "public.t"), ("database.port", &port)],
    );
    let out = support::pg_source::run_once_output(d.path(), &k.bootstrap());
    let text = support::output_text(&out);
    assert_eq!(
        proxy.refused.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "{text}"
    );
    assert!(out.status.success(), "{text}");
    assert!(!text.contains("refused the login"), "{text}");
    let (rows, _) = final_rows(&k.bootstrap(), "dbserver1.public.t", "val");
    assert_eq!(rows.get(&1).map(String::as_str), Some("a"), "{text}");
}

/// A FileStream source of `input` (holding `text`) into `topic`, running in a long-running
/// worker whose broker has just been stopped.
fn source_losing_its_broker(
    d: &Path,
    text: &str,
    topic: &str,
) -> (
    support::worker_control::Worker,
    support::kafka::Kafka,
    PathBuf,
) {
    use support::worker_control::{connectors_dir, source_config, start, write_connector};
    let input = write(d, "in.txt", text);
    let mut kafka = noida_kafka();
    write_connector(&connectors_dir(d), "src", &source_config(&input, topic));
    let w = start(d, &kafka.bootstrap(), &[]);
    w.wait_state("src", "RUNNING");
    support::noida::stop_clean(&mut kafka.service, "kafka");
    (w, kafka, input)
}

/// Waits until the source's task is RUNNING with the Kafka outage as its trace.
fn wait_for_kafka_in_status(w: &support::worker_control::Worker) -> serde_json::Value {
    w.wait_status("src", "the task waiting for Kafka", |s| {
        s["tasks"][0]["state"] == "RUNNING"
            && s["tasks"][0]["trace"]
                .as_str()
                .is_some_and(|t| t.starts_with("waiting: Kafka at 127.0.0.1:"))
    })
}

/// While the broker is down, a running task's status says it waits for it (RUNNING, with
/// the outage as its trace), and says nothing once the broker is back.
#[test]
fn a_broker_outage_shows_in_the_status_of_running_tasks() {
    let d = tempfile::tempdir().unwrap();
    let (w, mut kafka, input) = source_losing_its_broker(d.path(), &lines(0..5), "t");
    let s = wait_for_kafka_in_status(&w);
    assert!(
        s["tasks"][0]["trace"]
            .as_str()
            .unwrap()
            .contains("down since"),
        "{s}"
    );
    support::noida::start_again(&mut kafka.service, "kafka");
    std::fs::write(&input, lines(0..8)).unwrap();
    w.wait_status("src", "the task running without a trace", |s| {
        s["tasks"][0]["state"] == "RUNNING" && s["tasks"][0].get("trace").is_none()
    });
    w.kill();
}

/// The first record for a topic polled while the broker is down: its topic cannot be looked
/// up or created, and the task waits for the broker (RUNNING, the outage as its trace)
/// instead of failing, then creates the topic and delivers every record once it is back.
#[test]
fn a_topic_to_create_while_the_broker_is_down_is_waited_for() {
    use support::worker_control::{append, wait_records};
    let d = tempfile::tempdir().unwrap();
    let (w, mut kafka, input) = source_losing_its_broker(d.path(), "", "fresh");
    append(&input, &lines(0..5));
    // Past the 10 s metadata wait of the first attempt, so a failed task would show.
    std::thread::sleep(Duration::from_secs(12));
    let s = wait_for_kafka_in_status(&w);
    assert_eq!(s["tasks"][0]["state"], "RUNNING", "{s}\n{}", w.log_tail());
    support::noida::start_again(&mut kafka.service, "kafka");
    let got = wait_records(&kafka.bootstrap(), "fresh", 5);
    assert_eq!(got.len(), 5, "{got:?}\n{}", w.log_tail());
    let log = w.log_tail();
    assert!(!log.contains("FAILED"), "{log}");
    w.kill();
}

/// A sink with a dead letter queue created (through the REST API) while the broker is down:
/// its task waits for the broker to create the queue's topic instead of failing, then sends
/// a record it cannot convert there.
#[test]
fn a_dead_letter_queue_made_while_the_broker_is_down_is_waited_for() {
    use support::noida::{start_again, stop_clean};
    use support::worker_control::{sink_config, start, wait_records};
    let d = tempfile::tempdir().unwrap();
    let mut kafka = noida_kafka();
    support::kafka::produce(
        &kafka.bootstrap(),
        "in",
        &[(None, Some(&b"{not json"[..]), Vec::new())],
    );
    let w = start(d.path(), &kafka.bootstrap(), &[]);
    stop_clean(&mut kafka.service, "kafka");
    let mut config = sink_config(&d.path().join("out.txt"), "in");
    for (k, v) in [
        (
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        ),
        ("errors.tolerance", "all"),
        ("errors.deadletterqueue.topic.name", "dlq"),
        ("errors.deadletterqueue.topic.replication.factor", "1"),
    ] {
        config[k] = serde_json::json!(v);
    }
    w.expect(
        "POST",
        "/connectors",
        Some(&serde_json::json!({"name": "snk", "config": config})),
        201,
    );
    // Past the task's 10 s client check and a 10 s metadata wait, so a failure would show.
    std::thread::sleep(Duration::from_secs(22));
    let s = w.status("snk").unwrap();
    assert_ne!(s["tasks"][0]["state"], "FAILED", "{s}\n{}", w.log_tail());
    start_again(&mut kafka.service, "kafka");
    let dlq = wait_records(&kafka.bootstrap(), "dlq", 1);
    assert_eq!(dlq, ["{not json"], "{}", w.log_tail());
    w.wait_state("snk", "RUNNING");
    w.kill();
}
