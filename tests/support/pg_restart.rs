//! Restarting a `support::Postgres` in place (same data directory and port), to test that
//! clients ride out a database restart.

use std::time::{Duration, Instant};

use super::postgres::{as_postgres, postgres_command, Postgres};

impl Postgres {
    /// Stops the server the way a crash would (`pg_ctl stop -m immediate`: connections are
    /// cut, nothing is shut down cleanly), keeps it down for `down`, and starts it again.
    pub fn restart(&mut self, down: Duration) {
        let data = self.service.dir.path().join("data");
        let out = as_postgres(&self.bin.join("pg_ctl"))
            .args(["stop", "-m", "immediate", "-w", "-D"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let _ = self.service.child.wait();
        std::thread::sleep(down);
        let log = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(self.service.dir.path().join("postgres.log"))
            .unwrap();
        let port = self.port();
        self.service.child =
            postgres_command(&self.bin, &data, port, &self.socket_dir, &self.settings)
                .stderr(log)
                .spawn()
                .unwrap();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if self.psql_try("select 1").is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("postgres did not come back after a restart");
    }
}
