//! kconnect's AvroConverter against Confluent's AvroConverter 7.0.16: for every case of
//! tests/fixtures/avro/goldens.jsonl (written by scripts/gen-avro-goldens with the real
//! converter), the same registered schema text, the same bytes, and the same Connect data read
//! back from Confluent's bytes. Runs without Java.

mod support;

use kconnect::convert::find_converter;
use kconnect::convert::schema_registry::SchemaKind;
use support::converter_goldens::{reads_what_confluent_writes, writes_what_confluent_writes};

const CLASS: &str = "io.confluent.connect.avro.AvroConverter";
const GOLDENS: &str = include_str!("fixtures/avro/goldens.jsonl");

#[test]
fn writes_the_schemas_and_bytes_confluent_writes() {
    writes_what_confluent_writes(CLASS, SchemaKind::Avro, GOLDENS);
}

#[test]
fn reads_confluents_bytes_as_confluent_does() {
    reads_what_confluent_writes(CLASS, SchemaKind::Avro, GOLDENS);
}

#[test]
fn is_listed_as_a_converter() {
    let p = find_converter("AvroConverter").expect("alias");
    assert_eq!(p.desc.class, CLASS);
}
