//! Resuming inside a transaction. The last committed offset may be a change in the middle of
//! a transaction: kconnect stopped, or Debezium on a Connect cluster was stopped, after part
//! of it was in Kafka. pgoutput sends the whole transaction again; its changes up to the
//! stored one are skipped, as Debezium's `WalPositionLocator` skips them, so only what was
//! not delivered is delivered again.
//!
//! A change's offset says where it is: `txId`, `lsn` (the change's WAL position),
//! `lsn_commit`, and `lsn_events_processed`: how many changes at that position were handed out,
//! for the rows of one COPY, which share one WAL record (Debezium's newest releases write it
//! too). Without the count (Debezium releases that do not write it, kconnect offsets from
//! before it did), a change alone at the stored position is the stored change and is skipped;
//! several changes sharing it are all delivered again: at least once, never lost.

use crate::data::{OffsetValue, SourceOffset};

/// The transaction a stored offset is inside, until the stream reaches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ResumeIn {
    xid: u32,
    commit: u64,
    partial: Partial,
}

/// Where the undelivered part of a transaction begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Partial {
    lsn: u64,
    done_at_lsn: Option<u64>,
}

impl ResumeIn {
    /// Only a streamed change's offset (no snapshot's, no transaction end's).
    pub(super) fn from_offset(o: &SourceOffset) -> Option<ResumeIn> {
        let snapshot = o
            .get("snapshot")
            .is_some_and(|v| v.as_bool() != Some(false));
        if snapshot {
            return None;
        }
        let xid = o.get("txId").and_then(OffsetValue::as_u64)?;
        Some(ResumeIn {
            xid: u32::try_from(xid).ok()?,
            commit: o.get("lsn_commit").and_then(OffsetValue::as_u64)?,
            partial: Partial {
                lsn: o.get("lsn").and_then(OffsetValue::as_u64)?,
                done_at_lsn: o.get("lsn_events_processed").and_then(OffsetValue::as_u64),
            },
        })
    }

    /// Whether a transaction beginning before the stored one reaches it was delivered in
    /// full: every transaction that committed before the stored one was (delivery follows
    /// commit order), and `lsn_commit` is never past the stored one's commit record.
    pub(super) fn delivered_before(&self, xid: u32, final_lsn: u64) -> bool {
        xid != self.xid && final_lsn < self.commit
    }

    /// The stored transaction's undelivered part, if this is it.
    pub(super) fn partial_of(&self, xid: u32) -> Option<Partial> {
        (xid == self.xid).then_some(self.partial)
    }

    /// Whether the stream is past where the stored transaction could still come.
    pub(super) fn passed(&self, final_lsn: u64) -> bool {
        final_lsn >= self.commit
    }
}

impl Partial {
    /// Whether `lsn` is the stored position and the offset did not say how many changes
    /// there were delivered.
    pub(super) fn uncounted_at(&self, lsn: u64) -> bool {
        lsn == self.lsn && self.done_at_lsn.is_none()
    }

    /// Whether the `index`-th change (from 1) at `lsn` was delivered before.
    pub(super) fn delivered(&self, lsn: u64, index: u64) -> bool {
        lsn < self.lsn || (lsn == self.lsn && self.done_at_lsn.is_some_and(|d| index <= d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offset(pairs: &[(&'static str, OffsetValue)]) -> SourceOffset {
        let mut o = SourceOffset::new();
        for (k, v) in pairs {
            o.insert(*k, v.clone());
        }
        o
    }

    #[test]
    fn a_change_offset_resumes_after_the_change() {
        let o = offset(&[
            ("lsn_proc", OffsetValue::U64(100)),
            ("lsn_commit", OffsetValue::U64(500)),
            ("lsn", OffsetValue::U64(300)),
            ("txId", OffsetValue::U64(77)),
            ("lsn_events_processed", OffsetValue::U64(2)),
        ]);
        let r = ResumeIn::from_offset(&o).unwrap();
        assert!(r.delivered_before(76, 400));
        assert!(
            !r.delivered_before(77, 400),
            "the stored transaction itself goes on"
        );
        assert!(!r.delivered_before(78, 600));
        let p = r.partial_of(77).unwrap();
        assert!(p.delivered(200, 1));
        assert!(p.delivered(300, 2));
        assert!(!p.delivered(300, 3));
        assert!(!p.delivered(301, 1));
        assert!(r.partial_of(78).is_none());
    }

    #[test]
    fn without_a_count_the_stored_position_is_delivered_again() {
        let o = offset(&[
            ("lsn_commit", OffsetValue::U64(500)),
            ("lsn", OffsetValue::U64(300)),
            ("txId", OffsetValue::I64(77)),
        ]);
        let p = ResumeIn::from_offset(&o).unwrap().partial_of(77).unwrap();
        assert!(p.delivered(299, 1));
        assert!(!p.delivered(300, 1));
    }

    #[test]
    fn snapshot_offsets_resume_nothing_inside() {
        let o = offset(&[
            ("lsn_commit", OffsetValue::U64(500)),
            ("lsn", OffsetValue::U64(300)),
            ("txId", OffsetValue::U64(77)),
            ("snapshot", OffsetValue::String("INITIAL".into())),
        ]);
        assert!(ResumeIn::from_offset(&o).is_none());
        assert!(ResumeIn::from_offset(&offset(&[("lsn", OffsetValue::U64(3))])).is_none());
    }
}
