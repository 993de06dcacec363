//! The worker loses nothing and hangs on nothing: SIGKILL of a source or a sink repeats only
//! what came after the committed offset, and a `--once` run whose broker stops acknowledging or
//! answering fails instead of waiting forever.

mod support;

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value as Json;

use support::file_pipeline::{lines, lines_before, offsets_json, run_once, source_conf, spawn_run};
use support::{kconnect, output_text, write};

#[test]
fn source_sigkill_loses_nothing_and_repeats_only_after_the_committed_offset() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    // Large enough that the kill below comes mid-file however fast the source is (1M lines
    // took 0.6 s here).
    let text = lines(0..1_600_000);
    let input = write(d.path(), "in.txt", &text);
    let src = source_conf(d.path(), "src", &input, "killed");
    let mut child = spawn_run(d.path(), &k.bootstrap(), 100, &src, Stdio::null());
    // Kill mid-file, once a quarter of it is in Kafka and offsets have been committed (flush
    // every 100 ms): watching the topic instead of sleeping keeps the kill mid-file however
    // fast the source is.
    let quarter = support::eventually(Duration::from_secs(60), || {
        (support::kafka::end_offset(&k.bootstrap(), "killed") >= 400_000).then_some(())
    });
    assert!(
        quarter.is_some(),
        "the source never got a quarter of the file into Kafka"
    );
    std::thread::sleep(Duration::from_millis(150));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let offsets = offsets_json(d.path(), "offsets");
    let position = offsets
        .iter()
        .find(|e| e["connector"] == "src")
        .map(|e| e["offset"]["position"].as_u64().unwrap() as usize)
        .unwrap_or(0);
    assert!(
        position < text.len(),
        "the kill came after the whole file was committed; make the file larger"
    );
    let committed_lines = lines_before(&text, position);

    let o = run_once(d.path(), &k.bootstrap(), "offsets", &[&src]);
    assert!(o.status.success(), "{}", output_text(&o));

    let got = support::kafka::consume_all(&k.bootstrap(), "killed");
    let mut seen: HashMap<usize, usize> = HashMap::new();
    for m in &got {
        // JsonConverter with schemas: {"schema":{"type":"string",..},"payload":"line N"}
        let v: Json = serde_json::from_slice(m.value.as_deref().unwrap()).unwrap();
        let i: usize = v["payload"]
            .as_str()
            .unwrap()
            .strip_prefix("line ")
            .unwrap()
            .parse()
            .unwrap();
        *seen.entry(i).or_default() += 1;
    }
    for i in 0..1_600_000 {
        let n = seen.get(&i).copied().unwrap_or(0);
        assert!(
            n >= 1,
            "line {i} was lost (committed up to line {committed_lines})"
        );
        if i < committed_lines {
            assert_eq!(n, 1, "line {i} before the committed offset was repeated");
        }
    }
}

#[test]
fn sink_sigkill_loses_nothing_and_repeats_only_after_the_committed_offset() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let n = 150_000;
    support::kafka::create_topic(&k.bootstrap(), "to-sink", 1);
    let values: Vec<String> = (0..n).map(|i| format!("line {i}")).collect();
    let recs: Vec<support::kafka::Rec<'_>> = values
        .iter()
        .map(|v| (None, Some(v.as_bytes()), vec![]))
        .collect();
    support::kafka::produce(&k.bootstrap(), "to-sink", &recs);
    let output = d.path().join("out.txt");
    let sink = write(
        d.path(),
        "sink.json",
        &serde_json::json!({"name": "sink", "connector.class": "FileStreamSink", "file": output.display().to_string(),
            "topics": "to-sink", "value.converter": "org.apache.kafka.connect.storage.StringConverter"}).to_string(),
    );
    let mut child = spawn_run(d.path(), &k.bootstrap(), 100, &sink, Stdio::null());
    support::eventually(Duration::from_secs(60), || {
        std::fs::read_to_string(&output)
            .ok()
            .filter(|t| t.lines().count() > 2_000)
            .map(|_| ())
    })
    .expect("the sink wrote something");
    child.kill().unwrap();
    child.wait().unwrap();
    let committed = offsets_json(d.path(), "offsets")
        .iter()
        .find(|e| e["connector"] == "sink")
        .map(|e| e["offset"]["kafka_offset"].as_i64().unwrap())
        .unwrap_or(0) as usize;
    assert!(
        committed < n,
        "the kill came after everything was committed"
    );
    let o = run_once(d.path(), &k.bootstrap(), "offsets", &[&sink]);
    assert!(o.status.success(), "{}", output_text(&o));
    let text = std::fs::read_to_string(&output).unwrap();
    let mut seen: HashMap<usize, usize> = HashMap::new();
    for l in text.lines() {
        // A line cut by the kill is rewritten whole on the next run.
        if let Some(i) = l
            .strip_prefix("line ")
            .and_then(|n| n.parse::<usize>().ok())
        {
            *seen.entry(i).or_default() += 1;
        }
    }
    for i in 0..n {
        let c = seen.get(&i).copied().unwrap_or(0);
        assert!(c >= 1, "record {i} lost (committed offset {committed})");
        if i < committed {
            assert_eq!(
                c, 1,
                "record {i} before the committed offset {committed} was written twice"
            );
        }
    }
}

/// `--once` succeeds only when Kafka acknowledged everything it read: records still in flight
/// when the file is read (here held back by linger.ms while the broker is frozen) are waited
/// for, and when Kafka never takes them the run exits 3 with their offsets uncommitted.
#[test]
fn once_fails_when_the_last_records_are_never_acknowledged() {
    let k = support::tansu();
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "in.txt", &lines(0..500));
    let conf = write(
        dir.path(),
        "src.json",
        &serde_json::json!({
            "name": "src",
            "config": {
                "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
                "file": input.display().to_string(),
                "topic": "frozen",
                "producer.override.linger.ms": "2000",
                "producer.override.request.timeout.ms": "1500",
                "producer.override.delivery.timeout.ms": "9000",
            }
        })
        .to_string(),
    );
    let log = dir.path().join("run.log");
    let mut child = kconnect(dir.path())
        .args([
            "run",
            "--once",
            "-b",
            &k.bootstrap(),
            "--offsets",
            "offsets",
        ])
        .arg(&conf)
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    // Freeze the broker once kconnect is running, while the records wait out linger.ms.
    let started = support::eventually(Duration::from_secs(20), || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("kconnect started")
            .then_some(())
    });
    assert!(
        started.is_some(),
        "{}",
        std::fs::read_to_string(&log).unwrap()
    );
    let pid = k.service.child.id() as i32;
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let status = child.wait().unwrap();
    unsafe { libc::kill(pid, libc::SIGCONT) };
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(3), "{text}");
    assert!(text.contains("stage KAFKA_PRODUCE"), "{text}");
    let offsets = offsets_json(dir.path(), "offsets");
    assert!(
        offsets
            .iter()
            .all(|o| o["offset"]["position"] == Json::Null),
        "no offset may be committed for unacknowledged records: {offsets:?}"
    );
}

#[test]
fn once_sink_whose_broker_stops_answering_fails_instead_of_waiting_forever() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let total = 300_000;
    let values: Vec<String> = (0..total).map(|i| format!("record {i}")).collect();
    let recs: Vec<support::kafka::Rec<'_>> = values
        .iter()
        .map(|v| (None, Some(v.as_bytes()), vec![]))
        .collect();
    // One partition, so the sink's one "assigned" line means its assignment is complete.
    support::kafka::create_topic(&k.bootstrap(), "frozen", 1);
    support::kafka::produce(&k.bootstrap(), "frozen", &recs);
    let output = d.path().join("out.txt");
    let sink = write(
        d.path(),
        "sink.json",
        &serde_json::json!({"name": "sink", "connector.class": "FileStreamSink",
            "file": output.display().to_string(), "topics": "frozen",
            "key.converter": "org.apache.kafka.connect.storage.StringConverter",
            "value.converter": "org.apache.kafka.connect.storage.StringConverter"})
        .to_string(),
    );

    let mut child = kconnect(d.path())
        .args([
            "run",
            "--once",
            "-b",
            &k.bootstrap(),
            "--offsets",
            "offsets",
        ])
        .arg(&sink)
        .env("KCONNECT_BROKER_WAIT_MS", "2000")
        .env("KCONNECT_LOG", "kconnect=debug")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Freeze the broker (SIGSTOP: connections stay open, nothing answers) the moment the sink
    // has its partition and the end offset to read up to, before it can read 300,000 records.
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let assigned = rx
        .iter()
        .any(|l| l.contains("assigned") && l.contains("start="));
    assert!(assigned, "the sink never logged its assignment");
    unsafe {
        libc::kill(k.service.child.id() as i32, libc::SIGSTOP);
    }
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    unsafe {
        libc::kill(k.service.child.id() as i32, libc::SIGCONT);
    }
    let log = reader.join().unwrap();
    let status =
        status.unwrap_or_else(|| panic!("--once kept waiting for a frozen broker:\n{log}"));
    let written = std::fs::read_to_string(&output).map_or(0, |t| t.lines().count());
    assert!(
        written < total,
        "the sink read everything before the broker froze; produce more records"
    );
    assert_eq!(status.code(), Some(3), "{log}");
    assert!(
        log.contains("--once read nothing for 2 s")
            && log.contains("frozen-0 at offset")
            && log.contains("KCONNECT_BROKER_WAIT_MS"),
        "{log}"
    );

    // With the broker back, the next run goes on from what was committed: nothing is lost.
    let o = run_once(d.path(), &k.bootstrap(), "offsets", &[&sink]);
    assert!(o.status.success(), "{}", output_text(&o));
    let text = std::fs::read_to_string(&output).unwrap();
    let got: std::collections::HashSet<&str> = text.lines().collect();
    assert_eq!(got.len(), total, "records lost between the two runs");
}
