//! An offsets store on a disk that cannot take writes: the worker stops with exit 3 and a
//! message naming the store and what to do, no offset moves past a record that was not
//! delivered, and once the disk takes writes again the next run loses nothing.
//!
//! A full disk is made with RLIMIT_FSIZE 0 on the worker (every write to a file fails with
//! EFBIG, as ENOSPC would), which works for root too, where chmod stops nothing. A read-only
//! directory is made with chmod when not root; as root the same limit stands in for it.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::file_pipeline::{lines, lines_before, offsets_json, source_conf};
use support::{eventually, kconnect, output_text, write};

/// SIGXFSZ would kill a process writing past RLIMIT_FSIZE; ignored, the write fails with
/// EFBIG, which is what a full disk looks like to it (ENOSPC).
fn ignore_sigxfsz(c: &mut Command) {
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        c.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
}

fn no_more_file_writes(pid: u32) {
    let none = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a valid rlimit for our own child.
    let rc = unsafe {
        libc::prlimit(
            pid as libc::pid_t,
            libc::RLIMIT_FSIZE,
            &none,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
}

fn kafka_lines(bootstrap: &str, topic: &str) -> std::collections::HashMap<usize, usize> {
    let mut seen = std::collections::HashMap::new();
    for m in support::kafka::consume_all(bootstrap, topic) {
        let v: serde_json::Value = serde_json::from_slice(m.value.as_deref().unwrap()).unwrap();
        let i = v["payload"].as_str().unwrap()["line ".len()..]
            .parse()
            .unwrap();
        *seen.entry(i).or_default() += 1;
    }
    seen
}

fn committed_position(dir: &Path) -> usize {
    offsets_json(dir, "offsets")
        .iter()
        .find(|e| e["connector"] == "src")
        .and_then(|e| e["offset"]["position"].as_u64())
        .unwrap_or(0) as usize
}

#[test]
fn a_full_disk_stops_the_worker_with_exit_3_and_loses_nothing() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let input = write(d.path(), "in.txt", &lines(0..1000));
    let src = source_conf(d.path(), "src", &input, "t");
    let worker = write(
        d.path(),
        "worker.properties",
        "offset.flush.interval.ms=100\n",
    );
    let mut cmd = kconnect(d.path());
    cmd.args([
        "run",
        "-b",
        &k.bootstrap(),
        "--offsets",
        "offsets",
        "--worker",
    ])
    .arg(&worker)
    .arg(&src)
    // A pipe, not a file: the limit would stop the log too.
    .stderr(Stdio::piped());
    ignore_sigxfsz(&mut cmd);
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
            .join("\n")
    });
    let first = eventually(Duration::from_secs(60), || {
        // Tansu reports the first offset of the last batch as the end: any is enough.
        (support::kafka::end_offset(&k.bootstrap(), "t") > 0).then_some(())
    });
    assert!(first.is_some(), "the first lines never reached Kafka");
    // Committed every 100 ms: the first lines are in the store before the disk fills.
    std::thread::sleep(Duration::from_millis(1000));
    no_more_file_writes(child.id());
    std::fs::OpenOptions::new()
        .append(true)
        .open(&input)
        .unwrap()
        .write_all(lines(1000..2000).as_bytes())
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the worker kept running on a full disk");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = reader.join().unwrap();
    let store = d.path().join("offsets");
    assert_eq!(status.code(), Some(3), "{log}");
    assert!(
        log.contains(&format!("offsets store {}", store.display()))
            || log.contains("offsets store offsets"),
        "the message names the store: {log}"
    );
    assert!(
        log.contains("free space or make") && log.contains("stopping the worker"),
        "{log}"
    );

    // No offset past what Kafka has.
    let text = std::fs::read_to_string(&input).unwrap();
    let committed = lines_before(&text, committed_position(d.path()));
    let in_kafka = kafka_lines(&k.bootstrap(), "t");
    assert!(
        committed > 0,
        "the first lines were committed before the disk filled"
    );
    for i in 0..committed {
        assert!(
            in_kafka.contains_key(&i),
            "line {i} committed, not in Kafka"
        );
    }

    // With space again, the next run delivers the rest: nothing lost.
    let o = support::kconnect::once(d.path(), &k.bootstrap(), "offsets", [&src])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", output_text(&o));
    let in_kafka = kafka_lines(&k.bootstrap(), "t");
    for i in 0..2000 {
        assert!(in_kafka.contains_key(&i), "line {i} lost");
    }
}

#[test]
fn an_offsets_directory_that_cannot_be_written_stops_the_run_at_once() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let input = write(d.path(), "in.txt", &lines(0..100));
    let src = source_conf(d.path(), "src", &input, "t");
    let o = support::kconnect::once(d.path(), &k.bootstrap(), "offsets", [&src])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", output_text(&o));
    let before = offsets_json(d.path(), "offsets");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&input)
        .unwrap()
        .write_all(lines(100..200).as_bytes())
        .unwrap();

    let store = d.path().join("offsets");
    let root = unsafe { libc::geteuid() } == 0;
    let mut cmd = support::kconnect::once(d.path(), &k.bootstrap(), "offsets", [&src]);
    let chmod = |mode: &str| {
        let st = Command::new("chmod")
            .args(["-R", mode])
            .arg(&store)
            .status()
            .unwrap();
        assert!(st.success());
    };
    if root {
        eprintln!("running as root, where chmod stops no write: RLIMIT_FSIZE 0 instead");
        ignore_sigxfsz(&mut cmd);
        // SAFETY: setrlimit is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                let none = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                libc::setrlimit(libc::RLIMIT_FSIZE, &none);
                Ok(())
            });
        }
    } else {
        chmod("a-w");
    }
    let o = cmd.output().unwrap();
    if !root {
        chmod("u+w");
    }
    let text = output_text(&o);
    assert_eq!(o.status.code(), Some(3), "{text}");
    assert!(
        text.contains("offsets store offsets")
            && text.contains("free space or make offsets writable"),
        "{text}"
    );
    assert_eq!(offsets_json(d.path(), "offsets"), before, "no offset moved");
    let o = support::kconnect::once(d.path(), &k.bootstrap(), "offsets", [&src])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", output_text(&o));
    let in_kafka = kafka_lines(&k.bootstrap(), "t");
    for i in 0..200 {
        assert!(in_kafka.contains_key(&i), "line {i} lost");
    }
}
