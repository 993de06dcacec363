//! What goes wrong turning values into and out of Connect's data model.

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DataError(pub String);

impl DataError {
    pub fn new(msg: impl Into<String>) -> DataError {
        DataError(msg.into())
    }
}
