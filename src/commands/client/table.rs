//! `kconnect status` as a table: one line per connector, one per task under it, and the first
//! line of each FAILED instance's trace under that, so what failed and why fit on a screen
//! (Connect's JSON puts a 60-line Java stack trace in the middle of it), and what a RUNNING
//! kconnect task waits for while a system it needs is down.

use serde::Deserialize;

/// `GET /connectors/{name}/status`, as Connect (and kconnect) answer it. Fields the table
/// does not show (`version`) are ignored, so any 3.x or 4.x worker's answer reads.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Status {
    pub name: String,
    pub connector: Instance,
    #[serde(default)]
    pub tasks: Vec<Instance>,
    /// `source` or `sink`; absent or `unknown` while a connector is still starting.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

/// The connector or one task: `id` is set for tasks.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Instance {
    #[serde(default)]
    pub id: Option<i64>,
    pub state: String,
    #[serde(default)]
    pub worker_id: Option<String>,
    #[serde(default)]
    pub trace: Option<String>,
}

impl Status {
    /// Whether the connector or any of its tasks is FAILED: `kconnect status` then exits 3.
    pub fn failed(&self) -> bool {
        self.connector.state == "FAILED" || self.tasks.iter().any(|t| t.state == "FAILED")
    }
}

/// One row before the columns are padded; `trace` goes on its own line below.
struct Row<'a> {
    first: String,
    kind: &'a str,
    state: &'a str,
    worker: &'a str,
    trace: Option<&'a str>,
}

/// The table for these connectors, in the order given, ending in a newline.
pub fn render(statuses: &[Status]) -> String {
    let mut rows = Vec::with_capacity(statuses.len() * 2);
    for s in statuses {
        rows.push(row(
            s.name.clone(),
            s.kind.as_deref().unwrap_or(""),
            &s.connector,
        ));
        for t in &s.tasks {
            let id = t.id.map(|i| i.to_string()).unwrap_or_else(|| "?".into());
            rows.push(row(format!("  task {id}"), "", t));
        }
    }
    let width = |f: fn(&Row) -> usize, title: &str| {
        rows.iter()
            .map(f)
            .chain([title.chars().count()])
            .max()
            .unwrap_or(0)
    };
    let w_first = width(|r| r.first.chars().count(), "CONNECTOR");
    let w_kind = width(|r| r.kind.chars().count(), "TYPE");
    let w_state = width(|r| r.state.chars().count(), "STATE");
    let mut out = String::new();
    line(
        &mut out,
        ["CONNECTOR", "TYPE", "STATE", "WORKER"],
        [w_first, w_kind, w_state],
    );
    for r in &rows {
        line(
            &mut out,
            [&r.first, r.kind, r.state, r.worker],
            [w_first, w_kind, w_state],
        );
        if let Some(trace) = r.trace {
            out.push_str("      ");
            out.push_str(trace);
            out.push('\n');
        }
    }
    out
}

fn row<'a>(first: String, kind: &'a str, i: &'a Instance) -> Row<'a> {
    Row {
        first,
        kind,
        state: &i.state,
        worker: i.worker_id.as_deref().unwrap_or(""),
        trace: (i.state == "FAILED" || i.state == "RUNNING")
            .then(|| first_line(i.trace.as_deref().unwrap_or("")))
            .filter(|t| !t.is_empty()),
    }
}

/// Cells padded to the widths (the last one not padded, so no line ends in spaces).
fn line(out: &mut String, cells: [&str; 4], widths: [usize; 3]) {
    for (cell, w) in cells.iter().zip(widths) {
        out.push_str(cell);
        out.extend(std::iter::repeat_n(' ', w - cell.chars().count() + 2));
    }
    out.push_str(cells[3]);
    let trimmed = out.trim_end_matches(' ').len();
    out.truncate(trimmed);
    out.push('\n');
}

/// A Java trace's first line is the exception and its message; kconnect's is the error.
fn first_line(trace: &str) -> &str {
    trace.lines().next().unwrap_or("").trim_end()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the real Kafka Connect 4.3.0 worker answered for a FileStream sink whose file
    /// cannot be created (trace cut after its first frames).
    const FAILED_SINK: &str = r#"{"name":"clibad1","connector":{"state":"RUNNING","worker_id":"127.0.0.1:18085","version":"4.3.0"},"tasks":[{"id":0,"state":"FAILED","worker_id":"127.0.0.1:18085","version":"4.3.0","trace":"org.apache.kafka.connect.errors.ConnectException: Couldn't find or create file '/nonexistent/dir/out.txt' for FileStreamSinkTask\n\tat org.apache.kafka.connect.file.FileStreamSinkTask.start(FileStreamSinkTask.java:74)\nCaused by: java.nio.file.NoSuchFileException: /nonexistent/dir/out.txt\n"}],"type":"sink"}"#;
    const RUNNING_SOURCE: &str = r#"{"name":"clisrc1","connector":{"state":"RUNNING","worker_id":"127.0.0.1:18085","version":"4.3.0"},"tasks":[{"id":0,"state":"RUNNING","worker_id":"127.0.0.1:18085","version":"4.3.0"}],"type":"source"}"#;

    fn status(json: &str) -> Status {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn connectors_tasks_and_the_first_line_of_a_failed_trace() {
        let table = render(&[status(FAILED_SINK), status(RUNNING_SOURCE)]);
        assert_eq!(
            table,
            "CONNECTOR  TYPE    STATE    WORKER\n\
             clibad1    sink    RUNNING  127.0.0.1:18085\n\
             \x20 task 0           FAILED   127.0.0.1:18085\n\
             \x20     org.apache.kafka.connect.errors.ConnectException: Couldn't find or create file '/nonexistent/dir/out.txt' for FileStreamSinkTask\n\
             clisrc1    source  RUNNING  127.0.0.1:18085\n\
             \x20 task 0           RUNNING  127.0.0.1:18085\n"
        );
    }

    #[test]
    fn a_running_task_shows_what_it_waits_for() {
        let mut s = status(RUNNING_SOURCE);
        s.tasks[0].trace = Some(
            "waiting: the source of connector clisrc1 (task 0) down since 2026-12-04T10:00:00Z, retrying: connection refused".into(),
        );
        let table = render(&[s]);
        assert_eq!(
            table.lines().last(),
            Some("      waiting: the source of connector clisrc1 (task 0) down since 2026-12-04T10:00:00Z, retrying: connection refused")
        );
    }

    #[test]
    fn columns_grow_with_the_longest_cell_and_lines_do_not_end_in_spaces() {
        let mut s = status(RUNNING_SOURCE);
        s.name = "a-connector-with-a-long-name".into();
        s.connector.state = "RESTARTING".into();
        s.connector.worker_id = None;
        let table = render(&[s]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "CONNECTOR                     TYPE    STATE       WORKER"
        );
        assert_eq!(lines[1], "a-connector-with-a-long-name  source  RESTARTING");
        assert_eq!(
            lines[2],
            "  task 0                              RUNNING     127.0.0.1:18085"
        );
        assert!(table.lines().all(|l| !l.ends_with(' ')));
    }

    #[test]
    fn a_failed_task_or_connector_makes_the_status_failed() {
        assert!(status(FAILED_SINK).failed());
        assert!(!status(RUNNING_SOURCE).failed());
        let mut s = status(RUNNING_SOURCE);
        s.connector.state = "FAILED".into();
        s.connector.trace = Some("boom\nat x".into());
        assert!(s.failed());
        assert!(render(&[s]).contains("\n      boom\n"));
    }

    #[test]
    fn a_stopped_connector_has_no_task_lines() {
        let s = status(
            r#"{"name":"c","connector":{"state":"STOPPED","worker_id":"w:1"},"tasks":[],"type":"source"}"#,
        );
        assert_eq!(
            render(&[s]),
            "CONNECTOR  TYPE    STATE    WORKER\nc          source  STOPPED  w:1\n"
        );
    }
}
