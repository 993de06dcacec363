//! Metrics a connector reports about its own system (Debezium's snapshot and streaming
//! MBeans, for one), without seeing the runtime: a registry in the task context where the task
//! creates each metric once, with its name, help text and labels, and then updates it with
//! relaxed atomics. The runtime reads the registry when it is scraped (`GET /metrics`) and
//! writes each metric in Prometheus text under the name given here.
//!
//! Registering takes a lock; updating never does, so a task registers at start (or when a
//! new table appears) and updates once per batch.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// How a metric's value is read, which is also its Prometheus `TYPE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    /// Only goes up while the task runs.
    Counter,
    /// Any value, set as it changes.
    Gauge,
    /// A gauge holding a time (ms since the epoch, -1 for never): it is shown as the
    /// milliseconds since then, computed when read, as Debezium's `MilliSecondsSinceLastEvent`.
    MillisSince,
}

impl MetricKind {
    /// The Prometheus `TYPE` of the shown value.
    pub fn prometheus_type(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge | MetricKind::MillisSince => "gauge",
        }
    }
}

/// One metric's handle: clone it into whatever updates it.
#[derive(Clone, Debug, Default)]
pub struct Metric(Arc<AtomicI64>);

impl Metric {
    pub fn set(&self, v: i64) {
        self.0.store(v, Ordering::Relaxed);
    }
    pub fn add(&self, n: i64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn set_bool(&self, v: bool) {
        self.set(i64::from(v));
    }
    /// Sets a `MillisSince` metric to now.
    pub fn touch(&self) {
        self.set(now_ms());
    }
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A registered metric as the runtime reads it.
#[derive(Clone, Debug)]
pub struct MetricDesc {
    /// The Prometheus name, e.g. `debezium_metrics_TotalNumberOfEventsSeen`.
    pub name: &'static str,
    pub help: &'static str,
    pub kind: MetricKind,
    /// Label names and values in the order they are written.
    pub labels: Vec<(&'static str, String)>,
    pub value: Metric,
}

impl MetricDesc {
    /// The value to show: `MillisSince` turned into an age (-1 while never set).
    pub fn shown_value(&self) -> i64 {
        let v = self.value.get();
        match self.kind {
            MetricKind::MillisSince if v < 0 => -1,
            MetricKind::MillisSince => (now_ms() - v).max(0),
            _ => v,
        }
    }
}

/// A task's own metrics. Cloning shares them: the runtime keeps one clone to read.
#[derive(Clone, Debug, Default)]
pub struct MetricsRegistry {
    metrics: Arc<Mutex<Vec<MetricDesc>>>,
}

impl MetricsRegistry {
    pub fn new() -> MetricsRegistry {
        MetricsRegistry::default()
    }

    /// Creates (or, with the same name and labels, finds again) a metric. A task that starts
    /// over (a reconnect) gets the metric it registered before, so values are not duplicated.
    pub fn register(
        &self,
        name: &'static str,
        help: &'static str,
        kind: MetricKind,
        labels: &[(&'static str, &str)],
    ) -> Metric {
        let mut metrics = self.metrics.lock().expect("metrics registry lock");
        let same = |m: &&MetricDesc| {
            m.name == name
                && m.labels.len() == labels.len()
                && m.labels
                    .iter()
                    .zip(labels)
                    .all(|((k1, v1), (k2, v2))| k1 == k2 && v1 == v2)
        };
        if let Some(m) = metrics.iter().find(same) {
            return m.value.clone();
        }
        let value = Metric::default();
        if kind == MetricKind::MillisSince {
            value.set(-1);
        }
        metrics.push(MetricDesc {
            name,
            help,
            kind,
            labels: labels.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            value: value.clone(),
        });
        value
    }

    pub fn counter(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
    ) -> Metric {
        self.register(name, help, MetricKind::Counter, labels)
    }

    pub fn gauge(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
    ) -> Metric {
        self.register(name, help, MetricKind::Gauge, labels)
    }

    /// What is registered, in registration order; read at each scrape.
    pub fn describe(&self) -> Vec<MetricDesc> {
        self.metrics.lock().expect("metrics registry lock").clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_metric_registered_twice_is_the_same_metric() {
        let r = MetricsRegistry::new();
        let a = r.counter("x_total", "help", &[("context", "streaming")]);
        let b = r.counter("x_total", "help", &[("context", "streaming")]);
        let other = r.counter("x_total", "help", &[("context", "snapshot")]);
        a.add(2);
        b.add(3);
        assert_eq!(a.get(), 5);
        assert_eq!(other.get(), 0);
        let d = r.describe();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].labels, vec![("context", "streaming".to_string())]);
    }

    #[test]
    fn millis_since_is_shown_as_an_age_and_minus_one_before_any_event() {
        let r = MetricsRegistry::new();
        let m = r.register("since", "h", MetricKind::MillisSince, &[]);
        assert_eq!(r.describe()[0].shown_value(), -1);
        m.set(now_ms() - 5_000);
        let age = r.describe()[0].shown_value();
        assert!((5_000..6_000).contains(&age), "{age}");
    }
}
