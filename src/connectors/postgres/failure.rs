//! `event.processing.failure.handling.mode`: what a streamed change that cannot be processed
//! does, as Debezium's `EventDispatcher` decides it: fail the task, or skip the change with a
//! warning or quietly. Broken replication (an undecodable pgoutput message, a change for an
//! undescribed relation) is not a change's failure and fails the task whatever the mode.

use crate::api::ConnectError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureMode {
    Fail,
    Warn,
    /// `skip`, and `ignore`, Debezium's older name for it.
    Skip,
}

impl FailureMode {
    pub fn parse(value: &str) -> FailureMode {
        match value.trim().to_ascii_lowercase().as_str() {
            "warn" => FailureMode::Warn,
            "skip" | "ignore" => FailureMode::Skip,
            _ => FailureMode::Fail,
        }
    }

    /// The task's error for a change that failed at `position` (its offset, as Debezium names
    /// it), or `Ok` when the change is to be skipped: not emitted, the offsets moving past it
    /// with the next record.
    pub fn handle(self, position: &str, error: &str) -> Result<(), ConnectError> {
        match self {
            FailureMode::Fail => Err(ConnectError::fatal(format!(
                "error while processing the change at {position}: {error}; event.processing.failure.handling.mode=warn or skip would skip it"
            ))),
            FailureMode::Warn => {
                tracing::warn!("error while processing the change at {position}, which is skipped (event.processing.failure.handling.mode=warn): {error}");
                Ok(())
            }
            FailureMode::Skip => {
                tracing::debug!("error while processing the change at {position}, which is skipped (event.processing.failure.handling.mode=skip): {error}");
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_stops_the_task_and_warn_and_skip_skip_the_change() {
        assert_eq!(FailureMode::parse("IGNORE"), FailureMode::Skip);
        assert_eq!(FailureMode::parse(" warn "), FailureMode::Warn);
        assert_eq!(FailureMode::parse("fail"), FailureMode::Fail);
        let e = FailureMode::Fail
            .handle("lsn 0/16B3748", "column public.t.c: bad date")
            .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("0/16B3748") && text.contains("bad date"),
            "{text}"
        );
        assert!(FailureMode::Warn.handle("x", "y").is_ok());
        assert!(FailureMode::Skip.handle("x", "y").is_ok());
    }
}
