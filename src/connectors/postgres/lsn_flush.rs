//! Who confirms the replication slot's position, and what a slow confirmation does:
//! Debezium's `lsn.flush.mode` (with the older `flush.lsn.source`), `lsn.flush.timeout.ms`
//! and `lsn.flush.timeout.action`.

use std::time::Duration;

use crate::api::{InvalidConfig, Settings};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlushMode {
    /// The connector confirms what is committed (Debezium's default).
    Connector,
    /// Nothing confirms the slot: another process (or nobody) moves it.
    Manual,
    /// As `Connector`; in Debezium the JDBC driver also confirms the server's keepalive
    /// position once everything received was confirmed, which kconnect's reader does in
    /// every mode but `Manual`. Debezium also turns heartbeats on for it (see
    /// `heartbeat_fallback`).
    ConnectorAndDriver,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeoutAction {
    Fail,
    Warn,
    Ignore,
}

#[derive(Clone, Copy, Debug)]
pub struct LsnFlush {
    pub mode: FlushMode,
    pub timeout: Duration,
    pub action: TimeoutAction,
}

/// Debezium's heartbeat interval for connector_and_driver when none is set and transaction
/// metadata is off: the position then reaches the stored offsets at least this often.
const FALLBACK_HEARTBEAT: Duration = Duration::from_millis(600_000);

impl LsnFlush {
    /// As Debezium resolves them: lsn.flush.mode when set, else flush.lsn.source when set
    /// (true: connector, false: manual), else connector.
    pub fn from_settings(s: &Settings) -> Result<LsnFlush, InvalidConfig> {
        let mode = match s.string("lsn.flush.mode").filter(|m| !m.is_empty()) {
            Some(_) => match s.choice("lsn.flush.mode")?.as_str() {
                "manual" => FlushMode::Manual,
                "connector_and_driver" => FlushMode::ConnectorAndDriver,
                _ => FlushMode::Connector,
            },
            None if s.is_set("flush.lsn.source") => {
                tracing::warn!("flush.lsn.source is deprecated in Debezium and replaced by lsn.flush.mode (true: connector, false: manual)");
                if s.bool("flush.lsn.source")? {
                    FlushMode::Connector
                } else {
                    FlushMode::Manual
                }
            }
            None => FlushMode::Connector,
        };
        let action = match s.choice("lsn.flush.timeout.action")?.as_str() {
            "warn" => TimeoutAction::Warn,
            "ignore" => TimeoutAction::Ignore,
            _ => TimeoutAction::Fail,
        };
        Ok(LsnFlush {
            mode,
            timeout: Duration::from_millis(s.i64("lsn.flush.timeout.ms")?.max(1) as u64),
            action,
        })
    }

    /// Whether the connector ever moves the slot.
    pub fn confirms(&self) -> bool {
        self.mode != FlushMode::Manual
    }

    /// heartbeat.interval.ms as Debezium runs it: connector_and_driver with no heartbeats and
    /// no transaction metadata gets a heartbeat every 10 minutes.
    pub fn heartbeat_fallback(
        &self,
        heartbeat: Option<Duration>,
        transaction_metadata: bool,
    ) -> Option<Duration> {
        if self.mode == FlushMode::ConnectorAndDriver
            && heartbeat.is_none()
            && !transaction_metadata
        {
            tracing::warn!("heartbeat.interval.ms was internally set to 600000 ms since lsn.flush.mode=connector_and_driver requires periodic opportunities to propagate LSNs to Kafka (as Debezium does); set heartbeat.interval.ms above 0 or enable provide.transaction.metadata to choose otherwise");
            return Some(FALLBACK_HEARTBEAT);
        }
        heartbeat
    }

    pub fn log_mode(&self) {
        match self.mode {
            FlushMode::Connector => tracing::info!("lsn.flush.mode=connector: the replication slot is confirmed up to the committed offsets"),
            FlushMode::Manual => tracing::warn!("lsn.flush.mode=manual: the replication slot's position is never confirmed, so the server keeps its WAL until something else advances the slot; a restart resumes from kconnect's stored offsets"),
            FlushMode::ConnectorAndDriver => tracing::info!("lsn.flush.mode=connector_and_driver: the replication slot is confirmed up to the committed offsets, and up to the server's keepalive position while every change read is confirmed"),
        }
    }
}

/// lsn.flush.timeout.ms and lsn.flush.timeout.action over the status updates that carry the
/// confirmed position: Debezium times its flush of the LSN to the server and, past the
/// timeout, fails the task, warns or says nothing. kconnect's reader thread writes them; the
/// task looks at how long a raised position has waited to be written each time it confirms.
#[derive(Debug)]
pub struct TimeoutWatch {
    flush: LsnFlush,
    /// The wait in progress was already reported.
    reported: bool,
}

/// A confirmation that took longer than lsn.flush.timeout.ms with action fail.
#[derive(Debug)]
pub struct FlushTimedOut(pub String);

impl TimeoutWatch {
    pub fn new(flush: LsnFlush) -> TimeoutWatch {
        TimeoutWatch {
            flush,
            reported: false,
        }
    }

    /// `in_flight`: how long the position to confirm has waited past when the reader should
    /// have written it (None: nothing waits); `lsn`: that position.
    pub fn check(&mut self, in_flight: Option<Duration>, lsn: u64) -> Result<(), FlushTimedOut> {
        let Some(took) = in_flight.filter(|t| *t >= self.flush.timeout) else {
            self.reported = false;
            return Ok(());
        };
        let ms = self.flush.timeout.as_millis();
        let lsn = super::db::format_lsn(lsn);
        match self.flush.action {
            TimeoutAction::Fail => Err(FlushTimedOut(format!(
                "confirming LSN {lsn} to the replication slot did not complete within lsn.flush.timeout.ms={ms} ({} ms so far); the task fails as lsn.flush.timeout.action=fail says (warn or ignore keep it running while the server is slow to read)",
                took.as_millis()
            ))),
            _ if std::mem::replace(&mut self.reported, true) => Ok(()),
            TimeoutAction::Warn => {
                tracing::warn!("confirming LSN {lsn} to the replication slot did not complete within lsn.flush.timeout.ms={ms}; continuing as lsn.flush.timeout.action=warn says");
                Ok(())
            }
            TimeoutAction::Ignore => {
                tracing::debug!("confirming LSN {lsn} to the replication slot did not complete within lsn.flush.timeout.ms={ms}; continuing as lsn.flush.timeout.action=ignore says");
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::connectors::postgres::KEYS;

    fn flush(pairs: &[(&str, &str)]) -> LsnFlush {
        let values: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        LsnFlush::from_settings(&Settings::new(KEYS, &values)).unwrap()
    }

    #[test]
    fn mode_resolves_as_debezium_resolves_it() {
        assert_eq!(flush(&[]).mode, FlushMode::Connector);
        assert_eq!(
            flush(&[("flush.lsn.source", "false")]).mode,
            FlushMode::Manual
        );
        assert_eq!(
            flush(&[("flush.lsn.source", "true")]).mode,
            FlushMode::Connector
        );
        // lsn.flush.mode wins over the deprecated key.
        let both = [
            ("flush.lsn.source", "false"),
            ("lsn.flush.mode", "connector"),
        ];
        assert_eq!(flush(&both).mode, FlushMode::Connector);
        let driver = flush(&[("lsn.flush.mode", "CONNECTOR_AND_DRIVER")]);
        assert_eq!(driver.mode, FlushMode::ConnectorAndDriver);
        assert!(!flush(&[("lsn.flush.mode", "manual")]).confirms());
        let d = flush(&[]);
        assert_eq!(
            (d.timeout, d.action),
            (Duration::from_secs(30), TimeoutAction::Fail)
        );
    }

    #[test]
    fn connector_and_driver_turns_heartbeats_on_unless_set_or_transactions_are_emitted() {
        let driver = flush(&[("lsn.flush.mode", "connector_and_driver")]);
        assert_eq!(
            driver.heartbeat_fallback(None, false),
            Some(Duration::from_secs(600))
        );
        let five = Some(Duration::from_secs(5));
        assert_eq!(driver.heartbeat_fallback(five, false), five);
        assert_eq!(driver.heartbeat_fallback(None, true), None);
        assert_eq!(flush(&[]).heartbeat_fallback(None, false), None);
    }

    #[test]
    fn a_write_past_the_timeout_fails_warns_once_or_is_ignored() {
        let ms = Duration::from_millis;
        let mut fail = TimeoutWatch::new(flush(&[("lsn.flush.timeout.ms", "100")]));
        assert!(fail.check(None, 1).is_ok());
        assert!(fail.check(Some(ms(99)), 1).is_ok());
        let e = fail.check(Some(ms(100)), 0x16B3748).unwrap_err();
        assert!(
            e.0.contains("0/16B3748") && e.0.contains("lsn.flush.timeout.ms=100"),
            "{}",
            e.0
        );

        for action in ["warn", "ignore"] {
            let mut w = TimeoutWatch::new(flush(&[
                ("lsn.flush.timeout.ms", "100"),
                ("lsn.flush.timeout.action", action),
            ]));
            assert!(w.check(Some(ms(150)), 1).is_ok());
            assert!(w.reported);
            assert!(w.check(Some(ms(250)), 1).is_ok());
            // The write finished: the next slow one is reported again.
            assert!(w.check(None, 1).is_ok());
            assert!(!w.reported);
        }
    }
}
