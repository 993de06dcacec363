//! What goes wrong turning values into and out of Connect's data model.

/// The message, and whether trying again may succeed (a converter whose schema registry cannot
/// be reached: Connect's `RetriableException`). Most data errors are about the record itself
/// and are not retriable.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DataError(pub String, pub bool);

impl DataError {
    pub fn new(msg: impl Into<String>) -> DataError {
        DataError(msg.into(), false)
    }

    pub fn retriable(msg: impl Into<String>) -> DataError {
        DataError(msg.into(), true)
    }

    pub fn is_retriable(&self) -> bool {
        self.1
    }

    /// The same error with `what` in front of its message.
    pub fn context(self, what: impl std::fmt::Display) -> DataError {
        DataError(format!("{what}: {}", self.0), self.1)
    }
}
