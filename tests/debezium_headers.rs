//! Debezium 3's record headers: the four `__debezium.context.*` headers on every change event
//! and tombstone, and `__debezium.newkey` / `__debezium.oldkey` on a primary-key change,
//! equal the real Debezium 3.6.3's (tests/fixtures/debezium-headers: the SQL, and the headers
//! the real connector wrote for it inside Kafka Connect 4.3.0, run ids replaced by `<runId>`).

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use support::{kafka, Postgres};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/debezium-headers")
}

/// Each statement of a fixture file in a transaction of its own, as the reference ran them.
fn run_sql(pg: &Postgres, file: &str) {
    let text = std::fs::read_to_string(fixtures().join(file)).unwrap();
    for statement in text.lines().filter(|l| !l.trim().is_empty()) {
        pg.psql(statement);
    }
}

fn run_once(dir: &Path, pg: &Postgres, bootstrap: &str, extra: &[(&str, &str)]) {
    let mut cfg = serde_json::json!({
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "database.hostname": "127.0.0.1",
        "database.port": pg.port().to_string(),
        "database.user": "postgres",
        "database.password": "postgres",
        "database.dbname": "postgres",
        "topic.prefix": "dbserver1",
        "plugin.name": "pgoutput",
        "table.include.list": "public.t,public.e",
        "slot.name": "headers_slot",
        "publication.name": "headers_pub",
        "topic.creation.default.partitions": "1",
        "topic.creation.default.replication.factor": "1",
    });
    for (k, v) in extra {
        cfg[*k] = Json::String(v.to_string());
    }
    let body = serde_json::json!({"name": "pg-headers", "config": cfg});
    support::write(dir, "connectors.d/pg.json", &body.to_string());
    let out = support::kconnect(dir)
        .args(["run", "--once", "-b", bootstrap, "--offsets"])
        .arg(dir.join("offsets"))
        .arg(dir.join("connectors.d"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", support::output_text(&out));
}

/// (key payload, op or "tombstone", headers) of every record, run ids replaced.
fn records(bootstrap: &str) -> Vec<Json> {
    kafka::consume_all(bootstrap, "dbserver1.public.t")
        .into_iter()
        .map(|m| {
            let key: Json = serde_json::from_slice(m.key.as_deref().unwrap()).unwrap();
            let op = match &m.value {
                None => Json::String("tombstone".into()),
                Some(v) => serde_json::from_slice::<Json>(v).unwrap()["payload"]["op"].clone(),
            };
            let headers: Vec<Json> = m
                .headers
                .iter()
                .map(|(k, v)| {
                    let v = String::from_utf8(v.clone().unwrap_or_default()).unwrap();
                    let v = if k == "__debezium.context.runId" {
                        assert!(
                            v.len() == 36 && v.as_bytes()[14] == b'7',
                            "run id {v} is not a version 7 UUID"
                        );
                        "<runId>".into()
                    } else {
                        v
                    };
                    serde_json::json!([k, v])
                })
                .collect();
            serde_json::json!({"key": key["payload"], "op": op, "headers": headers})
        })
        .collect()
}

fn run_id(bootstrap: &str, index: usize) -> String {
    let m = &kafka::consume_all(bootstrap, "dbserver1.public.t")[index];
    let (_, v) = m
        .headers
        .iter()
        .find(|(k, _)| k == "__debezium.context.runId")
        .expect("runId header");
    String::from_utf8(v.clone().unwrap()).unwrap()
}

#[test]
fn headers_equal_debeziums() {
    let pg = Postgres::start();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    run_sql(&pg, "setup.sql");
    kafka::create_topic(&k.bootstrap(), "dbserver1.public.t", 1);
    run_once(dir.path(), &pg, &k.bootstrap(), &[]);
    run_sql(&pg, "stream.sql");
    run_once(dir.path(), &pg, &k.bootstrap(), &[]);
    let want: Vec<Json> = std::fs::read_to_string(fixtures().join("expected.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got = records(&k.bootstrap());
    assert_eq!(got.len(), want.len(), "records: {got:#?}");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "record {i}");
    }
    // A new run id each start: the snapshot's and the stream's runs differ.
    assert_ne!(run_id(&k.bootstrap(), 0), run_id(&k.bootstrap(), 2));

    // extended.headers.enabled=false leaves only the key-change headers.
    pg.psql("INSERT INTO public.t VALUES (10, 'ten')");
    run_once(
        dir.path(),
        &pg,
        &k.bootstrap(),
        &[("extended.headers.enabled", "false")],
    );
    let all = kafka::consume_all(&k.bootstrap(), "dbserver1.public.t");
    assert!(
        all.last().unwrap().headers.is_empty(),
        "headers with extended.headers.enabled=false"
    );
}
