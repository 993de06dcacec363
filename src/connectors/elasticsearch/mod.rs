//! `io.confluent.connect.elasticsearch.ElasticsearchSinkConnector`: writes records to
//! Elasticsearch with the bulk API, as Confluent's connector does (same settings, ids, index
//! names, payloads and mappings), on the `elasticsearch` crate. Offsets are only committed for
//! records Elasticsearch acknowledged, and replays are idempotent (external versions or
//! deterministic ids), so a crash or an outage never loses a record.
//!
//! The way through: `document` turns a record into bulk lines, `bulk` batches them into a
//! `request` and keeps requests in flight, `service` sends one, `response` reads its answer
//! and `retry` decides what follows; `index` and `mapping` prepare a target before its first
//! write.

mod bulk;
mod client;
pub mod config;
pub mod document;
#[doc(hidden)]
pub mod fuzzing;
mod index;
mod mapping;
mod request;
mod response;
mod retry;
mod service;

use std::collections::HashMap;
use std::sync::Arc;

use crate::api::{
    ConnectError, ConnectorPlugin, Factory, Outage, PluginDesc, PluginKind, SinkTask,
    SinkTaskContext, TopicPartition,
};
use crate::data::SinkRecord;

pub use config::{EsConfig, KEYS};

pub const SINK_PLUGIN: ConnectorPlugin = ConnectorPlugin {
    task_class: "io.confluent.connect.elasticsearch.ElasticsearchSinkTask",
    desc: PluginDesc {
        kind: PluginKind::Sink,
        class: "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector",
        aliases: &["ElasticsearchSinkConnector", "ElasticsearchSink"],
        doc: "Indexes records into Elasticsearch with the bulk API (Confluent's connector).",
        config: KEYS,
    },
    factory: Factory::Sink(create),
    validate: config::validate,
    max_tasks: None,
    offsets: crate::api::OffsetShape::Sink,
};

pub struct ElasticsearchSinkTask {
    writer: bulk::BulkWriter,
    /// "Elasticsearch at <urls>", for the message a `--once` run ends with.
    system: String,
    /// Retriable put failures in a row; past the `--once` bound they end the run.
    outage: Outage,
}

fn create(ctx: SinkTaskContext) -> Result<Box<dyn SinkTask>, ConnectError> {
    let mut cfg = EsConfig::from_values(&ctx.config).map_err(|e| {
        ConnectError::fatal(format!("connector {}: {e}", ctx.connector)).caused_by(e)
    })?;
    cfg.ride_out = ctx.dependency_wait.is_none();
    let cfg_urls = cfg.urls.join(",");
    let writer =
        bulk::BulkWriter::new(Arc::new(cfg), ctx.stop.clone(), &ctx.waiting).map_err(|e| {
            ConnectError::fatal(format!("connector {}: {e}", ctx.connector)).caused_by(e)
        })?;
    let system = format!("Elasticsearch at {}", cfg_urls);
    Ok(Box::new(ElasticsearchSinkTask {
        writer,
        system,
        outage: Outage::new(ctx.dependency_wait),
    }))
}

impl SinkTask for ElasticsearchSinkTask {
    fn put(&mut self, records: &[SinkRecord]) -> Result<(), ConnectError> {
        match self.writer.put(records) {
            Ok(()) => {
                self.outage.recovered();
                Ok(())
            }
            Err(e) => Err(self.outage.failed(&self.system, e)),
        }
    }

    fn flush(&mut self, _offsets: &HashMap<TopicPartition, i64>) -> Result<(), ConnectError> {
        self.writer.flush()
    }

    fn pre_commit(
        &mut self,
        offsets: &HashMap<TopicPartition, i64>,
    ) -> Result<HashMap<TopicPartition, i64>, ConnectError> {
        self.writer.pre_commit(offsets)
    }

    fn stop(&mut self) {
        self.writer.close();
    }
}
