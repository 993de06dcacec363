//! Helpers of the PostgresConnector tests (tests/postgres_source*.rs): connector files,
//! `--once` runs, the golden events and reading back what reached Kafka.
//!
//! The brokers: noida-db's, because Tansu 0.6 as run by the harness hands back only the first
//! record of each produced batch to consume_all (seen with five records in one batch).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;

use super::{kafka, PgOptions, Postgres};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/postgres")
}

/// Runs an SQL file statement by statement (psql -f), as the fixture generator does.
pub fn psql_file(pg: &Postgres, file: &Path) {
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &pg.port().to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
        ])
        .args(["-qX", "-v", "ON_ERROR_STOP=1", "-f"])
        .arg(file)
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "psql -f {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One psql -c from a writer thread.
pub fn psql_c(port: u16, sql: &str) {
    let st = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
            "-qAtX",
            "-c",
            sql,
        ])
        .status()
        .unwrap();
    assert!(st.success(), "psql -c {sql}");
}

/// Small messages in modest batches: noida-db cannot serve very large batches back.
pub const SMALL_MESSAGES: [(&str, &str); 3] = [
    (
        "value.converter",
        "org.apache.kafka.connect.json.JsonConverter",
    ),
    ("value.converter.schemas.enable", "false"),
    ("producer.override.batch.size", "65536"),
];

pub fn with_small_messages<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    extra.iter().copied().chain(SMALL_MESSAGES).collect()
}

pub fn connector_file(dir: &Path, pg: &Postgres, extra: &[(&str, &str)]) {
    let mut cfg = serde_json::Map::new();
    for (k, v) in [
        (
            "connector.class",
            "io.debezium.connector.postgresql.PostgresConnector",
        ),
        ("tasks.max", "1"),
        ("database.hostname", "127.0.0.1"),
        ("database.user", "postgres"),
        ("database.password", "postgres"),
        ("database.dbname", "postgres"),
        ("topic.prefix", "dbserver1"),
        ("plugin.name", "pgoutput"),
        ("slot.name", "kconnect_slot"),
        ("publication.name", "kconnect_pub"),
        ("topic.creation.default.partitions", "1"),
        ("topic.creation.default.replication.factor", "1"),
    ] {
        cfg.insert(k.into(), Json::String(v.into()));
    }
    cfg.insert("database.port".into(), Json::String(pg.port().to_string()));
    for (k, v) in extra {
        cfg.insert(k.to_string(), Json::String(v.to_string()));
    }
    let body = serde_json::json!({"name": "pg-source", "config": cfg});
    super::write(dir, "connectors.d/pg.json", &body.to_string());
}

/// A fixture directory's connector.properties: the settings scripts/gen-postgres-fixtures adds
/// to Debezium's, in file order.
pub fn fixture_settings(dir: &Path) -> Vec<(String, String)> {
    let Ok(text) = std::fs::read_to_string(dir.join("connector.properties")) else {
        return Vec::new();
    };
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').expect("key=value");
            (k.trim().to_string(), v.trim().replace("\\\\", "\\"))
        })
        .collect()
}

/// `kconnect run --once` over `dir`'s connectors and offsets.
pub fn once_command(dir: &Path, bootstrap: &str) -> Command {
    super::kconnect::once(
        dir,
        bootstrap,
        dir.join("offsets"),
        [dir.join("connectors.d")],
    )
}

pub fn run_once(dir: &Path, bootstrap: &str) {
    let out = once_command(dir, bootstrap)
        .env("KCONNECT_OFFSET_FLUSH_INTERVAL_MS", "500")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", super::output_text(&out));
    if std::env::var("PG_TEST_DEBUG").is_ok() {
        eprintln!("{}", super::output_text(&out));
    }
}

/// Removes what differs between two runs of the same workload: processing and commit times,
/// WAL positions, transaction ids and the connector's version string. Transaction metadata
/// ids (`<txId>:<LSN>`) become `<id>`; `transaction_ids` compares how they relate.
pub fn normalize(mut v: Json) -> Json {
    let txn_key = v["schema"]["name"] == "io.debezium.connector.common.TransactionMetadataKey";
    let txn_value = v["schema"]["name"] == "io.debezium.connector.common.TransactionMetadataValue";
    if let Some(payload) = v.get_mut("payload").and_then(Json::as_object_mut) {
        if txn_key || txn_value {
            payload.insert("id".into(), Json::String("<id>".into()));
        }
        if txn_value {
            message_collections(payload);
        }
        if let Some(t) = payload.get_mut("transaction").and_then(Json::as_object_mut) {
            t.insert("id".into(), Json::String("<id>".into()));
        }
        for k in ["ts_ms", "ts_us", "ts_ns"] {
            payload.remove(k);
        }
        if let Some(src) = payload.get_mut("source").and_then(Json::as_object_mut) {
            for k in [
                "ts_ms", "ts_us", "ts_ns", "lsn", "txId", "sequence", "xmin", "version",
            ] {
                src.remove(k);
            }
        }
    }
    v
}

/// Debezium names each logical decoding message a data collection of its own in an END
/// event, after a Java identity hash that differs from run to run: the hash becomes `<hash>`,
/// and as the entries' order follows the names' hashes, such a list is sorted.
fn message_collections(payload: &mut serde_json::Map<String, Json>) {
    const MESSAGE_ID: &str =
        "io.debezium.connector.postgresql.LogicalDecodingMessageMonitor$LogicalDecodingMessageId@";
    let Some(items) = payload
        .get_mut("data_collections")
        .and_then(Json::as_array_mut)
    else {
        return;
    };
    let mut any = false;
    for item in items.iter_mut() {
        if let Some(name) = item["data_collection"].as_str() {
            if name.starts_with(MESSAGE_ID) {
                item["data_collection"] = Json::String(format!("{MESSAGE_ID}<hash>"));
                any = true;
            }
        }
    }
    if any {
        items.sort_by_key(|i| i.to_string());
    }
}

pub type Event = (Option<Json>, Option<Json>);

/// One line per event (key, op, snapshot marker): a first comparison whose failure shows at a
/// glance which event is missing or out of place.
pub fn brief(es: &[Event]) -> Vec<String> {
    es.iter()
        .map(|(k, v)| {
            let p = v.as_ref().map(|v| &v["payload"]);
            format!(
                "{} {} {}",
                k.as_ref()
                    .map(|k| k["payload"].to_string())
                    .unwrap_or_default(),
                p.map(|p| p["op"].to_string())
                    .unwrap_or_else(|| "tombstone".into()),
                p.map(|p| p["source"]["snapshot"].to_string())
                    .unwrap_or_default()
            )
        })
        .collect()
}

/// The transaction metadata ids (`<txId>:<LSN>`) of a fixture's events or a topic's records,
/// in order, with each distinct txId and LSN replaced by the order of its first appearance:
/// equal between two runs exactly when the ids relate the same way (which events share a
/// position, which BEGIN follows which END).
pub fn transaction_ids(ids: &[String]) -> Vec<String> {
    let mut xids: Vec<String> = Vec::new();
    let mut lsns: Vec<u64> = Vec::new();
    let mut out = Vec::new();
    for id in ids {
        let (x, l) = id.split_once(':').expect("<txId>:<LSN>");
        let l: u64 = l.parse().expect("a numeric LSN");
        if !xids.iter().any(|y| y == x) {
            xids.push(x.to_string());
        }
        if !lsns.contains(&l) {
            lsns.push(l);
        }
        let xi = xids.iter().position(|y| y == x).unwrap();
        let li = lsns.iter().position(|m| *m == l).unwrap();
        out.push(format!("{xi}:{li}"));
    }
    out
}

/// The transaction metadata id of a raw (not normalized) key or value: a transaction event's
/// `id` or a change event's `transaction.id`.
pub fn transaction_id(v: &Json) -> Option<String> {
    let p = &v["payload"];
    p["transaction"]["id"]
        .as_str()
        .or_else(|| p["status"].is_string().then(|| p["id"].as_str()).flatten())
        .map(str::to_string)
}

pub fn expected_by_topic() -> BTreeMap<String, Vec<Event>> {
    expected_in(&fixtures())
}

/// The golden events of a fixture directory (its expected.jsonl), by topic.
pub fn expected_in(dir: &Path) -> BTreeMap<String, Vec<Event>> {
    let text = std::fs::read_to_string(dir.join("expected.jsonl")).unwrap();
    let mut out: BTreeMap<String, Vec<Event>> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let e: Json = serde_json::from_str(line).unwrap();
        let topic = e["topic"].as_str().unwrap().to_string();
        let key = (!e["key"].is_null()).then(|| normalize(e["key"].clone()));
        let value = (!e["value"].is_null()).then(|| normalize(e["value"].clone()));
        out.entry(topic).or_default().push((key, value));
    }
    out
}

pub fn actual(bootstrap: &str, topic: &str) -> Vec<Event> {
    kafka::consume_all(bootstrap, topic)
        .into_iter()
        .map(|m| {
            let parse = |b: Option<Vec<u8>>| {
                b.map(|b| normalize(serde_json::from_slice(&b).expect("JSON message")))
            };
            (parse(m.key), parse(m.value))
        })
        .collect()
}

/// The final state of each row per key (the text column `column` of `after`), from a topic's
/// events (tombstones delete), and the number of events.
pub fn final_rows(bootstrap: &str, topic: &str, column: &str) -> (HashMap<i64, String>, usize) {
    let mut rows = HashMap::new();
    let msgs = kafka::consume_all(bootstrap, topic);
    let n = msgs.len();
    for m in msgs {
        let key: Json = serde_json::from_slice(m.key.as_ref().unwrap()).unwrap();
        let id = key.get("payload").unwrap_or(&key)["id"].as_i64().unwrap();
        match m.value {
            None => {
                rows.remove(&id);
            }
            Some(v) => {
                let v: Json = serde_json::from_slice(&v).unwrap();
                let after = &v.get("payload").unwrap_or(&v)["after"];
                if after.is_null() {
                    rows.remove(&id);
                } else {
                    rows.insert(id, after[column].as_str().unwrap().to_string());
                }
            }
        }
    }
    (rows, n)
}

pub fn table_rows(pg: &Postgres) -> HashMap<i64, String> {
    pg.psql("SELECT id || '|' || val FROM load ORDER BY id")
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (id, val) = l.split_once('|').unwrap();
            (id.parse().unwrap(), val.to_string())
        })
        .collect()
}

pub fn spawn_run(dir: &Path, bootstrap: &str, log: &Path) -> std::process::Child {
    super::kconnect(dir)
        .args(["run", "-b", bootstrap, "--offsets"])
        .arg(dir.join("offsets"))
        .arg(dir.join("connectors.d"))
        .env("KCONNECT_OFFSET_FLUSH_INTERVAL_MS", "200")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// kconnect run --once, for runs expected to fail.
pub fn run_once_output(dir: &Path, bootstrap: &str) -> std::process::Output {
    once_command(dir, bootstrap).output().unwrap()
}

/// Exit status of a run whose connector failed.
pub const CONNECTOR_FAILED: i32 = 3;

/// A `--once` run that must end with the connector failed; its output, to check the message.
pub fn failed_run(dir: &Path, bootstrap: &str) -> String {
    let out = run_once_output(dir, bootstrap);
    let text = super::output_text(&out);
    assert_eq!(out.status.code(), Some(CONNECTOR_FAILED), "{text}");
    text
}

pub fn tls_postgres() -> Postgres {
    Postgres::start_with(PgOptions {
        tls: true,
        ..PgOptions::default()
    })
}

/// A Debezium PostgreSQL connector file `<name>.json` for `public.customers` (topic prefix
/// dbserver1, pgoutput, slot `slot`), with `extra` settings added.
pub fn cdc_connector(
    dir: &Path,
    pg: &Postgres,
    name: &str,
    slot: &str,
    extra: &[(&str, &str)],
) -> PathBuf {
    let mut config = serde_json::json!({
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector", "tasks.max": "1",
        "database.hostname": "127.0.0.1", "database.port": pg.port().to_string(), "database.user": "postgres",
        "database.password": "postgres", "database.dbname": "postgres",
        "table.include.list": "public.customers", "topic.prefix": "dbserver1", "plugin.name": "pgoutput",
        "slot.name": slot, "publication.name": format!("{slot}_pub"),
        "topic.creation.default.partitions": "1", "topic.creation.default.replication.factor": "1"});
    for (k, v) in extra {
        config[*k] = Json::String(v.to_string());
    }
    super::write(
        dir,
        &format!("{name}.json"),
        &serde_json::json!({"name": name, "config": config}).to_string(),
    )
}

/// `SELECT columns FROM customers ORDER BY id` in database `db`, as psql's unaligned text.
pub fn customers_table(pg: &Postgres, db: &str, columns: &str) -> String {
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &pg.port().to_string(),
            "-U",
            "postgres",
            "-d",
            db,
        ])
        .args(["-qAtX", "-v", "ON_ERROR_STOP=1", "-c"])
        .arg(format!("SELECT {columns} FROM customers ORDER BY id"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Replays a fixture directory's setup.sql (snapshot) and stream.sql (streamed; a fixture of a
/// connector that never streams has none) through
/// kconnect with its connector.properties (after `schema.include.list=public`, as
/// scripts/gen-postgres-fixtures sets), compares every topic with its expected.jsonl, and
/// returns the database, broker, connector directory, records and kconnect's output, for
/// checks beyond the golden events.
pub fn replay_fixture(fixture: &Path) -> Replayed {
    let pg = Postgres::start();
    let kafka = super::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    psql_file(&pg, &fixture.join("setup.sql"));
    let expected = expected_in(fixture);
    for topic in expected.keys() {
        kafka::create_topic(&kafka.bootstrap(), topic, 1);
    }
    let settings = fixture_settings(fixture);
    let mut extra: Vec<(&str, &str)> = vec![("schema.include.list", "public")];
    extra.extend(settings.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    connector_file(dir.path(), &pg, &extra);
    let mut log = checked_once(dir.path(), &kafka.bootstrap());
    if fixture.join("stream.sql").exists() {
        psql_file(&pg, &fixture.join("stream.sql"));
        log.push_str(&checked_once(dir.path(), &kafka.bootstrap()));
    }
    let mut records = Vec::new();
    for (topic, want) in &expected {
        compare_events(&actual(&kafka.bootstrap(), topic), want, topic);
        for m in kafka::consume_all(&kafka.bootstrap(), topic) {
            records.push((topic.clone(), m));
        }
    }
    Replayed {
        pg,
        kafka,
        dir,
        records,
        log,
    }
}

/// What `replay_fixture` leaves to look at and to go on with.
pub struct Replayed {
    pub pg: Postgres,
    pub kafka: kafka::Kafka,
    pub dir: tempfile::TempDir,
    pub records: Vec<(String, kafka::Msg)>,
    pub log: String,
}

/// `kconnect run --once` that must succeed; its output.
pub fn checked_once(dir: &Path, bootstrap: &str) -> String {
    let out = once_command(dir, bootstrap)
        .env("KCONNECT_OFFSET_FLUSH_INTERVAL_MS", "500")
        .output()
        .unwrap();
    let text = super::output_text(&out);
    assert!(out.status.success(), "{text}");
    text
}

/// The first place where two JSON documents differ, as a path and both sides.
pub fn first_difference(path: String, g: &Json, w: &Json) -> Option<String> {
    match (g, w) {
        (Json::Object(a), Json::Object(b)) => {
            for k in a.keys().chain(b.keys()) {
                let (x, y) = (
                    a.get(k).unwrap_or(&Json::Null),
                    b.get(k).unwrap_or(&Json::Null),
                );
                if let Some(d) = first_difference(format!("{path}.{k}"), x, y) {
                    return Some(d);
                }
            }
            None
        }
        (Json::Array(a), Json::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| first_difference(format!("{path}[{i}]"), x, y)),
        _ => (g != w).then(|| format!("{path}: got {g}, want {w}")),
    }
}

/// Events on `topic` equal the golden ones, one by one; a failure names the first difference.
pub fn compare_events(got: &[Event], want: &[Event], topic: &str) {
    assert_eq!(
        brief(got),
        brief(want),
        "events on {topic} (key, op, snapshot marker)"
    );
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let (g, w) = (serde_json::json!([g.0, g.1]), serde_json::json!([w.0, w.1]));
        if let Some(d) = first_difference(String::new(), &g, &w) {
            panic!("event {i} on {topic} differs at {d}");
        }
    }
}
