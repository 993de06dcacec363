//! When a `--once` sink is finished: it reads at least up to the end offsets seen at start,
//! then drains until its partitions go quiet. The drain matters on brokers whose reported end
//! offset lags the log (Tansu 0.6 reports the last batch's base offset + 1). A run that stops
//! making progress short of the end fails instead of waiting forever for a broker that went
//! away.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::Offset;

use super::super::kafka::{ClientRole, ConnectionErrors};
use super::super::task_error::TaskError;
use crate::api::TopicPartition;

/// How long a partition must stay silent past its end to count as done.
const ONCE_QUIET: Duration = Duration::from_millis(250);
const ONCE_DRAIN_LIMIT: Duration = Duration::from_secs(10);
/// How long a poll waits while there is still something to read.
const POLL_WAIT: Duration = Duration::from_millis(100);

/// Next offset to read, per partition.
pub(super) type Positions = HashMap<TopicPartition, i64>;

/// What the run loop does next.
pub(super) enum OnceStep {
    Read,
    Finished,
    Failed(TaskError),
}

pub(super) struct OnceDrain {
    /// How long reading may make no progress short of the end offsets seen at start before
    /// the run fails (`KCONNECT_BROKER_WAIT_MS`).
    stall_limit: Duration,
    /// The end offsets seen at start.
    end_offsets: HashMap<TopicPartition, i64>,
    draining_since: Option<Instant>,
    /// Since when polls have returned nothing (a slow `put` is not a stall).
    idle_since: Option<Instant>,
}

impl OnceDrain {
    pub fn new(stall_limit: Duration) -> OnceDrain {
        OnceDrain {
            stall_limit,
            end_offsets: HashMap::new(),
            draining_since: None,
            idle_since: None,
        }
    }

    /// A partition's end offset when it was assigned: what the run reads up to.
    pub fn end_at(&mut self, tp: TopicPartition, end: i64) {
        self.end_offsets.insert(tp, end);
    }

    /// Before each poll: whether to read on, stop, or fail.
    pub fn step(
        &mut self,
        positions: &mut Positions,
        consumer: &BaseConsumer<ConnectionErrors>,
    ) -> OnceStep {
        if self.draining_since.is_none() && self.caught_up(positions) {
            self.draining_since = Some(Instant::now());
        }
        let stalled = self
            .idle_since
            .is_some_and(|t| t.elapsed() >= self.stall_limit);
        if self.draining_since.is_none() && stalled {
            if caught_up_by_consumer(positions, consumer) && self.caught_up(positions) {
                self.draining_since = Some(Instant::now());
            } else {
                return OnceStep::Failed(self.stalled(positions, consumer));
            }
        }
        if self
            .draining_since
            .is_some_and(|t| t.elapsed() >= ONCE_DRAIN_LIMIT)
        {
            return OnceStep::Finished;
        }
        OnceStep::Read
    }

    /// How long the next poll waits for a first message.
    pub fn poll_wait(&self) -> Duration {
        if self.draining_since.is_some() {
            ONCE_QUIET
        } else {
            POLL_WAIT
        }
    }

    /// After a poll: whether it got anything, and whether that ends the drain.
    pub fn polled(&mut self, got_any: bool, batch_empty: bool) -> bool {
        if got_any {
            self.idle_since = None;
        } else {
            self.idle_since.get_or_insert_with(Instant::now);
        }
        batch_empty && self.draining_since.is_some()
    }

    /// Records between the positions and the end offsets seen at start.
    pub fn lag(&self, positions: &Positions) -> i64 {
        self.lags(positions).sum()
    }

    /// The largest lag of one partition (`sink-record-lag-max`).
    pub fn lag_max(&self, positions: &Positions) -> i64 {
        self.lags(positions).max().unwrap_or(0)
    }

    fn lags<'a>(&'a self, positions: &'a Positions) -> impl Iterator<Item = i64> + 'a {
        self.end_offsets
            .iter()
            .map(|(tp, e)| (e - positions.get(tp).copied().unwrap_or(*e)).max(0))
    }

    fn caught_up(&self, positions: &Positions) -> bool {
        self.end_offsets
            .iter()
            .all(|(tp, end)| positions.get(tp).is_some_and(|p| p >= end))
    }

    /// What a run that stopped making progress fails with.
    fn stalled(
        &self,
        positions: &Positions,
        consumer: &BaseConsumer<ConnectionErrors>,
    ) -> TaskError {
        let mut behind: Vec<String> = self
            .end_offsets
            .iter()
            .filter_map(|(tp, end)| {
                let at = positions.get(tp).copied().unwrap_or(0);
                (at < *end).then(|| format!("{}-{} at offset {at} of {end}", tp.0, tp.1))
            })
            .collect();
        behind.sort();
        TaskError::Stalled {
            secs: self.stall_limit.as_secs_f64(),
            behind: behind.join(", "),
            connection: consumer.context().cause(ClientRole::Consumer),
        }
    }
}

/// Moves the positions up to librdkafka's own: it steps over what is never delivered as a
/// message (transaction markers, aborted records), which positions taken from messages
/// cannot see. False when the consumer could not say.
fn caught_up_by_consumer(
    positions: &mut Positions,
    consumer: &BaseConsumer<ConnectionErrors>,
) -> bool {
    let Ok(tpl) = consumer.position() else {
        return false;
    };
    for e in tpl.elements() {
        if let Offset::Offset(o) = e.offset() {
            let tp = (e.topic().to_string(), e.partition());
            let p = positions.entry(tp).or_insert(o);
            *p = (*p).max(o);
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drain_starts_once_every_partition_reached_its_end() {
        let mut once = OnceDrain::new(Duration::from_secs(30));
        once.end_at(("t".into(), 0), 5);
        once.end_at(("t".into(), 1), 2);
        let mut positions = Positions::new();
        positions.insert(("t".into(), 0), 5);
        assert!(!once.caught_up(&positions));
        assert_eq!(
            once.lag(&positions),
            0,
            "an unread partition counts from its end"
        );
        positions.insert(("t".into(), 1), 1);
        assert_eq!(once.lag(&positions), 1);
        assert_eq!(once.lag_max(&positions), 1);
        assert_eq!(once.poll_wait(), POLL_WAIT);
        assert!(!once.polled(false, true), "not draining yet");
        positions.insert(("t".into(), 1), 2);
        assert!(once.caught_up(&positions));
    }

    #[test]
    fn a_run_that_reads_nothing_short_of_the_end_fails_saying_where_it_stopped() {
        // Never connects: an unassigned consumer knows its (empty) positions locally.
        let consumer: BaseConsumer<ConnectionErrors> = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", "127.0.0.1:1")
            .set("group.id", "g")
            .create_with_context(ConnectionErrors::quiet())
            .unwrap();
        let mut once = OnceDrain::new(Duration::ZERO);
        once.end_at(("t".into(), 0), 5);
        let mut positions = Positions::new();
        assert!(matches!(
            once.step(&mut positions, &consumer),
            OnceStep::Read
        ));
        assert!(!once.polled(false, true));
        match once.step(&mut positions, &consumer) {
            OnceStep::Failed(e) => {
                let reason = e.reason();
                assert!(reason.contains("(t-0 at offset 0 of 5)"), "{reason}");
            }
            _ => panic!("a stalled run goes on"),
        }
    }
}
