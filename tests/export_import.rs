//! `kconnect export` / `kconnect import` against the real Kafka Connect 4.3.0 worker: a
//! pipeline moves with its offsets from kconnect onto the worker and back, and the topic (or
//! the sink's file) shows every record exactly once. Skips without Java (see
//! `support::connect_ref`).

mod support;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use support::kafka::{consume_all, create_topic, produce_into};
use support::{eventually, kconnect, output_text, tansu, write, ConnectRef};

/// One Connect worker (a JVM) at a time: on a small CI machine three at once take each test
/// well past its time budget.
static ONE_JVM: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_jvm() -> std::sync::MutexGuard<'static, ()> {
    ONE_JVM.lock().unwrap_or_else(|e| e.into_inner())
}

const WORKER: &str = "value.converter=org.apache.kafka.connect.storage.StringConverter\n";

fn append(path: &Path, from: u32, to: u32) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for i in from..=to {
        writeln!(f, "line-{i}").unwrap();
    }
}

/// `kconnect ARGS --connectors connectors.d --worker worker.properties --offsets offsets -b ...`.
fn cmd(dir: &Path, bootstrap: &str, args: &[&str]) -> Output {
    kconnect(dir)
        .args(args)
        .args([
            "--connectors",
            "connectors.d",
            "--worker",
            "worker.properties",
            "--offsets",
            "offsets",
            "-b",
            bootstrap,
        ])
        .output()
        .unwrap()
}

fn run_once(dir: &Path, bootstrap: &str) -> Output {
    kconnect(dir)
        .args([
            "run",
            "--once",
            "connectors.d",
            "--worker",
            "worker.properties",
        ])
        .args(["--offsets", "offsets", "-b", bootstrap])
        .output()
        .unwrap()
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}", output_text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// How many times each of `line-1..=n` is in `values`; panics on a line outside them.
fn counts(values: &[String], n: u32) -> Vec<u32> {
    let mut c = vec![0u32; n as usize];
    for v in values {
        let i: usize = v
            .trim()
            .strip_prefix("line-")
            .and_then(|x| x.parse().ok())
            .unwrap_or_else(|| panic!("unexpected record {v:?}"));
        c[i - 1] += 1;
    }
    c
}

fn assert_each_once(values: &[String], n: u32, what: &str) {
    let c = counts(values, n);
    let lost: Vec<usize> = (0..c.len()).filter(|&i| c[i] == 0).map(|i| i + 1).collect();
    let twice: Vec<usize> = (0..c.len()).filter(|&i| c[i] > 1).map(|i| i + 1).collect();
    assert!(
        lost.is_empty() && twice.is_empty() && values.len() == n as usize,
        "{what}: lost lines {lost:?}, lines delivered twice {twice:?} ({} records for {n} lines)",
        values.len()
    );
}

fn topic_values(bootstrap: &str, topic: &str) -> Vec<String> {
    consume_all(bootstrap, topic)
        .iter()
        .filter_map(|m| m.value_str())
        .collect()
}

#[test]
fn a_file_source_moves_to_connect_and_back_with_its_position() {
    let _jvm = one_jvm();
    let k = tansu();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let b = k.bootstrap();
    let Some(connect) = ConnectRef::start(dir, &b, &[]) else {
        return;
    };
    let url = connect.url.as_str();
    let topic = "moved-lines";
    create_topic(&b, topic, 1);
    let input = dir.join("in.txt");
    append(&input, 1, 50);
    write(dir, "worker.properties", WORKER);
    let conn = write(
        dir,
        "connectors.d/src.json",
        &format!(
            r#"{{"name":"moved-src","config":{{"connector.class":"FileStreamSource","file":"{}","topic":"{topic}"}}}}"#,
            input.display()
        ),
    );
    let file_text = std::fs::read_to_string(&conn).unwrap();
    ok(run_once(dir, &b));
    assert_eq!(topic_values(&b, topic).len(), 50);

    // A dry run prints the requests and changes nothing, here or there.
    let out = ok(cmd(dir, &b, &["export", "--to", url, "--dry-run"]));
    assert!(
        out.contains(&format!("POST {url}/connectors"))
            && out.contains("\"initial_state\": \"STOPPED\"")
            && out.contains("\"position\": 391")
            && out.contains(&format!("PUT {url}/connectors/moved-src/resume")),
        "{out}"
    );
    assert_eq!(connect.get("/connectors").unwrap().1, serde_json::json!([]));

    // Exported: the cluster's connector goes on from line 51.
    append(&input, 51, 80);
    let start = Instant::now();
    let out = ok(cmd(dir, &b, &["export", "--to", url]));
    assert!(out.contains("exported moved-src"), "{out}");
    let first = eventually(Duration::from_secs(60), || {
        (topic_values(&b, topic).len() > 50).then(Instant::now)
    })
    .unwrap_or_else(|| {
        panic!(
            "the Connect worker produced nothing:\n{}",
            connect.log_text()
        )
    });
    eprintln!(
        "figure: export to the first record produced by the cluster's connector: {} ms",
        (first - start).as_millis()
    );
    eventually(Duration::from_secs(30), || {
        (topic_values(&b, topic).len() >= 80).then_some(())
    })
    .expect("the cluster's connector reads the rest");

    // Here it stays STOPPED, says where it went, and cannot be exported again.
    let o = run_once(dir, &b);
    let log = output_text(&o);
    assert!(
        o.status.success() && log.contains(&format!("moved it to {url}")),
        "{log}"
    );
    let o = cmd(dir, &b, &["export", "--to", url]);
    assert_eq!(o.status.code(), Some(1), "{}", output_text(&o));
    assert!(
        output_text(&o).contains("exported already"),
        "{}",
        output_text(&o)
    );

    // Imported back while the cluster's connector is reading: it is stopped there first.
    append(&input, 81, 100);
    eventually(Duration::from_secs(30), || {
        (topic_values(&b, topic).len() >= 100).then_some(())
    })
    .expect("the cluster's connector reads lines 81..100");
    let out = ok(cmd(dir, &b, &["import", "--from", url]));
    assert!(out.contains("imported moved-src"), "{out}");
    assert_eq!(connect.state("moved-src"), Some(("STOPPED".into(), 0)));
    // A round trip leaves the connector file as it was (the carried converters are dropped).
    assert_eq!(std::fs::read_to_string(&conn).unwrap(), file_text);
    append(&input, 101, 120);
    ok(run_once(dir, &b));
    assert_each_once(&topic_values(&b, topic), 120, "after export and import");

    // The cluster has a connector of that name now (STOPPED): refused without --replace.
    let o = cmd(dir, &b, &["export", "--to", url]);
    assert_eq!(o.status.code(), Some(1), "{}", output_text(&o));
    assert!(output_text(&o).contains("--replace"), "{}", output_text(&o));
    append(&input, 121, 130);
    ok(cmd(dir, &b, &["export", "--to", url, "--replace"]));
    eventually(Duration::from_secs(60), || {
        (topic_values(&b, topic).len() >= 130).then_some(())
    })
    .unwrap_or_else(|| panic!("after --replace:\n{}", connect.log_text()));
    ok(cmd(dir, &b, &["import", "--from", url, "--delete"]));
    assert_eq!(connect.get("/connectors").unwrap().1, serde_json::json!([]));
    assert_each_once(&topic_values(&b, topic), 130, "after a second move");
}

#[test]
fn a_file_sink_moves_to_connect_and_back_with_its_group_offsets() {
    let _jvm = one_jvm();
    let k = tansu();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let b = k.bootstrap();
    let Some(connect) = ConnectRef::start(dir, &b, &[]) else {
        return;
    };
    let url = connect.url.as_str();
    let topic = "moved-sink-in";
    create_topic(&b, topic, 3);
    // Lines from..=to, spread over the three partitions.
    let produce = |from: u32, to: u32| {
        let values: Vec<String> = (from..=to).map(|i| format!("line-{i}")).collect();
        for p in 0..3 {
            let recs: Vec<_> = values
                .iter()
                .enumerate()
                .filter(|(i, _)| *i as i32 % 3 == p)
                .map(|(_, v)| (None, Some(v.as_bytes()), vec![]))
                .collect();
            produce_into(&b, &[], topic, p, &recs);
        }
    };
    let out_file = dir.join("out.txt");
    let lines = || -> Vec<String> {
        std::fs::read_to_string(&out_file)
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    };
    write(dir, "worker.properties", WORKER);
    let conn = write(
        dir,
        "connectors.d/sink.properties",
        &format!(
            "name=moved-sink\nconnector.class=FileStreamSink\nfile={}\ntopics={topic}\n",
            out_file.display()
        ),
    );
    let file_text = std::fs::read_to_string(&conn).unwrap();
    produce(1, 60);
    ok(run_once(dir, &b));
    assert_eq!(lines().len(), 60);

    produce(61, 90);
    let start = Instant::now();
    ok(cmd(dir, &b, &["export", "--to", url, "moved-sink"]));
    let first = eventually(Duration::from_secs(60), || {
        (lines().len() > 60).then(Instant::now)
    })
    .unwrap_or_else(|| {
        panic!(
            "the Connect worker's sink wrote nothing:\n{}",
            connect.log_text()
        )
    });
    eprintln!(
        "figure: sink export to the first record written by the cluster's connector: {} ms",
        (first - start).as_millis()
    );
    eventually(Duration::from_secs(30), || {
        (lines().len() >= 90).then_some(())
    })
    .expect("the cluster's sink writes the rest");

    produce(91, 100);
    eventually(Duration::from_secs(30), || {
        (lines().len() >= 100).then_some(())
    })
    .expect("the cluster's sink writes lines 91..100");
    ok(cmd(dir, &b, &["import", "--from", url, "--delete"]));
    assert_eq!(std::fs::read_to_string(&conn).unwrap(), file_text);
    produce(101, 120);
    ok(run_once(dir, &b));
    assert_each_once(&lines(), 120, "the sink's file after export and import");
}

/// No cluster needed: a dry run hides secrets; a running kconnect holds the store, so export
/// and import are refused; `--to-dir` and `--from-dir` carry config and offsets.
#[test]
fn export_is_refused_under_a_running_worker_and_goes_through_a_directory() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    write(dir, "worker.properties", WORKER);
    let input = dir.join("in.txt");
    append(&input, 1, 3);
    write(
        dir,
        "connectors.d/src.json",
        &format!(
            r#"{{"name":"src","config":{{"connector.class":"FileStreamSource","file":"{}","topic":"t","producer.override.sasl.jaas.config":"secret-jaas"}}}}"#,
            input.display()
        ),
    );
    // Paused here by its file: created PAUSED there, not started.
    write(
        dir,
        "connectors.d/paused.json",
        &format!(
            r#"{{"name":"paused","config":{{"connector.class":"FileStreamSource","file":"{}","topic":"t"}},"initial_state":"PAUSED"}}"#,
            input.display()
        ),
    );
    let nobody = format!("127.0.0.1:{}", support::free_port());
    let set = |offset: &str| {
        ok(kconnect(dir)
            .args([
                "offsets",
                "--offsets",
                "offsets",
                "set",
                "src",
                "connectors.d",
            ])
            .args([
                "--partition",
                &format!(r#"{{"filename":"{}"}}"#, input.display()),
            ])
            .args(["--offset", offset])
            .output()
            .unwrap())
    };
    set(r#"{"position":16}"#);
    let out = ok(cmd(
        dir,
        &nobody,
        &["export", "--to", "http://127.0.0.1:9", "--dry-run"],
    ));
    assert!(
        out.contains("[hidden]") && !out.contains("secret-jaas"),
        "{out}"
    );
    assert!(out.contains("\"position\": 16"), "{out}");
    assert!(
        out.contains("PUT http://127.0.0.1:9/connectors/paused/pause")
            && !out.contains("PUT http://127.0.0.1:9/connectors/paused/resume"),
        "{out}"
    );

    // A kconnect run holds the store (waiting for a broker that is not there).
    let mut running = kconnect(dir)
        .args([
            "run",
            "connectors.d",
            "--worker",
            "worker.properties",
            "--offsets",
            "offsets",
            "-b",
        ])
        .arg(&nobody)
        .env("KCONNECT_BROKER_WAIT_MS", "60000")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = running.id().to_string();
    eventually(Duration::from_secs(20), || {
        std::fs::read_to_string(dir.join("offsets/kconnect.lock"))
            .ok()
            .filter(|t| t.trim() == pid)
    })
    .expect("the run takes the store's lock");
    for args in [
        &["export", "--to", "http://127.0.0.1:9"][..],
        &["import", "--from", "http://127.0.0.1:9", "src"][..],
    ] {
        let o = cmd(dir, &nobody, args);
        assert_eq!(o.status.code(), Some(4), "{}", output_text(&o));
        assert!(
            output_text(&o).contains(&format!("(pid {pid}) holds the offsets store")),
            "{}",
            output_text(&o)
        );
    }
    let _ = running.kill();
    let _ = running.wait();

    // A backup through a directory, restored over a changed store.
    let out = ok(cmd(dir, &nobody, &["export", "--to-dir", "backup"]));
    assert!(out.contains("wrote src with 1 offset(s)"), "{out}");
    let body: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("backup/src/offsets.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(body["offsets"][0]["offset"]["position"], 16);
    set(r#"{"position":0}"#);
    std::fs::remove_file(dir.join("connectors.d/src.json")).unwrap();
    ok(cmd(dir, &nobody, &["import", "--from-dir", "backup"]));
    let listed = ok(kconnect(dir)
        .args(["offsets", "--offsets", "offsets", "list", "--json"])
        .output()
        .unwrap());
    assert!(listed.contains("\"position\": 16"), "{listed}");
    let back = std::fs::read_to_string(dir.join("connectors.d/src.json")).unwrap();
    assert!(
        back.contains("FileStreamSource") && back.contains("secret-jaas"),
        "{back}"
    );
}

/// The topic's change events as they arrive, read by one consumer from the beginning, so
/// waiting for more costs only the new ones.
struct Events {
    consumer: rdkafka::consumer::BaseConsumer,
    /// The row id of each create (`c`) or snapshot read (`r`) event, in order.
    ids: Vec<i64>,
    reads: usize,
}

impl Events {
    fn new(bootstrap: &str, topic: &str) -> Events {
        use rdkafka::consumer::Consumer;
        let consumer: rdkafka::consumer::BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", "export-import-reader")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let mut tpl = rdkafka::TopicPartitionList::new();
        tpl.add_partition_offset(topic, 0, rdkafka::Offset::Beginning)
            .unwrap();
        consumer.assign(&tpl).unwrap();
        Events {
            consumer,
            ids: Vec::new(),
            reads: 0,
        }
    }

    /// Reads what arrives within `for_`; returns when the first event of it came.
    fn poll(&mut self, for_: Duration) -> Option<Instant> {
        use rdkafka::message::Message;
        let end = Instant::now() + for_;
        let mut first = None;
        while Instant::now() < end {
            let Some(Ok(m)) = self.consumer.poll(Duration::from_millis(50)) else {
                continue;
            };
            first.get_or_insert_with(Instant::now);
            let Some(v) = m.payload() else { continue };
            let v: serde_json::Value = serde_json::from_slice(v).unwrap();
            let p = v.get("payload").unwrap_or(&v);
            match p["op"].as_str() {
                Some("r") => self.reads += 1,
                Some("c") => {}
                _ => continue,
            }
            self.ids.push(p["after"]["id"].as_i64().unwrap());
        }
        first
    }

    /// Reads until more than `n` events came, up to a minute.
    fn until(&mut self, n: usize, what: &str) {
        let end = Instant::now() + Duration::from_secs(60);
        while self.ids.len() <= n {
            assert!(Instant::now() < end, "{what}: {} events", self.ids.len());
            self.poll(Duration::from_millis(200));
        }
    }
}

/// Debezium's PostgreSQL source under about 1,000 inserted rows/s moves from kconnect to the
/// real Debezium on the real Connect worker and back: no new snapshot, no change lost.
#[test]
fn a_postgres_source_moves_under_writes_without_a_new_snapshot() {
    let _jvm = one_jvm();
    use support::pg_source::{connector_file, with_small_messages};
    let pg = support::Postgres::start();
    let k = tansu();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let b = k.bootstrap();
    let Some(connect) = ConnectRef::start(dir, &b, &[]) else {
        return;
    };
    let url = connect.url.as_str();
    let topic = "dbserver1.public.load";
    create_topic(&b, topic, 1);
    pg.psql("CREATE TABLE load (id int PRIMARY KEY, val text NOT NULL)");
    pg.psql("INSERT INTO load SELECT g, 'v' || g FROM generate_series(1, 100) g");
    connector_file(
        dir,
        &pg,
        &with_small_messages(&[("table.include.list", "public.load")]),
    );
    write(dir, "worker.properties", "offset.flush.interval.ms=500\n");
    // Rows 101.. in transactions of 20 at about 1,000 rows/s, until told to stop.
    let db = pg.url();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_w = stop.clone();
    let writer = std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&db, postgres::NoTls).unwrap();
        let mut next: i64 = 101;
        let start = Instant::now();
        while !stop_w.load(std::sync::atomic::Ordering::SeqCst) {
            c.batch_execute(&format!(
                "INSERT INTO load SELECT g, 'v' || g FROM generate_series({next}, {}) g",
                next + 19
            ))
            .unwrap();
            next += 20;
            let due = Duration::from_millis((next - 101) as u64);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        (next - 101, start.elapsed())
    });
    let spawn = || {
        kconnect(dir)
            .args(["run", "connectors.d", "--worker", "worker.properties"])
            .args(["--offsets", "offsets", "-b", &b])
            .stderr(std::fs::File::create(dir.join("kconnect.log")).unwrap())
            .spawn()
            .unwrap()
    };
    let sigterm = |child: &mut std::process::Child| {
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let st = child.wait().unwrap();
        assert!(
            st.success(),
            "kconnect: {st}\n{}",
            std::fs::read_to_string(dir.join("kconnect.log")).unwrap_or_default()
        );
    };
    let mut events = Events::new(&b, topic);

    let mut run = spawn();
    events.until(1000, "kconnect streams the writes");
    sigterm(&mut run);
    // Everything kconnect produced is read, so the next event is the cluster's.
    while events.poll(Duration::from_millis(1000)).is_some() {}
    let snapshot = events.reads;
    let moved_out_at = events.ids.len();
    let start = Instant::now();
    ok(cmd(dir, &b, &["export", "--to", url]));
    let exported = start.elapsed();
    let first = loop {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "Debezium on Connect produced nothing:\n{}",
            connect.log_text()
        );
        if let Some(t) = events.poll(Duration::from_millis(100)) {
            break t;
        }
    };
    eprintln!(
        "figure: CDC export took {} ms; from its start to the first change produced by Debezium on Connect: {} ms",
        exported.as_millis(),
        (first - start).as_millis()
    );
    events.until(
        events.ids.len() + 1000,
        "Debezium on Connect keeps streaming",
    );

    ok(cmd(dir, &b, &["import", "--from", url, "--delete"]));
    while events.poll(Duration::from_millis(1000)).is_some() {}
    let moved_back_at = events.ids.len();
    let mut run = spawn();
    events.until(
        events.ids.len() + 1000,
        "kconnect streams again after the import",
    );
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (written, took) = writer.join().unwrap();
    let last = 100 + written;
    let end = Instant::now() + Duration::from_secs(60);
    while !events.ids.contains(&last) {
        assert!(Instant::now() < end, "the last write did not arrive");
        events.poll(Duration::from_millis(500));
    }
    sigterm(&mut run);
    events.poll(Duration::from_millis(500));

    assert_eq!(events.reads, snapshot, "a snapshot was taken again");
    let mut seen = std::collections::HashMap::new();
    for id in &events.ids {
        *seen.entry(*id).or_insert(0u32) += 1;
    }
    let lost: Vec<i64> = (1..=last).filter(|id| !seen.contains_key(id)).collect();
    assert!(lost.is_empty(), "changes lost across the moves: {lost:?}");
    let twice = seen.values().filter(|&&n| n > 1).count();
    // Which move delivered them again: the events after each move that were there before it.
    let again = |at: usize| {
        let before: std::collections::HashSet<i64> = events.ids[..at].iter().copied().collect();
        events.ids[at..]
            .iter()
            .filter(|id| before.contains(id))
            .count()
    };
    eprintln!(
        "figure: delivered again after the export: {}, after the import: {}",
        again(moved_out_at),
        again(moved_back_at)
    );
    eprintln!(
        "figure: {written} rows written in {:.1} s ({:.0}/s); {twice} delivered more than once across two moves",
        took.as_secs_f64(),
        written as f64 / took.as_secs_f64()
    );
}
