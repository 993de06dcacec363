//! The Elasticsearch sink's delivery: injected faults are retried and every record is indexed
//! once, offsets never pass unacknowledged records, a SIGKILL in the middle of a load loses
//! nothing, and requests in flight and buffered records stay bounded.

mod support;

use std::time::Duration;

use serde_json::json;

use support::es::{all_docs, count, doc};
use support::es_sink::{assert_ok, env, env_on};
use support::fault_proxy::{Fault, FaultProxy};
use support::kafka;

/// 429s, 503s, connection resets (before and after Elasticsearch did the work) and answers
/// with failed items: every record ends up indexed exactly once, and the offsets cover all.
#[test]
fn faults_are_retried_and_every_record_is_indexed_once() {
    let e = env();
    let topic = "orders";
    kafka::create_topic(&e.kafka.bootstrap(), topic, 1);
    let n = 300;
    let records: Vec<_> = (0..n)
        .map(|i| {
            (
                Some(format!("{}", i % 200)),
                Some(format!(r#"{{"order":{i},"qty":{}}}"#, i % 7)),
            )
        })
        .collect();
    e.produce(topic, &records);
    let es = e.es.url();
    let proxy = FaultProxy::start(e.es.service.port);
    proxy.push([
        Fault::Status(429),
        Fault::Status(503),
        Fault::ResetAfterForward,
        Fault::FailEveryNthItem(3),
        Fault::ResetBeforeForward,
        Fault::FailEveryNthItem(2),
        Fault::Status(502),
    ]);
    e.connector(
        "faults",
        topic,
        &proxy.url(),
        &[
            ("batch.size", "25"),
            ("max.in.flight.requests", "3"),
            ("schema.ignore", "true"),
            ("max.retries", "10"),
        ],
    );
    let out = e.run_once();
    assert_ok(&out);
    assert_eq!(
        proxy
            .faults_injected
            .load(std::sync::atomic::Ordering::SeqCst),
        7
    );
    let docs = all_docs(&es, "orders");
    assert_eq!(docs.len(), 200, "one document per key");
    for (id, d) in &docs {
        let key: i64 = id.parse().unwrap();
        // The last record of each key wins (external versions by offset).
        let last = if key < 100 { key + 200 } else { key };
        assert_eq!(d, &json!({"order": last, "qty": last % 7}), "document {id}");
    }
    assert_eq!(e.committed("faults", topic), Some(n));
}

/// Elasticsearch keeps failing: the task fails after max.retries, and the committed offset
/// never passes a record that was not acknowledged; a later run completes the rest.
#[test]
fn offsets_never_pass_unacknowledged_records() {
    let e = env();
    let topic = "events";
    kafka::create_topic(&e.kafka.bootstrap(), topic, 1);
    let n = 100;
    let records: Vec<_> = (0..n)
        .map(|i| (None, Some(format!(r#"{{"i":{i}}}"#))))
        .collect();
    e.produce(topic, &records);
    let es = e.es.url();
    let proxy = FaultProxy::start(e.es.service.port);
    // Two requests get through, then Elasticsearch is "down".
    proxy.push([]);
    e.connector(
        "acks",
        topic,
        &proxy.url(),
        &[
            ("batch.size", "10"),
            ("max.in.flight.requests", "1"),
            ("key.ignore", "true"),
            ("schema.ignore", "true"),
            ("max.retries", "2"),
            ("linger.ms", "0"),
        ],
    );
    let bulks = proxy.bulk_requests.clone();
    let p = std::sync::Arc::new(proxy);
    let p2 = p.clone();
    let watcher = std::thread::spawn(move || {
        while bulks.load(std::sync::atomic::Ordering::SeqCst) < 2 {
            std::thread::sleep(Duration::from_millis(1));
        }
        p2.always(Some(Fault::Status(503)));
    });
    let out = e.run_once();
    watcher.join().unwrap();
    assert!(!out.status.success(), "{}", support::output_text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("after 2 retries"), "{err}");
    let committed = e.committed("acks", topic).unwrap_or(0);
    let present = count(&es, "events") as i64;
    assert!(
        committed <= present,
        "committed {committed} but only {present} indexed"
    );
    for i in 0..committed {
        assert!(
            doc(&es, "events", &format!("events+0+{i}")).is_some(),
            "record {i} committed but missing"
        );
    }
    p.always(None);
    assert_ok(&e.run_once());
    assert_eq!(count(&es, "events"), n as u64);
    assert_eq!(e.committed("acks", topic), Some(n));
}

/// SIGKILL in the middle of a bulk load, then a rerun: every record is present once.
#[test]
fn sigkill_during_bulk_load_then_rerun() {
    // noida-db's broker: Tansu's end offsets lag behind large loads, which would end a --once
    // run early.
    let e = env_on(support::noida_kafka());
    let topic = "load";
    kafka::create_topic(&e.kafka.bootstrap(), topic, 1);
    let n = 20_000;
    let records: Vec<_> = (0..n)
        .map(|i| {
            (
                Some(format!("{i}")),
                Some(format!(r#"{{"i":{i},"pad":"{}"}}"#, "x".repeat(200))),
            )
        })
        .collect();
    e.produce(topic, &records);
    assert_eq!(e.high_watermark(topic), n);
    let es = e.es.url();
    e.connector(
        "load",
        topic,
        &es,
        &[("batch.size", "500"), ("schema.ignore", "true")],
    );
    let mut child = support::kconnect(e.dir.path())
        .args(["run", "--once", "-b", &e.kafka.bootstrap(), "connectors.d"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = support::eventually(Duration::from_secs(60), || {
        let c = count(&es, "load");
        (c > 0).then_some(c)
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let at_kill = started.expect("indexing started");
    assert!(
        at_kill < n as u64,
        "killed after the load finished; make it bigger"
    );
    let committed_at_kill = e.committed("load", topic);
    let out = e.run_once();
    assert_ok(&out);
    let c = count(&es, "load");
    if c != n as u64 {
        let missing: Vec<i64> = (0..n)
            .filter(|i| doc(&es, "load", &i.to_string()).is_none())
            .collect();
        let missing = format!(
            "{} from {:?} to {:?}",
            missing.len(),
            missing.first(),
            missing.last()
        );
        panic!("{c} of {n}; committed at kill {committed_at_kill:?}, at kill {at_kill}; missing {missing:?}\n{}", support::output_text(&out));
    }
    assert_eq!(e.committed("load", topic), Some(n));
    assert_eq!(doc(&es, "load", "19999").unwrap()["i"], json!(19999));
}

/// max.in.flight.requests bounds concurrent bulk requests, and max.buffered.records bounds
/// what is held unacknowledged even when more requests would be allowed.
#[test]
fn in_flight_requests_and_buffered_records_are_bounded() {
    let e = env();
    let topic = "bounded";
    kafka::create_topic(&e.kafka.bootstrap(), topic, 1);
    let records: Vec<_> = (0..200)
        .map(|i| (None, Some(format!(r#"{{"i":{i}}}"#))))
        .collect();
    e.produce(topic, &records);
    let es = e.es.url();
    for (name, inflight, buffered, expect_max) in
        [("inflight", "3", "20000", 3), ("buffered", "5", "20", 2)]
    {
        let proxy = FaultProxy::start(e.es.service.port);
        proxy.delay(Duration::from_millis(150));
        e.connector(
            name,
            topic,
            &proxy.url(),
            &[
                ("batch.size", "10"),
                ("linger.ms", "0"),
                ("max.in.flight.requests", inflight),
                ("max.buffered.records", buffered),
                ("key.ignore", "true"),
                ("schema.ignore", "true"),
            ],
        );
        assert_ok(&e.run_once());
        let max = proxy.max_active.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(max, expect_max, "{name}: most bulk requests at once");
        assert_eq!(count(&es, topic), 200);
        assert_eq!(e.committed(name, topic), Some(200));
    }
}

/// A delete is never overtaken by an older write of the same document whose request is being
/// retried: requests holding the same document id are never in flight together. (noida-db keeps
/// no versions of deleted documents, so an older write arriving after the delete would bring the
/// document back; Elasticsearch would refuse it only within `index.gc_deletes`.)
#[test]
fn a_delete_is_never_overtaken_by_a_retried_older_write() {
    let e = env();
    let topic = "deletes";
    kafka::create_topic(&e.kafka.bootstrap(), topic, 1);
    let records = vec![
        (Some(r#""a""#.to_string()), Some(r#"{"v":0}"#.to_string())),
        (Some(r#""b""#.to_string()), Some(r#"{"v":1}"#.to_string())),
        (Some(r#""c""#.to_string()), Some(r#"{"v":2}"#.to_string())),
        (Some(r#""a""#.to_string()), None),
    ];
    e.produce(topic, &records);
    let es = e.es.url();
    let proxy = FaultProxy::start(e.es.service.port);
    proxy.keep_forwarded();
    // The first request (the write of "a") is cut before it reaches Elasticsearch and retried
    // 500 ms later; without ordering the delete's request goes out meanwhile.
    proxy.push([Fault::ResetBeforeForward]);
    e.connector(
        "deletes",
        topic,
        &proxy.url(),
        &[
            ("batch.size", "1"),
            ("linger.ms", "0"),
            ("max.in.flight.requests", "5"),
            ("retry.backoff.ms", "500"),
            ("max.retries", "5"),
            ("schema.ignore", "true"),
            ("behavior.on.null.values", "delete"),
        ],
    );
    assert_ok(&e.run_once());
    let actions: Vec<String> = proxy
        .take_forwarded()
        .iter()
        .flat_map(|body| {
            String::from_utf8_lossy(body)
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter_map(|a| {
                    let (op, m) = a.as_object()?.iter().next()?;
                    (m["_id"] == "a").then(|| format!("{op} {}", m["version"]))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        actions,
        ["index 0", "delete 3"],
        "what Elasticsearch got for \"a\""
    );
    assert!(doc(&es, topic, "a").is_none(), "\"a\" was deleted");
    assert_eq!(count(&es, topic), 2);
    assert_eq!(e.committed("deletes", topic), Some(4));
}

/// A long-running worker rides out an Elasticsearch that keeps failing past max.retries: the
/// task keeps retrying (at most 10 s apart), says so once rather than per retry, and indexes
/// everything when Elasticsearch is back. (`--once` still gives up, see worker_once_bounds.)
#[test]
fn a_long_running_worker_rides_out_elasticsearch_past_max_retries() {
    let e = env();
    let topic = "rideout";
    kafka::create_topic(&e.kafka.bootstrap(), topic, 1);
    let records: Vec<_> = (0..50)
        .map(|i| (Some(format!("{i}")), Some(format!(r#"{{"i":{i}}}"#))))
        .collect();
    e.produce(topic, &records);
    let es = e.es.url();
    let proxy = FaultProxy::start(e.es.service.port);
    proxy.always(Some(Fault::Status(503)));
    e.connector(
        "rideout",
        topic,
        &proxy.url(),
        &[
            ("max.retries", "2"),
            ("retry.backoff.ms", "50"),
            ("schema.ignore", "true"),
        ],
    );
    let mut worker = e.spawn();
    let down = support::eventually(Duration::from_secs(30), || {
        e.log().contains("down since").then_some(())
    });
    // Well past max.retries (2 retries from 50 ms) and a few capped waits.
    std::thread::sleep(Duration::from_secs(6));
    assert!(
        worker.try_wait().unwrap().is_none(),
        "the worker exited: {}",
        e.log()
    );
    proxy.always(None);
    let indexed = support::eventually(Duration::from_secs(40), || {
        (count(&es, topic) == 50).then_some(())
    });
    let _ = worker.kill();
    let _ = worker.wait();
    let log = e.log();
    assert!(down.is_some() && indexed.is_some(), "{log}");
    assert!(
        !log.contains("FAILED") && !log.contains("giving up"),
        "{log}"
    );
    assert_eq!(log.matches("down since").count(), 1, "said once: {log}");
    // The retries within max.retries, of every request in flight: one WARN, the rest at DEBUG.
    let retry_warnings = log
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("records failed ("))
        .count();
    assert_eq!(retry_warnings, 1, "said once: {log}");
    assert!(log.contains("back after"), "{log}");
}

/// While a long-running worker rides out an Elasticsearch outage, the task is RUNNING and its
/// status says what it waits for (the trace); once Elasticsearch is back the trace is gone.
#[test]
fn the_status_of_a_task_riding_out_an_outage_says_what_it_waits_for() {
    let e = env();
    let topic = "waiting";
    kafka::create_topic(&e.kafka.bootstrap(), topic, 1);
    let records: Vec<_> = (0..20)
        .map(|i| (Some(format!("{i}")), Some(format!(r#"{{"i":{i}}}"#))))
        .collect();
    e.produce(topic, &records);
    let proxy = FaultProxy::start(e.es.service.port);
    proxy.always(Some(Fault::Status(503)));
    let root = e.dir.path();
    support::worker_control::write_connector(
        &support::worker_control::connectors_dir(root),
        "waiting",
        &json!({
            "connector.class": "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector",
            "topics": topic, "connection.url": proxy.url(), "schema.ignore": "true",
            "key.converter": "org.apache.kafka.connect.storage.StringConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter.schemas.enable": "false",
            "max.retries": "1", "retry.backoff.ms": "50"}),
    );
    let w = support::worker_control::start(root, &e.kafka.bootstrap(), &[]);
    let s = w.wait_status("waiting", "a task waiting for Elasticsearch", |s| {
        s["tasks"][0]["state"] == "RUNNING"
            && s["tasks"][0]["trace"]
                .as_str()
                .is_some_and(|t| t.starts_with("waiting: Elasticsearch at http://127.0.0.1:"))
    });
    let trace = s["tasks"][0]["trace"].as_str().unwrap();
    assert!(trace.contains("down since") && trace.contains("503"), "{s}");
    assert_eq!(s["connector"]["state"], "RUNNING", "{s}");
    proxy.always(None);
    let s = w.wait_status("waiting", "the task running without a trace", |s| {
        s["tasks"][0]["state"] == "RUNNING" && s["tasks"][0].get("trace").is_none()
    });
    assert_eq!(count(&e.es.url(), topic), 20, "{s}");
    w.kill();
}
