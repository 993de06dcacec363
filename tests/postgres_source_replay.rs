//! Bounded replays after a crash: the source commits its offsets as soon as a snapshot is
//! complete and acknowledged, not only every `offset.flush.interval.ms`, so a SIGKILL soon
//! after the snapshot does not make the next run take it again.

mod support;

use std::time::Duration;

use support::kafka;
use support::pg_source::{connector_file, with_small_messages};
use support::Postgres;

const ROWS: i64 = 3000;

#[test]
fn a_kill_after_the_snapshot_does_not_take_it_again() {
    let pg = Postgres::start();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    pg.psql("CREATE TABLE items (id int PRIMARY KEY, val text)");
    pg.psql(&format!(
        "INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, {ROWS}) g"
    ));
    connector_file(dir.path(), &pg, &with_small_messages(&[]));
    let topic = "dbserver1.public.items";
    let log = dir.path().join("first.log");
    // A flush interval far longer than the test: only the eager commit can save the snapshot.
    let mut child = support::kconnect(dir.path())
        .args(["run", "-b", &k.bootstrap(), "--offsets"])
        .arg(dir.path().join("offsets"))
        .arg(dir.path().join("connectors.d"))
        .env("KCONNECT_OFFSET_FLUSH_INTERVAL_MS", "600000")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let snapshot = support::eventually(Duration::from_secs(60), || {
        (kafka::end_offset(&k.bootstrap(), topic) >= ROWS).then_some(())
    });
    // Shortly after the snapshot's last record is in Kafka.
    std::thread::sleep(Duration::from_millis(1500));
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    let first = std::fs::read_to_string(&log).unwrap_or_default();
    snapshot.unwrap_or_else(|| panic!("the snapshot never reached Kafka: {first}"));
    let after_first = kafka::end_offset(&k.bootstrap(), topic);
    let listed = support::kconnect(dir.path())
        .args(["offsets", "list", "--json", "--offsets"])
        .arg(dir.path().join("offsets"))
        .output()
        .unwrap();
    let stored = String::from_utf8_lossy(&listed.stdout).into_owned();

    let out = support::pg_source::once_command(dir.path(), &k.bootstrap())
        .output()
        .unwrap();
    let text = support::output_text(&out);
    assert!(out.status.success(), "{text}");
    let after_second = kafka::end_offset(&k.bootstrap(), topic);
    assert_eq!(
        after_second, after_first,
        "the second run sent {} records again (the snapshot of {ROWS} rows taken again?); stored offsets after the kill: {stored}\nfirst run: {first}\nsecond run: {text}",
        after_second - after_first
    );
    assert!(
        stored.contains("\"last_snapshot_record\": true"),
        "{stored}"
    );
}
