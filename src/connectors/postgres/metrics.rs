//! Debezium's PostgreSQL snapshot and streaming metrics (the MBeans
//! `debezium.postgres:type=connector-metrics,context=snapshot|streaming,server=<topic.prefix>`),
//! registered once in the task's metrics registry under the names Debezium's own JMX exporter
//! rules give them (`debezium_metrics_<Attribute>{plugin="postgres",name=<topic.prefix>,
//! context=...}`), and updated once per polled batch. `docs/metrics.md` says which of
//! Debezium's attributes are here and why the others are not.

use crate::api::{Metric, MetricKind, MetricsRegistry};

fn labels<'a>(prefix: &'a str, context: &'static str) -> [(&'static str, &'a str); 3] {
    [
        ("plugin", "postgres"),
        ("name", prefix),
        ("context", context),
    ]
}

/// What both contexts have.
#[derive(Clone, Debug)]
pub struct EventMetrics {
    pub events_seen: Metric,
    pub last_event: Metric,
}

impl EventMetrics {
    fn new(r: &MetricsRegistry, l: &[(&'static str, &str)]) -> EventMetrics {
        EventMetrics {
            events_seen: r.gauge(
                "debezium_metrics_TotalNumberOfEventsSeen",
                "Events the connector has emitted since it started (Debezium's TotalNumberOfEventsSeen).",
                l,
            ),
            last_event: r.register(
                "debezium_metrics_MilliSecondsSinceLastEvent",
                "Milliseconds since the connector emitted its last event, -1 before the first.",
                MetricKind::MillisSince,
                l,
            ),
        }
    }

    /// A batch of `n` events was handed to the worker.
    pub fn emitted(&self, n: usize) {
        if n > 0 {
            self.events_seen.add(n as i64);
            self.last_event.touch();
        }
    }
}

#[derive(Clone, Debug)]
pub struct SnapshotMetrics {
    registry: MetricsRegistry,
    prefix: String,
    pub events: EventMetrics,
    pub running: Metric,
    pub completed: Metric,
    pub aborted: Metric,
    pub total_tables: Metric,
    pub remaining_tables: Metric,
    pub duration_s: Metric,
}

impl SnapshotMetrics {
    /// `RowsScanned` of one table (`schema.table`), Debezium's map attribute as the exporter
    /// rule shows it: one series per table.
    pub fn rows_scanned(&self, table: &str) -> Metric {
        let [plugin, name, context] = labels(&self.prefix, "snapshot");
        self.registry.gauge(
            "debezium_metrics_RowsScanned",
            "Rows the snapshot has read from the table.",
            &[plugin, name, context, ("table", table)],
        )
    }
}

#[derive(Clone, Debug)]
pub struct StreamingMetrics {
    pub events: EventMetrics,
    pub connected: Metric,
    pub behind_ms: Metric,
    pub filtered: Metric,
    pub transactions: Metric,
    pub creates: Metric,
    pub updates: Metric,
    pub deletes: Metric,
}

/// Both contexts, registered when the task is created.
#[derive(Clone, Debug)]
pub struct PgMetrics {
    pub snapshot: SnapshotMetrics,
    pub streaming: StreamingMetrics,
}

impl PgMetrics {
    pub fn register(r: &MetricsRegistry, prefix: &str) -> PgMetrics {
        let s = labels(prefix, "snapshot");
        let st = labels(prefix, "streaming");
        let snapshot = SnapshotMetrics {
            registry: r.clone(),
            prefix: prefix.to_string(),
            events: EventMetrics::new(r, &s),
            running: r.gauge(
                "debezium_metrics_SnapshotRunning",
                "1 while the snapshot runs.",
                &s,
            ),
            completed: r.gauge(
                "debezium_metrics_SnapshotCompleted",
                "1 once the snapshot has read every table.",
                &s,
            ),
            aborted: r.gauge(
                "debezium_metrics_SnapshotAborted",
                "1 when the snapshot was interrupted (the task stopped or lost its connection).",
                &s,
            ),
            total_tables: r.gauge(
                "debezium_metrics_TotalTableCount",
                "Tables the snapshot reads.",
                &s,
            ),
            remaining_tables: r.gauge(
                "debezium_metrics_RemainingTableCount",
                "Tables the snapshot has still to read.",
                &s,
            ),
            duration_s: r.gauge(
                "debezium_metrics_SnapshotDurationInSeconds",
                "Seconds the snapshot has taken so far, or took.",
                &s,
            ),
        };
        let gauge = |name, help| r.gauge(name, help, &st);
        let streaming = StreamingMetrics {
            events: EventMetrics::new(r, &st),
            connected: gauge(
                "debezium_metrics_Connected",
                "1 while the replication connection streams changes.",
            ),
            behind_ms: gauge(
                "debezium_metrics_MilliSecondsBehindSource",
                "Milliseconds between the commit of the last event's transaction and its handling.",
            ),
            filtered: gauge(
                "debezium_metrics_NumberOfEventsFiltered",
                "Changes of tables the connector does not capture, left out.",
            ),
            transactions: gauge(
                "debezium_metrics_NumberOfCommittedTransactions",
                "Transactions read to their commit.",
            ),
            creates: gauge(
                "debezium_metrics_TotalNumberOfCreateEventsSeen",
                "Create (insert) events emitted.",
            ),
            updates: gauge(
                "debezium_metrics_TotalNumberOfUpdateEventsSeen",
                "Update events emitted.",
            ),
            deletes: gauge(
                "debezium_metrics_TotalNumberOfDeleteEventsSeen",
                "Delete events emitted.",
            ),
        };
        PgMetrics {
            snapshot,
            streaming,
        }
    }
}

/// What the stream counts per change, on its own thread without atomics, added to the
/// metrics once per poll.
#[derive(Debug, Default)]
pub struct Tally {
    pub creates: u64,
    pub updates: u64,
    pub deletes: u64,
    pub filtered: u64,
    pub transactions: u64,
    /// Commit time (ms since the epoch) of the last event emitted.
    pub last_commit_ms: Option<i64>,
}

impl Tally {
    /// Adds what was counted to the metrics and starts again.
    pub fn flush(&mut self, m: &StreamingMetrics, emitted: usize) {
        m.events.emitted(emitted);
        for (n, metric) in [
            (self.creates, &m.creates),
            (self.updates, &m.updates),
            (self.deletes, &m.deletes),
            (self.filtered, &m.filtered),
            (self.transactions, &m.transactions),
        ] {
            if n > 0 {
                metric.add(n as i64);
            }
        }
        if let Some(at) = self.last_commit_ms.take() {
            m.behind_ms.set((crate::api::metrics::now_ms() - at).max(0));
        }
        *self = Tally::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_carry_debeziums_labels_and_a_tally_adds_up() {
        let r = MetricsRegistry::new();
        let m = PgMetrics::register(&r, "inventory");
        let mut t = Tally {
            creates: 2,
            updates: 1,
            transactions: 1,
            last_commit_ms: Some(crate::api::metrics::now_ms() - 1_000),
            ..Tally::default()
        };
        t.flush(&m.streaming, 3);
        assert_eq!(m.streaming.events.events_seen.get(), 3);
        assert_eq!(m.streaming.creates.get(), 2);
        assert!((1_000..2_000).contains(&m.streaming.behind_ms.get()));
        assert_eq!(t.creates, 0);
        m.snapshot.rows_scanned("public.t").set(5);
        let d = r.describe();
        let rows = d
            .iter()
            .find(|d| d.name == "debezium_metrics_RowsScanned")
            .unwrap();
        assert_eq!(
            rows.labels,
            vec![
                ("plugin", "postgres".to_string()),
                ("name", "inventory".to_string()),
                ("context", "snapshot".to_string()),
                ("table", "public.t".to_string()),
            ]
        );
        assert_eq!(rows.value.get(), 5);
    }
}
