//! Kafka client settings that name Java classes to run inside the client (interceptors,
//! metrics reporters). kconnect's clients are librdkafka, which cannot run them; dropping
//! them would silently lose what they do (Confluent's monitoring interceptors, an audit
//! interceptor, a metrics pipeline), so a non-empty value is refused, naming the key.

use std::collections::BTreeMap;

/// The client keys whose values are Java classes run by the client.
const JAVA_CLASS_KEYS: &[&str] = &["interceptor.classes", "metric.reporters"];

/// (key, message) for each of `values` under one of `prefixes` (`producer.`,
/// `consumer.override.`, ...) that names Java classes for a client to run.
pub fn refused_java_classes(
    values: &BTreeMap<String, String>,
    prefixes: &[&str],
) -> Vec<(String, String)> {
    values
        .iter()
        .filter(|(k, v)| {
            !v.trim().is_empty()
                && prefixes.iter().any(|p| {
                    k.strip_prefix(p)
                        .is_some_and(|rest| JAVA_CLASS_KEYS.contains(&rest))
                })
        })
        .map(|(k, v)| {
            (
                k.clone(),
                format!(
                    "{k}={v} names Java classes for the Kafka client to run, and kconnect's clients (librdkafka) cannot run them; remove the key (kconnect's own metrics are served on GET /metrics), or run this pipeline on Kafka Connect"
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interceptors_and_reporters_are_refused_under_the_prefixes_only() {
        let values: BTreeMap<String, String> = [
            (
                "producer.interceptor.classes",
                "io.confluent.monitoring.clients.interceptor.MonitoringProducerInterceptor",
            ),
            ("consumer.metric.reporters", ""),
            ("producer.override.interceptor.classes", "a.B"),
            ("metric.reporters", "org.example.Reporter"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let worker = refused_java_classes(&values, &["producer.", "consumer.", "admin."]);
        assert_eq!(worker.len(), 1);
        assert_eq!(worker[0].0, "producer.interceptor.classes");
        assert!(worker[0].1.contains("cannot run them"), "{}", worker[0].1);
        let connector = refused_java_classes(
            &values,
            &[
                "producer.override.",
                "consumer.override.",
                "admin.override.",
            ],
        );
        assert_eq!(connector.len(), 1);
        assert_eq!(connector[0].0, "producer.override.interceptor.classes");
    }
}
