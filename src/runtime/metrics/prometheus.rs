//! `GET /metrics`: the worker's, connectors' and tasks' metrics in Prometheus text format
//! (version 0.0.4), named as the Prometheus JMX exporter names Connect's MBeans with the rules
//! most deployments use (Strimzi's `kafka-connect-metrics.yaml`, after the JMX exporter's own
//! `kafka-connect.yml`: `kafka.connect<type=source-task-metrics, connector=c, task=0>
//! source-record-poll-total` becomes `kafka_connect_source_task_source_record_poll_total
//! {connector="c",task="0"}`), so dashboards and alerts written for a JVM worker work
//! unchanged. Connectors' own metrics (Debezium's) come from their
//! [`MetricsRegistry`](crate::api::MetricsRegistry) under the names they registered.
//! `docs/metrics.md` lists every name.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use super::{TaskMetrics, TaskState, WorkerMetrics};
use crate::api::PluginKind;
use crate::runtime::control::State;

/// One connector as the herder knows it.
pub struct ConnectorEntry<'a> {
    pub name: &'a str,
    pub class: &'a str,
    pub kind: PluginKind,
    /// What `GET /connector-plugins` says of the class.
    pub version: &'a str,
    pub state: State,
    pub tasks: Vec<TaskEntry>,
}

/// One task of a connector: its id, state and counters.
pub struct TaskEntry {
    pub id: usize,
    pub state: State,
    pub metrics: Arc<TaskMetrics>,
}

impl TaskEntry {
    /// A task whose state is the one its loop last set.
    pub fn new(id: usize, metrics: Arc<TaskMetrics>) -> TaskEntry {
        let state = match metrics.state() {
            TaskState::Unassigned => State::Unassigned,
            TaskState::Running => State::Running,
            TaskState::Paused => State::Paused,
            TaskState::Stopped => State::Stopped,
            TaskState::Failed => State::Failed,
        };
        TaskEntry { id, state, metrics }
    }
}

/// Which tasks a family of task metrics applies to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Applies {
    All,
    Source,
    Sink,
}

/// A task metric family: its Prometheus name, help, whether it is a counter, and its value.
struct Family {
    name: &'static str,
    help: &'static str,
    counter: bool,
    applies: Applies,
    value: fn(&TaskMetrics, u64) -> f64,
}

fn load(a: &AtomicU64) -> f64 {
    a.load(Ordering::Relaxed) as f64
}
fn load_i(a: &AtomicI64) -> f64 {
    a.load(Ordering::Relaxed) as f64
}

const fn family(
    name: &'static str,
    help: &'static str,
    counter: bool,
    applies: Applies,
    value: fn(&TaskMetrics, u64) -> f64,
) -> Family {
    Family {
        name,
        help,
        counter,
        applies,
        value,
    }
}

/// Connect's task MBeans' attributes (`connector-task-metrics`, `source-task-metrics`,
/// `sink-task-metrics`, `task-error-metrics`) in the order Connect's docs list them. Times are
/// kept in µs and shown in ms.
const TASK_FAMILIES: &[Family] = &[
    family("kafka_connect_connector_task_running_ratio", "Fraction of its life the task has spent running (since it started; Connect's is over its sample window).", false, Applies::All, |m, now| m.ratios_at(now).0),
    family("kafka_connect_connector_task_pause_ratio", "Fraction of its life the task has spent paused.", false, Applies::All, |m, now| m.ratios_at(now).1),
    family("kafka_connect_connector_task_offset_commit_avg_time_ms", "Average time in milliseconds of the task's successful offset commits over the last 30 to 60 s.", false, Applies::All, |m, now| m.commit_time.read_at(now).avg() / 1000.0),
    family("kafka_connect_connector_task_offset_commit_max_time_ms", "Longest time in milliseconds of a successful offset commit over the last 30 to 60 s.", false, Applies::All, |m, now| m.commit_time.read_at(now).max() / 1000.0),
    family("kafka_connect_connector_task_offset_commit_success_percentage", "Fraction (0 to 1) of the task's offset commit attempts that succeeded over the last 30 to 60 s.", false, Applies::All, |m, now| m.commit_outcome.read_at(now).avg()),
    family("kafka_connect_connector_task_offset_commit_failure_percentage", "Fraction (0 to 1) of the task's offset commit attempts that failed over the last 30 to 60 s.", false, Applies::All, |m, now| 1.0 - m.commit_outcome.read_at(now).avg()),
    family("kafka_connect_connector_task_batch_size_max", "Largest batch the task polled (source) or was put (sink) over the last 30 to 60 s.", false, Applies::All, |m, now| m.batch_size.read_at(now).max()),
    family("kafka_connect_connector_task_batch_size_avg", "Average batch size over the last 30 to 60 s.", false, Applies::All, |m, now| m.batch_size.read_at(now).avg()),
    family("kafka_connect_source_task_source_record_poll_total", "Records the task's poll returned, before transforms, since the task started.", true, Applies::Source, |m, _| load(&m.polled)),
    family("kafka_connect_source_task_source_record_poll_rate", "Records polled per second over the last 30 to 60 s.", false, Applies::Source, |m, now| m.polled_window.read_at(now).rate()),
    family("kafka_connect_source_task_source_record_write_total", "Records written to Kafka (acknowledged), after transforms, since the task started.", true, Applies::Source, |m, _| load(&m.records)),
    family("kafka_connect_source_task_source_record_write_rate", "Records written to Kafka per second over the last 30 to 60 s.", false, Applies::Source, |m, now| m.written_window.read_at(now).rate()),
    family("kafka_connect_source_task_poll_batch_avg_time_ms", "Average time in milliseconds a poll that returned records took, over the last 30 to 60 s.", false, Applies::Source, |m, now| m.task_time.read_at(now).avg() / 1000.0),
    family("kafka_connect_source_task_poll_batch_max_time_ms", "Longest poll that returned records, in milliseconds, over the last 30 to 60 s.", false, Applies::Source, |m, now| m.task_time.read_at(now).max() / 1000.0),
    family("kafka_connect_source_task_source_record_active_count", "Records polled and not yet acknowledged by Kafka.", false, Applies::Source, |m, _| load_i(&m.active)),
    family("kafka_connect_source_task_source_record_active_count_max", "Most records polled and not yet acknowledged at a poll, over the last 30 to 60 s.", false, Applies::Source, |m, now| m.active_window.read_at(now).max()),
    family("kafka_connect_source_task_source_record_active_count_avg", "Average records polled and not yet acknowledged at a poll, over the last 30 to 60 s.", false, Applies::Source, |m, now| m.active_window.read_at(now).avg()),
    family("kafka_connect_sink_task_sink_record_read_total", "Messages read from Kafka, before conversion and transforms, since the task started.", true, Applies::Sink, |m, _| load(&m.read)),
    family("kafka_connect_sink_task_sink_record_read_rate", "Messages read from Kafka per second over the last 30 to 60 s.", false, Applies::Sink, |m, now| m.read_window.read_at(now).rate()),
    family("kafka_connect_sink_task_sink_record_send_total", "Records handed to the task's put, after transforms, since the task started.", true, Applies::Sink, |m, _| load(&m.records)),
    family("kafka_connect_sink_task_sink_record_send_rate", "Records put per second over the last 30 to 60 s.", false, Applies::Sink, |m, now| m.sent_window.read_at(now).rate()),
    family("kafka_connect_sink_task_sink_record_lag_max", "Largest number of records one of the task's partitions is behind its end (refreshed each second).", false, Applies::Sink, |m, _| load_i(&m.lag_max)),
    family("kafka_connect_sink_task_partition_count", "Topic partitions assigned to the task.", false, Applies::Sink, |m, _| load_i(&m.partitions)),
    family("kafka_connect_sink_task_offset_commit_seq_no", "Sequence number of the task's last offset commit attempt.", false, Applies::Sink, |m, _| load(&m.commits.seq)),
    family("kafka_connect_sink_task_offset_commit_completion_total", "Offset commits that completed since the task started.", true, Applies::Sink, |m, _| load(&m.commits.completed)),
    family("kafka_connect_sink_task_offset_commit_completion_rate", "Offset commits completed per second over the last 30 to 60 s.", false, Applies::Sink, |m, now| m.commit_outcome.read_at(now).rate()),
    family("kafka_connect_sink_task_offset_commit_skip_total", "Offset commits whose completion came too late to count; always 0: kconnect commits synchronously.", true, Applies::Sink, |_, _| 0.0),
    family("kafka_connect_sink_task_offset_commit_skip_rate", "Offset commits skipped per second; always 0, as the total.", false, Applies::Sink, |_, _| 0.0),
    family("kafka_connect_sink_task_put_batch_avg_time_ms", "Average time in milliseconds of the task's put, over the last 30 to 60 s.", false, Applies::Sink, |m, now| m.task_time.read_at(now).avg() / 1000.0),
    family("kafka_connect_sink_task_put_batch_max_time_ms", "Longest put in milliseconds over the last 30 to 60 s.", false, Applies::Sink, |m, now| m.task_time.read_at(now).max() / 1000.0),
    family("kafka_connect_sink_task_sink_record_active_count", "Records read from Kafka whose offsets are not committed yet.", false, Applies::Sink, |m, _| load_i(&m.active)),
    family("kafka_connect_sink_task_sink_record_active_count_max", "Most records read and not yet committed (sampled each second) over the last 30 to 60 s.", false, Applies::Sink, |m, now| m.active_window.read_at(now).max()),
    family("kafka_connect_sink_task_sink_record_active_count_avg", "Average records read and not yet committed (sampled each second) over the last 30 to 60 s.", false, Applies::Sink, |m, now| m.active_window.read_at(now).avg()),
    family("kafka_connect_task_error_total_record_errors", "Records that failed in a converter, a transform, the producer or the task's put.", false, Applies::All, |m, _| load(&m.errors.record_errors)),
    family("kafka_connect_task_error_total_record_failures", "Failed attempts to process a record, retries included.", false, Applies::All, |m, _| load(&m.errors.record_failures)),
    family("kafka_connect_task_error_total_records_skipped", "Records skipped because of an error (errors.tolerance=all).", false, Applies::All, |m, _| load(&m.skipped)),
    family("kafka_connect_task_error_total_retries", "Retried operations; always 0: no stage kconnect retries under errors.retry.timeout fails retriably.", false, Applies::All, |_, _| 0.0),
    family("kafka_connect_task_error_total_errors_logged", "Errors written to the log (errors.log.enable).", false, Applies::All, |m, _| load(&m.errors.errors_logged)),
    family("kafka_connect_task_error_deadletterqueue_produce_requests", "Records sent to the dead letter queue.", false, Applies::All, |m, _| load(&m.errors.dlq_requests)),
    family("kafka_connect_task_error_deadletterqueue_produce_failures", "Records the dead letter queue failed to write.", false, Applies::All, |m, _| load(&m.errors.dlq_failures)),
    family("kafka_connect_task_error_last_error_timestamp", "Time of the task's last error, in milliseconds since the epoch (0 for none).", false, Applies::All, |m, _| load_i(&m.errors.last_error_ms)),
];

/// A label value in Prometheus text: backslash, double quote and newline escaped.
pub fn escape_label(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// A sample value: integers without a fraction, Prometheus's spellings of NaN and infinities.
fn write_value(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(out, "{v}");
    }
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], v: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, val)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(k);
            out.push_str("=\"");
            escape_label(val, out);
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    write_value(out, v);
    out.push('\n');
}

fn lower(s: State) -> String {
    s.name().to_ascii_lowercase()
}

fn kind_name(k: PluginKind) -> &'static str {
    match k {
        PluginKind::Source => "source",
        PluginKind::Sink => "sink",
        _ => "unknown",
    }
}

/// Everything the worker serves at `GET /metrics`, one family after the other, each with its
/// HELP and TYPE lines.
pub fn render(worker: &WorkerMetrics, connectors: &[ConnectorEntry<'_>]) -> String {
    render_at(worker, connectors, super::window::clock_ms())
}

/// `render` with windows and ratios read at `now` (ms on the windows' clock).
fn render_at(worker: &WorkerMetrics, connectors: &[ConnectorEntry<'_>], now: u64) -> String {
    let mut out = String::with_capacity(4096 + connectors.len() * 8192);
    render_worker(&mut out, worker, connectors);
    render_connectors(&mut out, connectors);
    render_tasks(&mut out, connectors, now);
    render_plugins(&mut out, connectors);
    out
}

fn render_worker(out: &mut String, w: &WorkerMetrics, connectors: &[ConnectorEntry<'_>]) {
    let tasks: usize = connectors.iter().map(|c| c.tasks.len()).sum();
    let gauge = |out: &mut String, name: &str, help: &str, v: f64| {
        header(out, name, help, "gauge");
        sample(out, name, &[], v);
    };
    gauge(
        out,
        "kafka_connect_worker_connector_count",
        "Connectors in this worker.",
        connectors.len() as f64,
    );
    gauge(
        out,
        "kafka_connect_worker_task_count",
        "Tasks in this worker.",
        tasks as f64,
    );
    for (what, counters) in [("connector", &w.connector_starts), ("task", &w.task_starts)] {
        let (attempts, ok, failed) = counters.read();
        for (suffix, help, v) in [
            ("startup_attempts_total", "start attempts", attempts),
            ("startup_success_total", "starts that succeeded", ok),
            ("startup_failure_total", "starts that failed", failed),
        ] {
            let name = format!("kafka_connect_worker_{what}_{suffix}");
            header(
                out,
                &name,
                &format!("The worker's {what} {help}."),
                "counter",
            );
            sample(out, &name, &[], v as f64);
        }
        let pct = |n: u64| {
            if attempts == 0 {
                0.0
            } else {
                n as f64 / attempts as f64
            }
        };
        for (suffix, v) in [("success", ok), ("failure", failed)] {
            let name = format!("kafka_connect_worker_{what}_startup_{suffix}_percentage");
            gauge(
                out,
                &name,
                &format!("Fraction (0 to 1) of {what} starts with this outcome."),
                pct(v),
            );
        }
    }
    // Connect's per-connector worker metrics: the connector's tasks by state.
    let by_state: [(&str, &[State]); 6] = [
        ("connector_total_task_count", &[]),
        ("connector_running_task_count", &[State::Running]),
        (
            "connector_paused_task_count",
            &[State::Paused, State::Stopped],
        ),
        ("connector_failed_task_count", &[State::Failed]),
        ("connector_unassigned_task_count", &[State::Unassigned]),
        ("connector_restarting_task_count", &[State::Restarting]),
    ];
    for (suffix, states) in by_state {
        let name = format!("kafka_connect_worker_{suffix}");
        let help = if states.is_empty() {
            "Tasks of the connector.".to_string()
        } else {
            format!("Tasks of the connector in state {}.", states[0].name())
        };
        header(out, &name, &help, "gauge");
        for c in connectors {
            let n = c
                .tasks
                .iter()
                .filter(|t| states.is_empty() || states.contains(&t.state))
                .count();
            sample(out, &name, &[("connector", c.name)], n as f64);
        }
    }
}

/// A connector attribute shown as a label: (attribute, help, value).
type InfoAttr = (
    &'static str,
    &'static str,
    fn(&ConnectorEntry<'_>) -> String,
);

fn render_connectors(out: &mut String, connectors: &[ConnectorEntry<'_>]) {
    let info: [InfoAttr; 4] = [
        (
            "connector_class",
            "The connector's class, as a label.",
            |c| c.class.to_string(),
        ),
        (
            "connector_type",
            "The connector's type (source or sink), as a label.",
            |c| kind_name(c.kind).to_string(),
        ),
        (
            "connector_version",
            "The connector's version, as a label.",
            |c| c.version.to_string(),
        ),
        (
            "status",
            "The connector's state (running, paused, stopped, failed, ...), as a label.",
            |c| lower(c.state),
        ),
    ];
    for (attr, help, value) in info {
        let name = format!("kafka_connect_connector_{attr}");
        header(out, &name, help, "gauge");
        for c in connectors {
            sample(out, &name, &[("connector", c.name), (attr, &value(c))], 1.0);
        }
    }
}

fn render_tasks(out: &mut String, connectors: &[ConnectorEntry<'_>], now: u64) {
    let mut id = String::new();
    let name = "kafka_connect_connector_task_status";
    header(
        out,
        name,
        "The task's state (running, paused, failed, ...), as a label.",
        "gauge",
    );
    for c in connectors {
        for t in &c.tasks {
            id.clear();
            let _ = write!(id, "{}", t.id);
            let status = lower(t.state);
            sample(
                out,
                name,
                &[("connector", c.name), ("task", &id), ("status", &status)],
                1.0,
            );
        }
    }
    for f in TASK_FAMILIES {
        let applies = |c: &ConnectorEntry<'_>| match f.applies {
            Applies::All => true,
            Applies::Source => c.kind == PluginKind::Source,
            Applies::Sink => c.kind == PluginKind::Sink,
        };
        if !connectors.iter().any(|c| applies(c) && !c.tasks.is_empty()) {
            continue;
        }
        header(
            out,
            f.name,
            f.help,
            if f.counter { "counter" } else { "gauge" },
        );
        for c in connectors.iter().filter(|c| applies(c)) {
            for t in &c.tasks {
                id.clear();
                let _ = write!(id, "{}", t.id);
                sample(
                    out,
                    f.name,
                    &[("connector", c.name), ("task", &id)],
                    (f.value)(&t.metrics, now),
                );
            }
        }
    }
}

/// The connectors' own metrics, grouped by name so each family has one HELP and TYPE, in the
/// order they were first registered; `connector` and `task` labels come first.
fn render_plugins(out: &mut String, connectors: &[ConnectorEntry<'_>]) {
    let mut families: Vec<(&'static str, &'static str, &'static str, String)> = Vec::new();
    for c in connectors {
        for t in &c.tasks {
            let task = t.id.to_string();
            for d in t.metrics.plugin.describe() {
                let i = match families.iter().position(|f| f.0 == d.name) {
                    Some(i) => i,
                    None => {
                        families.push((d.name, d.help, d.kind.prometheus_type(), String::new()));
                        families.len() - 1
                    }
                };
                let mut labels: Vec<(&str, &str)> = vec![("connector", c.name), ("task", &task)];
                labels.extend(d.labels.iter().map(|(k, v)| (*k, v.as_str())));
                sample(&mut families[i].3, d.name, &labels, d.shown_value() as f64);
            }
        }
    }
    for (name, help, kind, samples) in families {
        header(out, name, help, kind);
        out.push_str(&samples);
    }
}

#[cfg(test)]
mod tests;
