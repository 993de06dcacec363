//! What to do after a bulk exchange, as a value: done, resend some items, resend the whole
//! request, or give up. Keeping the decision apart from the sending loop lets every branch be
//! tested without a server, and keeps the at-least-once rules in one place: an item counts as
//! resolved only when Elasticsearch indexed it, or when it is a conflict or malformed document
//! the settings say to skip.

use std::time::Duration;

use super::client::RequestError;
use super::config::{EsConfig, Malformed};
use super::request::Batch;
use super::response::{Answer, ItemResult};
pub(super) use crate::api::outage_report::RIDE_OUT_CAP;

/// The decision after one bulk exchange.
#[derive(Debug)]
pub(super) enum Retry {
    /// Every item is resolved.
    Done,
    /// Some items failed transiently: resend only these (indices into the batch's items).
    Items {
        items: Vec<usize>,
        problem: String,
        wait: Duration,
    },
    /// The request failed as a whole, transiently: resend it.
    Backoff { problem: String, wait: Duration },
    /// Give up: the task fails with this message.
    Fail(String),
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

/// Decides on the outcome of sending the `pending` items of `batch` (whose whole body was
/// `full`), after `retries` retries of it already.
pub(super) fn decide(
    cfg: &EsConfig,
    batch: &Batch,
    full: &[u8],
    pending: &[usize],
    outcome: Result<Answer, RequestError>,
    retries: u32,
) -> Retry {
    let (retry_items, problem) = match outcome {
        Ok(Answer::Acknowledged) => return Retry::Done,
        Err(RequestError::Permanent(e)) => return Retry::Fail(fatal_request(batch, &e)),
        Err(RequestError::Transient(e)) => (None, e),
        Ok(Answer::Items(items)) => match resolve_items(cfg, batch, full, pending, &items) {
            Ok(None) => return Retry::Done,
            Ok(Some((retry, last))) => (Some(retry), last),
            Err(e) => return Retry::Fail(e),
        },
    };
    let retrying = retry_items.as_deref().unwrap_or(pending);
    let attempt = retries + 1;
    if attempt > cfg.max_retries && !cfg.ride_out {
        let first = &batch.items[retrying[0]];
        return Retry::Fail(format!(
            "giving up on a bulk request of {} records (first {}) after {} retries; last error: {problem}. Offsets were not committed past these records, so a restart resends them; check that Elasticsearch ({}) is reachable and healthy, or raise max.retries / retry.backoff.ms",
            retrying.len(),
            first.coords(),
            cfg.max_retries,
            cfg.urls.join(",")
        ));
    }
    let mut wait = backoff(cfg.retry_backoff, attempt);
    if attempt > cfg.max_retries {
        wait = wait.min(RIDE_OUT_CAP);
    }
    match retry_items {
        Some(items) => Retry::Items {
            items,
            problem,
            wait,
        },
        None => Retry::Backoff { problem, wait },
    }
}

/// Goes through the items of a bulk answer with errors. `Ok(None)`: all resolved;
/// `Ok(Some((items, last error)))`: these failed transiently; `Err`: one failed for good.
fn resolve_items(
    cfg: &EsConfig,
    batch: &Batch,
    full: &[u8],
    pending: &[usize],
    items: &[ItemResult],
) -> Result<Option<(Vec<usize>, String)>, String> {
    if items.len() != pending.len() {
        return Err(fatal_request(
            batch,
            &format!(
                "the bulk answer has {} items for {} actions",
                items.len(),
                pending.len()
            ),
        ));
    }
    let mut retry = Vec::new();
    let mut last = String::new();
    for (item, &idx) in items.iter().zip(pending) {
        let it = &batch.items[idx];
        let Some(err) = &item.error else { continue };
        if err.ty == "version_conflict_engine_exception" && it.versioned {
            tracing::debug!(topic = %it.topic, partition = it.partition, offset = it.offset, "older or same version already indexed; skipped");
            continue;
        }
        let index = item.index.as_deref().unwrap_or("?");
        if err.is_malformed() {
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
                    "Elasticsearch rejected the document of record {} for index {index}: {}; skipped because behavior.on.malformed.documents=warn.{doc}",
                    it.coords(), err.text()
                ),
                Malformed::Fail => {
                    return Err(format!(
                        "Elasticsearch rejected the document of record {} for index {index}: {}. Fix the data or the index mapping, or set behavior.on.malformed.documents=warn or ignore to skip such records.{doc}",
                        it.coords(), err.text()
                    ))
                }
            }
            continue;
        }
        let transient =
            item.status == 429 || item.status >= 500 || err.ty == "es_rejected_execution_exception";
        if !transient {
            return Err(format!(
                "Elasticsearch refused record {} for index {index} (HTTP {}): {}",
                it.coords(),
                item.status,
                err.text()
            ));
        }
        last = format!("item {}: HTTP {} {}", it.coords(), item.status, err.text());
        retry.push(idx);
    }
    Ok((!retry.is_empty()).then_some((retry, last)))
}

fn fatal_request(batch: &Batch, e: &str) -> String {
    format!(
        "Elasticsearch rejected a bulk request of {} records (first {}): {e}",
        batch.items.len(),
        batch.items[0].coords()
    )
}

/// Runs a request (not a bulk one) until it succeeds, fails for good, or `max.retries`
/// transient failures have passed.
pub(super) async fn with_retries<F, Fut>(cfg: &EsConfig, mut f: F) -> Result<(), RequestError>
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

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashSet};

    use super::super::request::Item;
    use super::super::response;
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

    fn cfg(extra: &[(&str, &str)]) -> EsConfig {
        let mut m = BTreeMap::from([(
            "connection.url".to_string(),
            "http://localhost:9200".to_string(),
        )]);
        for (k, v) in extra {
            m.insert(k.to_string(), v.to_string());
        }
        EsConfig::from_values(&m).unwrap()
    }

    /// A request of three records, offsets 10 to 12; the first is versioned.
    fn batch() -> (Batch, Vec<u8>) {
        let mut b = Batch::new(1, 0);
        for offset in 10..13 {
            let line = format!("{{\"index\":{{}}}}\n{{\"n\":{offset}}}\n");
            b.push(
                line.as_bytes(),
                Item {
                    start: 0,
                    end: 0,
                    topic: "t".into(),
                    partition: 0,
                    offset,
                    versioned: offset == 10,
                    ordered_key: 0,
                },
            );
        }
        let full = std::mem::take(&mut b.body);
        (b, full)
    }

    /// A bulk answer with errors whose items have these (status, error type).
    fn items(results: &[(u16, Option<&str>)]) -> Result<Answer, RequestError> {
        let items: Vec<String> = results
            .iter()
            .map(|(status, ty)| match ty {
                Some(ty) => format!(
                    r#"{{"index":{{"_index":"t","status":{status},"error":{{"type":"{ty}","reason":"r"}}}}}}"#
                ),
                None => format!(r#"{{"index":{{"_index":"t","status":{status}}}}}"#),
            })
            .collect();
        let body = format!(r#"{{"errors":true,"items":[{}]}}"#, items.join(","));
        Ok(response::parse(body.as_bytes()).unwrap())
    }

    fn fail_text(r: Retry) -> String {
        match r {
            Retry::Fail(e) => e,
            other => panic!("expected Fail, got {other:?}"),
        }
    }

    #[test]
    fn acknowledged_or_all_items_resolved_is_done() {
        let c = cfg(&[("behavior.on.malformed.documents", "ignore")]);
        let (b, full) = batch();
        let all = [0, 1, 2];
        let r = decide(&c, &b, &full, &all, Ok(Answer::Acknowledged), 0);
        assert!(matches!(r, Retry::Done));
        // A versioned conflict is an older write; a malformed document is ignored as set.
        let answer = items(&[
            (409, Some("version_conflict_engine_exception")),
            (201, None),
            (400, Some("mapper_parsing_exception")),
        ]);
        assert!(matches!(
            decide(&c, &b, &full, &all, answer, 0),
            Retry::Done
        ));
    }

    #[test]
    fn transient_items_are_retried_alone() {
        let c = cfg(&[]);
        let (b, full) = batch();
        let answer = items(&[
            (201, None),
            (429, Some("es_rejected_execution_exception")),
            (503, Some("unavailable_shards_exception")),
        ]);
        match decide(&c, &b, &full, &[0, 1, 2], answer, 0) {
            Retry::Items { items, problem, .. } => {
                assert_eq!(items, vec![1, 2]);
                assert!(problem.starts_with("item t-0@12: HTTP 503"), "{problem}");
            }
            other => panic!("{other:?}"),
        }
        // A retried subset maps answer items back to the batch's items.
        let answer = items(&[(201, None), (429, Some("es_rejected_execution_exception"))]);
        match decide(&c, &b, &full, &[1, 2], answer, 1) {
            Retry::Items { items, .. } => assert_eq!(items, vec![2]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_transient_request_failure_backs_off() {
        let c = cfg(&[("retry.backoff.ms", "100")]);
        let (b, full) = batch();
        let outcome = Err(RequestError::Transient("connection refused".into()));
        match decide(&c, &b, &full, &[0, 1, 2], outcome, 0) {
            Retry::Backoff { problem, wait } => {
                assert_eq!(problem, "connection refused");
                assert!(wait <= Duration::from_millis(100));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_long_running_worker_rides_out_transient_failures_past_max_retries() {
        let mut c = cfg(&[("max.retries", "2"), ("retry.backoff.ms", "100000")]);
        c.ride_out = true;
        let (b, full) = batch();
        let outcome = || Err(RequestError::Transient("connection refused".into()));
        match decide(&c, &b, &full, &[0, 1, 2], outcome(), 40) {
            Retry::Backoff { wait, .. } => assert!(wait <= RIDE_OUT_CAP, "{wait:?}"),
            other => panic!("{other:?}"),
        }
        // What Elasticsearch refuses for good still fails the task.
        let answer = items(&[(400, Some("mapper_parsing_exception")), (201, None)]);
        assert!(matches!(
            decide(&c, &b, &full, &[1, 2], answer, 0),
            Retry::Fail(_)
        ));
    }

    #[test]
    fn retries_run_out() {
        let c = cfg(&[("max.retries", "2")]);
        let (b, full) = batch();
        let outcome = || Err(RequestError::Transient("connection refused".into()));
        assert!(matches!(
            decide(&c, &b, &full, &[0, 1, 2], outcome(), 1),
            Retry::Backoff { .. }
        ));
        let e = fail_text(decide(&c, &b, &full, &[1, 2], outcome(), 2));
        assert!(
            e.starts_with("giving up on a bulk request of 2 records (first t-0@11) after 2 retries; last error: connection refused."),
            "{e}"
        );
        let answer = items(&[(429, Some("es_rejected_execution_exception")), (201, None)]);
        let e = fail_text(decide(&c, &b, &full, &[1, 2], answer, 2));
        assert!(
            e.starts_with("giving up on a bulk request of 1 records (first t-0@11)"),
            "{e}"
        );
    }

    #[test]
    fn permanent_failures_fail_with_the_record_named() {
        let c = cfg(&[]);
        let (b, full) = batch();
        let all = [0, 1, 2];
        let e = fail_text(decide(
            &c,
            &b,
            &full,
            &all,
            Err(RequestError::Permanent(
                "bulk request answered HTTP 400: bad".into(),
            )),
            0,
        ));
        assert_eq!(
            e,
            "Elasticsearch rejected a bulk request of 3 records (first t-0@10): bulk request answered HTTP 400: bad"
        );
        let e = fail_text(decide(&c, &b, &full, &all, items(&[(201, None)]), 0));
        assert!(
            e.ends_with("the bulk answer has 1 items for 3 actions"),
            "{e}"
        );
        let answer = items(&[(201, None), (403, Some("security_exception")), (201, None)]);
        let e = fail_text(decide(&c, &b, &full, &all, answer, 0));
        assert_eq!(
            e,
            "Elasticsearch refused record t-0@11 for index t (HTTP 403): security_exception: r"
        );
        // A conflict on a document without an external version is not an old write.
        let answer = items(&[
            (201, None),
            (409, Some("version_conflict_engine_exception")),
            (201, None),
        ]);
        assert!(matches!(
            decide(&c, &b, &full, &all, answer, 0),
            Retry::Fail(_)
        ));
    }

    #[test]
    fn malformed_documents_fail_by_default_and_show_the_document_when_allowed() {
        let (b, full) = batch();
        let answer = || {
            items(&[
                (201, None),
                (201, None),
                (400, Some("mapper_parsing_exception")),
            ])
        };
        let e = fail_text(decide(&cfg(&[]), &b, &full, &[0, 1, 2], answer(), 0));
        assert!(e.starts_with("Elasticsearch rejected the document of record t-0@12 for index t: mapper_parsing_exception: r. Fix the data"), "{e}");
        assert!(!e.contains("document: "));
        let c = cfg(&[("log.sensitive.data", "true")]);
        let e = fail_text(decide(&c, &b, &full, &[0, 1, 2], answer(), 0));
        assert!(
            e.ends_with(
                r#" document: {"index":{}}
{"n":12}"#
            ),
            "{e}"
        );
        let c = cfg(&[("behavior.on.malformed.documents", "warn")]);
        assert!(matches!(
            decide(&c, &b, &full, &[0, 1, 2], answer(), 0),
            Retry::Done
        ));
    }
}
