//! The chain as the worker builds it from a connector file: aliases in order, predicates,
//! `negate`, and the problems `kconnect validate` reports.

use std::collections::BTreeMap;

use super::TransformationChain;
use crate::data::{ConnectRecord, Value};

fn config(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    values.insert("name".into(), "c".into());
    values.insert("connector.class".into(), "FileStreamSink".into());
    for (k, v) in pairs {
        values.insert(k.to_string(), v.to_string());
    }
    values
}

fn chain(pairs: &[(&str, &str)]) -> TransformationChain {
    TransformationChain::from_config(&config(pairs)).unwrap_or_else(|p| panic!("{p:?}"))
}

#[test]
fn filter_with_negated_predicate_keeps_only_matching_topics() {
    // Kafka docs: drop everything whose topic does not match, via Filter + negate.
    let mut c = chain(&[
        ("transforms", "keepFoo"),
        (
            "transforms.keepFoo.type",
            "org.apache.kafka.connect.transforms.Filter",
        ),
        ("transforms.keepFoo.predicate", "isFoo"),
        ("transforms.keepFoo.negate", "true"),
        ("predicates", "isFoo"),
        (
            "predicates.isFoo.type",
            "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
        ),
        ("predicates.isFoo.pattern", "foo.*"),
    ]);
    assert!(c.apply(ConnectRecord::new("foo-1")).unwrap().is_some());
    assert!(c.apply(ConnectRecord::new("bar")).unwrap().is_none());
}

#[test]
fn transforms_run_in_order_and_predicates_skip_stages() {
    let mut c = chain(&[
        ("transforms", "route,tag,dropTombstones"),
        ("transforms.route.type", "RegexRouter"),
        ("transforms.route.regex", "(.*)-raw"),
        ("transforms.route.replacement", "$1"),
        ("transforms.tag.type", "InsertHeader"),
        ("transforms.tag.header", "routed"),
        ("transforms.tag.value.literal", "yes"),
        ("transforms.tag.predicate", "isOrders"),
        ("transforms.dropTombstones.type", "Filter"),
        ("transforms.dropTombstones.predicate", "tomb"),
        ("predicates", "isOrders,tomb"),
        ("predicates.isOrders.type", "TopicNameMatches"),
        ("predicates.isOrders.pattern", "orders"),
        ("predicates.tomb.type", "RecordIsTombstone"),
    ]);
    let r = ConnectRecord::new("orders-raw").with_value(None, Value::from("x"));
    let out = c.apply(r).unwrap().unwrap();
    assert_eq!(
        out.topic, "orders",
        "the predicate sees the topic RegexRouter produced"
    );
    assert_eq!(
        out.headers.last("routed").unwrap().value,
        Value::from("yes")
    );
    let out = c
        .apply(ConnectRecord::new("other").with_value(None, Value::from("x")))
        .unwrap()
        .unwrap();
    assert!(out.headers.is_empty());
    assert!(c.apply(ConnectRecord::new("orders")).unwrap().is_none());
}

#[test]
fn failures_name_the_alias_and_class() {
    let mut c = chain(&[
        ("transforms", "unwrap"),
        ("transforms.unwrap.type", "ExtractField$Value"),
        ("transforms.unwrap.field", "id"),
    ]);
    let err = c
        .apply(ConnectRecord::new("t").with_value(None, Value::Int32(1)))
        .unwrap_err();
    assert_eq!(err.alias, "unwrap");
    assert_eq!(
        err.class,
        "org.apache.kafka.connect.transforms.ExtractField$Value"
    );
    assert!(
        err.to_string().contains("Only Map objects supported"),
        "{err}"
    );
}

#[test]
fn validation_reports_bad_transform_settings_by_key() {
    let problems = TransformationChain::from_config(&config(&[
        ("transforms", "a,b,c"),
        ("transforms.a.type", "ReplaceField$Value"),
        ("transforms.a.renames", "x"),
        (
            "transforms.b.type",
            "org.apache.kafka.connect.transforms.NoSuchThing",
        ),
        (
            "transforms.c.type",
            "io.debezium.transforms.ExtractNewRecordState",
        ),
        ("transforms.c.delete.tombstone.handling.mode", "sometimes"),
        ("transforms.c.predicate", "missing"),
    ]))
    .err()
    .expect("invalid");
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    assert!(keys.contains(&"transforms.a.renames"), "{problems:?}");
    assert!(keys.contains(&"transforms.b.type"), "{problems:?}");
    assert!(
        keys.contains(&"transforms.c.delete.tombstone.handling.mode"),
        "{problems:?}"
    );
    assert!(keys.contains(&"transforms.c.predicate"), "{problems:?}");
    let renames = problems
        .iter()
        .find(|p| p.key == "transforms.a.renames")
        .unwrap();
    assert!(
        renames.message.contains("Invalid rename mapping: x"),
        "{}",
        renames.message
    );
}

#[test]
fn debezium_unwrap_chain_end_to_end() {
    let s = super::extract_new_record_state::tests::shapes();
    let mut c = chain(&[
        ("transforms", "unwrap,fields,origin"),
        (
            "transforms.unwrap.type",
            "io.debezium.transforms.ExtractNewRecordState",
        ),
        (
            "transforms.unwrap.delete.tombstone.handling.mode",
            "rewrite",
        ),
        ("transforms.unwrap.add.fields", "op,source.ts_ms"),
        ("transforms.fields.type", "ReplaceField$Value"),
        ("transforms.fields.exclude", "email"),
        ("transforms.fields.renames", "first_name:name"),
        ("transforms.origin.type", "InsertField$Value"),
        ("transforms.origin.static.field", "origin"),
        ("transforms.origin.static.value", "pg"),
    ]);
    let ev = super::extract_new_record_state::tests::event(
        &s,
        "c",
        Value::Null,
        super::extract_new_record_state::tests::row(&s, 1, "Sally", Some("vip")),
    );
    let out = c.apply(ev).unwrap().unwrap();
    let schema = out.value_schema.clone().unwrap();
    let names: Vec<_> = schema.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "id",
            "name",
            "status",
            "__deleted",
            "__op",
            "__source_ts_ms",
            "origin"
        ]
    );
    assert_eq!(
        schema.name.as_deref(),
        Some("dbserver1.public.customers.Value")
    );
    let v = out.value.as_struct().unwrap();
    assert_eq!(v.get("name"), Some(&Value::from("Sally")));
    assert_eq!(v.get("__op"), Some(&Value::from("c")));
    assert_eq!(v.get("origin"), Some(&Value::from("pg")));
}
