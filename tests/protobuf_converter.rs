//! kconnect's ProtobufConverter against Confluent's ProtobufConverter 7.0.16: for every case
//! of tests/fixtures/protobuf/goldens.jsonl (written by scripts/gen-protobuf-goldens with the
//! real converter), the same registered schema text, the same bytes (message indexes
//! included), and the same Connect data read back from Confluent's bytes, also for messages of
//! hand-written schemas that Confluent's serializer wrote ("foreign" cases). Runs without Java.

mod support;

use kconnect::convert::find_converter;
use kconnect::convert::schema_registry::SchemaKind;
use support::converter_goldens::{reads_what_confluent_writes, writes_what_confluent_writes};

const CLASS: &str = "io.confluent.connect.protobuf.ProtobufConverter";
const GOLDENS: &str = include_str!("fixtures/protobuf/goldens.jsonl");

#[test]
fn writes_the_schemas_and_bytes_confluent_writes() {
    writes_what_confluent_writes(CLASS, SchemaKind::Protobuf, GOLDENS);
}

#[test]
fn reads_confluents_bytes_as_confluent_does() {
    reads_what_confluent_writes(CLASS, SchemaKind::Protobuf, GOLDENS);
}

#[test]
fn is_listed_as_a_converter() {
    let p = find_converter("ProtobufConverter").expect("alias");
    assert_eq!(p.desc.class, CLASS);
}
