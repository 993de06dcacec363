//! Producing a record without headers through a topic handle kept for the topic: rdkafka's
//! `BaseProducer::send` names the topic, so librdkafka looks it up by name under its client
//! lock for every record, after a `CString` copy of the name. Both were a twentieth of a
//! FileStream source's task thread, which producing keeps busy.

use std::ffi::CString;
use std::ptr::NonNull;

use rdkafka::producer::{BaseProducer, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka_sys::rd_kafka_vtype_t::*;

/// librdkafka's handle on one topic of one producer. It must not outlive the producer: the
/// owner declares it before the producer, so it is dropped first.
pub struct TopicHandle {
    name: String,
    rkt: NonNull<rdkafka_sys::rd_kafka_topic_t>,
}

// SAFETY: librdkafka's topic handles are reference-counted and thread-safe; the handle is
// only used with the producer that made it.
unsafe impl Send for TopicHandle {}

impl TopicHandle {
    /// `None` when librdkafka refuses the name (a NUL in it); the caller then sends by name
    /// and gets librdkafka's error for the record.
    pub fn new<C: ProducerContext>(producer: &BaseProducer<C>, topic: &str) -> Option<TopicHandle> {
        let name = CString::new(topic).ok()?;
        // SAFETY: the client pointer is valid for the producer's lifetime; a null topic
        // config takes the producer's default topic settings.
        let rkt = unsafe {
            rdkafka_sys::rd_kafka_topic_new(
                producer.client().native_ptr(),
                name.as_ptr(),
                std::ptr::null_mut(),
            )
        };
        Some(TopicHandle {
            name: topic.to_string(),
            rkt: NonNull::new(rkt)?,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Enqueues one record (the payload and key are copied), as `BaseProducer::send` does for
    /// a record without headers. `opaque` comes back in the delivery report.
    pub fn send<C: ProducerContext<DeliveryOpaque = usize>>(
        &self,
        producer: &BaseProducer<C>,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        partition: Option<i32>,
        timestamp: Option<i64>,
        opaque: usize,
    ) -> Result<(), RDKafkaErrorCode> {
        let parts = |b: Option<&[u8]>| match b {
            Some(b) => (b.as_ptr() as *mut std::ffi::c_void, b.len()),
            None => (std::ptr::null_mut(), 0),
        };
        let (value_ptr, value_len) = parts(value);
        let (key_ptr, key_len) = parts(key);
        // SAFETY: the handle belongs to this producer and is alive; librdkafka copies the key
        // and payload (MSG_F_COPY) before returning; the opaque is a plain number that the
        // delivery report hands back as it is (usize's IntoOpaque).
        let err = unsafe {
            rdkafka_sys::rd_kafka_producev(
                producer.client().native_ptr(),
                RD_KAFKA_VTYPE_RKT,
                self.rkt.as_ptr(),
                RD_KAFKA_VTYPE_PARTITION,
                partition.unwrap_or(-1),
                RD_KAFKA_VTYPE_MSGFLAGS,
                rdkafka_sys::RD_KAFKA_MSG_F_COPY,
                RD_KAFKA_VTYPE_VALUE,
                value_ptr,
                value_len,
                RD_KAFKA_VTYPE_KEY,
                key_ptr,
                key_len,
                RD_KAFKA_VTYPE_OPAQUE,
                opaque as *mut std::ffi::c_void,
                RD_KAFKA_VTYPE_TIMESTAMP,
                timestamp.unwrap_or(0),
                RD_KAFKA_VTYPE_END,
            )
        };
        if err == rdkafka_sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            Ok(())
        } else {
            Err(err.into())
        }
    }
}

impl Drop for TopicHandle {
    fn drop(&mut self) {
        // SAFETY: made by rd_kafka_topic_new and released once, before the producer.
        unsafe { rdkafka_sys::rd_kafka_topic_destroy(self.rkt.as_ptr()) };
    }
}
