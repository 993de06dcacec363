//! Running the kconnect binary cargo built for these tests, and reading what it printed.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Path of the kconnect binary cargo built for these tests, or `KCONNECT_TEST_BIN`'s (a long
/// run such as scripts/soak runs a copy, so a rebuild meanwhile does not change it mid-run).
pub fn kconnect_bin() -> PathBuf {
    std::env::var_os("KCONNECT_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_kconnect")))
}

/// A kconnect command in `dir`, with logs quiet unless the test asks.
pub fn kconnect(dir: &Path) -> Command {
    let mut c = Command::new(kconnect_bin());
    c.current_dir(dir);
    c.env("KCONNECT_BROKER_WAIT_MS", "15000");
    c.env_remove("KCONNECT_BOOTSTRAP_SERVERS");
    // A long-running worker serves the REST API on 127.0.0.1:8083 unless told otherwise;
    // tests run in parallel, so none does unless it asks (`with_rest_api`).
    c.env("KCONNECT_LISTENERS", "");
    c
}

/// Lets a test's worker file choose the REST listener (`kconnect` turns the API off).
pub fn with_rest_api(c: &mut Command) -> &mut Command {
    c.env_remove("KCONNECT_LISTENERS")
}

/// `kconnect run --once -b <bootstrap> --offsets <store> <paths>` in `dir`: the run most
/// tests make, left open for their own environment and for how they read its output.
pub fn once(
    dir: &Path,
    bootstrap: &str,
    store: impl AsRef<OsStr>,
    paths: impl IntoIterator<Item = impl AsRef<OsStr>>,
) -> Command {
    let mut c = kconnect(dir);
    c.args(["run", "--once", "-b", bootstrap, "--offsets"])
        .arg(store)
        .args(paths);
    c
}

pub fn output_text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
