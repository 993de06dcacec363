#![no_main]
//! Connector files, JSON and .properties, with their config provider references.

libfuzzer_sys::fuzz_target!(|data: &[u8]| kconnect::config::fuzzing::connector_file(data));
