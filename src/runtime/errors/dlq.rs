//! The dead letter queue: failed records go to a topic with their original raw key, value,
//! headers and timestamp, plus Connect's `__connect.errors.*` context headers. Offsets move
//! past a dead-lettered record only after the DLQ write is acknowledged (`flush`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::error::KafkaError;
use rdkafka::message::{DeliveryResult, Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;

use super::Failure;
use crate::runtime::kafka::{ClientRole, ConnectionErrors, Deliveries};
use crate::runtime::metrics::TaskMetrics;

#[derive(Default)]
pub struct DlqContext {
    failed: AtomicU64,
    last_error: Mutex<Option<String>>,
    connection: ConnectionErrors,
}

crate::runtime::kafka::connection_context!(DlqContext, connection);

impl DlqContext {
    fn failed_with(&self, error: Option<KafkaError>) {
        if let Some(e) = error {
            self.failed.fetch_add(1, Ordering::SeqCst);
            *self.last_error.lock().expect("lock") = Some(e.to_string());
        }
    }
}

impl ProducerContext for DlqContext {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        self.failed_with(result.as_ref().err().map(|(e, _)| e.clone()));
    }
}

/// A record as it was before the failure, for the dead letter queue.
pub struct RawRecord<'a> {
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: Vec<(&'a str, Option<&'a [u8]>)>,
    pub timestamp: Option<i64>,
}

pub struct DeadLetterQueue {
    topic: String,
    /// The producer's delivery reports; declared before the producer, to be dropped first.
    deliveries: Deliveries,
    producer: BaseProducer<DlqContext>,
    connector: String,
    task_id: usize,
    context_headers: bool,
    /// Where records sent and records lost are counted (`deadletterqueue-produce-*`).
    metrics: Arc<TaskMetrics>,
}

#[derive(Debug, thiserror::Error)]
pub enum DlqError {
    /// librdkafka would not queue the record.
    #[error("dead letter queue {topic}")]
    Send {
        topic: String,
        #[source]
        source: rdkafka::error::KafkaError,
    },
    /// Records were not acknowledged: `reason` is librdkafka's report, followed by what the
    /// producer last heard about its connection (the report alone often says only "timed
    /// out").
    #[error("dead letter queue {topic}: {reason}")]
    Unacknowledged { topic: String, reason: String },
}

impl DeadLetterQueue {
    pub fn new(
        topic: String,
        producer: BaseProducer<DlqContext>,
        connector: &str,
        task_id: usize,
        context_headers: bool,
        metrics: Arc<TaskMetrics>,
    ) -> DeadLetterQueue {
        DeadLetterQueue {
            topic,
            deliveries: Deliveries::new(&producer),
            producer,
            connector: connector.to_string(),
            task_id,
            context_headers,
            metrics,
        }
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub fn report(&self, raw: &RawRecord<'_>, failure: &Failure) -> Result<(), DlqError> {
        self.metrics
            .errors
            .dlq_requests
            .fetch_add(1, Ordering::Relaxed);
        let mut headers = OwnedHeaders::new_with_capacity(raw.headers.len() + 10);
        for (k, v) in &raw.headers {
            headers = headers.insert(Header { key: k, value: *v });
        }
        if self.context_headers {
            let partition = failure.partition.map(|p| p.to_string());
            let offset = failure.offset.map(|o| o.to_string());
            let task = self.task_id.to_string();
            let stack = format!("{}: {}", failure.exception_class, failure.message);
            let mut add = |k: &str, v: Option<&str>| {
                if let Some(v) = v {
                    headers = std::mem::take(&mut headers).insert(Header {
                        key: k,
                        value: Some(v.as_bytes()),
                    });
                }
            };
            add("__connect.errors.topic", Some(&failure.topic));
            add("__connect.errors.partition", partition.as_deref());
            add("__connect.errors.offset", offset.as_deref());
            add("__connect.errors.connector.name", Some(&self.connector));
            add("__connect.errors.task.id", Some(&task));
            add("__connect.errors.stage", Some(failure.stage.name()));
            add("__connect.errors.class.name", Some(&failure.class_name));
            add(
                "__connect.errors.exception.class.name",
                Some(failure.exception_class),
            );
            add("__connect.errors.exception.message", Some(&failure.message));
            add("__connect.errors.exception.stacktrace", Some(&stack));
        }
        let mut rec: BaseRecord<'_, [u8], [u8], ()> = BaseRecord::to(&self.topic).headers(headers);
        if let Some(k) = raw.key {
            rec = rec.key(k);
        }
        if let Some(v) = raw.value {
            rec = rec.payload(v);
        }
        if let Some(ts) = raw.timestamp {
            rec = rec.timestamp(ts);
        }
        loop {
            match self.producer.send(rec) {
                Ok(()) => break,
                Err((e, back)) => {
                    if matches!(
                        e.rdkafka_error_code(),
                        Some(rdkafka::types::RDKafkaErrorCode::QueueFull)
                    ) {
                        self.serve(Duration::from_millis(50));
                        rec = back;
                    } else {
                        self.metrics
                            .errors
                            .dlq_failures
                            .fetch_add(1, Ordering::Relaxed);
                        return Err(DlqError::Send {
                            topic: self.topic.clone(),
                            source: e,
                        });
                    }
                }
            }
        }
        self.serve(Duration::ZERO);
        Ok(())
    }

    /// Serves delivery reports, waiting up to `timeout` for the first; failures are kept
    /// for the next `flush` to report.
    fn serve(&self, timeout: Duration) {
        let ctx = self.producer.context();
        self.deliveries
            .serve(self.producer.client(), timeout, |_, error| {
                ctx.failed_with(error)
            });
    }

    /// Waits until every dead-lettered record is acknowledged; an error means offsets must
    /// not move past them.
    pub fn flush(&self, timeout: Duration) -> Result<(), DlqError> {
        let ctx = self.producer.context();
        if !self
            .deliveries
            .flush(&self.producer, timeout, |_, error| ctx.failed_with(error))
        {
            let e = KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut);
            return Err(DlqError::Unacknowledged {
                topic: self.topic.clone(),
                reason: format!("records not acknowledged: {e}{}", self.connection_failure()),
            });
        }
        let failed = ctx.failed.swap(0, Ordering::SeqCst);
        if failed > 0 {
            self.metrics
                .errors
                .dlq_failures
                .fetch_add(failed, Ordering::Relaxed);
            let reason = ctx
                .last_error
                .lock()
                .expect("lock")
                .take()
                .unwrap_or_default();
            return Err(DlqError::Unacknowledged {
                topic: self.topic.clone(),
                reason: format!("{reason}{}", self.connection_failure()),
            });
        }
        Ok(())
    }

    /// Why the producer could not connect, if it said.
    fn connection_failure(&self) -> String {
        self.producer
            .context()
            .connection
            .cause(ClientRole::Producer)
    }
}
