//! What every plugin says about itself: its kind, the class names users' files carry, and its
//! config keys. The description is all the worker, `kconnect plugins` and `kconnect validate`
//! need to know of a plugin before creating it.

use std::collections::BTreeMap;

use super::config_def::{did_you_mean, ConfigKey, Problem};
use super::offsets::OffsetShape;
use super::task::Factory;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PluginKind {
    Source,
    Sink,
    Converter,
    HeaderConverter,
    Transformation,
    Predicate,
}

impl PluginKind {
    pub fn name(self) -> &'static str {
        match self {
            PluginKind::Source => "source",
            PluginKind::Sink => "sink",
            PluginKind::Converter => "converter",
            PluginKind::HeaderConverter => "header_converter",
            PluginKind::Transformation => "transformation",
            PluginKind::Predicate => "predicate",
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct PluginDesc {
    pub kind: PluginKind,
    /// The Java class name users' files carry.
    pub class: &'static str,
    pub aliases: &'static [&'static str],
    pub doc: &'static str,
    pub config: &'static [ConfigKey],
}

impl PluginDesc {
    /// Connect accepts the class name or any alias.
    pub fn matches(&self, name: &str) -> bool {
        let name = name.trim();
        self.class == name || self.aliases.contains(&name)
    }

    /// The class name and every alias, the names a user may have meant.
    pub fn names(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.class).chain(self.aliases.iter().copied())
    }
}

/// The implementation a plugin matches: the project its Java class name comes from, and the
/// version of that project whose settings, defaults and output kconnect follows. It is what
/// `kconnect plugins` shows and what the REST API reports as the plugin's `version`, where
/// Connect reports the version of the jar it loaded (Kafka's plugins "4.3.0", Debezium's
/// "3.6.3.Final").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Upstream {
    pub project: &'static str,
    pub version: &'static str,
}

impl Upstream {
    /// Kafka Connect's own connectors, converters, transforms and predicates.
    pub const KAFKA: Upstream = Upstream {
        project: "Apache Kafka Connect",
        version: "4.3.0",
    };
    pub const DEBEZIUM: Upstream = Upstream {
        project: "Debezium",
        version: "3.6.3.Final",
    };
    /// Confluent's kafka-connect-elasticsearch: the release whose settings kconnect's are (the
    /// newest at the time; 14.1 and 15.x define the same keys, and kconnect keeps 14.0's
    /// `log.sensitive.data` beside them).
    pub const CONFLUENT_ELASTICSEARCH: Upstream = Upstream {
        project: "Confluent kafka-connect-elasticsearch",
        version: "15.1.3",
    };
    /// Confluent's kafka-connect-jdbc: the newest 10.x release; its sink's keys are the same
    /// across 10.7 to 10.9.
    pub const CONFLUENT_JDBC: Upstream = Upstream {
        project: "Confluent kafka-connect-jdbc",
        version: "10.9.7",
    };
    /// Confluent's Schema Registry converters (kafka-connect-avro-converter and
    /// kafka-connect-protobuf-converter): the release the reference runtime carries and the
    /// goldens were made with.
    pub const CONFLUENT_SCHEMA_REGISTRY: Upstream = Upstream {
        project: "Confluent kafka-connect-avro-converter",
        version: "7.0.16",
    };
    pub const CONFLUENT_PROTOBUF: Upstream = Upstream {
        project: "Confluent kafka-connect-protobuf-converter",
        version: "7.0.16",
    };
    /// Confluent's kafka-connect-datagen: the release whose settings, offsets and headers
    /// kconnect's Datagen source has.
    pub const CONFLUENT_DATAGEN: Upstream = Upstream {
        project: "Confluent kafka-connect-datagen",
        version: "0.7.1",
    };
    /// A plugin of kconnect's own, matching no Java one.
    pub const KCONNECT: Upstream = Upstream {
        project: "kconnect",
        version: env!("CARGO_PKG_VERSION"),
    };

    /// By the Java package of the class, which says whose plugin it is.
    pub fn of_class(class: &str) -> Upstream {
        if class.starts_with("org.apache.kafka.") {
            Upstream::KAFKA
        } else if class.starts_with("io.debezium.") {
            Upstream::DEBEZIUM
        } else if class.starts_with("io.confluent.connect.elasticsearch.") {
            Upstream::CONFLUENT_ELASTICSEARCH
        } else if class.starts_with("io.confluent.connect.jdbc.") {
            Upstream::CONFLUENT_JDBC
        } else if class.starts_with("io.confluent.kafka.connect.datagen.") {
            Upstream::CONFLUENT_DATAGEN
        } else if class.starts_with("io.confluent.connect.avro.") {
            Upstream::CONFLUENT_SCHEMA_REGISTRY
        } else if class.starts_with("io.confluent.connect.protobuf.") {
            Upstream::CONFLUENT_PROTOBUF
        } else {
            Upstream::KCONNECT
        }
    }
}

impl PluginDesc {
    /// The implementation this plugin matches.
    pub fn upstream(&self) -> Upstream {
        Upstream::of_class(self.class)
    }

    /// The version reported for it, as Connect reports a plugin's.
    pub fn version(&self) -> &'static str {
        self.upstream().version
    }
}

/// The message for a class name no plugin answers to. `names` are the names the user may have
/// meant; `otherwise` is said when none is close (what to run or read instead). One function,
/// so connectors, converters and transforms word it alike.
pub fn unknown_class_message<'a>(
    what: &str,
    class: &str,
    names: impl IntoIterator<Item = &'a str>,
    otherwise: impl FnOnce() -> String,
) -> String {
    let hint = match did_you_mean(class, names) {
        Some(m) => format!("did you mean {m}?"),
        None => otherwise(),
    };
    format!("unknown {what} class {class}; {hint}")
}

/// A connector: its description, how to create its tasks, and its own checks.
pub struct ConnectorPlugin {
    pub desc: PluginDesc,
    /// The Java class of its tasks, which Connect adds to each task's config as `task.class`
    /// (`GET /connectors/{name}/tasks`).
    pub task_class: &'static str,
    pub factory: Factory,
    /// Checks across keys that the key definitions alone cannot express; given the
    /// connector's settings as Connect's `Connector.validate` is.
    pub validate: fn(&BTreeMap<String, String>) -> Vec<Problem>,
    /// Source connectors that read one stream run one task whatever tasks.max says.
    pub max_tasks: Option<usize>,
    /// How its committed positions are keyed, for checking offset edits.
    pub offsets: OffsetShape,
}

impl ConnectorPlugin {
    pub fn is_source(&self) -> bool {
        matches!(self.factory, Factory::Source(_))
    }
}

/// For connectors whose key definitions say everything.
pub fn no_extra_validation(_: &BTreeMap<String, String>) -> Vec<Problem> {
    Vec::new()
}
