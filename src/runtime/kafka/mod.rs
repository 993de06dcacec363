//! Kafka clients for the worker: librdkafka configured from Connect's keys (`config`), the
//! reasons behind failed connections (`diagnostics`), and topic creation (`topics`).

mod admin;
mod config;
mod diagnostics;
pub mod group_changes;
pub mod groups;
mod produce;
mod sticky;
mod topic_reader;
mod topics;

pub use config::{
    admin_config, consumer_config, in_flight_limit, producer_config, setup_error, unsecured_clients,
};
pub(crate) use diagnostics::connection_context;
pub use diagnostics::{
    check_connection, wait_for_broker, watch_outage, ConnectionErrors, HasConnectionErrors, Waited,
};
pub use produce::{Deliveries, TopicHandle};
pub use sticky::{wants_sticky, StickyPartitioner, JAVA_BATCH_SIZE};
pub use topic_reader::topic_readers;
pub use topics::{ensure_topic, ensure_topic_waiting, topic_spec, TopicAdmin, TopicSpec};

static OUTAGE: std::sync::OnceLock<crate::api::OutageReporter> = std::sync::OnceLock::new();

/// The worker's Kafka (its `bootstrap.servers`), one reporter for the process: every client
/// (the worker's probe, source producers, sink consumers, dead letter queue producers) loses
/// the broker at once, and the outage is said once for all of them.
pub fn outage(worker: &crate::config::WorkerConfig) -> &'static crate::api::OutageReporter {
    OUTAGE.get_or_init(|| {
        crate::api::OutageReporter::new(format!("Kafka at {}", worker.bootstrap_servers()))
    })
}

/// "Kafka at … down since …" while the worker's broker is down: every running task waits
/// for it, and their status says so.
pub fn outage_reason() -> Option<String> {
    OUTAGE.get()?.down_reason()
}

/// The reporter, once the worker has made it; clients created without a worker (tests,
/// commands) log their failures as before.
fn current_outage() -> Option<&'static crate::api::OutageReporter> {
    OUTAGE.get()
}

#[derive(Debug, thiserror::Error)]
pub enum KafkaSetupError {
    #[error(
        "cannot reach Kafka at {bootstrap} (bootstrap.servers) after {secs} s: {reason}; {hint}"
    )]
    Unreachable {
        bootstrap: String,
        secs: u64,
        reason: String,
        hint: String,
    },
    /// A connection attempt failed in a way waiting will not fix (a certificate the client
    /// does not trust, a refused login).
    #[error("{client} cannot connect to Kafka at {bootstrap}: {reason}; {hint}")]
    Connection {
        client: String,
        bootstrap: String,
        reason: String,
        hint: String,
    },
    /// librdkafka refused to create a client with these settings; `origin` says where they
    /// come from.
    #[error("invalid Kafka client setting ({origin})")]
    Config {
        origin: &'static str,
        #[source]
        source: rdkafka::error::KafkaError,
    },
    /// librdkafka's own advice for this one is to recompile it, which a kconnect user cannot
    /// act on.
    #[error("invalid Kafka client setting ({origin}): SASL mechanism GSSAPI (Kerberos) is not built into kconnect, and it is also what an unset sasl.mechanism means (as in Java): set sasl.mechanism to PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")]
    Gssapi { origin: &'static str },
    #[error("cannot create topic {topic}")]
    CreateTopic {
        topic: String,
        #[source]
        source: rdkafka::error::KafkaError,
    },
    /// A `--once` run waited its dependency bound for the broker to look up or create a
    /// topic.
    #[error("topic {topic} could not be looked up or created for {secs} s, giving up this --once run (kconnect.once.dependency.timeout.ms); check that the brokers are reachable; what was delivered before is committed and the next run goes on from there")]
    TopicUnavailable {
        topic: String,
        secs: u64,
        #[source]
        source: Box<KafkaSetupError>,
    },
    /// The broker answered the create request with an error code.
    #[error("cannot create topic {topic}: {code}")]
    TopicRefused {
        topic: String,
        code: rdkafka::types::RDKafkaErrorCode,
    },
}

impl KafkaSetupError {
    /// Whether trying again may succeed: the broker went away or was slow to answer while a
    /// topic was looked up or created. Connect's `TopicAdmin` makes these a
    /// `RetriableException`, and its source task sends the batch again; so does kconnect's.
    pub fn is_retriable(&self) -> bool {
        use rdkafka::error::KafkaError as K;
        use rdkafka::types::RDKafkaErrorCode as C;
        let transient = |c: C| {
            matches!(
                c,
                C::BrokerTransportFailure
                    | C::AllBrokersDown
                    | C::OperationTimedOut
                    | C::RequestTimedOut
                    | C::MessageTimedOut
                    | C::Resolve
                    | C::BrokerNotAvailable
                    | C::LeaderNotAvailable
                    | C::NotController
                    | C::NetworkException
                    | C::NotCoordinator
                    | C::CoordinatorNotAvailable
                    | C::TimedOutQueue
            )
        };
        match self {
            KafkaSetupError::CreateTopic { source, .. } => match source {
                K::MetadataFetch(c) | K::AdminOp(c) => transient(*c),
                K::AdminOpCreation(_) => false,
                other => other.rdkafka_error_code().is_some_and(transient),
            },
            KafkaSetupError::TopicRefused { code, .. } => transient(*code),
            _ => false,
        }
    }
}

/// Where a client's settings come from, for messages that tell the user what to change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientRole {
    /// The worker's own connection check and the connectors' admin clients (topic creation).
    Admin,
    /// Source producers and dead letter queue producers.
    Producer,
    /// Sink consumers.
    Consumer,
}

impl ClientRole {
    /// Where the user changes this client's settings.
    pub fn settings(self) -> &'static str {
        match self {
            ClientRole::Admin => "the worker's top-level security.protocol, ssl.* and sasl.* settings (then admin.* and the connector's admin.override.*)",
            ClientRole::Producer => "the worker's producer.* settings and the connector's producer.override.*",
            ClientRole::Consumer => "the worker's consumer.* settings and the connector's consumer.override.*",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            ClientRole::Admin => "",
            ClientRole::Producer => "producer.",
            ClientRole::Consumer => "consumer.",
        }
    }
}
