//! `kconnect offsets`: edits are checked against the connector files and the shape the
//! connector reads; every refusal exits non-zero, says what is wrong and what to do, and
//! leaves the store as it was (read back after each).

mod support;

use std::path::Path;
use std::process::Output;

use serde_json::{json, Value as Json};

use support::file_pipeline::offsets_json;
use support::{kconnect, output_text, write};

fn offsets(dir: &Path, args: &[&str]) -> Output {
    kconnect(dir)
        .arg("offsets")
        .args(args)
        .args(["--offsets", "offsets"])
        .output()
        .unwrap()
}

fn set(dir: &Path, name: &str, p: &str, o: &str, extra: &[&str]) -> Output {
    let mut args = vec!["set", name, "--partition", p, "--offset", o];
    args.extend_from_slice(extra);
    offsets(dir, &args)
}

/// A FileStream source, a FileStream sink and a Debezium PostgreSQL source in connectors.d.
fn connectors(dir: &Path) {
    write(
        dir,
        "connectors.d/src.properties",
        "name=src\nconnector.class=FileStreamSource\nfile=/data/in.txt\ntopic=t\n",
    );
    write(
        dir,
        "connectors.d/sink.json",
        r#"{"name":"sink","connector.class":"FileStreamSink","topics":"t","file":"/tmp/out.txt"}"#,
    );
    write(
        dir,
        "connectors.d/pg.properties",
        "name=pg\nconnector.class=io.debezium.connector.postgresql.PostgresConnector\n\
         database.hostname=localhost\ndatabase.user=u\ndatabase.dbname=d\ntopic.prefix=shop\n",
    );
}

/// Runs a refused edit and checks its exit code, that stderr says `says`, and that the store
/// still holds exactly `before`.
fn refused(dir: &Path, o: Output, code: i32, says: &[&str], before: &[Json]) {
    let text = output_text(&o);
    assert_eq!(o.status.code(), Some(code), "{text}");
    let err = String::from_utf8_lossy(&o.stderr);
    for s in says {
        assert!(err.contains(s), "stderr lacks {s:?}: {text}");
    }
    assert_eq!(
        offsets_json(dir, "offsets"),
        before,
        "the store changed: {text}"
    );
}

#[test]
fn good_edits_are_stored_and_listed() {
    let d = tempfile::tempdir().unwrap();
    connectors(d.path());
    for (name, p, o) in [
        (
            "src",
            r#"{"filename":"/data/in.txt"}"#,
            r#"{"position":42}"#,
        ),
        (
            "sink",
            r#"{"kafka_topic":"t","kafka_partition":0}"#,
            r#"{"kafka_offset":7}"#,
        ),
        (
            "pg",
            r#"{"server":"shop"}"#,
            r#"{"lsn":100,"lsn_proc":100,"txId":5,"ts_usec":1,"snapshot":true,"last_snapshot_record":false}"#,
        ),
    ] {
        let out = set(d.path(), name, p, o, &[]);
        assert!(out.status.success(), "{}", output_text(&out));
    }
    let all = offsets_json(d.path(), "offsets");
    assert_eq!(all.len(), 3);
    let src = all.iter().find(|e| e["connector"] == "src").unwrap();
    assert_eq!(src["type"], "source");
    assert_eq!(src["offset"], json!({"position": 42}));
    let sink = all.iter().find(|e| e["connector"] == "sink").unwrap();
    assert_eq!(sink["type"], "sink");
    assert_eq!(
        sink["partition"],
        json!({"kafka_topic": "t", "kafka_partition": 0})
    );
    // null removes one partition's offset.
    let out = set(
        d.path(),
        "src",
        r#"{"filename":"/data/in.txt"}"#,
        "null",
        &[],
    );
    assert!(out.status.success(), "{}", output_text(&out));
    assert_eq!(offsets_json(d.path(), "offsets").len(), 2);
    let out = offsets(d.path(), &["reset", "pg"]);
    assert!(out.status.success(), "{}", output_text(&out));
    assert_eq!(offsets_json(d.path(), "offsets").len(), 1);
}

#[test]
fn edits_of_the_wrong_shape_or_for_unknown_connectors_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    connectors(dir);
    let out = set(
        dir,
        "src",
        r#"{"filename":"/data/in.txt"}"#,
        r#"{"position":1}"#,
        &[],
    );
    assert!(out.status.success(), "{}", output_text(&out));
    let before = offsets_json(dir, "offsets");
    assert_eq!(before.len(), 1);
    let sink_p = r#"{"kafka_topic":"t","kafka_partition":0}"#;

    // A connector that is in no connector file, and files that do not exist.
    let o = set(
        dir,
        "nope",
        r#"{"filename":"/data/in.txt"}"#,
        r#"{"position":1}"#,
        &[],
    );
    refused(
        dir,
        o,
        1,
        &[
            "no connector named nope",
            "pg, sink, src",
            "--force",
            "nothing was written",
        ],
        &before,
    );
    let o = set(
        dir,
        "src",
        r#"{"filename":"/data/in.txt"}"#,
        r#"{"position":1}"#,
        &["missing.d"],
    );
    refused(dir, o, 1, &["missing.d", "--force"], &before);

    // Sink partitions and offsets.
    for (p, says) in [
        (r#"{"kafka_topic":"t"}"#, "no \"kafka_partition\""),
        (r#"{"kafka_partition":0}"#, "no \"kafka_topic\""),
        (
            r#"{"kafka_topic":"t","kafka_partition":-1}"#,
            "no \"kafka_partition\" integer >= 0",
        ),
        (
            r#"{"kafka_topic":"t","kafka_partition":"0"}"#,
            "no \"kafka_partition\"",
        ),
        (
            r#"{"kafka_topic":"t","kafka_partition":0,"x":1}"#,
            "has key \"x\"",
        ),
        (r#"{"filename":"/data/in.txt"}"#, "no \"kafka_topic\""),
    ] {
        let o = set(dir, "sink", p, r#"{"kafka_offset":1}"#, &[]);
        refused(
            dir,
            o,
            1,
            &[
                "connector sink: the partition",
                says,
                "a sink's partition is",
            ],
            &before,
        );
    }
    for (off, says) in [
        (
            r#"{"kafka_offset":-1}"#,
            "\"kafka_offset\" is -1, where it must be an integer >= 0",
        ),
        (r#"{"kafka_offset":"7"}"#, "where it must be an integer"),
        (r#"{}"#, "lacks \"kafka_offset\""),
        (r#"{"kafka_offset":1,"position":2}"#, "has key \"position\""),
    ] {
        let o = set(dir, "sink", sink_p, off, &[]);
        refused(
            dir,
            o,
            1,
            &[
                "connector sink: the offset",
                says,
                "\"kafka_offset\": an integer >= 0",
            ],
            &before,
        );
    }

    // Source partitions: exactly what the connector's settings make.
    for (name, p, expected) in [
        ("src", r#"{"foo":"bar"}"#, r#"{"filename":"/data/in.txt"}"#),
        (
            "src",
            r#"{"filename":"/data/other.txt"}"#,
            r#"{"filename":"/data/in.txt"}"#,
        ),
        ("src", sink_p, r#"{"filename":"/data/in.txt"}"#),
        ("pg", r#"{"server":"other"}"#, r#"{"server":"shop"}"#),
    ] {
        let o = set(dir, name, p, r#"{"position":1,"lsn":1}"#, &[]);
        refused(
            dir,
            o,
            1,
            &["is not one this connector reads", expected],
            &before,
        );
    }
    // Source offsets: the keys the connector writes, with their types.
    for (name, p, off, says) in [
        (
            "src",
            r#"{"filename":"/data/in.txt"}"#,
            r#"{"foo":"bar"}"#,
            "has key \"foo\"",
        ),
        (
            "src",
            r#"{"filename":"/data/in.txt"}"#,
            r#"{"position":"1"}"#,
            "\"position\" is \"1\"",
        ),
        (
            "src",
            r#"{"filename":"/data/in.txt"}"#,
            r#"{}"#,
            "lacks \"position\"",
        ),
        (
            "pg",
            r#"{"server":"shop"}"#,
            r#"{"lsn_proc":5}"#,
            "lacks \"lsn\"",
        ),
        (
            "pg",
            r#"{"server":"shop"}"#,
            r#"{"lsn":5,"snapshot":"yes"}"#,
            "\"snapshot\" is \"yes\", where it must be true, false or one of INITIAL, BLOCKING",
        ),
        (
            "pg",
            r#"{"server":"shop"}"#,
            r#"{"lsn":5,"xmin":1}"#,
            "has key \"xmin\"",
        ),
    ] {
        let o = set(dir, name, p, off, &[]);
        refused(
            dir,
            o,
            1,
            &["the offset", says, "this connector's offset holds"],
            &before,
        );
    }

    // Not JSON objects: usage errors.
    let o = set(dir, "src", "not json", "{}", &[]);
    refused(dir, o, 2, &["--partition must be JSON"], &before);
    let o = set(dir, "src", r#"{"filename":"/data/in.txt"}"#, "[1]", &[]);
    refused(dir, o, 2, &["--offset must be a JSON object"], &before);

    // --force writes for a connector the files do not name; a sink's shape is still checked.
    let o = set(dir, "gone", sink_p, r#"{"kafka_offset":"x"}"#, &["--force"]);
    refused(dir, o, 1, &["where it must be an integer"], &before);
    let o = set(
        dir,
        "gone",
        r#"{"any":"thing"}"#,
        r#"{"k":1}"#,
        &["--force"],
    );
    assert!(o.status.success(), "{}", output_text(&o));
    assert_eq!(offsets_json(dir, "offsets").len(), 2);
}

#[test]
fn listing_or_resetting_an_unknown_connector_exits_1_and_names_what_is_stored() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    connectors(dir);
    let o = offsets(dir, &["list", "nope"]);
    refused(
        dir,
        o,
        1,
        &[
            "no offsets of connector nope in the offsets store offsets",
            "it holds no offsets",
        ],
        &[],
    );
    let out = set(
        dir,
        "src",
        r#"{"filename":"/data/in.txt"}"#,
        r#"{"position":3}"#,
        &[],
    );
    assert!(out.status.success(), "{}", output_text(&out));
    let before = offsets_json(dir, "offsets");
    let o = offsets(dir, &["list", "nope"]);
    refused(
        dir,
        o,
        1,
        &["no offsets of connector nope", "it holds offsets of src"],
        &before,
    );
    let o = offsets(dir, &["reset", "nope"]);
    refused(
        dir,
        o,
        1,
        &["no offsets of connector nope", "it holds offsets of src"],
        &before,
    );
    // A known name lists fine.
    let o = offsets(dir, &["list", "src"]);
    assert!(o.status.success(), "{}", output_text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("/data/in.txt"));
}
