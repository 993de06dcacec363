//! Preparing a write target before its first document: the index (with a mapping inferred
//! from the value schema) or the data stream, created the way Confluent's connector does.

use std::time::Duration;

use bytes::Bytes;
use elasticsearch::http::transport::Transport;
use elasticsearch::http::Method;

use super::client::{self, is_transient_status, RequestError};

/// Makes sure `name` exists as an index (or data stream) before writing to it. `known`: it
/// was seen before and only its mapping may still be missing.
pub(super) async fn prepare(
    t: &Transport,
    timeout: Duration,
    name: &str,
    data_stream: bool,
    known: bool,
    mapping: Option<&serde_json::Value>,
) -> Result<(), RequestError> {
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
