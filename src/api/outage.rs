//! How long a task may wait for its own system (PostgreSQL, Elasticsearch, a database) to
//! come back. A long-running worker waits as long as it takes; a `--once` run is a cron job
//! and must end, so the worker hands every task one bound
//! (`kconnect.once.dependency.timeout.ms`) instead of each connector inventing its own.

use std::time::{Duration, Instant};

use super::error::ConnectError;

/// Tracks one outage of a task's system: when the current run of retriable failures began,
/// and whether it has lasted past the bound the worker gave.
#[derive(Clone, Debug)]
pub struct Outage {
    limit: Option<Duration>,
    since: Option<Instant>,
}

impl Outage {
    /// `limit`: `None` waits for ever (a long-running worker), `Some` is a `--once` run's bound.
    pub fn new(limit: Option<Duration>) -> Outage {
        Outage { limit, since: None }
    }

    /// The system answered: the next failure starts a new outage.
    pub fn recovered(&mut self) {
        self.since = None;
    }

    /// A failure happened now: starts the outage unless one is running (for loops that retry
    /// on their own and check [`expired`](Outage::expired) between attempts).
    pub fn begin(&mut self) {
        self.since.get_or_insert_with(Instant::now);
    }

    /// How long until the bound passes (zero once it has): a retry loop sleeps no longer
    /// than this, so it gives up on time. `None` without a bound or a running outage.
    pub fn left(&self) -> Option<Duration> {
        let (since, limit) = (self.since?, self.limit?);
        Some(limit.saturating_sub(since.elapsed()))
    }

    /// Whether a failure now would be past the bound (for loops that retry on their own).
    pub fn expired(&self) -> bool {
        matches!((self.since, self.limit), (Some(s), Some(l)) if s.elapsed() >= l)
    }

    /// Notes a failure of `system`. A retriable error within the bound comes back as it was;
    /// past it, the same error becomes fatal with one message naming the system, how long it
    /// was waited for and the last error. Fatal errors pass through untouched.
    pub fn failed(&mut self, system: &str, e: ConnectError) -> ConnectError {
        if !e.is_retriable() {
            return e;
        }
        let since = *self.since.get_or_insert_with(Instant::now);
        match self.limit {
            Some(limit) if since.elapsed() >= limit => gave_up(system, since.elapsed(), limit, e),
            _ => e,
        }
    }
}

/// The one message a `--once` run ends with when `system` stayed unreachable for `waited`
/// (at least the bound `limit`): fatal, with the last error kept as its source.
pub fn gave_up(system: &str, waited: Duration, limit: Duration, e: ConnectError) -> ConnectError {
    let message = format!(
        "{system} still failing after {:.0} s, giving up this --once run (kconnect.once.dependency.timeout.ms={}); last error: {}; what was delivered before is committed and the next run goes on from there",
        waited.as_secs_f64(),
        limit.as_millis(),
        e.message().trim_end_matches(" (will retry)")
    );
    // The last error's text is in the message; its own cause stays the source.
    let source = match e {
        ConnectError::Retriable { source, .. } | ConnectError::Fatal { source, .. } => source,
    };
    ConnectError::Fatal { message, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bounded_outage_turns_retriable_into_fatal_only_past_the_bound() {
        let mut o = Outage::new(Some(Duration::from_millis(30)));
        let e = o.failed("PostgreSQL at db:5432", ConnectError::retriable("refused"));
        assert!(e.is_retriable());
        std::thread::sleep(Duration::from_millis(40));
        assert!(o.expired());
        let e = o.failed("PostgreSQL at db:5432", ConnectError::retriable("refused"));
        assert!(!e.is_retriable());
        assert!(e.message().contains("PostgreSQL at db:5432"), "{e}");
        assert!(e.message().contains("last error: refused"), "{e}");
        o.recovered();
        assert!(!o.expired());
        assert!(o.failed("x", ConnectError::retriable("r")).is_retriable());
        assert!(o.left().unwrap() <= Duration::from_millis(30));
    }

    #[test]
    fn an_unbounded_outage_never_gives_up() {
        let mut o = Outage::new(None);
        o.failed("x", ConnectError::retriable("r"));
        std::thread::sleep(Duration::from_millis(5));
        assert!(!o.expired());
        assert_eq!(o.left(), None);
        assert!(o.failed("x", ConnectError::retriable("r")).is_retriable());
    }
}
