//! The Elasticsearch sink against noida-db's Elasticsearch API and a Kafka broker: documents
//! checked field by field, ids, upserts, deletes, malformed documents, injected faults, and a
//! SIGKILL in the middle of a load. `KCONNECT_TEST_ES_URL` adds a run against a real cluster.

mod support;

use std::process::Output;
use std::time::Duration;

use serde_json::{json, Value as Json};
use support::es::{all_docs, count, doc, http};
use support::fault_proxy::{Fault, FaultProxy};
use support::kafka;

struct Env {
    kafka: support::Kafka,
    es: support::Elastic,
    dir: tempfile::TempDir,
}

fn env() -> Env {
    env_on(support::tansu())
}

fn env_on(kafka: support::Kafka) -> Env {
    Env {
        kafka,
        es: support::elasticsearch(),
        dir: tempfile::tempdir().unwrap(),
    }
}

impl Env {
    fn connector(&self, name: &str, topic: &str, es_url: &str, extra: &[(&str, &str)]) {
        let mut cfg = serde_json::Map::new();
        for (k, v) in [
            (
                "connector.class",
                "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector",
            ),
            ("tasks.max", "1"),
            ("topics", topic),
            ("connection.url", es_url),
            (
                "key.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
            (
                "value.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
            ("key.converter.schemas.enable", "false"),
            ("value.converter.schemas.enable", "false"),
            ("retry.backoff.ms", "20"),
        ] {
            cfg.insert(k.into(), v.into());
        }
        for (k, v) in extra {
            cfg.insert((*k).into(), (*v).into());
        }
        let body = json!({"name": name, "config": cfg});
        let _ = std::fs::remove_dir_all(self.dir.path().join("connectors.d"));
        support::write(
            self.dir.path(),
            &format!("connectors.d/{name}.json"),
            &body.to_string(),
        );
    }

    fn run_once(&self) -> Output {
        support::kconnect(self.dir.path())
            .args([
                "run",
                "--once",
                "-b",
                &self.kafka.bootstrap(),
                "connectors.d",
            ])
            .env("RUST_LOG", "info")
            .output()
            .unwrap()
    }

    fn committed(&self, connector: &str, topic: &str) -> Option<i64> {
        let out = support::kconnect(self.dir.path())
            .args(["offsets", "list", "--json", connector])
            .output()
            .unwrap();
        let entries: Json = serde_json::from_slice(&out.stdout).unwrap_or(Json::Null);
        entries.as_array()?.iter().find_map(|e| {
            (e["partition"]["kafka_topic"] == json!(topic)).then(|| {
                e["offset"]["kafka_offset"]
                    .as_i64()
                    .or_else(|| e["offset"].as_i64())
            })?
        })
    }

    fn produce(&self, topic: &str, records: &[(Option<String>, Option<String>)]) {
        let recs: Vec<kafka::Rec<'_>> = records
            .iter()
            .map(|(k, v)| {
                (
                    k.as_deref().map(str::as_bytes),
                    v.as_deref().map(str::as_bytes),
                    vec![],
                )
            })
            .collect();
        kafka::produce(&self.kafka.bootstrap(), topic, &recs);
    }

    fn high_watermark(&self, topic: &str) -> i64 {
        use rdkafka::consumer::{BaseConsumer, Consumer};
        let c: BaseConsumer = rdkafka::config::ClientConfig::new()
            .set("bootstrap.servers", self.kafka.bootstrap())
            .create()
            .unwrap();
        c.fetch_watermarks(topic, 0, Duration::from_secs(10))
            .map(|(_, hi)| hi)
            .unwrap_or(0)
    }
}

fn assert_ok(o: &Output) {
    assert!(o.status.success(), "{}", support::output_text(o));
}

/// A Debezium change event with its schema, as JsonConverter writes it.
fn debezium_event(op: &str, before: Option<Json>, after: Option<Json>, ts: i64) -> String {
    let row = |optional: bool| {
        json!({"type": "struct", "optional": optional, "name": "dbserver1.public.customers.Value", "field": "",
        "fields": [
            {"type": "int32", "optional": false, "field": "id"},
            {"type": "string", "optional": true, "field": "name"},
            {"type": "bytes", "optional": true, "name": "org.apache.kafka.connect.data.Decimal",
             "parameters": {"scale": "2", "connect.decimal.precision": "10"}, "field": "balance"},
            {"type": "int32", "optional": true, "name": "io.debezium.time.Date", "field": "born"},
            {"type": "string", "optional": true, "name": "io.debezium.time.ZonedTimestamp", "field": "updated_at"},
            {"type": "map", "optional": true, "keys": {"type": "string", "optional": false},
             "values": {"type": "int32", "optional": false}, "field": "tags"}
        ]})
    };
    let mut before_schema = row(true);
    before_schema["field"] = json!("before");
    let mut after_schema = row(true);
    after_schema["field"] = json!("after");
    let schema = json!({"type": "struct", "optional": false, "name": "dbserver1.public.customers.Envelope", "version": 2,
        "fields": [before_schema, after_schema,
            {"type": "struct", "optional": false, "name": "io.debezium.connector.postgresql.Source", "field": "source",
             "fields": [{"type": "string", "optional": false, "field": "connector"},
                        {"type": "string", "optional": false, "field": "table"},
                        {"type": "int64", "optional": true, "field": "lsn"}]},
            {"type": "string", "optional": false, "field": "op"},
            {"type": "int64", "optional": true, "field": "ts_ms"}]});
    json!({"schema": schema, "payload": {
        "before": before, "after": after,
        "source": {"connector": "postgresql", "table": "customers", "lsn": ts * 10},
        "op": op, "ts_ms": ts}})
    .to_string()
}

fn debezium_key(id: i32) -> String {
    json!({"schema": {"type": "struct", "optional": false, "name": "dbserver1.public.customers.Key",
        "fields": [{"type": "int32", "optional": false, "field": "id"}]},
        "payload": {"id": id}})
    .to_string()
}

/// Debezium-shaped events with schemas (the classic pipeline's second half): inserts,
/// an update and a delete with its tombstone, checked field by field; the index mapping
/// comes from the Connect schema.
#[test]
fn debezium_events_insert_update_delete() {
    let e = env();
    let topic = "dbserver1.public.customers";
    kafka::create_topic(&e.kafka.bootstrap(), topic, 1);
    // 1234 and 99999 as big-endian two's complement, base64.
    let alice = json!({"id": 1, "name": "Alice", "balance": "BNI=", "born": 7000,
        "updated_at": "2024-01-02T03:04:05Z", "tags": {"gold": 1}});
    let bob = json!({"id": 2, "name": "Bob", "balance": "AYaf", "born": null,
        "updated_at": null, "tags": null});
    let alice2 = json!({"id": 1, "name": "Alice Smith", "balance": "BNI=", "born": 7000,
        "updated_at": "2024-02-02T00:00:00Z", "tags": {"gold": 2, "vip": 1}});
    e.produce(
        topic,
        &[
            (Some(debezium_key(1)), Some(debezium_event("c", None, Some(alice.clone()), 1000))),
            (Some(debezium_key(2)), Some(debezium_event("c", None, Some(bob), 1001))),
            (Some(debezium_key(1)), Some(debezium_event("u", Some(alice), Some(alice2), 1002))),
            (
                Some(debezium_key(2)),
                Some(debezium_event("d", Some(json!({"id": 2, "name": null, "balance": null, "born": null, "updated_at": null, "tags": null})), None, 1003)),
            ),
            (Some(debezium_key(2)), None),
        ],
    );
    let es = e.es.url();
    e.connector(
        "es-sink-connector",
        topic,
        &es,
        &[
            ("type.name", "customer_event"),
            ("schema.enable", "false"),
            ("key.converter.schemas.enable", "true"),
            ("value.converter.schemas.enable", "true"),
            ("behavior.on.null.values", "delete"),
        ],
    );
    let out = e.run_once();
    assert_ok(&out);
    let index = "dbserver1.public.customers";
    let d1 = doc(&es, index, r#"{"id":1}"#).expect("document of customer 1");
    assert_eq!(d1["op"], json!("u"));
    assert_eq!(d1["after"]["id"], json!(1));
    assert_eq!(d1["after"]["name"], json!("Alice Smith"));
    assert_eq!(d1["after"]["balance"], json!(12.34), "Decimal as a double");
    assert_eq!(d1["after"]["born"], json!(7000));
    assert_eq!(d1["after"]["updated_at"], json!("2024-02-02T00:00:00Z"));
    assert_eq!(d1["after"]["tags"], json!({"gold": 2, "vip": 1}));
    assert_eq!(d1["before"]["name"], json!("Alice"));
    assert_eq!(d1["source"]["table"], json!("customers"));
    assert_eq!(d1["ts_ms"], json!(1002));
    assert!(
        doc(&es, index, r#"{"id":2}"#).is_none(),
        "customer 2 deleted by its tombstone"
    );
    assert_eq!(count(&es, index), 1);
    let (_, mapping) = http(&es, "GET", &format!("/{index}/_mapping"), None);
    let props = &mapping[index]["mappings"]["properties"];
    assert_eq!(
        props["after"]["properties"]["balance"]["type"],
        json!("double")
    );
    assert_eq!(props["after"]["properties"]["id"]["type"], json!("integer"));
    assert_eq!(props["after"]["properties"]["name"]["type"], json!("text"));
    assert_eq!(props["ts_ms"]["type"], json!("long"));
    assert_eq!(e.committed("es-sink-connector", topic), Some(5));
}

/// The issue's second file: key.ignore and schema.ignore with schemaless JSON.
#[test]
fn key_ignored_ids_and_schemaless_values() {
    let e = env();
    let topic = "My_Topic";
    kafka::create_topic(&e.kafka.bootstrap(), topic, 1);
    e.produce(
        topic,
        &[
            (
                None,
                Some(r#"{"a":1,"nested":{"b":"x"},"list":[1,2]}"#.into()),
            ),
            (Some("\"k\"".into()), Some(r#"{"a":2}"#.into())),
            (None, Some(r#"{"a":3,"price":1.5}"#.into())),
        ],
    );
    let es = e.es.url();
    e.connector(
        "es-sink",
        topic,
        &es,
        &[("key.ignore", "true"), ("schema.ignore", "true")],
    );
    assert_ok(&e.run_once());
    let index = "my_topic";
    assert_eq!(count(&es, index), 3);
    let d0 = doc(&es, index, "My_Topic+0+0").expect("doc 0");
    assert_eq!(d0, json!({"a":1,"nested":{"b":"x"},"list":[1,2]}));
    assert_eq!(doc(&es, index, "My_Topic+0+1").unwrap(), json!({"a":2}));
    assert_eq!(
        doc(&es, index, "My_Topic+0+2").unwrap()["price"],
        json!(1.5)
    );
    // A rerun from scratch rewrites the same ids: still three documents.
    let out = support::kconnect(e.dir.path())
        .args(["offsets", "reset", "es-sink"])
        .output()
        .unwrap();
    assert_ok(&out);
    assert_ok(&e.run_once());
    assert_eq!(count(&es, index), 3);
}

/// write.method=upsert merges fields into the existing document.
#[test]
fn upsert_merges_documents() {
    let e = env();
    let topic = "users";
    kafka::create_topic(&e.kafka.bootstrap(), topic, 1);
    e.produce(
        topic,
        &[
            (
                Some("\"u1\"".into()),
                Some(r#"{"name":"Ann","age":30}"#.into()),
            ),
            (Some("\"u2\"".into()), Some(r#"{"name":"Ben"}"#.into())),
            (Some("\"u1\"".into()), Some(r#"{"city":"Oslo"}"#.into())),
            (Some("\"u1\"".into()), Some(r#"{"age":31}"#.into())),
        ],
    );
    let es = e.es.url();
    e.connector(
        "upserts",
        topic,
        &es,
        // One record per request, five in flight: updates of u1 must still apply in order.
        &[
            ("write.method", "upsert"),
            ("schema.ignore", "true"),
            ("batch.size", "1"),
            ("linger.ms", "0"),
        ],
    );
    assert_ok(&e.run_once());
    assert_eq!(
        doc(&es, "users", "u1").unwrap(),
        json!({"name":"Ann","age":31,"city":"Oslo"})
    );
    assert_eq!(doc(&es, "users", "u2").unwrap(), json!({"name":"Ben"}));
}

fn malformed_run(behavior: &str) -> (Env, Output) {
    let e = env();
    let topic = "measurements";
    kafka::create_topic(&e.kafka.bootstrap(), topic, 1);
    let es = e.es.url();
    let (status, _) = http(
        &es,
        "PUT",
        "/measurements",
        Some(&json!({"mappings": {"properties": {"n": {"type": "long"}}}})),
    );
    assert_eq!(status, 200);
    e.produce(
        topic,
        &[
            (Some("1".into()), Some(r#"{"n":1}"#.into())),
            (Some("2".into()), Some(r#"{"n":"not a number"}"#.into())),
            (Some("3".into()), Some(r#"{"n":3}"#.into())),
        ],
    );
    e.connector(
        "malformed",
        topic,
        &es,
        &[
            ("behavior.on.malformed.documents", behavior),
            ("schema.ignore", "true"),
        ],
    );
    let out = e.run_once();
    (e, out)
}

#[test]
fn malformed_document_fail_stops_before_it() {
    let (e, out) = malformed_run("fail");
    assert!(!out.status.success(), "{}", support::output_text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("measurements-0@1"), "names the record: {err}");
    assert!(
        err.contains("behavior.on.malformed.documents"),
        "says what to do: {err}"
    );
    let committed = e.committed("malformed", "measurements").unwrap_or(0);
    assert!(
        committed <= 1,
        "offset {committed} passed the rejected record"
    );
}

#[test]
fn malformed_document_warn_skips_and_logs() {
    let (e, out) = malformed_run("warn");
    assert_ok(&out);
    let es = e.es.url();
    assert_eq!(doc(&es, "measurements", "1").unwrap(), json!({"n":1}));
    assert!(doc(&es, "measurements", "2").is_none());
    assert_eq!(doc(&es, "measurements", "3").unwrap(), json!({"n":3}));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("measurements-0@1") && err.contains("WARN"),
        "{err}"
    );
    assert_eq!(e.committed("malformed", "measurements"), Some(3));
}

#[test]
fn malformed_document_ignore_skips_quietly() {
    let (e, out) = malformed_run("ignore");
    assert_ok(&out);
    let es = e.es.url();
    assert_eq!(count(&es, "measurements"), 2);
    assert!(doc(&es, "measurements", "2").is_none());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("measurements-0@1"), "{err}");
    assert_eq!(e.committed("malformed", "measurements"), Some(3));
}

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

/// Two URLs (both used), basic auth sent on every request but never logged, and gzip bodies.
#[test]
fn several_urls_basic_auth_and_compression() {
    let e = env();
    let topic = "secure";
    kafka::create_topic(&e.kafka.bootstrap(), topic, 1);
    let records: Vec<_> = (0..40)
        .map(|i| (Some(format!("{i}")), Some(format!(r#"{{"i":{i}}}"#))))
        .collect();
    e.produce(topic, &records);
    let es = e.es.url();
    let a = FaultProxy::start(e.es.service.port);
    let b = FaultProxy::start(e.es.service.port);
    let urls = format!("{},{}", a.url(), b.url());
    e.connector(
        "secure",
        topic,
        &urls,
        &[
            ("connection.username", "elastic"),
            ("connection.password", "s3cret-pw"),
            ("connection.compression", "true"),
            ("batch.size", "5"),
            ("linger.ms", "0"),
            ("schema.ignore", "true"),
        ],
    );
    let out = e.run_once();
    assert_ok(&out);
    assert_eq!(count(&es, topic), 40);
    use std::sync::atomic::Ordering::SeqCst;
    assert!(
        a.bulk_requests.load(SeqCst) > 0 && b.bulk_requests.load(SeqCst) > 0,
        "both nodes used"
    );
    // base64("elastic:s3cret-pw")
    for head in a
        .bulk_heads
        .lock()
        .unwrap()
        .iter()
        .chain(b.bulk_heads.lock().unwrap().iter())
    {
        assert!(
            head.contains("authorization: basic zwxhc3rpyzpzm2nyzxqtchc="),
            "{head}"
        );
        assert!(head.contains("content-encoding: gzip"), "{head}");
    }
    let text = support::output_text(&out);
    assert!(
        !text.contains("s3cret-pw"),
        "password in the output: {text}"
    );
}

/// Test certificates: a CA, a server certificate for localhost and a client certificate.
mod certs {
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::{PKey, Private};
    use openssl::x509::extension::{BasicConstraints, SubjectAlternativeName};
    use openssl::x509::{X509Name, X509};

    pub fn key() -> PKey<Private> {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
    }

    pub fn cert(
        cn: &str,
        key: &PKey<Private>,
        issuer: Option<(&X509, &PKey<Private>)>,
        ca: bool,
    ) -> X509 {
        let mut name = X509Name::builder().unwrap();
        name.append_entry_by_text("CN", cn).unwrap();
        let name = name.build();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        b.set_serial_number(
            &BigNum::from_u32(rand_serial())
                .unwrap()
                .to_asn1_integer()
                .unwrap(),
        )
        .unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(issuer.map(|(c, _)| c.subject_name()).unwrap_or(&name))
            .unwrap();
        b.set_pubkey(key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::days_from_now(2).unwrap())
            .unwrap();
        if ca {
            b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
                .unwrap();
        } else {
            let san = SubjectAlternativeName::new()
                .dns("localhost")
                .build(&b.x509v3_context(issuer.map(|(c, _)| c.as_ref()), None))
                .unwrap();
            b.append_extension(san).unwrap();
        }
        b.sign(
            issuer.map(|(_, k)| k).unwrap_or(key),
            MessageDigest::sha256(),
        )
        .unwrap();
        b.build()
    }

    fn rand_serial() -> u32 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    }
}

/// https with a CA file and a client certificate (mutual TLS) through a TLS front end that
/// refuses clients without a certificate signed by the CA.
#[test]
fn tls_with_ca_file_and_client_certificate() {
    use openssl::ssl::{SslAcceptor, SslMethod, SslVerifyMode};
    let e = env();
    let topic = "tls";
    kafka::create_topic(&e.kafka.bootstrap(), topic, 1);
    e.produce(topic, &[(Some("\"a\"".into()), Some(r#"{"v":1}"#.into()))]);
    let ca_key = certs::key();
    let ca = certs::cert("kconnect test CA", &ca_key, None, true);
    let server_key = certs::key();
    let server = certs::cert("localhost", &server_key, Some((&ca, &ca_key)), false);
    let client_key = certs::key();
    let client = certs::cert("kconnect", &client_key, Some((&ca, &ca_key)), false);
    let mut acc = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
    acc.set_private_key(&server_key).unwrap();
    acc.set_certificate(&server).unwrap();
    acc.cert_store_mut().add_cert(ca.clone()).unwrap();
    acc.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
    let proxy = FaultProxy::start_tls(e.es.service.port, acc.build());
    let dir = e.dir.path();
    std::fs::write(dir.join("ca.pem"), ca.to_pem().unwrap()).unwrap();
    let mut client_pem = client.to_pem().unwrap();
    client_pem.extend(client_key.private_key_to_pem_pkcs8().unwrap());
    std::fs::write(dir.join("client.pem"), &client_pem).unwrap();
    let p12 = openssl::pkcs12::Pkcs12::builder()
        .name("client")
        .pkey(&client_key)
        .cert(&client)
        .build2("storepw")
        .unwrap();
    std::fs::write(dir.join("client.p12"), p12.to_der().unwrap()).unwrap();
    let url = format!("https://localhost:{}", proxy.port);
    let ca_path = dir.join("ca.pem").display().to_string();
    let run = |keystore: &str, password: &str| {
        e.connector(
            "tls",
            topic,
            &url,
            &[
                ("elastic.security.protocol", "SSL"),
                ("elastic.https.ssl.truststore.location", &ca_path),
                ("elastic.https.ssl.keystore.location", keystore),
                ("elastic.https.ssl.keystore.password", password),
                ("schema.ignore", "true"),
                ("max.retries", "1"),
            ],
        );
        let _ = support::kconnect(dir)
            .args(["offsets", "reset", "tls"])
            .output();
        e.run_once()
    };
    let p12_path = dir.join("client.p12").display().to_string();
    let out = run(&p12_path, "storepw");
    assert_ok(&out);
    assert_eq!(doc(&e.es.url(), topic, "a").unwrap(), json!({"v": 1}));
    let pem_path = dir.join("client.pem").display().to_string();
    assert_ok(&run(&pem_path, ""));
    let out = run(&p12_path, "wrong-password");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("elastic.https.ssl.keystore"), "{err}");
    assert!(!err.contains("wrong-password"), "{err}");
}

/// Data streams: documents go to <type>-<dataset>-<topic> with @timestamp.
#[test]
fn data_stream_documents_get_timestamps() {
    let e = env();
    let topic = "app";
    kafka::create_topic(&e.kafka.bootstrap(), topic, 1);
    e.produce(
        topic,
        &[
            (
                None,
                Some(r#"{"msg":"hello","at":"2024-05-01T00:00:00Z"}"#.into()),
            ),
            (None, Some(r#"{"msg":"no time"}"#.into())),
        ],
    );
    let es = e.es.url();
    e.connector(
        "streams",
        topic,
        &es,
        &[
            ("data.stream.type", "logs"),
            ("data.stream.dataset", "kconnect"),
            ("data.stream.timestamp.field", "at"),
            ("key.ignore", "true"),
            ("schema.ignore", "true"),
            ("behavior.on.malformed.documents", "warn"),
        ],
    );
    assert_ok(&e.run_once());
    let d = doc(&es, "logs-kconnect-app", "app+0+0").expect("document in the data stream");
    assert_eq!(d["@timestamp"], json!("2024-05-01T00:00:00Z"));
    assert_eq!(d["msg"], json!("hello"));
}

/// Against a real Elasticsearch when KCONNECT_TEST_ES_URL is set.
#[test]
fn real_elasticsearch_when_configured() {
    let Ok(url) = std::env::var("KCONNECT_TEST_ES_URL") else {
        eprintln!("skipped: set KCONNECT_TEST_ES_URL=http://host:9200 to run against a real Elasticsearch");
        return;
    };
    let kafka = support::tansu();
    let dir = tempfile::tempdir().unwrap();
    let topic = format!("kconnect-test-{}", std::process::id());
    kafka::create_topic(&kafka.bootstrap(), &topic, 1);
    kafka::produce(
        &kafka.bootstrap(),
        &topic,
        &[
            (
                Some(b"\"a\"".as_slice()),
                Some(br#"{"v":1}"#.as_slice()),
                vec![],
            ),
            (
                Some(b"\"a\"".as_slice()),
                Some(br#"{"v":2}"#.as_slice()),
                vec![],
            ),
            (Some(b"\"b\"".as_slice()), None, vec![]),
        ],
    );
    let body = json!({"name": "real-es", "config": {
        "connector.class": "ElasticsearchSinkConnector", "topics": topic, "connection.url": url,
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable": "false", "value.converter.schemas.enable": "false",
        "behavior.on.null.values": "delete", "schema.ignore": "true"}});
    support::write(dir.path(), "connectors.d/real.json", &body.to_string());
    let out = support::kconnect(dir.path())
        .args(["run", "--once", "-b", &kafka.bootstrap(), "connectors.d"])
        .output()
        .unwrap();
    assert_ok(&out);
    assert_eq!(doc(&url, &topic, "a").unwrap(), json!({"v": 2}));
    http(&url, "DELETE", &format!("/{topic}"), None);
}
