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
        if confirm > self.reported {
            tracing::debug!(slot = %self.cfg.slot, lsn = %db::format_lsn(confirm), "confirmed replication slot position");
        }
        self.reported = confirm;
        self.last_status = Instant::now();
        Ok(())
    }
}
