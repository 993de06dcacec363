//! The command line and configuration: bad inputs fail clearly and change no offsets,
//! `validate` reports every problem, config providers resolve secrets, JSON logs and usage
//! errors (`offsets` edits: tests/offsets_edits.rs).

mod support;

use serde_json::Value as Json;

use support::file_pipeline::{lines, offsets_json, run_once, source_conf};
use support::{kconnect, output_text, write};

#[test]
fn bad_inputs_fail_clearly_and_change_no_offsets() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let input = write(d.path(), "in.txt", &lines(0..10));
    let good = source_conf(d.path(), "good", &input, "bad-inputs");
    let cases = [
        (
            "malformed.json",
            "{\"name\": \"x\", \"connector.class\": ",
            "not valid JSON",
        ),
        (
            "noname.properties",
            "connector.class=FileStreamSource\ntopic=t\n",
            "has no name",
        ),
        (
            "unknown.json",
            "{\"name\":\"u\",\"connector.class\":\"com.example.NoSuchConnector\",\"topic\":\"t\"}",
            "unknown connector class",
        ),
    ];
    for (file, text, expect) in cases {
        let bad = write(d.path(), file, text);
        let o = run_once(d.path(), &k.bootstrap(), "offsets", &[&good, &bad]);
        assert_eq!(o.status.code(), Some(1), "{file}: {}", output_text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(file) && err.contains(expect), "{file}: {err}");
    }
    // Nothing ran, so nothing was committed.
    assert!(offsets_json(d.path(), "offsets").is_empty());

    // An unreachable broker: retried, then a clear failure naming the address.
    let dead = format!("127.0.0.1:{}", support::free_port());
    let o = kconnect(d.path())
        .env("KCONNECT_BROKER_WAIT_MS", "2000")
        .args(["run", "--once", "-b", &dead, "--offsets", "offsets"])
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", output_text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cannot reach Kafka") && err.contains(&dead),
        "{err}"
    );
    assert!(offsets_json(d.path(), "offsets").is_empty());
}

#[test]
fn validate_reports_every_problem_with_file_and_key() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "a.json",
        r#"{"name":"dup","connector.class":"FileStreamSource","topic":"t","batch.sise":"5"}"#,
    );
    write(
        d.path(),
        "b.properties",
        "name=dup\nconnector.class=FileStreamSink\ntopics=t\ntasks.max=zero\n",
    );
    write(
        d.path(),
        "c.json",
        r#"{"name":"c","connector.class":"FileStreamSorce","topic":"t"}"#,
    );
    write(
        d.path(),
        "d.json",
        r#"{"name":"d","connector.class":"FileStreamSink","topics":"t","errors.tolerance":"some","connection.password":"hunter2","value.converter":"JsonConvert"}"#,
    );
    let o = kconnect(d.path()).args(["validate", "."]).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", output_text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    for expect in [
        "a.json: batch.sise: unknown setting batch.sise",
        "did you mean batch.size?",
        "b.properties: name: duplicate connector name \"dup\"",
        "b.properties: tasks.max: Invalid value zero",
        "c.json: connector.class: unknown connector class FileStreamSorce; did you mean FileStreamSource?",
        "d.json: errors.tolerance: Invalid value some",
        "d.json: value.converter",
        "did you mean JsonConverter?",
    ] {
        assert!(out.contains(expect), "missing {expect:?} in:\n{out}");
    }
    assert!(!out.contains("hunter2"), "a secret was printed:\n{out}");
    let good = tempfile::tempdir().unwrap();
    write(
        good.path(),
        "ok.json",
        r#"{"name":"ok","connector.class":"FileStreamSource","topic":"t"}"#,
    );
    let o = kconnect(good.path())
        .args(["validate", "."])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
}

/// Connect 4.x's framework keys: version requirements met or refused with Connect's message,
/// exactly-once settings refused (they would be accepted and not honoured), the rest accepted.
#[test]
fn connect_4_framework_keys_are_honoured_or_refused() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "met.json",
        r#"{"name":"met","connector.class":"FileStreamSource","topic":"t",
            "connector.plugin.version":"[4.0,5.0)","tasks.max.enforce":"false","config.action.reload":"none",
            "value.converter":"org.apache.kafka.connect.storage.StringConverter","value.converter.plugin.version":"4.3.0",
            "transforms":"r","transforms.r.type":"RegexRouter","transforms.r.regex":"t","transforms.r.replacement":"u",
            "transforms.r.plugin.version":"latest","transaction.boundary":"poll"}"#,
    );
    let o = kconnect(d.path()).args(["validate", "."]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
    let bad = tempfile::tempdir().unwrap();
    write(
        bad.path(),
        "old.json",
        r#"{"name":"old","connector.class":"FileStreamSource","topic":"t","connector.plugin.version":"4.2.0",
            "transforms":"r","transforms.r.type":"RegexRouter","transforms.r.regex":"t","transforms.r.replacement":"u",
            "transforms.r.plugin.version":"[4.4,)"}"#,
    );
    write(
        bad.path(),
        "eos.json",
        r#"{"name":"eos","connector.class":"FileStreamSource","topic":"t","exactly.once.support":"required",
            "transaction.boundary":"interval","transaction.boundary.interval.ms":"500"}"#,
    );
    let o = kconnect(bad.path())
        .args(["validate", "."])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", output_text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    for expect in [
        "old.json: connector.plugin.version: Plugin org.apache.kafka.connect.file.FileStreamSourceConnector not found that matches the version range [4.2.0,4.2.0], available versions: [4.3.0]",
        "old.json: transforms.r.plugin.version: Plugin org.apache.kafka.connect.transforms.RegexRouter not found that matches the version range [4.4,)",
        "eos.json: exactly.once.support: Invalid value required",
        "eos.json: transaction.boundary: Invalid value interval",
        "eos.json: transaction.boundary.interval.ms: Invalid value 500",
    ] {
        assert!(out.contains(expect), "missing {expect:?} in:\n{out}");
    }
    // The worker's requirement holds for connectors that use the worker's converter.
    let w = tempfile::tempdir().unwrap();
    write(
        w.path(),
        "worker.properties",
        "value.converter.plugin.version=4.2.0\n",
    );
    write(
        w.path(),
        "own.json",
        r#"{"name":"own","connector.class":"FileStreamSource","topic":"t","value.converter":"StringConverter"}"#,
    );
    let o = kconnect(w.path())
        .args(["validate", "--worker", "worker.properties", "own.json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
    write(
        w.path(),
        "worker.json",
        r#"{"name":"worker","connector.class":"FileStreamSource","topic":"t"}"#,
    );
    let o = kconnect(w.path())
        .args(["validate", "--worker", "worker.properties", "worker.json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", output_text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("value.converter.plugin.version: the worker's Plugin org.apache.kafka.connect.json.JsonConverter not found"), "{}", output_text(&o));
}

#[test]
fn config_providers_resolve_secrets_from_env_and_files() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let input = write(d.path(), "in.txt", &lines(0..3));
    write(
        d.path(),
        "secrets.properties",
        &format!("input.file={}\n", input.display()),
    );
    let worker = write(
        d.path(),
        "worker.properties",
        "config.providers=env,file\n\
         config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider\n\
         config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider\n",
    );
    let src = write(
        d.path(),
        "src.json",
        &format!(
            r#"{{"name":"p","connector.class":"FileStreamSource","file":"${{file:{}/secrets.properties:input.file}}","topic":"${{env:KCONNECT_TEST_TOPIC}}","topic.creation.default.partitions":"1","topic.creation.default.replication.factor":"1"}}"#,
            d.path().display()
        ),
    );
    let o = kconnect(d.path())
        .env("KCONNECT_TEST_TOPIC", "from-env")
        .args([
            "run",
            "--once",
            "-b",
            &k.bootstrap(),
            "--offsets",
            "offsets",
            "--worker",
        ])
        .arg(&worker)
        .arg(&src)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", output_text(&o));
    assert_eq!(
        support::kafka::consume_all(&k.bootstrap(), "from-env").len(),
        3
    );

    // Without the providers declared, the reference is reported, not silently used as-is.
    let o = kconnect(d.path())
        .env("KCONNECT_TEST_TOPIC", "x")
        .args(["validate"])
        .arg(&src)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", output_text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("config provider 'env'"));
}

#[test]
fn json_logs_and_usage_errors() {
    let d = tempfile::tempdir().unwrap();
    let bad = write(
        d.path(),
        "bad.json",
        r#"{"name":"x","connector.class":"NoSuchThing"}"#,
    );
    let o = kconnect(d.path())
        .args(["run", "--once", "--log-format", "json"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", output_text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for l in &lines {
        let j: Json = serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        assert!(j["level"].is_string() && j["timestamp"].is_string(), "{l}");
    }
    assert!(lines
        .iter()
        .any(|l| l.contains("unknown connector class NoSuchThing")));
    let o = kconnect(d.path())
        .args(["run", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", output_text(&o));
}
