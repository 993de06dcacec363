//! Saying that a system is down once, not per failed attempt. A broker that goes away makes
//! every client connection fail every few hundred milliseconds; logging each failure buries
//! the one fact that matters ("Kafka is down, since when, why") under dozens of lines. An
//! `OutageReporter` turns a stream of failures and successes into "down since …, retrying"
//! once, a reminder at most once a minute, and "back after …" when it returns.

use std::fmt::Display;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// How often a continuing outage is mentioned again.
pub const REMIND_EVERY: Duration = Duration::from_secs(60);

/// The longest wait between attempts of a long-running worker that rides out a target's
/// outage past the connector's own retries: its return is noticed within this.
pub const RIDE_OUT_CAP: Duration = Duration::from_secs(10);

#[derive(Debug)]
struct Down {
    since: Instant,
    since_wall: SystemTime,
    last_said: Instant,
    /// The error last said, for status answers while the outage lasts.
    said_error: String,
}

/// One system (e.g. "Kafka at broker:9092", "the source of connector pg (task 0)"), shared
/// by every client that talks to it; safe to call from librdkafka's callback threads.
#[derive(Debug)]
pub struct OutageReporter {
    what: String,
    down: Mutex<Option<Down>>,
    /// Whether `down` holds an outage: `ok` is called for every acknowledged record, and this
    /// spares it the lock and the clock while nothing is down.
    down_flag: AtomicBool,
    /// The task whose status shows the outage while it lasts, if a task's system.
    waiting: Option<Waiting>,
}

/// What a task is waiting for while a system it needs is down: set by its `OutageReporter`,
/// shown by the worker as the trace of the RUNNING task (status, REST API), so an operator
/// sees why a running pipeline does not move without reading the log.
#[derive(Clone, Debug, Default)]
pub struct Waiting(Arc<Mutex<Option<String>>>);

impl Waiting {
    pub fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, reason: Option<String>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = reason;
    }
}

/// What a call to the reporter said, for tests and for callers that log more context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Said {
    Nothing,
    Down,
    StillDown,
    Back,
}

impl OutageReporter {
    /// `what` names the system as the log lines start: "Kafka at broker:9092".
    pub fn new(what: impl Into<String>) -> OutageReporter {
        OutageReporter {
            what: what.into(),
            down: Mutex::new(None),
            down_flag: AtomicBool::new(false),
            waiting: None,
        }
    }

    /// The same, also shown in a task's status while the system is down.
    pub fn for_task(what: impl Into<String>, waiting: &Waiting) -> OutageReporter {
        OutageReporter {
            waiting: Some(waiting.clone()),
            ..OutageReporter::new(what)
        }
    }

    pub fn is_down(&self) -> bool {
        self.down.lock().expect("outage lock").is_some()
    }

    /// "<what> down since <time>, retrying: <error>" while the system is down.
    pub fn down_reason(&self) -> Option<String> {
        let down = self.down.lock().expect("outage lock");
        let d = down.as_ref()?;
        Some(format!(
            "{} down since {}, retrying: {}",
            self.what,
            humantime_utc(d.since_wall),
            d.said_error
        ))
    }

    /// An attempt failed: logs "<what> down since <time>, retrying: <error>"
    /// the first time, then at most once per `REMIND_EVERY`.
    pub fn failed(&self, error: &dyn Display) -> Said {
        self.failed_at(Instant::now(), error)
    }

    fn failed_at(&self, now: Instant, error: &dyn Display) -> Said {
        let mut down = self.down.lock().expect("outage lock");
        let said = match down.as_mut() {
            None => {
                *down = Some(Down {
                    since: now,
                    since_wall: SystemTime::now(),
                    last_said: now,
                    said_error: error.to_string(),
                });
                self.down_flag.store(true, Ordering::Release);
                Said::Down
            }
            Some(d) if now.duration_since(d.last_said) >= REMIND_EVERY => {
                d.last_said = now;
                d.said_error = error.to_string();
                Said::StillDown
            }
            Some(_) => return Said::Nothing,
        };
        let d = down.as_ref().expect("just set");
        let since = humantime_utc(d.since_wall);
        tracing::error!("{} down since {since}, retrying: {error}", self.what);
        if let Some(w) = &self.waiting {
            w.set(Some(format!(
                "waiting: {} down since {since}, retrying: {error}",
                self.what
            )));
        }
        said
    }

    /// An attempt succeeded: logs "<what> back after <duration>" if it was
    /// down.
    pub fn ok(&self) -> Said {
        if !self.down_flag.load(Ordering::Acquire) {
            return Said::Nothing;
        }
        self.ok_at(Instant::now())
    }

    fn ok_at(&self, now: Instant) -> Said {
        let taken = {
            // The flag changes under the lock, as in `failed_at`, so the two cannot cross.
            let mut down = self.down.lock().expect("outage lock");
            self.down_flag.store(false, Ordering::Release);
            down.take()
        };
        let Some(d) = taken else {
            return Said::Nothing;
        };
        if let Some(w) = &self.waiting {
            w.set(None);
        }
        tracing::info!(
            "{} back after {:.1} s",
            self.what,
            now.duration_since(d.since).as_secs_f64()
        );
        Said::Back
    }
}

/// A gate for retries that are not yet an outage (a request retried within its connector's
/// own retries, a consumer error the client recovers from): the first is worth a WARN, the
/// next ones only once a minute, so a burst of retries across many requests is one line.
/// Shared across threads.
#[derive(Debug, Default)]
pub struct Reminder {
    last: Mutex<Option<Instant>>,
}

impl Reminder {
    /// Whether to say this one: the first, or the first after `REMIND_EVERY` without one.
    pub fn due(&self) -> bool {
        self.due_at(Instant::now())
    }

    fn due_at(&self, now: Instant) -> bool {
        let mut last = self.last.lock().expect("reminder lock");
        if last.is_none_or(|t| now.duration_since(t) >= REMIND_EVERY) {
            *last = Some(now);
            true
        } else {
            false
        }
    }
}

/// `2026-12-03T16:29:21Z`: the moment it went down, as an operator compares it with other logs.
fn humantime_utc(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Capped exponential backoff with jitter, for waits that retry until something comes back:
/// each wait is a random time between half and all of `min(first * 2^n, cap)`, so clients
/// that lost the same server do not all retry in step.
#[derive(Debug)]
pub struct Backoff {
    next: Duration,
    cap: Duration,
    seed: u64,
}

impl Backoff {
    pub fn new(first: Duration, cap: Duration) -> Backoff {
        let seed = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            ^ u64::from(std::process::id()).rotate_left(32);
        Backoff {
            next: first,
            cap,
            seed: seed | 1,
        }
    }

    /// The next wait.
    pub fn next_wait(&mut self) -> Duration {
        // xorshift64: enough randomness to spread retries, no dependency.
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let full = self.next.min(self.cap);
        self.next = self.next.saturating_mul(2).min(self.cap);
        let half = full / 2;
        half + half.mul_f64((self.seed % 1000) as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_is_said_once_then_once_a_minute_then_back() {
        let r = OutageReporter::new("Kafka at b:9092");
        let t0 = Instant::now();
        assert_eq!(r.ok_at(t0), Said::Nothing);
        assert_eq!(r.failed_at(t0, &"refused"), Said::Down);
        assert!(r.is_down());
        for s in 1..60 {
            assert_eq!(
                r.failed_at(t0 + Duration::from_secs(s), &"refused"),
                Said::Nothing
            );
        }
        assert_eq!(
            r.failed_at(t0 + Duration::from_secs(60), &"refused"),
            Said::StillDown
        );
        assert_eq!(
            r.failed_at(t0 + Duration::from_secs(61), &"refused"),
            Said::Nothing
        );
        assert_eq!(r.ok_at(t0 + Duration::from_secs(90)), Said::Back);
        assert!(!r.is_down());
        assert_eq!(r.ok_at(t0 + Duration::from_secs(91)), Said::Nothing);
        assert_eq!(
            r.failed_at(t0 + Duration::from_secs(92), &"again"),
            Said::Down
        );
    }

    #[test]
    fn a_task_shows_what_it_waits_for_while_the_outage_lasts() {
        let w = Waiting::default();
        let r = OutageReporter::for_task("Elasticsearch at http://es:9200", &w);
        assert_eq!(w.get(), None);
        r.failed(&"connection refused");
        let reason = w.get().unwrap();
        assert!(
            reason.starts_with("waiting: Elasticsearch at http://es:9200 down since ")
                && reason.ends_with(", retrying: connection refused"),
            "{reason}"
        );
        r.ok();
        assert_eq!(w.get(), None);
        assert_eq!(r.down_reason(), None);
        r.failed(&"timed out");
        let reason = r.down_reason().unwrap();
        assert!(
            reason.starts_with("Elasticsearch at http://es:9200 down since ")
                && reason.ends_with(", retrying: timed out"),
            "{reason}"
        );
    }

    #[test]
    fn a_reminder_is_due_at_first_then_once_a_minute() {
        let r = Reminder::default();
        let t0 = Instant::now();
        assert!(r.due_at(t0));
        assert!(!r.due_at(t0 + Duration::from_secs(1)));
        assert!(!r.due_at(t0 + Duration::from_secs(59)));
        assert!(r.due_at(t0 + Duration::from_secs(60)));
        assert!(!r.due_at(t0 + Duration::from_secs(61)));
    }

    #[test]
    fn backoff_is_jittered_and_capped() {
        let mut b = Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
        let waits: Vec<Duration> = (0..12).map(|_| b.next_wait()).collect();
        assert!(waits[0] >= Duration::from_millis(100) && waits[0] <= Duration::from_millis(200));
        assert!(waits.iter().all(|w| *w <= Duration::from_secs(5)));
        assert!(waits[11] >= Duration::from_millis(2500), "{waits:?}");
        let tail: std::collections::BTreeSet<_> = waits[6..].iter().collect();
        assert!(tail.len() > 1, "jittered: {waits:?}");
    }

    #[test]
    fn utc_time_is_formatted() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_315_361);
        assert_eq!(humantime_utc(t), "2026-12-03T16:29:21Z");
    }
}
