#![no_main]
//! The replication stream: backend message framing, CopyData, XLogData, keepalives, errors.

libfuzzer_sys::fuzz_target!(|data: &[u8]| kconnect::connectors::postgres::fuzzing::replication_stream(data));
