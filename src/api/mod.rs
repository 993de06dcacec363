//! The connector API floor: what a plugin is written against. Plugins (connectors, converters,
//! transforms) depend on this and on `data`, never on each other or on the runtime; the
//! runtime implements what is a trait here (offsets, progress).

pub mod config_def;
pub mod error;
pub mod metrics;
pub mod offsets;
pub mod outage;
pub mod outage_report;
pub mod plugin;
pub mod progress;
pub mod stop;
pub mod task;
pub mod topic_reader;
pub mod version;

pub use config_def::{
    did_you_mean, split_list, validate_keys, ConfigKey, ConfigType, InvalidConfig, KeyDefault,
    Problem, Settings, Validator,
};
pub use error::ConnectError;
pub use metrics::{Metric, MetricDesc, MetricKind, MetricsRegistry};
pub use offsets::{OffsetKey, OffsetPart, OffsetReader, OffsetShape, OffsetShapeError, OffsetType};
pub use outage::{gave_up, Outage};
pub use outage_report::{Backoff, OutageReporter, Reminder, Waiting};
pub use plugin::{
    no_extra_validation, unknown_class_message, ConnectorPlugin, PluginDesc, PluginKind, Upstream,
};
pub use progress::{NoProgress, Progress, ProgressHandle, ProgressLine};
pub use stop::{sleep_unless_stopped, StopFlag};
pub use task::{
    ErrantRecord, ErrantRecordReporter, Factory, Polled, SinkFactory, SinkTask, SinkTaskContext,
    SourceFactory, SourceTask, SourceTaskContext, TopicPartition,
};
pub use topic_reader::{TopicMessage, TopicReader, TopicReaderSpec, TopicReaders};
