#![no_main]
//! Worker files, JSON and .properties: keys, config.providers, the settings read.

libfuzzer_sys::fuzz_target!(|data: &[u8]| kconnect::config::fuzzing::worker_file(data));
