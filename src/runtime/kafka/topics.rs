//! Topic creation as Connect's `topic.creation.*` settings describe it (KIP-158).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, Producer};
use rdkafka::types::RDKafkaErrorCode;

use super::{ClientRole, KafkaSetupError};
use crate::api::outage_report::RIDE_OUT_CAP;
use crate::api::{Backoff, Outage, StopFlag};
use crate::config::ConnectorConfig;

/// What a source connector's `topic.creation.*` settings say for one topic.
#[derive(Clone, Debug, PartialEq)]
pub struct TopicSpec {
    pub partitions: i32,
    pub replication_factor: i32,
    pub configs: Vec<(String, String)>,
}

/// Connect's topic creation rules: the first group (in `topic.creation.groups` order) whose
/// `include` matches and `exclude` does not, else `default`. `None` when topic creation is
/// not configured for the connector.
pub fn topic_spec(cfg: &ConnectorConfig, topic: &str) -> Option<TopicSpec> {
    let v = &cfg.values;
    let default_rf = v.get("topic.creation.default.replication.factor")?;
    let default_p = v.get("topic.creation.default.partitions")?;
    let groups: Vec<String> = v
        .get("topic.creation.groups")
        .map(|g| {
            crate::api::split_list(g)
                .into_iter()
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let matches_list = |key: &str| -> bool {
        v.get(key).is_some_and(|list| {
            crate::api::split_list(list).iter().any(|pat| {
                regex::Regex::new(&format!("^(?:{pat})$"))
                    .map(|r| r.is_match(topic))
                    .unwrap_or(false)
            })
        })
    };
    let group = groups.iter().find(|g| {
        matches_list(&format!("topic.creation.{g}.include"))
            && !matches_list(&format!("topic.creation.{g}.exclude"))
    });
    let prefix = |g: &str| format!("topic.creation.{g}.");
    let pick = |key: &str, default: &str| -> i32 {
        group
            .and_then(|g| v.get(&format!("{}{key}", prefix(g))))
            .map(String::as_str)
            .unwrap_or(default)
            .trim()
            .parse()
            .unwrap_or(-1)
    };
    let mut configs = BTreeMap::new();
    for g in std::iter::once("default").chain(group.map(String::as_str)) {
        for (k, val) in crate::config::worker::strip_prefix(v, &prefix(g)) {
            if !matches!(
                k.as_str(),
                "include" | "exclude" | "partitions" | "replication.factor"
            ) {
                configs.insert(k, val);
            }
        }
    }
    Some(TopicSpec {
        partitions: pick("partitions", default_p),
        replication_factor: pick("replication.factor", default_rf),
        configs: configs.into_iter().collect(),
    })
}

/// A task's clients for its topics (Connect's `TopicAdmin`), each made when first needed:
/// one that looks topics up, and an admin client only once a topic must be created, let go
/// in the background right after (see [`release`]). rdkafka's `AdminClient` joins its polling
/// thread when dropped, and that thread looks for a stop only every 100 ms: made at every
/// start and dropped at the end, it held every `--once` run's exit back by up to 100 ms.
pub struct TopicAdmin {
    config: ClientConfig,
    /// Any client can look topics up; a producer's goes away at once.
    lookup: Option<BaseProducer>,
    admin: Option<AdminClient<DefaultClientContext>>,
}

impl TopicAdmin {
    /// `config`: the admin client's settings (`admin_config`).
    pub fn new(config: ClientConfig) -> TopicAdmin {
        TopicAdmin {
            config,
            lookup: None,
            admin: None,
        }
    }

    fn lookup(&mut self) -> Result<&BaseProducer, KafkaSetupError> {
        if self.lookup.is_none() {
            self.lookup = Some(self.make()?);
        }
        Ok(self.lookup.as_ref().expect("made above"))
    }

    fn admin(&mut self) -> Result<&AdminClient<DefaultClientContext>, KafkaSetupError> {
        if self.admin.is_none() {
            self.admin = Some(self.make()?);
        }
        Ok(self.admin.as_ref().expect("made above"))
    }

    fn make<T: rdkafka::config::FromClientConfig>(&self) -> Result<T, KafkaSetupError> {
        self.config
            .create()
            .map_err(|e| super::setup_error(ClientRole::Admin.settings(), e))
    }
}

/// Admin clients being dropped on threads of their own.
static RELEASING: Mutex<Vec<JoinHandle<()>>> = Mutex::new(Vec::new());

/// Drops an admin client on a thread of its own, so that nobody waits for its polling thread
/// to notice; [`wait_for_released`] joins them before the process exits (a client torn down
/// during exit could find TLS already cleaned up). Topics are created rarely (once per topic
/// ever), so one client per creation costs little.
fn release(admin: AdminClient<DefaultClientContext>) {
    let mut releasing = RELEASING.lock().unwrap_or_else(|e| e.into_inner());
    releasing.retain(|h| !h.is_finished());
    match std::thread::Builder::new()
        .name("admin-release".into())
        .spawn(move || drop(admin))
    {
        Ok(h) => releasing.push(h),
        // No thread to be had: drop it here (the spawn gave the client back by dropping it).
        Err(e) => tracing::debug!("cannot release an admin client in the background: {e}"),
    }
}

/// Waits for the admin clients let go by [`release`]: at the worker's end, by when most
/// have long been gone.
pub fn wait_for_released() {
    let handles = std::mem::take(&mut *RELEASING.lock().unwrap_or_else(|e| e.into_inner()));
    for h in handles {
        let _ = h.join();
    }
}

/// Creates a topic unless it exists. -1 for partitions or replication factor means the
/// broker's default; with a single broker a larger replication factor is capped at 1.
pub fn ensure_topic(
    admin: &mut TopicAdmin,
    topic: &str,
    spec: &TopicSpec,
) -> Result<bool, KafkaSetupError> {
    let md = admin
        .lookup()?
        .client()
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .map_err(|source| KafkaSetupError::CreateTopic {
            topic: topic.into(),
            source,
        })?;
    let exists = md
        .topics()
        .iter()
        .any(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty());
    tracing::debug!(topic, exists, "checked topic before creating it");
    if exists {
        return Ok(false);
    }
    let brokers = md.brokers().len().max(1) as i32;
    let rf = if spec.replication_factor < 0 {
        brokers.min(3)
    } else {
        spec.replication_factor.min(brokers)
    };
    let partitions = if spec.partitions < 0 {
        1
    } else {
        spec.partitions
    };
    let mut nt = NewTopic::new(topic, partitions, TopicReplication::Fixed(rf));
    for (k, v) in &spec.configs {
        nt = nt.set(k, v);
    }
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = futures::executor::block_on(admin.admin()?.create_topics([&nt], &opts)).map_err(
        |source| KafkaSetupError::CreateTopic {
            topic: topic.into(),
            source,
        },
    )?;
    // Answered: no admin client is needed until another topic must be created.
    if let Some(a) = admin.admin.take() {
        release(a);
    }
    for r in results {
        match r {
            Ok(_) => {}
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => return Ok(false),
            Err((_, code)) => {
                return Err(KafkaSetupError::TopicRefused {
                    topic: topic.into(),
                    code,
                })
            }
        }
    }
    tracing::info!(topic, partitions, replication_factor = rf, "created topic");
    Ok(true)
}

/// [`ensure_topic`], riding out a broker that is away, as Connect's `TopicAdmin` makes such a
/// failure a `RetriableException` and its source task tries the batch again. The outage is
/// said once by the clients' shared reporter (and shows in the task's status); this only
/// retries. `limit` is a `--once` run's dependency bound (`None`: until the broker is back).
/// `between` runs between attempts (a source serves its delivery reports there) and ends the
/// wait by returning false. `Ok(false)`: a stop or `between` ended the wait first.
pub fn ensure_topic_waiting(
    admin: &mut TopicAdmin,
    topic: &str,
    spec: &TopicSpec,
    limit: Option<Duration>,
    stop: &StopFlag,
    mut between: impl FnMut() -> bool,
) -> Result<bool, KafkaSetupError> {
    let mut outage = Outage::new(limit);
    let mut backoff = Backoff::new(Duration::from_millis(200), RIDE_OUT_CAP);
    loop {
        let e = match ensure_topic(admin, topic, spec) {
            Ok(_) => return Ok(true),
            Err(e) if e.is_retriable() => e,
            Err(e) => return Err(e),
        };
        outage.begin();
        if outage.expired() {
            return Err(KafkaSetupError::TopicUnavailable {
                topic: topic.to_string(),
                secs: limit.unwrap_or_default().as_secs(),
                source: Box::new(e),
            });
        }
        tracing::debug!(topic, error = %e, "topic not available yet, retrying");
        if !between() {
            return Ok(false);
        }
        let wait = backoff
            .next_wait()
            .min(outage.left().unwrap_or(Duration::MAX));
        crate::api::sleep_unless_stopped(stop, wait);
        if stop.is_stopped() {
            return Ok(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TargetState;

    fn cfg(pairs: &[(&str, &str)]) -> ConnectorConfig {
        ConnectorConfig {
            name: "c".into(),
            path: "c.json".into(),
            values: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            written: Default::default(),
            initial_state: TargetState::Running,
        }
    }

    #[test]
    fn topic_creation_groups_follow_connect_rules() {
        let c = cfg(&[
            ("topic.creation.default.replication.factor", "1"),
            ("topic.creation.default.partitions", "2"),
            ("topic.creation.default.cleanup.policy", "delete"),
            ("topic.creation.groups", "compacted"),
            ("topic.creation.compacted.include", "db\\..*"),
            ("topic.creation.compacted.exclude", "db\\.skip"),
            ("topic.creation.compacted.partitions", "5"),
            ("topic.creation.compacted.cleanup.policy", "compact"),
        ]);
        let s = topic_spec(&c, "db.users").unwrap();
        assert_eq!(s.partitions, 5);
        assert_eq!(s.replication_factor, 1);
        assert_eq!(
            s.configs,
            vec![("cleanup.policy".to_string(), "compact".to_string())]
        );
        let d = topic_spec(&c, "db.skip").unwrap();
        assert_eq!(d.partitions, 2);
        assert!(topic_spec(&cfg(&[]), "x").is_none());
    }
}
