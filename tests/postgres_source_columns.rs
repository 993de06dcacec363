//! PostgresConnector's column transformations and name adjustments (column.mask.with.N.chars,
//! column.truncate.to.N.chars, column.mask.hash[.v2].ALGORITHM.with.salt.SALT,
//! schema.name.adjustment.mode, field.name.adjustment.mode): the events
//! equal the real Debezium's (tests/fixtures/postgres-columns, made by
//! `scripts/gen-postgres-fixtures tests/fixtures/postgres-columns`), no masked, hashed or cut
//! value reaches a topic or the log, and what kconnect cannot do as Debezium does is refused.

mod support;

use std::path::PathBuf;

use support::pg_source::{connector_file, once_command, replay_fixture};
use support::{kafka, Postgres};

fn fixture(name: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Values the workload writes into masked, hashed or truncated columns (long or distinctive
/// enough not to turn up inside a hash by chance).
const ORIGINALS: &[&str] = &[
    "sally.thomas@acme.com",
    "zoe@example.org",
    "gbailey@foobar.com",
    "sally@new.example",
    "S1234",
    "G777",
    "secret note",
    "ünïcödé",
    "streamed note",
    "new secret",
    "tagval1",
    "sally2",
    "md5 me",
    "sha1 me",
    "Sally Thomas",
    "Sally T. Thomas",
    "George Bailey",
    "likes cats",
    "george bio",
    "text value",
    "streamed text",
];

/// Snapshot and streamed events of the column transformation workload equal Debezium 3.6.3's,
/// and none of the original values of the transformed columns reaches a topic (keys, values,
/// headers) or kconnect's output.
#[test]
fn column_transformations_equal_debeziums() {
    let replayed = replay_fixture(&fixture("postgres-columns"));
    let (records, log) = (replayed.records, replayed.log);
    for (topic, m) in &records {
        let mut bytes: Vec<&[u8]> = Vec::new();
        bytes.extend(m.key.as_deref());
        bytes.extend(m.value.as_deref());
        bytes.extend(m.headers.iter().filter_map(|(_, v)| v.as_deref()));
        for b in bytes {
            let text = String::from_utf8_lossy(b);
            for original in ORIGINALS {
                assert!(
                    !text.contains(original),
                    "{original:?} reached {topic}: {text}"
                );
            }
        }
    }
    for original in ORIGINALS {
        assert!(!log.contains(original), "{original:?} in the output: {log}");
    }
}

/// column.propagate.source.type and datatype.propagate.source.type: the
/// __debezium.source.column.* parameters equal Debezium 3.6.3's for columns of every type, in
/// snapshot and streamed events (tests/fixtures/postgres-propagate).
#[test]
fn source_type_parameters_equal_debeziums() {
    replay_fixture(&fixture("postgres-propagate"));
}

/// Starts the connector once on `sql`'s table with `extra` settings and returns the failure
/// kconnect reports (the run must fail and write nothing).
fn refusal(sql: &str, extra: &[(&str, &str)]) -> String {
    let pg = Postgres::start();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    pg.psql(sql);
    let mut settings = vec![("table.include.list", "public.t")];
    settings.extend_from_slice(extra);
    connector_file(dir.path(), &pg, &settings);
    let out = once_command(dir.path(), &k.bootstrap())
        .env("KCONNECT_OFFSET_FLUSH_INTERVAL_MS", "500")
        .output()
        .unwrap();
    let text = support::output_text(&out);
    assert!(kafka::consume_all(&k.bootstrap(), "dbserver1.public.t").is_empty());
    assert!(!text.contains("topsecret"), "{text}");
    text
}

/// Debezium writes the key without the column transformations, so a masked key column would
/// reach the topic in clear: kconnect refuses. A column named by two settings (Debezium picks
/// one by its configuration's key order) is refused too.
#[test]
fn unsafe_column_rules_are_refused() {
    let text = refusal(
        "CREATE TABLE t (email text PRIMARY KEY, n int); INSERT INTO t VALUES ('topsecret', 1)",
        &[("column.mask.with.3.chars", "public.t.email")],
    );
    assert!(text.contains("part of the message key"), "{text}");
    let text = refusal(
        "CREATE TABLE t (id int PRIMARY KEY, s text); INSERT INTO t VALUES (1, 'topsecret')",
        &[
            ("column.truncate.to.20.chars", "public.t.s"),
            ("column.mask.hash.SHA-256.with.salt.x", "public.t.s"),
        ],
    );
    assert!(text.contains("named by both"), "{text}");
}

/// binary.handling.mode=base64 and interval.handling.mode=string: bytea (values, arrays,
/// keys, a default, an unchanged TOASTed value) and intervals equal Debezium 3.6.3's
/// (tests/fixtures/postgres-modes-base64).
#[test]
fn base64_bytea_and_string_intervals_equal_debeziums() {
    replay_fixture(&fixture("postgres-modes-base64"));
}

/// binary.handling.mode=hex (tests/fixtures/postgres-modes-hex).
#[test]
fn hex_bytea_equals_debeziums() {
    replay_fixture(&fixture("postgres-modes-hex"));
}

/// binary.handling.mode=base64-url-safe (tests/fixtures/postgres-modes-base64url).
#[test]
fn url_safe_base64_bytea_equals_debeziums() {
    replay_fixture(&fixture("postgres-modes-base64url"));
}

/// time.precision.mode=connect: Connect's Date, Time and Timestamp, defaults and arrays
/// included (tests/fixtures/postgres-time-connect).
#[test]
fn connect_time_precision_equals_debeziums() {
    replay_fixture(&fixture("postgres-time-connect"));
}

/// time.precision.mode=adaptive_time_microseconds
/// (tests/fixtures/postgres-time-adaptive_time_microseconds).
#[test]
fn microsecond_times_equal_debeziums() {
    replay_fixture(&fixture("postgres-time-adaptive_time_microseconds"));
}

/// schema.name.adjustment.mode=avro and field.name.adjustment.mode=avro: table and column names
/// Avro refuses become Debezium's replacements in key, value and envelope schemas
/// (tests/fixtures/postgres-names-avro).
#[test]
fn avro_name_adjustment_equals_debeziums() {
    replay_fixture(&fixture("postgres-names-avro"));
}

/// The avro_unicode modes: `_uXXXX` escapes, underscores escaped too
/// (tests/fixtures/postgres-names-avro-unicode).
#[test]
fn avro_unicode_name_adjustment_equals_debeziums() {
    replay_fixture(&fixture("postgres-names-avro-unicode"));
}

/// Two columns whose names become one field name fail the table's schema, as in Debezium,
/// instead of writing a struct with two fields of one name.
#[test]
fn colliding_adjusted_field_names_are_refused() {
    let message = refusal(
        r#"CREATE TABLE t (id int PRIMARY KEY, "a-b" text, "a b" text); INSERT INTO t VALUES (1, 'x', 'y');"#,
        &[("field.name.adjustment.mode", "avro")],
    );
    assert!(
        message.contains("'a b'") && message.contains("'a-b'") && message.contains("a_b"),
        "{message}"
    );
}

/// snapshot.include.collection.list, snapshot.select.statement.overrides (filtered, reordered,
/// and over a temporary view that database.initial.statements creates on each connection),
/// snapshot.delay.ms and streaming.delay.ms: the events equal Debezium 3.6.3's
/// (tests/fixtures/postgres-snapshot-select).
#[test]
fn snapshot_selection_equals_debeziums() {
    let replayed = replay_fixture(&fixture("postgres-snapshot-select"));
    let log = replayed.log;
    assert!(
        log.contains("snapshot.delay.ms") && log.contains("streaming.delay.ms"),
        "both delays are waited and said: {log}"
    );
}

/// An override query that returns fewer columns than its table fails the snapshot before its
/// first row (Debezium fails at the first row: it reads the columns by position), and an
/// override without its table in the list, or a failing initial statement, is named.
#[test]
fn unusable_snapshot_settings_are_refused() {
    let text = refusal(
        "CREATE TABLE t (id int PRIMARY KEY, s text); INSERT INTO t VALUES (1, 'topsecret')",
        &[
            ("snapshot.select.statement.overrides", "public.t"),
            (
                "snapshot.select.statement.overrides.public.t",
                "SELECT id FROM public.t",
            ),
        ],
    );
    assert!(
        text.contains("snapshot.select.statement.overrides.public.t returns 1 column(s)"),
        "{text}"
    );
    let text = refusal(
        "CREATE TABLE t (id int PRIMARY KEY, s text)",
        &[(
            "snapshot.select.statement.overrides.public.t",
            "SELECT * FROM public.t",
        )],
    );
    assert!(
        text.contains("is not named in snapshot.select.statement.overrides"),
        "{text}"
    );
    let text = refusal(
        "CREATE TABLE t (id int PRIMARY KEY, s text)",
        &[("database.initial.statements", "SET no_such_setting = 1")],
    );
    assert!(
        text.contains("database.initial.statements (SET no_such_setting = 1)"),
        "{text}"
    );
}

/// provide.transaction.metadata: BEGIN and END events (ids `<txId>:<LSN>`, END's counts per
/// table in Debezium's order), the transaction block of every change, none on snapshot rows or
/// tombstones, and BEGIN/END for a transaction that changed no captured table
/// (tests/fixtures/postgres-txn).
#[test]
fn transaction_metadata_equals_debeziums() {
    let dir = fixture("postgres-txn");
    let replayed = replay_fixture(&dir);
    let records = replayed.records;
    // The ids differ between runs; how they relate (an event's id carries its own LSN, a
    // BEGIN the first event's, the next BEGIN the previous END's) must not. Both sides are
    // walked topic by topic, in topic order.
    let text = std::fs::read_to_string(dir.join("expected.jsonl")).unwrap();
    let mut want: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for line in text.lines() {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(id) = support::pg_source::transaction_id(&e["value"]) {
            want.entry(e["topic"].as_str().unwrap().to_string())
                .or_default()
                .push(id);
        }
    }
    let mut got: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (topic, m) in &records {
        let Some(v) = &m.value else { continue };
        let v: serde_json::Value = serde_json::from_slice(v).unwrap();
        if let Some(id) = support::pg_source::transaction_id(&v) {
            got.entry(topic.clone()).or_default().push(id);
        }
    }
    let flat = |m: &std::collections::BTreeMap<String, Vec<String>>| {
        support::pg_source::transaction_ids(&m.values().flatten().cloned().collect::<Vec<_>>())
    };
    assert_eq!(flat(&got), flat(&want), "got {got:?}, want {want:?}");
    assert_eq!(got.values().map(Vec::len).sum::<usize>(), 18);
}

/// hstore.handling.mode=json: hstore columns as io.debezium.data.Json text with the pairs in
/// Debezium's order (tests/fixtures/postgres-hstore-json).
#[test]
fn hstore_as_json_equals_debeziums() {
    replay_fixture(&fixture("postgres-hstore-json"));
}

/// hstore.handling.mode=map (tests/fixtures/postgres-hstore-map).
#[test]
fn hstore_as_map_equals_debeziums() {
    replay_fixture(&fixture("postgres-hstore-map"));
}

/// snapshot.tables.order.by.row.count=descending with one snapshot thread changes nothing in
/// Debezium 3.6.3 (no row counts outside chunked snapshots): the tables keep their name order,
/// as the snapshot markers of the golden show, and kconnect's are the same.
#[test]
fn order_by_row_count_keeps_debeziums_order() {
    replay_fixture(&fixture("postgres-order-by-row-count"));
}
