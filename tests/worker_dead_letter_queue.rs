//! Dead letter queues, through the worker: poison records of a sink and source records that
//! fail a transform go to the queue with Connect's error headers, and the rest is delivered.

mod support;

use support::file_pipeline::{offsets_json, run_once};
use support::{output_text, write};

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
