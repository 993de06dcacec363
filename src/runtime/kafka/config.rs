//! librdkafka settings from Connect's keys. Java client keys that librdkafka spells the same
//! pass straight through (`producer.*`, `consumer.*`, `producer.override.*`, ...); the few
//! that differ are translated, and the Java-only ones are dropped with a note rather than
//! failing a config that works on Connect.

use std::collections::BTreeMap;

use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::error::KafkaError;

use super::KafkaSetupError;
use crate::config::{ConnectorConfig, WorkerConfig};

/// Java client keys with no librdkafka meaning; dropping them keeps Connect configs working.
/// `interceptor.classes` and `metric.reporters` reach this only empty: with a value they are
/// refused when the files are read (`config::client_keys`).
const JAVA_ONLY: &[&str] = &[
    "key.serializer",
    "value.serializer",
    "key.deserializer",
    "value.deserializer",
    "max.block.ms",
    "interceptor.classes",
    "metric.reporters",
    "max.poll.records",
    "partitioner.adaptive.partitioning.enable",
    "partitioner.availability.timeout.ms",
    "ssl.truststore.type",
    "ssl.truststore.password",
    "ssl.keystore.type",
    "ssl.protocol",
    "ssl.enabled.protocols",
    "ssl.provider",
    "ssl.keymanager.algorithm",
    "ssl.trustmanager.algorithm",
    "ssl.secure.random.implementation",
    "ssl.engine.factory.class",
    "ssl.client.auth",
    "security.providers",
    "sasl.client.callback.handler.class",
    "sasl.kerberos.ticket.renew.window.factor",
    "sasl.kerberos.ticket.renew.jitter",
    "auto.include.jmx.reporter",
    "exclude.internal.topics",
    "default.api.timeout.ms",
    "retry.backoff.max.ms",
    "client.dns.lookup",
];

/// Java's assignor classes by librdkafka's names for the same strategies; a name librdkafka
/// knows already is kept. librdkafka cannot mix eager and cooperative strategies, which Java's
/// default list does (`RangeAssignor, CooperativeStickyAssignor`): the first one's kind is kept.
fn assignment_strategy(value: &str, origin: &str) -> String {
    let names: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            match s.rsplit('.').next().unwrap_or(s) {
                "RangeAssignor" => "range",
                "RoundRobinAssignor" => "roundrobin",
                "CooperativeStickyAssignor" => "cooperative-sticky",
                _ => s,
            }
            .to_string()
        })
        .collect();
    let cooperative = |n: &String| n == "cooperative-sticky";
    let Some(first) = names.first() else {
        return value.to_string();
    };
    let keep = cooperative(first);
    let (kept, dropped): (Vec<String>, Vec<String>) =
        names.iter().cloned().partition(|n| cooperative(n) == keep);
    if !dropped.is_empty() {
        tracing::warn!(origin, kept = ?kept, dropped = ?dropped, "partition.assignment.strategy mixes eager and cooperative assignors, which librdkafka cannot; only the kind of the first is used");
    }
    kept.join(",")
}

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
        k if JAVA_ONLY.contains(&k) || k.starts_with("sasl.login.") => {
            tracing::debug!(
                origin,
                key = k,
                "Java client setting has no librdkafka equivalent; ignored"
            );
        }
        // Java's bound of the bytes a producer holds unsent; librdkafka's is in kilobytes.
        "buffer.memory" => match value.trim().parse::<u64>() {
            Ok(bytes) => {
                out.insert(
                    "queue.buffering.max.kbytes".into(),
                    (bytes / 1024).max(1).to_string(),
                );
            }
            // Passed on as it is, so that librdkafka names the key and the bad value.
            Err(_) => {
                out.insert(key.into(), value.into());
            }
        },
        "max.request.size" => {
            out.insert("message.max.bytes".into(), value.into());
        }
        "partition.assignment.strategy" => {
            out.insert(key.into(), assignment_strategy(value, origin));
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
        // Java reads a PEM truststore too (ssl.truststore.type=PEM); that one librdkafka can
        // use as its CA file. An explicit ssl.ca.location in the same place wins. A file that
        // cannot be read goes through too, so that librdkafka names the path in its error.
        "ssl.truststore.location" => {
            if !is_java_keystore(value) {
                out.entry("ssl.ca.location".into())
                    .or_insert_with(|| value.into());
            } else {
                tracing::warn!(origin, path = value, "ssl.truststore.location is a Java keystore (JKS or PKCS12), which librdkafka cannot read, so the system's CA certificates are used instead; if the brokers' certificates come from a private CA, export it as PEM (keytool -exportcert -rfc) and set ssl.ca.location to that file");
            }
        }
        // Java's PEM-in-config keys (KIP-651) have librdkafka twins.
        "ssl.truststore.certificates" => {
            out.entry("ssl.ca.pem".into())
                .or_insert_with(|| value.into());
        }
        "ssl.keystore.certificate.chain" => {
            out.entry("ssl.certificate.pem".into())
                .or_insert_with(|| value.into());
        }
        "ssl.keystore.key" => {
            out.entry("ssl.key.pem".into())
                .or_insert_with(|| value.into());
        }
        // Java turns host name verification off with an empty value; librdkafka wants "none"
        // and would reject the empty string.
        "ssl.endpoint.identification.algorithm" if value.trim().is_empty() => {
            out.insert(key.into(), "none".into());
        }
        _ => {
            out.insert(key.into(), value.into());
        }
    }
}

/// A readable file without a PEM block: JKS or PKCS#12, which only Java reads.
fn is_java_keystore(path: &str) -> bool {
    std::fs::read(path.trim()).is_ok_and(|bytes| !bytes.windows(11).any(|w| w == b"-----BEGIN "))
}

/// Merges the layers in order, later layers winning. Each layer is translated on its own, so
/// that inside one layer a librdkafka key beats the Java key translated to it
/// (`ssl.ca.location` over `ssl.truststore.location`) whatever their order.
pub(super) fn build(settings: &[(&BTreeMap<String, String>, &str)]) -> ClientConfig {
    let mut merged = BTreeMap::new();
    for (values, origin) in settings {
        let mut layer = BTreeMap::new();
        for (k, v) in values.iter() {
            translate(k, v, &mut layer, origin);
        }
        merged.extend(layer);
    }
    let mut cfg = ClientConfig::new();
    for (k, v) in merged {
        cfg.set(k, v);
    }
    // librdkafka reports a dropped connection (a TLS listener hanging up on a plaintext
    // client) only at Info; rdkafka would ask for Warning and up when the log filter shows
    // no more, and ConnectionErrors would never see it. The filter still decides what prints.
    cfg.set_log_level(
        if tracing::enabled!(target: "librdkafka", tracing::Level::DEBUG) {
            RDKafkaLogLevel::Debug
        } else {
            RDKafkaLogLevel::Info
        },
    );
    cfg
}

fn base(worker: &WorkerConfig) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert("bootstrap.servers".into(), worker.bootstrap_servers());
    // A reconnect backoff doubling up to 1 s as the Java clients' does, not librdkafka's (up
    // to 10 s): after a broker restart, tasks were back 8 to 13 s later in the soak
    // (docs/soak.md), most of it waiting out that backoff. It starts at 10 ms, not Java's
    // 50: librdkafka applies it to a new client's first connection to the broker it learns
    // from the bootstrap answer, and with 50 ms each fresh client (the worker's broker check,
    // then each task's producer) waited about 25 ms for its first metadata answer in half of
    // the starts; the first record was acknowledged 42-77 ms after start, now 30-45 ms.
    m.insert("reconnect.backoff.ms".into(), "10".into());
    m.insert("reconnect.backoff.max.ms".into(), "1000".into());
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
        // librdkafka's default: with a few requests in flight per connection, the batch
        // size is what bounds throughput to a broker far away or slow to acknowledge.
        ("batch.size", "1000000"),
        // Bounded in bytes as well as records: with large records (CDC events of a few KB)
        // a count alone lets the queue grow to hundreds of MB. 16 MB (half the Java
        // producer's buffer.memory) keeps five 1 MB requests in flight with as much again
        // queued behind them; 8 MB left the task waiting on a full queue a third of the time.
        // Peak RSS stays under 60 MB with 3 KB CDC events (see message.copy.max.bytes).
        // The count bound lets five full requests of small records (batch.num.messages
        // each) be in flight: with 20,000, a FileStream source of 53-byte lines waited for
        // acknowledgements every few milliseconds and took 0.84 s instead of 0.63 s for 1M.
        ("queue.buffering.max.messages", "50000"),
        ("queue.buffering.max.kbytes", "16384"),
        // Larger values go into requests by reference instead of being copied a second
        // time (librdkafka copies up to 64 KB by default): for CDC events of a few KB that
        // copy was a quarter of the producer thread's CPU and 5 MB of peak RSS.
        ("message.copy.max.bytes", "1024"),
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

/// The most records a source task has sent and Kafka not yet acknowledged: the producer's own
/// bound on queued records (`queue.buffering.max.messages`), past which a record would only
/// wait in the producer for room.
pub fn in_flight_limit(producer: &ClientConfig) -> usize {
    producer
        .get("queue.buffering.max.messages")
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(50_000)
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
        // One fetch of small records overfills that queue (a 4 MB answer holds 70,000
        // 50-byte lines), and librdkafka then waits fetch.queue.backoff.ms, 1 s by default,
        // before fetching that partition again; the Java consumer fetches again as soon as
        // its buffer drains. With the default, a FileStream sink read 1M lines from Tansu in
        // 17.8 s; with 10 ms, in 1.3 s, at the same CPU.
        ("fetch.queue.backoff.ms", "10"),
        // Two partitions' worth of max.partition.fetch.bytes (1 MB) per answer. A broker
        // that fills every answer up to this bound (Tansu does, whatever the partition
        // bound) had a FileStream sink peak at 46 MB with 4 MB, and at 32 MB with 2 MB at
        // the same records/s, with a quarter of the system CPU.
        ("fetch.max.bytes", "2097152"),
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

/// Top-level worker keys that say how to connect to Kafka. As in Connect, they reach the
/// worker's own connection and the connectors' admin clients, not producers or consumers,
/// which take only `producer.*` / `consumer.*`. Other top-level keys are the worker's own
/// and mean nothing to librdkafka.
fn worker_connection_settings(worker: &WorkerConfig) -> BTreeMap<String, String> {
    worker
        .values
        .iter()
        .filter(|(k, _)| is_connection_key(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn is_connection_key(key: &str) -> bool {
    key == "security.protocol" || key.starts_with("ssl.") || key.starts_with("sasl.")
}

/// Admin settings (the worker's connection check, topic creation): Connect's order, the
/// worker's top-level connection settings, then `admin.*`, then `admin.override.*`.
pub fn admin_config(worker: &WorkerConfig, connector: Option<&ConnectorConfig>) -> ClientConfig {
    let mut defaults = base(worker);
    // A metadata probe must not create the topic with the broker's defaults behind our back.
    defaults.insert("allow.auto.create.topics".into(), "false".into());
    let top = worker_connection_settings(worker);
    let worker_a = worker.with_prefix("admin.");
    let conn_a = connector
        .map(|c| c.with_prefix("admin.override."))
        .unwrap_or_default();
    build(&[
        (&defaults, "defaults"),
        (&top, "worker security.protocol/ssl.*/sasl.*"),
        (&worker_a, "worker admin.*"),
        (&conn_a, "admin.override.*"),
    ])
}

/// Which of a connector's clients would connect without the `security.protocol` the worker
/// sets at the top level: Connect gives producers and consumers only their prefixed settings,
/// so such a client talks PLAINTEXT to a TLS or SASL listener. Returned as (key, message) for
/// the connector's file.
pub fn unsecured_clients(
    worker: &WorkerConfig,
    cfg: &ConnectorConfig,
    is_source: bool,
) -> Vec<(String, String)> {
    let Some(top) = worker.values.get("security.protocol") else {
        return Vec::new();
    };
    if top.trim().eq_ignore_ascii_case("plaintext") {
        return Vec::new();
    }
    let has_dlq = cfg
        .values
        .get("errors.deadletterqueue.topic.name")
        .is_some_and(|t| !t.trim().is_empty());
    let mut roles = Vec::new();
    if is_source || has_dlq {
        roles.push("producer");
    }
    if !is_source {
        roles.push("consumer");
    }
    roles
        .into_iter()
        .filter(|role| {
            !worker.values.contains_key(&format!("{role}.security.protocol"))
                && !cfg
                    .values
                    .contains_key(&format!("{role}.override.security.protocol"))
        })
        .map(|role| {
            (
                format!("{role}.override.security.protocol"),
                format!("the worker sets security.protocol={top}, but this connector's {role} gets no security.protocol and would connect with PLAINTEXT: as in Kafka Connect, top-level security settings reach only the worker's own and admin clients. Add {role}.security.protocol and the {role}.ssl.* / {role}.sasl.* settings to the worker config, or {role}.override.* to this connector"),
            )
        })
        .collect()
}

/// A client librdkafka would not create; `origin` is where its settings come from.
pub fn setup_error(origin: &'static str, e: KafkaError) -> KafkaSetupError {
    if e.to_string()
        .contains("No provider for SASL mechanism GSSAPI")
    {
        return KafkaSetupError::Gssapi { origin };
    }
    KafkaSetupError::Config { origin, source: e }
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
            written: Default::default(),
            initial_state: TargetState::Running,
        }
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
    fn records_in_flight_follow_the_producer_queue_bound() {
        let p = producer_config(&worker(&[]), None, "id");
        assert_eq!(in_flight_limit(&p), 50_000);
        let c = cfg(&[("producer.override.queue.buffering.max.messages", "1000")]);
        assert_eq!(
            in_flight_limit(&producer_config(&worker(&[]), Some(&c), "id")),
            1000
        );
    }

    #[test]
    fn buffer_memory_bounds_the_producer_queue_in_bytes() {
        let p = producer_config(&worker(&[]), None, "id");
        assert_eq!(p.get("queue.buffering.max.kbytes"), Some("16384"));
        assert_eq!(p.get("buffer.memory"), None);
        let c = cfg(&[("producer.override.buffer.memory", "67108864")]);
        let p = producer_config(&worker(&[]), Some(&c), "id");
        assert_eq!(p.get("queue.buffering.max.kbytes"), Some("65536"));
        assert_eq!(p.get("buffer.memory"), None);
    }

    #[test]
    fn sink_consumers_fetch_again_soon_after_their_prefetch_queue_overflows() {
        // librdkafka's default (1 s) made a sink of small records wait after every fetch.
        let c = consumer_config(&worker(&[]), &cfg(&[]), "id");
        assert_eq!(c.get("fetch.queue.backoff.ms"), Some("10"));
        assert_eq!(c.get("queued.min.messages"), Some("10000"));
        let o = cfg(&[("consumer.override.fetch.queue.backoff.ms", "100")]);
        let c = consumer_config(&worker(&[]), &o, "id");
        assert_eq!(c.get("fetch.queue.backoff.ms"), Some("100"));
    }

    #[test]
    fn clients_reconnect_as_java_clients_do_unless_told_otherwise() {
        let p = producer_config(&worker(&[]), None, "id");
        assert_eq!(p.get("reconnect.backoff.ms"), Some("10"));
        assert_eq!(p.get("reconnect.backoff.max.ms"), Some("1000"));
        let w = worker(&[("producer.reconnect.backoff.max.ms", "5000")]);
        let p = producer_config(&w, None, "id");
        assert_eq!(p.get("reconnect.backoff.max.ms"), Some("5000"));
    }

    #[test]
    fn top_level_security_reaches_admin_clients_only_as_in_connect() {
        let w = worker(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("ssl.ca.location", "/etc/ca.pem"),
            ("offset.flush.interval.ms", "1000"),
            ("admin.ssl.ca.location", "/etc/admin-ca.pem"),
        ]);
        let a = admin_config(&w, None);
        assert_eq!(a.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(a.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        // admin.* comes after the top level.
        assert_eq!(a.get("ssl.ca.location"), Some("/etc/admin-ca.pem"));
        // The worker's own keys are not client settings.
        assert_eq!(a.get("offset.flush.interval.ms"), None);
        let p = producer_config(&w, None, "id");
        assert_eq!(p.get("security.protocol"), None);
        let c = consumer_config(&w, &cfg(&[]), "id");
        assert_eq!(c.get("security.protocol"), None);
        let warned = unsecured_clients(&w, &cfg(&[]), true);
        assert_eq!(warned.len(), 1);
        assert!(warned[0].1.contains("producer.security.protocol"));
        let sink = cfg(&[
            ("consumer.override.security.protocol", "SASL_SSL"),
            ("errors.deadletterqueue.topic.name", "dlq"),
        ]);
        let warned = unsecured_clients(&w, &sink, false);
        assert_eq!(warned.len(), 1, "{warned:?}");
        assert_eq!(warned[0].0, "producer.override.security.protocol");
        assert!(unsecured_clients(&worker(&[]), &sink, false).is_empty());
    }

    #[test]
    fn java_tls_settings_are_translated() {
        let d = tempfile::tempdir().unwrap();
        let pem = d.path().join("ca.pem");
        std::fs::write(
            &pem,
            "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let jks = d.path().join("ca.jks");
        std::fs::write(&jks, [0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2]).unwrap();
        let pem = pem.display().to_string();
        let w = worker(&[
            ("producer.ssl.truststore.location", &pem),
            ("producer.ssl.truststore.type", "PEM"),
            ("producer.ssl.truststore.password", "secret"),
            ("producer.ssl.endpoint.identification.algorithm", ""),
            ("producer.ssl.protocol", "TLSv1.3"),
            ("producer.sasl.login.refresh.window.factor", "0.8"),
        ]);
        let p = producer_config(&w, None, "id");
        assert_eq!(p.get("ssl.ca.location"), Some(pem.as_str()));
        assert_eq!(p.get("ssl.endpoint.identification.algorithm"), Some("none"));
        for gone in [
            "ssl.truststore.location",
            "ssl.truststore.type",
            "ssl.truststore.password",
            "ssl.protocol",
            "sasl.login.refresh.window.factor",
        ] {
            assert_eq!(p.get(gone), None, "{gone}");
        }
        // An explicit ssl.ca.location in the same place wins; a later place wins over it.
        let w = worker(&[
            ("producer.ssl.truststore.location", &pem),
            ("producer.ssl.ca.location", "/explicit.pem"),
        ]);
        let p = producer_config(&w, None, "id");
        assert_eq!(p.get("ssl.ca.location"), Some("/explicit.pem"));
        let c = cfg(&[("producer.override.ssl.truststore.location", &pem)]);
        let p = producer_config(&w, Some(&c), "id");
        assert_eq!(p.get("ssl.ca.location"), Some(pem.as_str()));
        // A Java keystore cannot be read: dropped (with a warning), system CAs stay in use.
        let w = worker(&[("producer.ssl.truststore.location", jks.to_str().unwrap())]);
        let p = producer_config(&w, None, "id");
        assert_eq!(p.get("ssl.ca.location"), None);
        let w = worker(&[
            (
                "producer.ssl.truststore.certificates",
                "-----BEGIN CERTIFICATE-----",
            ),
            ("producer.ssl.keystore.certificate.chain", "chain"),
            ("producer.ssl.keystore.key", "key"),
        ]);
        let p = producer_config(&w, None, "id");
        assert_eq!(p.get("ssl.ca.pem"), Some("-----BEGIN CERTIFICATE-----"));
        assert_eq!(p.get("ssl.certificate.pem"), Some("chain"));
        assert_eq!(p.get("ssl.key.pem"), Some("key"));
    }

    /// librdkafka is built with TLS, SASL/SCRAM and every codec: clients with these settings
    /// are created (without, creation fails with "not available at build time").
    #[test]
    fn tls_scram_and_every_codec_are_built_in() {
        use rdkafka::producer::BaseProducer;
        for codec in ["gzip", "snappy", "lz4", "zstd"] {
            let w = worker(&[
                ("bootstrap.servers", "127.0.0.1:1"),
                ("producer.security.protocol", "SASL_SSL"),
                ("producer.sasl.mechanism", "SCRAM-SHA-512"),
                (
                    "producer.sasl.jaas.config",
                    "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"u\" password=\"p\";",
                ),
                ("producer.compression.type", codec),
            ]);
            let p: Result<BaseProducer, _> = producer_config(&w, None, "id").create();
            assert!(p.is_ok(), "{codec}: {:?}", p.err());
        }
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

    #[test]
    fn java_assignor_classes_become_librdkafkas_names() {
        assert_eq!(
            assignment_strategy(
                "org.apache.kafka.clients.consumer.CooperativeStickyAssignor",
                "t"
            ),
            "cooperative-sticky"
        );
        assert_eq!(
            assignment_strategy("org.apache.kafka.clients.consumer.RangeAssignor, org.apache.kafka.clients.consumer.CooperativeStickyAssignor", "t"),
            "range"
        );
        assert_eq!(
            assignment_strategy("roundrobin,range", "t"),
            "roundrobin,range"
        );
    }
}
