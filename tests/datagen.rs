//! The Datagen source end to end through a real broker (Tansu): quickstarts register, through
//! the AvroConverter, the schemas Confluent's Datagen makes a registry hold (golden made with
//! Confluent's AvroData, `scripts/gen-avro-goldens datagen`); `iterations` counts across
//! restarts; a seed makes the same records again; a SIGKILL mid-run loses no iteration and the
//! records replayed after it are the same records.

mod support;

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use support::file_pipeline::{run_once, spawn_run};
use support::kafka::{consume_all, Msg};
use support::{output_text, schema_registry, write};

fn connector(dir: &std::path::Path, name: &str, config: serde_json::Value) -> std::path::PathBuf {
    let mut cfg = serde_json::json!({
        "connector.class": "io.confluent.kafka.connect.datagen.DatagenConnector",
        "max.interval": 0,
        "topic.creation.default.partitions": 1,
        "topic.creation.default.replication.factor": 1,
    });
    for (k, v) in config.as_object().unwrap() {
        cfg[k] = v.clone();
    }
    write(
        dir,
        &format!("{name}.json"),
        &serde_json::json!({"name": name, "config": cfg}).to_string(),
    )
}

type KeyAndValue = (Option<Vec<u8>>, Option<Vec<u8>>);

fn iteration(m: &Msg) -> i64 {
    m.header("current.iteration").unwrap().parse().unwrap()
}

#[test]
fn quickstarts_register_the_schemas_confluents_datagen_registers() {
    let k = support::tansu();
    let reg = schema_registry();
    let d = tempfile::tempdir().unwrap();
    let golden = std::fs::read_to_string("tests/fixtures/datagen/registered.jsonl").unwrap();
    let mut files = Vec::new();
    let mut expected = BTreeMap::new();
    for line in golden.lines() {
        let g: serde_json::Value = serde_json::from_str(line).unwrap();
        let q = g["quickstart"].as_str().unwrap().to_string();
        files.push(connector(
            d.path(),
            &format!("gen-{q}"),
            serde_json::json!({
                "quickstart": q,
                "kafka.topic": format!("dg-{q}"),
                "iterations": 5,
                "random.seed": 1,
                "key.converter": "org.apache.kafka.connect.storage.StringConverter",
                "value.converter": "io.confluent.connect.avro.AvroConverter",
                "value.converter.schema.registry.url": reg.url,
            }),
        ));
        expected.insert(q, g["registered"].as_str().unwrap().to_string());
    }
    assert_eq!(expected.len(), 6);
    let refs: Vec<&std::path::Path> = files.iter().map(|p| p.as_path()).collect();
    let o = run_once(d.path(), &k.bootstrap(), "offsets", &refs);
    assert!(o.status.success(), "{}", output_text(&o));
    for (q, registered) in &expected {
        let topic = format!("dg-{q}");
        assert_eq!(
            reg.subject_versions(&format!("{topic}-value")),
            vec![registered.clone()],
            "{q}"
        );
        let msgs = consume_all(&k.bootstrap(), &topic);
        assert_eq!(msgs.len(), 5, "{q}");
        assert_eq!(
            msgs[0].value.as_ref().unwrap()[0],
            0,
            "{q}: Confluent's magic byte"
        );
        assert!(
            msgs.iter().all(|m| m.key.is_some()),
            "{q}: keyed by its field"
        );
    }
}

#[test]
fn iterations_count_across_restarts_and_a_seed_repeats_the_records() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let conf = |name: &str, topic: &str, iterations: i64| {
        connector(
            d.path(),
            name,
            serde_json::json!({
                "quickstart": "orders",
                "kafka.topic": topic,
                "iterations": iterations,
                "random.seed": 99,
                "value.converter": "org.apache.kafka.connect.json.JsonConverter",
                "value.converter.schemas.enable": false,
            }),
        )
    };
    let a = conf("orders-a", "dg-orders-a", 20);
    let run = |files: &[&std::path::Path]| {
        let o = run_once(d.path(), &k.bootstrap(), "offsets", files);
        assert!(o.status.success(), "{}", output_text(&o));
    };
    run(&[&a]);
    run(&[&a]); // already made its 20: nothing more
    assert_eq!(consume_all(&k.bootstrap(), "dg-orders-a").len(), 20);
    let a = conf("orders-a", "dg-orders-a", 30);
    run(&[&a]);
    let msgs = consume_all(&k.bootstrap(), "dg-orders-a");
    assert_eq!(msgs.len(), 30);
    let its: Vec<i64> = msgs.iter().map(iteration).collect();
    assert_eq!(its, (0..30).collect::<Vec<_>>());
    // A start after one that made records is the next generation, as Confluent's numbers them
    // (the run that made nothing committed nothing).
    assert_eq!(msgs[19].header("task.generation").as_deref(), Some("0"));
    assert_eq!(msgs[29].header("task.generation").as_deref(), Some("1"));
    let orderids: Vec<i64> = msgs
        .iter()
        .map(|m| {
            serde_json::from_slice::<serde_json::Value>(m.value.as_ref().unwrap()).unwrap()
                ["orderid"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(
        orderids,
        (0..30).collect::<Vec<_>>(),
        "orderid iterates from 0 across restarts"
    );

    // Another connector with the same seed makes the same 30 records in one run.
    let b = conf("orders-b", "dg-orders-b", 30);
    run(&[&b]);
    let again = consume_all(&k.bootstrap(), "dg-orders-b");
    let values = |m: &[Msg]| {
        m.iter()
            .map(|m| (m.key.clone(), m.value.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(values(&again), values(&msgs));
}

#[test]
fn a_sigkill_loses_no_iteration_and_replays_the_same_records() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let total = 20_000;
    let conf = connector(
        d.path(),
        "kill",
        serde_json::json!({
            "quickstart": "users",
            "kafka.topic": "dg-kill",
            "iterations": total,
            "random.seed": 5,
            "tasks.max": 2,
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        }),
    );
    let mut child = spawn_run(d.path(), &k.bootstrap(), 100, &conf, Stdio::null());
    support::eventually(Duration::from_secs(60), || {
        (support::kafka::end_offset(&k.bootstrap(), "dg-kill") > 5_000).then_some(())
    })
    .expect("records reach the topic");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let o = run_once(d.path(), &k.bootstrap(), "offsets", &[&conf]);
    assert!(o.status.success(), "{}", output_text(&o));

    let msgs = consume_all(&k.bootstrap(), "dg-kill");
    // Per task: every iteration there, and an iteration written twice is the same record.
    let mut seen: BTreeMap<(String, i64), KeyAndValue> = BTreeMap::new();
    let mut duplicates = 0;
    for m in &msgs {
        let key = (m.header("task.id").unwrap(), iteration(m));
        let rec = (m.key.clone(), m.value.clone());
        match seen.get(&key) {
            Some(prev) => {
                assert_eq!(prev, &rec, "iteration {key:?} replayed as another record");
                duplicates += 1;
            }
            None => {
                seen.insert(key, rec);
            }
        }
    }
    for task in ["0", "1"] {
        let n = seen.keys().filter(|(t, _)| t == task).count();
        assert_eq!(
            n, total as usize,
            "task {task} made every iteration once at least"
        );
    }
    let first: Vec<_> = seen.iter().filter(|((t, _), _)| t == "0").take(3).collect();
    let other: Vec<_> = seen.iter().filter(|((t, _), _)| t == "1").take(3).collect();
    assert_ne!(first[0].1, other[0].1, "two tasks make different records");
    eprintln!(
        "{} records, {duplicates} written twice after the kill",
        msgs.len()
    );
}

#[test]
fn a_once_run_of_an_endless_generator_is_refused_naming_iterations() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let conf = connector(
        d.path(),
        "endless",
        serde_json::json!({"quickstart": "users", "kafka.topic": "dg-endless"}),
    );
    let o = run_once(d.path(), &k.bootstrap(), "offsets", &[&conf]);
    let text = output_text(&o);
    assert_eq!(o.status.code(), Some(3), "{text}");
    assert!(text.contains("iterations is -1"), "{text}");
}
