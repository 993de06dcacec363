//! Read access to committed source offsets, as Connect's `OffsetStorageReader`. A trait so
//! that connectors know nothing of the store behind it; the runtime implements it.

use super::error::ConnectError;
use crate::data::SourceOffset;

pub trait OffsetReader: Send + Sync {
    /// The last committed offset of this connector for `partition`, if any.
    fn offset(
        &self,
        partition: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Option<SourceOffset>, ConnectError>;
}
