//! What a sink does to each consumed message before `put`: convert key, value and headers,
//! run the transforms, and apply `errors.tolerance` (log, dead-letter, skip) to a failure.

use std::sync::Arc;

use rdkafka::message::{BorrowedMessage, Headers, Message};

use super::super::converters::TaskConverters;
use super::super::metrics::TaskMetrics;
use super::super::task_error::TaskError;
use crate::config::ConnectorConfig;
use crate::data::{ConnectRecord, Headers as ConnectHeaders, SinkRecord, TimestampType};
use crate::runtime::errors::dlq::{DeadLetterQueue, RawRecord};
use crate::runtime::errors::{ErrorPolicy, Failure, Stage};
use crate::transform::TransformationChain;

/// A consumed message as it came from Kafka, for the dead letter queue.
pub(super) struct OwnedMessage {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    pub timestamp: Option<i64>,
}

impl OwnedMessage {
    pub(super) fn of(m: &BorrowedMessage<'_>) -> OwnedMessage {
        OwnedMessage {
            topic: m.topic().to_string(),
            partition: m.partition(),
            offset: m.offset(),
            key: m.key().map(<[u8]>::to_vec),
            value: m.payload().map(<[u8]>::to_vec),
            headers: m
                .headers()
                .map(|hs| {
                    hs.iter()
                        .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                        .collect()
                })
                .unwrap_or_default(),
            timestamp: m.timestamp().to_millis(),
        }
    }
}

/// The per-record part of a sink task: conversion, transforms and error tolerance. Kept
/// apart from the consumer so a message borrowed from it can be processed.
pub struct RecordPipeline {
    pub name: String,
    pub config: ConnectorConfig,
    pub chain: TransformationChain,
    pub converters: TaskConverters,
    pub policy: ErrorPolicy,
    pub dlq: Option<DeadLetterQueue>,
    pub metrics: Arc<TaskMetrics>,
    /// Converters retry an unreachable schema registry until the task is stopped.
    pub stop: crate::api::StopFlag,
}

impl RecordPipeline {
    /// Converts and transforms one message. `Ok(None)`: skipped (filtered or tolerated).
    pub(super) fn process(
        &mut self,
        m: &BorrowedMessage<'_>,
    ) -> Result<Option<SinkRecord>, TaskError> {
        let topic = m.topic();
        let fail = |stage: Stage, class: &str, e: crate::data::DataError| Failure {
            stage,
            class_name: class.to_string(),
            exception_class: super::super::errors::converter_exception(&e),
            message: e.0,
            topic: topic.to_string(),
            partition: Some(m.partition()),
            offset: Some(m.offset()),
        };
        let key_conv = &mut self.converters.key;
        let key =
            match self
                .policy
                .retry_conversion(&self.stop, "converting a record's key", || {
                    key_conv.to_connect(topic, m.key())
                }) {
                Ok(k) => k,
                Err(e) => {
                    return self.tolerate(
                        fail(Stage::KeyConverter, &self.converters.key_class.clone(), e),
                        m,
                    )
                }
            };
        let value_conv = &mut self.converters.value;
        let value =
            match self
                .policy
                .retry_conversion(&self.stop, "converting a record's value", || {
                    value_conv.to_connect(topic, m.payload())
                }) {
                Ok(v) => v,
                Err(e) => {
                    return self.tolerate(
                        fail(
                            Stage::ValueConverter,
                            &self.converters.value_class.clone(),
                            e,
                        ),
                        m,
                    )
                }
            };
        let mut headers = ConnectHeaders::new();
        if let Some(hs) = m.headers() {
            for h in hs.iter() {
                match self
                    .converters
                    .header
                    .to_connect_header(topic, h.key, h.value)
                {
                    Ok((schema, v)) => headers.add(h.key, schema, v),
                    Err(e) => {
                        return self.tolerate(
                            fail(
                                Stage::HeaderConverter,
                                &self.converters.header_class.clone(),
                                e,
                            ),
                            m,
                        )
                    }
                }
            }
        }
        let (ts, ts_type) = match m.timestamp() {
            rdkafka::Timestamp::NotAvailable => (None, TimestampType::NoTimestampType),
            rdkafka::Timestamp::CreateTime(t) => (Some(t), TimestampType::CreateTime),
            rdkafka::Timestamp::LogAppendTime(t) => (Some(t), TimestampType::LogAppendTime),
        };
        let record = ConnectRecord {
            topic: topic.into(),
            kafka_partition: Some(m.partition()),
            key_schema: key.0,
            key: key.1,
            value_schema: value.0,
            value: value.1,
            timestamp: ts,
            headers,
            kafka_offset: Some(m.offset()),
        };
        let record = if self.chain.is_empty() {
            Some(record)
        } else {
            match self.chain.apply(record) {
                Ok(r) => r,
                Err(e) => {
                    let class = e.class.clone();
                    return self.tolerate(
                        fail(
                            Stage::Transformation,
                            &class,
                            crate::data::DataError::new(e.error.0),
                        ),
                        m,
                    );
                }
            }
        };
        Ok(record.map(|record| SinkRecord {
            record,
            kafka_offset: m.offset(),
            timestamp_type: ts_type,
        }))
    }

    fn tolerate(
        &mut self,
        f: Failure,
        m: &BorrowedMessage<'_>,
    ) -> Result<Option<SinkRecord>, TaskError> {
        let tolerated = self.policy.tolerates(&f);
        self.metrics
            .record_failed(tolerated, tolerated && self.policy.log_enable);
        if !tolerated {
            return Err(TaskError::Record(Box::new(f)));
        }
        self.policy.log_tolerated(&self.name, &f, || {
            format!(
                "key={:?} value={:?}",
                m.key().map(String::from_utf8_lossy),
                m.payload().map(String::from_utf8_lossy)
            )
        });
        if let Some(dlq) = &self.dlq {
            let headers: Vec<(&str, Option<&[u8]>)> = m
                .headers()
                .map(|hs| hs.iter().map(|h| (h.key, h.value)).collect())
                .unwrap_or_default();
            let raw = RawRecord {
                key: m.key(),
                value: m.payload(),
                headers,
                timestamp: m.timestamp().to_millis(),
            };
            dlq.report(&raw, &f)?;
        }
        Ok(None)
    }
}
