//! The broker's own produce ceiling for scripts/bench-postgres: samples messages from a topic
//! kconnect wrote into a file, then (on a fresh broker) produces `count` copies of them with the
//! producer settings kconnect uses (same librdkafka, acks=all) and prints messages/s.
//!
//!     bench_produce sample BOOTSTRAP TOPIC FILE
//!     bench_produce produce BOOTSTRAP TOPIC COUNT FILE
//!     bench_produce size BOOTSTRAP TOPIC      (mean key and value bytes of its first 10,000)

use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

use kconnect::runtime::kafka::Deliveries;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("sample") if args.len() == 5 => sample(&args[2], &args[3], &args[4]),
        Some("produce") if args.len() == 6 => produce(
            &args[2],
            &args[3],
            args[4].parse().expect("COUNT"),
            &args[5],
        ),
        Some("lag") if args.len() == 4 => lag(&args[2], &args[3]),
        Some("size") if args.len() == 4 => size(&args[2], &args[3]),
        _ => {
            eprintln!("usage: bench_produce sample BOOTSTRAP TOPIC FILE | produce BOOTSTRAP TOPIC COUNT FILE | lag BOOTSTRAP TOPIC | size BOOTSTRAP TOPIC");
            std::process::exit(2);
        }
    }
}

/// A consumer of partition 0 of `topic` from its first record.
fn from_start(bootstrap: &str, topic: &str, group: &str) -> BaseConsumer {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        // noida-db answers a fetch with the whole log, however large (librdkafka reports a
        // response over this limit as "Bad message format").
        .set("receive.message.max.bytes", "2000000000")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Offset(0))
        .expect("partition");
    consumer.assign(&tpl).expect("assign");
    consumer
}

/// How long each change event of a topic took from its commit to its producer: the record's
/// timestamp (set when kconnect produced it) minus `source.ts_ms` (the commit time), for
/// scripts/bench-incremental's concurrent stream. Reads until the topic is quiet for 3 s.
fn lag(bootstrap: &str, topic: &str) {
    let consumer = from_start(bootstrap, topic, "bench-lag");
    let mut lags = Vec::new();
    let mut quiet = Instant::now();
    while quiet.elapsed() < Duration::from_secs(3) {
        let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        quiet = Instant::now();
        let Some(at) = m.timestamp().to_millis() else {
            continue;
        };
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(m.payload().unwrap_or_default())
        else {
            continue;
        };
        let body = v.get("payload").unwrap_or(&v);
        if let Some(commit) = body["source"]["ts_ms"].as_i64() {
            lags.push(at - commit);
        }
    }
    assert!(!lags.is_empty(), "no change event in {topic}");
    if std::env::var("BENCH_LAG_TRACE").is_ok() {
        let step = (lags.len() / 20).max(1);
        let trace: Vec<String> = lags.iter().step_by(step).map(|l| l.to_string()).collect();
        eprintln!("lag in topic order: {}", trace.join(" "));
    }
    lags.sort_unstable();
    let pct = |p: usize| lags[(lags.len() - 1) * p / 100];
    println!(
        "count={} p50_ms={} p99_ms={} max_ms={}",
        lags.len(),
        pct(50),
        pct(99),
        lags[lags.len() - 1]
    );
}

/// Mean key and value sizes of the first 10,000 messages (or as many as come within 30 s).
fn size(bootstrap: &str, topic: &str) {
    let consumer = from_start(bootstrap, topic, "bench-size");
    let (mut n, mut keys, mut values) = (0u64, 0u64, 0u64);
    let start = Instant::now();
    while n < 10_000 && start.elapsed() < Duration::from_secs(30) {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            keys += m.key().map_or(0, |k| k.len() as u64);
            values += m.payload().map_or(0, |v| v.len() as u64);
            n += 1;
        }
    }
    assert!(n > 0, "no message in {topic}");
    println!(
        "count={n} key_bytes={} value_bytes={}",
        keys / n,
        values / n
    );
}

fn sample(bootstrap: &str, topic: &str, file: &str) {
    let consumer = from_start(bootstrap, topic, "bench-produce-sampler");
    let mut out = Vec::new();
    let mut n = 0;
    let start = Instant::now();
    while n < 1000 && start.elapsed() < Duration::from_secs(30) {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                for part in [m.key().unwrap_or_default(), m.payload().unwrap_or_default()] {
                    out.extend_from_slice(&(part.len() as u32).to_be_bytes());
                    out.extend_from_slice(part);
                }
                n += 1;
            }
            Some(Err(e)) => eprintln!("sampling {topic}: {e}"),
            None => {}
        }
    }
    assert!(n > 0, "no message to sample in {topic}");
    std::fs::write(file, out).expect("write samples");
}

fn produce(bootstrap: &str, target: &str, count: usize, file: &str) {
    let raw = std::fs::read(file).expect("samples");
    let mut parts = Vec::new();
    let mut i = 0;
    while i + 4 <= raw.len() {
        let n = u32::from_be_bytes(raw[i..i + 4].try_into().unwrap()) as usize;
        parts.push(raw[i + 4..i + 4 + n].to_vec());
        i += 4 + n;
    }
    let samples: Vec<(Vec<u8>, Vec<u8>)> = parts
        .chunks(2)
        .map(|c| (c[0].clone(), c[1].clone()))
        .collect();
    let avg = samples
        .iter()
        .map(|(k, v)| k.len() + v.len())
        .sum::<usize>()
        / samples.len();
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("batch.num.messages", "10000")
        .set("batch.size", "1000000")
        .set("queue.buffering.max.messages", "100000");
    // BENCH_PRODUCER_CONFIG="k=v,..." measures the ceiling under other producer settings
    // (compression, for instance), to set beside a kconnect run with the same overrides.
    for kv in std::env::var("BENCH_PRODUCER_CONFIG")
        .unwrap_or_default()
        .split(',')
    {
        if let Some((k, v)) = kv.split_once('=') {
            config.set(k.trim(), v.trim());
        }
    }
    let producer: BaseProducer = config.create().expect("producer");
    // Reports are served as kconnect's source serves them: rdkafka's own poll and flush sit
    // out their whole timeout after a report, which would understate the ceiling.
    let deliveries = Deliveries::new(&producer);
    let start = Instant::now();
    for i in 0..count {
        let (k, v) = &samples[i % samples.len()];
        let mut rec = BaseRecord::to(target).key(&k[..]).payload(&v[..]);
        loop {
            match producer.send(rec) {
                Ok(()) => break,
                Err((_, back)) => {
                    deliveries.serve(producer.client(), Duration::from_millis(5), |_, _| {});
                    rec = back;
                }
            }
        }
        if i % 1000 == 0 {
            deliveries.serve(producer.client(), Duration::ZERO, |_, _| {});
        }
    }
    assert!(
        deliveries.flush(&producer, Duration::from_secs(300), |_, _| {}),
        "flush"
    );
    let secs = start.elapsed().as_secs_f64();
    println!(
        "messages={count} avg_bytes={avg} secs={secs:.2} messages_per_s={:.0}",
        count as f64 / secs
    );
}
