//! A source task's producing path, closer to librdkafka than rdkafka's `BaseProducer` goes:
//! records without headers go through a topic handle kept for the topic (rdkafka's `send`
//! names the topic, so librdkafka looks it up by name under its client lock for every record,
//! after a `CString` copy of the name: both were a twentieth of a FileStream source's task
//! thread), and delivery reports are read from librdkafka's queue ([`Deliveries`]).

use std::ffi::{CStr, CString};
use std::ptr::NonNull;
use std::time::Duration;

use rdkafka::client::{Client, ClientContext};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
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

/// A producer's delivery reports (and the log and error events that share their queue),
/// served from librdkafka's queue directly. rdkafka's `BaseProducer::poll` keeps waiting
/// until its whole timeout is out even after it served a report, so every wait for room in
/// flight took 10 ms and every wait for a `--once` run's last acknowledgement 20 ms, however
/// soon Kafka answered. Reading the reports here also spares the per-record work of its
/// callback (a message wrapper, a reference count and a lock per record).
///
/// It must not outlive the producer: the owner declares it before the producer.
pub struct Deliveries {
    queue: NonNull<rdkafka_sys::rd_kafka_queue_t>,
}

// SAFETY: librdkafka's queues are thread-safe, and the handle is a reference of its own on
// the producer's main queue; each event polled from it is handled by the one caller that
// got it.
unsafe impl Send for Deliveries {}
unsafe impl Sync for Deliveries {}

/// The most events one [`Deliveries::serve`] takes: a bound on how long it keeps its caller
/// from its other work (an event holds a produce request's worth of reports).
const EVENTS_PER_SERVE: usize = 64;

impl Deliveries {
    pub fn new<C: ProducerContext>(producer: &BaseProducer<C>) -> Deliveries {
        // SAFETY: the client pointer is valid for the producer's lifetime; the queue handle
        // returned holds its own reference, released in `drop`.
        let queue = unsafe { rdkafka_sys::rd_kafka_queue_get_main(producer.client().native_ptr()) };
        Deliveries {
            queue: NonNull::new(queue).expect("librdkafka gives every client a main queue"),
        }
    }

    /// Waits up to `timeout` for an event, then serves it and those already queued behind
    /// it, up to a bound. `report(opaque, error)` is called for each record Kafka answered
    /// for, in the order librdkafka reports them; log and error events go to the client's
    /// context, as rdkafka's own poll would send them.
    pub fn serve<C: ClientContext>(
        &self,
        client: &Client<C>,
        timeout: Duration,
        mut report: impl FnMut(usize, Option<KafkaError>),
    ) {
        let mut wait = timeout_ms(timeout);
        for _ in 0..EVENTS_PER_SERVE {
            // SAFETY: the queue is alive (see `new`); a returned event is ours to destroy.
            let ev = unsafe { rdkafka_sys::rd_kafka_queue_poll(self.queue.as_ptr(), wait) };
            wait = 0;
            let Some(ev) = NonNull::new(ev) else { break };
            // SAFETY: `ev` is a live event until destroyed at the end of this turn.
            unsafe {
                match rdkafka_sys::rd_kafka_event_type(ev.as_ptr()) {
                    rdkafka_sys::RD_KAFKA_EVENT_DR => delivery_reports(ev, &mut report),
                    rdkafka_sys::RD_KAFKA_EVENT_LOG => log_event(client, ev),
                    rdkafka_sys::RD_KAFKA_EVENT_ERROR => {
                        let code = rdkafka_sys::rd_kafka_event_error(ev.as_ptr());
                        let reason = cstr(rdkafka_sys::rd_kafka_event_error_string(ev.as_ptr()));
                        client
                            .context()
                            .error(KafkaError::Global(code.into()), reason.trim());
                    }
                    rdkafka_sys::RD_KAFKA_EVENT_STATS => {
                        let stats = rdkafka_sys::rd_kafka_event_stats(ev.as_ptr());
                        if !stats.is_null() {
                            client.context().stats_raw(CStr::from_ptr(stats).to_bytes());
                        }
                    }
                    _ => {}
                }
                rdkafka_sys::rd_kafka_event_destroy(ev.as_ptr());
            }
        }
    }

    /// Serves reports until the producer has nothing in flight or queued, or `timeout` is
    /// out; true when it has nothing left. rdkafka's `flush` waits in steps of 100 ms that it
    /// sits out whole, so each flush took at least 100 ms whenever anything was in flight.
    pub fn flush<C: ProducerContext>(
        &self,
        producer: &BaseProducer<C>,
        timeout: Duration,
        mut report: impl FnMut(usize, Option<KafkaError>),
    ) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if producer.in_flight_count() == 0 {
                return true;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            self.serve(producer.client(), left.min(FLUSH_STEP), &mut report);
        }
    }
}

/// How long a flush waits for a report before it looks at what is in flight again: the
/// count also drops without a report (a record purged before it was sent).
const FLUSH_STEP: Duration = Duration::from_millis(100);

/// Hands each report of a delivery report event to `report`.
///
/// # Safety
/// `ev` is a live delivery report event.
unsafe fn delivery_reports(
    ev: NonNull<rdkafka_sys::rd_kafka_event_t>,
    report: &mut impl FnMut(usize, Option<KafkaError>),
) {
    while let Some(m) = rdkafka_sys::rd_kafka_event_message_next(ev.as_ptr()).as_ref() {
        let error = (m.err != rdkafka_sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR)
            .then(|| KafkaError::MessageProduction(m.err.into()));
        report(m._private as usize, error);
    }
}

impl Drop for Deliveries {
    fn drop(&mut self) {
        // SAFETY: obtained from rd_kafka_queue_get_main and released once, before the producer.
        unsafe { rdkafka_sys::rd_kafka_queue_destroy(self.queue.as_ptr()) };
    }
}

fn timeout_ms(d: Duration) -> i32 {
    if d.is_zero() {
        0
    } else {
        // Rounded up: a wait of under a millisecond must still wait.
        d.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
    }
}

/// # Safety
/// `s` is null or a NUL-terminated string alive for the call.
unsafe fn cstr<'a>(s: *const std::ffi::c_char) -> std::borrow::Cow<'a, str> {
    if s.is_null() {
        "".into()
    } else {
        CStr::from_ptr(s).to_string_lossy()
    }
}

/// # Safety
/// `ev` is a live log event.
unsafe fn log_event<C: ClientContext>(
    client: &Client<C>,
    ev: NonNull<rdkafka_sys::rd_kafka_event_t>,
) {
    let mut fac = std::ptr::null();
    let mut msg = std::ptr::null();
    let mut level = 0;
    if rdkafka_sys::rd_kafka_event_log(ev.as_ptr(), &mut fac, &mut msg, &mut level) == 0 {
        client
            .context()
            .log(log_level(level), cstr(fac).trim(), cstr(msg).trim());
    }
}

/// librdkafka's syslog levels as rdkafka names them.
fn log_level(level: i32) -> RDKafkaLogLevel {
    match level {
        i32::MIN..=0 => RDKafkaLogLevel::Emerg,
        1 => RDKafkaLogLevel::Alert,
        2 => RDKafkaLogLevel::Critical,
        3 => RDKafkaLogLevel::Error,
        4 => RDKafkaLogLevel::Warning,
        5 => RDKafkaLogLevel::Notice,
        6 => RDKafkaLogLevel::Info,
        _ => RDKafkaLogLevel::Debug,
    }
}
