//! The window of a `read.only` incremental snapshot (Debezium's
//! `PostgresReadOnlyIncrementalSnapshotContext`): nothing is written to the database, so a
//! chunk's window is bounded by two `pg_current_snapshot()` readings instead of two signal-table
//! rows. Transactions that commit after the low reading and at most up to the high one may have
//! changed the chunk's rows, so their events evict rows from the window; an event of a later
//! transaction, or a transaction commit or an idle stream that proves no such transaction can
//! still arrive, closes it.
//!
//! The stream's transaction ids are pgoutput's 32-bit xids, the readings 64-bit `xid8`s; a
//! stream xid is placed in the epoch nearest the reading it is compared with, so the comparison
//! holds across xid wraparound (Debezium compares the two numbers as they are).

/// A `pg_current_snapshot()` reading: `xmin:xmax:xip_list`. The in-progress list is kept only
/// to tell two readings apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgSnapshot {
    pub xmin: u64,
    pub xmax: u64,
    xip: Box<str>,
}

impl PgSnapshot {
    pub fn parse(text: &str) -> Option<PgSnapshot> {
        let mut parts = text.trim().splitn(3, ':');
        let xmin = parts.next()?.parse().ok()?;
        let xmax = parts.next()?.parse().ok()?;
        let xip = parts.next()?.into();
        Some(PgSnapshot { xmin, xmax, xip })
    }
}

/// `xid` (32 bits, from the stream) as the 64-bit id nearest to `reference`.
pub fn widen(xid: u32, reference: u64) -> u64 {
    let base = (reference & !0xFFFF_FFFF) | u64::from(xid);
    let half = 1u64 << 31;
    if base > reference.saturating_add(half) && base >= 1 << 32 {
        base - (1 << 32)
    } else if base.saturating_add(half) < reference {
        base + (1 << 32)
    } else {
        base
    }
}

/// The two readings of the chunk in the window, and the previous chunk's (a re-read chunk whose
/// readings did not change proves the database idle, so reading goes on).
#[derive(Default, Debug)]
pub struct Watermarks {
    pub open: bool,
    low: Option<PgSnapshot>,
    high: Option<PgSnapshot>,
    previous_low: Option<PgSnapshot>,
    previous_high: Option<PgSnapshot>,
}

impl Watermarks {
    pub fn set_low(&mut self, s: PgSnapshot) {
        self.low = Some(s);
    }

    pub fn set_high(&mut self, s: PgSnapshot) {
        self.high = Some(s);
    }

    /// Debezium's `updateWindowState`, at an event of transaction `xid`: the window opens at
    /// the first transaction that was running or began after the low reading, and closes at a
    /// transaction that began after both readings.
    pub fn update(&mut self, xid: u32) {
        if let (false, Some(low)) = (self.open, &self.low) {
            if widen(xid, low.xmin) >= low.xmin {
                self.open = true;
            }
        }
        if let (true, Some(high), Some(low)) = (self.open, &self.high, &self.low) {
            let bound = high.xmax.max(low.xmax);
            if widen(xid, bound) > bound {
                self.close();
            }
        }
    }

    pub fn close(&mut self) {
        self.open = false;
        self.previous_high = self.high.take();
        self.previous_low = self.low.take();
    }

    /// The transaction that was the newest in progress at the high reading has committed.
    pub fn max_in_progress_committed(&self, xid: u32) -> bool {
        self.high
            .as_ref()
            .is_some_and(|h| widen(xid, h.xmax) == h.xmax)
    }

    /// Transaction `xid` was visible to the high reading: nothing that could change the chunk
    /// is still to come from before it.
    pub fn visible(&self, xid: u32) -> bool {
        self.high
            .as_ref()
            .is_some_and(|h| widen(xid, h.xmin) <= h.xmin)
    }

    /// A transaction id the high reading saw as ended, for an idle stream that has seen no
    /// transaction since it started (Debezium's heartbeat then has no id and cannot go on).
    pub fn ended_before_high(&self) -> Option<u32> {
        self.high.as_ref().map(|h| (h.xmin as u32).wrapping_sub(1))
    }

    pub fn changed(&self) -> bool {
        self.previous_low != self.low || self.previous_high != self.high
    }

    /// A stopped snapshot leaves no readings behind.
    pub fn clear(&mut self) {
        *self = Watermarks::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(s: &str) -> PgSnapshot {
        PgSnapshot::parse(s).unwrap()
    }

    #[test]
    fn readings_parse_with_and_without_in_progress_ids() {
        let s = snap("726:730:726,728");
        assert_eq!((s.xmin, s.xmax), (726, 730));
        assert_eq!(snap("726:726:").xmax, 726);
        assert!(PgSnapshot::parse("726").is_none());
    }

    #[test]
    fn stream_xids_take_the_epoch_nearest_the_reading() {
        assert_eq!(widen(700, 726), 700);
        let epoch1 = 1u64 << 32;
        assert_eq!(widen(5, epoch1 + 3), epoch1 + 5);
        // Just before the wrap, seen from just after it.
        assert_eq!(widen(u32::MAX - 2, epoch1 + 3), epoch1 - 3);
        // Just after the wrap, seen from just before it.
        assert_eq!(widen(2, epoch1 - 5), epoch1 + 2);
    }

    #[test]
    fn the_window_opens_at_a_transaction_after_the_low_reading_and_closes_after_the_high() {
        let mut w = Watermarks::default();
        w.set_low(snap("726:728:726"));
        w.set_high(snap("726:729:726,728"));
        w.update(700);
        assert!(!w.open, "a transaction committed before the low reading");
        w.update(726);
        assert!(w.open);
        w.update(729);
        assert!(w.open, "729 is the high reading's xmax, not past it");
        w.update(730);
        assert!(!w.open);
    }

    #[test]
    fn idle_readings_are_unchanged_and_visible() {
        let mut w = Watermarks::default();
        w.set_low(snap("740:740:"));
        w.set_high(snap("740:740:"));
        assert!(w.visible(739));
        assert!(w.max_in_progress_committed(740));
        w.close();
        w.set_low(snap("740:740:"));
        w.set_high(snap("740:740:"));
        assert!(!w.changed());
        w.close();
        w.set_low(snap("740:741:740"));
        w.set_high(snap("740:741:740"));
        assert!(w.changed());
        assert!(!w.visible(741));
    }
}
