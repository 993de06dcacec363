//! The standalone worker end to end, through a real broker (Tansu), with Kafka's FileStream
//! source and sink: --once runs, resuming from offsets, crash safety under SIGKILL, graceful
//! SIGTERM, the store lock, and bad inputs.

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value as Json;
use support::{kconnect, output_text, write};

fn source_conf(dir: &Path, name: &str, input: &Path, topic: &str) -> std::path::PathBuf {
    write(
        dir,
        &format!("{name}.json"),
        &serde_json::json!({
            "name": name,
            "config": {
                "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
                "file": input.display().to_string(),
                "topic": topic,
                "topic.creation.default.partitions": 1,
                "topic.creation.default.replication.factor": 1,
            }
        })
        .to_string(),
    )
}

fn sink_conf(dir: &Path, name: &str, output: &Path, topic: &str) -> std::path::PathBuf {
    write(
        dir,
        &format!("{name}.properties"),
        &format!(
            "name={name}\nconnector.class=FileStreamSink\nfile={}\ntopics={topic}\n",
            output.display()
        ),
    )
}

/// `kconnect run` (not --once) with offsets committed every `flush_ms`.
fn spawn_run(
    dir: &Path,
    bootstrap: &str,
    flush_ms: u64,
    connector: &Path,
    stderr: Stdio,
) -> std::process::Child {
    let worker = write(
        dir,
        "worker.properties",
        &format!("offset.flush.interval.ms={flush_ms}\n"),
    );
    kconnect(dir)
        .args(["run", "-b", bootstrap, "--offsets", "offsets", "--worker"])
        .arg(&worker)
        .arg(connector)
        .stderr(stderr)
        .spawn()
        .unwrap()
}

fn lines(n: std::ops::Range<usize>) -> String {
    n.map(|i| format!("line {i}\n")).collect()
}

fn offsets_json(dir: &Path, store: &str) -> Vec<Json> {
    let o = kconnect(dir)
        .args(["offsets", "list", "--json", "--offsets", store])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", output_text(&o));
    serde_json::from_slice::<Json>(&o.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn run_once(dir: &Path, bootstrap: &str, store: &str, files: &[&Path]) -> std::process::Output {
    let mut c = kconnect(dir);
    c.args(["run", "--once", "-b", bootstrap, "--offsets", store]);
    for f in files {
        c.arg(f);
    }
    c.output().unwrap()
}

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
}

/// Position (byte offset) → number of whole lines before it.
fn lines_before(text: &str, position: usize) -> usize {
    text.as_bytes()[..position]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
}

#[test]
fn source_sigkill_loses_nothing_and_repeats_only_after_the_committed_offset() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let text = lines(0..400_000);
    let input = write(d.path(), "in.txt", &text);
    let src = source_conf(d.path(), "src", &input, "killed");
    let mut child = spawn_run(d.path(), &k.bootstrap(), 100, &src, Stdio::null());
    // Kill mid-file, once a quarter of it is in Kafka and offsets have been committed (flush
    // every 100 ms): watching the topic instead of sleeping keeps the kill mid-file however
    // fast the source is.
    let quarter = support::eventually(Duration::from_secs(60), || {
        (support::kafka::end_offset(&k.bootstrap(), "killed") >= 100_000).then_some(())
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
    for i in 0..400_000 {
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
fn bad_inputs_fail_clearly_and_change_no_offsets() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let input = write(d.path(), "in.txt", &lines(0..10));
    let good = source_conf(d.path(), "good", &input, "bad-inputs");
    let cases = [
        (
            "malformed.json",
            "{\"name\": \"x\", \"connector.class\": ",
            "not valid JSON",
        ),
        (
            "noname.properties",
            "connector.class=FileStreamSource\ntopic=t\n",
            "has no name",
        ),
        (
            "unknown.json",
            "{\"name\":\"u\",\"connector.class\":\"com.example.NoSuchConnector\",\"topic\":\"t\"}",
            "unknown connector class",
        ),
    ];
    for (file, text, expect) in cases {
        let bad = write(d.path(), file, text);
        let o = run_once(d.path(), &k.bootstrap(), "offsets", &[&good, &bad]);
        assert_eq!(o.status.code(), Some(1), "{file}: {}", output_text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(file) && err.contains(expect), "{file}: {err}");
    }
    // Nothing ran, so nothing was committed.
    assert!(offsets_json(d.path(), "offsets").is_empty());

    // An unreachable broker: retried, then a clear failure naming the address.
    let dead = format!("127.0.0.1:{}", support::free_port());
    let o = kconnect(d.path())
        .env("KCONNECT_BROKER_WAIT_MS", "2000")
        .args(["run", "--once", "-b", &dead, "--offsets", "offsets"])
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", output_text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cannot reach Kafka") && err.contains(&dead),
        "{err}"
    );
    assert!(offsets_json(d.path(), "offsets").is_empty());
}

#[test]
fn validate_reports_every_problem_with_file_and_key() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "a.json",
        r#"{"name":"dup","connector.class":"FileStreamSource","topic":"t","batch.sise":"5"}"#,
    );
    write(
        d.path(),
        "b.properties",
        "name=dup\nconnector.class=FileStreamSink\ntopics=t\ntasks.max=zero\n",
    );
    write(
        d.path(),
        "c.json",
        r#"{"name":"c","connector.class":"FileStreamSorce","topic":"t"}"#,
    );
    write(
        d.path(),
        "d.json",
        r#"{"name":"d","connector.class":"FileStreamSink","topics":"t","errors.tolerance":"some","connection.password":"hunter2","value.converter":"JsonConvert"}"#,
    );
    let o = kconnect(d.path()).args(["validate", "."]).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", output_text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    for expect in [
        "a.json: batch.sise: unknown setting batch.sise",
        "did you mean batch.size?",
        "b.properties: name: duplicate connector name \"dup\"",
        "b.properties: tasks.max: Invalid value zero",
        "c.json: connector.class: unknown connector class FileStreamSorce; did you mean FileStreamSource?",
        "d.json: errors.tolerance: Invalid value some",
        "d.json: value.converter",
        "did you mean JsonConverter?",
    ] {
        assert!(out.contains(expect), "missing {expect:?} in:\n{out}");
    }
    assert!(!out.contains("hunter2"), "a secret was printed:\n{out}");
    let good = tempfile::tempdir().unwrap();
    write(
        good.path(),
        "ok.json",
        r#"{"name":"ok","connector.class":"FileStreamSource","topic":"t"}"#,
    );
    let o = kconnect(good.path())
        .args(["validate", "."])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
}

#[test]
fn config_providers_resolve_secrets_from_env_and_files() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let input = write(d.path(), "in.txt", &lines(0..3));
    write(
        d.path(),
        "secrets.properties",
        &format!("input.file={}\n", input.display()),
    );
    let worker = write(
        d.path(),
        "worker.properties",
        "config.providers=env,file\n\
         config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider\n\
         config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider\n",
    );
    let src = write(
        d.path(),
        "src.json",
        &format!(
            r#"{{"name":"p","connector.class":"FileStreamSource","file":"${{file:{}/secrets.properties:input.file}}","topic":"${{env:KCONNECT_TEST_TOPIC}}","topic.creation.default.partitions":"1","topic.creation.default.replication.factor":"1"}}"#,
            d.path().display()
        ),
    );
    let o = kconnect(d.path())
        .env("KCONNECT_TEST_TOPIC", "from-env")
        .args([
            "run",
            "--once",
            "-b",
            &k.bootstrap(),
            "--offsets",
            "offsets",
            "--worker",
        ])
        .arg(&worker)
        .arg(&src)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", output_text(&o));
    assert_eq!(
        support::kafka::consume_all(&k.bootstrap(), "from-env").len(),
        3
    );

    // Without the providers declared, the reference is reported, not silently used as-is.
    let o = kconnect(d.path())
        .env("KCONNECT_TEST_TOPIC", "x")
        .args(["validate"])
        .arg(&src)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", output_text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("config provider 'env'"));
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
    assert!(String::from_utf8_lossy(&o.stderr).contains("initial_state is PAUSED"));
    assert!(offsets_json(d.path(), "offsets").is_empty());
}

#[test]
fn sink_tasks_split_partitions_and_dead_letter_poison_records() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    support::kafka::create_topic(&k.bootstrap(), "json-in", 1);
    let good = |i: i32| format!("{{\"id\":{i}}}");
    let (g0, g1, g2) = (good(0), good(1), good(2));
    support::kafka::produce(
        &k.bootstrap(),
        "json-in",
        &[
            (Some(b"k0"), Some(g0.as_bytes()), vec![("trace", b"a")]),
            (Some(b"k1"), Some(g1.as_bytes()), vec![]),
            (
                Some(b"bad"),
                Some(b"{not json".as_slice()),
                vec![("trace", b"poison")],
            ),
            (Some(b"k2"), Some(g2.as_bytes()), vec![]),
        ],
    );
    let output = d.path().join("out.txt");
    let conf = |name: &str, tolerance: &str| {
        write(
            d.path(),
            &format!("{name}.json"),
            &serde_json::json!({"name": name, "connector.class": "FileStreamSink", "file": output.display().to_string(),
                "topics": "json-in",
                "key.converter": "org.apache.kafka.connect.storage.StringConverter",
                "value.converter": "org.apache.kafka.connect.json.JsonConverter",
                "value.converter.schemas.enable": "false",
                "errors.tolerance": tolerance,
                "errors.deadletterqueue.topic.name": "dlq",
                "errors.deadletterqueue.topic.replication.factor": "1",
                "errors.deadletterqueue.context.headers.enable": "true"})
            .to_string(),
        )
    };
    // Tolerance none: the task fails at the poison record and its offset is not committed.
    let strict = conf("strict", "none");
    let o = run_once(d.path(), &k.bootstrap(), "offsets", &[&strict]);
    assert_eq!(o.status.code(), Some(3), "{}", output_text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("VALUE_CONVERTER") && err.contains("json-in-0@2"),
        "{err}"
    );
    let committed = offsets_json(d.path(), "offsets")
        .iter()
        .find(|e| e["connector"] == "strict")
        .map(|e| e["offset"]["kafka_offset"].as_i64().unwrap());
    assert!(
        committed.is_none_or(|c| c <= 2),
        "offset moved past the poison record: {committed:?}"
    );

    // Tolerance all: good records arrive, the poison one goes to the DLQ, offsets move on.
    std::fs::remove_file(&output).ok();
    let lenient = conf("lenient", "all");
    let o = run_once(d.path(), &k.bootstrap(), "offsets", &[&lenient]);
    assert!(o.status.success(), "{}", output_text(&o));
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        "{id=0}\n{id=1}\n{id=2}\n"
    );
    let dlq = support::kafka::consume_all(&k.bootstrap(), "dlq");
    assert_eq!(dlq.len(), 1);
    let m = &dlq[0];
    assert_eq!(m.key.as_deref(), Some(b"bad".as_slice()));
    assert_eq!(m.value.as_deref(), Some(b"{not json".as_slice()));
    assert_eq!(
        m.header("trace").as_deref(),
        Some("poison"),
        "original headers are kept"
    );
    assert_eq!(
        m.header("__connect.errors.topic").as_deref(),
        Some("json-in")
    );
    assert_eq!(m.header("__connect.errors.partition").as_deref(), Some("0"));
    assert_eq!(m.header("__connect.errors.offset").as_deref(), Some("2"));
    assert_eq!(
        m.header("__connect.errors.connector.name").as_deref(),
        Some("lenient")
    );
    assert_eq!(m.header("__connect.errors.task.id").as_deref(), Some("0"));
    assert_eq!(
        m.header("__connect.errors.stage").as_deref(),
        Some("VALUE_CONVERTER")
    );
    assert_eq!(
        m.header("__connect.errors.class.name").as_deref(),
        Some("org.apache.kafka.connect.json.JsonConverter")
    );
    assert!(m.header("__connect.errors.exception.message").is_some());
    let off = offsets_json(d.path(), "offsets");
    let lenient_off = off.iter().find(|e| e["connector"] == "lenient").unwrap();
    assert_eq!(lenient_off["offset"]["kafka_offset"], 4);
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

#[test]
fn offsets_can_be_listed_set_and_reset() {
    let d = tempfile::tempdir().unwrap();
    let set = |p: &str, o: &str| {
        kconnect(d.path())
            .args([
                "offsets",
                "set",
                "src",
                "--partition",
                p,
                "--offset",
                o,
                "--offsets",
                "offsets",
            ])
            .output()
            .unwrap()
    };
    let o = set(r#"{"filename":"/data/in.txt"}"#, r#"{"position":42}"#);
    assert!(o.status.success(), "{}", output_text(&o));
    let o = set(
        r#"{"kafka_topic":"t","kafka_partition":0}"#,
        r#"{"kafka_offset":7}"#,
    );
    assert!(o.status.success(), "{}", output_text(&o));
    let all = offsets_json(d.path(), "offsets");
    assert_eq!(all.len(), 2);
    assert_eq!(all[0]["type"], "source");
    assert_eq!(all[0]["offset"]["position"], 42);
    assert_eq!(all[1]["type"], "sink");
    let bad = set("not json", "{}");
    assert_eq!(bad.status.code(), Some(2), "{}", output_text(&bad));
    let o = kconnect(d.path())
        .args(["offsets", "reset", "src", "--offsets", "offsets"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", output_text(&o));
    assert!(offsets_json(d.path(), "offsets").is_empty());
}

#[test]
fn json_logs_and_usage_errors() {
    let d = tempfile::tempdir().unwrap();
    let bad = write(
        d.path(),
        "bad.json",
        r#"{"name":"x","connector.class":"NoSuchThing"}"#,
    );
    let o = kconnect(d.path())
        .args(["run", "--once", "--log-format", "json"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", output_text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for l in &lines {
        let j: Json = serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        assert!(j["level"].is_string() && j["timestamp"].is_string(), "{l}");
    }
    assert!(lines
        .iter()
        .any(|l| l.contains("unknown connector class NoSuchThing")));
    let o = kconnect(d.path())
        .args(["run", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", output_text(&o));
}

#[test]
fn source_records_that_fail_a_transform_go_to_the_dead_letter_queue() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let input = write(d.path(), "in.txt", "1\n2\noops\n3\n");
    let conf = |name: &str, tolerance: &str| {
        write(
            d.path(),
            &format!("{name}.json"),
            &serde_json::json!({"name": name, "connector.class": "FileStreamSource", "file": input.display().to_string(),
                "topic": format!("{name}-out"),
                "topic.creation.default.partitions": "1", "topic.creation.default.replication.factor": "1",
                "value.converter": "org.apache.kafka.connect.json.JsonConverter",
                "value.converter.schemas.enable": "false",
                "transforms": "toint",
                "transforms.toint.type": "org.apache.kafka.connect.transforms.Cast$Value",
                "transforms.toint.spec": "int32",
                "errors.tolerance": tolerance,
                "errors.deadletterqueue.topic.name": format!("{name}-dlq"),
                "errors.deadletterqueue.topic.replication.factor": "1",
                "errors.deadletterqueue.context.headers.enable": "true"})
            .to_string(),
        )
    };
    // Tolerance none: the task fails at "oops"; only the lines before it are committed.
    let strict = conf("strict", "none");
    let o = run_once(d.path(), &k.bootstrap(), "offsets", &[&strict]);
    assert_eq!(o.status.code(), Some(3), "{}", output_text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("TRANSFORMATION"));
    let pos = offsets_json(d.path(), "offsets")
        .iter()
        .find(|e| e["connector"] == "strict")
        .map(|e| e["offset"]["position"].as_u64().unwrap());
    assert_eq!(pos, Some(4), "committed past the failing line");

    // Tolerance all: good lines arrive as numbers, the bad one is dead-lettered with its stage.
    let lenient = conf("lenient", "all");
    let o = run_once(d.path(), &k.bootstrap(), "offsets", &[&lenient]);
    assert!(o.status.success(), "{}", output_text(&o));
    let out: Vec<String> = support::kafka::consume_all(&k.bootstrap(), "lenient-out")
        .iter()
        .map(|m| m.value_str().unwrap())
        .collect();
    assert_eq!(out, vec!["1", "2", "3"]);
    let dlq = support::kafka::consume_all(&k.bootstrap(), "lenient-dlq");
    assert_eq!(dlq.len(), 1);
    assert_eq!(dlq[0].value_str().as_deref(), Some("\"oops\""));
    assert_eq!(
        dlq[0].header("__connect.errors.stage").as_deref(),
        Some("TRANSFORMATION")
    );
    assert_eq!(
        dlq[0].header("__connect.errors.class.name").as_deref(),
        Some("org.apache.kafka.connect.transforms.Cast$Value")
    );
    assert_eq!(
        dlq[0].header("__connect.errors.topic").as_deref(),
        Some("lenient-out")
    );
    let pos = offsets_json(d.path(), "offsets")
        .iter()
        .find(|e| e["connector"] == "lenient")
        .map(|e| e["offset"]["position"].as_u64().unwrap());
    assert_eq!(pos, Some(11));
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
