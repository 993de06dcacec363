//! The long-running worker as a service, end to end (the real binary, Tansu, FileStream
//! connectors): SIGHUP reloads the connector files and applies only the difference, systemd's
//! notifications arrive on a socket the test binds, and `/metrics` moves while records flow.
//! The REST-driven control plane is in tests/worker_control.rs.

mod support;

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use support::worker_control::{
    append, connectors_dir, sink_config, source_config, start, start_with, values, wait_records,
    write_connector, Worker,
};

/// Appends `e <i>` lines to `path` every 20 ms until told to stop; returns how many it wrote.
fn appender(path: &Path, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<usize> {
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let mut n = 0;
        while !stop.load(Ordering::SeqCst) {
            append(&path, &format!("e {n}\n"));
            n += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
        n
    })
}

fn end(k: &support::Kafka, topic: &str) -> i64 {
    support::kafka::end_offset(&k.bootstrap(), topic)
}

#[test]
fn sighup_applies_added_removed_changed_and_refuses_broken_files() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let dir = connectors_dir(root);
    let input = |n: &str| support::write(root, &format!("{n}.txt"), &format!("{n} first\n"));
    let (a_in, b_in, c_in, d_in, e_in, f_in) = (
        input("a"),
        input("b"),
        input("c"),
        input("d"),
        input("e"),
        input("f"),
    );
    let a = source_config(&a_in, "hup-a");
    write_connector(&dir, "a", &a);
    write_connector(&dir, "b", &source_config(&b_in, "hup-b"));
    write_connector(&dir, "c", &source_config(&c_in, "hup-c1"));
    write_connector(&dir, "e", &source_config(&e_in, "hup-e"));
    let f = source_config(&f_in, "hup-f");
    write_connector(&dir, "f", &f);
    let mut w = start(root, &k.bootstrap(), &[]);
    for name in ["a", "b", "c", "e", "f"] {
        w.wait_state(name, "RUNNING");
    }
    wait_records(&k.bootstrap(), "hup-c1", 1);
    // e is never touched: it produces all along, and must not stop or repeat.
    let stop = Arc::new(AtomicBool::new(false));
    let feeding = appender(&e_in, stop.clone());
    support::eventually(Duration::from_secs(30), || {
        (end(&k, "hup-e") > 20).then_some(())
    })
    .expect("e produces");

    // d added, b removed, c moved to another topic, a with a near-miss key, f not JSON.
    write_connector(&dir, "d", &source_config(&d_in, "hup-d"));
    std::fs::remove_file(dir.join("b.json")).unwrap();
    write_connector(&dir, "c", &source_config(&c_in, "hup-c2"));
    let mut broken = a.clone();
    broken["topicz"] = json!("hup-elsewhere");
    write_connector(&dir, "a", &broken);
    std::fs::write(dir.join("f.json"), r#"{"name": "f", "config": {"#).unwrap();
    let before = end(&k, "hup-e");
    let hup = Instant::now();
    w.signal(libc::SIGHUP);

    w.wait_state("d", "RUNNING");
    w.wait_status("b", "b gone", |s| s.is_null());
    w.expect("GET", "/connectors/b", None, 404);
    w.wait_status("c", "c on its new topic", |_| {
        w.call("GET", "/connectors/c/config", None).1["topic"] == "hup-c2"
    });
    w.wait_state("c", "RUNNING");
    let a_status = w.wait_status("a", "a's refused reload in its status", |s| {
        s["connector"]["trace"].is_string()
    });
    assert_eq!(a_status["connector"]["state"], "RUNNING", "{a_status}");
    assert_eq!(a_status["tasks"][0]["state"], "RUNNING", "{a_status}");
    let trace = a_status["connector"]["trace"].as_str().unwrap();
    assert!(
        trace.contains("topicz") && trace.contains("a.json"),
        "the trace names the key and the file: {trace}"
    );
    assert_eq!(w.expect("GET", "/connectors/a/config", None, 200), {
        let mut old = a.clone();
        old["name"] = json!("a");
        old
    });
    let f_status = w.wait_status("f", "f's refused reload in its status", |s| {
        s["connector"]["trace"].is_string()
    });
    assert_eq!(f_status["tasks"][0]["state"], "RUNNING", "{f_status}");
    assert!(
        f_status["connector"]["trace"]
            .as_str()
            .unwrap()
            .contains("f.json"),
        "{f_status}"
    );
    assert!(w.alive(), "SIGHUP must never end the process");

    // New lines go where each connector's config now says.
    append(&c_in, "c after\n");
    append(&a_in, "a after\n");
    append(&d_in, "d after\n");
    assert_eq!(
        wait_records(&k.bootstrap(), "hup-c2", 1),
        ["c after"],
        "c restarted on its new topic, from where it was"
    );
    assert_eq!(
        wait_records(&k.bootstrap(), "hup-a", 2),
        ["a first", "a after"],
        "a runs on with its old config"
    );
    assert_eq!(
        wait_records(&k.bootstrap(), "hup-d", 2),
        ["d first", "d after"]
    );
    assert_eq!(values(&k.bootstrap(), "hup-c1"), ["c first"]);

    // e kept producing through the reload.
    support::eventually(Duration::from_secs(30), || {
        (end(&k, "hup-e") > before + 20).then_some(())
    })
    .expect("e's record count grows after the reload");
    // A second SIGHUP with nothing changed changes nothing.
    w.signal(libc::SIGHUP);
    std::thread::sleep(Duration::from_millis(500));
    assert!(w.alive());
    stop.store(true, Ordering::SeqCst);
    let written = feeding.join().unwrap();
    let mut want = vec!["e first".to_string()];
    want.extend((0..written).map(|i| format!("e {i}")));
    let got = wait_records(&k.bootstrap(), "hup-e", want.len());
    assert_eq!(
        got,
        want,
        "e was never stopped or restarted: every line once, in order ({} s of reloads)",
        hup.elapsed().as_secs()
    );
    assert!(w.terminate().success());
}

/// What kconnect sent to the notify socket, each datagram with when it arrived.
fn datagrams(sock: &UnixDatagram, until: Instant, into: &mut Vec<(Instant, String)>) {
    let mut buf = [0u8; 4096];
    while Instant::now() < until {
        if let Ok(n) = sock.recv(&mut buf) {
            into.push((
                Instant::now(),
                String::from_utf8_lossy(&buf[..n]).into_owned(),
            ));
        }
    }
}

fn first(seen: &[(Instant, String)], pred: impl Fn(&str) -> bool) -> Option<usize> {
    seen.iter().position(|(_, m)| pred(m))
}

#[test]
fn systemd_hears_ready_status_watchdog_reloading_and_stopping() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let socket_path = root.join("notify.sock");
    let sock = UnixDatagram::bind(&socket_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let input = support::write(root, "in.txt", "x\n");
    write_connector(
        &connectors_dir(root),
        "src",
        &source_config(&input, "notify"),
    );
    write_connector(
        &connectors_dir(root),
        "bad",
        &sink_config(&root.join("missing/out.txt"), "notify"),
    );
    let socket = socket_path.display().to_string();
    // WATCHDOG_PID unset: the heartbeat is for whoever reads the variable (sd_watchdog_enabled).
    let w: Worker = start_with(
        root,
        &k.bootstrap(),
        &[("NOTIFY_SOCKET", &socket), ("WATCHDOG_USEC", "400000")],
        &["WATCHDOG_PID"],
    );
    let mut seen = Vec::new();
    datagrams(&sock, Instant::now() + Duration::from_secs(5), &mut seen);
    let ready = first(&seen, |m| m == "READY=1").expect("READY=1 after the start");
    let status = first(&seen[ready..], |m| {
        m == "STATUS=2 connectors: 1 running, 1 failed (bad task 0)"
    });
    assert!(
        status.is_some(),
        "the STATUS line names the failed task: {seen:?}"
    );
    let beats: Vec<Instant> = seen
        .iter()
        .filter(|(_, m)| m == "WATCHDOG=1")
        .map(|(t, _)| *t)
        .collect();
    // Every 200 ms (half of WATCHDOG_USEC) from the supervision loop: about 25 in 5 s.
    assert!(beats.len() >= 10, "{} heartbeats: {seen:?}", beats.len());
    let widest = beats.windows(2).map(|p| p[1] - p[0]).max().unwrap();
    assert!(
        widest < Duration::from_millis(400),
        "a gap of {widest:?} between heartbeats would make systemd kill the service"
    );

    seen.clear();
    w.signal(libc::SIGHUP);
    datagrams(&sock, Instant::now() + Duration::from_secs(2), &mut seen);
    let reloading = first(&seen, |m| m.starts_with("RELOADING=1\n")).expect("RELOADING=1");
    let usec = seen[reloading]
        .1
        .strip_prefix("RELOADING=1\nMONOTONIC_USEC=")
        .unwrap_or_else(|| panic!("RELOADING=1 with MONOTONIC_USEC: {seen:?}"));
    assert!(usec.parse::<u64>().unwrap() > 0, "{usec}");
    assert!(
        first(&seen[reloading..], |m| m == "READY=1").is_some(),
        "READY=1 once the reload is done: {seen:?}"
    );

    seen.clear();
    w.terminate();
    datagrams(
        &sock,
        Instant::now() + Duration::from_millis(300),
        &mut seen,
    );
    assert!(
        first(&seen, |m| m == "STOPPING=1").is_some(),
        "STOPPING=1 on SIGTERM: {seen:?}"
    );
}

/// The sample of `name{labels}` in a Prometheus text, or None.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn metrics_move_while_records_flow() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let input = support::write(root, "in.txt", "one\n");
    let w = start(root, &k.bootstrap(), &[]);
    w.run_source("scraped", &input, "scraped");
    let series =
        r#"kafka_connect_source_task_source_record_poll_total{connector="scraped",task="0"}"#;
    let scrape = || {
        let r = support::rest::http::request(&w.base, "GET", "/metrics", None).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.content_type.as_deref(), Some("text/plain"));
        r.body
    };
    let first_count = support::eventually(Duration::from_secs(30), || {
        sample(&scrape(), series).filter(|v| *v >= 1.0)
    })
    .unwrap_or_else(|| panic!("{series} never reached 1:\n{}", scrape()));
    let text = scrape();
    assert!(
        text.contains("# TYPE kafka_connect_source_task_source_record_poll_total counter"),
        "{text}"
    );
    for i in 0..20 {
        append(&input, &format!("more {i}\n"));
    }
    let second = support::eventually(Duration::from_secs(30), || {
        sample(&scrape(), series).filter(|v| *v >= first_count + 20.0)
    });
    assert!(
        second.is_some(),
        "{series} did not grow by the 20 lines appended:\n{}",
        scrape()
    );
    assert!(w.terminate().success());
}
