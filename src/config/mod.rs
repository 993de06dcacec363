//! Configuration: reading connector and worker files, the keys every connector and the
//! worker have, and config providers. Checking connector files as a whole needs the plugins,
//! so it is the runtime's (`runtime::validate`).

pub mod client_keys;
pub mod connector;
#[doc(hidden)]
pub mod fuzzing;
pub mod loader;
pub mod properties;
pub mod providers;
pub mod worker;

use crate::api::ConfigKey;

pub use connector::ConnectorConfig;
pub use loader::{ConnectorFile, TargetState};
pub use worker::{WorkerConfig, WorkerOverrides};

/// Whether a key holds a secret, by its definition or, for keys no definition covers
/// (`producer.override.sasl.jaas.config`), by its name.
pub fn is_secret_key(key: &str, defs: &[&[ConfigKey]]) -> bool {
    if defs
        .iter()
        .flat_map(|d| d.iter())
        .any(|d| d.name == key && d.is_secret())
    {
        return true;
    }
    let k = key.to_ascii_lowercase();
    [
        "password",
        "secret",
        "jaas.config",
        "api.key",
        "token",
        "credentials",
    ]
    .iter()
    .any(|w| k.contains(w))
}

/// How a value is shown to a user: secrets as `[hidden]`, as Connect prints them.
pub fn display_value<'a>(key: &str, value: &'a str, defs: &[&[ConfigKey]]) -> &'a str {
    if is_secret_key(key, defs) {
        "[hidden]"
    } else {
        value
    }
}
