//! librdkafka's admin API (creating a topic, deleting a consumer group) on a plain client,
//! waiting for the answer on a queue of its own. rdkafka's `AdminClient` runs a polling
//! thread that looks for a stop only every 100 ms and is joined when the client is dropped:
//! every run that created a topic ended up to 100 ms late for it, and every reset of a sink's
//! offsets took up to 100 ms more.

use std::ffi::{c_char, CStr, CString};
use std::ptr::NonNull;
use std::time::Duration;

use rdkafka::client::{Client, ClientContext};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka_sys as rd;

/// A topic to create.
pub struct NewTopicRequest<'a> {
    pub name: &'a str,
    pub partitions: i32,
    pub replication_factor: i32,
    pub configs: &'a [(String, String)],
}

/// Asks the cluster to create `topic` and waits up to `timeout` for its answer (the broker is
/// given the same time to create it). `Ok(None)`: created; `Ok(Some(code))`: the broker
/// refused (the topic exists, a setting is invalid, ...). `Err`: the request could not be
/// made or was not answered, with the same error kinds as rdkafka's `AdminClient`.
pub fn create_topic<C: ClientContext>(
    client: &Client<C>,
    topic: &NewTopicRequest<'_>,
    timeout: Duration,
) -> Result<Option<RDKafkaErrorCode>, KafkaError> {
    let new_topic = NewTopic::new(topic)?;
    let mut topics = [new_topic.0.as_ptr()];
    let op = rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_CREATETOPICS;
    let event = request(client, op, timeout, true, |rk, options, queue| {
        // SAFETY: every pointer is alive for the call; librdkafka copies what it keeps.
        unsafe { rd::rd_kafka_CreateTopics(rk, topics.as_mut_ptr(), 1, options, queue) }
    })?;
    // SAFETY: the event is alive; the result and its topics live as long as the event.
    unsafe {
        let result = rd::rd_kafka_event_CreateTopics_result(event.0.as_ptr());
        if result.is_null() {
            return Err(KafkaError::AdminOp(RDKafkaErrorCode::Fail));
        }
        let mut count = 0;
        let first = first(
            rd::rd_kafka_CreateTopics_result_topics(result, &mut count),
            count,
        )?;
        let err = rd::rd_kafka_topic_result_error(first);
        Ok((err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR).then(|| err.into()))
    }
}

/// Asks the cluster to delete consumer group `group` and waits up to `timeout` for its
/// answer. `Ok(None)`: deleted; `Ok(Some(code))`: the broker refused (no such group, members
/// still in it, ...).
pub fn delete_group<C: ClientContext>(
    client: &Client<C>,
    group: &str,
    timeout: Duration,
) -> Result<Option<RDKafkaErrorCode>, KafkaError> {
    let name = cstring(group)?;
    // SAFETY: the name is NUL-terminated; the request is destroyed by `DeleteGroup`'s drop.
    let del = NonNull::new(unsafe { rd::rd_kafka_DeleteGroup_new(name.as_ptr()) })
        .map(DeleteGroup)
        .ok_or_else(|| KafkaError::AdminOpCreation(format!("group {group:?}")))?;
    let mut groups = [del.0.as_ptr()];
    let op = rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DELETEGROUPS;
    let event = request(client, op, timeout, false, |rk, options, queue| {
        // SAFETY: every pointer is alive for the call; librdkafka copies what it keeps.
        unsafe { rd::rd_kafka_DeleteGroups(rk, groups.as_mut_ptr(), 1, options, queue) }
    })?;
    // SAFETY: the event is alive; the result, its groups and their errors live as long as it.
    unsafe {
        let result = rd::rd_kafka_event_DeleteGroups_result(event.0.as_ptr());
        if result.is_null() {
            return Err(KafkaError::AdminOp(RDKafkaErrorCode::Fail));
        }
        let mut count = 0;
        let first = first(
            rd::rd_kafka_DeleteGroups_result_groups(result, &mut count),
            count,
        )?;
        let error = rd::rd_kafka_group_result_error(first);
        Ok((!error.is_null()).then(|| rd::rd_kafka_error_code(error).into()))
    }
}

/// Sends the admin request `submit` makes (given the client, the options and the queue for
/// the answer) and waits for the answer: at most `timeout` for the request (and, with
/// `operation`, as long for the broker to carry it out), plus a margin for librdkafka.
fn request<C: ClientContext>(
    client: &Client<C>,
    op: rd::rd_kafka_admin_op_t,
    timeout: Duration,
    operation: bool,
    submit: impl FnOnce(
        *mut rd::rd_kafka_t,
        *const rd::rd_kafka_AdminOptions_t,
        *mut rd::rd_kafka_queue_t,
    ),
) -> Result<Event, KafkaError> {
    let rk = client.native_ptr();
    let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    let options = Options::new(rk, op, ms, operation)?;
    // SAFETY: `rk` is alive for the client's lifetime; the queue is ours, released on drop.
    let queue = Queue(
        NonNull::new(unsafe { rd::rd_kafka_queue_new(rk) })
            .ok_or_else(|| KafkaError::AdminOpCreation("no queue for the answer".into()))?,
    );
    submit(rk, options.0.as_ptr(), queue.0.as_ptr());
    // The request's own timeout ends it first; the margin only covers librdkafka's answer.
    let wait = ms.saturating_add(1000);
    // SAFETY: the queue is alive; a returned event is ours, destroyed by `Event`'s drop.
    let event = NonNull::new(unsafe { rd::rd_kafka_queue_poll(queue.0.as_ptr(), wait) })
        .map(Event)
        .ok_or(KafkaError::AdminOp(RDKafkaErrorCode::OperationTimedOut))?;
    // SAFETY: the event is alive.
    let err = unsafe { rd::rd_kafka_event_error(event.0.as_ptr()) };
    if err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        return Err(KafkaError::AdminOp(err.into()));
    }
    Ok(event)
}

/// The first of the `count` results of a one-item request (a missing one is librdkafka's
/// failure).
///
/// # Safety
/// `results` is null or points to `count` results alive as long as their event.
unsafe fn first<T>(results: *mut *const T, count: usize) -> Result<*const T, KafkaError> {
    if results.is_null() || count == 0 {
        return Err(KafkaError::AdminOp(RDKafkaErrorCode::Fail));
    }
    Ok(*results)
}

/// librdkafka's error text from a buffer it wrote into.
fn errstr(buf: &[c_char]) -> String {
    // SAFETY: librdkafka NUL-terminates what it writes; the buffer was zeroed before.
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

fn cstring(s: &str) -> Result<CString, KafkaError> {
    CString::new(s).map_err(|_| KafkaError::AdminOpCreation(format!("{s:?} contains a NUL")))
}

struct NewTopic(NonNull<rd::rd_kafka_NewTopic_t>);

impl NewTopic {
    fn new(topic: &NewTopicRequest<'_>) -> Result<NewTopic, KafkaError> {
        let name = cstring(topic.name)?;
        let mut err = [0 as c_char; 512];
        // SAFETY: the name is NUL-terminated; the error buffer's size is passed with it.
        let ptr = unsafe {
            rd::rd_kafka_NewTopic_new(
                name.as_ptr(),
                topic.partitions,
                topic.replication_factor,
                err.as_mut_ptr(),
                err.len(),
            )
        };
        let new_topic =
            NewTopic(NonNull::new(ptr).ok_or_else(|| KafkaError::AdminOpCreation(errstr(&err)))?);
        for (k, v) in topic.configs {
            let (k, v) = (cstring(k)?, cstring(v)?);
            // SAFETY: the topic is alive; librdkafka copies the strings.
            let e = unsafe {
                rd::rd_kafka_NewTopic_set_config(new_topic.0.as_ptr(), k.as_ptr(), v.as_ptr())
            };
            if e != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                let code: RDKafkaErrorCode = e.into();
                return Err(KafkaError::AdminOpCreation(format!(
                    "{}: {code}",
                    k.to_string_lossy()
                )));
            }
        }
        Ok(new_topic)
    }
}

impl Drop for NewTopic {
    fn drop(&mut self) {
        // SAFETY: made by rd_kafka_NewTopic_new, destroyed once.
        unsafe { rd::rd_kafka_NewTopic_destroy(self.0.as_ptr()) }
    }
}

struct Options(NonNull<rd::rd_kafka_AdminOptions_t>);

type Setter = unsafe extern "C" fn(
    *mut rd::rd_kafka_AdminOptions_t,
    i32,
    *mut c_char,
    usize,
) -> rd::rd_kafka_resp_err_t;

impl Options {
    /// `operation`: the request also bounds the broker's own work (topic creation), which
    /// librdkafka allows only for some requests.
    fn new(
        rk: *mut rd::rd_kafka_t,
        op: rd::rd_kafka_admin_op_t,
        timeout_ms: i32,
        operation: bool,
    ) -> Result<Options, KafkaError> {
        // SAFETY: `rk` is a live client.
        let ptr = unsafe { rd::rd_kafka_AdminOptions_new(rk, op) };
        let options = Options(
            NonNull::new(ptr)
                .ok_or_else(|| KafkaError::AdminOpCreation("no admin options".into()))?,
        );
        let mut err = [0 as c_char; 512];
        let mut setters = vec![rd::rd_kafka_AdminOptions_set_request_timeout as Setter];
        if operation {
            setters.push(rd::rd_kafka_AdminOptions_set_operation_timeout);
        }
        for set in setters {
            // SAFETY: the options are alive; the error buffer's size is passed with it.
            let e = unsafe { set(options.0.as_ptr(), timeout_ms, err.as_mut_ptr(), err.len()) };
            if e != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                return Err(KafkaError::AdminOpCreation(errstr(&err)));
            }
        }
        Ok(options)
    }
}

impl Drop for Options {
    fn drop(&mut self) {
        // SAFETY: made by rd_kafka_AdminOptions_new, destroyed once.
        unsafe { rd::rd_kafka_AdminOptions_destroy(self.0.as_ptr()) }
    }
}

struct DeleteGroup(NonNull<rd::rd_kafka_DeleteGroup_t>);

impl Drop for DeleteGroup {
    fn drop(&mut self) {
        // SAFETY: made by rd_kafka_DeleteGroup_new, destroyed once.
        unsafe { rd::rd_kafka_DeleteGroup_destroy(self.0.as_ptr()) }
    }
}

struct Queue(NonNull<rd::rd_kafka_queue_t>);

impl Drop for Queue {
    fn drop(&mut self) {
        // SAFETY: made by rd_kafka_queue_new, released once; an answer still on its way
        // holds a reference of its own.
        unsafe { rd::rd_kafka_queue_destroy(self.0.as_ptr()) }
    }
}

struct Event(NonNull<rd::rd_kafka_event_t>);

impl Drop for Event {
    fn drop(&mut self) {
        // SAFETY: returned by rd_kafka_queue_poll, destroyed once.
        unsafe { rd::rd_kafka_event_destroy(self.0.as_ptr()) }
    }
}
