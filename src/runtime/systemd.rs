//! systemd's notification protocol (`sd_notify(3)`), without a crate: under a `Type=notify`
//! or `Type=notify-reload` unit, systemd passes a datagram socket in `NOTIFY_SOCKET` and reads
//! `KEY=VALUE` lines from it: `READY=1` when the service is up, `STATUS=` for `systemctl
//! status`, `RELOADING=1` and `STOPPING=1` around a reload and a stop, `WATCHDOG=1` as a
//! heartbeat when `WatchdogSec=` is set. Outside systemd (no `NOTIFY_SOCKET`) every call does
//! nothing, so the worker calls them unconditionally.
//!
//! The environment is read once and left as it is (`sd_notify`'s `unset_environment=0`): the
//! connectors' own processes, if any, never see it anyway, and a re-exec keeps working.
//!
//! How the worker's supervision loop uses it (docs/operations.md says what users see):
//!
//! ```no_run
//! use std::time::Instant;
//! use kconnect::runtime::systemd::{status_line, Notifier};
//!
//! let notify = Notifier::from_env();
//! let statuses = Vec::new(); // the herder's `Control::status` of every connector
//! // Once every connector has started:
//! let _ = notify.ready();
//! let _ = notify.status(&status_line(&statuses));
//! // On every turn of the supervision loop (never from a thread of its own, so a hung loop
//! // stops the heartbeats and systemd restarts the service):
//! let mut last = Instant::now();
//! if let Some(every) = notify.watchdog_interval() {
//!     if last.elapsed() >= every {
//!         let _ = notify.watchdog();
//!         last = Instant::now();
//!     }
//! }
//! // SIGHUP: `reloading()`, re-read and apply the files, then `ready()` and a new status.
//! // SIGTERM: `stopping()` before the graceful stop.
//! ```

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::Duration;

use crate::runtime::control::{ConnectorStatus, State};

/// Where the notifications go: a path, or a Linux abstract socket (`@name` in the variable).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    Path(PathBuf),
    Abstract(Vec<u8>),
}

/// A notification that could not be delivered: the socket is gone (systemd restarted) or
/// full. The service keeps running; the caller logs it.
#[derive(Debug, thiserror::Error)]
#[error("cannot notify systemd through NOTIFY_SOCKET={socket}")]
pub struct NotifyError {
    socket: String,
    source: io::Error,
}

/// The service's side of the protocol. Cheap to share: one unbound socket, opened once.
#[derive(Debug)]
pub struct Notifier {
    /// `None` outside systemd: every call is a no-op.
    target: Option<(Target, UnixDatagram)>,
    /// The variable as given, for messages.
    shown: String,
    watchdog: Option<Duration>,
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID`; unsets nothing.
    pub fn from_env() -> Notifier {
        Notifier::from_vars(
            std::env::var_os("NOTIFY_SOCKET"),
            std::env::var_os("WATCHDOG_USEC"),
            std::env::var_os("WATCHDOG_PID"),
            std::process::id(),
        )
    }

    /// A notifier that sends nothing (tests, `--once` runs).
    pub fn disabled() -> Notifier {
        Notifier {
            target: None,
            shown: String::new(),
            watchdog: None,
        }
    }

    /// `from_env` with the variables given: tests cannot set the process environment safely
    /// while other tests run.
    fn from_vars(
        socket: Option<OsString>,
        watchdog_usec: Option<OsString>,
        watchdog_pid: Option<OsString>,
        our_pid: u32,
    ) -> Notifier {
        let shown = socket
            .as_deref()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let target = socket
            .as_deref()
            .and_then(parse_target)
            .and_then(|t| UnixDatagram::unbound().ok().map(|sock| (t, sock)));
        Notifier {
            target,
            shown,
            watchdog: watchdog_interval(watchdog_usec.as_deref(), watchdog_pid.as_deref(), our_pid),
        }
    }

    /// Whether systemd listens (a `Type=notify` unit); the worker may skip building a
    /// `STATUS=` line when not.
    pub fn enabled(&self) -> bool {
        self.target.is_some()
    }

    /// `READY=1`: every connector has started (systemd holds `systemctl start` until then,
    /// and starts units ordered after this one).
    pub fn ready(&self) -> Result<(), NotifyError> {
        self.notify("READY=1")
    }

    /// `STATUS=...`, shown by `systemctl status`, e.g. "3 connectors running, 1 failed". A
    /// line break would end the value, so it is sent as a space.
    pub fn status(&self, text: &str) -> Result<(), NotifyError> {
        if !self.enabled() {
            return Ok(());
        }
        self.notify(&format!("STATUS={}", text.replace(['\n', '\r'], " ")))
    }

    /// `STOPPING=1`: the worker is shutting down (systemctl shows "deactivating").
    pub fn stopping(&self) -> Result<(), NotifyError> {
        self.notify("STOPPING=1")
    }

    /// `RELOADING=1` with `MONOTONIC_USEC`, which systemd 253's `Type=notify-reload` needs to
    /// tell this reload from an earlier one; send `ready()` when the reload is done.
    pub fn reloading(&self) -> Result<(), NotifyError> {
        if !self.enabled() {
            return Ok(());
        }
        self.notify(&format!("RELOADING=1\nMONOTONIC_USEC={}", monotonic_usec()))
    }

    /// `WATCHDOG=1`: the supervision loop is alive. Send it every `watchdog_interval()`.
    pub fn watchdog(&self) -> Result<(), NotifyError> {
        self.notify("WATCHDOG=1")
    }

    /// How often to send `watchdog()`: half of `WATCHDOG_USEC` (as `sd_watchdog_enabled(3)`
    /// advises), and only when `WATCHDOG_PID` is unset or this process (the variables are
    /// inherited by children, whose heartbeats systemd would not take).
    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog
    }

    /// Sends one datagram of `KEY=VALUE` lines.
    pub fn notify(&self, state: &str) -> Result<(), NotifyError> {
        let Some((target, sock)) = &self.target else {
            return Ok(());
        };
        send(sock, target, state.as_bytes()).map_err(|source| NotifyError {
            socket: self.shown.clone(),
            source,
        })
    }
}

/// An absolute path or `@abstract`; anything else (a relative path, systemd 254's `vsock:`)
/// is not a socket this implements, so notifications are off.
fn parse_target(value: &OsStr) -> Option<Target> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = value.as_bytes();
    match bytes.first()? {
        b'/' => Some(Target::Path(PathBuf::from(value))),
        b'@' if bytes.len() > 1 => Some(Target::Abstract(bytes[1..].to_vec())),
        _ => None,
    }
}

fn send(sock: &UnixDatagram, target: &Target, message: &[u8]) -> io::Result<()> {
    let sent = match target {
        Target::Path(path) => sock.send_to(message, path)?,
        Target::Abstract(name) => send_abstract(sock, name, message)?,
    };
    if sent == message.len() {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("sent {sent} of {} bytes", message.len()),
        ))
    }
}

#[cfg(target_os = "linux")]
fn send_abstract(sock: &UnixDatagram, name: &[u8], message: &[u8]) -> io::Result<usize> {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
    sock.send_to_addr(message, &addr)
}

#[cfg(not(target_os = "linux"))]
fn send_abstract(_: &UnixDatagram, _: &[u8], _: &[u8]) -> io::Result<usize> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract sockets exist only on Linux",
    ))
}

/// The `STATUS=` line for `systemctl status`: how many connectors are in each state, and which
/// FAILED (at most three named, with their failed tasks), e.g. `3 connectors: 2 running, 1
/// failed (pg task 0)`. A connector with a FAILED task counts as failed.
pub fn status_line(statuses: &[ConnectorStatus]) -> String {
    if statuses.is_empty() {
        return "no connectors".into();
    }
    // running, paused, stopped, starting (unassigned or restarting), failed
    let mut counts = [0usize; 5];
    let mut failed = Vec::new();
    for s in statuses {
        let failed_tasks: Vec<String> = s
            .tasks
            .iter()
            .filter(|t| t.status.state == State::Failed)
            .map(|t| t.id.to_string())
            .collect();
        if s.connector.state == State::Failed || !failed_tasks.is_empty() {
            counts[4] += 1;
            failed.push(match failed_tasks.len() {
                0 => s.name.clone(),
                1 => format!("{} task {}", s.name, failed_tasks[0]),
                _ => format!("{} tasks {}", s.name, failed_tasks.join(",")),
            });
            continue;
        }
        counts[match s.connector.state {
            State::Running => 0,
            State::Paused => 1,
            State::Stopped => 2,
            State::Unassigned | State::Restarting | State::Failed => 3,
        }] += 1;
    }
    let names = ["running", "paused", "stopped", "starting", "failed"];
    let parts: Vec<String> = counts
        .iter()
        .zip(names)
        .filter(|(n, _)| **n > 0)
        .map(|(n, name)| format!("{n} {name}"))
        .collect();
    let mut line = format!(
        "{} connector{}: {}",
        statuses.len(),
        if statuses.len() == 1 { "" } else { "s" },
        parts.join(", ")
    );
    if !failed.is_empty() {
        let more = failed.len().saturating_sub(3);
        failed.truncate(3);
        line.push_str(&format!(" ({}", failed.join("; ")));
        if more > 0 {
            line.push_str(&format!("; {more} more"));
        }
        line.push(')');
    }
    line
}

fn watchdog_interval(usec: Option<&OsStr>, pid: Option<&OsStr>, our_pid: u32) -> Option<Duration> {
    let usec: u64 = usec?.to_str()?.trim().parse().ok()?;
    if let Some(pid) = pid {
        let pid: u32 = pid.to_str()?.trim().parse().ok()?;
        if pid != our_pid {
            return None;
        }
    }
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}

/// `CLOCK_MONOTONIC` in microseconds, the clock systemd compares reloads by.
fn monotonic_usec() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to fill; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1_000
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A socket bound where systemd's would be, and a notifier pointed at it.
    fn listening() -> (tempfile::TempDir, UnixDatagram, Notifier) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let sock = UnixDatagram::bind(&path).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let n = Notifier::from_vars(Some(path.into_os_string()), None, None, 1);
        (dir, sock, n)
    }

    fn recv(sock: &UnixDatagram) -> String {
        let mut buf = [0u8; 4096];
        let n = sock.recv(&mut buf).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn each_call_sends_its_datagram() {
        let (_dir, sock, n) = listening();
        assert!(n.enabled());
        n.ready().unwrap();
        assert_eq!(recv(&sock), "READY=1");
        n.status("2 connectors running,\n1 failed").unwrap();
        assert_eq!(recv(&sock), "STATUS=2 connectors running, 1 failed");
        n.watchdog().unwrap();
        assert_eq!(recv(&sock), "WATCHDOG=1");
        n.stopping().unwrap();
        assert_eq!(recv(&sock), "STOPPING=1");
    }

    #[test]
    fn reloading_carries_the_monotonic_clock() {
        let (_dir, sock, n) = listening();
        let before = monotonic_usec();
        n.reloading().unwrap();
        let msg = recv(&sock);
        let (first, second) = msg.split_once('\n').unwrap();
        assert_eq!(first, "RELOADING=1");
        let usec: u64 = second
            .strip_prefix("MONOTONIC_USEC=")
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            usec >= before && usec <= monotonic_usec(),
            "{usec} vs {before}"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn an_abstract_socket_is_named_with_at() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("kconnect-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let sock = UnixDatagram::bind_addr(&addr).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let n = Notifier::from_vars(Some(format!("@{name}").into()), None, None, 1);
        n.ready().unwrap();
        assert_eq!(recv(&sock), "READY=1");
    }

    #[test]
    fn without_a_socket_nothing_is_sent_and_nothing_fails() {
        for socket in [
            None,
            Some(""),
            Some("relative/path"),
            Some("@"),
            Some("vsock:2:1"),
        ] {
            let n = Notifier::from_vars(socket.map(OsString::from), None, None, 1);
            assert!(!n.enabled(), "{socket:?}");
            n.ready().unwrap();
            n.status("x").unwrap();
            n.reloading().unwrap();
        }
        assert!(!Notifier::disabled().enabled());
    }

    #[test]
    fn a_socket_that_is_gone_is_an_error_naming_it() {
        let (dir, sock, n) = listening();
        drop(sock);
        std::fs::remove_file(dir.path().join("notify")).unwrap();
        let e = n.ready().unwrap_err();
        assert!(e.to_string().contains("NOTIFY_SOCKET="), "{e}");
        assert!(e.to_string().contains("notify"), "{e}");
    }

    #[test]
    fn the_watchdog_runs_at_half_its_timeout_and_only_for_our_pid() {
        let w = |usec: Option<&str>, pid: Option<&str>| {
            watchdog_interval(usec.map(OsStr::new), pid.map(OsStr::new), 42)
        };
        assert_eq!(w(Some("30000000"), None), Some(Duration::from_secs(15)));
        assert_eq!(
            w(Some("30000000"), Some("42")),
            Some(Duration::from_secs(15))
        );
        assert_eq!(w(Some("30000000"), Some("41")), None);
        assert_eq!(w(Some("0"), None), None);
        assert_eq!(w(Some("soon"), None), None);
        assert_eq!(w(None, Some("42")), None);
        let n = Notifier::from_vars(None, Some("2000000".into()), None, 1);
        assert_eq!(n.watchdog_interval(), Some(Duration::from_secs(1)));
    }

    fn connector(name: &str, state: State, tasks: &[State]) -> ConnectorStatus {
        use crate::runtime::control::{StateInfo, TaskStatus};
        let info = |state| StateInfo { state, trace: None };
        ConnectorStatus {
            name: name.into(),
            connector: info(state),
            tasks: tasks
                .iter()
                .enumerate()
                .map(|(id, s)| TaskStatus {
                    id,
                    status: info(*s),
                })
                .collect(),
            kind: crate::api::PluginKind::Source,
            version: "4.3.0",
        }
    }

    #[test]
    fn the_status_line_counts_states_and_names_what_failed() {
        use State::*;
        assert_eq!(status_line(&[]), "no connectors");
        assert_eq!(
            status_line(&[connector("a", Running, &[Running])]),
            "1 connector: 1 running"
        );
        assert_eq!(
            status_line(&[
                connector("a", Running, &[Running, Running]),
                connector("pg", Running, &[Running, Failed]),
                connector("b", Paused, &[Paused]),
                connector("c", Stopped, &[]),
                connector("d", Restarting, &[]),
                connector("es", Failed, &[]),
            ]),
            "6 connectors: 1 running, 1 paused, 1 stopped, 1 starting, 2 failed (pg task 1; es)"
        );
        let many: Vec<_> = ["w", "x", "y", "z", "v"]
            .iter()
            .map(|n| connector(n, Running, &[Failed, Failed]))
            .collect();
        assert_eq!(
            status_line(&many),
            "5 connectors: 5 failed (w tasks 0,1; x tasks 0,1; y tasks 0,1; 2 more)"
        );
    }
}
