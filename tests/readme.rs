//! The configuration reference (docs/reference.md, linked from the README) must be what the
//! plugin registry says, and every plugin must appear in it and in `kconnect plugins`.

use std::process::Command;

fn plugins(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kconnect"))
        .arg("plugins")
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn readme_reference_is_generated_from_the_registry() {
    let reference =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/reference.md")).unwrap();
    let begin = "<!-- BEGIN PLUGIN REFERENCE -->";
    let end = "<!-- END PLUGIN REFERENCE -->";
    let a = reference.find(begin).expect("reference start marker") + begin.len();
    let b = reference.find(end).expect("reference end marker");
    assert_eq!(
        reference[a..b].trim(),
        plugins(&["--markdown"]).trim(),
        "docs/reference.md is out of date: run scripts/update-reference"
    );
}

#[test]
fn plugins_json_lists_every_kind_with_settings() {
    let json: serde_json::Value = serde_json::from_str(&plugins(&["--json"])).unwrap();
    let list = json.as_array().unwrap();
    let find = |class: &str| {
        list.iter()
            .find(|p| p["class"] == class)
            .unwrap_or_else(|| panic!("{class} missing"))
    };
    let src = find("org.apache.kafka.connect.file.FileStreamSourceConnector");
    assert_eq!(src["type"], "source");
    assert!(src["aliases"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == "FileStreamSource"));
    let topic = src["config"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "batch.size")
        .unwrap();
    assert_eq!(topic["default"], "2000");
    assert_eq!(
        find("org.apache.kafka.connect.file.FileStreamSinkConnector")["type"],
        "sink"
    );
    assert_eq!(
        find("org.apache.kafka.connect.json.JsonConverter")["type"],
        "converter"
    );
    assert_eq!(
        find("org.apache.kafka.connect.storage.StringConverter")["type"],
        "converter"
    );
    assert_eq!(
        find("org.apache.kafka.connect.converters.ByteArrayConverter")["type"],
        "converter"
    );
    // Each plugin reports the version of the implementation it matches, as Connect reports
    // the version of the plugin's jar.
    for (class, project, version) in [
        (
            "org.apache.kafka.connect.file.FileStreamSourceConnector",
            "Apache Kafka Connect",
            "4.3.0",
        ),
        (
            "org.apache.kafka.connect.json.JsonConverter",
            "Apache Kafka Connect",
            "4.3.0",
        ),
        (
            "io.debezium.connector.postgresql.PostgresConnector",
            "Debezium",
            "3.6.3.Final",
        ),
        (
            "io.debezium.transforms.ExtractNewRecordState",
            "Debezium",
            "3.6.3.Final",
        ),
        (
            "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector",
            "Confluent kafka-connect-elasticsearch",
            "15.1.3",
        ),
        (
            "io.confluent.connect.jdbc.JdbcSinkConnector",
            "Confluent kafka-connect-jdbc",
            "10.9.7",
        ),
    ] {
        assert_eq!(find(class)["version"], version, "{class}");
        assert_eq!(find(class)["matches"], project, "{class}");
    }
    let text = plugins(&[]);
    assert!(text.starts_with(concat!("kconnect ", env!("CARGO_PKG_VERSION"), ";")));
    assert!(text.contains(
        "org.apache.kafka.connect.file.FileStreamSinkConnector (FileStreamSink)  matches Apache Kafka Connect 4.3.0"
    ));
    assert!(text.contains(
        "io.debezium.connector.postgresql.PostgresConnector (PostgresConnector)  matches Debezium 3.6.3.Final"
    ));
}
