//! Kafka clients for the worker: librdkafka configured from Connect's keys. Java client keys
//! that librdkafka spells the same pass straight through (`producer.*`, `consumer.*`,
//! `producer.override.*`, ...); the few that differ are translated, and the Java-only ones
//! are dropped with a note rather than failing a config that works on Connect.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

use crate::config::{ConnectorConfig, WorkerConfig};

#[derive(Debug, thiserror::Error)]
pub enum KafkaSetupError {
    #[error("cannot reach Kafka at {bootstrap} (bootstrap.servers) after {secs} s: {reason}; check that the broker is running and that -b/--bootstrap-servers or the worker's bootstrap.servers is right")]
    Unreachable {
        bootstrap: String,
        secs: u64,
        reason: String,
    },
    #[error("invalid Kafka client setting ({origin}): {reason}")]
    Config { origin: String, reason: String },
    #[error("cannot create topic {topic}: {reason}")]
    CreateTopic { topic: String, reason: String },
}

/// Java client keys with no librdkafka meaning; dropping them keeps Connect configs working.
const JAVA_ONLY: &[&str] = &[
    "key.serializer",
    "value.serializer",
    "key.deserializer",
    "value.deserializer",
    "buffer.memory",
    "max.block.ms",
    "interceptor.classes",
    "metric.reporters",
    "partitioner.adaptive.partitioning.enable",
    "partitioner.availability.timeout.ms",
    "max.poll.records",
    "ssl.truststore.type",
    "ssl.keystore.type",
    "security.providers",
    "sasl.login.callback.handler.class",
    "sasl.client.callback.handler.class",
    "auto.include.jmx.reporter",
    "exclude.internal.topics",
    "default.api.timeout.ms",
    "retry.backoff.max.ms",
    "client.dns.lookup",
];

/// The Java partitioner that places records as librdkafka's `murmur2_random` does (murmur2 of
/// the key, keyless records spread), so dropping the class changes nothing.
const JAVA_DEFAULT_PARTITIONER: &str =
    "org.apache.kafka.clients.producer.internals.DefaultPartitioner";

fn translate(key: &str, value: &str, out: &mut BTreeMap<String, String>, origin: &str) {
    match key {
        "partitioner.class" => {
            let class = value.trim();
            if class.is_empty() || class == JAVA_DEFAULT_PARTITIONER {
                tracing::debug!(origin, class, "partitioner.class is Java's default placement, which the murmur2_random partitioner reproduces; ignored");
            } else {
                // A custom or round-robin partitioner decided where keyed records went; the
                // records now follow their keys, which a user has to know about.
                tracing::warn!(origin, class, "partitioner.class names a Java class kconnect cannot run; records are placed by the librdkafka setting partitioner instead (default murmur2_random: keyed records go where Java's default partitioner puts them). To ignore keys as RoundRobinPartitioner and UniformStickyPartitioner do, set partitioner=random in the same place");
            }
        }
        // Java's switch for the same thing (KIP-794).
        "partitioner.ignore.keys" => {
            if value.trim().eq_ignore_ascii_case("true") {
                out.insert("partitioner".into(), "random".into());
            }
        }
        k if JAVA_ONLY.contains(&k) => {
            tracing::debug!(
                origin,
                key = k,
                "Java client setting has no librdkafka equivalent; ignored"
            );
        }
        "max.request.size" => {
            out.insert("message.max.bytes".into(), value.into());
        }
        "sasl.jaas.config" => {
            // PlainLoginModule / ScramLoginModule: username="..." password="...";
            let grab = |name: &str| {
                let pat = format!("{name}=\"");
                value.find(&pat).and_then(|i| {
                    let rest = &value[i + pat.len()..];
                    rest.find('"').map(|j| rest[..j].to_string())
                })
            };
            if let Some(u) = grab("username") {
                out.insert("sasl.username".into(), u);
            }
            if let Some(p) = grab("password") {
                out.insert("sasl.password".into(), p);
            }
        }
        "ssl.truststore.location" => {
            tracing::warn!(origin, "ssl.truststore.location (a Java keystore) is not readable by librdkafka; use ssl.ca.location with a PEM file");
        }
        _ => {
            out.insert(key.into(), value.into());
        }
    }
}

fn build(settings: &[(&BTreeMap<String, String>, &str)]) -> ClientConfig {
    let mut merged = BTreeMap::new();
    for (values, origin) in settings {
        for (k, v) in values.iter() {
            translate(k, v, &mut merged, origin);
        }
    }
    let mut cfg = ClientConfig::new();
    for (k, v) in merged {
        cfg.set(k, v);
    }
    cfg
}

fn base(worker: &WorkerConfig) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert("bootstrap.servers".into(), worker.bootstrap_servers());
    m
}

/// Producer settings for a source task: Connect's defaults for safety (acks=all, ordered
/// retries), then the worker's `producer.*`, then the connector's `producer.override.*`.
pub fn producer_config(
    worker: &WorkerConfig,
    connector: Option<&ConnectorConfig>,
    client_id: &str,
) -> ClientConfig {
    let mut defaults = base(worker);
    for (k, v) in [
        ("acks", "all"),
        ("enable.idempotence", "false"),
        ("max.in.flight.requests.per.connection", "5"),
        ("linger.ms", "5"),
        ("batch.num.messages", "10000"),
        ("batch.size", "262144"),
        // Bounded in bytes as well as records: with large records (CDC events of a few KB)
        // a count alone lets the queue grow to hundreds of MB.
        ("queue.buffering.max.messages", "20000"),
        ("queue.buffering.max.kbytes", "8192"),
        ("delivery.timeout.ms", "120000"),
        ("retry.backoff.ms", "100"),
        // The Java producer puts a keyed record in toPositive(murmur2(key)) % partitions;
        // librdkafka's own default (consistent_random, a CRC32) would send the same key to
        // another partition than Connect did, breaking per-key order across a migration and
        // co-partitioned joins downstream.
        ("partitioner", "murmur2_random"),
    ] {
        defaults.insert(k.into(), v.into());
    }
    defaults.insert("client.id".into(), client_id.into());
    let worker_p = worker.with_prefix("producer.");
    let conn_p = connector
        .map(|c| c.with_prefix("producer.override."))
        .unwrap_or_default();
    build(&[
        (&defaults, "defaults"),
        (&worker_p, "worker producer.*"),
        (&conn_p, "producer.override.*"),
    ])
}

/// Consumer settings for a sink task: group `connect-<name>`, offsets managed by the worker,
/// reading from the earliest offset when nothing is committed (Connect's sink default).
pub fn consumer_config(
    worker: &WorkerConfig,
    connector: &ConnectorConfig,
    client_id: &str,
) -> ClientConfig {
    let mut defaults = base(worker);
    for (k, v) in [
        ("enable.auto.commit", "false"),
        ("enable.auto.offset.store", "false"),
        ("auto.offset.reset", "earliest"),
        ("enable.partition.eof", "false"),
        ("fetch.wait.max.ms", "100"),
        // librdkafka prefetches up to 100k messages or 64 MB per partition by default; a
        // sink never needs more than a few batches ahead, so keep memory small.
        ("queued.min.messages", "10000"),
        ("queued.max.messages.kbytes", "4096"),
        ("fetch.max.bytes", "4194304"),
        ("receive.message.max.bytes", "5242880"),
    ] {
        defaults.insert(k.into(), v.into());
    }
    defaults.insert("group.id".into(), format!("connect-{}", connector.name));
    defaults.insert("client.id".into(), client_id.into());
    let worker_c = worker.with_prefix("consumer.");
    let conn_c = connector.with_prefix("consumer.override.");
    build(&[
        (&defaults, "defaults"),
        (&worker_c, "worker consumer.*"),
        (&conn_c, "consumer.override.*"),
    ])
}

pub fn admin_config(worker: &WorkerConfig, connector: Option<&ConnectorConfig>) -> ClientConfig {
    let mut defaults = base(worker);
    // A metadata probe must not create the topic with the broker's defaults behind our back.
    defaults.insert("allow.auto.create.topics".into(), "false".into());
    let worker_a = worker.with_prefix("admin.");
    let conn_a = connector
        .map(|c| c.with_prefix("admin.override."))
        .unwrap_or_default();
    build(&[
        (&defaults, "defaults"),
        (&worker_a, "worker admin.*"),
        (&conn_a, "admin.override.*"),
    ])
}

pub fn setup_error(origin: &str, e: KafkaError) -> KafkaSetupError {
    KafkaSetupError::Config {
        origin: origin.to_string(),
        reason: e.to_string(),
    }
}

/// Waits until the brokers answer a metadata request, retrying with backoff up to `limit`.
pub fn wait_for_broker(worker: &WorkerConfig, limit: Duration) -> Result<(), KafkaSetupError> {
    let bootstrap = worker.bootstrap_servers();
    let consumer: BaseConsumer = admin_config(worker, None)
        .set("log_level", "0")
        .create()
        .map_err(|e| setup_error("bootstrap.servers", e))?;
    let start = Instant::now();
    let mut delay = Duration::from_millis(200);
    loop {
        let left = limit.saturating_sub(start.elapsed());
        match consumer.fetch_metadata(
            None,
            left.min(Duration::from_secs(5))
                .max(Duration::from_millis(500)),
        ) {
            Ok(md) if !md.brokers().is_empty() => return Ok(()),
            Ok(_) | Err(_) if start.elapsed() < limit => {
                std::thread::sleep(delay.min(limit.saturating_sub(start.elapsed())));
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            Ok(_) => {
                return Err(KafkaSetupError::Unreachable {
                    bootstrap,
                    secs: limit.as_secs(),
                    reason: "no brokers in metadata".into(),
                })
            }
            Err(e) => {
                return Err(KafkaSetupError::Unreachable {
                    bootstrap,
                    secs: limit.as_secs(),
                    reason: e.to_string(),
                })
            }
        }
    }
}

/// What a source connector's `topic.creation.*` settings say for one topic.
#[derive(Clone, Debug, PartialEq)]
pub struct TopicSpec {
    pub partitions: i32,
    pub replication_factor: i32,
    pub configs: Vec<(String, String)>,
}

/// Connect's topic creation rules: the first group (in `topic.creation.groups` order) whose
/// `include` matches and `exclude` does not, else `default`. `None` when topic creation is
/// not configured for the connector.
pub fn topic_spec(cfg: &ConnectorConfig, topic: &str) -> Option<TopicSpec> {
    let v = &cfg.values;
    let default_rf = v.get("topic.creation.default.replication.factor")?;
    let default_p = v.get("topic.creation.default.partitions")?;
    let groups: Vec<String> = v
        .get("topic.creation.groups")
        .map(|g| {
            crate::config::def::split_list(g)
                .into_iter()
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let matches_list = |key: &str| -> bool {
        v.get(key).is_some_and(|list| {
            crate::config::def::split_list(list).iter().any(|pat| {
                regex::Regex::new(&format!("^(?:{pat})$"))
                    .map(|r| r.is_match(topic))
                    .unwrap_or(false)
            })
        })
    };
    let group = groups.iter().find(|g| {
        matches_list(&format!("topic.creation.{g}.include"))
            && !matches_list(&format!("topic.creation.{g}.exclude"))
    });
    let prefix = |g: &str| format!("topic.creation.{g}.");
    let pick = |key: &str, default: &str| -> i32 {
        group
            .and_then(|g| v.get(&format!("{}{key}", prefix(g))))
            .map(String::as_str)
            .unwrap_or(default)
            .trim()
            .parse()
            .unwrap_or(-1)
    };
    let mut configs = BTreeMap::new();
    for g in std::iter::once("default").chain(group.map(String::as_str)) {
        for (k, val) in crate::config::worker::strip_prefix(v, &prefix(g)) {
            if !matches!(
                k.as_str(),
                "include" | "exclude" | "partitions" | "replication.factor"
            ) {
                configs.insert(k, val);
            }
        }
    }
    Some(TopicSpec {
        partitions: pick("partitions", default_p),
        replication_factor: pick("replication.factor", default_rf),
        configs: configs.into_iter().collect(),
    })
}

/// Creates a topic unless it exists. -1 for partitions or replication factor means the
/// broker's default; with a single broker a larger replication factor is capped at 1.
pub fn ensure_topic(
    admin: &AdminClient<DefaultClientContext>,
    topic: &str,
    spec: &TopicSpec,
) -> Result<bool, KafkaSetupError> {
    let md = admin
        .inner()
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .map_err(|e| KafkaSetupError::CreateTopic {
            topic: topic.into(),
            reason: e.to_string(),
        })?;
    let exists = md
        .topics()
        .iter()
        .any(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty());
    tracing::debug!(topic, exists, "checked topic before creating it");
    if exists {
        return Ok(false);
    }
    let brokers = md.brokers().len().max(1) as i32;
    let rf = if spec.replication_factor < 0 {
        brokers.min(3)
    } else {
        spec.replication_factor.min(brokers)
    };
    let partitions = if spec.partitions < 0 {
        1
    } else {
        spec.partitions
    };
    let mut nt = NewTopic::new(topic, partitions, TopicReplication::Fixed(rf));
    for (k, v) in &spec.configs {
        nt = nt.set(k, v);
    }
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = futures::executor::block_on(admin.create_topics([&nt], &opts)).map_err(|e| {
        KafkaSetupError::CreateTopic {
            topic: topic.into(),
            reason: e.to_string(),
        }
    })?;
    for r in results {
        match r {
            Ok(_) => {}
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => return Ok(false),
            Err((_, code)) => {
                return Err(KafkaSetupError::CreateTopic {
                    topic: topic.into(),
                    reason: code.to_string(),
                })
            }
        }
    }
    tracing::info!(topic, partitions, replication_factor = rf, "created topic");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TargetState;

    fn cfg(pairs: &[(&str, &str)]) -> ConnectorConfig {
        ConnectorConfig {
            name: "c".into(),
            path: "c.json".into(),
            values: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            initial_state: TargetState::Running,
        }
    }

    #[test]
    fn topic_creation_groups_follow_connect_rules() {
        let c = cfg(&[
            ("topic.creation.default.replication.factor", "1"),
            ("topic.creation.default.partitions", "2"),
            ("topic.creation.default.cleanup.policy", "delete"),
            ("topic.creation.groups", "compacted"),
            ("topic.creation.compacted.include", "db\\..*"),
            ("topic.creation.compacted.exclude", "db\\.skip"),
            ("topic.creation.compacted.partitions", "5"),
            ("topic.creation.compacted.cleanup.policy", "compact"),
        ]);
        let s = topic_spec(&c, "db.users").unwrap();
        assert_eq!(s.partitions, 5);
        assert_eq!(s.replication_factor, 1);
        assert_eq!(
            s.configs,
            vec![("cleanup.policy".to_string(), "compact".to_string())]
        );
        let d = topic_spec(&c, "db.skip").unwrap();
        assert_eq!(d.partitions, 2);
        assert!(topic_spec(&cfg(&[]), "x").is_none());
    }

    fn worker(pairs: &[(&str, &str)]) -> WorkerConfig {
        WorkerConfig {
            values: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            source: None,
            providers: Default::default(),
            offsets_dir: "offsets".into(),
        }
    }

    #[test]
    fn producers_place_keys_as_java_does_unless_told_otherwise() {
        let w = worker(&[]);
        let p = producer_config(&w, None, "id");
        assert_eq!(p.get("partitioner"), Some("murmur2_random"));
        let w = worker(&[("producer.partitioner", "consistent_random")]);
        let p = producer_config(&w, None, "id");
        assert_eq!(p.get("partitioner"), Some("consistent_random"));
        let c = cfg(&[("producer.override.partitioner", "fnv1a_random")]);
        let p = producer_config(&w, Some(&c), "id");
        assert_eq!(p.get("partitioner"), Some("fnv1a_random"));
        // Java's own switches: the class is dropped, ignoring keys becomes random placement.
        let c = cfg(&[
            (
                "producer.override.partitioner.class",
                "org.apache.kafka.clients.producer.RoundRobinPartitioner",
            ),
            (
                "producer.override.partitioner.adaptive.partitioning.enable",
                "true",
            ),
        ]);
        let p = producer_config(&worker(&[]), Some(&c), "id");
        assert_eq!(p.get("partitioner.class"), None);
        assert_eq!(p.get("partitioner.adaptive.partitioning.enable"), None);
        assert_eq!(p.get("partitioner"), Some("murmur2_random"));
        let c = cfg(&[("producer.override.partitioner.ignore.keys", "true")]);
        let p = producer_config(&worker(&[]), Some(&c), "id");
        assert_eq!(p.get("partitioner"), Some("random"));
        assert_eq!(p.get("partitioner.ignore.keys"), None);
    }

    #[test]
    fn java_only_keys_are_dropped_and_jaas_is_translated() {
        let mut out = BTreeMap::new();
        translate("key.serializer", "x", &mut out, "t");
        translate("max.request.size", "100", &mut out, "t");
        translate(
            "sasl.jaas.config",
            "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"p\";",
            &mut out,
            "t",
        );
        assert!(!out.contains_key("key.serializer"));
        assert_eq!(out["message.max.bytes"], "100");
        assert_eq!(out["sasl.username"], "u");
        assert_eq!(out["sasl.password"], "p");
    }
}
