//! The fake Schema Registry speaks Confluent's protocol for Protobuf schemas too (Confluent's
//! own client with its Protobuf provider works against it, references included), and
//! kconnect's ProtobufConverter over HTTP: one registration per schema, a new version for a
//! field added mid-stream, an incompatible change refused, a schema importing another subject
//! read through its reference, an unreachable registry as a retriable error, an unknown id as
//! a record's error.

mod support;

use std::collections::BTreeMap;

use kconnect::convert::{find_converter, Converter};
use kconnect::data::{schemas, Schema, Struct, Value};
use support::schema_registry::{
    converter, outage_and_unknown_id, schema_registry, user, user_schema,
};

fn protobuf(settings: &[(&str, &str)], is_key: bool) -> Box<dyn Converter> {
    converter("ProtobufConverter", settings, is_key)
}

#[test]
fn confluents_client_works_against_the_fake_registry() {
    let reg = schema_registry();
    let Some(stdout) =
        reg.confluent_client("gen-protobuf-goldens", "kafka-protobuf-provider-7.0.16.jar")
    else {
        return;
    };
    let got: BTreeMap<&str, &str> = stdout.lines().filter_map(|l| l.split_once('=')).collect();
    let want = [
        ("register.v1", "1"),
        ("register.v1.again", "1"),
        ("compatible.v2", "true"),
        ("compatible.bad", "false"),
        ("register.v2", "2"),
        ("by.id.type", "PROTOBUF"),
        (
            "by.id",
            "syntax = \"proto3\";|package p;||message R {|  int32 id = 1;|  string email = 2;|}|",
        ),
        ("version.v1", "1"),
        ("id.lookup.v2", "2"),
        ("latest", "2"),
        ("register.bad", "409:409"),
        ("register.dep", "3"),
        ("register.main", "4"),
        (
            "main.references",
            "[{name='dep.proto', subject='dep.proto', version=1}]",
        ),
        ("main.dependencies", "[dep.proto]"),
        ("main.field.d", "dep.D"),
        ("missing.id", "404:40403"),
    ];
    for (k, v) in want {
        assert_eq!(got.get(k).copied(), Some(v), "{k}; all output:\n{stdout}");
    }
    assert!(
        got.get("invalid").is_some_and(|v| *v != "accepted"),
        "{stdout}"
    );
}

#[test]
fn registers_once_reads_by_id_once_and_evolves() {
    let reg = schema_registry();
    let mut w = protobuf(&[("schema.registry.url", &reg.url)], false);
    let s1 = user_schema(false);
    let mut out = Vec::new();
    let mut first = Vec::new();
    for i in 0..30 {
        let s = if i % 2 == 0 {
            s1.clone()
        } else {
            user_schema(false)
        };
        assert!(w
            .from_connect("users", Some(&s), &user(&s, i + 1), &mut out)
            .unwrap());
        if i == 0 {
            first = out.clone();
        }
    }
    assert_eq!(
        reg.count("POST /subjects/users-value/versions"),
        1,
        "{:?}",
        reg.requests()
    );
    assert_eq!(first, [0, 0, 0, 0, 1, 0, 0x08, 0x01]);
    let v2 = user_schema(true);
    let mut s = Struct::new(v2.clone());
    s.put("id", Value::Int32(2));
    s.put("email", Value::from("b@x"));
    let mut second = Vec::new();
    w.from_connect("users", Some(&v2), &Value::Struct(s), &mut second)
        .unwrap();
    assert_eq!(reg.subject_versions("users-value").len(), 2);
    let mut r = protobuf(&[("schema.registry.url", &reg.url)], false);
    for _ in 0..10 {
        let (schema, value) = r.to_connect("users", Some(&first)).unwrap();
        assert_eq!(schema.unwrap().version, Some(1), "the registry's version");
        assert_eq!(value.as_struct().unwrap().get("id"), Some(&Value::Int32(1)));
    }
    let (schema, value) = r.to_connect("users", Some(&second)).unwrap();
    assert_eq!(schema.unwrap().version, Some(2));
    assert_eq!(
        value.as_struct().unwrap().get("email"),
        Some(&Value::from("b@x"))
    );
    assert_eq!(reg.count("GET /schemas/ids/1"), 1, "{:?}", reg.requests());
    // A field's type changed: the registry's BACKWARD check refuses it, a record error.
    let v3 = Schema::struct_builder()
        .name("test.User")
        .field("id", schemas::string())
        .build();
    let mut s = Struct::new(v3.clone());
    s.put("id", Value::from("x"));
    let e = w
        .from_connect("users", Some(&v3), &Value::Struct(s), &mut out)
        .unwrap_err();
    assert!(!e.is_retriable(), "{e}");
    assert!(e.0.contains("409"), "{e}");
}

/// A schema registered by someone else that imports another subject's schema: the converter
/// follows the reference to read the message.
#[test]
fn a_schema_with_a_reference_is_read_through_it() {
    let reg = schema_registry();
    let http = reqwest::blocking::Client::new();
    let post = |path: &str, body: serde_json::Value| -> serde_json::Value {
        http.post(format!("{}{path}", reg.url))
            .header("Content-Type", "application/vnd.schemaregistry.v1+json")
            .body(body.to_string())
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    let dep = "syntax = \"proto3\";\npackage dep;\n\nmessage D {\n  string s = 1;\n}\n";
    post(
        "/subjects/dep.proto/versions",
        serde_json::json!({"schemaType": "PROTOBUF", "schema": dep}),
    );
    let main = "syntax = \"proto3\";\npackage m;\n\nimport \"dep.proto\";\nimport \"google/protobuf/timestamp.proto\";\n\nmessage M {\n  dep.D d = 1;\n  int32 n = 2;\n  google.protobuf.Timestamp at = 3;\n}\n";
    let id = post(
        "/subjects/orders-value/versions",
        serde_json::json!({"schemaType": "PROTOBUF", "schema": main,
            "references": [{"name": "dep.proto", "subject": "dep.proto", "version": 1}]}),
    )["id"]
        .as_i64()
        .unwrap() as i32;
    let mut bytes = vec![0];
    bytes.extend_from_slice(&id.to_be_bytes());
    // Message indexes [0], then d = {s: "x"}, n = 5, at = {seconds: 2, nanos: 5000000}.
    bytes.extend_from_slice(&[
        0, 0x0a, 0x03, 0x0a, 0x01, b'x', 0x10, 0x05, 0x1a, 0x07, 0x08, 0x02, 0x10, 0xc0, 0x96,
        0xb1, 0x02,
    ]);
    let mut r = protobuf(&[("schema.registry.url", &reg.url)], false);
    let (schema, value) = r.to_connect("orders", Some(&bytes)).unwrap();
    let schema = schema.unwrap();
    assert_eq!(schema.name.as_deref(), Some("M"));
    let v = value.as_struct().unwrap();
    assert_eq!(v.get("n"), Some(&Value::Int32(5)));
    assert_eq!(v.get("at"), Some(&Value::Int64(2005)));
    assert_eq!(
        v.get("d")
            .and_then(|d| d.as_struct())
            .and_then(|d| d.get("s")),
        Some(&Value::from("x"))
    );
    assert_eq!(
        reg.count("GET /subjects/dep.proto/versions/1"),
        1,
        "{:?}",
        reg.requests()
    );
    // An import that is neither a reference nor well known is a clear record error.
    let lost = "syntax = \"proto3\";\nimport \"lost.proto\";\nmessage L {\n  lost.X x = 1;\n}\n";
    let id = post(
        "/subjects/lost-value/versions",
        serde_json::json!({"schemaType": "PROTOBUF", "schema": lost}),
    )["id"]
        .as_i64()
        .unwrap() as i32;
    let mut bytes = vec![0];
    bytes.extend_from_slice(&id.to_be_bytes());
    bytes.push(0);
    let e = r.to_connect("lost", Some(&bytes)).unwrap_err();
    assert!(e.0.contains("lost.proto"), "{e}");
}

#[test]
fn an_unreachable_registry_is_retriable_and_an_unknown_id_is_not() {
    let (reg, mut r) = outage_and_unknown_id("ProtobufConverter");
    // An Avro schema's id is not a Protobuf schema: a record error that says so.
    let mut a = converter("AvroConverter", &[("schema.registry.url", &reg.url)], false);
    let s = user_schema(false);
    let mut abytes = Vec::new();
    a.from_connect("avro-topic", Some(&s), &user(&s, 1), &mut abytes)
        .unwrap();
    let e = r.to_connect("avro-topic", Some(&abytes)).unwrap_err();
    assert!(!e.is_retriable() && e.0.contains("not Protobuf"), "{e}");
}

#[test]
fn settings_not_implemented_are_refused_by_name() {
    let plugin = find_converter("ProtobufConverter").unwrap();
    for (k, v) in [
        ("use.latest.version", "true"),
        ("skip.known.types", "false"),
        ("derive.type", "true"),
        ("use.schema.id", "5"),
        ("schema.registry.ssl.protocol", "TLSv1.3"),
        ("specific.protobuf.value.type", "com.example.Order"),
    ] {
        let cfg: BTreeMap<String, String> = [
            (
                "schema.registry.url".to_string(),
                "http://127.0.0.1:1".to_string(),
            ),
            (k.to_string(), v.to_string()),
        ]
        .into();
        let p = match (plugin.create)(&cfg, false) {
            Ok(_) => panic!("{k} accepted"),
            Err(p) => p,
        };
        assert_eq!(p.key, k);
    }
}
