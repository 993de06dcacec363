//! Measures what the transform chain costs the worker: Debezium-shaped change events serialized
//! by JsonConverter (schemas.enable=true) as they are, and after the chain
//! ExtractNewRecordState → ReplaceField$Value → InsertField$Value. Prints records/s of both and
//! the chain's cost. Run with `scripts/bench-transforms` (release mode).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kconnect::convert::json::{JsonConverter, JsonOptions};
use kconnect::convert::Converter;
use kconnect::data::ConnectRecord;
use kconnect::transform::TransformationChain;

const TOTAL: usize = 1_000_000;
const BATCH: usize = 50_000;

#[path = "support/events.rs"]
mod events;
use events::{event, shapes, Shapes};

fn chain(with_transforms: bool) -> TransformationChain {
    let mut values: BTreeMap<String, String> =
        [("name", "bench"), ("connector.class", "FileStreamSink")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    if with_transforms {
        for (k, v) in [
            ("transforms", "unwrap,fields,origin"),
            (
                "transforms.unwrap.type",
                "io.debezium.transforms.ExtractNewRecordState",
            ),
            (
                "transforms.fields.type",
                "org.apache.kafka.connect.transforms.ReplaceField$Value",
            ),
            ("transforms.fields.exclude", "note"),
            ("transforms.fields.renames", "email:email_address"),
            (
                "transforms.origin.type",
                "org.apache.kafka.connect.transforms.InsertField$Value",
            ),
            ("transforms.origin.static.field", "origin"),
            ("transforms.origin.static.value", "postgres"),
        ] {
            values.insert(k.into(), v.into());
        }
    }
    TransformationChain::from_config(&values)
        .unwrap_or_else(|p| panic!("bench chain config: {p:?}"))
}

/// What one measured pass does with each record.
#[derive(Clone, Copy, PartialEq)]
enum Pass {
    /// Serialize key and value, as the worker does without transforms.
    Plain,
    /// The chain, then serialization.
    Chained,
    /// The chain only (the record is dropped afterwards).
    ChainOnly,
    /// Nothing but dropping the record: the allocator's share every pass pays.
    DropOnly,
}

struct Lane {
    pass: Pass,
    chain: TransformationChain,
    keys: JsonConverter,
    values: JsonConverter,
    kbuf: Vec<u8>,
    vbuf: Vec<u8>,
    elapsed: Duration,
    bytes: usize,
}

impl Lane {
    fn new(pass: Pass) -> Lane {
        Lane {
            pass,
            chain: chain(matches!(pass, Pass::Chained | Pass::ChainOnly)),
            keys: JsonConverter::new(JsonOptions::default()),
            values: JsonConverter::new(JsonOptions::default()),
            kbuf: Vec::with_capacity(1024),
            vbuf: Vec::with_capacity(4096),
            elapsed: Duration::ZERO,
            bytes: 0,
        }
    }

    fn process(&mut self, batch: Vec<ConnectRecord>) {
        let t0 = Instant::now();
        for record in batch {
            if self.pass == Pass::DropOnly {
                drop(record);
                continue;
            }
            let record = if self.chain.is_empty() {
                record
            } else {
                match self.chain.apply(record).expect("chain") {
                    Some(r) => r,
                    None => continue,
                }
            };
            if self.pass == Pass::ChainOnly {
                self.bytes += record.topic.len();
                continue;
            }
            self.keys
                .from_connect(
                    &record.topic,
                    record.key_schema.as_ref(),
                    &record.key,
                    &mut self.kbuf,
                )
                .expect("key");
            self.values
                .from_connect(
                    &record.topic,
                    record.value_schema.as_ref(),
                    &record.value,
                    &mut self.vbuf,
                )
                .expect("value");
            self.bytes += self.kbuf.len() + self.vbuf.len();
        }
        self.elapsed += t0.elapsed();
    }
}

/// Runs the passes batch by batch, interleaved, so that load from other processes on a shared
/// machine falls on all of them alike.
fn run_all(s: &Shapes) -> Vec<Lane> {
    let mut lanes: Vec<Lane> = [Pass::Plain, Pass::Chained, Pass::ChainOnly, Pass::DropOnly]
        .into_iter()
        .map(Lane::new)
        .collect();
    for start in (0..TOTAL).step_by(BATCH) {
        for lane in &mut lanes {
            // Building events is the source connector's work, not the worker's: untimed.
            let batch: Vec<ConnectRecord> = (start..start + BATCH).map(|i| event(s, i)).collect();
            lane.process(batch);
        }
    }
    lanes
}

fn main() {
    let s = shapes();
    // `cargo test --all-targets` runs this file too, without `--bench`: a smoke run proves the
    // chain works without spending minutes on an unoptimised 1M-record measurement.
    if !std::env::args().any(|a| a == "--bench") {
        assert!(run_small(&s) > 0);
        println!("transforms bench: smoke run only (use scripts/bench-transforms to measure)");
        return;
    }
    // Warm up allocator and caches so the first measured batch is not penalised.
    let _ = run_small(&s);
    let lanes = run_all(&s);
    let rate = |d: Duration| TOTAL as f64 / d.as_secs_f64();
    let per = |d: Duration| d.as_nanos() as f64 / TOTAL as f64;
    let (plain, chained, only, dropped) = (&lanes[0], &lanes[1], &lanes[2], &lanes[3]);
    let (a, b) = (rate(plain.elapsed), rate(chained.elapsed));
    println!("records: {TOTAL} Debezium change events (10 columns, PostgreSQL source block), JsonConverter schemas.enable=true");
    println!(
        "(a) no transforms:                      {:>9.0} records/s  ({:.2} s, {:.0} MB of JSON)",
        a,
        plain.elapsed.as_secs_f64(),
        plain.bytes as f64 / 1e6
    );
    println!(
        "(b) ENRS -> ReplaceField -> InsertField: {:>9.0} records/s  ({:.2} s, {:.0} MB of JSON)",
        b,
        chained.elapsed.as_secs_f64(),
        chained.bytes as f64 / 1e6
    );
    println!("chain cost: {:.1}% of throughput", (1.0 - b / a) * 100.0);
    // The flattened row serializes to less JSON than the envelope, which hides part of the
    // chain's own cost in (a) vs (b); these lines show it directly.
    println!(
        "(c) the chain alone (then drop):         {:>9.0} records/s  ({:.0} ns/record)",
        rate(only.elapsed),
        per(only.elapsed)
    );
    println!(
        "(d) dropping the event alone:           {:>9.0} records/s  ({:.0} ns/record); chain minus drop: {:.0} ns/record",
        rate(dropped.elapsed),
        per(dropped.elapsed),
        per(only.elapsed) - per(dropped.elapsed)
    );
}

fn run_small(s: &Shapes) -> usize {
    let mut chain = chain(true);
    let mut conv = JsonConverter::new(JsonOptions::default());
    let mut buf = Vec::new();
    let mut n = 0;
    for i in 0..10_000 {
        if let Some(r) = chain.apply(event(s, i)).expect("chain") {
            conv.from_connect(&r.topic, r.value_schema.as_ref(), &r.value, &mut buf)
                .expect("value");
            n += buf.len();
        }
    }
    n
}
