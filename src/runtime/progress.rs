//! One live line per connector on a terminal (records/s, totals, lag), and nothing of it when
//! stderr is not a terminal. Log lines are printed above the bars, not through them.

use std::io::IsTerminal;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::metrics::TaskMetrics;
use crate::api::ProgressLine;

static MULTI: OnceLock<MultiProgress> = OnceLock::new();

/// The shared progress area, if stderr is a terminal.
pub fn multi() -> Option<&'static MultiProgress> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    Some(
        MULTI
            .get_or_init(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(4))),
    )
}

/// A writer for log lines that keeps the progress bars intact.
pub struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match MULTI.get() {
            Some(m) => m.suspend(|| std::io::stderr().write_all(buf))?,
            None => std::io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

pub struct ConnectorLine {
    bar: ProgressBar,
    name: String,
    is_sink: bool,
    tasks: Vec<Arc<TaskMetrics>>,
    last: (Instant, u64),
}

pub struct Progress {
    lines: Vec<ConnectorLine>,
}

impl Progress {
    pub fn new() -> Progress {
        Progress { lines: Vec::new() }
    }

    pub fn add(&mut self, name: &str, is_sink: bool, tasks: Vec<Arc<TaskMetrics>>) {
        let Some(m) = multi() else { return };
        let bar = m.add(ProgressBar::new_spinner());
        bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("static template"));
        self.lines.push(ConnectorLine {
            bar,
            name: name.to_string(),
            is_sink,
            tasks,
            last: (Instant::now(), 0),
        });
    }

    /// Redraws every line; called from the worker's main loop.
    pub fn tick(&mut self) {
        for l in &mut self.lines {
            let total: u64 = l.tasks.iter().map(|t| t.records()).sum();
            let now = Instant::now();
            let dt = now.duration_since(l.last.0).max(Duration::from_millis(1));
            let rate = (total.saturating_sub(l.last.1)) as f64 / dt.as_secs_f64();
            if dt > Duration::from_millis(900) {
                l.last = (now, total);
            }
            let state = l
                .tasks
                .first()
                .map(|t| t.state().name())
                .unwrap_or("UNASSIGNED");
            let mut msg = format!("{} [{}] {} records, {:.0}/s", l.name, state, total, rate);
            if l.is_sink {
                let lag: i64 = l
                    .tasks
                    .iter()
                    .map(|t| t.lag.load(std::sync::atomic::Ordering::Relaxed))
                    .sum();
                msg.push_str(&format!(", lag {lag}"));
            }
            l.bar.set_message(msg);
            l.bar.tick();
        }
    }

    pub fn finish(&mut self) {
        self.tick();
        for l in &self.lines {
            l.bar.finish();
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Progress::new()
    }
}

/// The api's progress handle drawn in the shared progress area; nothing without a terminal.
pub struct TerminalProgress;

impl crate::api::Progress for TerminalProgress {
    fn is_shown(&self) -> bool {
        multi().is_some()
    }

    fn line(&self, label: &str, unit: &str, estimate: Option<u64>) -> Box<dyn ProgressLine> {
        let Some(multi) = multi() else {
            return Box::new(crate::api::NoProgress);
        };
        let (bar, template) = match estimate {
            Some(n) => (
                ProgressBar::new(n),
                format!("{{prefix}} {{bar:30}} {{human_pos}}/~{{human_len}} {unit}, {{rate}}, eta {{eta}}"),
            ),
            None => (
                ProgressBar::no_length(),
                format!("{{prefix}} {{human_pos}} {unit}, {{rate}}"),
            ),
        };
        if let Ok(style) = ProgressStyle::with_template(&template) {
            let unit = unit.to_string();
            bar.set_style(style.with_key(
                "rate",
                move |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0} {unit}/s", state.per_sec());
                },
            ));
        }
        bar.set_prefix(label.to_string());
        Box::new(multi.add(bar))
    }
}

impl ProgressLine for ProgressBar {
    fn set_position(&self, done: u64) {
        ProgressBar::set_position(self, done)
    }
    fn finish(&self) {
        self.finish_and_clear()
    }
}
