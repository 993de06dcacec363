//! kconnect's AvroConverter against Confluent's AvroConverter 7.0.16: for every case of
//! tests/fixtures/avro/goldens.jsonl (written by scripts/gen-avro-goldens with the real
//! converter), the same registered schema text, the same bytes, and the same Connect data read
//! back from Confluent's bytes. Runs without Java.

use std::collections::BTreeMap;

use kconnect::convert::avro::registry::Registry;
use kconnect::convert::json::{JsonConverter, JsonOptions};
use kconnect::convert::{find_converter, Converter};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn json_converter() -> JsonConverter {
    JsonConverter::new(JsonOptions {
        schemas_enable: true,
        decimal_numeric: false,
        replace_null_with_default: true,
        cache_size: 100,
    })
}

fn avro(scope: &str, config: &serde_json::Value, is_key: bool) -> Box<dyn Converter> {
    let mut cfg: BTreeMap<String, String> = config
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    cfg.insert("schema.registry.url".into(), format!("mock://{scope}"));
    let plugin = find_converter("io.confluent.connect.avro.AvroConverter").expect("listed");
    (plugin.create)(&cfg, is_key).unwrap_or_else(|p| panic!("{}: {}", p.key, p.message))
}

struct Case {
    line: serde_json::Value,
}

fn cases() -> Vec<Case> {
    include_str!("fixtures/avro/goldens.jsonl")
        .lines()
        .map(|l| Case {
            line: serde_json::from_str(l).unwrap(),
        })
        .collect()
}

#[test]
fn writes_the_schemas_and_bytes_confluent_writes() {
    let mut failures = Vec::new();
    let mut converters: BTreeMap<String, Box<dyn Converter>> = BTreeMap::new();
    for c in cases() {
        let l = &c.line;
        let name = l["case"].as_str().unwrap();
        // Records of one multi-record case share a converter and a registry, as in Java.
        let scope = format!("write-{}", name.split('#').next().unwrap());
        let is_key = l["is_key"].as_bool().unwrap();
        let topic = l["topic"].as_str().unwrap();
        let conv = converters
            .entry(scope.clone())
            .or_insert_with(|| avro(&scope, &l["config"], is_key));
        let input = serde_json::to_vec(&l["input"]).unwrap();
        let (schema, value) = json_converter().to_connect(topic, Some(&input)).unwrap();
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
                    .schema_by_id(id, None)
                    .unwrap();
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

#[test]
fn reads_what_confluent_writes() {
    let mut failures = Vec::new();
    for c in cases() {
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
        for earlier in cases() {
            let e = &earlier.line;
            let en = e["case"].as_str().unwrap();
            if en.split('#').next().unwrap() != base || e["schema"].is_null() {
                continue;
            }
            reg.register(&subject, e["schema"].as_str().unwrap(), false)
                .unwrap();
            if en == name {
                break;
            }
        }
        let mut conv = avro(&scope, &l["config"], is_key);
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

#[test]
fn is_listed_as_a_converter() {
    let p = find_converter("AvroConverter").expect("alias");
    assert_eq!(p.desc.class, "io.confluent.connect.avro.AvroConverter");
}
