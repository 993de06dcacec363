//! Error handling as Connect's `errors.*` settings define it: which stage failed, whether the
//! failure is tolerated, how long to retry, what to log, and the dead letter queue.

pub mod dlq;

use std::time::{Duration, Instant};

use crate::api::{sleep_unless_stopped, Outage, OutageReporter, StopFlag};
use crate::config::ConnectorConfig;

/// Where in the pipeline a record failed; the names are Connect's, as they appear in the
/// `__connect.errors.stage` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    KafkaConsume,
    KeyConverter,
    ValueConverter,
    HeaderConverter,
    Transformation,
    TaskPut,
    TaskPoll,
    KafkaProduce,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::KafkaConsume => "KAFKA_CONSUME",
            Stage::KeyConverter => "KEY_CONVERTER",
            Stage::ValueConverter => "VALUE_CONVERTER",
            Stage::HeaderConverter => "HEADER_CONVERTER",
            Stage::Transformation => "TRANSFORMATION",
            Stage::TaskPut => "TASK_PUT",
            Stage::TaskPoll => "TASK_POLL",
            Stage::KafkaProduce => "KAFKA_PRODUCE",
        }
    }

    /// Conversion, transformation and (for sources, as since KIP-779) produce failures are
    /// tolerated; a failing task itself never is.
    pub fn tolerable(self) -> bool {
        matches!(
            self,
            Stage::KeyConverter
                | Stage::ValueConverter
                | Stage::HeaderConverter
                | Stage::Transformation
                | Stage::KafkaProduce
        )
    }
}

/// The exception class of a failure worth retrying (a converter's registry was unreachable).
pub const RETRIABLE_EXCEPTION: &str = "org.apache.kafka.connect.errors.RetriableException";

/// What a converter's error is as a Java exception class.
pub fn converter_exception(e: &crate::data::DataError) -> &'static str {
    if e.is_retriable() {
        RETRIABLE_EXCEPTION
    } else {
        "org.apache.kafka.connect.errors.DataException"
    }
}

/// One record's failure: enough to log it, dead-letter it, or fail the task with it.
#[derive(Clone, Debug)]
pub struct Failure {
    pub stage: Stage,
    /// The class that failed (converter, transform, connector), for `__connect.errors.class.name`.
    pub class_name: String,
    /// The Java exception class a Connect user would expect to see for this kind of failure.
    pub exception_class: &'static str,
    pub message: String,
    pub topic: String,
    pub partition: Option<i32>,
    pub offset: Option<i64>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} failed in stage {} ({})",
            self.coordinates(),
            self.stage.name(),
            self.class_name
        )?;
        write!(f, ": {}", self.message)
    }
}

impl Failure {
    pub fn coordinates(&self) -> String {
        match (self.partition, self.offset) {
            (Some(p), Some(o)) => format!("record {}-{p}@{o}", self.topic),
            _ => format!("record for topic {}", self.topic),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ErrorPolicy {
    pub tolerate_all: bool,
    /// `None` retries forever (`errors.retry.timeout=-1`).
    pub retry_timeout: Option<Duration>,
    pub retry_delay_max: Duration,
    pub log_enable: bool,
    pub log_include_messages: bool,
    pub dlq_topic: Option<String>,
    pub dlq_replication_factor: i32,
    pub dlq_context_headers: bool,
    /// How long a conversion may wait for an unreachable dependency (a schema registry):
    /// `None` for as long as it takes (a long-running worker), a `--once` run's bound else.
    pub conversion_wait: Option<Duration>,
}

impl ErrorPolicy {
    pub fn from_config(cfg: &ConnectorConfig) -> ErrorPolicy {
        let s = cfg.common();
        let retry = s.i64("errors.retry.timeout").unwrap_or(0);
        ErrorPolicy {
            tolerate_all: s
                .choice("errors.tolerance")
                .map(|v| v == "all")
                .unwrap_or(false),
            retry_timeout: if retry < 0 {
                None
            } else {
                Some(Duration::from_millis(retry as u64))
            },
            retry_delay_max: Duration::from_millis(
                s.i64("errors.retry.delay.max.ms").unwrap_or(60000).max(1) as u64,
            ),
            log_enable: s.bool("errors.log.enable").unwrap_or(false),
            log_include_messages: s.bool("errors.log.include.messages").unwrap_or(false),
            dlq_topic: s
                .string("errors.deadletterqueue.topic.name")
                .filter(|t| !t.is_empty()),
            dlq_replication_factor: s
                .i64("errors.deadletterqueue.topic.replication.factor")
                .unwrap_or(3) as i32,
            dlq_context_headers: s
                .bool("errors.deadletterqueue.context.headers.enable")
                .unwrap_or(false),
            conversion_wait: None,
        }
    }

    /// Whether the task goes on after this failure. A retriable failure that outlived its
    /// retries (the worker was stopped meanwhile) is never tolerated: the record was not
    /// bad, and skipping it would lose it.
    pub fn tolerates(&self, f: &Failure) -> bool {
        self.tolerate_all && f.stage.tolerable() && f.exception_class != RETRIABLE_EXCEPTION
    }

    /// Runs a conversion until it succeeds or fails for a reason other than an unavailable
    /// dependency (a schema registry that cannot be reached): those are retried with
    /// backoff for as long as they last, as Connect retries a sink's `RetriableException`,
    /// so an outage holds records back instead of failing or skipping them. Gives up only
    /// when the worker stops.
    pub fn retry_conversion<T>(
        &self,
        stop: &StopFlag,
        what: &str,
        mut op: impl FnMut() -> Result<T, crate::data::DataError>,
    ) -> Result<T, crate::data::DataError> {
        // The first attempt is the whole story for nearly every record: nothing that costs
        // an allocation is made before it fails.
        let retriable = |e: &crate::data::DataError| e.is_retriable() && !stop.is_stopped();
        let mut result = op();
        if !matches!(&result, Err(e) if retriable(e)) {
            return result;
        }
        let mut delay = Duration::from_millis(300);
        // Said once when it begins, once a minute, and once when it ends; bounded in --once.
        let report = OutageReporter::new(format!("the schema registry ({what})"));
        let mut outage = Outage::new(self.conversion_wait);
        while let Err(e) = &result {
            if !retriable(e) {
                break;
            }
            report.failed(e);
            outage.begin();
            if outage.expired() {
                // Still retriable, so never tolerated: the record was not bad.
                return Err(crate::data::DataError(
                    format!(
                        "{e}; still failing, giving up this --once run (kconnect.once.dependency.timeout.ms); what was delivered before is committed"
                    ),
                    true,
                ));
            }
            let left = outage.left().map_or(delay, |left| left.min(delay));
            sleep_unless_stopped(stop, left.max(Duration::from_millis(10)));
            delay = (delay * 2).min(self.retry_delay_max);
            result = op();
        }
        if result.is_ok() {
            report.ok();
        }
        result
    }

    /// Logs a tolerated failure the way `errors.log.enable` asks.
    pub fn log_tolerated(&self, connector: &str, f: &Failure, record: impl FnOnce() -> String) {
        if !self.log_enable {
            return;
        }
        if self.log_include_messages {
            tracing::error!(
                connector,
                stage = f.stage.name(),
                "error encountered in task: {f}; record: {}",
                record()
            );
        } else {
            tracing::error!(
                connector,
                stage = f.stage.name(),
                "error encountered in task: {f}"
            );
        }
    }

    /// Runs `op` until it succeeds, fails for good, the retry budget is spent, or the worker
    /// stops. Backoff doubles from 300 ms up to `errors.retry.delay.max.ms`, as Connect's.
    pub fn retry<T, E: std::fmt::Display>(
        &self,
        stop: &StopFlag,
        what: &str,
        mut op: impl FnMut() -> Result<T, E>,
        retriable: impl Fn(&E) -> bool,
    ) -> Result<T, E> {
        // Measured from the first failure, as a connector's own outage bound is: a connector
        // that names its system when it gives up then always does so before this backstop.
        let mut start: Option<Instant> = None;
        let mut delay = Duration::from_millis(300);
        let mut attempt = 0u32;
        // Said at the first failure and then once a minute, not at every attempt.
        let said = crate::api::outage_report::Reminder::default();
        loop {
            match op() {
                Ok(v) => return Ok(v),
                Err(e) if retriable(&e) && !stop.is_stopped() => {
                    let elapsed = start.get_or_insert_with(Instant::now).elapsed();
                    if let Some(limit) = self.retry_timeout {
                        if elapsed >= limit && attempt > 0 {
                            return Err(e);
                        }
                    }
                    attempt += 1;
                    if said.due() {
                        tracing::warn!(
                            attempt,
                            "{what} failed, retrying in {} ms: {e}",
                            delay.as_millis()
                        );
                    } else {
                        tracing::debug!(
                            attempt,
                            "{what} failed, retrying in {} ms: {e}",
                            delay.as_millis()
                        );
                    }
                    sleep_unless_stopped(stop, delay);
                    delay = (delay * 2).min(self.retry_delay_max);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(retry_ms: i64) -> ErrorPolicy {
        ErrorPolicy {
            tolerate_all: true,
            retry_timeout: (retry_ms >= 0).then(|| Duration::from_millis(retry_ms as u64)),
            retry_delay_max: Duration::from_millis(10),
            log_enable: false,
            log_include_messages: false,
            dlq_topic: None,
            dlq_replication_factor: 3,
            dlq_context_headers: false,
            conversion_wait: None,
        }
    }

    #[test]
    fn an_unreachable_registry_ends_a_once_run_without_being_tolerated() {
        let p = ErrorPolicy {
            conversion_wait: Some(Duration::from_millis(50)),
            ..policy(0)
        };
        let mut attempts = 0;
        let r: Result<(), crate::data::DataError> =
            p.retry_conversion(&StopFlag::new(), "converting", || {
                attempts += 1;
                Err(crate::data::DataError("registry down".into(), true))
            });
        let e = r.unwrap_err();
        assert!(
            e.is_retriable() && e.0.contains("giving up this --once run"),
            "{e:?}"
        );
        assert!(attempts >= 1);
        let f = Failure {
            stage: Stage::ValueConverter,
            class_name: "AvroConverter".into(),
            exception_class: converter_exception(&e),
            message: e.0,
            topic: "t".into(),
            partition: None,
            offset: None,
        };
        assert!(!p.tolerates(&f), "errors.tolerance=all must not skip it");
        // A long-running worker retries until it succeeds.
        let mut n = 0;
        let r = policy(0).retry_conversion(&StopFlag::new(), "converting", || {
            n += 1;
            if n < 3 {
                Err(crate::data::DataError("registry down".into(), true))
            } else {
                Ok(n)
            }
        });
        assert_eq!(r.unwrap(), 3);
    }

    #[test]
    fn retries_retriable_errors_until_success() {
        let mut n = 0;
        let r: Result<u32, String> = policy(-1).retry(
            &StopFlag::new(),
            "op",
            || {
                n += 1;
                if n < 3 {
                    Err("transient".into())
                } else {
                    Ok(n)
                }
            },
            |_| true,
        );
        assert_eq!(r.unwrap(), 3);
    }

    #[test]
    fn gives_up_on_fatal_errors_at_once() {
        let mut n = 0;
        let r: Result<(), String> = policy(-1).retry(
            &StopFlag::new(),
            "op",
            || {
                n += 1;
                Err("fatal".into())
            },
            |_| false,
        );
        assert!(r.is_err());
        assert_eq!(n, 1);
    }

    #[test]
    fn only_converter_and_transform_stages_are_tolerated() {
        let p = policy(0);
        let f = |stage| Failure {
            stage,
            class_name: String::new(),
            exception_class: "",
            message: String::new(),
            topic: "t".into(),
            partition: None,
            offset: None,
        };
        assert!(p.tolerates(&f(Stage::ValueConverter)));
        assert!(p.tolerates(&f(Stage::Transformation)));
        assert!(!p.tolerates(&f(Stage::TaskPut)));
    }
}
