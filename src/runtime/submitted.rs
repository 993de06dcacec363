//! Which source offsets may be committed: per source partition, the offset of the last record
//! in the unbroken run of acknowledged records at the head of its queue (Connect's
//! `SubmittedRecords`). A record acknowledged out of order waits until those before it are.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::data::{OffsetEntry, SourceOffset, SourcePartition};

/// Identifies a submitted record: its partition queue and its sequence number there. Packed
/// into one `usize` so it can ride along as the producer's delivery opaque.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket(usize);

const SEQ_BITS: u32 = 40;
const SEQ_MASK: usize = (1 << SEQ_BITS) - 1;

impl Ticket {
    pub fn as_usize(self) -> usize {
        self.0
    }
    pub fn from_usize(v: usize) -> Ticket {
        Ticket(v)
    }
    fn partition(self) -> usize {
        self.0 >> SEQ_BITS
    }
    fn seq(self) -> usize {
        self.0 & SEQ_MASK
    }
}

/// A record in flight: how many of the queue's offset entries are its offset.
struct Entry {
    entries: u32,
    acked: bool,
}

struct PartitionQueue {
    partition: SourcePartition,
    /// Sequence number of `queue[0]`.
    head_seq: usize,
    queue: VecDeque<Entry>,
    /// The offsets of the records in `queue`, one after the other. A `SourceOffset` keeps
    /// room for six entries inline (a few hundred bytes); a FileStream offset has one. Kept
    /// whole, 20,000 FileStream records in flight held 6 MB of offsets, and moving them in and out of
    /// the queue was a twentieth of the source task's thread.
    offsets: VecDeque<OffsetEntry>,
    /// How many entries at the front of `offsets` are the offset to commit next, ahead of
    /// those of the records in `queue` (`None`: none since the last take). Left in place until
    /// taken: rebuilding a `SourceOffset` at every acknowledgement, to be replaced by the
    /// next one, was most of what an acknowledgement cost.
    committable: Option<u32>,
}

#[derive(Default)]
pub struct SubmittedRecords {
    partitions: Vec<PartitionQueue>,
    in_flight: usize,
    last_lookup: Option<usize>,
}

impl SubmittedRecords {
    pub fn new() -> SubmittedRecords {
        SubmittedRecords::default()
    }

    /// Records still waiting for Kafka.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    fn partition_index(&mut self, partition: &SourcePartition) -> usize {
        // Connectors reuse one Arc per partition, so the pointer check almost always hits.
        if let Some(i) = self.last_lookup {
            if Arc::ptr_eq(&self.partitions[i].partition, partition) {
                return i;
            }
        }
        let i = match self
            .partitions
            .iter()
            .position(|p| Arc::ptr_eq(&p.partition, partition) || p.partition == *partition)
        {
            Some(i) => i,
            None => {
                self.partitions.push(PartitionQueue {
                    partition: partition.clone(),
                    head_seq: 0,
                    queue: VecDeque::new(),
                    offsets: VecDeque::new(),
                    committable: None,
                });
                self.partitions.len() - 1
            }
        };
        self.last_lookup = Some(i);
        i
    }

    /// Registers a record about to be sent.
    pub fn submit(&mut self, partition: &SourcePartition, offset: &mut SourceOffset) -> Ticket {
        let i = self.partition_index(partition);
        let q = &mut self.partitions[i];
        let seq = (q.head_seq + q.queue.len()) & SEQ_MASK;
        let entries = offset.len() as u32;
        offset.move_entries(&mut q.offsets);
        q.queue.push_back(Entry {
            entries,
            acked: false,
        });
        self.in_flight += 1;
        Ticket((i << SEQ_BITS) | seq)
    }

    /// A record that needs no delivery (filtered out, tolerated failure): done at once.
    pub fn submit_done(&mut self, partition: &SourcePartition, offset: &mut SourceOffset) {
        let t = self.submit(partition, offset);
        self.ack(t);
    }

    pub fn ack(&mut self, t: Ticket) {
        let Some(q) = self.partitions.get_mut(t.partition()) else {
            return;
        };
        let idx = t.seq().wrapping_sub(q.head_seq) & SEQ_MASK;
        if let Some(e) = q.queue.get_mut(idx) {
            if !e.acked {
                e.acked = true;
                self.in_flight -= 1;
            }
        }
        // The acknowledged head goes; only the last one's offset is kept, to commit.
        let done = q.queue.iter().take_while(|e| e.acked).count();
        if done > 0 {
            let before: usize = q.queue.range(..done - 1).map(|e| e.entries as usize).sum();
            let superseded = q.committable.unwrap_or(0) as usize;
            q.offsets.drain(..superseded + before);
            q.committable = Some(q.queue[done - 1].entries);
            q.queue.drain(..done);
            q.head_seq = (q.head_seq + done) & SEQ_MASK;
        }
    }

    /// Whether some offset became committable since the last `take_committable`.
    pub fn has_committable(&self) -> bool {
        self.partitions.iter().any(|q| q.committable.is_some())
    }

    /// Takes the offsets that became committable since the last call.
    pub fn take_committable(&mut self) -> Vec<(SourcePartition, SourceOffset)> {
        self.partitions
            .iter_mut()
            .filter_map(|q| {
                let n = q.committable.take()? as usize;
                Some((q.partition.clone(), q.offsets.drain(..n).collect()))
            })
            .collect()
    }

    /// Puts offsets back after a failed commit, unless newer ones arrived meanwhile.
    pub fn restore(&mut self, offsets: Vec<(SourcePartition, SourceOffset)>) {
        for (p, o) in offsets {
            let i = self.partition_index(&p);
            let q = &mut self.partitions[i];
            if q.committable.is_none() {
                q.committable = Some(o.len() as u32);
                let mut entries = VecDeque::new();
                let mut o = o;
                o.move_entries(&mut entries);
                for e in entries.into_iter().rev() {
                    q.offsets.push_front(e);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::OffsetValue;
    use serde_json::json;

    fn part(name: &str) -> SourcePartition {
        Arc::new(json!({ "filename": name }).as_object().unwrap().clone())
    }
    fn off(n: u64) -> SourceOffset {
        json!({ "position": n }).as_object().unwrap().clone().into()
    }
    /// An offset of several entries, as a CDC source's.
    fn big(n: u64) -> SourceOffset {
        json!({"lsn": n, "txId": n + 1, "ts_usec": n + 2, "snapshot": true})
            .as_object()
            .unwrap()
            .clone()
            .into()
    }

    #[test]
    fn only_the_acknowledged_prefix_is_committable() {
        let p = part("a");
        let mut s = SubmittedRecords::new();
        let t1 = s.submit(&p, &mut off(1));
        let t2 = s.submit(&p, &mut off(2));
        let t3 = s.submit(&p, &mut off(3));
        s.ack(t2);
        s.ack(t3);
        assert!(
            s.take_committable().is_empty(),
            "record 1 is still in flight"
        );
        assert_eq!(s.in_flight(), 1);
        s.ack(t1);
        let c = s.take_committable();
        assert_eq!(c.len(), 1);
        assert_eq!(
            c[0].1.get("position").and_then(OffsetValue::as_u64),
            Some(3)
        );
        assert!(s.take_committable().is_empty());
    }

    #[test]
    fn partitions_are_independent_and_matched_by_content() {
        let a = part("a");
        let a_again = part("a");
        let b = part("b");
        let mut s = SubmittedRecords::new();
        let ta = s.submit(&a, &mut off(10));
        let tb = s.submit(&b, &mut off(20));
        let ta2 = s.submit(&a_again, &mut off(11));
        s.ack(tb);
        s.ack(ta2);
        let c = s.take_committable();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].0["filename"], "b");
        s.ack(ta);
        let c = s.take_committable();
        assert_eq!(
            c[0].1.get("position").and_then(OffsetValue::as_u64),
            Some(11)
        );
    }

    #[test]
    fn offsets_of_different_sizes_come_back_whole() {
        let p = part("a");
        let mut s = SubmittedRecords::new();
        let t1 = s.submit(&p, &mut big(10));
        let t2 = s.submit(&p, &mut off(11));
        let t3 = s.submit(&p, &mut big(12));
        let t4 = s.submit(&p, &mut SourceOffset::new());
        s.ack(t3);
        s.ack(t2);
        assert!(!s.has_committable());
        s.ack(t1);
        assert_eq!(s.take_committable()[0].1, big(12));
        s.ack(t4);
        assert_eq!(s.take_committable()[0].1, SourceOffset::new());
        assert_eq!(s.in_flight(), 0);
        let t5 = s.submit(&p, &mut off(13));
        s.ack(t5);
        assert_eq!(s.take_committable()[0].1, off(13));
    }

    #[test]
    fn failed_commit_offsets_are_restored_unless_superseded() {
        let a = part("a");
        let mut s = SubmittedRecords::new();
        let t = s.submit(&a, &mut off(1));
        s.ack(t);
        let taken = s.take_committable();
        s.restore(taken);
        assert_eq!(
            s.take_committable()[0]
                .1
                .get("position")
                .and_then(OffsetValue::as_u64),
            Some(1)
        );
    }

    #[test]
    fn a_restored_offset_goes_back_ahead_of_the_records_in_flight() {
        let p = part("a");
        let mut s = SubmittedRecords::new();
        let t1 = s.submit(&p, &mut big(1));
        let t2 = s.submit(&p, &mut big(2));
        let t3 = s.submit(&p, &mut off(3));
        s.ack(t1);
        let taken = s.take_committable();
        assert_eq!(taken[0].1, big(1));
        s.restore(taken);
        assert_eq!(s.take_committable()[0].1, big(1));
        s.restore(vec![(p.clone(), big(1))]);
        s.ack(t2);
        assert_eq!(s.take_committable()[0].1, big(2), "superseded by record 2");
        let newer = s.submit(&p, &mut off(4));
        s.ack(t3);
        s.restore(vec![(p.clone(), big(2))]);
        assert_eq!(
            s.take_committable()[0].1,
            off(3),
            "newer than the restored one"
        );
        s.ack(newer);
        assert_eq!(s.take_committable()[0].1, off(4));
        assert_eq!(s.in_flight(), 0);
    }
}
