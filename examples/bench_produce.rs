//! The broker's own produce ceiling for scripts/bench-postgres: samples messages from a topic
//! kconnect wrote, then produces `count` copies of them with the producer settings kconnect
//! uses (same librdkafka, acks=all) and prints messages/s.
//!
//!     cargo run --release --example bench_produce -- BOOTSTRAP SAMPLE_TOPIC TARGET_TOPIC COUNT

use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: bench_produce BOOTSTRAP SAMPLE_TOPIC TARGET_TOPIC COUNT");
        std::process::exit(2);
    }
    let (bootstrap, sample_topic, target, count) = (
        &args[1],
        &args[2],
        &args[3],
        args[4].parse::<usize>().expect("COUNT"),
    );
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "bench-produce-sampler")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(sample_topic, 0, Offset::Offset(0))
        .expect("partition");
    consumer.assign(&tpl).expect("assign");
    let mut samples: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let start = Instant::now();
    while samples.len() < 1000 && start.elapsed() < Duration::from_secs(30) {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => samples.push((
                m.key().unwrap_or_default().to_vec(),
                m.payload().unwrap_or_default().to_vec(),
            )),
            Some(Err(e)) => eprintln!("sampling {sample_topic}: {e}"),
            None => {}
        }
    }
    assert!(
        !samples.is_empty(),
        "no message to sample in {sample_topic}"
    );
    let avg = samples
        .iter()
        .map(|(k, v)| k.len() + v.len())
        .sum::<usize>()
        / samples.len();
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("batch.num.messages", "10000")
        .set("batch.size", "1000000")
        .set("queue.buffering.max.messages", "100000")
        .create()
        .expect("producer");
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
