//! The broker's own produce ceiling for scripts/bench-postgres: samples messages from a topic
//! kconnect wrote into a file, then (on a fresh broker) produces `count` copies of them with the
//! producer settings kconnect uses (same librdkafka, acks=all) and prints messages/s.
//!
//!     bench_produce sample BOOTSTRAP TOPIC FILE
//!     bench_produce produce BOOTSTRAP TOPIC COUNT FILE

use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

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
        _ => {
            eprintln!("usage: bench_produce sample BOOTSTRAP TOPIC FILE | produce BOOTSTRAP TOPIC COUNT FILE");
            std::process::exit(2);
        }
    }
}

fn sample(bootstrap: &str, topic: &str, file: &str) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "bench-produce-sampler")
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
    let start = Instant::now();
    for i in 0..count {
        let (k, v) = &samples[i % samples.len()];
        let mut rec = BaseRecord::to(target).key(&k[..]).payload(&v[..]);
        loop {
            match producer.send(rec) {
                Ok(()) => break,
                Err((_, back)) => {
                    producer.poll(Duration::from_millis(5));
                    rec = back;
                }
            }
        }
        if i % 1000 == 0 {
            producer.poll(Duration::ZERO);
        }
    }
    producer.flush(Duration::from_secs(300)).expect("flush");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "messages={count} avg_bytes={avg} secs={secs:.2} messages_per_s={:.0}",
        count as f64 / secs
    );
}
