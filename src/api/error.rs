//! The two ways a task can fail, as Connect's `RetriableException` and `ConnectException`.

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Worth trying again: the worker retries with backoff (a sink gets the same batch again).
    #[error("{0}")]
    Retriable(String),
    /// The task cannot go on; with errors.tolerance=none the connector fails.
    #[error("{0}")]
    Fatal(String),
}

impl ConnectError {
    pub fn is_retriable(&self) -> bool {
        matches!(self, ConnectError::Retriable(_))
    }
}
