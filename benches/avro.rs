//! Avro and Protobuf against JSON with schemas for Debezium-shaped change events: records/s of
//! the value converter writing (fromConnectData) and reading (toConnectData), and bytes per
//! record, for JsonConverter (schemas.enable=true), AvroConverter and ProtobufConverter (an
//! in-process mock:// registry, so the figure is the converter's own cost; a real registry is
//! asked once per schema). Run with `cargo bench --bench avro` (release mode).

use std::time::Instant;

use kconnect::convert::json::{JsonConverter, JsonOptions};
use kconnect::convert::{find_converter, Converter};
use kconnect::data::ConnectRecord;

const TOTAL: usize = 200_000;

#[path = "support/events.rs"]
mod events;
use events::{event, shapes};

fn measure(name: &str, conv: &mut dyn Converter, records: &[ConnectRecord]) {
    let mut out = Vec::with_capacity(4096);
    let mut bytes = 0usize;
    let mut written: Vec<Vec<u8>> = Vec::with_capacity(1000);
    let start = Instant::now();
    for (i, r) in records.iter().enumerate() {
        conv.from_connect(&r.topic, r.value_schema.as_ref(), &r.value, &mut out)
            .unwrap();
        bytes += out.len();
        if i < 1000 {
            written.push(out.clone());
        }
    }
    let write = records.len() as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    let rounds = records.len() / written.len();
    for _ in 0..rounds {
        for w in &written {
            std::hint::black_box(
                conv.to_connect("dbserver1.public.customers", Some(w))
                    .unwrap(),
            );
        }
    }
    let read = (rounds * written.len()) as f64 / start.elapsed().as_secs_f64();
    println!(
        "{name:<28} write {:>9.0} records/s   read {:>9.0} records/s   {:>5.0} bytes/record",
        write,
        read,
        bytes as f64 / records.len() as f64
    );
}

fn main() {
    let s = shapes();
    let records: Vec<ConnectRecord> = (0..TOTAL).map(|i| event(&s, i)).collect();
    let mut json = JsonConverter::new(JsonOptions {
        schemas_enable: true,
        decimal_numeric: false,
        replace_null_with_default: true,
        cache_size: 1000,
    });
    measure("JsonConverter (schemas)", &mut json, &records);
    let cfg = [(
        "schema.registry.url".to_string(),
        "mock://bench".to_string(),
    )]
    .into();
    let mut avro = (find_converter("AvroConverter").unwrap().create)(&cfg, false).unwrap();
    measure("AvroConverter", avro.as_mut(), &records);
    let mut protobuf = (find_converter("ProtobufConverter").unwrap().create)(&cfg, false).unwrap();
    measure("ProtobufConverter", protobuf.as_mut(), &records);
}
