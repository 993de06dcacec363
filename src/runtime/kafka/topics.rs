//! Topic creation as Connect's `topic.creation.*` settings describe it (KIP-158).

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, Producer};
use rdkafka::types::RDKafkaErrorCode;

use super::admin::{create_topic, NewTopicRequest};
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

/// A task's client for its topics (Connect's `TopicAdmin`), made when first needed: it looks
/// topics up, and creates them through librdkafka's admin API ([`create_topic`]). A plain
/// client, not a producer's: a producer's metadata request lets the broker create the topic
/// with its own defaults.
pub struct TopicAdmin {
    config: ClientConfig,
    client: Option<BaseProducer>,
}

impl TopicAdmin {
    /// `config`: the admin client's settings (`admin_config`).
    pub fn new(config: ClientConfig) -> TopicAdmin {
        TopicAdmin {
            config,
            client: None,
        }
    }

    fn client(&mut self) -> Result<&BaseProducer, KafkaSetupError> {
        if self.client.is_none() {
            let made = self
                .config
                .create()
                .map_err(|e| super::setup_error(ClientRole::Admin.settings(), e))?;
            self.client = Some(made);
        }
        Ok(self.client.as_ref().expect("made above"))
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
        .client()?
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
    let request = NewTopicRequest {
        name: topic,
        partitions,
        replication_factor: rf,
        configs: &spec.configs,
    };
    let refused = create_topic(admin.client()?.client(), &request, Duration::from_secs(10))
        .map_err(|source| KafkaSetupError::CreateTopic {
            topic: topic.into(),
            source,
        })?;
    match refused {
        None => {}
        Some(RDKafkaErrorCode::TopicAlreadyExists) => return Ok(false),
        Some(code) => {
            return Err(KafkaSetupError::TopicRefused {
                topic: topic.into(),
                code,
            })
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
