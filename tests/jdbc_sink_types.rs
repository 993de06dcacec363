//! The JDBC sink's column types: Connect's and Debezium's types as Confluent's PostgreSQL
//! dialect (and better) maps them, and timestamps in `db.timezone`.

mod support;

use serde_json::json;

use support::jdbc_sink::{
    connector, decimal, env, envelope, field, named, produce, rows, run_ok, struct_schema,
};

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
