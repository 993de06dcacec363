//! One bulk exchange: the body goes out as NDJSON, and the answer comes back sorted into what
//! the retry logic needs to decide on (transient, permanent, or a bulk answer to read).

use std::time::Duration;

use bytes::Bytes;
use elasticsearch::http::transport::Transport;
use elasticsearch::http::Method;

use super::client::{self, is_transient_status, RequestError};
use super::response::{self, Answer};

/// Sends one bulk request. A non-2xx status is `Transient` when worth retrying (429, 5xx),
/// else `Permanent`, as is an answer that is not a bulk answer.
pub(super) async fn send_bulk(
    transport: &Transport,
    body: Bytes,
    timeout: Duration,
) -> Result<Answer, RequestError> {
    let (status, bytes) =
        client::request(transport, Method::Post, "/_bulk", Some(body), true, timeout).await?;
    if !status.is_success() {
        let summary = client::error_summary(&bytes);
        let e = format!("bulk request answered HTTP {}: {summary}", status.as_u16());
        return Err(if is_transient_status(status) {
            RequestError::Transient(e)
        } else {
            RequestError::Permanent(e)
        });
    }
    response::parse(&bytes).map_err(RequestError::Permanent)
}
