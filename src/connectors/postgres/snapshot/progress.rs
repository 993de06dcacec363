//! What a snapshot shows while it runs: a progress line per table on a terminal (rows, rate,
//! and an ETA from the planner's estimate), and a log line when each table is done.

use super::Snapshot;

/// A progress line for one table: rows, rows/s and, from the planner's row estimate, an ETA.
fn table_bar(name: &str, estimate: i64) -> Option<indicatif::ProgressBar> {
    let multi = crate::runtime::progress::multi()?;
    let (bar, template) = if estimate > 0 {
        (
            indicatif::ProgressBar::new(estimate as u64),
            "snapshot {prefix} {bar:30} {human_pos}/~{human_len} rows, {rate}, eta {eta}",
        )
    } else {
        (
            indicatif::ProgressBar::no_length(),
            "snapshot {prefix} {human_pos} rows, {rate}",
        )
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style.with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0} rows/s", state.per_sec());
            },
        ));
    }
    bar.set_prefix(name.to_string());
    Some(multi.add(bar))
}

impl Snapshot {
    /// Makes `table` the one being read: its progress line and log.
    pub(super) fn enter_table(&mut self, table: usize) {
        if self.table_now == Some(table) {
            return;
        }
        self.table_now = Some(table);
        self.rows_in_table = 0;
        if crate::runtime::progress::multi().is_some() {
            let (t, _) = &self.tables[table];
            let estimate: i64 = self
                .client
                .query_one(
                    "SELECT reltuples::int8 FROM pg_class WHERE oid = $1",
                    &[&t.oid],
                )
                .map(|r| r.get(0))
                .unwrap_or(-1);
            self.bar = table_bar(&format!("{}.{}", t.schema, t.name), estimate);
        }
    }

    pub(super) fn table_done(&mut self, table: usize, rows: u64) {
        self.enter_table(table);
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let (t, _) = &self.tables[table];
        tracing::info!(table = %format!("{}.{}", t.schema, t.name), rows, "snapshot of table done");
    }
}
