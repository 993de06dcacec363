//! The JDBC sink against a real PostgreSQL and a Kafka-protocol broker: records produced as
//! JSON with schemas, `kconnect run --once`, then the table is read back with psql.

mod support;

use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};
use support::{kafka, Kafka, PgOptions, Postgres};

struct Env {
    pg: Postgres,
    kafka: Kafka,
    dir: tempfile::TempDir,
}

fn env() -> Env {
    Env {
        pg: Postgres::start(),
        kafka: support::tansu(),
        dir: tempfile::tempdir().unwrap(),
    }
}

/// A Connect schema for JsonConverter: fields as (name, type, optional, schema name, params).
fn field(name: &str, ty: &str, optional: bool) -> Json {
    json!({"field": name, "type": ty, "optional": optional})
}

fn named(name: &str, ty: &str, optional: bool, logical: &str) -> Json {
    json!({"field": name, "type": ty, "optional": optional, "name": logical})
}

fn decimal(name: &str, scale: u32) -> Json {
    json!({"field": name, "type": "bytes", "optional": true,
           "name": "org.apache.kafka.connect.data.Decimal",
           "parameters": {"scale": scale.to_string()}})
}

fn struct_schema(name: &str, fields: &[Json]) -> Json {
    json!({"type": "struct", "optional": false, "name": name, "fields": fields})
}

fn envelope(schema: &Json, payload: Json) -> String {
    json!({"schema": schema, "payload": payload}).to_string()
}

type Rec = (Option<String>, Option<String>);

fn high_watermark(e: &Env, topic: &str) -> i64 {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let c: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", e.kafka.bootstrap())
        .create()
        .unwrap();
    match c.fetch_watermarks(topic, 0, Duration::from_secs(10)) {
        Ok((_, hi)) => hi,
        Err(err) => {
            eprintln!("watermark of {topic}: {err}");
            0
        }
    }
}

/// Produces one message per produce request and waits until the broker's high watermark
/// shows every record. Tansu sets a partition's high watermark to one past the first offset
/// of the last batch it took, so a multi-record batch at the end of a topic would stay
/// invisible to `--once`, which reads up to the watermark it sees at start.
fn produce(e: &Env, topic: &str, records: &[Rec]) {
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    kafka::create_topic(&e.kafka.bootstrap(), topic, 1);
    let before = high_watermark(e, topic);
    let p: BaseProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", e.kafka.bootstrap())
        .set("acks", "all")
        .set("linger.ms", "0")
        .set("batch.num.messages", "1")
        .create()
        .unwrap();
    for (k, v) in records {
        let mut rec: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic).partition(0);
        if let Some(k) = k {
            rec = rec.key(k.as_bytes());
        }
        if let Some(v) = v {
            rec = rec.payload(v.as_bytes());
        }
        loop {
            match p.send(rec) {
                Ok(()) => break,
                Err((_, back)) => {
                    p.poll(Duration::from_millis(10));
                    rec = back;
                }
            }
        }
    }
    p.flush(Duration::from_secs(60)).unwrap();
    let want = before + records.len() as i64;
    let seen = support::eventually(Duration::from_secs(30), || {
        let hw = high_watermark(e, topic);
        (hw >= want).then_some(hw)
    });
    assert!(
        seen.is_some(),
        "{topic}: the broker's high watermark stayed below {want}"
    );
}

fn connector(e: &Env, name: &str, topic: &str, extra: &[(&str, &str)]) -> Json {
    let mut c = json!({
        "name": name,
        "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector",
        "topics": topic,
        "connection.url": format!("jdbc:postgresql://127.0.0.1:{}/postgres?user=postgres", e.pg.port()),
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "retry.backoff.ms": "200",
    });
    for (k, v) in extra {
        c[*k] = json!(v);
    }
    c
}

fn run_once(e: &Env, conn: &Json) -> Output {
    let name = conn["name"].as_str().unwrap();
    let dir = e.dir.path();
    support::write(dir, &format!("connectors.d/{name}.json"), &conn.to_string());
    let out = support::kconnect(dir)
        .args(["run", "--once", "-b", &e.kafka.bootstrap(), "--offsets"])
        .arg(dir.join("offsets"))
        .arg(dir.join(format!("connectors.d/{name}.json")))
        .output()
        .unwrap();
    out
}

fn run_ok(e: &Env, conn: &Json) {
    let out = run_once(e, conn);
    assert!(out.status.success(), "{}", support::output_text(&out));
}

fn rows(pg: &Postgres, sql: &str) -> Vec<String> {
    let out = pg.psql(sql);
    out.lines().map(str::to_string).collect()
}

fn key_schema() -> Json {
    struct_schema(
        "dbserver1.public.customers.Key",
        &[field("id", "int32", false)],
    )
}

fn key(id: i32) -> Option<String> {
    Some(envelope(&key_schema(), json!({"id": id})))
}

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

fn simple_schema() -> Json {
    struct_schema(
        "simple",
        &[
            field("id", "int32", false),
            field("name", "string", true),
            field("score", "int64", true),
        ],
    )
}

fn simple(id: i32, name: &str, score: i64) -> Option<String> {
    Some(envelope(
        &simple_schema(),
        json!({"id": id, "name": name, "score": score}),
    ))
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

#[test]
fn connect_and_debezium_types_map_to_postgres_types() {
    let e = env();
    let schema = struct_schema(
        "types",
        &[
            field("id", "int32", false),
            field("i8", "int8", true),
            field("i16", "int16", true),
            field("i64", "int64", true),
            field("f32", "float", true),
            field("f64", "double", true),
            field("flag", "boolean", true),
            field("s", "string", true),
            field("b", "bytes", true),
            decimal("dec", 3),
            named("d", "int32", true, "org.apache.kafka.connect.data.Date"),
            named("t", "int32", true, "org.apache.kafka.connect.data.Time"),
            named(
                "ts",
                "int64",
                true,
                "org.apache.kafka.connect.data.Timestamp",
            ),
            named("zts", "string", true, "io.debezium.time.ZonedTimestamp"),
            named("mt", "int64", true, "io.debezium.time.MicroTime"),
            named("u", "string", true, "io.debezium.data.Uuid"),
            named("j", "string", true, "io.debezium.data.Json"),
            json!({"field": "tags", "type": "array", "optional": true,
                   "items": {"type": "string", "optional": true}}),
        ],
    );
    // dec = -1.500 -> unscaled -1500 = 0xfa24
    let payload = json!({
        "id": 1, "i8": -8, "i16": 1600, "i64": 9_000_000_000i64, "f32": 1.5, "f64": -2.25,
        "flag": true, "s": "tab\there \"quoted\" back\\slash", "b": "AAH/", "dec": "+iQ=",
        "d": 19000, "t": 45_296_789, "ts": 1_700_000_000_123i64,
        "zts": "2023-11-14T22:13:20.5Z", "mt": 1_000_001i64,
        "u": "4b1e8c2e-1111-4c1a-9f00-000000000001", "j": "{\"a\": [1, 2]}",
        "tags": ["x", null, "y,z"]
    });
    produce(&e, "types", &[(None, Some(envelope(&schema, payload)))]);
    let conn = connector(&e, "types", "types", &[("auto.create", "true")]);
    run_ok(&e, &conn);
    assert_eq!(
        rows(
            &e.pg,
            "SELECT column_name, format_type(atttypid, atttypmod) FROM information_schema.columns c \
             JOIN pg_attribute a ON a.attrelid = 'types'::regclass AND a.attname = c.column_name \
             WHERE table_name = 'types' ORDER BY ordinal_position"
        ),
        vec![
            "id|integer",
            "i8|smallint",
            "i16|smallint",
            "i64|bigint",
            "f32|real",
            "f64|double precision",
            "flag|boolean",
            "s|text",
            "b|bytea",
            "dec|numeric",
            "d|date",
            "t|time without time zone",
            "ts|timestamp without time zone",
            "zts|timestamp with time zone",
            "mt|time without time zone",
            "u|uuid",
            "j|jsonb",
            "tags|text[]",
        ]
    );
    e.pg.psql("SET TIME ZONE 'UTC'");
    assert_eq!(
        e.pg.psql(
            "SET TIME ZONE 'UTC'; SELECT id, i8, i16, i64, f32, f64, flag, s, encode(b, 'hex'), dec, d, t, ts, zts, mt, u, j->'a'->>1, tags FROM types"
        ),
        "1|-8|1600|9000000000|1.5|-2.25|t|tab\there \"quoted\" back\\slash|0001ff|-1.500|2022-01-08|12:34:56.789|2023-11-14 22:13:20.123|2023-11-14 22:13:20.5+00|00:00:01.000001|4b1e8c2e-1111-4c1a-9f00-000000000001|2|{x,NULL,\"y,z\"}"
    );
}

#[test]
fn timestamps_follow_db_timezone() {
    let e = env();
    let schema = struct_schema(
        "tz",
        &[
            field("id", "int32", false),
            named(
                "ts",
                "int64",
                true,
                "org.apache.kafka.connect.data.Timestamp",
            ),
        ],
    );
    produce(
        &e,
        "tz",
        &[(None, Some(envelope(&schema, json!({"id": 1, "ts": 0}))))],
    );
    let conn = connector(
        &e,
        "tz",
        "tz",
        &[("auto.create", "true"), ("db.timezone", "America/New_York")],
    );
    run_ok(&e, &conn);
    // Epoch 0 as wall-clock time in New York.
    assert_eq!(e.pg.psql("SELECT ts FROM tz"), "1969-12-31 19:00:00");
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn bad_records_name_table_column_and_coordinates() {
    let e = env();
    e.pg.psql("CREATE TABLE strict (id int PRIMARY KEY, name text NOT NULL, score int)");
    // A value that does not parse as the column's type (offset 1).
    let text_score = struct_schema(
        "s",
        &[
            field("id", "int32", false),
            field("name", "string", true),
            field("score", "string", true),
        ],
    );
    produce(
        &e,
        "strict",
        &[
            (None, simple(1, "a", 1)),
            (
                None,
                Some(envelope(
                    &text_score,
                    json!({"id": 2, "name": "b", "score": "lots"}),
                )),
            ),
        ],
    );
    let conn = connector(&e, "strict", "strict", &[]);
    let out = run_once(&e, &conn);
    assert!(!out.status.success(), "{}", support::output_text(&out));
    let err = stderr(&out);
    assert!(err.contains("strict-0@1"), "{err}");
    assert!(err.contains("\"strict\""), "{err}");
    assert!(err.contains("\"score\""), "{err}");
    assert!(err.contains("lots"), "{err}");
    // The batch is one transaction: the good record before it is not there either.
    assert_eq!(e.pg.psql("SELECT count(*) FROM strict"), "0");

    // A NOT NULL column the record leaves null.
    produce(
        &e,
        "strict2",
        &[
            (None, simple(1, "a", 1)),
            (
                None,
                Some(envelope(
                    &simple_schema(),
                    json!({"id": 3, "name": null, "score": 1}),
                )),
            ),
        ],
    );
    let conn = connector(&e, "strict2", "strict2", &[("table.name.format", "strict")]);
    let out = run_once(&e, &conn);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("strict2-0@1") && err.contains("\"name\""),
        "{err}"
    );
    assert!(err.contains("not-null"), "{err}");

    // A NOT NULL column the record has no field for.
    let no_name = struct_schema("n", &[field("id", "int32", false)]);
    produce(
        &e,
        "strict3",
        &[(None, Some(envelope(&no_name, json!({"id": 4}))))],
    );
    let conn = connector(&e, "strict3", "strict3", &[("table.name.format", "strict")]);
    let out = run_once(&e, &conn);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("strict3-0@0") && err.contains("\"name\"") && err.contains("NOT NULL"),
        "{err}"
    );

    // A missing table without auto.create, and a tombstone without delete.enabled.
    produce(&e, "nowhere", &[(None, simple(1, "a", 1))]);
    let out = run_once(&e, &connector(&e, "nowhere", "nowhere", &[]));
    assert!(stderr(&out).contains("auto.create"), "{}", stderr(&out));
    produce(&e, "tomb", &[(key(1), None)]);
    let out = run_once(
        &e,
        &connector(
            &e,
            "tomb",
            "tomb",
            &[("pk.mode", "record_key"), ("table.name.format", "strict")],
        ),
    );
    assert!(stderr(&out).contains("delete.enabled"), "{}", stderr(&out));
}

/// The target database goes away mid-load (immediate shutdown) and comes back: the failed
/// batches are retried whole and every record arrives exactly once per key.
#[test]
fn restart_of_target_database_loses_nothing() {
    let mut e = env();
    let n = 8_000;
    let recs: Vec<Rec> = (0..n)
        .map(|i| (key(i), simple(i, &format!("n{i}"), i as i64 * 2)))
        .collect();
    produce(&e, "load", &recs);
    let ids: Vec<i64> = (0..n as i64).collect();
    let conn = connector(
        &e,
        "load",
        "load",
        &[
            ("pk.mode", "record_key"),
            ("insert.mode", "upsert"),
            ("auto.create", "true"),
            ("table.name.format", "load_copy"),
            ("max.retries", "100"),
            ("retry.backoff.ms", "300"),
            ("connection.backoff.ms", "300"),
            ("consumer.override.max.poll.records", "25"),
        ],
    );
    let dir = e.dir.path().to_path_buf();
    support::write(&dir, "connectors.d/load.json", &conn.to_string());
    let child = support::kconnect(&dir)
        .args(["run", "--once", "-b", &e.kafka.bootstrap(), "--offsets"])
        .arg(dir.join("offsets"))
        .arg(dir.join("connectors.d/load.json"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = support::eventually(Duration::from_secs(60), || {
        let c: i64 =
            e.pg.psql_try("SELECT count(*) FROM load_copy")
                .ok()?
                .parse()
                .ok()?;
        (c > 0).then_some(c)
    });
    assert!(started.is_some(), "no rows arrived before the restart");
    e.pg.restart(Duration::from_millis(1500));
    let start = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", support::output_text(&out));
    assert!(start.elapsed() < Duration::from_secs(120));
    assert!(
        stderr(&out).contains("retrying"),
        "the restart was not noticed: {}",
        support::output_text(&out)
    );
    assert_eq!(
        e.pg.psql("SELECT count(*), sum(id), sum(score), count(DISTINCT name) FROM load_copy"),
        format!(
            "{}|{}|{}|{}",
            ids.len(),
            ids.iter().sum::<i64>(),
            ids.iter().map(|i| i * 2).sum::<i64>(),
            ids.len()
        )
    );
}

/// With errors.tolerance=all the records the table refuses are skipped and the rest of their
/// batch is written, as Confluent's sink does through Connect's errant record reporter.
#[test]
fn tolerated_bad_records_are_skipped() {
    let e = env();
    e.pg.psql("CREATE TABLE tolerant (id int PRIMARY KEY, name text NOT NULL, score int)");
    let text_score = struct_schema(
        "s",
        &[
            field("id", "int32", false),
            field("name", "string", true),
            field("score", "string", true),
        ],
    );
    produce(
        &e,
        "tolerant",
        &[
            (None, simple(1, "a", 1)),
            (
                None,
                Some(envelope(
                    &text_score,
                    json!({"id": 2, "name": "b", "score": "lots"}),
                )),
            ),
            (None, simple(3, "c", 3)),
            (
                None,
                Some(envelope(
                    &simple_schema(),
                    json!({"id": 4, "name": null, "score": 4}),
                )),
            ),
            (None, simple(5, "e", 5)),
        ],
    );
    let conn = connector(
        &e,
        "tolerant",
        "tolerant",
        &[
            ("errors.tolerance", "all"),
            ("errors.log.enable", "true"),
            ("errors.deadletterqueue.topic.name", "tolerant-dlq"),
            ("errors.deadletterqueue.topic.replication.factor", "1"),
            ("errors.deadletterqueue.context.headers.enable", "true"),
        ],
    );
    let out = run_once(&e, &conn);
    assert!(out.status.success(), "{}", support::output_text(&out));
    let err = stderr(&out);
    assert!(
        err.contains("record tolerant-0@1 failed in stage TASK_PUT")
            && err.contains("record tolerant-0@3 failed in stage TASK_PUT"),
        "{err}"
    );
    assert_eq!(
        rows(&e.pg, "SELECT id FROM tolerant ORDER BY id"),
        vec!["1", "3", "5"]
    );
    // The refused records reach the dead letter queue as they were consumed, like any sink error.
    let dlq = kafka::consume_all(&e.kafka.bootstrap(), "tolerant-dlq");
    let offsets: Vec<String> = dlq
        .iter()
        .filter_map(|m| m.header("__connect.errors.offset"))
        .collect();
    assert_eq!(offsets, vec!["1", "3"]);
    assert!(dlq
        .iter()
        .all(|m| m.header("__connect.errors.stage").as_deref() == Some("TASK_PUT")));
    assert!(dlq[0].value_str().unwrap().contains("\"lots\""));
}

/// A table dropped behind a running sink's back is created again for the next records
/// instead of failing on the cached metadata.
#[test]
fn table_dropped_while_running_is_recreated() {
    let e = env();
    produce(&e, "dropped", &[(None, simple(1, "a", 1))]);
    let conn = connector(
        &e,
        "dropped",
        "dropped",
        &[
            ("auto.create", "true"),
            ("pk.mode", "record_value"),
            ("pk.fields", "id"),
            ("insert.mode", "upsert"),
        ],
    );
    let dir = e.dir.path().to_path_buf();
    support::write(&dir, "connectors.d/dropped.json", &conn.to_string());
    let mut child = support::kconnect(&dir)
        .args(["run", "-b", &e.kafka.bootstrap(), "--offsets"])
        .arg(dir.join("offsets"))
        .arg(dir.join("connectors.d/dropped.json"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let count = |e: &Env| e.pg.psql_try("SELECT count(*) FROM dropped").ok();
    let first = support::eventually(Duration::from_secs(60), || {
        (count(&e).as_deref() == Some("1")).then_some(())
    });
    e.pg.psql("DROP TABLE dropped");
    produce(&e, "dropped", &[(None, simple(2, "b", 2))]);
    let second = support::eventually(Duration::from_secs(60), || {
        (count(&e).as_deref() == Some("1")).then_some(())
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(first.is_some(), "the first record never arrived");
    assert!(second.is_some(), "the table was not recreated");
    assert_eq!(e.pg.psql("SELECT id, name FROM dropped"), "2|b");
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

/// sslmode=verify-full with sslrootcert in connection.url writes to a server that accepts only
/// TLS connections, and the server certificate is checked.
#[test]
fn tls_verify_full_from_the_url_writes_rows() {
    let e = Env {
        pg: Postgres::start_with(PgOptions {
            tls: true,
            ..PgOptions::default()
        }),
        kafka: support::tansu(),
        dir: tempfile::tempdir().unwrap(),
    };
    let ca = e.pg.tls_ca.clone().unwrap();
    produce(&e, "secure", &[(None, simple(1, "over tls", 7))]);
    let conn = connector(
        &e,
        "tls-sink",
        "secure",
        &[
            (
                "connection.url",
                &format!(
                    "jdbc:postgresql://localhost:{}/postgres?user=postgres&sslmode=verify-full&sslrootcert={}",
                    e.pg.port(),
                    ca.display()
                ),
            ),
            ("auto.create", "true"),
        ],
    );
    run_ok(&e, &conn);
    assert_eq!(rows(&e.pg, "SELECT id, name FROM secure"), ["1|over tls"]);

    // Without TLS the server turns the sink away, and the message says what to set.
    produce(&e, "secure", &[(None, simple(2, "plain", 8))]);
    let conn = connector(
        &e,
        "tls-sink",
        "secure",
        &[(
            "connection.url",
            &format!(
                "jdbc:postgresql://127.0.0.1:{}/postgres?user=postgres&sslmode=disable",
                e.pg.port()
            ),
        )],
    );
    let out = run_once(&e, &conn);
    let text = support::output_text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("accepts only TLS connections"), "{text}");
    assert!(text.contains("connection.url"), "{text}");
}
