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
use elasticsearch::http::Method;
use serde::Deserialize;
use tokio::sync::Notify;

use super::client::{self, is_transient_status, RequestError};
use super::config::{EsConfig, Malformed};
use super::document::{infer_mapping, DocumentWriter, Encoded};
use crate::api::{ConnectError, StopFlag, TopicPartition};
use crate::data::SinkRecord;

/// How long a stopping task still waits for Elasticsearch to acknowledge what it was given
/// (Connect's default `task.shutdown.graceful.timeout.ms`).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How often a blocked `put` or flush looks at the stop flag.
const STOP_CHECK: Duration = Duration::from_millis(200);

/// Per-item error types that mean the document itself is wrong (Confluent's list, plus
/// Elasticsearch 8's `document_parsing_exception`, which wraps mapping failures).
const MALFORMED: &[&str] = &[
    "mapper_parsing_exception",
    "document_parsing_exception",
    "strict_dynamic_mapping_exception",
    "illegal_argument_exception",
    "action_request_validation_exception",
];

struct Item {
    start: usize,
    end: usize,
    topic: Arc<str>,
    partition: i32,
    offset: i64,
    versioned: bool,
    /// Hash of the document id for writes whose order matters (upserts), else 0.
    ordered_key: u64,
}

struct Batch {
    id: u64,
    body: Vec<u8>,
    items: Vec<Item>,
    started: Instant,
}

impl Batch {
    fn new(id: u64, capacity: usize) -> Batch {
        Batch {
            id,
            body: Vec::with_capacity(capacity),
            items: Vec::new(),
            started: Instant::now(),
        }
    }
}

struct State {
    current: Batch,
    in_flight: usize,
    /// Records put and not yet resolved (open request plus requests in flight).
    buffered: usize,
    /// Requests (the open one included) whose records are not all resolved.
    unfinished: HashSet<u64>,
    failure: Option<String>,
    next_id: u64,
    /// Document-id hashes of upserts in flight (with counts): a request that would update
    /// one of them again waits, so two updates of a document never race.
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

#[derive(Deserialize)]
struct BulkErrors {
    errors: bool,
}

#[derive(Deserialize)]
struct BulkResponse {
    errors: bool,
    #[serde(default)]
    items: Vec<BulkItem>,
}

#[derive(Deserialize)]
struct BulkItem {
    #[serde(alias = "index", alias = "create", alias = "update", alias = "delete")]
    op: ItemResult,
}

#[derive(Deserialize)]
struct ItemResult {
    #[serde(default)]
    status: u16,
    #[serde(default)]
    error: Option<ItemError>,
    #[serde(default, rename = "_index")]
    index: Option<String>,
}

#[derive(Deserialize)]
struct ItemError {
    #[serde(rename = "type", default)]
    ty: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    caused_by: Option<serde_json::Value>,
}

impl ItemError {
    fn text(&self) -> String {
        let mut s = format!("{}: {}", self.ty, self.reason.as_deref().unwrap_or(""));
        if let Some(c) = &self.caused_by {
            if let Some(r) = c["reason"].as_str() {
                s.push_str(&format!(
                    " (caused by {}: {r})",
                    c["type"].as_str().unwrap_or("")
                ));
            }
        }
        s
    }
}

/// Full-jitter exponential backoff: a random wait up to `base * 2^(attempt-1)`, at least a
/// tenth of it, capped at a minute.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let max = base
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(Duration::from_secs(60));
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(attempt);
    let r = (h.finish() % 1000) as u32;
    let floor = max / 10;
    floor + (max - floor) * r / 1000
}

/// Sends a request until every item is resolved: indexed, a tolerated conflict or malformed
/// document, or a failure that ends the task.
async fn deliver(ctx: &Ctx, batch: &Batch, full: Bytes) -> Result<(), String> {
    let cfg = &ctx.cfg;
    let mut pending: Vec<usize> = (0..batch.items.len()).collect();
    let mut attempt = 0u32;
    loop {
        let body = if pending.len() == batch.items.len() {
            full.clone()
        } else {
            let mut b = Vec::with_capacity(
                pending
                    .iter()
                    .map(|&i| batch.items[i].end - batch.items[i].start)
                    .sum(),
            );
            for &i in &pending {
                b.extend_from_slice(&full[batch.items[i].start..batch.items[i].end]);
            }
            Bytes::from(b)
        };
        let timeout = cfg.request_timeout;
        let sent = Instant::now();
        let problem = match client::request(
            &ctx.transport,
            Method::Post,
            "/_bulk",
            Some(body),
            true,
            timeout,
        )
        .await
        {
            Err(RequestError::Transient(e)) => e,
            Err(RequestError::Permanent(e)) => return Err(fatal_request(batch, &e)),
            Ok((status, bytes)) if !status.is_success() => {
                let summary = client::error_summary(&bytes);
                let e = format!("bulk request answered HTTP {}: {summary}", status.as_u16());
                if !is_transient_status(status) {
                    return Err(fatal_request(batch, &e));
                }
                e
            }
            Ok((_, bytes)) => {
                // Most answers have no errors: read just that flag, skipping the items.
                let quick: BulkErrors = serde_json::from_slice(&bytes).map_err(|e| {
                    fatal_request(
                        batch,
                        &format!("the bulk answer is not the JSON Elasticsearch sends: {e}"),
                    )
                })?;
                if !quick.errors {
                    tracing::debug!(
                        records = pending.len(),
                        bytes = batch.items.last().map(|i| i.end).unwrap_or(0),
                        ms = sent.elapsed().as_millis() as u64,
                        "bulk request acknowledged"
                    );
                    return Ok(());
                }
                let resp: BulkResponse = serde_json::from_slice(&bytes).map_err(|e| {
                    fatal_request(
                        batch,
                        &format!("the bulk answer is not the JSON Elasticsearch sends: {e}"),
                    )
                })?;
                if !resp.errors {
                    return Ok(());
                }
                if resp.items.len() != pending.len() {
                    return Err(fatal_request(
                        batch,
                        &format!(
                            "the bulk answer has {} items for {} actions",
                            resp.items.len(),
                            pending.len()
                        ),
                    ));
                }
                let mut retry = Vec::new();
                let mut last = String::new();
                for (k, item) in resp.items.iter().enumerate() {
                    let idx = pending[k];
                    let it = &batch.items[idx];
                    let Some(err) = &item.op.error else { continue };
                    if err.ty == "version_conflict_engine_exception" && it.versioned {
                        tracing::debug!(topic = %it.topic, partition = it.partition, offset = it.offset, "older or same version already indexed; skipped");
                        continue;
                    }
                    let index = item.op.index.as_deref().unwrap_or("?");
                    if MALFORMED.contains(&err.ty.as_str()) {
                        let doc = if cfg.log_sensitive {
                            format!(
                                " document: {}",
                                String::from_utf8_lossy(&full[it.start..it.end]).trim_end()
                            )
                        } else {
                            String::new()
                        };
                        match cfg.malformed {
                            Malformed::Ignore => tracing::debug!(topic = %it.topic, partition = it.partition, offset = it.offset, "malformed document ignored: {}", err.text()),
                            Malformed::Warn => tracing::warn!(
                                "Elasticsearch rejected the document of record {}-{}@{} for index {index}: {}; skipped because behavior.on.malformed.documents=warn.{doc}",
                                it.topic, it.partition, it.offset, err.text()
                            ),
                            Malformed::Fail => {
                                return Err(format!(
                                    "Elasticsearch rejected the document of record {}-{}@{} for index {index}: {}. Fix the data or the index mapping, or set behavior.on.malformed.documents=warn or ignore to skip such records.{doc}",
                                    it.topic, it.partition, it.offset, err.text()
                                ))
                            }
                        }
                        continue;
                    }
                    let transient = item.op.status == 429
                        || item.op.status >= 500
                        || err.ty == "es_rejected_execution_exception";
                    if !transient {
                        return Err(format!(
                            "Elasticsearch refused record {}-{}@{} for index {index} (HTTP {}): {}",
                            it.topic,
                            it.partition,
                            it.offset,
                            item.op.status,
                            err.text()
                        ));
                    }
                    last = format!(
                        "item {}-{}@{}: HTTP {} {}",
                        it.topic,
                        it.partition,
                        it.offset,
                        item.op.status,
                        err.text()
                    );
                    retry.push(idx);
                }
                if retry.is_empty() {
                    return Ok(());
                }
                pending = retry;
                last
            }
        };
        attempt += 1;
        if attempt > cfg.max_retries {
            return Err(format!(
                "giving up on a bulk request of {} records (first {}-{}@{}) after {} retries; last error: {problem}. Offsets were not committed past these records, so a restart resends them; check that Elasticsearch ({}) is reachable and healthy, or raise max.retries / retry.backoff.ms",
                pending.len(),
                batch.items[pending[0]].topic,
                batch.items[pending[0]].partition,
                batch.items[pending[0]].offset,
                cfg.max_retries,
                cfg.urls.join(",")
            ));
        }
        let wait = backoff(cfg.retry_backoff, attempt);
        tracing::warn!(
            "bulk request of {} records failed ({problem}); retry {attempt} of {} in {} ms",
            pending.len(),
            cfg.max_retries,
            wait.as_millis()
        );
        tokio::time::sleep(wait).await;
    }
}

fn fatal_request(batch: &Batch, e: &str) -> String {
    let first = &batch.items[0];
    format!(
        "Elasticsearch rejected a bulk request of {} records (first {}-{}@{}): {e}",
        batch.items.len(),
        first.topic,
        first.partition,
        first.offset
    )
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
    pub fn new(cfg: Arc<EsConfig>, stop: StopFlag) -> Result<BulkWriter, String> {
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
        if st.current.items.is_empty() {
            st.current.started = Instant::now();
        }
        let start = st.current.body.len();
        st.current.body.extend_from_slice(bytes);
        let end = st.current.body.len();
        st.current.items.push(Item {
            start,
            end,
            topic,
            partition: r.partition(),
            offset: r.kafka_offset,
            versioned: enc.versioned,
            ordered_key: enc.ordered_key,
        });
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
                prepare(&ctx, &name, is_stream, known, mapping.as_ref())
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

async fn with_retries<F, Fut>(cfg: &EsConfig, mut f: F) -> Result<(), RequestError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), RequestError>>,
{
    let mut attempt = 0;
    loop {
        match f().await {
            Err(RequestError::Transient(e)) if attempt < cfg.max_retries => {
                attempt += 1;
                let wait = backoff(cfg.retry_backoff, attempt);
                tracing::warn!(
                    "{e}; retry {attempt} of {} in {} ms",
                    cfg.max_retries,
                    wait.as_millis()
                );
                tokio::time::sleep(wait).await;
            }
            other => return other,
        }
    }
}

async fn prepare(
    ctx: &Ctx,
    name: &str,
    data_stream: bool,
    known: bool,
    mapping: Option<&serde_json::Value>,
) -> Result<(), RequestError> {
    let t = &ctx.transport;
    let timeout = ctx.cfg.request_timeout;
    let classify = |status: elasticsearch::http::StatusCode, body: &[u8], what: &str| {
        let e = format!(
            "{what} answered HTTP {}: {}",
            status.as_u16(),
            client::error_summary(body)
        );
        if is_transient_status(status) {
            RequestError::Transient(e)
        } else {
            RequestError::Permanent(e)
        }
    };
    if data_stream {
        let path = format!("/_data_stream/{name}");
        let (status, body) = client::request(t, Method::Put, &path, None, false, timeout).await?;
        let text = client::error_summary(&body);
        if status.is_success() || text.contains("already_exists") {
            return Ok(());
        }
        if is_transient_status(status) {
            return Err(classify(status, &body, &format!("PUT {path}")));
        }
        // Elasticsearch also creates a data stream on the first write when an index template
        // matches (logs-*-* and metrics-*-* ship with it), so go on and let that decide.
        tracing::warn!(
            "could not create data stream {name} ({text}); relying on its creation on first write"
        );
        return Ok(());
    }
    let path = format!("/{name}");
    if !known {
        let (status, body) = client::request(t, Method::Head, &path, None, false, timeout).await?;
        if status.as_u16() == 404 {
            let body_json = match mapping {
                Some(m) => serde_json::json!({ "mappings": m }),
                None => serde_json::json!({}),
            };
            let bytes = Bytes::from(serde_json::to_vec(&body_json).unwrap_or_default());
            let (status, body) =
                client::request(t, Method::Put, &path, Some(bytes), false, timeout).await?;
            if status.is_success() {
                tracing::info!(
                    index = name,
                    with_mapping = mapping.is_some(),
                    "created index"
                );
                return Ok(());
            }
            if !client::error_summary(&body).contains("resource_already_exists") {
                return Err(classify(status, &body, &format!("creating index {name}")));
            }
        } else if !status.is_success() {
            return Err(classify(status, &body, &format!("HEAD {path}")));
        }
    }
    let Some(mapping) = mapping else {
        return Ok(());
    };
    // The index exists: add the mapping only when it has none, as Confluent's connector does.
    let mpath = format!("/{name}/_mapping");
    let (status, body) = client::request(t, Method::Get, &mpath, None, false, timeout).await?;
    if !status.is_success() {
        return Err(classify(status, &body, &format!("GET {mpath}")));
    }
    let existing: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let has_props = existing
        .as_object()
        .and_then(|o| o.values().next())
        .and_then(|v| v["mappings"]["properties"].as_object())
        .is_some_and(|p| !p.is_empty());
    if has_props {
        return Ok(());
    }
    let bytes = Bytes::from(serde_json::to_vec(mapping).unwrap_or_default());
    let (status, body) =
        client::request(t, Method::Put, &mpath, Some(bytes), false, timeout).await?;
    if !status.is_success() {
        return Err(classify(status, &body, &format!("PUT {mpath}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_with_jitter_and_a_cap() {
        let base = Duration::from_millis(100);
        for attempt in 1..=5 {
            let max = base * (1 << (attempt - 1));
            for _ in 0..20 {
                let w = backoff(base, attempt);
                assert!(w <= max && w >= max / 10, "attempt {attempt}: {w:?}");
            }
        }
        assert!(backoff(base, 40) <= Duration::from_secs(60));
        let waits: HashSet<Duration> = (0..20).map(|_| backoff(base, 3)).collect();
        assert!(waits.len() > 1, "jittered");
    }

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

    #[test]
    fn bulk_answers_parse_whatever_the_operation() {
        let body = br#"{"took":1,"errors":true,"items":[
            {"index":{"_index":"a","_id":"1","status":201}},
            {"delete":{"_index":"a","_id":"2","status":404,"result":"not_found"}},
            {"update":{"_index":"a","_id":"3","status":429,"error":{"type":"es_rejected_execution_exception","reason":"busy"}}},
            {"create":{"_index":"a","_id":"4","status":400,"error":{"type":"document_parsing_exception","reason":"bad","caused_by":{"type":"illegal_argument_exception","reason":"nope"}}}}]}"#;
        let r: BulkResponse = serde_json::from_slice(body).unwrap();
        assert!(r.errors);
        assert_eq!(r.items.len(), 4);
        assert!(r.items[0].op.error.is_none() && r.items[1].op.error.is_none());
        assert_eq!(r.items[2].op.status, 429);
        let e = r.items[3].op.error.as_ref().unwrap();
        assert!(MALFORMED.contains(&e.ty.as_str()));
        assert!(e
            .text()
            .contains("caused by illegal_argument_exception: nope"));
    }
}
