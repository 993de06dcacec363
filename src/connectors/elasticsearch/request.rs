//! The bulk request being built: NDJSON action/document pairs appended as records arrive, with
//! each record's byte range kept so a retry can resend only the items that failed.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

/// One record's action (and document) lines in a request body.
pub(super) struct Item {
    pub start: usize,
    pub end: usize,
    pub topic: Arc<str>,
    pub partition: i32,
    pub offset: i64,
    pub versioned: bool,
    /// Hash of index and document id for keyed writes (index, delete, upsert), else 0.
    pub ordered_key: u64,
}

impl Item {
    /// The record's coordinates, as messages name it: topic-partition@offset.
    pub fn coords(&self) -> String {
        format!("{}-{}@{}", self.topic, self.partition, self.offset)
    }
}

pub(super) struct Batch {
    pub id: u64,
    pub body: Vec<u8>,
    pub items: Vec<Item>,
    pub started: Instant,
}

impl Batch {
    pub fn new(id: u64, capacity: usize) -> Batch {
        Batch {
            id,
            body: Vec::with_capacity(capacity),
            items: Vec::new(),
            started: Instant::now(),
        }
    }

    /// Appends one encoded record to the open request.
    pub fn push(&mut self, bytes: &[u8], mut item: Item) {
        if self.items.is_empty() {
            self.started = Instant::now();
        }
        item.start = self.body.len();
        self.body.extend_from_slice(bytes);
        item.end = self.body.len();
        self.items.push(item);
    }

    /// The body that resends the `pending` items of a request whose whole body was `full`:
    /// `full` itself when nothing was resolved yet, so a first retry copies nothing.
    pub fn body_for(&self, full: &Bytes, pending: &[usize]) -> Bytes {
        if pending.len() == self.items.len() {
            return full.clone();
        }
        let mut b = Vec::with_capacity(
            pending
                .iter()
                .map(|&i| self.items[i].end - self.items[i].start)
                .sum(),
        );
        for &i in pending {
            b.extend_from_slice(&full[self.items[i].start..self.items[i].end]);
        }
        Bytes::from(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> Item {
        Item {
            start: 0,
            end: 0,
            topic: "t".into(),
            partition: 0,
            offset: 0,
            versioned: false,
            ordered_key: 0,
        }
    }

    #[test]
    fn a_retry_body_holds_only_the_pending_items() {
        let mut b = Batch::new(1, 0);
        for line in ["a\n", "bb\n", "ccc\n"] {
            b.push(line.as_bytes(), item());
        }
        let full = Bytes::from(std::mem::take(&mut b.body));
        assert_eq!(b.body_for(&full, &[0, 1, 2]), full);
        assert_eq!(&b.body_for(&full, &[0, 2])[..], b"a\nccc\n");
        assert_eq!(&b.body_for(&full, &[1])[..], b"bb\n");
    }
}
