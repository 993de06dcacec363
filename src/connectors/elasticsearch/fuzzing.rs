//! Entry point for the bulk-response fuzz target in `fuzz/` (cargo-fuzz) and for
//! `tests/fuzz_corpus.rs`, which replays its committed corpus in a plain `cargo test`. Panics
//! only where reading an answer panicked or failed without a message. Not an API; hidden from
//! the docs.

use super::response::{parse, Answer};

/// Bytes as the body of a 2xx answer to a bulk request, and every item's error as the sink
/// reports it.
pub fn bulk_response(data: &[u8]) {
    match parse(data) {
        Ok(Answer::Acknowledged) => {}
        Ok(Answer::Items(items)) => {
            for item in &items {
                let _ = (item.status, item.index.as_deref());
                if let Some(e) = &item.error {
                    let _ = e.is_malformed();
                    assert!(!e.text().is_empty());
                }
            }
        }
        Err(e) => assert!(e.len() > "the bulk answer is not the JSON".len()),
    }
}
