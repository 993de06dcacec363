//! What a snapshot shows while it runs: a progress line per table on a terminal (rows, rate,
//! and an ETA from the planner's estimate), and a log line when each table is done.

use super::Snapshot;

impl Snapshot {
    /// Makes `table` the one being read: its progress line and log.
    pub(super) fn enter_table(&mut self, table: usize) {
        if self.table_now == Some(table) {
            return;
        }
        self.table_now = Some(table);
        self.rows_in_table = 0;
        if self.progress.is_shown() {
            let (t, _) = &self.tables[table];
            let estimate: i64 = self
                .client
                .query_one(
                    "SELECT reltuples::int8 FROM pg_class WHERE oid = $1",
                    &[&t.oid],
                )
                .map(|r| r.get(0))
                .unwrap_or(-1);
            let label = format!("snapshot {}.{}", t.schema, t.name);
            let estimate = u64::try_from(estimate).ok().filter(|&n| n > 0);
            self.bar = Some(self.progress.line(&label, "rows", estimate));
        }
    }

    /// Debezium's snapshot metrics after a batch of `emitted` events.
    pub(super) fn update_metrics(&self, emitted: usize) {
        let m = &self.metrics.snapshot;
        m.events.emitted(emitted);
        m.duration_s.set(self.started.elapsed().as_secs() as i64);
        if let Some(t) = self.table_now {
            self.rows_scanned[t].set(self.rows_in_table as i64);
        }
        if self.done {
            m.running.set_bool(false);
            m.completed.set_bool(true);
        }
    }

    pub(super) fn table_done(&mut self, table: usize, rows: u64) {
        if !self.chunked {
            self.enter_table(table);
        }
        if let Some(bar) = self.bar.take() {
            bar.finish();
        }
        self.rows_scanned[table].set(rows as i64);
        self.metrics.snapshot.remaining_tables.add(-1);
        let (t, _) = &self.tables[table];
        tracing::info!(table = %format!("{}.{}", t.schema, t.name), rows, "snapshot of table done");
    }
}
