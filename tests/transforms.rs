//! Transforms and predicates run by the real worker, end to end through a broker: on the
//! source side (poll → transforms → converter → Kafka) and the sink side (Kafka → converter →
//! transforms → put).

mod support;

use serde_json::Value as Json;

#[test]
fn source_records_are_transformed_before_conversion() {
    // noida-db's broker: on Tansu, consume_all returned only the first of the three records
    // kconnect produced (its high watermark read 1), so the count could not be checked there.
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    support::write(dir.path(), "in.txt", "alpha\nbeta\ngamma\n");
    support::write(
        dir.path(),
        "connectors.d/lines.json",
        &serde_json::json!({
            "name": "lines",
            "connector.class": "FileStreamSource",
            "file": dir.path().join("in.txt").to_str().unwrap(),
            "topic": "lines",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter.schemas.enable": "true",
            "transforms": "hoist,origin,route,tag",
            "transforms.hoist.type": "org.apache.kafka.connect.transforms.HoistField$Value",
            "transforms.hoist.field": "line",
            "transforms.origin.type": "org.apache.kafka.connect.transforms.InsertField$Value",
            "transforms.origin.static.field": "origin",
            "transforms.origin.static.value": "file",
            "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
            "transforms.route.regex": "(.*)",
            "transforms.route.replacement": "$1-flat",
            "transforms.tag.type": "InsertHeader",
            "transforms.tag.header": "via",
            "transforms.tag.value.literal": "kconnect",
            "transforms.tag.predicate": "isFlat",
            "predicates": "isFlat",
            "predicates.isFlat.type": "TopicNameMatches",
            "predicates.isFlat.pattern": ".*-flat"
        })
        .to_string(),
    );
    support::kafka::create_topic(&k.bootstrap(), "lines-flat", 1);
    let out = support::kconnect(dir.path())
        .args(["run", "--once", "-b", &k.bootstrap(), "connectors.d"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", support::output_text(&out));
    let msgs = support::eventually(std::time::Duration::from_secs(20), || {
        let m = support::kafka::consume_all(&k.bootstrap(), "lines-flat");
        (m.len() >= 3).then_some(m)
    })
    .unwrap_or_else(|| {
        let raw = support::kafka::consume_all(&k.bootstrap(), "lines");
        panic!(
            "no transformed records on lines-flat ({} on lines)\n{}",
            raw.len(),
            support::output_text(&out)
        )
    });
    let first: Json = serde_json::from_str(&msgs[0].value_str().unwrap()).unwrap();
    assert_eq!(
        first["payload"],
        serde_json::json!({"line": "alpha", "origin": "file"})
    );
    let fields: Vec<&str> = first["schema"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["line", "origin"]);
    assert_eq!(msgs[2].header("via").as_deref(), Some("kconnect"));
}

#[test]
fn sink_records_are_transformed_after_conversion() {
    let k = support::tansu();
    let dir = tempfile::tempdir().unwrap();
    support::kafka::create_topic(&k.bootstrap(), "people", 1);
    support::kafka::produce(
        &k.bootstrap(),
        "people",
        &[
            (None, Some(br#"{"name":"Ada","age":36}"#.as_slice()), vec![]),
            (
                None,
                Some(br#"{"name":"Skip","age":1}"#.as_slice()),
                vec![("skip", b"1".as_slice())],
            ),
            (
                None,
                Some(br#"{"name":"Grace","age":45}"#.as_slice()),
                vec![],
            ),
        ],
    );
    let out_file = dir.path().join("out.txt");
    support::write(
        dir.path(),
        "connectors.d/people.json",
        &serde_json::json!({
            "name": "people",
            "connector.class": "FileStreamSink",
            "file": out_file.to_str().unwrap(),
            "topics": "people",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter.schemas.enable": "false",
            "transforms": "dropSkipped,name",
            "transforms.dropSkipped.type": "Filter",
            "transforms.dropSkipped.predicate": "skipped",
            "transforms.name.type": "ExtractField$Value",
            "transforms.name.field": "name",
            "predicates": "skipped",
            "predicates.skipped.type": "HasHeaderKey",
            "predicates.skipped.name": "skip"
        })
        .to_string(),
    );
    let out = support::kconnect(dir.path())
        .args(["run", "--once", "-b", &k.bootstrap(), "connectors.d"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", support::output_text(&out));
    let text = std::fs::read_to_string(&out_file).unwrap_or_default();
    assert_eq!(text, "Ada\nGrace\n", "{}", support::output_text(&out));
}

#[test]
fn validate_names_bad_transform_settings() {
    let dir = tempfile::tempdir().unwrap();
    support::write(
        dir.path(),
        "connectors.d/bad.json",
        &serde_json::json!({
            "name": "bad",
            "connector.class": "FileStreamSink",
            "topics": "t",
            "transforms": "unwrap",
            "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
            "transforms.unwrap.delete.tombstone.handling.mode": "sometimes"
        })
        .to_string(),
    );
    let out = support::kconnect(dir.path())
        .args(["validate", "connectors.d"])
        .output()
        .unwrap();
    let text = support::output_text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("transforms.unwrap.delete.tombstone.handling.mode"),
        "{text}"
    );
}

#[test]
fn debezium_events_are_flattened_on_the_sink_side() {
    // The change events the real Debezium 3.6.3 produced for the golden tests, as they sit in
    // Kafka: JsonConverter key and value, a null value for each tombstone.
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    let topic = "dbserver1.public.customers";
    support::kafka::create_topic(&k.bootstrap(), topic, 1);
    let events: Vec<(Vec<u8>, Option<Vec<u8>>)> =
        include_str!("../src/transform/testdata/raw.jsonl")
            .lines()
            .map(|l| {
                let j: Json = serde_json::from_str(l).unwrap();
                let key = serde_json::to_vec(&j["key"]).unwrap();
                let value =
                    (!j["value"].is_null()).then(|| serde_json::to_vec(&j["value"]).unwrap());
                (key, value)
            })
            .collect();
    let records: Vec<_> = events
        .iter()
        .map(|(k, v)| (Some(k.as_slice()), v.as_deref(), vec![]))
        .collect();
    support::kafka::produce(&k.bootstrap(), topic, &records);
    let out_file = dir.path().join("rows.txt");
    support::write(
        dir.path(),
        "connectors.d/rows.json",
        &serde_json::json!({
            "name": "rows",
            "connector.class": "FileStreamSink",
            "file": out_file.to_str().unwrap(),
            "topics": topic,
            "key.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "transforms": "unwrap",
            "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
            "transforms.unwrap.delete.tombstone.handling.mode": "rewrite",
            "transforms.unwrap.add.fields": "op,table"
        })
        .to_string(),
    );
    let out = support::kconnect(dir.path())
        .args(["run", "--once", "-b", &k.bootstrap(), "connectors.d"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", support::output_text(&out));
    let text = std::fs::read_to_string(&out_file).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    // 9 events: 2 snapshot reads, insert, update, 2 deletes (each with a tombstone, dropped),
    // and the re-insert of the changed primary key.
    assert_eq!(lines.len(), 7, "{text}\n{}", support::output_text(&out));
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("__deleted=true"))
            .count(),
        2,
        "{text}"
    );
    assert!(
        lines[0].contains("first_name=Sally") && lines[0].contains("__op=r"),
        "{text}"
    );
    assert!(
        lines.iter().all(|l| l.contains("__table=customers")),
        "{text}"
    );
}
