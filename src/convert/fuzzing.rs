//! Entry point for the JsonConverter fuzz target in `fuzz/` (cargo-fuzz) and for
//! `tests/fuzz_corpus.rs`, which replays its committed corpus in a plain `cargo test`. Panics
//! only where the converter panicked or failed without a message. Not an API; hidden from the
//! docs.

use std::collections::BTreeMap;

use super::json::{options, JsonConverter};
use super::Converter;

/// Bytes read by the JsonConverter as a record's value: the first byte's bits pick
/// `schemas.enable` (bit 0 clear: true), `decimal.format=NUMERIC` (bit 1) and
/// `replace.null.with.default=false` (bit 2); the rest is the record. It is read twice (the
/// second time from the schema caches), and what it reads to is written back.
pub fn json_converter(data: &[u8]) {
    let Some((&flags, record)) = data.split_first() else {
        return;
    };
    let cfg = BTreeMap::from([
        ("schemas.enable".to_string(), (flags & 1 == 0).to_string()),
        (
            "decimal.format".to_string(),
            if flags & 2 == 0 { "BASE64" } else { "NUMERIC" }.to_string(),
        ),
        (
            "replace.null.with.default".to_string(),
            (flags & 4 == 0).to_string(),
        ),
    ]);
    let mut conv = JsonConverter::new(options(&cfg).expect("valid options"));
    for _ in 0..2 {
        match conv.to_connect("topic", Some(record)) {
            Ok((schema, value)) => {
                let mut out = Vec::new();
                if let Err(e) = conv.from_connect("topic", schema.as_ref(), &value, &mut out) {
                    assert!(!e.to_string().is_empty());
                }
            }
            Err(e) => assert!(!e.to_string().is_empty(), "an error without a message"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inputs the fuzzer found that panicked or hung in `Decimal`; kept in fuzz/corpus/ too.
    #[test]
    fn crash_inputs_are_errors() {
        let decimal = |scale: &str, payload: &str| {
            format!(
                r#"{{"schema":{{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{{"scale":"{scale}"}}}},"payload":{payload}}}"#
            )
        };
        for (flags, scale, payload) in [
            (0u8, "2", "1e-2147483648"),
            (0, "2", "1e99999999"),
            (2, "-2147483648", "\"AQ==\""),
            (2, "2000000000", "1"),
        ] {
            let mut data = vec![flags];
            data.extend(decimal(scale, payload).as_bytes());
            json_converter(&data);
        }
    }
}
