//! Helpers of the JDBC sink tests (tests/jdbc_sink*.rs): a PostgreSQL and a broker per test,
//! records produced as JSON with schemas, connector files, `--once` runs and reading tables back.

use std::process::Output;
use std::time::Duration;

use serde_json::{json, Value as Json};

use super::{kafka, Kafka, Postgres};

pub struct Env {
    pub pg: Postgres,
    pub kafka: Kafka,
    pub dir: tempfile::TempDir,
}

pub fn env() -> Env {
    Env {
        pg: Postgres::start(),
        kafka: super::tansu(),
        dir: tempfile::tempdir().unwrap(),
    }
}

/// A Connect schema for JsonConverter: fields as (name, type, optional, schema name, params).
pub fn field(name: &str, ty: &str, optional: bool) -> Json {
    json!({"field": name, "type": ty, "optional": optional})
}

pub fn named(name: &str, ty: &str, optional: bool, logical: &str) -> Json {
    json!({"field": name, "type": ty, "optional": optional, "name": logical})
}

pub fn decimal(name: &str, scale: u32) -> Json {
    json!({"field": name, "type": "bytes", "optional": true,
           "name": "org.apache.kafka.connect.data.Decimal",
           "parameters": {"scale": scale.to_string()}})
}

pub fn struct_schema(name: &str, fields: &[Json]) -> Json {
    json!({"type": "struct", "optional": false, "name": name, "fields": fields})
}

pub fn envelope(schema: &Json, payload: Json) -> String {
    json!({"schema": schema, "payload": payload}).to_string()
}

pub type Rec = (Option<String>, Option<String>);

pub fn high_watermark(e: &Env, topic: &str) -> i64 {
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
pub fn produce(e: &Env, topic: &str, records: &[Rec]) {
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
    let seen = super::eventually(Duration::from_secs(30), || {
        let hw = high_watermark(e, topic);
        (hw >= want).then_some(hw)
    });
    assert!(
        seen.is_some(),
        "{topic}: the broker's high watermark stayed below {want}"
    );
}

pub fn connector(e: &Env, name: &str, topic: &str, extra: &[(&str, &str)]) -> Json {
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

pub fn run_once(e: &Env, conn: &Json) -> Output {
    let name = conn["name"].as_str().unwrap();
    let dir = e.dir.path();
    super::write(dir, &format!("connectors.d/{name}.json"), &conn.to_string());
    let file = dir.join(format!("connectors.d/{name}.json"));
    super::kconnect::once(dir, &e.kafka.bootstrap(), dir.join("offsets"), [file])
        .output()
        .unwrap()
}

pub fn run_ok(e: &Env, conn: &Json) {
    let out = run_once(e, conn);
    assert!(out.status.success(), "{}", super::output_text(&out));
}

pub fn rows(pg: &Postgres, sql: &str) -> Vec<String> {
    let out = pg.psql(sql);
    out.lines().map(str::to_string).collect()
}

pub fn key_schema() -> Json {
    struct_schema(
        "dbserver1.public.customers.Key",
        &[field("id", "int32", false)],
    )
}

pub fn key(id: i32) -> Option<String> {
    Some(envelope(&key_schema(), json!({"id": id})))
}

pub fn simple_schema() -> Json {
    struct_schema(
        "simple",
        &[
            field("id", "int32", false),
            field("name", "string", true),
            field("score", "int64", true),
        ],
    )
}

pub fn simple(id: i32, name: &str, score: i64) -> Option<String> {
    Some(envelope(
        &simple_schema(),
        json!({"id": id, "name": name, "score": score}),
    ))
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
