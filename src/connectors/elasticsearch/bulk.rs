//! The bulk pipeline. `put` serializes records straight into the open bulk request; a full
//! request (by `batch.size` or `bulk.size.bytes`), or one older than `linger.ms`, is sent on a
//! small tokio runtime with at most `max.in.flight.requests` outstanding. Failed requests and
//! failed items are retried with jittered exponential backoff. `put` blocks while
//! `max.buffered.records` records await acknowledgement, which pauses consumption instead of
//! growing memory. Commits only pass records Elasticsearch acknowledged: every partition's
//! committable offset stops at its first record in a request that has not finished.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use elasticsearch::http::transport::Transport;
use tokio::sync::Notify;

use super::client::{self, RequestError};
use super::config::EsConfig;
use super::document::{DocumentWriter, Encoded};
use super::index::prepare;
use super::mapping::infer_mapping;
use super::request::{Batch, Item};
use super::response::Answer;
use super::retry::{self, with_retries, Retry};
use super::service;
use crate::api::{ConnectError, OutageReporter, Reminder, StopFlag, TopicPartition, Waiting};
use crate::data::SinkRecord;

/// How long a stopping task still waits for Elasticsearch to acknowledge what it was given
/// (Connect's default `task.shutdown.graceful.timeout.ms`).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How often a blocked `put` or flush looks at the stop flag.
const STOP_CHECK: Duration = Duration::from_millis(200);

struct State {
    current: Batch,
    in_flight: usize,
    /// Records put and not yet resolved (open request plus requests in flight).
    buffered: usize,
    /// Requests (the open one included) whose records are not all resolved.
    unfinished: HashSet<u64>,
    failure: Option<String>,
    next_id: u64,
    /// Document-id hashes of the keyed writes in flight (with counts): a request that would
    /// write one of them again waits, so two writes of a document never race and a delete is
    /// never overtaken by an older write retried after it.
    ordered_in_flight: HashMap<u64, u32>,
}

impl State {
    /// Whether the open request may be sent now.
    fn can_send(&self, max_in_flight: usize) -> bool {
        !self.current.items.is_empty()
            && self.in_flight < max_in_flight
            && (self.ordered_in_flight.is_empty()
                || !self.current.items.iter().any(|i| {
                    i.ordered_key != 0 && self.ordered_in_flight.contains_key(&i.ordered_key)
                }))
    }
}

/// What the sending side needs; shared by the task thread, the sends and the linger timer.
struct Ctx {
    cfg: Arc<EsConfig>,
    transport: Transport,
    state: Mutex<State>,
    changed: Condvar,
    linger_wake: Notify,
    /// "Elasticsearch at <urls>" while requests ride out an outage past max.retries.
    outage: OutageReporter,
    /// Retries within max.retries, which every request in flight may be making at once.
    retry_said: Reminder,
}

impl Ctx {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the open request (if it has records) and starts sending it. The caller has
    /// checked that a request slot is free.
    fn start_send(self: &Arc<Self>, st: &mut State, rt: &tokio::runtime::Handle) {
        if !st.can_send(self.cfg.max_in_flight) {
            return;
        }
        let id = st.next_id;
        st.next_id += 1;
        st.unfinished.insert(id);
        let cap = st.current.body.capacity();
        let mut batch = std::mem::replace(&mut st.current, Batch::new(id, cap));
        let body = Bytes::from(std::mem::take(&mut batch.body));
        st.in_flight += 1;
        for i in batch.items.iter().filter(|i| i.ordered_key != 0) {
            *st.ordered_in_flight.entry(i.ordered_key).or_default() += 1;
        }
        let ctx = self.clone();
        rt.spawn(async move {
            let outcome = deliver(&ctx, &batch, body).await;
            let mut st = ctx.lock();
            st.in_flight -= 1;
            st.buffered -= batch.items.len();
            st.unfinished.remove(&batch.id);
            for i in batch.items.iter().filter(|i| i.ordered_key != 0) {
                if let Some(n) = st.ordered_in_flight.get_mut(&i.ordered_key) {
                    *n -= 1;
                    if *n == 0 {
                        st.ordered_in_flight.remove(&i.ordered_key);
                    }
                }
            }
            if let Err(e) = outcome {
                tracing::error!("{e}");
                st.failure.get_or_insert(e);
            }
            let lingered =
                !st.current.items.is_empty() && st.current.started.elapsed() >= ctx.cfg.linger;
            if lingered {
                ctx.start_send(&mut st, &tokio::runtime::Handle::current());
            }
            drop(st);
            ctx.changed.notify_all();
        });
    }
}

/// Sends a request until every item is resolved: indexed, a tolerated conflict or malformed
/// document, or a failure that ends the task.
async fn deliver(ctx: &Ctx, batch: &Batch, full: Bytes) -> Result<(), String> {
    let cfg = &ctx.cfg;
    let mut pending: Vec<usize> = (0..batch.items.len()).collect();
    let mut retries = 0u32;
    loop {
        let body = batch.body_for(&full, &pending);
        let sent = Instant::now();
        let outcome = service::send_bulk(&ctx.transport, body, cfg.request_timeout).await;
        if matches!(outcome, Ok(Answer::Acknowledged)) {
            tracing::debug!(
                records = pending.len(),
                bytes = batch.items.last().map(|i| i.end).unwrap_or(0),
                ms = sent.elapsed().as_millis() as u64,
                "bulk request acknowledged"
            );
        }
        let (problem, wait) = match retry::decide(cfg, batch, &full, &pending, outcome, retries) {
            Retry::Done => {
                ctx.outage.ok();
                return Ok(());
            }
            Retry::Fail(e) => return Err(e),
            Retry::Backoff { problem, wait } => (problem, wait),
            Retry::Items {
                items,
                problem,
                wait,
            } => {
                pending = items;
                (problem, wait)
            }
        };
        retries += 1;
        if retries > cfg.max_retries {
            // Riding out an outage (a long-running worker): said once, then once a minute.
            ctx.outage.failed(&format_args!(
                "a bulk request of {} records failed {retries} times, max.retries ({}) passed, retrying at most {} s apart until it is back: {problem}",
                pending.len(),
                cfg.max_retries,
                retry::RIDE_OUT_CAP.as_secs()
            ));
        } else if ctx.retry_said.due() {
            tracing::warn!(
                "bulk request of {} records failed ({problem}); retry {retries} of {} in {} ms (further retries are said at most once a minute)",
                pending.len(),
                cfg.max_retries,
                wait.as_millis()
            );
        } else {
            tracing::debug!(
                "bulk request of {} records failed ({problem}); retry {retries} of {} in {} ms",
                pending.len(),
                cfg.max_retries,
                wait.as_millis()
            );
        }
        tokio::time::sleep(wait).await;
    }
}

/// The sink side: owned by the task thread.
pub struct BulkWriter {
    cfg: Arc<EsConfig>,
    rt: Option<tokio::runtime::Runtime>,
    ctx: Arc<Ctx>,
    docs: DocumentWriter,
    scratch: Vec<u8>,
    topics: HashMap<String, Arc<str>>,
    /// Targets checked or created, and whether their mapping is settled.
    targets: HashMap<Arc<str>, bool>,
    /// Per partition, the requests holding its records and the first offset in each.
    marks: HashMap<TopicPartition, VecDeque<(u64, i64)>>,
    last_mark: Option<(Arc<str>, i32, u64)>,
    stop: StopFlag,
}

impl BulkWriter {
    pub fn new(
        cfg: Arc<EsConfig>,
        stop: StopFlag,
        waiting: &Waiting,
    ) -> Result<BulkWriter, String> {
        let transport = client::build_transport(&cfg).map_err(|e| e.0)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("kconnect-es")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the Elasticsearch client runtime: {e}"))?;
        let cap = cfg.bulk_size_bytes.min(1 << 20);
        let ctx = Arc::new(Ctx {
            cfg: cfg.clone(),
            transport,
            state: Mutex::new(State {
                current: Batch::new(0, cap),
                in_flight: 0,
                buffered: 0,
                unfinished: HashSet::from([0]),
                failure: None,
                next_id: 1,
                ordered_in_flight: HashMap::new(),
            }),
            changed: Condvar::new(),
            linger_wake: Notify::new(),
            outage: OutageReporter::for_task(
                format!("Elasticsearch at {}", cfg.urls.join(",")),
                waiting,
            ),
            retry_said: Reminder::default(),
        });
        rt.spawn(linger_loop(ctx.clone()));
        Ok(BulkWriter {
            docs: DocumentWriter::new(cfg.clone()),
            cfg,
            rt: Some(rt),
            ctx,
            scratch: Vec::with_capacity(4096),
            topics: HashMap::new(),
            targets: HashMap::new(),
            marks: HashMap::new(),
            last_mark: None,
            stop,
        })
    }

    fn handle(&self) -> tokio::runtime::Handle {
        self.rt
            .as_ref()
            .expect("runtime lives until close")
            .handle()
            .clone()
    }

    pub fn put(&mut self, records: &[SinkRecord]) -> Result<(), ConnectError> {
        let handle = self.handle();
        for r in records {
            self.scratch.clear();
            let enc = match self.docs.encode(r, &mut self.scratch) {
                Ok(Some(e)) => e,
                Ok(None) => continue,
                Err(e) if self.cfg.drop_invalid => {
                    tracing::warn!("dropping {e} (drop.invalid.message=true)");
                    continue;
                }
                Err(e) => {
                    return Err(ConnectError::fatal(format!(
                        "cannot turn {e}; set drop.invalid.message=true to skip such records"
                    )))
                }
            };
            if self.targets.get(&enc.index) != Some(&true) {
                self.prepare_target(&enc.index, r)?;
            }
            let topic = match self.topics.get(r.topic()) {
                Some(t) => t.clone(),
                None => {
                    let t: Arc<str> = r.topic().into();
                    self.topics.insert(r.topic().to_string(), t.clone());
                    t
                }
            };
            let batch_id = self.append(&handle, &self.scratch, topic.clone(), r, &enc)?;
            // Records of one partition come in runs: look the partition up only when the
            // run or the request changes.
            let same_run = self.last_mark.as_ref().is_some_and(|(t, p, b)| {
                *b == batch_id && *p == r.partition() && Arc::ptr_eq(t, &topic)
            });
            if !same_run {
                let tp = (r.topic().to_string(), r.partition());
                let marks = self.marks.entry(tp).or_default();
                if marks.back().map(|m| m.0) != Some(batch_id) {
                    marks.push_back((batch_id, r.kafka_offset));
                }
                self.last_mark = Some((topic, r.partition(), batch_id));
            }
        }
        let mut st = self.ctx.lock();
        if let Some(f) = &st.failure {
            return Err(ConnectError::fatal(f.clone()));
        }
        if !st.current.items.is_empty() {
            if st.current.started.elapsed() >= self.cfg.linger
                && st.can_send(self.cfg.max_in_flight)
            {
                self.ctx.start_send(&mut st, &handle);
            } else {
                drop(st);
                self.ctx.linger_wake.notify_one();
            }
        }
        Ok(())
    }

    /// Adds one encoded record to the open request, sending it first when full; blocks while
    /// the buffer or the request slots are full. Returns the request's id.
    fn append(
        &self,
        handle: &tokio::runtime::Handle,
        bytes: &[u8],
        topic: Arc<str>,
        r: &SinkRecord,
        enc: &Encoded,
    ) -> Result<u64, ConnectError> {
        let cfg = &self.cfg;
        let deadline = Instant::now() + cfg.flush_timeout;
        let mut st = self.ctx.lock();
        loop {
            if let Some(f) = &st.failure {
                return Err(ConnectError::fatal(f.clone()));
            }
            let cur = &st.current;
            let fits = cur.items.is_empty()
                || (cur.items.len() < cfg.batch_size
                    && cur.body.len() + bytes.len() <= cfg.bulk_size_bytes);
            let room = st.buffered < cfg.max_buffered;
            if fits && room {
                break;
            }
            if st.can_send(cfg.max_in_flight) {
                self.ctx.start_send(&mut st, handle);
                continue;
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(ConnectError::retriable(format!(
                    "Elasticsearch has not acknowledged {} buffered records within flush.timeout.ms ({} ms); retrying",
                    st.buffered,
                    cfg.flush_timeout.as_millis()
                )));
            }
            if self.stop.is_stopped() {
                return Err(ConnectError::retriable(
                    "stopping while waiting for room in the buffer",
                ));
            }
            st = self
                .ctx
                .changed
                .wait_timeout(st, (deadline - now).min(STOP_CHECK))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        st.current.push(
            bytes,
            Item {
                start: 0,
                end: 0,
                topic,
                partition: r.partition(),
                offset: r.kafka_offset,
                versioned: enc.versioned,
                ordered_key: enc.ordered_key,
            },
        );
        st.buffered += 1;
        Ok(st.current.id)
    }

    /// Creates the index (with a mapping from the value schema unless schemas are ignored) or
    /// the data stream the first time it is written to.
    fn prepare_target(&mut self, target: &Arc<str>, r: &SinkRecord) -> Result<(), ConnectError> {
        let cfg = self.cfg.clone();
        let known = self.targets.contains_key(target);
        let schema = r.record.value_schema.clone();
        let wants_mapping =
            cfg.data_stream.is_none() && !cfg.ignore_schema(r.topic()) && schema.is_some();
        let mapping = match (&schema, wants_mapping) {
            (Some(s), true) => Some(infer_mapping(s).map_err(|e| {
                ConnectError::fatal(format!(
                    "cannot build a mapping for index {target} from the value schema of topic {}: {e}; set schema.ignore=true to let Elasticsearch infer it",
                    r.topic()
                )).caused_by(e)
            })?),
            _ => None,
        };
        let ctx = self.ctx.clone();
        let name = target.to_string();
        let is_stream = cfg.data_stream.is_some();
        let result = self.handle().block_on(async move {
            with_retries(&ctx.cfg, || {
                prepare(
                    &ctx.transport,
                    ctx.cfg.request_timeout,
                    &name,
                    is_stream,
                    known,
                    mapping.as_ref(),
                )
            })
            .await
        });
        match result {
            Ok(()) => {
                // Only a first record without a schema (a tombstone) leaves the mapping to a later one.
                let settled = is_stream
                    || cfg.ignore_schema(r.topic())
                    || schema.is_some()
                    || !r.record.value.is_null();
                self.targets.insert(target.clone(), settled);
                Ok(())
            }
            Err(RequestError::Transient(e)) => Err(ConnectError::retriable(format!(
                "cannot prepare index {target}: {e}"
            ))),
            Err(RequestError::Permanent(e)) => Err(ConnectError::fatal(format!(
                "cannot prepare index {target}: {e}"
            ))),
        }
    }

    /// Sends the open request and waits until nothing is unacknowledged, or the timeout.
    /// `Ok(false)`: timed out.
    fn drain(&mut self) -> Result<bool, ConnectError> {
        let handle = self.handle();
        let mut deadline = Instant::now() + self.cfg.flush_timeout;
        let mut stopping = false;
        let mut st = self.ctx.lock();
        loop {
            if let Some(f) = &st.failure {
                return Err(ConnectError::fatal(f.clone()));
            }
            if st.can_send(self.cfg.max_in_flight) {
                self.ctx.start_send(&mut st, &handle);
            }
            if st.current.items.is_empty() && st.in_flight == 0 {
                return Ok(true);
            }
            let now = Instant::now();
            if !stopping && self.stop.is_stopped() {
                stopping = true;
                deadline = deadline.min(now + SHUTDOWN_GRACE);
            }
            if now >= deadline {
                return Ok(false);
            }
            st = self
                .ctx
                .changed
                .wait_timeout(st, (deadline - now).min(STOP_CHECK))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    pub fn flush(&mut self) -> Result<(), ConnectError> {
        if self.drain()? {
            Ok(())
        } else {
            Err(self.timeout_error())
        }
    }

    fn timeout_error(&self) -> ConnectError {
        let st = self.ctx.lock();
        ConnectError::retriable(format!(
            "{} records not yet acknowledged by Elasticsearch after flush.timeout.ms ({} ms); their offsets are not committed",
            st.buffered,
            self.cfg.flush_timeout.as_millis()
        ))
    }

    /// The offsets that may be committed: every partition's offset stops at its first record
    /// Elasticsearch has not acknowledged.
    pub fn pre_commit(
        &mut self,
        offsets: &HashMap<TopicPartition, i64>,
    ) -> Result<HashMap<TopicPartition, i64>, ConnectError> {
        let drained = self.drain()?;
        if !drained && self.cfg.flush_synchronously {
            return Err(self.timeout_error());
        }
        let st = self.ctx.lock();
        let mut out = HashMap::with_capacity(offsets.len());
        for marks in self.marks.values_mut() {
            while marks
                .front()
                .is_some_and(|(id, _)| !st.unfinished.contains(id))
            {
                marks.pop_front();
            }
        }
        self.marks.retain(|_, m| !m.is_empty());
        self.last_mark = None;
        if self.marks.keys().any(|tp| !offsets.contains_key(tp)) {
            // Records renamed by a transform: their Kafka partitions are unknown here, so
            // nothing can be committed until they are all acknowledged.
            return Ok(HashMap::new());
        }
        for (tp, off) in offsets {
            let safe = match self.marks.get(tp).and_then(|m| m.front()) {
                Some((_, first)) => (*first).min(*off),
                None => *off,
            };
            out.insert(tp.clone(), safe);
        }
        Ok(out)
    }

    pub fn close(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

impl Drop for BulkWriter {
    fn drop(&mut self) {
        self.close();
    }
}

/// Sends the open request once it is `linger.ms` old, when no more records arrive to fill it.
async fn linger_loop(ctx: Arc<Ctx>) {
    loop {
        ctx.linger_wake.notified().await;
        loop {
            let (id, due) = {
                let st = ctx.lock();
                if st.current.items.is_empty() {
                    break;
                }
                (st.current.id, st.current.started + ctx.cfg.linger)
            };
            tokio::time::sleep_until(tokio::time::Instant::from_std(due)).await;
            let mut st = ctx.lock();
            if st.current.id != id {
                continue;
            }
            if st.can_send(ctx.cfg.max_in_flight) {
                ctx.start_send(&mut st, &tokio::runtime::Handle::current());
                drop(st);
                ctx.changed.notify_all();
            }
            // Otherwise a finishing request sends it.
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(key: u64) -> Item {
        Item {
            start: 0,
            end: 0,
            topic: "t".into(),
            partition: 0,
            offset: 0,
            versioned: false,
            ordered_key: key,
        }
    }

    #[test]
    fn an_upsert_waits_while_its_document_is_in_flight() {
        let mut st = State {
            current: Batch::new(1, 0),
            in_flight: 1,
            buffered: 0,
            unfinished: HashSet::new(),
            failure: None,
            next_id: 2,
            ordered_in_flight: HashMap::from([(7, 1)]),
        };
        assert!(!st.can_send(5), "empty request");
        st.current.items.push(item(8));
        assert!(st.can_send(5));
        assert!(!st.can_send(1), "no free slot");
        st.current.items.push(item(7));
        assert!(!st.can_send(5), "document 7 is being updated");
        st.ordered_in_flight.clear();
        assert!(st.can_send(5));
    }
}
