//! The exposition checked against a golden file made from a fixed set of values
//! (`tests/fixtures/metrics/render.prom`; `KCONNECT_BLESS=1 cargo test --lib prometheus`
//! writes it again after a deliberate change), and the rules of the text format.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::*;
use crate::api::MetricKind;

const GOLDEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/metrics/render.prom"
);

/// A source task 30 s into the clock: ran 20 s, paused 10 s; 3 polls, 2 commits (one
/// failed), two tolerated errors, one of them dead-lettered.
fn source_task() -> Arc<TaskMetrics> {
    let m = TaskMetrics::default();
    {
        let mut c = m.clock.lock().unwrap();
        c.started_ms = 0;
        c.since_ms = 30_000;
        c.running_ms = 20_000;
        c.paused_ms = 10_000;
        c.state = TaskState::Running;
    }
    m.state.store(TaskState::Running as u8, Ordering::SeqCst);
    for (at, n, us) in [
        (1_000, 100, 2_000),
        (2_000, 300, 4_000),
        (3_000, 200, 3_000),
    ] {
        m.polled.fetch_add(n, Ordering::Relaxed);
        m.polled_window.record_at(at, n);
        m.batch_size.record_at(at, n);
        m.task_time.record_at(at, us);
        m.active_window.record_at(at, n / 2);
    }
    m.active.store(40, Ordering::Relaxed);
    m.records.store(560, Ordering::Relaxed);
    m.written_window.record_at(3_000, 560);
    m.commit_time.record_at(4_000, 1_500);
    m.commit_outcome.record_at(4_000, 1);
    m.commit_outcome.record_at(5_000, 0);
    m.committed.store(1, Ordering::Relaxed);
    m.skipped.store(2, Ordering::Relaxed);
    m.errors.record_errors.store(2, Ordering::Relaxed);
    m.errors.record_failures.store(2, Ordering::Relaxed);
    m.errors.errors_logged.store(1, Ordering::Relaxed);
    m.errors.dlq_requests.store(1, Ordering::Relaxed);
    m.errors
        .last_error_ms
        .store(1_767_225_600_000, Ordering::Relaxed);
    let streaming = [
        ("plugin", "postgres"),
        ("name", "inventory"),
        ("context", "streaming"),
    ];
    m.plugin
        .gauge(
            "debezium_metrics_TotalNumberOfEventsSeen",
            "Events seen.",
            &streaming,
        )
        .set(560);
    m.plugin
        .gauge("debezium_metrics_Connected", "Connected.", &streaming)
        .set_bool(true);
    let snapshot = [
        ("plugin", "postgres"),
        ("name", "inventory"),
        ("context", "snapshot"),
        ("table", "public.\"odd\\name\"\n"),
    ];
    m.plugin
        .register(
            "debezium_metrics_RowsScanned",
            "Rows scanned.",
            MetricKind::Gauge,
            &snapshot,
        )
        .set(42);
    Arc::new(m)
}

fn sink_task() -> Arc<TaskMetrics> {
    let m = TaskMetrics::default();
    m.state.store(TaskState::Failed as u8, Ordering::SeqCst);
    m.read.store(1_000, Ordering::Relaxed);
    m.read_window.record_at(10_000, 1_000);
    m.records.store(990, Ordering::Relaxed);
    m.sent_window.record_at(10_000, 990);
    m.batch_size.record_at(10_000, 500);
    m.batch_size.record_at(11_000, 490);
    m.task_time.record_at(10_000, 12_500);
    m.lag_max.store(7, Ordering::Relaxed);
    m.partitions.store(3, Ordering::Relaxed);
    m.active.store(10, Ordering::Relaxed);
    m.commits.seq.store(4, Ordering::Relaxed);
    m.commits.completed.store(4, Ordering::Relaxed);
    Arc::new(m)
}

fn fixed() -> String {
    let worker = WorkerMetrics::default();
    worker.connector_started(true);
    worker.connector_started(true);
    worker.task_started(true);
    worker.task_started(false);
    let source = ConnectorEntry {
        name: "inventory-source",
        class: "io.debezium.connector.postgresql.PostgresConnector",
        kind: PluginKind::Source,
        version: "4.3.0",
        state: State::Running,
        tasks: vec![TaskEntry::new(0, source_task())],
    };
    let sink = ConnectorEntry {
        name: "file \"sink\"",
        class: "org.apache.kafka.connect.file.FileStreamSinkConnector",
        kind: PluginKind::Sink,
        version: "4.3.0",
        state: State::Running,
        tasks: vec![TaskEntry::new(0, sink_task())],
    };
    let paused = ConnectorEntry {
        name: "stopped-one",
        class: "org.apache.kafka.connect.file.FileStreamSourceConnector",
        kind: PluginKind::Source,
        version: "4.3.0",
        state: State::Stopped,
        tasks: Vec::new(),
    };
    render_at(&worker, &[source, sink, paused], 30_000)
}

#[test]
fn the_exposition_of_fixed_values_matches_the_golden_file() {
    let text = fixed();
    if std::env::var_os("KCONNECT_BLESS").is_some() {
        std::fs::write(GOLDEN, &text).unwrap();
    }
    let golden = std::fs::read_to_string(GOLDEN).unwrap();
    assert_eq!(text, golden, "differs from {GOLDEN}");
}

#[test]
fn every_family_has_help_and_type_once_before_its_samples() {
    let text = fixed();
    let mut typed: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(["counter", "gauge"].contains(&kind), "{line}");
            assert!(!typed.contains(&name.to_string()), "{name} typed twice");
            if kind == "counter" {
                assert!(name.ends_with("_total"), "counter {name} without _total");
            }
            typed.push(name.to_string());
            current = name.to_string();
        } else if line.starts_with("# HELP ") {
            continue;
        } else {
            let name = line.split(['{', ' ']).next().unwrap();
            assert_eq!(name, current, "sample outside its family: {line}");
        }
    }
    for name in [
        "kafka_connect_source_task_source_record_poll_total",
        "kafka_connect_sink_task_sink_record_lag_max",
        "kafka_connect_connector_task_offset_commit_avg_time_ms",
        "kafka_connect_task_error_deadletterqueue_produce_requests",
        "kafka_connect_worker_task_startup_failure_total",
        "debezium_metrics_TotalNumberOfEventsSeen",
    ] {
        assert!(typed.iter().any(|t| t == name), "{name} missing");
    }
}

#[test]
fn label_values_are_escaped_and_values_are_exact() {
    let text = fixed();
    assert!(text.contains(
        "kafka_connect_connector_status{connector=\"file \\\"sink\\\"\",status=\"running\"} 1\n"
    ));
    assert!(text.contains("table=\"public.\\\"odd\\\\name\\\"\\n\"} 42\n"));
    // 600 records polled in the first 30 s: Kafka's Rate divides by one window at least.
    assert!(text.contains(
        "kafka_connect_source_task_source_record_poll_rate{connector=\"inventory-source\",task=\"0\"} 20\n"
    ));
    assert!(text.contains(
        "kafka_connect_connector_task_status{connector=\"file \\\"sink\\\"\",task=\"0\",status=\"failed\"} 1\n"
    ));
    // No commit in the sink's windows: NaN, as Kafka's Avg.
    assert!(text.contains(
        "kafka_connect_connector_task_offset_commit_avg_time_ms{connector=\"file \\\"sink\\\"\",task=\"0\"} NaN\n"
    ));
    // A connector without tasks has connector metrics, and no task lines.
    assert!(text.contains(
        "kafka_connect_connector_status{connector=\"stopped-one\",status=\"stopped\"} 1\n"
    ));
    assert!(!text.contains("connector=\"stopped-one\",task="));
}
