//! Every setting of every Kafka Connect and Debezium plugin kconnect ships is either listed by
//! `kconnect plugins` with the real plugin's type and default, or refused by `validate` with a
//! message naming it; none is accepted and ignored. The key lists are the real ConfigDefs
//! (`tests/fixtures/reference/<class>.tsv`, made by `scripts/gen-reference-keys` from the
//! reference runtime). PostgresConnector, whose keys carry parameters in their names, has its
//! own test in debezium_settings.rs.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value as Json;

/// Reference keys kconnect leaves out on purpose, with the reason.
const EXCLUDED: &[(&str, &str)] = &[(
    "converter.type",
    "set by the worker (key, value or header) when it configures a converter, not by users",
)];

struct RefKey {
    class: String,
    name: String,
    ty: String,
    default: String,
}

fn reference_keys() -> Vec<RefKey> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "tsv")
            || path.to_string_lossy().contains("PostgresConnector")
        {
            continue;
        }
        for l in std::fs::read_to_string(&path).unwrap().lines() {
            let f: Vec<&str> = l.split('\t').collect();
            if f.len() < 4 {
                continue;
            }
            out.push(RefKey {
                class: f[0].into(),
                name: f[1].into(),
                ty: f[2].to_ascii_lowercase(),
                default: f[3].into(),
            });
        }
    }
    assert!(out.len() > 90, "the fixtures are missing: {}", out.len());
    out
}

/// `kconnect plugins --json`: (kind, class) to the plugin's keys by name.
fn listed() -> BTreeMap<(String, String), BTreeMap<String, Json>> {
    let out = support::kconnect(Path::new("."))
        .args(["plugins", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let all: Json = serde_json::from_slice(&out.stdout).unwrap();
    all.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let keys = p["config"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| (k["name"].as_str().unwrap().to_string(), k.clone()))
                .collect();
            (
                (
                    p["type"].as_str().unwrap().to_string(),
                    p["class"].as_str().unwrap().to_string(),
                ),
                keys,
            )
        })
        .collect()
}

/// A FileStreamSource config that uses `class` (of `kind`) with `key` set.
fn config_using(kind: &str, class: &str, key: &str) -> Json {
    let mut cfg = serde_json::json!({
        "connector.class": "FileStreamSource", "topic": "t", "file": "/dev/null",
    });
    let c = cfg.as_object_mut().unwrap();
    let mut set = |k: String, v: &str| {
        c.insert(k, Json::String(v.into()));
    };
    match kind {
        "converter" => {
            set("value.converter".into(), class);
            set(format!("value.converter.{key}"), "x");
        }
        "header_converter" => {
            set("header.converter".into(), class);
            set(format!("header.converter.{key}"), "x");
        }
        "transformation" => {
            set("transforms".into(), "t");
            set("transforms.t.type".into(), class);
            set(format!("transforms.t.{key}"), "x");
        }
        "predicate" => {
            set("predicates".into(), "p");
            set("predicates.p.type".into(), class);
            set(format!("predicates.p.{key}"), "x");
        }
        _ => {
            set("connector.class".into(), class);
            set("topics".into(), "t");
            set(key.into(), "x");
        }
    }
    serde_json::json!({"name": "c", "config": cfg})
}

#[test]
fn every_reference_key_is_listed_with_its_type_and_default_or_refused() {
    let listed = listed();
    let mut problems = Vec::new();
    let mut checked = 0;
    for k in reference_keys() {
        if EXCLUDED.iter().any(|(n, _)| *n == k.name) {
            continue;
        }
        let plugins: Vec<_> = listed
            .iter()
            .filter(|((_, class), _)| *class == k.class)
            .collect();
        assert!(
            !plugins.is_empty(),
            "{} is not in kconnect plugins",
            k.class
        );
        for ((kind, _), keys) in plugins {
            checked += 1;
            let Some(def) = keys.get(&k.name) else {
                let dir = tempfile::tempdir().unwrap();
                let cfg = config_using(kind, &k.class, &k.name);
                support::write(dir.path(), "c.json", &cfg.to_string());
                let out = support::kconnect(dir.path())
                    .args(["validate", "."])
                    .output()
                    .unwrap();
                let text = support::output_text(&out);
                if out.status.code() != Some(1) || !text.contains(&k.name) {
                    problems.push(format!(
                        "{kind} {}: {} is neither listed nor refused: {text}",
                        k.class, k.name
                    ));
                }
                continue;
            };
            if def["type"] != k.ty.as_str() {
                problems.push(format!(
                    "{kind} {}: {}: type {} but the reference's is {}",
                    k.class, k.name, def["type"], k.ty
                ));
            }
            // The reference prints a list default as [a, b] and a required key as <required>;
            // kconnect lists them as a, b and null.
            let want = k.default.trim_start_matches('[').trim_end_matches(']');
            let want = if want == "<required>" { "null" } else { want };
            let got = def["default"].as_str().unwrap_or("null");
            if got != want {
                problems.push(format!(
                    "{kind} {}: {}: default {got} but the reference's is {want}",
                    k.class, k.name
                ));
            }
        }
    }
    assert!(checked > 90, "only {checked} keys checked");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
