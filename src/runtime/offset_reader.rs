//! Connect's `OffsetStorageReader` over the sled store: what a source task reads its
//! committed offsets through.

use std::sync::Arc;

use crate::api::{ConnectError, OffsetReader};
use crate::data::SourceOffset;
use crate::offsets::OffsetStore;

/// One connector's committed source offsets.
pub struct StoreOffsetReader {
    store: Arc<OffsetStore>,
    connector: String,
}

impl StoreOffsetReader {
    pub fn new(store: Arc<OffsetStore>, connector: impl Into<String>) -> StoreOffsetReader {
        StoreOffsetReader {
            store,
            connector: connector.into(),
        }
    }
}

impl OffsetReader for StoreOffsetReader {
    fn offset(
        &self,
        partition: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Option<SourceOffset>, ConnectError> {
        self.store
            .source_offset(&self.connector, partition)
            .map(|o| o.map(SourceOffset::from))
            .map_err(|e| ConnectError::fatal(e.to_string()).caused_by(e))
    }
}
