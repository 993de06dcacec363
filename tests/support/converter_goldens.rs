//! Replaying a converter's goldens (made with Confluent's real converter by
//! scripts/gen-avro-goldens and scripts/gen-protobuf-goldens): the same registered schema text
//! and bytes for every Connect input, and the same Connect data read back from Confluent's
//! bytes. Runs without Java.

use std::collections::BTreeMap;

use kconnect::convert::json::{JsonConverter, JsonOptions};
use kconnect::convert::schema_registry::{Registry, SchemaKind};
use kconnect::convert::{find_converter, Converter};

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

pub fn json_converter() -> JsonConverter {
    JsonConverter::new(JsonOptions {
        schemas_enable: true,
        decimal_numeric: false,
        replace_null_with_default: true,
        cache_size: 100,
    })
}

/// The converter `class` on the in-process registry `mock://scope`, with a case's settings.
pub fn converter(
    class: &str,
    scope: &str,
    config: &serde_json::Value,
    is_key: bool,
) -> Box<dyn Converter> {
    let mut cfg: BTreeMap<String, String> = config
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    cfg.insert("schema.registry.url".into(), format!("mock://{scope}"));
    let plugin = find_converter(class).expect("listed");
    (plugin.create)(&cfg, is_key).unwrap_or_else(|p| panic!("{}: {}", p.key, p.message))
}

struct Case {
    line: serde_json::Value,
}

fn cases(goldens: &str) -> Vec<Case> {
    goldens
        .lines()
        .map(|l| Case {
            line: serde_json::from_str(l).unwrap(),
        })
        .collect()
}

/// Every case's Connect input written by kconnect's `class`: Confluent's bytes, and the
/// schema text Confluent registered under the subject. Cases with a `proto` are messages of a
/// hand-written schema, which only the read check replays.
pub fn writes_what_confluent_writes(class: &str, kind: SchemaKind, goldens: &str) {
    let mut failures = Vec::new();
    let mut converters: BTreeMap<String, Box<dyn Converter>> = BTreeMap::new();
    for c in cases(goldens) {
        let l = &c.line;
        let name = l["case"].as_str().unwrap();
        if l.get("proto").is_some() {
            continue;
        }
        // Records of one multi-record case share a converter and a registry, as in Java.
        let scope = format!("write-{}", name.split('#').next().unwrap());
        let is_key = l["is_key"].as_bool().unwrap();
        let topic = l["topic"].as_str().unwrap();
        let conv = converters
            .entry(scope.clone())
            .or_insert_with(|| converter(class, &scope, &l["config"], is_key));
        let input = serde_json::to_vec(&l["input"]).unwrap();
        // JsonConverter writes NaN and infinities as strings it cannot read back: those cases
        // are checked by reading Confluent's bytes only.
        let Ok((schema, value)) = json_converter().to_connect(topic, Some(&input)) else {
            assert!(
                input.windows(3).any(|w| w == b"NaN"),
                "{name}: input does not read"
            );
            continue;
        };
        let mut out = Vec::new();
        let r = conv.from_connect(topic, schema.as_ref(), &value, &mut out);
        if let Some(err) = l.get("error") {
            if r.is_ok() {
                failures.push(format!(
                    "{name}: Confluent fails ({err}), kconnect wrote {}",
                    hex(&out)
                ));
            }
            continue;
        }
        let written = match r {
            Ok(w) => w,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        match l["hex"].as_str() {
            None => {
                if written {
                    failures.push(format!(
                        "{name}: expected a null payload, got {}",
                        hex(&out)
                    ));
                }
            }
            Some(want) => {
                if hex(&out) != want {
                    failures.push(format!(
                        "{name}: bytes\n  kconnect  {}\n  confluent {want}",
                        hex(&out)
                    ));
                }
                let id = l["id"].as_i64().unwrap() as i32;
                let text = Registry::Mock(scope.clone())
                    .fetch_by_id(kind, id, None)
                    .unwrap()
                    .schema;
                let want_text = l["schema"].as_str().unwrap();
                if text != want_text {
                    failures.push(format!(
                        "{name}: schema\n  kconnect  {text}\n  confluent {want_text}"
                    ));
                }
                let subjects = l["subjects"].as_str().unwrap();
                let subject = subjects.trim_matches(|c| c == '[' || c == ']');
                if Registry::Mock(scope.clone()).latest(subject).is_err() {
                    failures.push(format!("{name}: nothing registered under {subject}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Confluent's bytes of every case read by kconnect's `class`: the same Connect schema and
/// value, as JsonConverter with schemas prints them.
pub fn reads_what_confluent_writes(class: &str, kind: SchemaKind, goldens: &str) {
    let mut failures = Vec::new();
    for c in cases(goldens) {
        let l = &c.line;
        let name = l["case"].as_str().unwrap();
        let Some(hexed) = l["hex"].as_str() else {
            continue;
        };
        let is_key = l["is_key"].as_bool().unwrap();
        let topic = l["topic"].as_str().unwrap();
        // Confluent's registry as it was after the record: the schema under its id, and
        // every earlier schema of a multi-record case before it.
        let scope = format!("read-{name}");
        let reg = Registry::Mock(scope.clone());
        let subject = l["subjects"]
            .as_str()
            .unwrap()
            .trim_matches(|c| c == '[' || c == ']')
            .to_string();
        let base = name.split('#').next().unwrap();
        for earlier in cases(goldens) {
            let e = &earlier.line;
            let en = e["case"].as_str().unwrap();
            if en.split('#').next().unwrap() != base || e["schema"].is_null() {
                continue;
            }
            reg.register_as(kind, &subject, e["schema"].as_str().unwrap(), false)
                .unwrap();
            if en == name {
                break;
            }
        }
        let mut conv = converter(class, &scope, &l["config"], is_key);
        let got = conv.to_connect(topic, Some(&unhex(hexed)));
        if let Some(err) = l.get("read_error") {
            if got.is_ok() {
                failures.push(format!(
                    "{name}: Confluent cannot read it back ({err}), kconnect did"
                ));
            }
            continue;
        }
        let (schema, value) = match got {
            Ok(sv) => sv,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        let mut out = Vec::new();
        json_converter()
            .from_connect(topic, schema.as_ref(), &value, &mut out)
            .unwrap();
        let got: serde_json::Value = serde_json::from_slice(&out).unwrap();
        if got != l["read"] {
            failures.push(format!(
                "{name}: read back\n  kconnect  {got}\n  confluent {}",
                l["read"]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
