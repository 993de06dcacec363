//! The reader thread: owns the replication connection, batches pgoutput messages for the
//! task, answers keepalives, and reports the position the task says is safe.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::connectors::postgres::db::{self, PgError};
use crate::connectors::postgres::replication::{ReplicationConn, WalMessage};
use crate::connectors::postgres::PgConfig;

/// pgoutput messages read together, in one buffer: one allocation per batch, not per change,
/// and freed by the task in one go.
pub(super) struct Batch {
    data: Vec<u8>,
    /// Each message's WAL position and where it ends in `data`.
    index: Vec<(u64, u32)>,
}

impl Batch {
    fn push(&mut self, lsn: u64, msg: &[u8]) {
        self.data.extend_from_slice(msg);
        self.index.push((lsn, self.data.len() as u32));
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (u64, &[u8])> {
        let mut from = 0;
        self.index.iter().map(move |&(lsn, end)| {
            let msg = &self.data[from..end as usize];
            from = end as usize;
            (lsn, msg)
        })
    }
}

/// What the reader thread hands over.
pub(super) enum Chunk {
    Changes(Batch),
    /// The server has decoded everything before this position (a keepalive).
    Position(u64),
    Failed(PgError),
}

/// A batch is handed over when it has this many bytes, `max.batch.size` changes, or has
/// waited this long for more.
const BATCH_BYTES: usize = 256 << 10;
const BATCH_WAIT: Duration = Duration::from_millis(5);
/// The least time between two status updates that move the slot.
const CONFIRM_EVERY: Duration = Duration::from_secs(1);
/// How often `--once` asks the server where its decoding stands, while waiting for the end.
const ONCE_PROBE: Duration = Duration::from_millis(50);

/// Shared between the task and the reader thread.
pub(super) struct Shared {
    pub(super) stop: AtomicBool,
    /// Where the slot may be confirmed: only ever raised, by the task.
    pub(super) confirm: AtomicU64,
    /// When the task raised `confirm` past what the reader has written, in milliseconds
    /// after `base` plus one (0: nothing waits to be written); lsn.flush.timeout.ms times
    /// the wait from then, or from when the reader's next status update was due if later.
    pending_since: AtomicU64,
    /// When the reader last finished writing a status update, in milliseconds after `base`.
    last_status_ms: AtomicU64,
    base: Instant,
}

impl Shared {
    pub(super) fn new(confirmed: u64) -> Shared {
        Shared {
            stop: AtomicBool::new(false),
            confirm: AtomicU64::new(confirmed),
            pending_since: AtomicU64::new(0),
            last_status_ms: AtomicU64::new(0),
            base: Instant::now(),
        }
    }

    fn now_ms(&self) -> u64 {
        self.base.elapsed().as_millis() as u64
    }

    /// Raises the position the reader may confirm (the task's side).
    pub(super) fn raise_confirm(&self, to: u64) {
        if self.confirm.fetch_max(to, Ordering::SeqCst) < to {
            let since = self.now_ms() + 1;
            let _ =
                self.pending_since
                    .compare_exchange(0, since, Ordering::SeqCst, Ordering::SeqCst);
        }
    }

    /// How long a raised position has waited past the time the reader should have written
    /// it: a status update is written at most every CONFIRM_EVERY, so the wait counts from
    /// the later of the raise and the last update plus that.
    pub(super) fn confirm_overdue(&self) -> Option<Duration> {
        overdue(
            self.now_ms(),
            self.pending_since.load(Ordering::SeqCst),
            self.last_status_ms.load(Ordering::SeqCst),
        )
    }

    /// The reader wrote a status update confirming `confirmed`.
    fn written(&self, confirmed: u64) {
        self.last_status_ms.store(self.now_ms(), Ordering::SeqCst);
        if confirmed >= self.confirm.load(Ordering::SeqCst) {
            self.pending_since.store(0, Ordering::SeqCst);
        }
    }
}

/// `confirm_overdue` on plain numbers (milliseconds after `Shared::base`; `pending_since`
/// plus one, 0 for none).
fn overdue(now: u64, pending_since: u64, last_status: u64) -> Option<Duration> {
    let since = pending_since.checked_sub(1)?;
    let due = since.max(last_status + CONFIRM_EVERY.as_millis() as u64);
    (now > due).then(|| Duration::from_millis(now - due))
}

/// The reading side: owns the replication connection.
pub(super) struct Reader {
    pub(super) cfg: Arc<PgConfig>,
    pub(super) conn: ReplicationConn,
    pub(super) once: bool,
    pub(super) shared: Arc<Shared>,
    pub(super) out: crossbeam_channel::Sender<Chunk>,
    pub(super) recycled: crossbeam_channel::Receiver<Batch>,
    /// The furthest position the server has sent.
    pub(super) received: u64,
    /// The `flush` position last reported.
    pub(super) reported: u64,
    pub(super) last_status: Instant,
    pub(super) status_interval: Duration,
}

impl Reader {
    pub(super) fn run(mut self) {
        if let Err(e) = self.stream() {
            let _ = self.out.send(Chunk::Failed(e));
        }
        // Report the last safe position before leaving, so a graceful stop leaves the slot
        // where the stored offsets are.
        let _ = self.status(false, true);
        self.conn.close();
    }

    /// An empty batch: a spent one when the task has handed one back.
    fn batch(&self) -> Batch {
        match self.recycled.try_recv() {
            Ok(mut b) => {
                b.data.clear();
                b.index.clear();
                b
            }
            Err(_) => Batch {
                data: Vec::with_capacity(BATCH_BYTES + 64 * 1024),
                index: Vec::with_capacity(self.cfg.max_batch.min(16 * 1024)),
            },
        }
    }

    fn stream(&mut self) -> Result<(), PgError> {
        let mut batch = self.batch();
        let mut batch_since = Instant::now();
        let mut last_probe = Instant::now();
        loop {
            if self.shared.stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            let mut position = None;
            match self.conn.recv()? {
                Some(WalMessage::XLogData { lsn, data }) => {
                    if batch.index.is_empty() {
                        batch_since = Instant::now();
                    }
                    batch.push(lsn, data);
                    self.received = self.received.max(lsn);
                }
                Some(WalMessage::Keepalive { wal_end, reply }) => {
                    self.received = self.received.max(wal_end);
                    position = Some(wal_end);
                    if reply {
                        self.status(false, true)?;
                    }
                }
                None => {
                    // Nothing new: in --once mode ask where decoding stands (the server
                    // answers a status update that requests a reply with a keepalive).
                    if self.once && batch.index.is_empty() && last_probe.elapsed() >= ONCE_PROBE {
                        last_probe = Instant::now();
                        self.status(true, true)?;
                    }
                }
            }
            let full = batch.index.len() >= self.cfg.max_batch || batch.data.len() >= BATCH_BYTES;
            if !batch.index.is_empty()
                && (full || position.is_some() || batch_since.elapsed() >= BATCH_WAIT)
                && !self.deliver(Chunk::Changes(std::mem::replace(&mut batch, self.batch())))?
            {
                return Ok(());
            }
            if let Some(p) = position {
                if !self.deliver(Chunk::Position(p))? {
                    return Ok(());
                }
            }
            self.status(false, false)?;
        }
    }

    /// Hands a chunk to the task, waiting while its queue is full; meanwhile the server still
    /// hears from us, or it would end the connection at wal_sender_timeout. False when the
    /// task is gone.
    fn deliver(&mut self, chunk: Chunk) -> Result<bool, PgError> {
        let mut chunk = chunk;
        loop {
            match self.out.send_timeout(chunk, Duration::from_millis(100)) {
                Ok(()) => return Ok(true),
                Err(crossbeam_channel::SendTimeoutError::Timeout(c)) => {
                    if self.shared.stop.load(Ordering::SeqCst) {
                        return Ok(false);
                    }
                    self.status(false, false)?;
                    chunk = c;
                }
                Err(crossbeam_channel::SendTimeoutError::Disconnected(_)) => return Ok(false),
            }
        }
    }

    /// Sends a status update when one is due: every `status.update.interval.ms`, and at most
    /// every second when the confirmable position moved. `now` sends one regardless.
    fn status(&mut self, reply: bool, now: bool) -> Result<(), PgError> {
        let confirm = self.shared.confirm.load(Ordering::SeqCst);
        let since = self.last_status.elapsed();
        let due = now
            || since >= self.status_interval
            || (confirm > self.reported && since >= CONFIRM_EVERY);
        if !due {
            return Ok(());
        }
        self.conn
            .send_status(self.received.max(confirm), confirm, reply)?;
        self.shared.written(confirm);
        if confirm > self.reported {
            tracing::debug!(slot = %self.cfg.slot, lsn = %db::format_lsn(confirm), "confirmed replication slot position");
        }
        self.reported = confirm;
        self.last_status = Instant::now();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raised_position_is_overdue_only_past_the_next_status_update() {
        let every = CONFIRM_EVERY.as_millis() as u64;
        let ms = Duration::from_millis;
        assert_eq!(overdue(50_000, 0, 0), None, "nothing waits");
        // Raised at 10 s, last update at 9.5 s: due at 10.5 s.
        assert_eq!(overdue(10_400, 10_001, 9_500), None);
        assert_eq!(overdue(10_700, 10_001, 9_500), Some(ms(200)));
        // Raised long after the last update: due at once.
        assert_eq!(
            overdue(10_000 + every + 300, 10_001, 0),
            Some(ms(every + 300))
        );

        let s = Shared::new(100);
        s.raise_confirm(100);
        assert_eq!(s.pending_since.load(Ordering::SeqCst), 0, "nothing new");
        s.raise_confirm(200);
        let raised = s.pending_since.load(Ordering::SeqCst);
        assert!(raised > 0);
        s.raise_confirm(300);
        assert_eq!(
            s.pending_since.load(Ordering::SeqCst),
            raised,
            "the first raise counts"
        );
        // A write of an older position leaves the newer one waiting; one of it ends the wait.
        s.written(200);
        assert_eq!(s.pending_since.load(Ordering::SeqCst), raised);
        s.written(300);
        assert_eq!(s.pending_since.load(Ordering::SeqCst), 0);
        assert_eq!(s.confirm_overdue(), None);
    }
}
