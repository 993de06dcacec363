//! Which transactions the snapshot saw, so the stream skips exactly those.

/// Which transactions a snapshot saw: those that precede `xmin`, and those that precede
/// `xmax` and are not in `xip`. Transaction ids are compared modulo 2^32 as PostgreSQL does.
#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotFilter {
    pub xmin: u32,
    pub xmax: u32,
    pub xip: Vec<u32>,
    /// WAL position when the snapshot was taken: transactions committed later are not in it.
    pub lsn: u64,
}

fn precedes(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

impl SnapshotFilter {
    /// Parses `pg_current_snapshot()`'s text ("xmin:xmax:xip,xip"), 64-bit ids included.
    pub fn parse(text: &str, lsn: u64) -> Option<SnapshotFilter> {
        let mut it = text.split(':');
        let low = |s: &str| s.trim().parse::<u64>().ok().map(|v| v as u32);
        let xmin = low(it.next()?)?;
        let xmax = low(it.next()?)?;
        let xip = match it.next() {
            Some(s) if !s.is_empty() => s.split(',').map(low).collect::<Option<Vec<_>>>()?,
            _ => Vec::new(),
        };
        Some(SnapshotFilter {
            xmin,
            xmax,
            xip,
            lsn,
        })
    }

    /// Whether the snapshot already contains this transaction's effects.
    pub fn saw(&self, xid: u32) -> bool {
        if precedes(xid, self.xmin) {
            return true;
        }
        precedes(xid, self.xmax) && !self.xip.contains(&xid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_filter_knows_what_it_saw() {
        let f = SnapshotFilter::parse("100:105:101,103", 0).unwrap();
        assert!(f.saw(99) && f.saw(100) && f.saw(102) && f.saw(104));
        assert!(!f.saw(101) && !f.saw(103) && !f.saw(105) && !f.saw(200));
        // 64-bit ids from a cluster past its first wraparound epoch.
        let f = SnapshotFilter::parse("4294967396:4294967400:", 0).unwrap();
        assert!(f.saw(99) && !f.saw(104));
    }
}
