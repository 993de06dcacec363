//! The JDBC sink against a real PostgreSQL and a Kafka-protocol broker: records produced as
//! JSON with schemas, `kconnect run --once`, then the table is read back with psql. This file:
//! a CDC stream replicated, each insert mode and pk mode, identifiers. Types, errors and TLS are
//! in the other tests/jdbc_sink_*.rs files.

mod support;

use serde_json::{json, Value as Json};

use support::jdbc_sink::{
    connector, decimal, env, envelope, field, key, named, produce, rows, run_ok, run_once, simple,
    stderr, struct_schema, Rec,
};

/// The proof without the source: what ExtractNewRecordState makes of a mixed CDC
/// load (inserts, updates, deletes as tombstones, a primary-key change as delete + insert, a
/// column added mid-stream) leaves the copy equal to the expected table.
#[test]
fn cdc_flattened_stream_replicates_table() {
    let e = env();
    let topic = "dbserver1.public.customers";
    let v1 = struct_schema(
        "dbserver1.public.customers.Value",
        &[
            field("id", "int32", false),
            field("first_name", "string", true),
            field("email", "string", true),
            decimal("balance", 2),
            named("born", "int32", true, "io.debezium.time.Date"),
            named(
                "updated_at",
                "int64",
                true,
                "io.debezium.time.MicroTimestamp",
            ),
        ],
    );
    let mut v2_fields: Vec<Json> = v1["fields"].as_array().unwrap().clone();
    v2_fields.push(field("phone", "string", true));
    let v2 = struct_schema("dbserver1.public.customers.Value", &v2_fields);
    // 12.34 is unscaled 1234 = 0x04d2.
    let row = |s: &Json, id: i32, name: &str, extra: Json| {
        let mut p = json!({"id": id, "first_name": name, "email": format!("{name}@x.org"),
            "balance": "BNI=", "born": 10_000 + id, "updated_at": 1_600_000_000_000_000i64 + id as i64});
        if let Json::Object(m) = extra {
            for (k, v) in m {
                p[k] = v;
            }
        }
        Some(envelope(s, p))
    };
    // A delete before the table exists deletes nothing, and later deletes still work.
    let mut recs: Vec<Rec> = vec![(key(99), None)];
    for id in 1..=5 {
        recs.push((key(id), row(&v1, id, &format!("n{id}"), json!({}))));
    }
    recs.push((key(2), row(&v1, 2, "two", json!({}))));
    recs.push((key(3), row(&v1, 3, "n3", json!({"email": "new3@x.org"}))));
    recs.push((key(4), None)); // delete 4
    recs.push((key(5), None)); // primary key 5 -> 50: delete, then insert
    recs.push((key(50), row(&v1, 50, "n5", json!({}))));
    recs.push((key(1), row(&v2, 1, "n1", json!({"phone": "555-1"}))));
    recs.push((key(6), row(&v2, 6, "six", json!({"phone": "555-6"}))));
    recs.push((key(6), None)); // deleted and inserted again in one batch
    recs.push((key(6), row(&v2, 6, "six again", json!({"phone": null}))));
    recs.push((key(2), row(&v2, 2, "two-a", json!({}))));
    recs.push((key(2), row(&v2, 2, "two-b", json!({"balance": null}))));
    produce(&e, topic, &recs);
    let conn = connector(
        &e,
        "customers-copy",
        topic,
        &[
            ("table.name.format", "customers_copy"),
            ("pk.mode", "record_key"),
            ("insert.mode", "upsert"),
            ("delete.enabled", "true"),
            ("auto.create", "true"),
            ("auto.evolve", "true"),
        ],
    );
    run_ok(&e, &conn);
    assert_eq!(
        rows(
            &e.pg,
            "SELECT id, first_name, email, balance, born, updated_at, phone FROM customers_copy ORDER BY id"
        ),
        vec![
            "1|n1|n1@x.org|12.34|1997-05-20|2020-09-13 12:26:40.000001|555-1",
            "2|two-b|two-b@x.org||1997-05-21|2020-09-13 12:26:40.000002|",
            "3|n3|new3@x.org|12.34|1997-05-22|2020-09-13 12:26:40.000003|",
            "6|six again|six again@x.org|12.34|1997-05-25|2020-09-13 12:26:40.000006|",
            "50|n5|n5@x.org|12.34|1997-07-08|2020-09-13 12:26:40.00005|",
        ]
    );
    // The created table: Debezium's temporal types as real columns, the key as primary key.
    assert_eq!(
        rows(
            &e.pg,
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns \
             WHERE table_name = 'customers_copy' ORDER BY ordinal_position"
        ),
        vec![
            "id|integer|NO",
            "first_name|text|YES",
            "email|text|YES",
            "balance|numeric|YES",
            "born|date|YES",
            "updated_at|timestamp without time zone|YES",
            "phone|text|YES",
        ]
    );
    assert_eq!(
        e.pg.psql(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid \
             AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'customers_copy'::regclass AND i.indisprimary"
        ),
        "id"
    );
    // More changes later: a second run picks up from the committed offsets.
    produce(
        &e,
        topic,
        &[(key(3), None), (key(7), row(&v2, 7, "seven", json!({})))],
    );
    run_ok(&e, &conn);
    assert_eq!(
        rows(&e.pg, "SELECT id FROM customers_copy ORDER BY id"),
        vec!["1", "2", "6", "7", "50"]
    );
}

#[test]
fn insert_with_kafka_coordinates_and_table_name_format() {
    let e = env();
    produce(
        &e,
        "events",
        &[
            (None, simple(1, "a", 10)),
            (None, simple(1, "a", 10)),
            (None, simple(2, "b", 20)),
        ],
    );
    let conn = connector(
        &e,
        "kafka-pk",
        "events",
        &[
            ("pk.mode", "kafka"),
            ("auto.create", "true"),
            ("table.name.format", "archive_${topic}"),
        ],
    );
    run_ok(&e, &conn);
    assert_eq!(
        rows(
            &e.pg,
            "SELECT __connect_topic, __connect_partition, __connect_offset, id, name, score \
             FROM archive_events ORDER BY __connect_offset"
        ),
        vec![
            "events|0|0|1|a|10",
            "events|0|1|1|a|10",
            "events|0|2|2|b|20"
        ]
    );
    // A second run has nothing new: the offsets were committed after the rows.
    run_ok(&e, &conn);
    assert_eq!(e.pg.psql("SELECT count(*) FROM archive_events"), "3");
}

#[test]
fn plain_insert_without_key_and_fields_whitelist() {
    let e = env();
    e.pg.psql("CREATE SCHEMA app");
    produce(
        &e,
        "people",
        &[(None, simple(1, "a", 10)), (None, simple(2, "b", 20))],
    );
    let conn = connector(
        &e,
        "whitelist",
        "people",
        &[
            ("auto.create", "true"),
            ("fields.whitelist", "id,name"),
            ("table.name.format", "app.${topic}_copy"),
        ],
    );
    run_ok(&e, &conn);
    assert_eq!(
        rows(&e.pg, "SELECT * FROM app.people_copy ORDER BY id"),
        vec!["1|a", "2|b"]
    );
}

#[test]
fn update_mode_changes_only_existing_rows_by_value_key() {
    let e = env();
    e.pg.psql(
        "CREATE TABLE scores (id int PRIMARY KEY, name text NOT NULL, score bigint);\
         INSERT INTO scores VALUES (1, 'one', 0), (2, 'two', 0)",
    );
    produce(
        &e,
        "scores",
        &[
            (None, simple(1, "one", 11)),
            (None, simple(3, "three", 33)),
            (None, simple(2, "two", 5)),
            (None, simple(2, "two", 22)),
        ],
    );
    let conn = connector(
        &e,
        "updates",
        "scores",
        &[
            ("insert.mode", "update"),
            ("pk.mode", "record_value"),
            ("pk.fields", "id"),
        ],
    );
    run_ok(&e, &conn);
    assert_eq!(
        rows(&e.pg, "SELECT * FROM scores ORDER BY id"),
        vec!["1|one|11", "2|two|22"]
    );
}

#[test]
fn upsert_with_primitive_key_and_existing_table() {
    let e = env();
    e.pg.psql("CREATE TABLE \"Mixed\" (k bigint PRIMARY KEY, id int, name text, score bigint, note text DEFAULT 'kept')");
    let k = |n: i64| {
        Some(json!({"schema": {"type": "int64", "optional": false}, "payload": n}).to_string())
    };
    produce(
        &e,
        "mixed",
        &[
            (k(10), simple(1, "a", 1)),
            (k(20), simple(2, "b", 2)),
            (k(10), simple(1, "a2", 3)),
        ],
    );
    let conn = connector(
        &e,
        "prim-key",
        "mixed",
        &[
            ("insert.mode", "upsert"),
            ("pk.mode", "record_key"),
            ("pk.fields", "k"),
            ("table.name.format", "Mixed"),
        ],
    );
    run_ok(&e, &conn);
    assert_eq!(
        rows(&e.pg, "SELECT * FROM \"Mixed\" ORDER BY k"),
        vec!["10|1|a2|3|kept", "20|2|b|2|kept"]
    );
}

/// Upsert buffers try a plain COPY first and fall back to staging on a key that exists:
/// buffers of 4 over a table holding some of the keys take both paths, and the skip after a
/// miss, inside one transaction.
#[test]
fn upsert_buffers_mixing_new_and_existing_keys() {
    let e = env();
    e.pg.psql(
        "CREATE TABLE mix (id int PRIMARY KEY, name text, score bigint UNIQUE);
         INSERT INTO mix SELECT g, 'old', -g FROM generate_series(1, 40, 3) g",
    );
    let records: Vec<Rec> = (1..=40)
        .map(|i| (None, simple(i, &format!("new{i}"), i as i64)))
        .collect();
    produce(&e, "mix", &records);
    let conn = connector(
        &e,
        "mix",
        "mix",
        &[
            ("insert.mode", "upsert"),
            ("pk.mode", "record_value"),
            ("pk.fields", "id"),
            ("batch.size", "4"),
        ],
    );
    run_ok(&e, &conn);
    let want: Vec<String> = (1..=40).map(|i| format!("{i}|new{i}|{i}")).collect();
    assert_eq!(rows(&e.pg, "SELECT * FROM mix ORDER BY id"), want);

    // A violation of another unique constraint is not a key that exists: it fails on the
    // staged path too, naming the table.
    produce(&e, "mix", &[(None, simple(41, "dup", 7))]);
    let out = run_once(&e, &conn);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("mix") && err.contains("mix_score_key"),
        "{err}"
    );
    assert_eq!(rows(&e.pg, "SELECT count(*) FROM mix"), vec!["40"]);
}

/// quote.sql.identifiers=never: names are left for PostgreSQL to fold to lower case, and the
/// sink finds the table and columns it created that way.
#[test]
fn unquoted_identifiers_fold_to_lower_case() {
    let e = env();
    let schema = struct_schema(
        "u",
        &[
            field("Id", "int32", false),
            field("DisplayName", "string", true),
        ],
    );
    produce(
        &e,
        "unq",
        &[
            (
                None,
                Some(envelope(&schema, json!({"Id": 1, "DisplayName": "a"}))),
            ),
            (
                None,
                Some(envelope(&schema, json!({"Id": 1, "DisplayName": "b"}))),
            ),
        ],
    );
    let conn = connector(
        &e,
        "unq",
        "unq",
        &[
            ("auto.create", "true"),
            ("quote.sql.identifiers", "never"),
            ("table.name.format", "Copy_${topic}"),
            ("pk.mode", "record_value"),
            ("pk.fields", "Id"),
            ("insert.mode", "upsert"),
        ],
    );
    run_ok(&e, &conn);
    assert_eq!(e.pg.psql("SELECT id, displayname FROM copy_unq"), "1|b");
}
