use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::*;
use crate::api::{MetricsRegistry, NoProgress, OffsetReader, Waiting};

/// Offsets as the worker would hand them back: the last offset of each record given.
#[derive(Default)]
struct Offsets(Mutex<Option<SourceOffset>>);

impl OffsetReader for Offsets {
    fn offset(&self, _: &JsonMap<String, Json>) -> Result<Option<SourceOffset>, ConnectError> {
        Ok(self.0.lock().unwrap().clone())
    }
}

fn settings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut m: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    m.entry("kafka.topic".into()).or_insert("t".into());
    m.entry("max.interval".into()).or_insert("0".into());
    m
}

/// A `--once` task's context.
fn context(pairs: &[(&str, &str)], task_id: usize, offsets: Arc<Offsets>) -> SourceTaskContext {
    SourceTaskContext {
        connector: "gen".into(),
        task_id,
        config: settings(pairs),
        once: true,
        offsets,
        progress: Arc::new(NoProgress),
        stop: StopFlag::new(),
        dependency_wait: None,
        metrics: MetricsRegistry::default(),
        waiting: Waiting::default(),
        topic_readers: None,
    }
}

fn task(pairs: &[(&str, &str)], task_id: usize, offsets: Arc<Offsets>) -> Box<dyn SourceTask> {
    match create(context(pairs, task_id, offsets)) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    }
}

fn drain(t: &mut Box<dyn SourceTask>) -> Vec<SourceRecord> {
    let mut all = Vec::new();
    loop {
        match t.poll().unwrap() {
            Polled::Records(r) => all.extend(r),
            Polled::Finished => return all,
            Polled::Idle | Polled::Wait(_) => {}
        }
    }
}

fn values(records: &[SourceRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| format!("{:?} {:?}", r.record.key, r.record.value))
        .collect()
}

#[test]
fn every_quickstart_makes_records_keyed_by_its_field() {
    for q in quickstart::SHIPPED {
        let mut t = task(
            &[
                ("quickstart", q.name),
                ("iterations", "50"),
                ("random.seed", "7"),
            ],
            0,
            Arc::default(),
        );
        let records = drain(&mut t);
        assert_eq!(records.len(), 50, "{}", q.name);
        for r in &records {
            let Value::Struct(s) = &r.record.value else {
                panic!("{}: not a struct", q.name)
            };
            assert_eq!(Some(&r.record.key), s.get(q.keyfield), "{}", q.name);
        }
    }
}

#[test]
fn the_same_seed_makes_the_same_records_and_tasks_differ() {
    let run = |task_id| {
        let mut t = task(
            &[
                ("quickstart", "orders"),
                ("iterations", "20"),
                ("random.seed", "42"),
            ],
            task_id,
            Arc::default(),
        );
        values(&drain(&mut t))
    };
    assert_eq!(run(0), run(0));
    assert_ne!(run(0), run(1));
}

#[test]
fn a_restart_continues_from_the_offset() {
    let cfg = [
        ("quickstart", "pageviews"),
        ("iterations", "10"),
        ("random.seed", "3"),
    ];
    let whole = values(&drain(&mut task(&cfg, 0, Arc::default())));

    let store = Arc::new(Offsets::default());
    let mut first = task(&cfg, 0, store.clone());
    let Polled::Records(mut part) = first.poll().unwrap() else {
        panic!()
    };
    part.truncate(4);
    *store.0.lock().unwrap() = Some(part[3].offset.clone());
    assert_eq!(
        part[3].offset.get(CURRENT_ITERATION).unwrap().as_i64(),
        Some(4)
    );
    assert_eq!(
        part[3].offset.get(TASK_GENERATION).unwrap().as_i64(),
        Some(1)
    );
    let rest = drain(&mut task(&cfg, 0, store));
    // iterations counts across the restart: 4 before, 6 after.
    assert_eq!(rest.len(), 6);
    let mut joined = values(&part);
    joined.extend(values(&rest));
    assert_eq!(joined, whole);
    let h = &rest[0].record.headers;
    assert_eq!(h.last(TASK_GENERATION).unwrap().value, Value::Int64(1));
    assert_eq!(h.last(CURRENT_ITERATION).unwrap().value, Value::Int64(4));
    assert_eq!(h.last(TASK_ID).unwrap().value, Value::Int64(0));
}

const EVERY_TYPE: &str = r#"{
  "type": "record", "name": "every", "namespace": "kc",
  // comments are allowed, as Avro's parser allows them
  "fields": [
    {"name": "b", "type": {"type": "boolean", "arg.properties": {"odds": 1.0}}},
    {"name": "i", "type": {"type": "int", "arg.properties": {"range": {"min": -3, "max": 3}}}},
    {"name": "f", "type": {"type": "float", "arg.properties": {"range": {"min": 1, "max": 2}}}},
    {"name": "o", "type": {"type": "string", "arg.properties": {"options": ["x", "y"]}}},
    {"name": "s", "type": {"type": "string", "arg.properties": {"iteration": {"start": 5}, "prefix": "n"}}},
    {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A", "B"]}},
    {"name": "u", "type": ["null", {"type": "long", "arg.properties": {"range": {"min": 0, "max": 9}}}]},
    {"name": "a", "type": {"type": "array", "items": "int", "arg.properties": {"length": 3}}},
    {"name": "m", "type": {"type": "map", "values": "string",
      "arg.properties": {"length": {"min": 1, "max": 3}, "keys": {"options": ["k1", "k2"]}}}},
    {"name": "d", "type": {"type": "bytes", "logicalType": "decimal", "precision": 20, "scale": 2}},
    {"name": "x", "type": {"type": "fixed", "name": "F", "size": 4}},
    {"name": "r", "type": {"type": "record", "name": "R", "fields": [
      {"name": "opt", "type": {"type": "record", "name": "O", "fields": [{"name": "n", "type": "int"}]},
       "arg.properties": {}}]}},
    {"name": "ro", "type": {"type": "record", "name": "RO", "fields": [{"name": "n", "type": "int"}],
      "arg.properties": {"options": [{"n": 12}]}}}
  ]
}"#;

#[test]
fn every_avro_type_is_generated_and_read_back() {
    let mut t = task(
        &[
            ("schema.string", EVERY_TYPE),
            ("iterations", "40"),
            ("random.seed", "11"),
        ],
        0,
        Arc::default(),
    );
    let records = drain(&mut t);
    assert_eq!(records.len(), 40);
    for (n, r) in records.iter().enumerate() {
        let Value::Struct(s) = &r.record.value else {
            panic!()
        };
        assert_eq!(s.get("b"), Some(&Value::Boolean(true)));
        let i = s.get("i").and_then(Value::as_i64).unwrap();
        assert!((-3..3).contains(&i), "{i}");
        let o = s.get("o").and_then(Value::as_str).unwrap();
        assert!(o == "x" || o == "y");
        assert_eq!(
            s.get("s").and_then(Value::as_str),
            Some(&*format!("n{}", 5 + n))
        );
        let e = s.get("e").and_then(Value::as_str).unwrap();
        assert!(e == "A" || e == "B");
        assert!(matches!(s.get("a"), Some(Value::Array(a)) if a.len() == 3));
        assert!(matches!(s.get("m"), Some(Value::Map(m)) if !m.is_empty() && m.len() <= 2));
        assert!(matches!(s.get("d"), Some(Value::Decimal(_))));
        let ro = s.get("ro").and_then(Value::as_struct).unwrap();
        assert_eq!(ro.get("n"), Some(&Value::Int32(12)));
    }
}

#[test]
fn settings_that_cannot_work_are_refused_by_name() {
    let problem = |pairs: &[(&str, &str)]| {
        let p = validate(&settings(pairs));
        assert_eq!(p.len(), 1, "{pairs:?}: {p:?}");
        (p[0].key.clone(), p[0].message.clone())
    };
    assert!(problem(&[]).1.contains("exactly one of"));
    let (k, m) = problem(&[("quickstart", "users"), ("schema.string", "{}")]);
    assert!(m.contains("exactly one of") && !k.is_empty(), "{k} {m}");
    let (k, m) = problem(&[("quickstart", "inventory")]);
    assert_eq!(k, "quickstart");
    assert!(m.contains("does not ship"), "{m}");
    assert!(problem(&[("quickstart", "nope")]).1.contains("one out of"));
    let (k, _) = problem(&[("quickstart", "users"), ("schema.keyfield", "nope")]);
    assert_eq!(k, "schema.keyfield");
    let (k, m) = problem(&[(
        "schema.string",
        r#"{"type": "record", "name": "r", "fields": [
        {"name": "a", "type": {"type": "int", "arg.properties": {"range": {"min": 5, "max": 1}}}}]}"#,
    )]);
    assert_eq!(k, "schema.string");
    assert!(m.contains("at a: range"), "{m}");
    let (k, m) = problem(&[("schema.filename", "/nonexistent/x.avro")]);
    assert_eq!(k, "schema.filename");
    assert!(m.contains("/nonexistent/x.avro"), "{m}");
    assert!(problem(&[("schema.string", r#""string""#)])
        .1
        .contains("must be a record"));
    assert!(validate(&settings(&[("quickstart", "USERS")])).is_empty());
}

#[test]
fn a_once_run_needs_a_bound() {
    let ctx = context(&[("quickstart", "users")], 0, Arc::default());
    let err = create(ctx).err().unwrap().to_string();
    assert!(err.contains("iterations"), "{err}");
}

#[test]
fn offsets_are_keyed_per_task() {
    let shape = &PLUGIN.offsets;
    let cfg = settings(&[("quickstart", "users"), ("tasks.max", "2")]);
    let mut off = JsonMap::new();
    off.insert(TASK_GENERATION.into(), Json::from(1));
    off.insert(CURRENT_ITERATION.into(), Json::from(5));
    off.insert(RANDOM_SEED.into(), Json::from(-99));
    shape.check(&cfg, &partition_of(1), Some(&off)).unwrap();
    assert!(shape.check(&cfg, &partition_of(2), Some(&off)).is_err());
}
