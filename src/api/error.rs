//! The two ways a task can fail, as Connect's `RetriableException` and `ConnectException`.
//! The message is what users read in the log; the cause, when there is one, is kept as the
//! error's source for whoever walks the chain, and is not repeated in the message.

use std::error::Error;

/// An underlying error a `ConnectError` carries as its source.
pub type Cause = Box<dyn Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Worth trying again: the worker retries with backoff (a sink gets the same batch again).
    #[error("{message}")]
    Retriable {
        message: String,
        #[source]
        source: Option<Cause>,
    },
    /// The task cannot go on; with errors.tolerance=none the connector fails.
    #[error("{message}")]
    Fatal {
        message: String,
        #[source]
        source: Option<Cause>,
    },
}

impl ConnectError {
    pub fn retriable(message: impl Into<String>) -> ConnectError {
        ConnectError::Retriable {
            message: message.into(),
            source: None,
        }
    }

    pub fn fatal(message: impl Into<String>) -> ConnectError {
        ConnectError::Fatal {
            message: message.into(),
            source: None,
        }
    }

    /// Keeps `cause` as the source; the message stays as it was built.
    pub fn caused_by(self, cause: impl Into<Cause>) -> ConnectError {
        let cause = Some(cause.into());
        match self {
            ConnectError::Retriable { message, .. } => ConnectError::Retriable {
                message,
                source: cause,
            },
            ConnectError::Fatal { message, .. } => ConnectError::Fatal {
                message,
                source: cause,
            },
        }
    }

    pub fn is_retriable(&self) -> bool {
        matches!(self, ConnectError::Retriable { .. })
    }

    /// What users read: the same text as `Display`.
    pub fn message(&self) -> &str {
        match self {
            ConnectError::Retriable { message, .. } | ConnectError::Fatal { message, .. } => {
                message
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_what_users_see_and_the_cause_is_the_source() {
        let io = std::io::Error::other("disk full");
        let e = ConnectError::retriable(format!("cannot write to out.txt: {io}")).caused_by(io);
        assert!(e.is_retriable());
        assert_eq!(e.to_string(), "cannot write to out.txt: disk full");
        assert_eq!(
            e.source().map(|s| s.to_string()).as_deref(),
            Some("disk full")
        );
        assert!(ConnectError::fatal("stop").source().is_none());
    }
}
