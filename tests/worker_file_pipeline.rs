//! The standalone worker end to end, through a real broker (Tansu), with Kafka's FileStream
//! source and sink: --once runs resuming from offsets, a followed file, graceful SIGTERM, the
//! store lock, paused connectors and sink tasks sharing partitions. Crash safety, dead letter
//! queues and the command line are in the other tests/worker_*.rs files.

mod support;

use std::process::Stdio;
use std::time::Duration;

use support::file_pipeline::{lines, offsets_json, run_once, sink_conf, source_conf, spawn_run};
use support::{kconnect, output_text, write};

#[test]
fn file_to_kafka_to_file_once_then_only_new_lines() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let input = write(d.path(), "in.txt", &lines(0..500));
    let output = d.path().join("out.txt");
    let src = source_conf(d.path(), "src", &input, "lines");
    let sink = sink_conf(d.path(), "sink", &output, "lines");

    let o = run_once(d.path(), &k.bootstrap(), "offsets", &[&src]);
    assert!(o.status.success(), "{}", output_text(&o));
    let o = run_once(d.path(), &k.bootstrap(), "offsets", &[&sink]);
    assert!(o.status.success(), "{}", output_text(&o));
    assert_eq!(std::fs::read_to_string(&output).unwrap(), lines(0..500));

    // Append, run both again in one process: exactly the new lines arrive.
    std::fs::write(&input, lines(0..700)).unwrap();
    let o = run_once(d.path(), &k.bootstrap(), "offsets", &[&src, &sink]);
    assert!(o.status.success(), "{}", output_text(&o));
    // The sink may finish before the source's new records land; a second pass settles it.
    let o = run_once(d.path(), &k.bootstrap(), "offsets", &[&sink]);
    assert!(o.status.success(), "{}", output_text(&o));
    assert_eq!(std::fs::read_to_string(&output).unwrap(), lines(0..700));

    let offsets = offsets_json(d.path(), "offsets");
    let src_off = offsets.iter().find(|e| e["connector"] == "src").unwrap();
    assert_eq!(
        src_off["partition"]["filename"],
        input.display().to_string()
    );
    assert_eq!(src_off["offset"]["position"], lines(0..700).len());
    let sink_off = offsets.iter().find(|e| e["connector"] == "sink").unwrap();
    assert_eq!(
        sink_off["partition"],
        serde_json::json!({"kafka_topic": "lines", "kafka_partition": 0})
    );
    assert_eq!(sink_off["offset"]["kafka_offset"], 700);
    // Sink offsets are committed to the consumer group as well, for Kafka's lag tools.
    let group = support::eventually(Duration::from_secs(10), || {
        support::kafka::group_offset(&k.bootstrap(), "connect-sink", "lines", 0)
            .filter(|o| *o == 700)
    });
    assert_eq!(group, Some(700));

    // A reset of the sink's offsets really starts it over, though the group still holds 700.
    let o = kconnect(d.path())
        .args(["offsets", "reset", "sink", "--offsets", "offsets"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", output_text(&o));
    let o = run_once(d.path(), &k.bootstrap(), "offsets", &[&sink]);
    assert!(o.status.success(), "{}", output_text(&o));
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        lines(0..700) + &lines(0..700)
    );
}

#[test]
fn source_follows_a_growing_file_sigterm_commits_and_a_held_store_exits_4() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let input = write(d.path(), "in.txt", &lines(0..1000));
    let src = source_conf(d.path(), "src", &input, "graceful");
    // A long flush interval: only the shutdown commit can store the offsets.
    let child = spawn_run(d.path(), &k.bootstrap(), 600000, &src, Stdio::piped());
    support::eventually(Duration::from_secs(30), || {
        (support::kafka::consume_all(&k.bootstrap(), "graceful").len() == 1000).then_some(())
    })
    .expect("all lines produced");

    // While it runs, a second worker on the same store is refused with exit 4, naming the pid.
    let second = run_once(d.path(), &k.bootstrap(), "offsets", &[&src]);
    assert_eq!(second.status.code(), Some(4), "{}", output_text(&second));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains(&format!("pid {}", child.id())), "{err}");
    // So are offset edits.
    let o = kconnect(d.path())
        .args(["offsets", "reset", "src", "--offsets", "offsets"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(4), "{}", output_text(&o));

    // Not in --once mode, the source follows the file as it grows.
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&input)
            .unwrap();
        f.write_all(lines(1000..1010).as_bytes()).unwrap();
    }
    support::eventually(Duration::from_secs(30), || {
        (support::kafka::consume_all(&k.bootstrap(), "graceful").len() == 1010).then_some(())
    })
    .expect("appended lines produced");

    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    let offsets = offsets_json(d.path(), "offsets");
    assert_eq!(offsets[0]["offset"]["position"], lines(0..1010).len());
}

#[test]
fn paused_and_stopped_connectors_do_not_run() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let input = write(d.path(), "in.txt", &lines(0..3));
    let paused = write(
        d.path(),
        "paused.json",
        &serde_json::json!({"name": "paused", "initial_state": "PAUSED",
            "config": {"connector.class": "FileStreamSource", "file": input.display().to_string(), "topic": "paused"}}).to_string(),
    );
    let o = run_once(d.path(), &k.bootstrap(), "offsets", &[&paused]);
    assert!(o.status.success(), "{}", output_text(&o));
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("its target state is PAUSED (its file's initial_state)"));
    assert!(offsets_json(d.path(), "offsets").is_empty());
}

#[test]
fn tasks_max_splits_partitions_among_sink_tasks() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    support::kafka::create_topic(&k.bootstrap(), "multi", 4);
    // Partition-explicit produce: 25 records in each of 4 partitions.
    {
        use rdkafka::config::ClientConfig;
        use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
        let p: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", k.bootstrap())
            .create()
            .unwrap();
        for i in 0..100 {
            let v = format!("r{i}");
            p.send(
                BaseRecord::<[u8], [u8]>::to("multi")
                    .partition(i % 4)
                    .payload(v.as_bytes()),
            )
            .unwrap();
        }
        p.flush(Duration::from_secs(30)).unwrap();
    }
    let output = d.path().join("out.txt");
    let sink = write(
        d.path(),
        "sink.json",
        &serde_json::json!({"name": "multi", "connector.class": "FileStreamSink", "file": output.display().to_string(),
            "topics.regex": "mul.*", "tasks.max": "2",
            "value.converter": "org.apache.kafka.connect.storage.StringConverter"}).to_string(),
    );
    let o = run_once(d.path(), &k.bootstrap(), "offsets", &[&sink]);
    assert!(o.status.success(), "{}", output_text(&o));
    let mut got: Vec<String> = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    got.sort();
    let mut want: Vec<String> = (0..100).map(|i| format!("r{i}")).collect();
    want.sort();
    assert_eq!(got, want);
    let off = offsets_json(d.path(), "offsets");
    assert_eq!(off.len(), 4);
    assert!(off.iter().all(|e| e["offset"]["kafka_offset"] == 25));
}
