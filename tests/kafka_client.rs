//! What downstream consumers see of kconnect's producer and what its consumers can read, as
//! with Kafka Connect's Java clients: keyed records in the partition Java's default
//! partitioner picks, and compressed batches (zstd, lz4) both ways. Through Tansu.

mod support;

use std::path::{Path, PathBuf};

use support::{output_text, write};

/// Kafka's `Utils.murmur2`, as the Java producer hashes a record key.
fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let len = data.len();
    let mut h = SEED ^ len as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= (tail[2] as u32) << 16;
    }
    if tail.len() >= 2 {
        h ^= (tail[1] as u32) << 8;
    }
    if !tail.is_empty() {
        h ^= tail[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// `DefaultPartitioner` / `BuiltInPartitioner.partitionForKey`:
/// `toPositive(murmur2(key)) % numPartitions`.
fn java_partition(key: &[u8], partitions: i32) -> i32 {
    (murmur2(key) & 0x7fff_ffff) % partitions
}

/// CRC-32 (zlib's), as librdkafka's `consistent_random` partitioner hashes a key.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The expectations of Kafka's own `UtilsTest.testMurmur2`.
#[test]
fn murmur2_matches_kafkas_utils_test() {
    for (data, want) in [
        (b"21".as_slice(), -973_932_308),
        (b"foobar", -790_332_482),
        (b"a-little-bit-long-string", -985_981_536),
        (b"a-little-bit-longer-string", -1_486_304_829),
        (
            b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
            -58_897_971,
        ),
        (b"abc", 479_470_107),
    ] {
        assert_eq!(murmur2(data), want, "{}", String::from_utf8_lossy(data));
    }
    assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
}

/// A FileStream source whose lines become the record keys (HoistField, ValueToKey,
/// ExtractField: the key is the line, as a string).
fn keyed_source(
    dir: &Path,
    name: &str,
    input: &Path,
    topic: &str,
    extra: &[(&str, &str)],
) -> PathBuf {
    let mut config = serde_json::json!({
        "connector.class": "FileStreamSource",
        "file": input.display().to_string(),
        "topic": topic,
        "topic.creation.default.partitions": 3,
        "topic.creation.default.replication.factor": 1,
        "transforms": "hoist,key,unwrap",
        "transforms.hoist.type": "org.apache.kafka.connect.transforms.HoistField$Value",
        "transforms.hoist.field": "id",
        "transforms.key.type": "org.apache.kafka.connect.transforms.ValueToKey",
        "transforms.key.fields": "id",
        "transforms.unwrap.type": "org.apache.kafka.connect.transforms.ExtractField$Key",
        "transforms.unwrap.field": "id",
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
    });
    for (k, v) in extra {
        config[*k] = serde_json::Value::String(v.to_string());
    }
    write(
        dir,
        &format!("{name}.json"),
        &serde_json::json!({"name": name, "config": config}).to_string(),
    )
}

fn run_once(dir: &Path, bootstrap: &str, files: &[&Path]) -> std::process::Output {
    support::kconnect::once(dir, bootstrap, "offsets", files)
        .output()
        .unwrap()
}

/// Keyed records go where Kafka Connect's Java producer would put them, byte for byte of the
/// key as written; a connector can still choose librdkafka's own partitioner.
#[test]
fn keyed_records_land_in_the_partition_javas_partitioner_picks() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    // 150 distinct keys, each twice: the same key must land in the same partition.
    let text: String = (0..300)
        .map(|i| format!("customer-{}\n", i % 150))
        .collect();
    let input = write(d.path(), "in.txt", &text);
    let java = keyed_source(d.path(), "java", &input, "keyed", &[]);
    let crc = keyed_source(
        d.path(),
        "crc",
        &input,
        "keyed-crc",
        &[("producer.override.partitioner", "consistent_random")],
    );
    let o = run_once(d.path(), &k.bootstrap(), &[&java, &crc]);
    assert!(o.status.success(), "{}", output_text(&o));

    let got = support::kafka::consume_all(&k.bootstrap(), "keyed");
    assert_eq!(got.len(), 300);
    let mut used = std::collections::BTreeSet::new();
    for m in &got {
        let key = m.key.as_deref().expect("every record has a key");
        assert!(key.starts_with(b"customer-"), "{key:?}");
        assert_eq!(
            m.partition,
            java_partition(key, 3),
            "key {} is not where Java's partitioner puts it",
            String::from_utf8_lossy(key)
        );
        used.insert(m.partition);
    }
    assert_eq!(used.len(), 3, "keys spread over every partition");

    // The override: CRC32 placement, which disagrees with Java's for some of these keys, so
    // the assertions above could tell the two apart.
    let got = support::kafka::consume_all(&k.bootstrap(), "keyed-crc");
    assert_eq!(got.len(), 300);
    let mut differs = 0;
    for m in &got {
        let key = m.key.as_deref().unwrap();
        assert_eq!(m.partition, (crc32(key) % 3) as i32);
        if m.partition != java_partition(key, 3) {
            differs += 1;
        }
    }
    assert!(differs > 0);
}

/// A sink reads a topic another producer wrote zstd-compressed (librdkafka without zstd
/// cannot decompress it and the sink would stall on the first batch).
#[test]
fn sink_reads_a_topic_written_with_zstd() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    support::kafka::create_topic(&k.bootstrap(), "zstd-in", 1);
    let values: Vec<String> = (0..2000)
        .map(|i| format!("record {i} with some repetitive text to compress"))
        .collect();
    let recs: Vec<support::kafka::Rec<'_>> = values
        .iter()
        .map(|v| (None, Some(v.as_bytes()), vec![]))
        .collect();
    support::kafka::produce_with(
        &k.bootstrap(),
        &[("compression.type", "zstd".into())],
        "zstd-in",
        &recs,
    );
    let output = d.path().join("out.txt");
    let sink = write(
        d.path(),
        "sink.json",
        &serde_json::json!({"name": "sink", "connector.class": "FileStreamSink",
            "file": output.display().to_string(), "topics": "zstd-in",
            "value.converter": "org.apache.kafka.connect.storage.StringConverter"})
        .to_string(),
    );
    let o = run_once(d.path(), &k.bootstrap(), &[&sink]);
    assert!(o.status.success(), "{}", output_text(&o));
    let text = std::fs::read_to_string(&output).unwrap();
    let got: Vec<&str> = text.lines().collect();
    assert_eq!(got, values.iter().map(String::as_str).collect::<Vec<_>>());
}

/// Sources with `producer.override.compression.type` zstd and lz4 deliver every record.
#[test]
fn sources_produce_with_zstd_and_lz4() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let text: String = (0..1000).map(|i| format!("line {i}\n")).collect();
    let input = write(d.path(), "in.txt", &text);
    let mut files = Vec::new();
    for codec in ["zstd", "lz4"] {
        files.push(write(
            d.path(),
            &format!("{codec}.json"),
            &serde_json::json!({"name": codec, "connector.class": "FileStreamSource",
                "file": input.display().to_string(), "topic": format!("by-{codec}"),
                "topic.creation.default.partitions": 1,
                "topic.creation.default.replication.factor": 1,
                "value.converter": "org.apache.kafka.connect.storage.StringConverter",
                "producer.override.compression.type": codec})
            .to_string(),
        ));
    }
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let o = run_once(d.path(), &k.bootstrap(), &refs);
    assert!(o.status.success(), "{}", output_text(&o));
    for codec in ["zstd", "lz4"] {
        let got = support::kafka::consume_all(&k.bootstrap(), &format!("by-{codec}"));
        let values: Vec<String> = got.iter().map(|m| m.value_str().unwrap()).collect();
        let want: Vec<String> = (0..1000).map(|i| format!("line {i}")).collect();
        assert_eq!(values, want, "{codec}");
    }
}

/// A source task's producer context: reports come back with the number given at send.
struct Numbered;
impl rdkafka::client::ClientContext for Numbered {}
impl rdkafka::producer::ProducerContext for Numbered {
    type DeliveryOpaque = usize;
    fn delivery(&self, _: &rdkafka::message::DeliveryResult<'_>, _: usize) {}
}

/// A wait for delivery reports ends when they arrive, not when its time is out: rdkafka's own
/// `poll` and `flush` sit out their whole timeout after serving a report, which held every
/// wait of a source task for room in flight (10 ms) and for a `--once` run's last
/// acknowledgement (20 ms), and every dead letter queue flush (100 ms). Each wait here may
/// take a minute; the run must take a fraction of that.
#[test]
fn waits_for_delivery_reports_end_when_the_reports_arrive() {
    use kconnect::runtime::kafka::{Deliveries, TopicHandle};
    use rdkafka::producer::{BaseProducer, Producer};
    use std::time::{Duration, Instant};

    let kafka = support::kafka::tansu();
    let bootstrap = kafka.bootstrap();
    support::kafka::create_topic(&bootstrap, "reports", 1);
    let producer: BaseProducer<Numbered> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create_with_context(Numbered)
        .unwrap();
    let deliveries = Deliveries::new(&producer);
    let topic = TopicHandle::new(&producer, "reports").unwrap();
    let started = Instant::now();

    topic
        .send(&producer, None, Some(b"first"), None, None, 7)
        .unwrap();
    let mut reports = Vec::new();
    // The first event may be a log line; the report follows it.
    while reports.is_empty() && started.elapsed() < Duration::from_secs(120) {
        deliveries.serve(producer.client(), Duration::from_secs(60), |n, e| {
            reports.push((n, e.map(|e| e.to_string())))
        });
    }
    assert_eq!(reports, vec![(7, None)]);

    for n in 0..100 {
        let value = format!("record {n}");
        topic
            .send(&producer, None, Some(value.as_bytes()), None, None, n)
            .unwrap();
    }
    let mut numbers = Vec::new();
    let flushed = deliveries.flush(&producer, Duration::from_secs(60), |n, e| {
        assert!(e.is_none(), "record {n} failed: {e:?}");
        numbers.push(n);
    });
    assert!(flushed, "records still in flight after the flush");
    assert_eq!(
        numbers,
        (0..100).collect::<Vec<_>>(),
        "every report, in order"
    );
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(30),
        "the waits sat out their timeouts ({took:?})"
    );
}

/// A sink's consumer group is deleted with its offsets (what `DELETE /connectors/NAME/offsets`
/// does for a sink, as Connect's KIP-875 endpoint does), and deleting a group that is gone
/// already succeeds.
#[test]
fn a_sinks_consumer_group_is_deleted_with_its_offsets() {
    use kconnect::config::{ConnectorConfig, TargetState, WorkerConfig, WorkerOverrides};
    use kconnect::runtime::kafka::groups;

    let kafka = support::kafka::tansu();
    let bootstrap = kafka.bootstrap();
    support::kafka::create_topic(&bootstrap, "grouped", 1);
    let worker = WorkerConfig::load(&WorkerOverrides {
        bootstrap_servers: Some(bootstrap.clone()),
        ..Default::default()
    })
    .unwrap();
    let sink = ConnectorConfig {
        name: "gsink".into(),
        path: "gsink.json".into(),
        values: [("connector.class", "FileStreamSink"), ("topics", "grouped")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        written: Default::default(),
        initial_state: TargetState::Running,
    };
    groups::commit(&worker, &sink, &[("grouped".into(), 0, 5)]).unwrap();
    let offset = || support::kafka::group_offset(&bootstrap, "connect-gsink", "grouped", 0);
    assert_eq!(offset(), Some(5));
    groups::delete(&worker, &sink).unwrap();
    assert_eq!(offset(), None, "the group's offsets are gone");
    groups::delete(&worker, &sink).expect("a group that is gone is deleted already");
}
