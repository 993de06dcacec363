//! kconnect: Kafka Connect's standalone mode as one small binary.
//!
//! The code stands on floors, and a module uses only its own floor's modules' code or lower
//! (`tests/architecture.rs` checks it):
//!
//! 0. `data`: Connect's data model: schemas, values, records, offsets, and the JSON form of a
//!    value that more than the converter writes.
//! 1. `api`: what a plugin is written against: plugin descriptions, config key definitions,
//!    the source and sink task traits and their contexts, `StopFlag`, `ConnectError`, the
//!    offset reader and progress handles the runtime implements.
//! 2. The plugins and their peers, which use only `api` and `data`, not each other:
//!    `convert` (converters), `transform` (single message transforms and predicates),
//!    `connectors` (one folder per connector), `offsets` (the sled store) and `config`
//!    (connector and worker files, config providers, the keys every connector has).
//! 3. `runtime`: the worker and its task loops, the plugin registry, validation of connector
//!    files, converter wiring, the Kafka clients, error tolerance and the dead letter queue.
//! 4. `commands`: the command line; `main.rs` is thin over it.

pub mod api;
pub mod commands;
pub mod config;
pub mod connectors;
pub mod convert;
pub mod data;
pub mod offsets;
pub mod runtime;
pub mod transform;
