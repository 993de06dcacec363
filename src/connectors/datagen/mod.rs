//! `io.confluent.kafka.connect.datagen.DatagenConnector`: random records from an Avro schema
//! annotated with Confluent's avro-random-generator rules, or from a quickstart. Records,
//! keys, headers and offsets are shaped as Confluent's Datagen (0.7.1) shapes them, so its
//! pipelines, and the offsets of `iterations` across restarts, carry over.

mod generator;
mod iteration;
mod options;
mod quickstart;
mod random;
mod text;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map as JsonMap, Value as Json};

use self::generator::Generator;
use self::random::JavaRandom;
use crate::api::{
    ConfigKey, ConfigType, ConnectError, ConnectorPlugin, Factory, KeyDefault, OffsetKey,
    OffsetShape, OffsetType, PluginDesc, PluginKind, Polled, Problem, Settings, SourceTask,
    SourceTaskContext, StopFlag, Validator,
};
use crate::data::avro::schema::Avro;
use crate::data::avro::{decode, to_connect, AvroDataOptions};
use crate::data::{
    schemas, ConnectRecord, Headers, SchemaRef, SourceOffset, SourcePartition, SourceRecord, Value,
};

const KEYS: &[ConfigKey] = &[
    ConfigKey::new("kafka.topic", ConfigType::String, KeyDefault::Required,
        "Topic to write to.").validator(Validator::NonEmpty),
    ConfigKey::new("max.interval", ConfigType::Long, KeyDefault::Value("500"),
        "Max interval between messages (ms): each record waits a random time up to it; 0 makes records as fast as the topic takes them."),
    ConfigKey::new("iterations", ConfigType::Int, KeyDefault::Value("-1"),
        "Number of messages to send from each task, or less than 1 for unlimited. Counted across restarts (in the offsets)."),
    ConfigKey::new("schema.string", ConfigType::String, KeyDefault::Value(""),
        "The literal JSON-encoded Avro schema to use."),
    ConfigKey::new("schema.filename", ConfigType::String, KeyDefault::Value(""),
        "Filename of schema to use."),
    ConfigKey::new("schema.keyfield", ConfigType::String, KeyDefault::Value(""),
        "Name of field to use as the message key (a quickstart has its own default)."),
    ConfigKey::new("quickstart", ConfigType::String, KeyDefault::Value(""),
        "Name of quickstart to use: users, pageviews, orders, ratings, clickstream or stock_trades."),
    ConfigKey::new("random.seed", ConfigType::Long, KeyDefault::None,
        "Numeric seed for generating random data. Two connectors started with the same seed will deterministically produce the same data; each task makes different data than the other tasks of the connector."),
];

pub const PLUGIN: ConnectorPlugin = ConnectorPlugin {
    task_class: "io.confluent.kafka.connect.datagen.DatagenTask",
    desc: PluginDesc {
        kind: PluginKind::Source,
        class: "io.confluent.kafka.connect.datagen.DatagenConnector",
        aliases: &["DatagenConnector"],
        doc: "Generates random records from an Avro schema with avro-random-generator annotations, or from a quickstart (users, pageviews, orders, ratings, clickstream, stock_trades).",
        config: KEYS,
    },
    factory: Factory::Source(create),
    validate,
    max_tasks: None,
    offsets: OffsetShape::Source {
        partitions,
        offset: &[
            OffsetKey { name: TASK_GENERATION, ty: OffsetType::Position, required: true },
            OffsetKey { name: CURRENT_ITERATION, ty: OffsetType::Position, required: true },
            OffsetKey { name: RANDOM_SEED, ty: OffsetType::Integer, required: true },
        ],
    },
};

const TASK_ID: &str = "task.id";
const TASK_GENERATION: &str = "task.generation";
const CURRENT_ITERATION: &str = "current.iteration";
const RANDOM_SEED: &str = "random.seed";
const SCHEMA_SOURCES: [&str; 3] = ["schema.string", "schema.filename", "quickstart"];

/// `{"task.id": N}` for each task: every task counts and seeds on its own.
fn partitions(values: &BTreeMap<String, String>) -> Vec<JsonMap<String, Json>> {
    let tasks = values
        .get("tasks.max")
        .and_then(|t| t.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    (0..tasks).map(partition_of).collect()
}

fn partition_of(task: usize) -> JsonMap<String, Json> {
    let mut p = JsonMap::new();
    p.insert(TASK_ID.into(), Json::from(task));
    p
}

/// The schema the settings name, and the key field a quickstart brings.
struct Source {
    avro: Avro,
    keyfield: String,
}

fn load(s: &Settings) -> Result<Source, Problem> {
    let given: Vec<&str> = SCHEMA_SOURCES
        .iter()
        .copied()
        .filter(|k| s.string(k).is_some_and(|v| !v.is_empty()))
        .collect();
    let one_of = format!("Must set exactly one of {}", SCHEMA_SOURCES.join(", "));
    let (key, text) = match given.as_slice() {
        [] => return Err(Problem::new("quickstart", one_of)),
        [k] => (*k, s.string(k).unwrap_or_default()),
        [_, second, ..] => return Err(Problem::new(*second, one_of)),
    };
    let (text, quick_key) = match key {
        "quickstart" => {
            let q = quickstart::find(&text).map_err(|m| Problem::new("quickstart", m))?;
            (q.schema.to_string(), q.keyfield)
        }
        "schema.filename" => (
            std::fs::read_to_string(&text).map_err(|e| {
                Problem::new(
                    "schema.filename",
                    format!("cannot read the schema file {text}: {e}"),
                )
            })?,
            "",
        ),
        _ => (text, ""),
    };
    let avro = Avro::parse(&strip_comments(&text))
        .map_err(|e| Problem::new(key, format!("Unable to parse the provided schema: {e}")))?;
    if !matches!(avro, Avro::Record { .. }) {
        return Err(Problem::new(
            key,
            format!(
                "the schema must be a record, is a {}: Datagen makes records",
                avro.type_name()
            ),
        ));
    }
    if let Err(e) = Generator::new(&avro, 0) {
        return Err(Problem::new(
            key,
            format!("the schema's arg.properties: {e}"),
        ));
    }
    let keyfield = s
        .string("schema.keyfield")
        .filter(|k| !k.is_empty())
        .unwrap_or_else(|| quick_key.to_string());
    if let (Avro::Record { fields, .. }, false) = (&avro, keyfield.is_empty()) {
        if !fields.iter().any(|f| f.name == keyfield) {
            return Err(Problem::new(
                "schema.keyfield",
                "The schema does not contain the field provided in 'schema.keyfield'",
            ));
        }
    }
    Ok(Source { avro, keyfield })
}

/// Avro's parser reads schema text with comments (`//` and `/* */`), and Datagen's schema
/// files use them.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => out.extend(chars.next()),
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut last = ' ';
                for n in chars.by_ref() {
                    if last == '*' && n == '/' {
                        break;
                    }
                    last = n;
                }
                out.push(' ');
            }
            _ => out.push(c),
        }
    }
    out
}

fn validate(values: &BTreeMap<String, String>) -> Vec<Problem> {
    match load(&Settings::new(KEYS, values)) {
        Ok(_) => Vec::new(),
        Err(p) => vec![p],
    }
}

/// Records made per poll when `max.interval` is 0.
const BATCH: usize = 1000;

pub struct DatagenTask {
    topic: String,
    max_interval: u64,
    iterations: i64,
    once: bool,
    stop: StopFlag,
    task_id: i64,
    partition: SourcePartition,
    avro: Avro,
    schema: SchemaRef,
    key: Option<(String, SchemaRef)>,
    opts: AvroDataOptions,
    generator: Generator,
    random: JavaRandom,
    /// For the waits between records, which do not come from the seeded sequence.
    pacing: JavaRandom,
    generation: i64,
    count: i64,
    buf: Vec<u8>,
    said_done: bool,
}

fn create(ctx: SourceTaskContext) -> Result<Box<dyn SourceTask>, ConnectError> {
    let s = Settings::new(KEYS, &ctx.config);
    let fatal = |e: crate::api::InvalidConfig| ConnectError::fatal(e.to_string()).caused_by(e);
    let topic = s.required_string("kafka.topic").map_err(fatal)?;
    let max_interval = s.i64("max.interval").map_err(fatal)?.max(0) as u64;
    let iterations = s.i64("iterations").map_err(fatal)?;
    if ctx.once && iterations < 1 {
        return Err(ConnectError::fatal(format!(
            "connector {}: iterations is {iterations} (unlimited), so a --once run would never end; set iterations to how many records each task should make",
            ctx.connector
        )));
    }
    let Source { avro, keyfield } = load(&s).map_err(|p| {
        ConnectError::fatal(format!(
            "connector {}: {}: {}",
            ctx.connector, p.key, p.message
        ))
    })?;
    let task_id = ctx.task_id as i64;
    let mut random = match s.opt_i64("random.seed").map_err(fatal)? {
        Some(seed) => {
            // Each task walks the seed on once per task before it, so tasks differ.
            let mut r = JavaRandom::new(seed);
            for _ in 0..task_id {
                let next = r.next_long();
                r.set_seed(next);
            }
            r
        }
        None => JavaRandom::from_clock(),
    };
    let partition = partition_of(ctx.task_id);
    let (mut generation, mut count) = (0, 0);
    if let Some(o) = ctx.offsets.offset(&partition)? {
        let get = |k: &str| o.get(k).and_then(|v| v.as_i64());
        match (get(TASK_GENERATION), get(CURRENT_ITERATION), get(RANDOM_SEED)) {
            (Some(g), Some(c), Some(seed)) => {
                generation = g;
                count = c;
                random.set_seed(seed);
            }
            _ => {
                return Err(ConnectError::fatal(format!(
                    "connector {}: the stored offset of task {task_id} lacks {TASK_GENERATION}, {CURRENT_ITERATION} or {RANDOM_SEED}; fix or remove it with kconnect offsets",
                    ctx.connector
                )))
            }
        }
    }
    let generator = Generator::new(&avro, count)
        .map_err(|e| ConnectError::fatal(format!("connector {}: {e}", ctx.connector)))?;
    if !generator.unknown_rules.is_empty() {
        tracing::warn!(connector = %ctx.connector, rules = ?generator.unknown_rules,
            "the schema's arg.properties have rules Datagen does not know; they are ignored (known: options, iteration, range, length, regex, prefix, suffix, keys, odds)");
    }
    let opts = AvroDataOptions::default();
    let bad_schema = |e: crate::data::DataError| {
        ConnectError::fatal(format!(
            "connector {}: the schema has no Connect form: {e}",
            ctx.connector
        ))
    };
    let schema = to_connect::to_connect_schema(&avro, None, &opts).map_err(bad_schema)?;
    let key = match &avro {
        Avro::Record { fields, .. } if !keyfield.is_empty() => {
            let f = fields
                .iter()
                .find(|f| f.name == keyfield)
                .expect("validated");
            Some((
                keyfield.clone(),
                to_connect::to_connect_schema(&f.schema, None, &opts).map_err(bad_schema)?,
            ))
        }
        _ => None,
    };
    Ok(Box::new(DatagenTask {
        topic,
        max_interval,
        iterations,
        once: ctx.once,
        stop: ctx.stop.clone(),
        task_id,
        partition: Arc::new(partition),
        avro,
        schema,
        key,
        opts,
        generator,
        random,
        pacing: JavaRandom::from_clock(),
        generation,
        count,
        buf: Vec::with_capacity(512),
        said_done: false,
    }))
}

impl DatagenTask {
    fn remaining(&self) -> Option<i64> {
        (self.iterations > 0).then(|| (self.iterations - self.count).max(0))
    }

    fn record(&mut self) -> Result<SourceRecord, ConnectError> {
        self.buf.clear();
        self.generator.generate(&mut self.random, &mut self.buf);
        let value =
            decode::read_top(&self.buf, &self.avro, &self.schema, &self.opts).map_err(|e| {
                ConnectError::fatal(format!("a generated record does not read back: {e}"))
            })?;
        let (key_schema, key) = match &self.key {
            Some((field, schema)) => {
                let v = match &value {
                    Value::Struct(s) => s.get(field).cloned().unwrap_or(Value::Null),
                    _ => Value::Null,
                };
                (schema.clone(), v)
            }
            None => (schemas::optional_string(), Value::Null),
        };
        // The offset holds the state the next start resumes from: the seed just reseeded
        // with, and one record more.
        let seed = self.random.next_long();
        self.random.set_seed(seed);
        let mut offset = SourceOffset::new();
        offset.insert(TASK_GENERATION, self.generation + 1);
        offset.insert(CURRENT_ITERATION, self.count + 1);
        offset.insert(RANDOM_SEED, seed);
        let mut headers = Headers::new();
        let long = Some(schemas::int64());
        headers.add(TASK_GENERATION, long.clone(), Value::Int64(self.generation));
        headers.add(TASK_ID, long.clone(), Value::Int64(self.task_id));
        headers.add(CURRENT_ITERATION, long, Value::Int64(self.count));
        self.count += 1;
        let mut record = ConnectRecord::new(self.topic.clone())
            .with_key(Some(key_schema), key)
            .with_value(Some(self.schema.clone()), value);
        record.headers = headers;
        Ok(SourceRecord {
            partition: self.partition.clone(),
            offset,
            record,
        })
    }
}

impl SourceTask for DatagenTask {
    fn poll(&mut self) -> Result<Polled, ConnectError> {
        let remaining = self.remaining();
        if remaining == Some(0) {
            if self.once {
                return Ok(Polled::Finished);
            }
            if !self.said_done {
                self.said_done = true;
                tracing::info!(topic = %self.topic, task = self.task_id, iterations = self.iterations,
                    "generated the configured number of records; this task makes no more (Confluent's fails instead)");
            }
            return Ok(Polled::Wait(Duration::from_secs(1)));
        }
        let n = if self.max_interval > 0 {
            let wait = (self.max_interval as f64 * self.pacing.next_double()) as u64;
            crate::api::sleep_unless_stopped(&self.stop, Duration::from_millis(wait));
            if self.stop.is_stopped() {
                return Ok(Polled::Idle);
            }
            1
        } else {
            remaining.map_or(BATCH, |r| (r as usize).min(BATCH))
        };
        let mut records = Vec::with_capacity(n);
        for _ in 0..n {
            records.push(self.record()?);
        }
        Ok(Polled::Records(records))
    }
}

#[cfg(test)]
mod tests;
