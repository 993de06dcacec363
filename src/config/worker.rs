//! The worker config: what `worker.properties` holds for `connect-standalone`, resolved as
//! flag > `KCONNECT_*` environment > worker file > default.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::providers::Providers;
use crate::api::{ConfigKey, ConfigType, KeyDefault, Settings, Validator};

pub const JSON_CONVERTER: &str = "org.apache.kafka.connect.json.JsonConverter";
pub const SIMPLE_HEADER_CONVERTER: &str = "org.apache.kafka.connect.storage.SimpleHeaderConverter";

/// Worker keys kconnect reads. Keys Connect has that make no sense for one local process
/// (`listeners`, `plugin.path`, `offset.storage.file.filename`) are accepted and reported as
/// having no effect.
pub const WORKER_KEYS: &[ConfigKey] = &[
    ConfigKey::new("bootstrap.servers", ConfigType::List, KeyDefault::Value("localhost:9092"),
        "Kafka brokers to connect to, host:port, comma separated."),
    ConfigKey::new("key.converter", ConfigType::Class, KeyDefault::Value(JSON_CONVERTER),
        "Converter for record keys, unless a connector sets its own. Nested settings go under key.converter.*."),
    ConfigKey::new("value.converter", ConfigType::Class, KeyDefault::Value(JSON_CONVERTER),
        "Converter for record values, unless a connector sets its own. Nested settings go under value.converter.*."),
    ConfigKey::new("header.converter", ConfigType::Class, KeyDefault::Value(SIMPLE_HEADER_CONVERTER),
        "Converter for header values."),
    ConfigKey::new("key.converter.plugin.version", ConfigType::String, KeyDefault::None,
        "Version (or Maven version range, KIP-891) required of the worker's key.converter; a connector using it is refused when the built-in converter's version does not meet it."),
    ConfigKey::new("value.converter.plugin.version", ConfigType::String, KeyDefault::None,
        "As key.converter.plugin.version, for value.converter."),
    ConfigKey::new("header.converter.plugin.version", ConfigType::String, KeyDefault::None,
        "As key.converter.plugin.version, for header.converter."),
    ConfigKey::new("offset.flush.interval.ms", ConfigType::Long, KeyDefault::Value("10000"),
        "How often acknowledged source offsets and delivered sink offsets are committed (the shipped standalone sample's 10000)."),
    ConfigKey::new("offset.flush.timeout.ms", ConfigType::Long, KeyDefault::Value("5000"),
        "How long an offset commit may wait for in-flight records before it is retried at the next interval."),
    ConfigKey::new("task.shutdown.graceful.timeout.ms", ConfigType::Long, KeyDefault::Value("5000"),
        "How long tasks get on shutdown to deliver in-flight records and commit offsets."),
    ConfigKey::new("kconnect.once.dependency.timeout.ms", ConfigType::Long, KeyDefault::Value("60000"),
        "kconnect only: how long a --once run keeps retrying a task's own system (PostgreSQL, Elasticsearch, the JDBC target) while it is unreachable before the run fails with exit 3. A long-running worker retries for as long as it takes."),
    ConfigKey::new("kconnect.sink.group.mode", ConfigType::String, KeyDefault::Value("assign"),
        "kconnect only: how sink tasks get their partitions. assign: this worker splits the partitions of the connector's topics among its own tasks (one process runs the connector). subscribe: every task joins the consumer group connect-<name> and Kafka's group coordinator shares the partitions among the tasks of every kconnect process running the connector, rebalancing when one joins, leaves or dies; a partition is given up only after its records are flushed and its offset committed. Long-running workers only (refused with --once). Sources are not affected: a source runs in one process.")
        .validator(Validator::OneOf(&["assign", "subscribe"])),
    ConfigKey::new("kconnect.connectors.dir", ConfigType::String, KeyDefault::None,
        "kconnect only: the directory connectors created through the REST API are written to. Default: the directory kconnect run was given, when it was given one directory; otherwise creating a connector is refused."),
    ConfigKey::new("topic.creation.enable", ConfigType::Boolean, KeyDefault::Value("true"),
        "Let source connectors create their topics per topic.creation.* settings."),
    ConfigKey::new("config.providers", ConfigType::List, KeyDefault::Value(""),
        "Aliases of config providers (env, file, directory), each with config.providers.<alias>.class."),
    ConfigKey::new("offset.storage.file.filename", ConfigType::String, KeyDefault::None,
        "Accepted for compatibility; kconnect keeps offsets in the sled store given by --offsets."),
    ConfigKey::new("listeners", ConfigType::List, KeyDefault::Value("http://127.0.0.1:8083"),
        "Where the REST API listens: http:// or https:// host:port, comma separated; an empty host is every interface, an empty value no REST server. kconnect's default binds loopback only (Connect's binds every interface). See docs/rest.md."),
    ConfigKey::new("rest.advertised.host.name", ConfigType::String, KeyDefault::None,
        "The host name the worker gives out (status bodies' worker_id, Location headers); default the listener's host, or the machine's name for an empty one."),
    ConfigKey::new("rest.advertised.port", ConfigType::Int, KeyDefault::None,
        "The port the worker gives out; default the listener's.").validator(Validator::Between(0, 65535)),
    ConfigKey::new("rest.advertised.listener", ConfigType::String, KeyDefault::None,
        "Which listener's protocol is given out, http or https; default the first http listener.").validator(Validator::OneOf(&["http", "https"])),
    ConfigKey::new("rest.extension.classes", ConfigType::List, KeyDefault::Value(""),
        "REST extensions; kconnect implements org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension (basic authentication) and refuses any other."),
    ConfigKey::new("kconnect.rest.jaas.config", ConfigType::String, KeyDefault::None,
        "kconnect only: the JAAS file with the KafkaConnect entry basic authentication reads, what the JVM's java.security.auth.login.config names (-Djava.security.auth.login.config= in KAFKA_OPTS is read too)."),
    ConfigKey::new("plugin.path", ConfigType::List, KeyDefault::None,
        "Accepted for compatibility; kconnect's plugins are built in."),
    ConfigKey::new("client.id", ConfigType::String, KeyDefault::Value("kconnect"),
        "Client id prefix for producers and consumers."),
    ConfigKey::new("errors.retry.timeout", ConfigType::Long, KeyDefault::Value("0"),
        "Default for connectors that do not set it.").validator(Validator::AtLeast(-1)),
    ConfigKey::new("connector.client.config.override.policy", ConfigType::String, KeyDefault::Value("All"),
        "Which producer.override.*, consumer.override.* and admin.override.* settings connectors may set, as Connect's policies decide: All (any), None (none), Principal (only security.protocol, sasl.mechanism and sasl.jaas.config); also by their class names. A connector setting one the policy does not allow is refused with Connect's message.")
        .validator(Validator::Custom(override_policy_valid)),
    ConfigKey::new("topic.tracking.enable", ConfigType::Boolean, KeyDefault::Value("true"),
        "Connect's active topics (KIP-558): false answers GET /connectors/NAME/topics and PUT .../topics/reset with 403 \"Topic tracking is disabled.\", as Connect does."),
    ConfigKey::new("topic.tracking.allow.reset", ConfigType::Boolean, KeyDefault::Value("true"),
        "Whether PUT /connectors/NAME/topics/reset may clear a connector's active topics; false answers it 403 \"Topic tracking reset is disabled.\", as Connect does."),
    ConfigKey::new("metric.reporters", ConfigType::List, KeyDefault::Value("org.apache.kafka.common.metrics.JmxReporter"),
        "Java metrics reporters. kconnect has no JVM: its metrics are served as Prometheus text on GET /metrics (docs/metrics.md), so only Connect's default JmxReporter is accepted (or none); another class is refused.")
        .validator(Validator::Honoured(&["org.apache.kafka.common.metrics.JmxReporter"])),
    ConfigKey::new("metrics.sample.window.ms", ConfigType::Long, KeyDefault::Value("30000"),
        "The window of the -rate, -avg and -max metrics; kconnect's windows are Connect's default (2 samples of 30 s), so other values are refused.")
        .validator(Validator::Honoured(&["30000"])),
    ConfigKey::new("metrics.num.samples", ConfigType::Int, KeyDefault::Value("2"),
        "Samples of the windowed metrics; kconnect keeps Connect's default 2, so other values are refused.")
        .validator(Validator::Honoured(&["2"])),
    ConfigKey::new("metrics.recording.level", ConfigType::String, KeyDefault::Value("INFO"),
        "Which metrics are recorded; kconnect records Connect's INFO-level metrics, so DEBUG and TRACE are refused.")
        .validator(Validator::Honoured(&["INFO"])),
    ConfigKey::new("plugin.discovery", ConfigType::String, KeyDefault::Value("hybrid_warn"),
        "How Connect scans plugin.path; kconnect's plugins are built in, so there is nothing to discover.")
        .validator(Validator::OneOf(&["only_scan", "hybrid_warn", "hybrid_fail", "service_load"]))
        .inert(),
    ConfigKey::new("client.dns.lookup", ConfigType::String, KeyDefault::Value("use_all_dns_ips"),
        "How the Kafka clients resolve broker names: librdkafka tries every address of a name, as use_all_dns_ips does; resolve_canonical_bootstrap_servers_only is refused.")
        .validator(Validator::Honoured(&["use_all_dns_ips"])),
    ConfigKey::new("access.control.allow.origin", ConfigType::String, KeyDefault::Value(""),
        "CORS origins of the REST API. kconnect's REST server sends no CORS headers: refused unless empty.")
        .validator(Validator::Honoured(&[])),
    ConfigKey::new("access.control.allow.methods", ConfigType::String, KeyDefault::Value(""),
        "CORS methods of the REST API; refused unless empty, as access.control.allow.origin.")
        .validator(Validator::Honoured(&[])),
    ConfigKey::new("response.http.headers.config", ConfigType::String, KeyDefault::Value(""),
        "Headers Connect adds to every REST response. Not implemented by kconnect yet: refused unless empty.")
        .validator(Validator::Honoured(&[])),
    ConfigKey::new("admin.listeners", ConfigType::List, KeyDefault::None,
        "A separate listener for the /admin endpoints. Not implemented by kconnect yet (they are served on listeners): refused when set.")
        .validator(Validator::Honoured(&[])),
];

/// Connect's built-in override policies, by name and by class.
fn override_policy_valid(v: &str) -> Result<(), String> {
    OverridePolicy::parse(v).map(|_| ())
}

/// `connector.client.config.override.policy`: which client settings a connector may override.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverridePolicy {
    All,
    None,
    Principal,
}

impl OverridePolicy {
    pub fn parse(v: &str) -> Result<OverridePolicy, String> {
        const PKG: &str = "org.apache.kafka.connect.connector.policy.";
        let name = v.trim();
        let short = name
            .strip_prefix(PKG)
            .and_then(|c| c.strip_suffix("ConnectorClientConfigOverridePolicy"))
            .unwrap_or(name);
        match short.to_ascii_lowercase().as_str() {
            "" | "all" => Ok(OverridePolicy::All),
            "none" => Ok(OverridePolicy::None),
            "principal" => Ok(OverridePolicy::Principal),
            _ => Err(format!("{name} is not one of Connect's policies (All, None, Principal); a custom policy is a Java class kconnect cannot run")),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            OverridePolicy::All => "All",
            OverridePolicy::None => "None",
            OverridePolicy::Principal => "Principal",
        }
    }

    /// Whether a connector may set this client setting (the key after `*.override.`).
    pub fn allows(self, client_key: &str) -> bool {
        match self {
            OverridePolicy::All => true,
            OverridePolicy::None => false,
            OverridePolicy::Principal => matches!(
                client_key,
                "sasl.jaas.config" | "sasl.mechanism" | "security.protocol"
            ),
        }
    }
}

/// Prefixes of worker keys passed on rather than read by the worker itself.
pub const WORKER_PREFIXES: &[&str] = &[
    "producer.",
    "consumer.",
    "admin.",
    "key.converter.",
    "value.converter.",
    "header.converter.",
    "config.providers.",
    "listeners.https.",
];

#[derive(Clone, Debug)]
pub struct WorkerConfig {
    pub values: BTreeMap<String, String>,
    pub source: Option<PathBuf>,
    pub providers: Providers,
    pub offsets_dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkerConfigError {
    #[error(transparent)]
    Load(#[from] super::loader::LoadError),
    #[error("worker config {path}: {message}")]
    Invalid { path: String, message: String },
    #[error(transparent)]
    Providers(#[from] super::providers::ProviderError),
}

/// Everything the command line can set on the worker.
#[derive(Clone, Debug, Default)]
pub struct WorkerOverrides {
    pub worker_file: Option<PathBuf>,
    pub bootstrap_servers: Option<String>,
    pub offsets_dir: Option<PathBuf>,
}

impl WorkerConfig {
    pub fn load(o: &WorkerOverrides) -> Result<WorkerConfig, WorkerConfigError> {
        let mut values = match &o.worker_file {
            Some(p) => super::loader::read_settings(p)?,
            None => BTreeMap::new(),
        };
        // KCONNECT_OFFSET_FLUSH_INTERVAL_MS overrides offset.flush.interval.ms, and so on for
        // every worker key; the env only ever names keys the worker knows.
        for k in WORKER_KEYS {
            let env = format!("KCONNECT_{}", k.name.replace('.', "_").to_ascii_uppercase());
            if let Ok(v) = std::env::var(&env) {
                values.insert(k.name.to_string(), v);
            }
        }
        if let Some(b) = &o.bootstrap_servers {
            values.insert("bootstrap.servers".into(), b.clone());
        }
        let where_ = o
            .worker_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "(defaults)".into());
        let problems = crate::api::validate_keys(WORKER_KEYS, &values, "");
        if let Some(p) = problems.first() {
            return Err(WorkerConfigError::Invalid {
                path: where_,
                message: p.message.clone(),
            });
        }
        let refused = super::client_keys::refused_java_classes(
            &values,
            &["producer.", "consumer.", "admin."],
        );
        if let Some((_, message)) = refused.into_iter().next() {
            return Err(WorkerConfigError::Invalid {
                path: where_,
                message,
            });
        }
        let providers = Providers::from_worker(&values)?;
        providers.resolve(&mut values)?;
        Ok(WorkerConfig {
            values,
            source: o.worker_file.clone(),
            providers,
            offsets_dir: o
                .offsets_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("offsets")),
        })
    }

    pub fn settings(&self) -> Settings<'_> {
        Settings::new(WORKER_KEYS, &self.values)
    }

    pub fn bootstrap_servers(&self) -> String {
        self.settings()
            .string("bootstrap.servers")
            .unwrap_or_default()
    }

    fn duration(&self, key: &str) -> Duration {
        Duration::from_millis(self.settings().i64(key).unwrap_or(0).max(0) as u64)
    }

    pub fn offset_flush_interval(&self) -> Duration {
        self.duration("offset.flush.interval.ms")
    }

    pub fn offset_flush_timeout(&self) -> Duration {
        self.duration("offset.flush.timeout.ms")
    }

    pub fn shutdown_timeout(&self) -> Duration {
        self.duration("task.shutdown.graceful.timeout.ms")
    }

    /// The bound a `--once` run puts on each task's waits for its own system.
    pub fn once_dependency_timeout(&self) -> Duration {
        self.duration("kconnect.once.dependency.timeout.ms")
    }

    /// Whether sink tasks join their consumer group and take the partitions it gives them
    /// (`kconnect.sink.group.mode=subscribe`) instead of splitting them among themselves.
    pub fn sink_group_subscribe(&self) -> bool {
        self.settings()
            .string("kconnect.sink.group.mode")
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("subscribe"))
    }

    /// Where connectors created through the REST API are written (`kconnect.connectors.dir`).
    pub fn connectors_dir(&self) -> Option<PathBuf> {
        self.settings()
            .string("kconnect.connectors.dir")
            .filter(|d| !d.trim().is_empty())
            .map(PathBuf::from)
    }

    pub fn topic_creation_enabled(&self) -> bool {
        self.settings()
            .bool("topic.creation.enable")
            .unwrap_or(true)
    }

    /// Keys under `prefix` with the prefix removed (`producer.` → librdkafka settings).
    pub fn with_prefix(&self, prefix: &str) -> BTreeMap<String, String> {
        strip_prefix(&self.values, prefix)
    }
}

pub fn strip_prefix(values: &BTreeMap<String, String>, prefix: &str) -> BTreeMap<String, String> {
    values
        .range(prefix.to_string()..)
        .take_while(|(k, _)| k.starts_with(prefix))
        .map(|(k, v)| (k[prefix.len()..].to_string(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_beats_env_beats_file() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("worker.properties");
        std::fs::write(&f, "bootstrap.servers=file:9092\noffset.flush.interval.ms=1000\ntask.shutdown.graceful.timeout.ms=7000\n").unwrap();
        std::env::set_var("KCONNECT_OFFSET_FLUSH_INTERVAL_MS", "2500");
        let w = WorkerConfig::load(&WorkerOverrides {
            worker_file: Some(f),
            bootstrap_servers: Some("flag:9092".into()),
            offsets_dir: None,
        })
        .unwrap();
        std::env::remove_var("KCONNECT_OFFSET_FLUSH_INTERVAL_MS");
        assert_eq!(w.bootstrap_servers(), "flag:9092");
        assert_eq!(w.offset_flush_interval(), Duration::from_millis(2500));
        assert_eq!(w.shutdown_timeout(), Duration::from_millis(7000));
        assert_eq!(w.offsets_dir, PathBuf::from("offsets"));
    }

    #[test]
    fn defaults_match_connect_standalone() {
        let w = WorkerConfig::load(&WorkerOverrides::default()).unwrap();
        let s = w.settings();
        assert_eq!(s.string("key.converter").unwrap(), JSON_CONVERTER);
        assert_eq!(s.string("value.converter").unwrap(), JSON_CONVERTER);
        assert!(w.topic_creation_enabled());
    }

    #[test]
    fn bad_worker_value_names_file_and_key() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("w.properties");
        std::fs::write(&f, "offset.flush.interval.ms=soon\n").unwrap();
        let e = WorkerConfig::load(&WorkerOverrides {
            worker_file: Some(f),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("w.properties") && e.contains("offset.flush.interval.ms"),
            "{e}"
        );
    }

    #[test]
    fn override_policies_by_name_and_class() {
        assert_eq!(
            super::OverridePolicy::parse("All"),
            Ok(super::OverridePolicy::All)
        );
        assert_eq!(
            super::OverridePolicy::parse(
                "org.apache.kafka.connect.connector.policy.NoneConnectorClientConfigOverridePolicy"
            ),
            Ok(super::OverridePolicy::None)
        );
        assert_eq!(
            super::OverridePolicy::parse("principal"),
            Ok(super::OverridePolicy::Principal)
        );
        assert!(super::OverridePolicy::parse("com.example.MyPolicy").is_err());
        assert!(super::OverridePolicy::Principal.allows("sasl.jaas.config"));
        assert!(!super::OverridePolicy::Principal.allows("acks"));
        assert!(!super::OverridePolicy::None.allows("security.protocol"));
        assert!(super::OverridePolicy::All.allows("acks"));
    }
}
