//! Why a client could not connect: librdkafka reports the reason (an untrusted certificate, a
//! refused login) as an error event or a log line, apart from the request that failed, so a
//! client context collects it and a check turns it into advice on the setting to change.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::client::{Client, ClientContext};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::KafkaError;
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseProducer, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;

use super::{admin_config, current_outage, setup_error, ClientRole, KafkaSetupError};
use crate::api::{sleep_unless_stopped, Backoff, OutageReporter, StopFlag};
use crate::config::WorkerConfig;

/// What a connection failure librdkafka reported means, and what to change; `fatal` when
/// retrying cannot help.
struct Diagnosis {
    hint: String,
    fatal: bool,
}

fn diagnose(reason: &str, role: ClientRole) -> Option<Diagnosis> {
    let (settings, p) = (role.settings(), role.prefix());
    let r = reason.to_ascii_lowercase();
    if r.contains("certificate verify failed") || r.contains("could not be verified") {
        return Some(Diagnosis {
            hint: format!("the broker's TLS certificate is not signed by a CA this client trusts, or does not name the host in bootstrap.servers: set {p}ssl.ca.location to the PEM file of the CA that signed the broker's certificate (a Java ssl.truststore.location must be a PEM file), in {settings}"),
            fatal: true,
        });
    }
    if r.contains("client ssl authentication might be required") {
        return Some(Diagnosis {
            hint: format!("the broker asks for a client certificate: set {p}ssl.certificate.location and {p}ssl.key.location (PEM) or {p}ssl.keystore.location (PKCS#12), in {settings}"),
            fatal: true,
        });
    }
    if r.contains("sasl authentication error")
        || r.contains("authentication failed")
        || r.contains("sasl handshake failed")
        || r.contains("unsupported sasl mechanism")
    {
        return Some(Diagnosis {
            hint: format!("the broker refused the login: check {p}sasl.mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) and {p}sasl.username/{p}sasl.password or {p}sasl.jaas.config, in {settings}"),
            fatal: true,
        });
    }
    // A TLS listener drops a plaintext client's first request (ApiVersion) unread.
    if r.contains("connecting to a ssl listener")
        || (r.contains("disconnected") && r.contains("in state apiversion_query"))
    {
        return Some(Diagnosis {
            hint: format!("the listener may expect TLS: set {p}security.protocol=SSL (or SASL_SSL), in {settings}"),
            fatal: false,
        });
    }
    if r.contains("connecting to a plaintext broker listener")
        || r.contains("wrong version number")
        || r.contains("packet length too long")
    {
        return Some(Diagnosis {
            hint: format!("the listener does not speak TLS: check {p}security.protocol (PLAINTEXT or SASL_PLAINTEXT for a plain listener), in {settings}"),
            fatal: false,
        });
    }
    None
}

/// A client context that keeps the last connection failure librdkafka reported: a request
/// that fails only says "transport failure" or "timed out", while the reason (a TLS
/// certificate nobody trusts, a refused login) arrives as an error event or a log line.
#[derive(Default)]
pub struct ConnectionErrors {
    /// The last failure that says what is wrong, and the last of any other kind (a refused
    /// connection must not hide an untrusted certificate seen before it).
    telling: Mutex<Option<String>>,
    other: Mutex<Option<String>>,
    /// Collect without logging, while a check that reports the failure itself runs.
    quiet: AtomicBool,
    /// A sink consumer's rebalances, when the sink loop answers them itself.
    pub group_changes: super::group_changes::GroupChanges,
}

impl ConnectionErrors {
    pub fn quiet() -> ConnectionErrors {
        ConnectionErrors {
            quiet: AtomicBool::new(true),
            ..Default::default()
        }
    }

    fn set_quiet(&self, quiet: bool) {
        self.quiet.store(quiet, Ordering::Relaxed);
    }

    pub fn last(&self) -> Option<String> {
        let telling = self.telling.lock().expect("connection errors lock").clone();
        telling.or_else(|| self.other.lock().expect("connection errors lock").clone())
    }

    fn note(&self, reason: &str) {
        let slot = if diagnose(reason, ClientRole::Admin).is_some() {
            &self.telling
        } else {
            &self.other
        };
        *slot.lock().expect("connection errors lock") = Some(reason.to_string());
    }

    /// What rdkafka's default context does, through tracing, and remembering failures.
    pub fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        // Disconnects are logged at Info ("FAIL"), the rest at Error.
        if (level as i32) <= RDKafkaLogLevel::Info as i32
            && diagnose(message, ClientRole::Admin).is_some()
        {
            // "[thrd:host:port/bootstrap]: host:port/bootstrap: Disconnected ..."
            let message = message
                .strip_prefix("[thrd:")
                .and_then(|m| m.split_once("]: ").map(|(_, rest)| rest))
                .unwrap_or(message);
            *self.telling.lock().expect("connection errors lock") = Some(message.to_string());
        }
        if self.quiet.load(Ordering::Relaxed) {
            return;
        }
        if (level as i32) <= RDKafkaLogLevel::Error as i32 && is_connection_failure(message) {
            if let Some(outage) = current_outage() {
                outage.failed(&message);
                return;
            }
        }
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => {
                tracing::error!(target: "librdkafka", "librdkafka: {fac} {message}")
            }
            RDKafkaLogLevel::Warning => {
                tracing::warn!(target: "librdkafka", "librdkafka: {fac} {message}")
            }
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(target: "librdkafka", "librdkafka: {fac} {message}")
            }
            RDKafkaLogLevel::Debug => {
                tracing::debug!(target: "librdkafka", "librdkafka: {fac} {message}")
            }
        }
    }

    pub fn error(&self, error: KafkaError, reason: &str) {
        // "1/1 brokers are down" follows every failed connection and says nothing of why.
        if error.rdkafka_error_code() != Some(RDKafkaErrorCode::AllBrokersDown) {
            self.note(reason);
        }
        if self.quiet.load(Ordering::Relaxed) {
            return;
        }
        let lost_broker = matches!(
            error.rdkafka_error_code(),
            Some(
                RDKafkaErrorCode::BrokerTransportFailure
                    | RDKafkaErrorCode::AllBrokersDown
                    | RDKafkaErrorCode::Resolve
            )
        );
        match current_outage() {
            // Every client reports every failed connection; the outage is said once.
            Some(outage) if lost_broker => {
                outage.failed(&reason);
            }
            _ => tracing::error!(target: "librdkafka", "librdkafka: {error}: {reason}"),
        }
    }

    /// The last failure, with what it means for a client of `role`.
    pub fn explain(&self, role: ClientRole) -> Option<(String, Option<String>)> {
        self.last().map(|reason| {
            let hint = diagnose(&reason, role).map(|d| d.hint);
            (reason, hint)
        })
    }

    /// "; the last connection failure was: ..." (empty if there was none), to follow an
    /// error that alone would say only "timed out".
    pub fn cause(&self, role: ClientRole) -> String {
        match self.explain(role) {
            Some((reason, Some(hint))) => {
                format!("; the last connection failure was: {reason}; {hint}")
            }
            Some((reason, None)) => format!("; the last connection failure was: {reason}"),
            None => String::new(),
        }
    }

    fn fatal(&self, role: ClientRole) -> Option<(String, String)> {
        let reason = self.last()?;
        let d = diagnose(&reason, role)?;
        d.fatal.then_some((reason, d.hint))
    }
}

impl ClientContext for ConnectionErrors {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        ConnectionErrors::log(self, level, fac, message)
    }

    fn error(&self, error: KafkaError, reason: &str) {
        ConnectionErrors::error(self, error, reason)
    }
}

impl ConsumerContext for ConnectionErrors {
    fn rebalance(
        &self,
        consumer: &rdkafka::consumer::BaseConsumer<Self>,
        err: rdkafka::types::RDKafkaRespErr,
        tpl: &mut rdkafka::TopicPartitionList,
    ) {
        self.group_changes.on_rebalance(consumer, err, tpl);
    }
}

impl ProducerContext for ConnectionErrors {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &DeliveryResult<'_>, _: ()) {}
}

/// A librdkafka log line about a lost or refused connection, which the outage reporter says
/// once instead of once per client and attempt.
fn is_connection_failure(message: &str) -> bool {
    [
        "Connect to ",
        "Disconnected",
        "Connection refused",
        "brokers are down",
        "Receive failed",
        "Send failed",
        "Failed to resolve",
    ]
    .iter()
    .any(|m| message.contains(m))
}

/// While the worker's Kafka is said to be down, probes it every few seconds so that its
/// return is said ("back after …") even when no client has anything to send; called from the
/// worker's supervision loop. Keeps its probe client between calls.
pub fn watch_outage(
    worker: &WorkerConfig,
    probe: &mut Option<(BaseProducer<ConnectionErrors>, Instant)>,
) {
    let Some(outage) = current_outage().filter(|o| o.is_down()) else {
        return;
    };
    if probe
        .as_ref()
        .is_some_and(|(_, last)| last.elapsed() < Duration::from_secs(2))
    {
        return;
    }
    if probe.is_none() {
        match admin_config(worker, None).create_with_context(ConnectionErrors::quiet()) {
            Ok(p) => *probe = Some((p, Instant::now())),
            Err(_) => return,
        }
    }
    let (client, last) = probe.as_mut().expect("just made");
    *last = Instant::now();
    if client
        .client()
        .fetch_metadata(None, Duration::from_millis(500))
        .is_ok_and(|md| !md.brokers().is_empty())
    {
        outage.ok();
    }
}

/// Makes a producer context that embeds `ConnectionErrors` in `$field` a client context that
/// records connection failures, as `ConnectionErrors` itself is: only its delivery handling
/// differs.
macro_rules! connection_context {
    ($ty:ty, $field:ident) => {
        impl rdkafka::client::ClientContext for $ty {
            fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, message: &str) {
                self.$field.log(level, fac, message)
            }

            fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
                self.$field.error(error, reason)
            }
        }

        impl $crate::runtime::kafka::HasConnectionErrors for $ty {
            fn connection_errors(&self) -> &$crate::runtime::kafka::ConnectionErrors {
                &self.$field
            }
        }
    };
}
pub(crate) use connection_context;

/// Clients whose context keeps connection failures.
pub trait HasConnectionErrors {
    fn connection_errors(&self) -> &ConnectionErrors;
}

impl HasConnectionErrors for ConnectionErrors {
    fn connection_errors(&self) -> &ConnectionErrors {
        self
    }
}

/// Fails fast when a task's own client cannot connect for a reason retrying will not fix.
/// The worker's check used the top-level settings; producers and consumers have their own
/// (`producer.*`, `consumer.*`), which may lack the TLS or SASL settings the broker needs,
/// and librdkafka would otherwise retry until `delivery.timeout.ms` and then say only
/// "Message timed out". Without an answer by `limit`, a failure that points at the client's
/// settings (a TLS client at a plaintext listener, or the reverse) fails too; anything else
/// is left to the task's normal retries.
pub fn check_connection<C: ClientContext + HasConnectionErrors>(
    client: &Client<C>,
    serve_events: impl Fn(),
    role: ClientRole,
    name: &str,
    bootstrap: &str,
    limit: Duration,
    stop: &StopFlag,
) -> Result<(), KafkaSetupError> {
    let errors = client.context().connection_errors();
    errors.set_quiet(true);
    let result = check_until(client, serve_events, role, name, bootstrap, limit, stop);
    errors.set_quiet(false);
    result
}

fn check_until<C: ClientContext + HasConnectionErrors>(
    client: &Client<C>,
    serve_events: impl Fn(),
    role: ClientRole,
    name: &str,
    bootstrap: &str,
    limit: Duration,
    stop: &StopFlag,
) -> Result<(), KafkaSetupError> {
    let start = Instant::now();
    loop {
        // Stopping: the task starts and sees the stop itself; no check is owed.
        if stop.is_stopped() {
            return Ok(());
        }
        let answered = client
            .fetch_metadata(None, Duration::from_millis(500))
            .is_ok_and(|md| !md.brokers().is_empty());
        if answered {
            return Ok(());
        }
        serve_events();
        if let Some((reason, hint)) = client.context().connection_errors().fatal(role) {
            return Err(KafkaSetupError::Connection {
                client: name.to_string(),
                bootstrap: bootstrap.to_string(),
                reason,
                hint,
            });
        }
        if start.elapsed() >= limit {
            // No answer for this long, while the worker's own client just had one, and a
            // failure that points at this client's settings: those are the difference.
            return match client.context().connection_errors().explain(role) {
                Some((reason, Some(hint))) => Err(KafkaSetupError::Connection {
                    client: name.to_string(),
                    bootstrap: bootstrap.to_string(),
                    reason,
                    hint,
                }),
                _ => Ok(()),
            };
        }
    }
}

/// How a wait for the brokers ended, when it did not fail.
#[derive(Debug, PartialEq, Eq)]
pub enum Waited {
    Ready,
    /// A stop was requested (SIGINT/SIGTERM) before the brokers answered.
    Stopped,
}

/// Waits until the brokers answer a metadata request, retrying with capped, jittered backoff,
/// for at most `limit` (`--once`) or until they come (`None`, a long-running worker). Each
/// attempt is short and `stop` is checked between them, so a signal ends the wait at once.
/// Gives up at once on a failure waiting cannot fix (an untrusted certificate, a refused
/// login). While the brokers do not answer, `outage` says so once, then once a minute.
pub fn wait_for_broker(
    worker: &WorkerConfig,
    limit: Option<Duration>,
    stop: &StopFlag,
    outage: &OutageReporter,
) -> Result<Waited, KafkaSetupError> {
    let bootstrap = worker.bootstrap_servers();
    // A producer only because its poll serves the error events that carry the reason.
    let probe: BaseProducer<ConnectionErrors> = admin_config(worker, None)
        .create_with_context(ConnectionErrors::quiet())
        .map_err(|e| setup_error(ClientRole::Admin.settings(), e))?;
    let start = Instant::now();
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
    loop {
        if stop.is_stopped() {
            return Ok(Waited::Stopped);
        }
        let result = probe
            .client()
            .fetch_metadata(None, Duration::from_millis(1000));
        if result.as_ref().is_ok_and(|md| !md.brokers().is_empty()) {
            outage.ok();
            return Ok(Waited::Ready);
        }
        // Serves the error events that carry the reason (a zero timeout serves only one).
        probe.poll(Duration::from_millis(100));
        let errors = probe.context();
        if let Some((reason, hint)) = errors.fatal(ClientRole::Admin) {
            return Err(KafkaSetupError::Connection {
                client: "the worker".into(),
                bootstrap,
                reason,
                hint,
            });
        }
        let (reason, hint) = match errors.explain(ClientRole::Admin) {
            Some((reason, Some(hint))) => (reason, hint),
            Some((reason, None)) => (reason, UNREACHABLE_HINT.to_string()),
            None => match &result {
                Ok(_) => (
                    "no brokers in metadata".to_string(),
                    UNREACHABLE_HINT.to_string(),
                ),
                Err(e) => (e.to_string(), UNREACHABLE_HINT.to_string()),
            },
        };
        match limit {
            Some(limit) if start.elapsed() >= limit => {
                return Err(KafkaSetupError::Unreachable {
                    bootstrap,
                    secs: limit.as_secs(),
                    reason,
                    hint,
                })
            }
            Some(limit) => sleep_unless_stopped(
                stop,
                backoff
                    .next_wait()
                    .min(limit.saturating_sub(start.elapsed())),
            ),
            None => {
                outage.failed(&format_args!("{reason}; {hint}"));
                sleep_unless_stopped(stop, backoff.next_wait());
            }
        }
    }
}

const UNREACHABLE_HINT: &str = "check that the broker is running and that -b/--bootstrap-servers or the worker's bootstrap.servers is right";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_are_explained_per_client() {
        let e = ConnectionErrors::quiet();
        assert!(e.last().is_none());
        e.error(
            KafkaError::Global(RDKafkaErrorCode::SSL),
            "ssl://b:9093/bootstrap: SSL handshake failed: error:0A000086:SSL routines::certificate verify failed",
        );
        e.error(
            KafkaError::Global(RDKafkaErrorCode::AllBrokersDown),
            "1/1 brokers are down",
        );
        // The telling failure is kept over the generic one that follows it.
        let (reason, hint) = e.fatal(ClientRole::Consumer).unwrap();
        assert!(reason.contains("certificate verify failed"));
        assert!(hint.contains("consumer.ssl.ca.location"), "{hint}");
        let (_, hint) = e.fatal(ClientRole::Admin).unwrap();
        assert!(hint.contains("top-level"), "{hint}");
        let e = ConnectionErrors::quiet();
        e.log(
            RDKafkaLogLevel::Info,
            "FAIL",
            "[thrd:b:9093/bootstrap]: b:9093/bootstrap: Disconnected: connection reset by peer (after 0ms in state APIVERSION_QUERY)",
        );
        assert!(
            e.fatal(ClientRole::Producer).is_none(),
            "not certain enough to stop at once"
        );
        let (reason, hint) = e.explain(ClientRole::Producer).unwrap();
        assert!(
            reason.starts_with("b:9093/bootstrap: Disconnected"),
            "{reason}"
        );
        assert!(hint.unwrap().contains("producer.security.protocol=SSL"));
        assert!(e
            .cause(ClientRole::Producer)
            .starts_with("; the last connection failure was: "));
    }
}
