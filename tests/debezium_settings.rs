//! Every setting of Debezium 3.6.3's PostgreSQL connector is either implemented with Debezium's
//! type and default, or refused by `validate` and `run` with a message naming it; none is
//! accepted and ignored. The key list is the real connector's ConfigDef
//! (`tests/fixtures/reference/*.tsv`, made by `scripts/gen-reference-keys`).

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use serde_json::Value as Json;

const CLASS: &str = "io.debezium.connector.postgresql.PostgresConnector";

struct RefKey {
    name: String,
    ty: String,
    default: String,
}

fn reference_keys() -> Vec<RefKey> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/reference/io.debezium.connector.postgresql.PostgresConnector.tsv"
    );
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            RefKey {
                name: f[1].into(),
                ty: f[2].to_ascii_lowercase(),
                default: f[3].into(),
            }
        })
        .collect()
}

/// kconnect's own list of the connector's settings, as `kconnect plugins --json` prints it.
fn listed_keys() -> BTreeMap<String, Json> {
    let out = support::kconnect(Path::new("."))
        .args(["plugins", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let all: Json = serde_json::from_slice(&out.stdout).unwrap();
    let pg = all
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["class"] == CLASS)
        .expect("PostgresConnector in kconnect plugins");
    pg["config"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["name"].as_str().unwrap().to_string(), k.clone()))
        .collect()
}

fn base_config() -> serde_json::Map<String, Json> {
    serde_json::json!({
        "connector.class": CLASS,
        "topic.prefix": "dbserver1",
        "database.hostname": "127.0.0.1",
        "database.port": "1",
        "database.user": "postgres",
        "database.dbname": "postgres",
    })
    .as_object()
    .unwrap()
    .clone()
}

fn write_connector(dir: &Path, extra: &[(&str, &str)]) {
    let mut cfg = base_config();
    for (k, v) in extra {
        cfg.insert(k.to_string(), Json::String(v.to_string()));
    }
    let body = serde_json::json!({"name": "pg", "config": cfg});
    support::write(dir, "connectors.d/pg.json", &body.to_string());
}

fn validate(extra: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    write_connector(dir.path(), extra);
    support::kconnect(dir.path())
        .arg("validate")
        .arg(dir.path().join("connectors.d"))
        .output()
        .unwrap()
}

/// A value of the reference key's name for keys that carry a parameter in their name.
fn instance(name: &str) -> String {
    name.replace("(d+)", "5")
        .replace("([^.]+)", "SHA-256")
        .replace("(.+)", "CzQMA0cB5K")
}

#[test]
fn every_debezium_key_is_listed_with_its_type_and_default_or_refused() {
    let listed = listed_keys();
    let mut problems = Vec::new();
    for k in reference_keys() {
        if k.name.contains('(') {
            if listed.contains_key(&k.name) {
                // Implemented: tests/postgres_source_columns.rs checks it against Debezium.
                continue;
            }
            let key = instance(&k.name);
            let out = validate(&[(&key, "public.customers.ssn")]);
            let text = support::output_text(&out);
            if out.status.code() != Some(1) || !text.contains(&format!("{key}:")) {
                problems.push(format!("{key} is neither implemented nor refused: {text}"));
            }
            continue;
        }
        let Some(def) = listed.get(&k.name) else {
            problems.push(format!("{} is not listed by kconnect plugins", k.name));
            continue;
        };
        if def["type"] != k.ty.as_str() {
            problems.push(format!(
                "{}: type {} but Debezium's is {}",
                k.name, def["type"], k.ty
            ));
        }
        // Debezium prints a list default as [a, b]; kconnect as a, b. snapshot.fetch.size has
        // no default in the ConfigDef; Debezium then fetches 10240 rows, which kconnect states.
        let want = k.default.trim_start_matches('[').trim_end_matches(']');
        let want = want.strip_prefix("class ").unwrap_or(want);
        let got = def["default"].as_str().unwrap_or("null");
        if got != want && k.name != "snapshot.fetch.size" {
            problems.push(format!(
                "{}: default {got} but Debezium's is {want}",
                k.name
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Column settings kconnect cannot run (a hash algorithm it lacks, custom converters) are refused by `validate` and by `run`, which then reads nothing:
/// running without a masking setting would write the column in clear. (The implemented
/// masking and truncation settings are checked in tests/postgres_source_columns.rs.)
#[test]
fn masking_and_truncation_are_refused_not_ignored() {
    for key in [
        "column.mask.hash.MD2.with.salt.CzQMA0cB5K",
        "column.mask.hash.v2.SHA-512/256.with.salt.CzQMA0cB5K",
        "converters",
    ] {
        let out = validate(&[(key, "public.customers.ssn")]);
        let text = support::output_text(&out);
        assert_eq!(out.status.code(), Some(1), "{key}: {text}");
        assert!(text.contains(&format!("{key}:")), "{key}: {text}");
        assert!(text.contains("kconnect"), "{key}: {text}");

        let dir = tempfile::tempdir().unwrap();
        write_connector(dir.path(), &[(key, "public.customers.ssn")]);
        let out = support::kconnect(dir.path())
            .args(["run", "--once", "-b", "127.0.0.1:1", "--offsets"])
            .arg(dir.path().join("offsets"))
            .arg(dir.path().join("connectors.d"))
            .output()
            .unwrap();
        let text = support::output_text(&out);
        assert_eq!(out.status.code(), Some(1), "run with {key}: {text}");
        assert!(text.contains(&format!("{key}:")), "run with {key}: {text}");
    }
}

/// Values Debezium accepts and kconnect does not implement yet are refused, naming what works.
#[test]
fn unimplemented_values_are_refused_and_inert_keys_warned_about() {
    for (key, value, honoured) in [
        ("snapshot.locking.mode", "custom", "shared"),
        (
            "snapshot.max.threads.multiplier.public.customers",
            "2",
            "set snapshot.max.threads.multiplier for every table",
        ),
        (
            "topic.naming.strategy",
            "com.example.MyTopicNamingStrategy",
            "SchemaTopicNamingStrategy",
        ),
        (
            "event.processing.failure.handling.mode",
            "sometimes",
            "fail, warn, skip, ignore",
        ),
    ] {
        let out = validate(&[(key, value)]);
        let text = support::output_text(&out);
        assert_eq!(out.status.code(), Some(1), "{key}={value}: {text}");
        assert!(
            text.contains(&format!("{key}:")) && text.contains(honoured),
            "{key}={value}: {text}"
        );
    }
    // Post processors other than Debezium's reselect one, and options it does not have.
    for (settings, named) in [
        (
            vec![
                ("post.processors", "p"),
                ("post.processors.p.type", "com.example.MyPostProcessor"),
            ],
            "ReselectColumnsPostProcessor",
        ),
        (
            vec![
                ("post.processors", "p"),
                (
                    "p.type",
                    "io.debezium.processors.reselect.ReselectColumnsPostProcessor",
                ),
                ("p.reselect.columns", "public.t:c"),
            ],
            "p.reselect.columns",
        ),
    ] {
        let out = validate(&settings);
        let text = support::output_text(&out);
        assert_eq!(out.status.code(), Some(1), "{settings:?}: {text}");
        assert!(text.contains(named), "{settings:?}: {text}");
    }
    let out = validate(&[
        ("binary.handling.mode", "bytes"),
        ("snapshot.max.threads", "1"),
        ("include.schema.comments", "true"),
        ("event.processing.failure.handling.mode", "warn"),
        ("post.processors", "reselector"),
        (
            "post.processors.reselector.type",
            "io.debezium.processors.reselect.ReselectColumnsPostProcessor",
        ),
        (
            "post.processors.reselector.reselect.columns.include.list",
            "public.t:c",
        ),
    ]);
    assert!(out.status.success(), "{}", support::output_text(&out));
    let out = validate(&[
        ("internal.advanced.metrics.enable", "true"),
        ("custom.metric.tags", "a=b"),
    ]);
    let text = support::output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("internal.advanced.metrics.enable has no effect in kconnect"),
        "{text}"
    );
    assert!(
        text.contains("custom.metric.tags has no effect in kconnect"),
        "{text}"
    );
}
