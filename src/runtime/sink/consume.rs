//! What the sink loop asks of librdkafka beyond polling: whether a consume error can be
//! fixed by fetching again, and the high watermark it last saw.

use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::runtime::kafka::ConnectionErrors;

/// What to do about a consume error that fetching again cannot fix (the same bytes come back
/// every time), or `None` for errors worth retrying. Connect's task fails on these too.
pub(super) fn unreadable(e: &rdkafka::error::KafkaError) -> Option<&'static str> {
    use rdkafka::types::RDKafkaErrorCode as C;
    match e.rdkafka_error_code()? {
        C::BadMessage | C::InvalidMessage => Some(
            "the broker sent a batch this consumer cannot parse: a corrupt record, or a batch larger than consumer.override.receive.message.max.bytes (raise it); to skip a corrupt record, move the connector's offset past it with `kconnect offsets set`",
        ),
        C::BadCompression | C::UnsupportedCompressionType => Some(
            "a batch is compressed with a codec that could not be decoded; kconnect reads gzip, snappy, lz4 and zstd, so the batch is likely corrupt",
        ),
        C::TopicAuthorizationFailed | C::GroupAuthorizationFailed => Some(
            "the consumer is not allowed to read the topic or use its group (connect-<connector name>); grant READ on both",
        ),
        _ => None,
    }
}

/// The high watermark librdkafka last saw in a fetch response, without asking the broker.
pub(super) fn cached_high_watermark(
    consumer: &BaseConsumer<ConnectionErrors>,
    topic: &str,
    partition: i32,
) -> Option<i64> {
    let topic = std::ffi::CString::new(topic).ok()?;
    let (mut lo, mut hi) = (0i64, 0i64);
    // SAFETY: the client pointer is valid for the consumer's lifetime; the call only reads
    // librdkafka's cached partition state into the two out-parameters.
    let err = unsafe {
        rdkafka_sys::rd_kafka_get_watermark_offsets(
            consumer.client().native_ptr(),
            topic.as_ptr(),
            partition,
            &mut lo,
            &mut hi,
        )
    };
    (err == rdkafka_sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR && hi >= 0).then_some(hi)
}

#[cfg(test)]
mod tests {
    use super::unreadable;
    use rdkafka::error::KafkaError;
    use rdkafka::types::RDKafkaErrorCode;

    #[test]
    fn undecodable_batches_fail_and_transient_errors_are_retried() {
        let fatal = KafkaError::MessageConsumption(RDKafkaErrorCode::BadMessage);
        assert!(unreadable(&fatal)
            .unwrap()
            .contains("receive.message.max.bytes"));
        let codec = KafkaError::MessageConsumption(RDKafkaErrorCode::BadCompression);
        assert!(unreadable(&codec).is_some());
        for transient in [
            RDKafkaErrorCode::BrokerTransportFailure,
            RDKafkaErrorCode::AllBrokersDown,
            RDKafkaErrorCode::NotLeaderForPartition,
        ] {
            assert!(unreadable(&KafkaError::MessageConsumption(transient)).is_none());
        }
    }
}
