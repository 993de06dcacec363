//! kconnect's Kafka clients over TLS, through a TLS-terminating proxy in front of Tansu (the
//! only address the broker advertises is the proxy's, so nothing reaches it in plaintext):
//! the worker's own check, topic creation, source producers, sink consumers and the dead
//! letter queue, configured as Kafka Connect is; and failures that say what to change.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::{kconnect, output_text, write, TlsKafka};

fn lines(n: std::ops::Range<usize>) -> String {
    n.map(|i| format!("line {i}\n")).collect()
}

fn source_conf(
    dir: &Path,
    name: &str,
    input: &Path,
    topic: &str,
    extra: &[(&str, String)],
) -> PathBuf {
    let mut config = serde_json::json!({
        "connector.class": "FileStreamSource",
        "file": input.display().to_string(),
        "topic": topic,
        "topic.creation.default.partitions": 2,
        "topic.creation.default.replication.factor": 1,
    });
    for (k, v) in extra {
        config[*k] = serde_json::Value::String(v.clone());
    }
    write(
        dir,
        &format!("{name}.json"),
        &serde_json::json!({"name": name, "config": config}).to_string(),
    )
}

fn sink_conf(
    dir: &Path,
    name: &str,
    output: &Path,
    topic: &str,
    extra: &[(&str, String)],
) -> PathBuf {
    let mut config = serde_json::json!({
        "connector.class": "FileStreamSink",
        "file": output.display().to_string(),
        "topics": topic,
    });
    for (k, v) in extra {
        config[*k] = serde_json::Value::String(v.clone());
    }
    write(
        dir,
        &format!("{name}.json"),
        &serde_json::json!({"name": name, "config": config}).to_string(),
    )
}

fn run_once(dir: &Path, worker: &Path, files: &[&Path]) -> std::process::Output {
    let mut c = kconnect(dir);
    c.args(["run", "--once", "--offsets", "offsets", "--worker"])
        .arg(worker);
    for f in files {
        c.arg(f);
    }
    c.output().unwrap()
}

/// Partition count of a topic, read over TLS.
/// A worker config whose own connection uses TLS with `ca`, plus `extra` lines.
fn tls_worker(dir: &Path, t: &TlsKafka, ca: &str, extra: &str) -> PathBuf {
    write(
        dir,
        "worker.properties",
        &format!(
            "bootstrap.servers={}\nsecurity.protocol=SSL\nssl.ca.location={ca}\n{extra}",
            t.bootstrap()
        ),
    )
}

fn partitions(t: &TlsKafka, topic: &str) -> usize {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let mut cfg = rdkafka::ClientConfig::new();
    cfg.set("bootstrap.servers", t.bootstrap());
    for (k, v) in t.client_settings() {
        cfg.set(k, v);
    }
    let c: BaseConsumer = cfg.create().unwrap();
    let md = c
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    md.topics()[0].partitions().len()
}

/// Connect's worker file for a TLS cluster: top-level settings for the worker's own and admin
/// clients, prefixed copies for producers and consumers. The consumer's copy is written the
/// Java way, a PEM truststore, as Connect users have it.
#[test]
fn pipeline_over_tls_with_connect_style_worker_settings() {
    let t = support::tansu_tls();
    let d = tempfile::tempdir().unwrap();
    let ca = t.ca.display().to_string();
    let worker = write(
        d.path(),
        "worker.properties",
        &format!(
            "bootstrap.servers={b}\n\
             security.protocol=SSL\n\
             ssl.ca.location={ca}\n\
             producer.security.protocol=SSL\n\
             producer.ssl.ca.location={ca}\n\
             consumer.security.protocol=SSL\n\
             consumer.ssl.truststore.type=PEM\n\
             consumer.ssl.truststore.location={ca}\n\
             consumer.ssl.endpoint.identification.algorithm=https\n",
            b = t.bootstrap()
        ),
    );
    let input = write(d.path(), "in.txt", &lines(0..300));
    let output = d.path().join("out.txt");
    let src = source_conf(d.path(), "tls-src", &input, "tls-lines", &[]);
    let sink = sink_conf(
        d.path(),
        "tls-sink",
        &output,
        "tls-lines",
        &[(
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter".into(),
        )],
    );
    let o = run_once(d.path(), &worker, &[&src]);
    assert!(o.status.success(), "{}", output_text(&o));
    // Created by kconnect's admin client (topic.creation.*), over TLS.
    assert_eq!(partitions(&t, "tls-lines"), 2);
    let o = run_once(d.path(), &worker, &[&sink]);
    assert!(o.status.success(), "{}", output_text(&o));
    let mut got: Vec<String> = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    got.sort_by_key(|l| l[5..].parse::<usize>().unwrap());
    let want: Vec<String> = lines(0..300).lines().map(String::from).collect();
    assert_eq!(got, want);
    assert!(t.proxy.handshakes.load(std::sync::atomic::Ordering::SeqCst) > 0);
    assert_eq!(
        t.proxy
            .failed_handshakes
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}

/// The same with the TLS settings in each connector's `*.override.*` (the worker keeps only
/// the top-level ones for its own connection), including a sink's dead letter queue, whose
/// topic is created by the admin client and written by its own producer.
#[test]
fn pipeline_over_tls_with_per_connector_overrides_and_a_dead_letter_queue() {
    let t = support::tansu_tls();
    let d = tempfile::tempdir().unwrap();
    let ca = t.ca.display().to_string();
    let worker = tls_worker(d.path(), &t, &ca, "");
    let tls = |role: &str| {
        vec![
            (
                format!("{role}.override.security.protocol"),
                "SSL".to_string(),
            ),
            (format!("{role}.override.ssl.ca.location"), ca.clone()),
        ]
    };
    let input = write(d.path(), "in.txt", &lines(0..100));
    let p = tls("producer");
    let p: Vec<(&str, String)> = p.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let src = source_conf(d.path(), "src", &input, "over", &p);
    let o = run_once(d.path(), &worker, &[&src]);
    assert!(o.status.success(), "{}", output_text(&o));
    let settings = t.client_settings();
    let got = support::kafka::consume_all_with(&t.bootstrap(), &settings, "over");
    assert_eq!(got.len(), 100);

    // A sink with a dead letter queue: two good JSON records and one that is not JSON.
    support::kafka::create_topic_with(&t.bootstrap(), &settings, "mixed", 1);
    support::kafka::produce_with(
        &t.bootstrap(),
        &settings,
        "mixed",
        &[
            (None, Some(br#"{"n": 1}"#.as_slice()), vec![]),
            (None, Some(b"not json".as_slice()), vec![]),
            (None, Some(br#"{"n": 2}"#.as_slice()), vec![]),
        ],
    );
    let output = d.path().join("out.txt");
    let mut extra = tls("consumer");
    extra.extend(tls("producer"));
    extra.extend([
        (
            "value.converter".to_string(),
            "org.apache.kafka.connect.json.JsonConverter".to_string(),
        ),
        ("value.converter.schemas.enable".into(), "false".into()),
        ("errors.tolerance".into(), "all".into()),
        (
            "errors.deadletterqueue.topic.name".into(),
            "mixed-dlq".into(),
        ),
        (
            "errors.deadletterqueue.topic.replication.factor".into(),
            "1".into(),
        ),
    ]);
    let extra: Vec<(&str, String)> = extra.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let sink = sink_conf(d.path(), "sink", &output, "mixed", &extra);
    let o = run_once(d.path(), &worker, &[&sink]);
    assert!(o.status.success(), "{}", output_text(&o));
    let text = std::fs::read_to_string(&output).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    let dlq = support::kafka::consume_all_with(&t.bootstrap(), &settings, "mixed-dlq");
    assert_eq!(dlq.len(), 1);
    assert_eq!(dlq[0].value.as_deref(), Some(b"not json".as_slice()));
}

/// A CA that did not sign the broker's certificate: kconnect stops at once (not after the
/// whole broker wait) and says it is the certificate, which setting to change, and where.
#[test]
fn an_untrusted_certificate_fails_fast_naming_the_setting() {
    let t = support::tansu_tls();
    let d = tempfile::tempdir().unwrap();
    let ca = t.ca.display().to_string();
    let other = t.other_ca.display().to_string();
    let input = write(d.path(), "in.txt", &lines(0..10));
    let src = source_conf(d.path(), "src", &input, "untrusted", &[]);

    // The worker's own connection.
    let worker = tls_worker(
        d.path(),
        &t,
        &other,
        &format!("producer.security.protocol=SSL\nproducer.ssl.ca.location={other}\n"),
    );
    fails_fast_saying(
        d.path(),
        &worker,
        &src,
        Duration::from_secs(12),
        &[
            "certificate verify failed",
            "ssl.ca.location",
            "top-level",
            &t.bootstrap(),
        ],
    );

    // The worker trusts the broker, the producer does not: the task fails, naming
    // producer.ssl.ca.location, long before delivery.timeout.ms.
    let worker = tls_worker(
        d.path(),
        &t,
        &ca,
        &format!("producer.security.protocol=SSL\nproducer.ssl.ca.location={other}\n"),
    );
    fails_fast_saying(
        d.path(),
        &worker,
        &src,
        Duration::from_secs(20),
        &[
            "producer of connector src",
            "certificate verify failed",
            "producer.ssl.ca.location",
        ],
    );

    // Likewise a sink's consumer.
    let worker = tls_worker(
        d.path(),
        &t,
        &ca,
        &format!("consumer.security.protocol=SSL\nconsumer.ssl.ca.location={other}\n"),
    );
    let sink = sink_conf(
        d.path(),
        "sink",
        &d.path().join("out.txt"),
        "untrusted",
        &[],
    );
    fails_fast_saying(
        d.path(),
        &worker,
        &sink,
        Duration::from_secs(20),
        &[
            "consumer of connector sink",
            "certificate verify failed",
            "consumer.ssl.ca.location",
        ],
    );
}

/// A `--once` run of `connector` that fails (exit 3) within `within`, its output naming each
/// of `wants`.
fn fails_fast_saying(
    dir: &Path,
    worker: &Path,
    connector: &Path,
    within: Duration,
    wants: &[&str],
) {
    let start = Instant::now();
    let o = run_once(dir, worker, &[connector]);
    let text = output_text(&o);
    assert_eq!(o.status.code(), Some(3), "{text}");
    assert!(start.elapsed() < within, "took too long: {text}");
    for want in wants {
        assert!(text.contains(want), "missing {want:?}: {text}");
    }
}

/// Worker settings that leave producers and consumers in plaintext while the worker itself
/// uses TLS: `validate` warns (as Connect would silently connect them in plaintext), and a
/// plaintext client against the TLS listener fails with a hint at security.protocol.
#[test]
fn top_level_tls_without_prefixed_copies_is_called_out() {
    let t = support::tansu_tls();
    let d = tempfile::tempdir().unwrap();
    let ca = t.ca.display().to_string();
    let worker = tls_worker(d.path(), &t, &ca, "");
    let input = write(d.path(), "in.txt", &lines(0..10));
    let src = source_conf(d.path(), "src", &input, "plain", &[]);
    let o = kconnect(d.path())
        .args(["validate", "--worker"])
        .arg(&worker)
        .arg(&src)
        .output()
        .unwrap();
    let text = output_text(&o);
    assert!(o.status.success(), "{text}");
    assert!(
        text.contains("producer.security.protocol") && text.contains("PLAINTEXT"),
        "{text}"
    );

    let o = kconnect(d.path())
        .env("KCONNECT_BROKER_WAIT_MS", "3000")
        .args(["run", "--once", "--offsets", "offsets", "--worker"])
        .arg(&worker)
        .arg(&src)
        .output()
        .unwrap();
    let text = output_text(&o);
    assert_eq!(o.status.code(), Some(3), "{text}");
    assert!(text.contains("security.protocol"), "{text}");
}
