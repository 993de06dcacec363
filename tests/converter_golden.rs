//! JsonConverter against what real Kafka Connect wrote: every key and value in the events the
//! Debezium reference (Kafka Connect's JsonConverter, schemas enabled) produced is read into
//! Connect data and written back, and must come out byte for byte the same.

use kconnect::convert::json::{JsonConverter, JsonOptions};
use kconnect::convert::Converter;
use serde_json::value::RawValue;

#[derive(serde::Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    key: &'a RawValue,
    #[serde(borrow)]
    value: &'a RawValue,
}

fn round_trip(file: &str) -> usize {
    let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut conv = JsonConverter::new(JsonOptions::default());
    let mut out = Vec::new();
    let mut n = 0;
    for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let l: Line = serde_json::from_str(line).unwrap();
        for raw in [l.key.get(), l.value.get()] {
            if raw == "null" {
                continue;
            }
            let (schema, value) = conv
                .to_connect("t", Some(raw.as_bytes()))
                .unwrap_or_else(|e| panic!("{file} line {}: reading failed: {e}", i + 1));
            conv.from_connect("t", schema.as_ref(), &value, &mut out)
                .unwrap_or_else(|e| panic!("{file} line {}: writing failed: {e}", i + 1));
            assert_eq!(
                std::str::from_utf8(&out).unwrap(),
                raw,
                "{file} line {}: not byte-identical after a round trip",
                i + 1
            );
            n += 1;
        }
    }
    n
}

#[test]
fn debezium_events_round_trip_byte_for_byte() {
    let n = round_trip("tests/fixtures/postgres/expected.jsonl");
    assert!(n > 10, "only {n} records checked");
}

#[test]
fn debezium_raw_events_for_transforms_round_trip_byte_for_byte() {
    assert!(round_trip("src/transform/testdata/raw.jsonl") > 5);
}

#[test]
fn schemaless_and_tombstones_follow_connect() {
    let mut conv = JsonConverter::new(JsonOptions {
        schemas_enable: false,
        ..JsonOptions::default()
    });
    let (schema, value) = conv
        .to_connect("t", Some(br#"{"a":1,"b":[1.5,"x",null],"c":{"d":true}}"#))
        .unwrap();
    assert!(schema.is_none());
    let mut out = Vec::new();
    assert!(conv.from_connect("t", None, &value, &mut out).unwrap());
    assert_eq!(
        std::str::from_utf8(&out).unwrap(),
        r#"{"a":1,"b":[1.5,"x",null],"c":{"d":true}}"#
    );
    // A null value without a schema is a tombstone: no bytes at all.
    assert!(!conv
        .from_connect("t", None, &kconnect::data::Value::Null, &mut out)
        .unwrap());
    assert_eq!(
        conv.to_connect("t", None).unwrap().1,
        kconnect::data::Value::Null
    );
    // With schemas enabled, plain JSON is refused with Connect's hint.
    let mut strict = JsonConverter::new(JsonOptions::default());
    let e = strict
        .to_connect("t", Some(br#"{"a":1}"#))
        .unwrap_err()
        .to_string();
    assert!(e.contains("schemas.enable=false"), "{e}");
}

#[test]
fn decimal_format_numeric_writes_plain_numbers() {
    use kconnect::data::{Decimal, Schema, Struct, Value};
    let schema = Schema::struct_builder()
        .field("price", Schema::decimal(2).build())
        .build();
    let mut s = Struct::new(schema.clone());
    s.put("price", Value::Decimal(Decimal::parse("12.50").unwrap()));
    let mut out = Vec::new();
    let mut b64 = JsonConverter::new(JsonOptions::default());
    b64.from_connect("t", Some(&schema), &Value::Struct(s.clone()), &mut out)
        .unwrap();
    assert!(
        std::str::from_utf8(&out)
            .unwrap()
            .ends_with(r#""payload":{"price":"BOI="}}"#),
        "{}",
        String::from_utf8_lossy(&out)
    );
    let mut numeric = JsonConverter::new(JsonOptions {
        decimal_numeric: true,
        ..JsonOptions::default()
    });
    numeric
        .from_connect("t", Some(&schema), &Value::Struct(s), &mut out)
        .unwrap();
    assert!(
        std::str::from_utf8(&out)
            .unwrap()
            .ends_with(r#""payload":{"price":12.50}}"#),
        "{}",
        String::from_utf8_lossy(&out)
    );
    // And both read back to the same decimal.
    let (_, v1) = b64.to_connect("t", Some(br#"{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":"BOI="}"#)).unwrap();
    let (_, v2) = b64.to_connect("t", Some(br#"{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":12.5}"#)).unwrap();
    assert_eq!(v1, v2);
}
