//! Helpers of the Elasticsearch sink tests (tests/elasticsearch_sink*.rs): a broker and an
//! Elasticsearch API per test, connector files, `--once` runs and Debezium-shaped events.

use std::process::Output;
use std::time::Duration;

use serde_json::{json, Value as Json};

use super::es::http;
use super::kafka;

pub struct Env {
    pub kafka: super::Kafka,
    pub es: super::Elastic,
    pub dir: tempfile::TempDir,
}

pub fn env() -> Env {
    env_on(super::tansu())
}

pub fn env_on(kafka: super::Kafka) -> Env {
    Env {
        kafka,
        es: super::elasticsearch(),
        dir: tempfile::tempdir().unwrap(),
    }
}

impl Env {
    pub fn connector(&self, name: &str, topic: &str, es_url: &str, extra: &[(&str, &str)]) {
        let mut cfg = serde_json::Map::new();
        for (k, v) in [
            (
                "connector.class",
                "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector",
            ),
            ("tasks.max", "1"),
            ("topics", topic),
            ("connection.url", es_url),
            (
                "key.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
            (
                "value.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
            ("key.converter.schemas.enable", "false"),
            ("value.converter.schemas.enable", "false"),
            ("retry.backoff.ms", "20"),
        ] {
            cfg.insert(k.into(), v.into());
        }
        for (k, v) in extra {
            cfg.insert((*k).into(), (*v).into());
        }
        let body = json!({"name": name, "config": cfg});
        let _ = std::fs::remove_dir_all(self.dir.path().join("connectors.d"));
        super::write(
            self.dir.path(),
            &format!("connectors.d/{name}.json"),
            &body.to_string(),
        );
    }

    pub fn run_once(&self) -> Output {
        super::kconnect(self.dir.path())
            .args([
                "run",
                "--once",
                "-b",
                &self.kafka.bootstrap(),
                "connectors.d",
            ])
            .env("RUST_LOG", "info")
            .output()
            .unwrap()
    }

    /// A long-running worker on the connector files, its log (stderr) in `kconnect.log`.
    pub fn spawn(&self) -> std::process::Child {
        super::kconnect(self.dir.path())
            .args(["run", "-b", &self.kafka.bootstrap(), "connectors.d"])
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(self.dir.path().join("kconnect.log")).unwrap())
            .spawn()
            .unwrap()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("kconnect.log")).unwrap_or_default()
    }

    pub fn committed(&self, connector: &str, topic: &str) -> Option<i64> {
        let out = super::kconnect(self.dir.path())
            .args(["offsets", "list", "--json", connector])
            .output()
            .unwrap();
        let entries: Json = serde_json::from_slice(&out.stdout).unwrap_or(Json::Null);
        entries.as_array()?.iter().find_map(|e| {
            (e["partition"]["kafka_topic"] == json!(topic)).then(|| {
                e["offset"]["kafka_offset"]
                    .as_i64()
                    .or_else(|| e["offset"].as_i64())
            })?
        })
    }

    pub fn produce(&self, topic: &str, records: &[(Option<String>, Option<String>)]) {
        let recs: Vec<kafka::Rec<'_>> = records
            .iter()
            .map(|(k, v)| {
                (
                    k.as_deref().map(str::as_bytes),
                    v.as_deref().map(str::as_bytes),
                    vec![],
                )
            })
            .collect();
        kafka::produce(&self.kafka.bootstrap(), topic, &recs);
    }

    pub fn high_watermark(&self, topic: &str) -> i64 {
        use rdkafka::consumer::{BaseConsumer, Consumer};
        let c: BaseConsumer = rdkafka::config::ClientConfig::new()
            .set("bootstrap.servers", self.kafka.bootstrap())
            .create()
            .unwrap();
        c.fetch_watermarks(topic, 0, Duration::from_secs(10))
            .map(|(_, hi)| hi)
            .unwrap_or(0)
    }
}

pub fn assert_ok(o: &Output) {
    assert!(o.status.success(), "{}", super::output_text(o));
}

/// A Debezium change event with its schema, as JsonConverter writes it.
pub fn debezium_event(op: &str, before: Option<Json>, after: Option<Json>, ts: i64) -> String {
    let row = |optional: bool| {
        json!({"type": "struct", "optional": optional, "name": "dbserver1.public.customers.Value", "field": "",
        "fields": [
            {"type": "int32", "optional": false, "field": "id"},
            {"type": "string", "optional": true, "field": "name"},
            {"type": "bytes", "optional": true, "name": "org.apache.kafka.connect.data.Decimal",
             "parameters": {"scale": "2", "connect.decimal.precision": "10"}, "field": "balance"},
            {"type": "int32", "optional": true, "name": "io.debezium.time.Date", "field": "born"},
            {"type": "string", "optional": true, "name": "io.debezium.time.ZonedTimestamp", "field": "updated_at"},
            {"type": "map", "optional": true, "keys": {"type": "string", "optional": false},
             "values": {"type": "int32", "optional": false}, "field": "tags"}
        ]})
    };
    let mut before_schema = row(true);
    before_schema["field"] = json!("before");
    let mut after_schema = row(true);
    after_schema["field"] = json!("after");
    let schema = json!({"type": "struct", "optional": false, "name": "dbserver1.public.customers.Envelope", "version": 2,
        "fields": [before_schema, after_schema,
            {"type": "struct", "optional": false, "name": "io.debezium.connector.postgresql.Source", "field": "source",
             "fields": [{"type": "string", "optional": false, "field": "connector"},
                        {"type": "string", "optional": false, "field": "table"},
                        {"type": "int64", "optional": true, "field": "lsn"}]},
            {"type": "string", "optional": false, "field": "op"},
            {"type": "int64", "optional": true, "field": "ts_ms"}]});
    json!({"schema": schema, "payload": {
        "before": before, "after": after,
        "source": {"connector": "postgresql", "table": "customers", "lsn": ts * 10},
        "op": op, "ts_ms": ts}})
    .to_string()
}

pub fn debezium_key(id: i32) -> String {
    json!({"schema": {"type": "struct", "optional": false, "name": "dbserver1.public.customers.Key",
        "fields": [{"type": "int32", "optional": false, "field": "id"}]},
        "payload": {"id": id}})
    .to_string()
}

pub fn malformed_run(behavior: &str) -> (Env, Output) {
    let e = env();
    let topic = "measurements";
    kafka::create_topic(&e.kafka.bootstrap(), topic, 1);
    let es = e.es.url();
    let (status, _) = http(
        &es,
        "PUT",
        "/measurements",
        Some(&json!({"mappings": {"properties": {"n": {"type": "long"}}}})),
    );
    assert_eq!(status, 200);
    e.produce(
        topic,
        &[
            (Some("1".into()), Some(r#"{"n":1}"#.into())),
            (Some("2".into()), Some(r#"{"n":"not a number"}"#.into())),
            (Some("3".into()), Some(r#"{"n":3}"#.into())),
        ],
    );
    e.connector(
        "malformed",
        topic,
        &es,
        &[
            ("behavior.on.malformed.documents", behavior),
            ("schema.ignore", "true"),
        ],
    );
    let out = e.run_once();
    (e, out)
}
