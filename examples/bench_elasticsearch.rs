//! Helper for `scripts/bench-elasticsearch`: produces the benchmark's records, measures the
//! broker's own consume rate, and runs the baseline, a minimal client posting the same
//! documents straight to `_bulk` with the same batch size and concurrency.
//!
//!   bench_elasticsearch produce  <bootstrap> <topic> <n>
//!   bench_elasticsearch consume  <bootstrap> <topic> <n>
//!   bench_elasticsearch baseline <es-url> <index> <topic> <n> <batch> <concurrency>

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use elasticsearch::http::headers::{HeaderMap, HeaderValue, CONTENT_TYPE};
use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use elasticsearch::http::{Method, Url};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, DeliveryResult, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};

/// The i-th document: about 300 bytes of customer-like JSON.
fn value(i: u64) -> String {
    format!(
        concat!(
            r#"{{"id":{i},"first_name":"Customer{i}","last_name":"Lastname{m}","#,
            r#""email":"customer{i}@example.com","phone":"+1-555-{p:04}","#,
            r#""address":{{"street":"{s} Main Street","city":"Springfield","zip":"{z:05}"}},"#,
            r#""balance":{b}.{c:02},"active":{a},"created_at":"2024-01-{d:02}T10:{mm:02}:00Z","#,
            r#""tags":["bench","kconnect","tier{t}"]}}"#
        ),
        i = i,
        m = i % 997,
        p = i % 10000,
        s = i % 500,
        z = i % 100000,
        b = i % 100000,
        c = i % 100,
        a = i % 2 == 0,
        d = i % 28 + 1,
        mm = i % 60,
        t = i % 5
    )
}

struct Counting(Arc<AtomicU64>);
impl ClientContext for Counting {}
impl ProducerContext for Counting {
    type DeliveryOpaque = ();
    fn delivery(&self, r: &DeliveryResult<'_>, _: ()) {
        if r.is_err() {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn produce(bootstrap: &str, topic: &str, n: u64) {
    let failed = Arc::new(AtomicU64::new(0));
    let p: ThreadedProducer<Counting> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "5")
        // noida-db's broker serves very large produce batches back as "Bad message format".
        .set("batch.size", "16384")
        .set("queue.buffering.max.messages", "200000")
        .create_with_context(Counting(failed.clone()))
        .expect("producer");
    let start = Instant::now();
    for i in 0..n {
        let v = value(i);
        let mut rec: BaseRecord<'_, [u8], [u8]> =
            BaseRecord::to(topic).partition(0).payload(v.as_bytes());
        loop {
            match p.send(rec) {
                Ok(()) => break,
                Err((_, back)) => {
                    std::thread::sleep(Duration::from_millis(1));
                    rec = back;
                }
            }
        }
    }
    use rdkafka::producer::Producer;
    p.flush(Duration::from_secs(120)).expect("flush");
    let f = failed.load(Ordering::Relaxed);
    assert_eq!(f, 0, "{f} records failed to produce");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "produced {n} records in {secs:.1} s ({:.0}/s)",
        n as f64 / secs
    );
}

fn consume(bootstrap: &str, topic: &str, n: u64) {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", bootstrap)
        .set("group.id", "bench-reader")
        .set("enable.auto.commit", "false");
    // BENCH_CONSUMER="key=value,..": librdkafka settings to try against a broker.
    for kv in std::env::var("BENCH_CONSUMER")
        .unwrap_or_default()
        .split(',')
    {
        if let Some((k, v)) = kv.split_once('=') {
            cfg.set(k.trim(), v.trim());
        }
    }
    let c: BaseConsumer = cfg.create().expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    c.assign(&tpl).unwrap();
    let start = Instant::now();
    let mut got = 0u64;
    let mut bytes = 0u64;
    while got < n {
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "consume timed out at {got}"
        );
        if let Some(m) = c.poll(Duration::from_millis(500)) {
            let m = m.unwrap_or_else(|e| panic!("consume failed after {got} records: {e}"));
            bytes += m.payload().map(|p| p.len()).unwrap_or(0) as u64;
            got += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "consumed {got} records ({:.0} bytes each) in {secs:.2} s: {:.0} records/s",
        bytes as f64 / got as f64,
        got as f64 / secs
    );
}

fn baseline(url: &str, index: &str, topic: &str, n: u64, batch: u64, concurrency: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let transport = TransportBuilder::new(SingleNodeConnectionPool::new(Url::parse(url).unwrap()))
        .disable_proxy()
        .build()
        .unwrap();
    let start = Instant::now();
    rt.block_on(async move {
        let sem = Arc::new(tokio::sync::Semaphore::new(concurrency));
        let mut tasks = Vec::new();
        let mut i = 0;
        while i < n {
            let end = (i + batch).min(n);
            let mut body = Vec::with_capacity(((end - i) * 400) as usize);
            for j in i..end {
                body.extend_from_slice(
                    format!("{{\"index\":{{\"_index\":\"{index}\",\"_id\":\"{topic}+0+{j}\"}}}}\n")
                        .as_bytes(),
                );
                body.extend_from_slice(value(j).as_bytes());
                body.push(b'\n');
            }
            let permit = sem.clone().acquire_owned().await.unwrap();
            let t = transport.clone();
            tasks.push(tokio::spawn(async move {
                let mut h = HeaderMap::new();
                h.insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/x-ndjson"),
                );
                let resp = t
                    .send(
                        Method::Post,
                        "/_bulk",
                        h,
                        None::<&()>,
                        Some(body),
                        Some(Duration::from_secs(60)),
                    )
                    .await
                    .expect("bulk request");
                let j: serde_json::Value = resp.json().await.expect("bulk answer");
                assert_eq!(j["errors"], serde_json::json!(false), "bulk errors");
                drop(permit);
            }));
            i = end;
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    let secs = start.elapsed().as_secs_f64();
    println!(
        "baseline indexed {n} documents in {secs:.2} s: {:.0} docs/s",
        n as f64 / secs
    );
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let arg = |i: usize| {
        a.get(i)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("missing argument {i}; see the file's doc comment"))
    };
    match arg(1) {
        "produce" => produce(arg(2), arg(3), arg(4).parse().unwrap()),
        "consume" => consume(arg(2), arg(3), arg(4).parse().unwrap()),
        "baseline" => baseline(
            arg(2),
            arg(3),
            arg(4),
            arg(5).parse().unwrap(),
            arg(6).parse().unwrap(),
            arg(7).parse().unwrap(),
        ),
        "value" => println!("{}", value(arg(2).parse().unwrap())),
        other => panic!("unknown command {other}"),
    }
}
