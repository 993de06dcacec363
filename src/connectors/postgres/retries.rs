//! Debezium's two start-and-restart rules: the collections guardrail (checked at every start)
//! and errors.max.retries, the count of retriable failures of the snapshot or the stream
//! that restart the task before one fails it (Debezium's `ErrorHandler`).

use crate::api::ConnectError;
use crate::data::SourceRecord;

/// guardrail.collections.max against the tables a start captures, as Debezium's
/// `validateGuardrailLimits`: its message, logged (warn) or failing the start (fail).
pub fn guardrail(connector: &str, max: u32, fail: bool, tables: usize) -> Result<(), ConnectError> {
    if max == 0 {
        return Ok(());
    }
    if tables <= max as usize {
        tracing::info!(connector = %connector,
            "Guardrail validation passed: {tables} tables/collections configured for capture (limit: {max})");
        return Ok(());
    }
    let message = format!(
        "Guardrail limit exceeded: {tables} tables/collections configured for capture, but maximum allowed is {max}."
    );
    if fail {
        return Err(ConnectError::fatal(format!(
            "{message} Raise guardrail.collections.max, or capture fewer tables (table.include.list, schema.include.list); guardrail.collections.limit.action=warn only logs this."
        )));
    }
    tracing::warn!(connector = %connector, "{message}");
    Ok(())
}

/// The retries of errors.max.retries, counted across restarts until change events flow again.
#[derive(Debug, Default)]
pub struct Retries {
    used: u32,
}

impl Retries {
    /// A retriable failure of the snapshot or the stream: `Ok` with the retry's number when
    /// one is left (`max` None: without limit), else `e` made the fatal error that ends the
    /// task.
    pub fn take(
        &mut self,
        max: Option<u32>,
        e: ConnectError,
    ) -> Result<(u32, ConnectError), ConnectError> {
        match max {
            Some(max) if self.used >= max => {
                let message = format!(
                    "{}; the maximum number of {max} retries has been attempted (errors.max.retries={max}), so the task stops: set errors.max.retries higher, or -1 to retry without limit",
                    e.message()
                );
                let source = match e {
                    ConnectError::Retriable { source, .. } | ConnectError::Fatal { source, .. } => {
                        source
                    }
                };
                Err(ConnectError::Fatal { message, source })
            }
            _ => {
                self.used += 1;
                Ok((self.used, e))
            }
        }
    }

    /// A poll returned change events (Debezium's envelopes, not heartbeats or transaction
    /// markers): the task has recovered, and the next failure has every retry again.
    pub fn polled(&mut self, records: &[SourceRecord]) {
        if self.used > 0 && records.iter().any(is_change_event) {
            self.used = 0;
        }
    }
}

fn is_change_event(r: &SourceRecord) -> bool {
    r.record
        .value_schema
        .as_ref()
        .and_then(|s| s.name.as_deref())
        .is_some_and(|n| n.ends_with(".Envelope"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_run_out_after_max_and_never_without_a_limit() {
        let mut r = Retries::default();
        assert_eq!(
            r.take(Some(2), ConnectError::retriable("lost")).unwrap().0,
            1
        );
        assert_eq!(
            r.take(Some(2), ConnectError::retriable("lost")).unwrap().0,
            2
        );
        let e = r
            .take(Some(2), ConnectError::retriable("lost"))
            .unwrap_err();
        assert!(!e.is_retriable());
        assert!(
            e.message()
                .starts_with("lost; the maximum number of 2 retries"),
            "{e}"
        );
        assert!(e.message().contains("errors.max.retries=2"), "{e}");
        let mut none = Retries::default();
        assert!(none.take(Some(0), ConnectError::retriable("lost")).is_err());
        let mut unlimited = Retries::default();
        for n in 1..100 {
            assert_eq!(
                unlimited
                    .take(None, ConnectError::retriable("x"))
                    .unwrap()
                    .0,
                n
            );
        }
    }

    #[test]
    fn change_events_reset_the_count_and_other_records_do_not() {
        use crate::data::{ConnectRecord, Schema, SchemaType};
        let record = |name: &str| SourceRecord {
            partition: Default::default(),
            offset: Default::default(),
            record: ConnectRecord {
                value_schema: Some(std::sync::Arc::new(Schema {
                    name: Some(name.into()),
                    ..Schema::new(SchemaType::Struct)
                })),
                ..ConnectRecord::new("t")
            },
        };
        let mut r = Retries::default();
        r.take(Some(1), ConnectError::retriable("x")).unwrap();
        r.polled(&[record("io.debezium.connector.common.Heartbeat")]);
        assert!(r.take(Some(1), ConnectError::retriable("x")).is_err());
        r.polled(&[record("dbserver1.public.t.Envelope")]);
        assert_eq!(r.take(Some(1), ConnectError::retriable("x")).unwrap().0, 1);
    }

    #[test]
    fn the_guardrail_fails_or_warns_past_its_limit_only() {
        assert!(guardrail("c", 0, true, 1000).is_ok());
        assert!(guardrail("c", 3, true, 3).is_ok());
        assert!(guardrail("c", 3, false, 4).is_ok());
        let e = guardrail("c", 3, true, 4).unwrap_err();
        assert!(e.message().starts_with(
            "Guardrail limit exceeded: 4 tables/collections configured for capture, but maximum allowed is 3."
        ), "{e}");
    }
}
