#![no_main]
//! One pgoutput message and the column values it carries.

libfuzzer_sys::fuzz_target!(|data: &[u8]| kconnect::connectors::postgres::fuzzing::pgoutput(data));
