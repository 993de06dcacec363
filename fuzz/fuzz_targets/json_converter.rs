#![no_main]
//! The JsonConverter reading record bytes, schemas.enable true and false.

libfuzzer_sys::fuzz_target!(|data: &[u8]| kconnect::convert::fuzzing::json_converter(data));
