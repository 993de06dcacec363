//! kconnect: Kafka Connect's standalone mode as one small binary.
//!
//! The layout follows Connect's own: `config` reads connector and worker files, `data` is
//! Connect's schema and value model, `convert` the converters, `transform` the single
//! message transforms, `runtime` the worker and its source and sink task loops, `offsets`
//! the sled store, `errors` tolerance and the dead letter queue, and `connectors` one folder
//! per connector. `plugins` is the registry all of them are listed in.

pub mod api;
pub mod commands;
pub mod config;
pub mod connectors;
pub mod convert;
pub mod data;
pub mod offsets;
pub mod runtime;
pub mod transform;
