//! Back-pressure (issue #16): while the system a task writes to is frozen, the task waits
//! instead of reading ahead into memory, and everything arrives once it thaws. The test
//! asserts memory, not time: the worker's RSS may grow by a bounded amount however much waits
//! upstream. `scripts/bench-stall` measures the same over minutes.

mod support;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use support::file_pipeline::{lines, source_conf};
use support::kafka::end_offset;
use support::{eventually, kconnect, noida_kafka, write};

/// How much the worker's RSS may grow while its target is frozen: the records a source may
/// have in flight (50,000) or a sink's prefetch (4 MB), a batch and allocator slack, far under
/// what waits upstream. With the source's bounds lifted (its in-flight limit and the
/// producer's queue), the freeze below grew the worker by 343 MB.
const GROWTH_LIMIT_MB: f64 = 48.0;

fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    kb / 1024.0
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: signalling a child process of this test by its pid.
    unsafe { libc::kill(pid as i32, sig) };
}

/// Appends `n` lines of about 100 bytes, numbered from `from`.
fn append_lines(path: &Path, from: usize, n: usize) {
    use std::io::Write;
    let mut f =
        std::io::BufWriter::new(std::fs::OpenOptions::new().append(true).open(path).unwrap());
    for i in from..from + n {
        writeln!(
            f,
            "{i:010} the quick brown fox jumps over the lazy dog, again and again and again"
        )
        .unwrap();
    }
    f.flush().unwrap();
}

fn spawn(dir: &Path, bootstrap: &str) -> Child {
    let conf = dir.join("connectors.d");
    std::fs::create_dir_all(&conf).unwrap();
    source_conf(&conf, "src", &dir.join("in.txt"), "bp");
    let log = std::fs::File::create(dir.join("kconnect.log")).unwrap();
    kconnect(dir)
        .args([
            "run",
            "-b",
            bootstrap,
            "--offsets",
            "offsets",
            "connectors.d",
        ])
        .env("KCONNECT_OFFSET_FLUSH_INTERVAL_MS", "500")
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap()
}

/// Freezes the broker under a running FileStream source, appends `mb` of lines while it is
/// frozen, and returns the worker's RSS growth during the freeze (peak minus the level just
/// before), after checking that every line arrived once the broker thawed.
fn growth_while_the_broker_is_frozen(mb: usize) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let kafka = noida_kafka();
    let bootstrap = kafka.bootstrap();
    write(dir.path(), "in.txt", &lines(0..1000));
    let mut worker = spawn(dir.path(), &bootstrap);
    assert!(
        eventually(Duration::from_secs(60), || (end_offset(&bootstrap, "bp")
            >= 1000)
            .then_some(()))
        .is_some(),
        "the source never started"
    );
    std::thread::sleep(Duration::from_secs(1));
    let before = rss_mb(worker.id());
    let broker = kafka.service.child.id();
    signal(broker, libc::SIGSTOP);
    let total = 1000 + mb * 10_000;
    append_lines(&dir.path().join("in.txt"), 1000, total - 1000);
    // Long enough for the source to read all of it several times over were nothing holding
    // it back (the debug build reads a few hundred thousand lines a second).
    let mut peak = before;
    let frozen = Instant::now();
    while frozen.elapsed() < Duration::from_secs(8) {
        peak = peak.max(rss_mb(worker.id()));
        std::thread::sleep(Duration::from_millis(100));
    }
    signal(broker, libc::SIGCONT);
    let arrived = eventually(Duration::from_secs(240), || {
        (end_offset(&bootstrap, "bp") >= total as i64).then_some(())
    });
    signal(worker.id(), libc::SIGTERM);
    let status = worker.wait().unwrap();
    let log = std::fs::read_to_string(dir.path().join("kconnect.log")).unwrap();
    assert!(
        arrived.is_some(),
        "{} of {total} lines in the topic after the thaw; log:\n{log}",
        end_offset(&bootstrap, "bp")
    );
    assert_eq!(status.code(), Some(0), "{log}");
    peak - before
}

#[test]
fn a_frozen_broker_holds_a_source_back_in_bounded_memory() {
    // 100 MB of lines wait in the file while the broker is frozen.
    let growth = growth_while_the_broker_is_frozen(100);
    println!("RSS growth while the broker was frozen: {growth:.1} MB");
    assert!(
        growth < GROWTH_LIMIT_MB,
        "the worker's RSS grew {growth:.1} MB while the broker was frozen (limit {GROWTH_LIMIT_MB} MB): something reads ahead without bound"
    );
}

#[test]
fn a_frozen_elasticsearch_holds_a_sink_back_in_bounded_memory() {
    // Tansu, which honours fetch.max.bytes (noida-db's broker answers a fetch with its whole
    // log, so a consumer's memory there follows the backlog whatever the client asks).
    let env = support::es_sink::env();
    let topic = "bp";
    let (records, size) = (60_000, 1000);
    let filler = "x".repeat(size);
    let batch: Vec<(Option<String>, Option<String>)> = (0..records)
        .map(|i| {
            (
                Some(format!("{{\"id\":{i}}}")),
                Some(format!("{{\"id\":{i},\"pad\":\"{filler}\"}}")),
            )
        })
        .collect();
    env.produce(topic, &batch[..1000]);
    env.connector(
        "es",
        topic,
        &env.es.url(),
        &[("key.ignore", "true"), ("max.retries", "2")],
    );
    let mut worker = env.spawn();
    let url = env.es.url();
    let count = |url: &str| {
        support::es::try_http(url, "POST", &format!("/{topic}/_refresh"), None).ok()?;
        let (_, c) = support::es::try_http(url, "GET", &format!("/{topic}/_count"), None).ok()?;
        c["count"].as_u64()
    };
    assert!(
        eventually(Duration::from_secs(60), || (count(&url)? >= 1000)
            .then_some(()))
        .is_some(),
        "the sink never started: {}",
        env.log()
    );
    std::thread::sleep(Duration::from_secs(1));
    let before = rss_mb(worker.id());
    let es = env.es.service.child.id();
    signal(es, libc::SIGSTOP);
    // 59 MB wait in the topic while Elasticsearch is frozen.
    env.produce(topic, &batch[1000..]);
    let mut peak = before;
    let frozen = Instant::now();
    while frozen.elapsed() < Duration::from_secs(8) {
        peak = peak.max(rss_mb(worker.id()));
        std::thread::sleep(Duration::from_millis(100));
    }
    signal(es, libc::SIGCONT);
    let arrived = eventually(Duration::from_secs(240), || {
        (count(&url)? >= records as u64).then_some(())
    });
    signal(worker.id(), libc::SIGTERM);
    let status = worker.wait().unwrap();
    assert!(
        arrived.is_some(),
        "{:?} of {records} documents after the thaw; log:\n{}",
        count(&url),
        env.log()
    );
    assert_eq!(status.code(), Some(0), "{}", env.log());
    let growth = peak - before;
    println!("RSS growth while Elasticsearch was frozen: {growth:.1} MB");
    assert!(
        growth < GROWTH_LIMIT_MB,
        "the worker's RSS grew {growth:.1} MB while Elasticsearch was frozen (limit {GROWTH_LIMIT_MB} MB): something reads ahead without bound"
    );
}
