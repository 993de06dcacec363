//! The fake Schema Registry (tests/support/schema_registry.rs) speaks Confluent's protocol:
//! Confluent's own CachedSchemaRegistryClient 7.0.16 works against it. And kconnect's
//! AvroConverter over HTTP: one registration per schema, failover between URLs, basic auth,
//! an unreachable registry as a retriable error, an unknown id as a record's error.

mod support;

use std::collections::BTreeMap;

use kconnect::convert::{find_converter, Converter};
use kconnect::data::{schemas, Schema, Struct, Value};
use support::schema_registry::{
    converter, outage_and_unknown_id, schema_registry, user, user_schema,
};

fn avro(settings: &[(&str, &str)], is_key: bool) -> Box<dyn Converter> {
    converter("AvroConverter", settings, is_key)
}

#[test]
fn confluents_client_works_against_the_fake_registry() {
    let reg = schema_registry();
    let Some(stdout) = reg.confluent_client(
        "gen-avro-goldens",
        "kafka-schema-registry-client-7.0.16.jar",
    ) else {
        return;
    };
    let got: BTreeMap<&str, &str> = stdout.lines().filter_map(|l| l.split_once('=')).collect();
    let v1 = r#"{"type":"record","name":"R","fields":[{"name":"id","type":"int"}]}"#;
    let want = [
        ("register.v1", "1"),
        ("register.v1.again", "1"),
        ("compatible.v2", "true"),
        ("compatible.bad", "false"),
        ("register.v2", "2"),
        ("by.subject.and.id", v1),
        ("version.v1", "1"),
        ("id.lookup.v2", "2"),
        ("latest", "2:2"),
        ("version.1", v1),
        ("subjects", "[s-value]"),
        ("versions", "[1, 2]"),
        ("register.bad", "409:409"),
        ("config.none", "NONE"),
        ("register.bad.none", "3"),
        ("missing.id", "404:40403"),
        ("missing.subject", "404:40401"),
        ("missing.version", "404:40402"),
        ("lookup.missing", "404:40403"),
    ];
    for (k, v) in want {
        assert_eq!(got.get(k).copied(), Some(v), "{k}; all output:\n{stdout}");
    }
    // FORWARD: the old schema (v2, with a field) must read data of v1: it can (default).
    // FULL and BACKWARD likewise for a field with a default.
    assert_eq!(got.get("other.FORWARD.v1"), Some(&"true"), "{stdout}");
    assert_eq!(got.get("other.FULL.v1"), Some(&"true"), "{stdout}");
    assert_eq!(got.get("other.BACKWARD.v1"), Some(&"true"), "{stdout}");
    assert!(reg.count("POST /subjects/s-value/versions") >= 3);
}

#[test]
fn registers_each_schema_once_and_reads_by_id_once() {
    let reg = schema_registry();
    let mut w = avro(&[("schema.registry.url", &reg.url)], false);
    let s1 = user_schema(false);
    let mut out = Vec::new();
    let mut first = Vec::new();
    for i in 0..50 {
        // A new Arc of an equal schema each time: caching is by value, not only by address.
        let s = if i % 2 == 0 {
            s1.clone()
        } else {
            user_schema(false)
        };
        assert!(w
            .from_connect("users", Some(&s), &user(&s, i), &mut out)
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
    assert_eq!(&first[..5], &[0, 0, 0, 0, 1]);
    let mut r = avro(&[("schema.registry.url", &reg.url)], false);
    for _ in 0..20 {
        let (schema, value) = r.to_connect("users", Some(&first)).unwrap();
        let schema = schema.unwrap();
        assert_eq!(schema.name.as_deref(), Some("test.User"));
        assert_eq!(schema.version, Some(1), "the registry's version");
        assert_eq!(value.as_struct().unwrap().get("id"), Some(&Value::Int32(0)));
    }
    assert_eq!(reg.count("GET /schemas/ids/1"), 1, "{:?}", reg.requests());
    assert_eq!(
        reg.count("POST /subjects/users-value"),
        2,
        "one registration, one version lookup: {:?}",
        reg.requests()
    );
}

#[test]
fn a_field_added_mid_stream_is_a_new_version_and_both_read_back() {
    let reg = schema_registry();
    let mut w = avro(&[("schema.registry.url", &reg.url)], false);
    let (v1, v2) = (user_schema(false), user_schema(true));
    let mut a = Vec::new();
    let mut b = Vec::new();
    w.from_connect("users", Some(&v1), &user(&v1, 1), &mut a)
        .unwrap();
    let mut s = Struct::new(v2.clone());
    s.put("id", Value::Int32(2));
    s.put("email", Value::from("b@x"));
    w.from_connect("users", Some(&v2), &Value::Struct(s), &mut b)
        .unwrap();
    assert_eq!(reg.subject_versions("users-value").len(), 2);
    let mut r = avro(&[("schema.registry.url", &reg.url)], false);
    let (sa, va) = r.to_connect("users", Some(&a)).unwrap();
    let (sb, vb) = r.to_connect("users", Some(&b)).unwrap();
    assert_eq!(
        (sa.unwrap().version, sb.as_ref().unwrap().version),
        (Some(1), Some(2))
    );
    assert_eq!(va.as_struct().unwrap().get("email"), None);
    assert_eq!(
        vb.as_struct().unwrap().get("email"),
        Some(&Value::from("b@x"))
    );
    // An incompatible change (a required field without default) is refused by the registry's
    // BACKWARD check: a record error, not a retriable one.
    let v3 = Schema::struct_builder()
        .name("test.User")
        .field("id", schemas::int32())
        .field("age", schemas::int32())
        .build();
    let mut s = Struct::new(v3.clone());
    s.put("id", Value::Int32(3));
    s.put("age", Value::Int32(30));
    let e = w
        .from_connect("users", Some(&v3), &Value::Struct(s), &mut a)
        .unwrap_err();
    assert!(!e.is_retriable(), "{e}");
    assert!(e.0.contains("409"), "{e}");
}

#[test]
fn an_unreachable_registry_is_retriable_and_an_unknown_id_is_not() {
    outage_and_unknown_id("AvroConverter");
}

#[test]
fn basic_auth_from_user_info_or_the_url() {
    let reg = schema_registry();
    reg.require_auth("alice:s3cret");
    let s = user_schema(false);
    let mut out = Vec::new();
    let mut none = avro(&[("schema.registry.url", &reg.url)], false);
    let e = none
        .from_connect("users", Some(&s), &user(&s, 1), &mut out)
        .unwrap_err();
    assert!(e.0.contains("401"), "{e}");
    let mut ui = avro(
        &[
            ("schema.registry.url", &reg.url),
            ("basic.auth.credentials.source", "USER_INFO"),
            ("basic.auth.user.info", "alice:s3cret"),
        ],
        false,
    );
    ui.from_connect("users", Some(&s), &user(&s, 1), &mut out)
        .unwrap();
    let with_creds = reg.url.replace("http://", "http://alice:s3cret@");
    let mut url = avro(&[("schema.registry.url", &with_creds)], false);
    url.from_connect("users", Some(&s), &user(&s, 1), &mut out)
        .unwrap();
}

#[test]
fn lookup_only_and_latest_version() {
    let reg = schema_registry();
    let s = user_schema(false);
    let mut out = Vec::new();
    let mut lookup = avro(
        &[
            ("schema.registry.url", &reg.url),
            ("auto.register.schemas", "false"),
        ],
        false,
    );
    let e = lookup
        .from_connect("users", Some(&s), &user(&s, 1), &mut out)
        .unwrap_err();
    assert!(e.0.contains("40401"), "{e}");
    let mut reg_w = avro(&[("schema.registry.url", &reg.url)], false);
    reg_w
        .from_connect(
            "users",
            Some(&user_schema(true)),
            &user(&user_schema(true), 1),
            &mut out,
        )
        .unwrap();
    let mut latest = avro(
        &[
            ("schema.registry.url", &reg.url),
            ("auto.register.schemas", "false"),
            ("use.latest.version", "true"),
        ],
        false,
    );
    // Written with the subject's latest schema (id 1, with the optional email) though the
    // record's schema lacks the field: the latest can read it, as latest.compatibility.strict
    // checks... but the record has no email field to write, so it is refused.
    let e = latest.from_connect("users", Some(&s), &user(&s, 5), &mut out);
    assert!(e.is_err());
    let s2 = user_schema(true);
    latest
        .from_connect("users", Some(&s2), &user(&s2, 5), &mut out)
        .unwrap();
    assert_eq!(&out[..5], &[0, 0, 0, 0, 1]);
}

#[test]
fn settings_not_implemented_are_refused_by_name() {
    let plugin = find_converter("AvroConverter").unwrap();
    for (k, v) in [
        ("ignore.default.for.nullables", "true"),
        ("use.schema.id", "5"),
        ("bearer.auth.credentials.source", "STATIC_TOKEN"),
        ("schema.registry.ssl.protocol", "TLSv1.3"),
        ("discard.type.doc.default", "true"),
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
    let cfg = BTreeMap::new();
    assert!(
        (plugin.create)(&cfg, false).is_err(),
        "schema.registry.url is required"
    );
}

#[test]
fn https_registry_with_a_truststore_and_a_refused_unknown_certificate() {
    use openssl::ssl::{SslAcceptor, SslFiletype, SslMethod};
    use support::tls_proxy::TlsProxy;
    let reg = schema_registry();
    let dir = tempfile::tempdir().unwrap();
    let ca = support::make_ca(dir.path(), "ca");
    let (crt, key) = support::make_server_cert(dir.path(), &ca, "registry");
    let other_ca = support::make_ca(dir.path(), "other-ca").0;
    let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).unwrap();
    acceptor.set_certificate_chain_file(&crt).unwrap();
    acceptor
        .set_private_key_file(&key, SslFiletype::PEM)
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port: u16 = reg.url.rsplit(':').next().unwrap().parse().unwrap();
    let proxy = TlsProxy::start(listener, port, acceptor.build());
    let url = format!("https://localhost:{}", proxy.port);
    let s = user_schema(false);
    let mut out = Vec::new();
    let trusted = ca.0.display().to_string();
    let mut ok = avro(
        &[
            ("schema.registry.url", &url),
            ("schema.registry.ssl.truststore.location", &trusted),
            ("schema.registry.ssl.truststore.type", "PEM"),
        ],
        false,
    );
    ok.from_connect("users", Some(&s), &user(&s, 1), &mut out)
        .unwrap();
    assert_eq!(reg.count("POST /subjects/users-value/versions"), 1);
    let untrusted = other_ca.display().to_string();
    let mut bad = avro(
        &[
            ("schema.registry.url", &url),
            ("schema.registry.ssl.truststore.location", &untrusted),
        ],
        false,
    );
    let e = bad
        .from_connect("users", Some(&s), &user(&s, 1), &mut out)
        .unwrap_err();
    assert!(e.0.contains("truststore"), "{e}");
    assert!(
        !e.is_retriable(),
        "an untrusted certificate is not an outage: {e}"
    );
}

#[test]
fn validate_accepts_an_avro_pipeline_without_asking_the_registry() {
    let reg = schema_registry();
    let dir = tempfile::tempdir().unwrap();
    support::write(
        dir.path(),
        "c.json",
        &serde_json::json!({"name": "c", "config": {
            "connector.class": "FileStreamSource", "topic": "t", "file": "/dev/null",
            "value.converter": "io.confluent.connect.avro.AvroConverter",
            "value.converter.schema.registry.url": reg.url,
            "value.converter.value.subject.name.strategy": "RecordNameStrategy",
        }})
        .to_string(),
    );
    let out = support::kconnect(dir.path())
        .args(["validate", "."])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", support::output_text(&out));
    assert!(reg.requests().is_empty(), "{:?}", reg.requests());
    support::write(
        dir.path(),
        "c.json",
        &serde_json::json!({"name": "c", "config": {
            "connector.class": "FileStreamSource", "topic": "t", "file": "/dev/null",
            "value.converter": "AvroConverter",
            "value.converter.schema.registry.url": reg.url,
            "value.converter.ignore.default.for.nullables": "true",
        }})
        .to_string(),
    );
    let out = support::kconnect(dir.path())
        .args(["validate", "."])
        .output()
        .unwrap();
    let text = support::output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("ignore.default.for.nullables"), "{text}");
}
