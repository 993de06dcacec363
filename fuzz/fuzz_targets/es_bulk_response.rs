#![no_main]
//! The Elasticsearch sink reading the answer to a bulk request.

libfuzzer_sys::fuzz_target!(|data: &[u8]| kconnect::connectors::elasticsearch::fuzzing::bulk_response(data));
