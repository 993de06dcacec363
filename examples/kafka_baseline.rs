//! The broker's own produce and consume rate with the same client library kconnect uses
//! (librdkafka via rdkafka, same producer settings): the baseline the benchmark scripts print
//! next to kconnect's figures.
//!
//! kafka_baseline BOOTSTRAP TOPIC COUNT SIZE  →  produce_per_s=.. consume_per_s=..

use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

use kconnect::runtime::kafka::Deliveries;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: kafka_baseline BOOTSTRAP TOPIC COUNT SIZE");
        std::process::exit(2);
    }
    let (bootstrap, topic) = (&args[1], &args[2]);
    let count: usize = args[3].parse().expect("COUNT");
    let size: usize = args[4].parse().expect("SIZE");
    let payload = vec![b'x'; size];

    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("batch.num.messages", "10000")
        .set("batch.size", "1000000")
        .set("queue.buffering.max.messages", "100000")
        .create()
        .expect("producer");
    // Reports are served as kconnect's source serves them: rdkafka's own poll and flush sit
    // out their whole timeout after a report, which would understate the baseline.
    let deliveries = Deliveries::new(&producer);
    let t0 = Instant::now();
    for _ in 0..count {
        let mut rec = BaseRecord::<[u8], [u8]>::to(topic)
            .partition(0)
            .payload(&payload);
        loop {
            match producer.send(rec) {
                Ok(()) => break,
                Err((_, back)) => {
                    deliveries.serve(producer.client(), Duration::from_millis(5), |_, _| {});
                    rec = back;
                }
            }
        }
        deliveries.serve(producer.client(), Duration::ZERO, |_, _| {});
    }
    assert!(
        deliveries.flush(&producer, Duration::from_secs(120), |_, _| {}),
        "flush"
    );
    let produce_s = t0.elapsed().as_secs_f64();

    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "kafka-baseline")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "100")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let t1 = Instant::now();
    let mut n = 0usize;
    let mut last = Instant::now();
    while n < count && last.elapsed() < Duration::from_secs(10) {
        if let Some(Ok(_)) = consumer.poll(Duration::from_millis(100)) {
            n += 1;
            last = Instant::now();
        }
    }
    let consume_s = t1.elapsed().as_secs_f64();
    println!(
        "produced={count} produce_per_s={:.0} consumed={n} consume_per_s={:.0}",
        count as f64 / produce_s,
        n as f64 / consume_s
    );
}
