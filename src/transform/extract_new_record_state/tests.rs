//! Envelopes shaped as Debezium's PostgreSQL connector makes them, and what each mode makes
//! of them; `chain_tests` reuses the shapes.

use crate::data::{schemas, ConnectRecord, Schema, SchemaRef, SchemaType, Struct, Value};
use crate::transform::util::testing::*;

pub struct Shapes {
    pub key: SchemaRef,
    pub row: SchemaRef,
    pub source: SchemaRef,
    pub envelope: SchemaRef,
}

/// The shape Debezium's PostgreSQL connector gives `dbserver1.public.customers`.
pub fn shapes() -> Shapes {
    let key = Schema::struct_builder()
        .name("dbserver1.public.customers.Key")
        .field("id", schemas::int32())
        .build();
    let row = Schema::struct_builder()
        .name("dbserver1.public.customers.Value")
        .optional()
        .field("id", schemas::int32())
        .field("first_name", schemas::string())
        .field("email", schemas::optional_string())
        .field(
            "status",
            Schema::builder(SchemaType::String)
                .optional()
                .default_value(Value::from("active"))
                .build(),
        )
        .build();
    let source = Schema::struct_builder()
        .name("io.debezium.connector.postgresql.Source")
        .field("version", schemas::string())
        .field("connector", schemas::string())
        .field("name", schemas::string())
        .field("ts_ms", schemas::int64())
        .field("db", schemas::string())
        .field("schema", schemas::string())
        .field("table", schemas::string())
        .field("lsn", schemas::optional_int64())
        .build();
    let envelope = Schema::struct_builder()
        .name("dbserver1.public.customers.Envelope")
        .version(2)
        .field("before", row.clone())
        .field("after", row.clone())
        .field("source", source.clone())
        .field("op", schemas::string())
        .field("ts_ms", schemas::optional_int64())
        .build();
    Shapes {
        key,
        row,
        source,
        envelope,
    }
}

pub fn row(s: &Shapes, id: i32, name: &str, status: Option<&str>) -> Value {
    let mut r = Struct::new(s.row.clone());
    r.put("id", Value::Int32(id));
    r.put("first_name", name.into());
    r.put("email", Value::from(format!("{name}@example.com")));
    r.put("status", status.map(Value::from).unwrap_or(Value::Null));
    Value::Struct(r)
}

pub fn event(s: &Shapes, op: &str, before: Value, after: Value) -> ConnectRecord {
    let mut src = Struct::new(s.source.clone());
    for (k, v) in [
        ("version", "3.6.3"),
        ("connector", "postgresql"),
        ("name", "dbserver1"),
        ("db", "inventory"),
        ("schema", "public"),
        ("table", "customers"),
    ] {
        src.put(k, v.into());
    }
    src.put("ts_ms", Value::Int64(1_700_000_000_000));
    src.put("lsn", Value::Int64(24_023_128));
    let mut env = Struct::new(s.envelope.clone());
    env.put("before", before);
    env.put("after", after);
    env.put("source", Value::Struct(src));
    env.put("op", op.into());
    env.put("ts_ms", Value::Int64(1_700_000_000_500));
    let mut key = Struct::new(s.key.clone());
    key.put("id", Value::Int32(1));
    ConnectRecord::new("dbserver1.public.customers")
        .with_key(Some(s.key.clone()), Value::Struct(key))
        .with_value(Some(s.envelope.clone()), Value::Struct(env))
}

pub fn tombstone(s: &Shapes) -> ConnectRecord {
    let mut r = event(s, "d", Value::Null, Value::Null);
    r.value_schema = None;
    r.value = Value::Null;
    r
}

const ENRS: &str = "io.debezium.transforms.ExtractNewRecordState";

fn field_names(s: &Schema) -> Vec<&str> {
    s.fields.iter().map(|f| f.name.as_str()).collect()
}

#[test]
fn default_mode_flattens_and_turns_deletes_into_tombstones() {
    let s = shapes();
    let mut t = transform(ENRS, &[]).unwrap();
    let out = t
        .apply(event(&s, "c", Value::Null, row(&s, 1, "Sally", None)))
        .unwrap()
        .unwrap();
    assert_eq!(out.topic, "dbserver1.public.customers");
    let schema = out.value_schema.clone().unwrap();
    assert_eq!(schema.fields, s.row.fields);
    assert_eq!(schema.name, s.row.name);
    assert!(
        !schema.optional,
        "Debezium rebuilds the row schema as required"
    );
    let expected = row(&s, 1, "Sally", None);
    assert_eq!(
        out.value.as_struct().unwrap().values,
        expected.as_struct().unwrap().values
    );
    assert_eq!(out.key_schema.as_ref(), Some(&s.key));
    // Delete: a null value that still carries the row schema, as Debezium's TOMBSTONE mode.
    let out = t
        .apply(event(&s, "d", row(&s, 1, "Sally", None), Value::Null))
        .unwrap()
        .unwrap();
    assert_eq!(out.value, Value::Null);
    assert_eq!(out.value_schema.as_ref(), Some(&s.row));
    // Debezium's own tombstone is dropped.
    assert!(t.apply(tombstone(&s)).unwrap().is_none());
    // Truncate: no row at all, dropped.
    assert!(t
        .apply(event(&s, "t", Value::Null, Value::Null))
        .unwrap()
        .is_none());
}

#[test]
fn rewrite_adds_deleted_flag_and_defaults() {
    let s = shapes();
    let mut t = transform(ENRS, &[("delete.tombstone.handling.mode", "rewrite")]).unwrap();
    let out = t
        .apply(event(&s, "u", Value::Null, row(&s, 1, "Sally", None)))
        .unwrap()
        .unwrap();
    let schema = out.value_schema.clone().unwrap();
    assert_eq!(
        schema.name.as_deref(),
        Some("dbserver1.public.customers.Value")
    );
    assert!(
        !schema.optional,
        "InsertField rebuilds the struct schema as required"
    );
    assert_eq!(
        field_names(&schema),
        ["id", "first_name", "email", "status", "__deleted"]
    );
    assert!(schema.field("__deleted").unwrap().schema.optional);
    let v = out.value.as_struct().unwrap();
    assert_eq!(v.get("__deleted"), Some(&Value::from("false")));
    // replace.null.with.default=true: a null column with a default takes it.
    assert_eq!(v.get("status"), Some(&Value::from("active")));
    let out = t
        .apply(event(
            &s,
            "d",
            row(&s, 1, "Sally", Some("gone")),
            Value::Null,
        ))
        .unwrap()
        .unwrap();
    let v = out.value.as_struct().unwrap();
    assert_eq!(v.get("__deleted"), Some(&Value::from("true")));
    assert_eq!(v.get("first_name"), Some(&Value::from("Sally")));
    assert_eq!(out.value_schema.as_ref(), Some(&schema));
    assert!(t.apply(tombstone(&s)).unwrap().is_none());

    let mut t = transform(
        ENRS,
        &[
            ("delete.tombstone.handling.mode", "rewrite"),
            ("replace.null.with.default", "false"),
        ],
    )
    .unwrap();
    let out = t
        .apply(event(&s, "c", Value::Null, row(&s, 1, "Sally", None)))
        .unwrap()
        .unwrap();
    assert_eq!(
        out.value.as_struct().unwrap().get("status"),
        Some(&Value::Null)
    );
}

#[test]
fn tombstone_modes() {
    let s = shapes();
    let del = || event(&s, "d", row(&s, 1, "Sally", None), Value::Null);
    let mut t = transform(
        ENRS,
        &[("delete.tombstone.handling.mode", "rewrite-with-tombstone")],
    )
    .unwrap();
    assert_eq!(t.apply(tombstone(&s)).unwrap().unwrap(), tombstone(&s));
    let out = t.apply(del()).unwrap().unwrap();
    assert_eq!(
        out.value.as_struct().unwrap().get("__deleted"),
        Some(&Value::from("true"))
    );

    let mut t = transform(
        ENRS,
        &[("delete.tombstone.handling.mode", "delete-to-tombstone")],
    )
    .unwrap();
    let out = t.apply(del()).unwrap().unwrap();
    assert_eq!((out.value_schema, out.value), (None, Value::Null));
    assert!(
        out.key.as_struct().is_some(),
        "the key stays for compaction"
    );
    assert!(t.apply(tombstone(&s)).unwrap().is_none());

    let mut t = transform(ENRS, &[("delete.tombstone.handling.mode", "drop")]).unwrap();
    assert!(t.apply(del()).unwrap().is_none());
    assert!(t.apply(tombstone(&s)).unwrap().is_none());
    assert!(t
        .apply(event(&s, "c", Value::Null, row(&s, 1, "A", None)))
        .unwrap()
        .is_some());

    let e = transform(ENRS, &[("delete.tombstone.handling.mode", "nope")])
        .err()
        .unwrap();
    assert_eq!(e.key, "delete.tombstone.handling.mode");
    assert!(e.message.contains("Invalid value nope"), "{}", e.message);
}

#[test]
fn add_fields_and_headers_with_prefixes_and_renames() {
    // Debezium docs: add.fields=op,table,source.ts_ms → __op, __table, __source_ts_ms.
    let s = shapes();
    let mut t = transform(
        ENRS,
        &[
            ("add.fields", "op,table,source.ts_ms,lsn:LSN,ts_ms"),
            ("add.headers", "op,source.db"),
            ("add.headers.prefix", "dbz_"),
        ],
    )
    .unwrap();
    let out = t
        .apply(event(&s, "c", Value::Null, row(&s, 1, "Sally", None)))
        .unwrap()
        .unwrap();
    let schema = out.value_schema.clone().unwrap();
    assert_eq!(
        field_names(&schema),
        [
            "id",
            "first_name",
            "email",
            "status",
            "__op",
            "__table",
            "__source_ts_ms",
            "__LSN",
            "__ts_ms"
        ]
    );
    assert_eq!(
        schema.name.as_deref(),
        Some("dbserver1.public.customers.Value")
    );
    assert!(schema.fields[4..].iter().all(|f| f.schema.optional));
    let v = out.value.as_struct().unwrap();
    assert_eq!(v.get("__op"), Some(&Value::from("c")));
    assert_eq!(v.get("__table"), Some(&Value::from("customers")));
    assert_eq!(
        v.get("__source_ts_ms"),
        Some(&Value::Int64(1_700_000_000_000))
    );
    assert_eq!(v.get("__LSN"), Some(&Value::Int64(24_023_128)));
    assert_eq!(v.get("__ts_ms"), Some(&Value::Int64(1_700_000_000_500)));
    assert_eq!(out.headers.last("dbz_op").unwrap().value, Value::from("c"));
    assert_eq!(
        out.headers.last("dbz_source_db").unwrap().value,
        Value::from("inventory")
    );
    assert!(
        out.headers
            .last("dbz_op")
            .unwrap()
            .schema
            .as_ref()
            .unwrap()
            .optional
    );

    // A rewritten delete gets the fields too; the tombstone only an "op" header of "d".
    let mut t = transform(
        ENRS,
        &[
            ("delete.tombstone.handling.mode", "rewrite-with-tombstone"),
            ("add.fields", "op"),
            ("add.headers", "op"),
        ],
    )
    .unwrap();
    let out = t
        .apply(event(&s, "d", row(&s, 1, "Sally", None), Value::Null))
        .unwrap()
        .unwrap();
    let v = out.value.as_struct().unwrap();
    assert_eq!(v.get("__deleted"), Some(&Value::from("true")));
    assert_eq!(v.get("__op"), Some(&Value::from("d")));
    let out = t.apply(tombstone(&s)).unwrap().unwrap();
    assert_eq!(out.headers.last("__op").unwrap().value, Value::from("d"));
}

#[test]
fn route_by_field_and_non_envelopes() {
    let s = shapes();
    let mut t = transform(ENRS, &[("route.by.field", "first_name")]).unwrap();
    let out = t
        .apply(event(&s, "c", Value::Null, row(&s, 1, "Sally", None)))
        .unwrap()
        .unwrap();
    assert_eq!(out.topic, "Sally");
    let out = t
        .apply(event(&s, "d", row(&s, 1, "Bob", None), Value::Null))
        .unwrap()
        .unwrap();
    assert_eq!(out.topic, "Bob");
    // Heartbeats and other non-envelope records pass unchanged.
    let r = record_with_value(Some(schemas::string()), Value::from("hb"));
    assert_eq!(t.apply(r.clone()).unwrap().unwrap(), r);
    let r = record_with_value(None, smap(&[("a", Value::Int32(1))]));
    assert_eq!(t.apply(r.clone()).unwrap().unwrap(), r);
}

#[test]
fn drop_fields_from_header_list() {
    let s = shapes();
    let names = Value::Array(vec!["email".into(), "first_name".into(), "id".into()]);
    let with_header = |mut r: ConnectRecord| {
        r.headers.add("dropme", None, names.clone());
        r
    };
    let mut t = transform(
        ENRS,
        &[
            ("drop.fields.header.name", "dropme"),
            ("drop.fields.from.key", "true"),
        ],
    )
    .unwrap();
    let out = t
        .apply(with_header(event(
            &s,
            "c",
            Value::Null,
            row(&s, 1, "Sally", None),
        )))
        .unwrap()
        .unwrap();
    // Keeping schemas compatible: only optional fields go.
    assert_eq!(
        field_names(out.value_schema.as_ref().unwrap()),
        ["id", "first_name", "status"]
    );
    assert_eq!(field_names(out.key_schema.as_ref().unwrap()), ["id"]);
    let mut t = transform(
        ENRS,
        &[
            ("drop.fields.header.name", "dropme"),
            ("drop.fields.from.key", "true"),
            ("drop.fields.keep.schema.compatible", "false"),
        ],
    )
    .unwrap();
    let out = t
        .apply(with_header(event(
            &s,
            "c",
            Value::Null,
            row(&s, 1, "Sally", None),
        )))
        .unwrap()
        .unwrap();
    assert_eq!(field_names(out.value_schema.as_ref().unwrap()), ["status"]);
    assert!(out.key_schema.as_ref().unwrap().fields.is_empty());
}
