//! Whole-pipeline validation: `kconnect validate` (and `run`) warn when a sink in the same
//! files reads a topic a source writes in a format the sink cannot read, naming both
//! connectors, the topic, both converters and the fix, and say nothing for pairs that match.
//! The analysis itself is unit-tested in src/runtime/pipeline_check.rs.

mod support;

use std::path::Path;
use std::process::Output;

use support::{kconnect, output_text, write};

const PG: &str = r#"{"name":"pg","config":{"connector.class":"io.debezium.connector.postgresql.PostgresConnector",
    "database.hostname":"127.0.0.1","database.user":"postgres","database.dbname":"postgres",
    "table.include.list":"public.customers","topic.prefix":"dbserver1"}}"#;

fn validate(dir: &Path) -> (Output, String) {
    let o = kconnect(dir).args(["validate", "."]).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    (o, out)
}

/// The classic pipeline of Connect's documentation (Debezium with the worker's default JSON
/// with schemas, an Elasticsearch sink reading without them, and the legacy keys of the
/// config often seen beside it) validates, with a warning for each thing that will not work
/// as the file says.
#[test]
fn the_classic_debezium_to_elasticsearch_pipeline_is_warned_about() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "pg.json", PG);
    write(
        d.path(),
        "es.json",
        r#"{"name":"es","config":{"connector.class":"io.confluent.connect.elasticsearch.ElasticsearchSinkConnector",
        "topics":"dbserver1.public.customers","connection.url":"http://localhost:9200",
        "type.name":"customer_event","schema.enable":"false",
        "key.converter":"org.apache.kafka.connect.json.JsonConverter",
        "value.converter":"org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable":"false","value.converter.schemas.enable":"false"}}"#,
    );
    let (o, out) = validate(d.path());
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
    for expect in [
        "warning: ./es.json: type.name: type.name was removed",
        "warning: ./es.json: schema.enable: schema.enable is not a setting",
        "warning: ./es.json: value.converter: connector es reads dbserver1.public.customers with JsonConverter with schemas.enable=false (its own), but connector pg (./pg.json) writes it with JsonConverter with schemas.enable=true (the worker's): each record arrives as the whole {\"schema\",\"payload\"} envelope; to make them match, set value.converter.schemas.enable=true in ./es.json",
        "warning: ./es.json: key.converter: connector es reads dbserver1.public.customers with JsonConverter with schemas.enable=false (its own)",
        "set key.converter.schemas.enable=true in ./es.json",
        "2 connector(s) valid",
    ] {
        assert!(out.contains(expect), "missing {expect:?} in:\n{out}");
    }
}

/// Each legacy key alone is warned about, and the file still validates.
#[test]
fn legacy_elasticsearch_keys_are_warned_about_one_by_one() {
    for (key, expect) in [
        (
            "type.name",
            "warning: ./es.json: type.name: type.name was removed in version 11 of the Elasticsearch connector",
        ),
        (
            "schema.enable",
            "warning: ./es.json: schema.enable: schema.enable is not a setting of this connector; converters take value.converter.schemas.enable",
        ),
    ] {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            "es.json",
            &format!(
                r#"{{"name":"es","connector.class":"ElasticsearchSink","topics":"t",
                "connection.url":"http://localhost:9200","{key}":"x"}}"#
            ),
        );
        let (o, out) = validate(d.path());
        assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
        assert!(out.contains(expect), "missing {expect:?} in:\n{out}");
        assert_eq!(out.matches("warning:").count(), 1, "{out}");
    }
}

/// A pair that matches says nothing: both without schemas, a ByteArrayConverter sink, and the
/// shipped connectors.d/.
#[test]
fn matching_pairs_say_nothing() {
    let no_schemas = r#""value.converter":"org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable":"false","key.converter":"org.apache.kafka.connect.storage.StringConverter""#;
    for (source_extra, sink_extra) in [
        (no_schemas, no_schemas),
        (
            r#""tasks.max":"1""#,
            r#""value.converter":"org.apache.kafka.connect.converters.ByteArrayConverter""#,
        ),
    ] {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            "src.json",
            &format!(
                r#"{{"name":"src","connector.class":"FileStreamSource","file":"in.txt","topic":"lines",{source_extra}}}"#
            ),
        );
        write(
            d.path(),
            "sink.json",
            &format!(
                r#"{{"name":"sink","connector.class":"FileStreamSink","file":"out.txt","topics":"lines",{sink_extra}}}"#
            ),
        );
        let (o, out) = validate(d.path());
        assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
        assert!(!out.contains("warning"), "{out}");
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let o = kconnect(repo)
        .args(["validate", "connectors.d"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains("warning"),
        "{}",
        output_text(&o)
    );
}

/// A RegexRouter on the source renames its topics, and the check follows it; `run` logs the
/// same warning before it starts.
#[test]
fn a_routed_topic_is_followed_and_run_warns_too() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "src.json",
        r#"{"name":"src","connector.class":"FileStreamSource","file":"in.txt","topic":"lines",
        "transforms":"r","transforms.r.type":"RegexRouter","transforms.r.regex":"lines",
        "transforms.r.replacement":"routed-lines"}"#,
    );
    write(
        d.path(),
        "sink.json",
        r#"{"name":"sink","connector.class":"FileStreamSink","file":"out.txt","topics":"routed-lines",
        "value.converter":"org.apache.kafka.connect.json.JsonConverter","value.converter.schemas.enable":"false"}"#,
    );
    let (o, out) = validate(d.path());
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
    let expect = "warning: ./sink.json: value.converter: connector sink reads routed-lines with JsonConverter with schemas.enable=false (its own), but connector src (./src.json) writes it with JsonConverter with schemas.enable=true (the worker's)";
    assert!(out.contains(expect), "missing {expect:?} in:\n{out}");
    // `run` says it too, before it waits for a broker that is not there.
    write(d.path(), "in.txt", "");
    let o = kconnect(d.path())
        .args([
            "run",
            "--once",
            "-b",
            "127.0.0.1:1",
            "--offsets",
            "offsets",
            ".",
        ])
        .env("KCONNECT_BROKER_WAIT_MS", "500")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(
            "connector sink reads routed-lines with JsonConverter with schemas.enable=false"
        ),
        "{}",
        output_text(&o)
    );
}
