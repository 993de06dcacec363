//! The Elasticsearch sink against noida-db's Elasticsearch API and a Kafka broker: documents
//! checked field by field, ids, upserts, deletes, data streams and malformed documents. Delivery
//! under faults and connections (several URLs, TLS, a real cluster) are in the other
//! tests/elasticsearch_sink_*.rs files.

mod support;

use serde_json::json;

use support::es::{count, doc, http};
use support::es_sink::{assert_ok, debezium_event, debezium_key, env, malformed_run};
use support::kafka;

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
