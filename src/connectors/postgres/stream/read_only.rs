//! `read.only=true` incremental snapshots (Debezium's
//! `PostgresReadOnlyIncrementalSnapshotChangeEventSource`): the stream decides when a chunk's
//! window opens and closes from the transaction ids it sees, against the chunk's two
//! `pg_current_snapshot()` readings (see `watermarks`). The decisions are taken where Debezium
//! takes them: at each event of a captured table before it is kept, at each commit, and when
//! the stream is idle (Debezium's heartbeat to the incremental snapshot).

use super::Stream;
use crate::api::ConnectError;
use crate::connectors::postgres::db::query_error;
use crate::connectors::postgres::events::TableRef;
use crate::connectors::postgres::watermarks::PgSnapshot;
use crate::data::{SourceRecord, Value};

/// What one idle round may read before its rows are handed out: the rest waits for the next
/// round, so a large table read while the database is quiet is never held in memory whole.
const IDLE_ROUND_ROWS: usize = 4096;

/// How long a due chunk waits behind a stream that keeps having changes queued: the stream
/// gets most of the time, the snapshot still moves.
const DUE_CHUNK_WAIT: std::time::Duration = std::time::Duration::from_millis(50);

impl Stream {
    /// Debezium's `processMessage`, at an event of transaction `xid` on table `t`, before the
    /// event is kept: an event past the window closes it (its rows go out first), one inside
    /// it evicts its key's row.
    pub(super) fn window_event(
        &mut self,
        t: &TableRef,
        key: Option<&Value>,
        xid: u32,
        lsn: u64,
    ) -> Result<(), ConnectError> {
        self.inc.marks.update(xid);
        if self.inc.running() && !self.inc.marks.open {
            if !self.inc_chunk_due {
                self.inc.marks.close();
                self.send_window(lsn);
                self.set_chunk_due();
            }
        } else if self.inc.marks.open {
            if let Some(k) = key {
                self.deduplicate(t, k);
            }
        }
        Ok(())
    }

    /// Debezium's `readUntilNewTransactionChange`, at a commit or while the stream is idle,
    /// with the last transaction seen: when the newest transaction running at the high reading
    /// has committed, or everything the high reading saw as running has ended, no change that
    /// could touch the chunk is still to come, and its rows go out. While the readings stay
    /// the same (nothing else runs), chunk after chunk is read.
    ///
    /// `now`: read the next chunk here (an idle stream); otherwise (at a commit, with more of
    /// the stream in hand) it is read once the batch in hand is handled (`read_due_chunk`).
    pub(super) fn window_progress(&mut self, xid: u32, now: bool) -> Result<(), ConnectError> {
        if self.inc_chunk_due {
            if !now {
                return Ok(());
            }
            self.read_due_chunk()?;
        }
        if self.inc.running() && self.inc.marks.max_in_progress_committed(xid) {
            self.inc.marks.close();
            self.send_window(self.last_proc);
            self.set_chunk_due();
            return if now { self.read_due_chunk() } else { Ok(()) };
        }
        while self.inc.running() && self.inc.marks.visible(xid) {
            self.inc.marks.close();
            self.send_window(self.last_proc);
            self.set_chunk_due();
            if !now {
                break;
            }
            self.read_due_chunk()?;
            if self.inc.marks.changed() || self.buf.len() + self.loose.len() >= IDLE_ROUND_ROWS {
                break;
            }
        }
        Ok(())
    }

    fn set_chunk_due(&mut self) {
        if !self.inc_chunk_due {
            self.inc_chunk_due = true;
            self.inc_chunk_due_since = std::time::Instant::now();
        }
    }

    /// After a batch of changes: the due chunk is read when no more changes wait, or when it
    /// has waited `DUE_CHUNK_WAIT` behind a stream that does not catch up.
    pub(super) fn read_due_chunk_unless_behind(&mut self) -> Result<(), ConnectError> {
        if self.inc_chunk_due
            && (self.chunks.is_empty() || self.inc_chunk_due_since.elapsed() >= DUE_CHUNK_WAIT)
        {
            self.read_due_chunk()?;
        }
        Ok(())
    }

    /// The chunk after a window that closed while changes were being handled, read once the
    /// stream has caught up: Debezium reads it at once, at each change that closes a window,
    /// which holds a busy stream to one change per chunk read (seconds of lag at a thousand
    /// commits a second). Read later, the chunk shows those changes already, and the window it
    /// opens is compared with the changes after them, so nothing is lost or stale.
    pub(super) fn read_due_chunk(&mut self) -> Result<(), ConnectError> {
        if !std::mem::take(&mut self.inc_chunk_due) {
            return Ok(());
        }
        self.read_chunk()?;
        self.inc_state = self.inc.stored();
        Ok(())
    }

    /// The stream has nothing to read: the incremental snapshot moves on as after a commit of
    /// the last transaction seen. Rows it sends are added to `out`.
    pub(super) fn window_idle(&mut self, out: &mut Vec<SourceRecord>) -> Result<(), ConnectError> {
        if !self.cfg.read_only || !self.inc.running() || self.inc.paused || self.txn.is_some() {
            return Ok(());
        }
        self.read_due_chunk()?;
        // No transaction seen since the start: whatever the stream brings later is newer
        // than the chunk or is a change the chunk already shows, so it may go out now.
        let Some(xid) = self.last_xid.or_else(|| self.inc.marks.ended_before_high()) else {
            return Ok(());
        };
        self.window_progress(xid, true)?;
        self.inc_state = self.inc.stored();
        out.append(&mut self.loose);
        Ok(())
    }

    /// A read.only incremental snapshot is running and not paused.
    pub(super) fn read_only_pending(&self) -> bool {
        self.cfg.read_only && self.inc.running() && !self.inc.paused
    }

    /// `pg_current_snapshot()`: a watermark that writes nothing.
    pub(super) fn current_snapshot(&mut self) -> Result<PgSnapshot, ConnectError> {
        let row = self
            .client
            .query_one("SELECT pg_current_snapshot()::text", &[])
            .map_err(|e| {
                query_error(
                    &self.cfg,
                    "reading pg_current_snapshot() for a watermark",
                    e,
                )
            })?;
        let text: String = row.get(0);
        PgSnapshot::parse(&text).ok_or_else(|| {
            ConnectError::fatal(format!(
                "pg_current_snapshot() returned '{text}', which is not xmin:xmax:xip_list"
            ))
        })
    }

    /// Debezium's `preIncrementalSnapshotStart` for a snapshot resumed from the offsets: a
    /// new transaction id (no write), so the first readings are past every transaction the
    /// stream has yet to see from before the restart.
    pub(super) fn force_new_xid(&mut self) -> Result<(), ConnectError> {
        self.client
            .query_one(
                "SELECT (CASE pg_is_in_recovery() WHEN 't' THEN NULL::xid8 ELSE pg_current_xact_id() END)::text",
                &[],
            )
            .map(|_| ())
            .map_err(|e| {
                query_error(
                    &self.cfg,
                    "assigning a transaction id before resuming the read-only incremental snapshot",
                    e,
                )
                .into()
            })
    }
}
