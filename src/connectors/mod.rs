//! Connector plugins, one folder each. Connectors only read from and write to their systems;
//! conversion, transforms, retries and offsets belong to the worker (`crate::runtime`).

pub mod datagen;
pub mod elasticsearch;
pub mod file;
pub mod jdbc;
pub mod pg_errors;
pub mod pg_tls;
pub mod postgres;

use crate::api::ConnectorPlugin;

pub fn registry() -> &'static [ConnectorPlugin] {
    static REGISTRY: &[ConnectorPlugin] = &[
        file::SOURCE_PLUGIN,
        file::SINK_PLUGIN,
        postgres::PLUGIN,
        elasticsearch::SINK_PLUGIN,
        jdbc::SINK_PLUGIN,
        datagen::PLUGIN,
    ];
    REGISTRY
}

pub fn find(class: &str) -> Option<&'static ConnectorPlugin> {
    registry().iter().find(|c| c.desc.matches(class))
}
