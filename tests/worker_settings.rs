//! The worker file's settings as Connect's standalone worker defines them: every key of the
//! real StandaloneConfig (tests/fixtures/worker-config, made by scripts/gen-worker-keys) is
//! known to kconnect, and the ones it cannot honour are refused with a message naming them,
//! never accepted and ignored. Also the client settings that name Java classes, and Connect's
//! policy on which client settings a connector may override.

mod support;

use std::path::Path;

use support::{kconnect, output_text, write};

const SOURCE: &str = "name=src\nconnector.class=FileStreamSource\nfile=/tmp/in.txt\ntopic=t\n";

/// `kconnect validate --worker w.properties c.properties`: exit code and output.
fn validate(dir: &Path, worker: &str, connector: &str) -> (Option<i32>, String) {
    write(dir, "w.properties", worker);
    write(dir, "c.properties", connector);
    let o = kconnect(dir)
        .args(["validate", "--worker", "w.properties", "c.properties"])
        .output()
        .unwrap();
    (o.status.code(), output_text(&o))
}

/// Every StandaloneConfig key is defined by kconnect (listed by `kconnect plugins --worker`
/// style docs in docs/reference.md) or, for `ssl.*`, read by the HTTPS listener and the
/// worker's clients.
#[test]
fn every_key_of_connects_standalone_worker_is_known() {
    let keys =
        std::fs::read_to_string("tests/fixtures/worker-config/standalone-config-keys.tsv").unwrap();
    let reference = std::fs::read_to_string("docs/reference.md").unwrap();
    let mut unknown = Vec::new();
    for line in keys.lines() {
        let name = line.split('\t').next().unwrap();
        if name.starts_with("ssl.") {
            continue;
        }
        if !reference.contains(&format!("`{name}`")) {
            unknown.push(name.to_string());
        }
    }
    assert!(
        unknown.is_empty(),
        "worker keys of Connect that kconnect does not define: {unknown:?}"
    );
}

#[test]
fn settings_kconnect_cannot_honour_are_refused_by_name() {
    let d = tempfile::tempdir().unwrap();
    let base = "bootstrap.servers=127.0.0.1:9\n";
    for (line, key) in [
        ("metric.reporters=com.example.Reporter", "metric.reporters"),
        ("metrics.sample.window.ms=10000", "metrics.sample.window.ms"),
        ("access.control.allow.origin=*", "access.control.allow.origin"),
        (
            "response.http.headers.config=set X-Frame-Options: DENY",
            "response.http.headers.config",
        ),
        ("admin.listeners=http://127.0.0.1:9093", "admin.listeners"),
        (
            "connector.client.config.override.policy=com.example.Policy",
            "connector.client.config.override.policy",
        ),
        (
            "producer.interceptor.classes=io.confluent.monitoring.clients.interceptor.MonitoringProducerInterceptor",
            "producer.interceptor.classes",
        ),
    ] {
        let (code, text) = validate(d.path(), &format!("{base}{line}\n"), SOURCE);
        assert_eq!(code, Some(1), "{line}: {text}");
        assert!(text.contains(key), "{line}: {text}");
    }
    // Connect's defaults, written out, are fine.
    let (code, text) = validate(
        d.path(),
        &format!(
            "{base}metric.reporters=org.apache.kafka.common.metrics.JmxReporter\nmetrics.num.samples=2\n\
             topic.tracking.enable=false\nplugin.discovery=hybrid_warn\nconnector.client.config.override.policy=All\n"
        ),
        SOURCE,
    );
    assert_eq!(code, Some(0), "{text}");
}

#[test]
fn a_connector_may_override_only_what_the_worker_policy_allows() {
    let d = tempfile::tempdir().unwrap();
    let connector = format!(
        "{SOURCE}producer.override.acks=1\nproducer.override.security.protocol=PLAINTEXT\n"
    );
    let worker = |policy: &str| {
        format!("bootstrap.servers=127.0.0.1:9\nconnector.client.config.override.policy={policy}\n")
    };
    let (code, text) = validate(d.path(), &worker("All"), &connector);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = validate(d.path(), &worker("None"), &connector);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("producer.override.acks")
            && text.contains(
                "The 'None' policy does not allow 'acks' to be overridden in the connector configuration."
            )
            && text.contains("'security.protocol'"),
        "{text}"
    );
    let (code, text) = validate(d.path(), &worker("Principal"), &connector);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("The 'Principal' policy does not allow 'acks'")
            && !text.contains("'security.protocol'"),
        "{text}"
    );
    let (code, text) = validate(
        d.path(),
        &worker("Principal"),
        &format!("{SOURCE}consumer.override.interceptor.classes=a.B\n"),
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("cannot run them"), "{text}");
}
