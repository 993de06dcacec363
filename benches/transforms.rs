//! Measures what the transform chain costs the worker: Debezium-shaped change events serialized
//! by JsonConverter (schemas.enable=true) as they are, and after the chain
//! ExtractNewRecordState → ReplaceField$Value → InsertField$Value. Prints records/s of both and
//! the chain's cost. Run with `scripts/bench-transforms` (release mode).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kconnect::convert::json::{JsonConverter, JsonOptions};
use kconnect::convert::Converter;
use kconnect::data::{
    schemas, ConnectRecord, Decimal, Schema, SchemaRef, SchemaType, Struct, Value,
};
use kconnect::transform::TransformationChain;

const TOTAL: usize = 1_000_000;
const BATCH: usize = 50_000;

struct Shapes {
    key: SchemaRef,
    row: SchemaRef,
    source: SchemaRef,
    envelope: SchemaRef,
}

fn shapes() -> Shapes {
    let p = "dbserver1.public.customers";
    let key = Schema::struct_builder()
        .name(format!("{p}.Key"))
        .field("id", schemas::int32())
        .build();
    let ts = Schema::builder(SchemaType::Int64)
        .name("io.debezium.time.MicroTimestamp")
        .version(1)
        .build();
    let row = Schema::struct_builder()
        .name(format!("{p}.Value"))
        .optional()
        .field("id", schemas::int32())
        .field("first_name", schemas::string())
        .field("last_name", schemas::string())
        .field("email", schemas::optional_string())
        .field("created_at", ts)
        .field(
            "balance",
            Schema::decimal(2)
                .parameter("connect.decimal.precision", "12")
                .optional()
                .build(),
        )
        .field("active", schemas::boolean())
        .field("score", schemas::optional_float64())
        .field("age", Schema::primitive(SchemaType::Int16, true))
        .field("note", schemas::optional_string())
        .build();
    let s = schemas::string;
    let source = Schema::struct_builder()
        .name("io.debezium.connector.postgresql.Source")
        .field("version", s())
        .field("connector", s())
        .field("name", s())
        .field("ts_ms", schemas::int64())
        .field(
            "snapshot",
            Schema::builder(SchemaType::String)
                .optional()
                .name("io.debezium.data.Enum")
                .version(1)
                .parameter("allowed", "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental")
                .default_value(Value::from("false"))
                .build(),
        )
        .field("db", s())
        .field("sequence", schemas::optional_string())
        .field("ts_us", schemas::optional_int64())
        .field("ts_ns", schemas::optional_int64())
        .field("schema", s())
        .field("table", s())
        .field("txId", schemas::optional_int64())
        .field("lsn", schemas::optional_int64())
        .field("xmin", schemas::optional_int64())
        .build();
    let block = Schema::struct_builder()
        .name("event.block")
        .optional()
        .version(1)
        .field("id", s())
        .field("total_order", schemas::int64())
        .field("data_collection_order", schemas::int64())
        .build();
    let envelope = Schema::struct_builder()
        .name(format!("{p}.Envelope"))
        .version(2)
        .field("before", row.clone())
        .field("after", row.clone())
        .field("source", source.clone())
        .field("transaction", block)
        .field("op", s())
        .field("ts_ms", schemas::optional_int64())
        .field("ts_us", schemas::optional_int64())
        .field("ts_ns", schemas::optional_int64())
        .build();
    Shapes {
        key,
        row,
        source,
        envelope,
    }
}

fn event(s: &Shapes, i: usize) -> ConnectRecord {
    let id = i as i32;
    let mut row = Struct::new(s.row.clone());
    row.values = vec![
        Value::Int32(id),
        Value::String(format!("First{i}").into()),
        Value::String(format!("Last{i}").into()),
        Value::String(format!("user{i}@example.com").into()),
        Value::Int64(1_700_000_000_000_000 + i as i64),
        Value::Decimal(Decimal {
            unscaled: (i as i64 * 7 + 1234).into(),
            scale: 2,
        }),
        Value::Boolean(i % 2 == 0),
        Value::Float64(i as f64 * 0.5),
        Value::Int16((i % 90) as i16),
        if i % 3 == 0 {
            Value::Null
        } else {
            Value::String("regular customer".into())
        },
    ];
    let mut src = Struct::new(s.source.clone());
    let lsn = 24_023_128 + i as i64 * 64;
    src.values = vec![
        "3.6.3".into(),
        "postgresql".into(),
        "dbserver1".into(),
        Value::Int64(1_700_000_000_000 + i as i64),
        "false".into(),
        "inventory".into(),
        Value::String(format!("[\"{}\",\"{}\"]", lsn - 64, lsn).into()),
        Value::Int64(1_700_000_000_000_000 + i as i64),
        Value::Int64(1_700_000_000_000_000_000 + i as i64),
        "public".into(),
        "customers".into(),
        Value::Int64(780 + i as i64),
        Value::Int64(lsn),
        Value::Null,
    ];
    let (op, before) = if i % 4 == 3 {
        ("u", Value::Null)
    } else {
        ("c", Value::Null)
    };
    let mut env = Struct::new(s.envelope.clone());
    env.values = vec![
        before,
        Value::Struct(row),
        Value::Struct(src),
        Value::Null,
        op.into(),
        Value::Int64(1_700_000_000_100 + i as i64),
        Value::Int64(1_700_000_000_100_000 + i as i64),
        Value::Int64(1_700_000_000_100_000_000 + i as i64),
    ];
    let mut key = Struct::new(s.key.clone());
    key.values = vec![Value::Int32(id)];
    ConnectRecord::new("dbserver1.public.customers")
        .with_key(Some(s.key.clone()), Value::Struct(key))
        .with_value(Some(s.envelope.clone()), Value::Struct(env))
}

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
