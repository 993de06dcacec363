//! `org.apache.kafka.connect.file.FileStreamSourceConnector`: each line of `file` becomes a
//! record with a string value and no key; the offset is the byte position after the line.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map as JsonMap, Value as Json};

use crate::api::{
    ConfigKey, ConfigType, ConnectError, ConnectorPlugin, Factory, KeyDefault, PluginDesc,
    PluginKind, Polled, Problem, Settings, SourceTask, SourceTaskContext, Validator,
};
use crate::data::{
    schemas, ConnectRecord, OffsetValue, SourceOffset, SourcePartition, SourceRecord, Value,
};

const KEYS: &[ConfigKey] = &[
    ConfigKey::new("file", ConfigType::String, KeyDefault::None,
        "Source filename; standard input when unset."),
    ConfigKey::new("topic", ConfigType::String, KeyDefault::Required,
        "The topic to publish data to.").validator(Validator::NonEmpty),
    ConfigKey::new("batch.size", ConfigType::Int, KeyDefault::Value("2000"),
        "The maximum number of records the source task can read from the file each time it is polled.")
        .validator(Validator::AtLeast(1)),
];

pub const SOURCE_PLUGIN: ConnectorPlugin = ConnectorPlugin {
    desc: PluginDesc {
        kind: PluginKind::Source,
        class: "org.apache.kafka.connect.file.FileStreamSourceConnector",
        aliases: &["FileStreamSource", "FileStreamSourceConnector"],
        doc: "Reads lines from a file (or stdin) into a topic; follows a growing file.",
        config: KEYS,
    },
    factory: Factory::Source(create),
    validate,
    max_tasks: Some(1),
};

fn validate(values: &BTreeMap<String, String>) -> Vec<Problem> {
    // A string in Connect too, which refuses a comma-separated list with this message.
    let topics = values
        .get("topic")
        .map(|t| crate::api::split_list(t))
        .unwrap_or_default();
    if topics.len() > 1 {
        return vec![Problem::new(
            "topic",
            "'topic' in FileStreamSourceConnector configuration requires definition of a single topic",
        )];
    }
    Vec::new()
}

/// How long an idle poll waits before reporting nothing new; Connect's task waits 1 s.
const IDLE_WAIT: Duration = Duration::from_millis(200);
const READ_BUFFER: usize = 256 * 1024;

enum Input {
    File { reader: BufReader<File> },
    Stdin(BufReader<std::io::Stdin>),
}

pub struct FileStreamSourceTask {
    input: Option<Input>,
    path: Option<String>,
    topic: String,
    batch_size: usize,
    once: bool,
    partition: SourcePartition,
    /// Byte position just after the last complete line handed out.
    position: u64,
    /// Bytes of an unterminated last line, kept until its newline arrives.
    pending: Vec<u8>,
    warned_partial: bool,
    stdin_done: bool,
}

fn create(ctx: SourceTaskContext) -> Result<Box<dyn SourceTask>, ConnectError> {
    let s = Settings::new(KEYS, &ctx.config);
    let fatal = |e: crate::api::InvalidConfig| ConnectError::fatal(e.to_string()).caused_by(e);
    let path = s.string("file").filter(|f| !f.is_empty());
    let topic = s.required_string("topic").map_err(fatal)?;
    let batch_size = s.i64("batch.size").map_err(fatal)?.max(1) as usize;
    let mut partition = JsonMap::new();
    partition.insert(
        "filename".into(),
        path.clone().map(Json::String).unwrap_or(Json::Null),
    );
    let position = match &path {
        Some(_) => ctx
            .offsets
            .offset(&partition)?
            .and_then(|o| o.get("position").and_then(OffsetValue::as_u64))
            .unwrap_or(0),
        None => 0,
    };
    Ok(Box::new(FileStreamSourceTask {
        input: None,
        path,
        topic,
        batch_size,
        once: ctx.once,
        partition: Arc::new(partition),
        position,
        pending: Vec::new(),
        warned_partial: false,
        stdin_done: false,
    }))
}

impl FileStreamSourceTask {
    fn open(&mut self) -> Result<bool, ConnectError> {
        if self.input.is_some() {
            return Ok(true);
        }
        match &self.path {
            None => {
                self.input = Some(Input::Stdin(BufReader::with_capacity(
                    READ_BUFFER,
                    std::io::stdin(),
                )));
                Ok(true)
            }
            Some(p) => match File::open(p) {
                Ok(mut f) => {
                    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
                    if self.position > len {
                        tracing::warn!(file = %p, position = self.position, length = len,
                            "the file is shorter than the committed offset (truncated or replaced?); reading from its start");
                        self.position = 0;
                    }
                    if self.position > 0 {
                        tracing::debug!(file = %p, position = self.position, "resuming from committed offset");
                        f.seek(SeekFrom::Start(self.position)).map_err(|e| {
                            ConnectError::fatal(format!(
                                "cannot seek in {p} to offset {}: {e}",
                                self.position
                            ))
                            .caused_by(e)
                        })?;
                    }
                    self.input = Some(Input::File {
                        reader: BufReader::with_capacity(READ_BUFFER, f),
                    });
                    Ok(true)
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !self.once => {
                    tracing::warn!(file = %p, "couldn't find file for FileStreamSourceTask, sleeping to wait for it to be created");
                    std::thread::sleep(Duration::from_secs(1));
                    Ok(false)
                }
                Err(e) => Err(ConnectError::fatal(format!(
                    "cannot open source file {p}: {e}; check the connector's file setting"
                ))),
            },
        }
    }
}

impl SourceTask for FileStreamSourceTask {
    fn poll(&mut self) -> Result<Polled, ConnectError> {
        if !self.open()? {
            return Ok(Polled::Idle);
        }
        let mut records = Vec::new();
        let mut line = Vec::with_capacity(128);
        let path = self.path.as_deref().unwrap_or("stdin");
        let is_stdin = matches!(self.input, Some(Input::Stdin(_)));
        let reader: &mut dyn BufRead = match self.input.as_mut().expect("opened") {
            Input::File { reader, .. } => reader,
            Input::Stdin(r) => r,
        };
        while records.len() < self.batch_size {
            line.clear();
            let n = reader.read_until(b'\n', &mut line).map_err(|e| {
                ConnectError::retriable(format!("error reading {path}: {e}")).caused_by(e)
            })?;
            if n == 0 {
                break;
            }
            if line.last() != Some(&b'\n') {
                // An unterminated line: keep it until the writer finishes it.
                self.pending.extend_from_slice(&line);
                break;
            }
            let consumed = (self.pending.len() + n) as u64;
            let mut bytes = if self.pending.is_empty() {
                std::mem::take(&mut line)
            } else {
                let mut b = std::mem::take(&mut self.pending);
                b.extend_from_slice(&line);
                b
            };
            bytes.pop();
            if bytes.last() == Some(&b'\r') {
                bytes.pop();
            }
            self.position += consumed;
            let text = String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            let mut offset = SourceOffset::new();
            offset.insert("position", self.position);
            records.push(SourceRecord {
                partition: self.partition.clone(),
                offset,
                record: ConnectRecord::new(self.topic.as_str())
                    .with_value(Some(schemas::string()), Value::String(text.into())),
            });
            line = Vec::with_capacity(128);
        }
        if !records.is_empty() {
            return Ok(Polled::Records(records));
        }
        if is_stdin {
            self.stdin_done = true;
        }
        if self.once || self.stdin_done {
            if !self.pending.is_empty() && !self.warned_partial {
                self.warned_partial = true;
                tracing::warn!(file = %path, bytes = self.pending.len(),
                    "the file ends in a line without a newline; it is read once the line is finished");
            }
            return Ok(Polled::Finished);
        }
        std::thread::sleep(IDLE_WAIT);
        Ok(Polled::Idle)
    }

    fn stop(&mut self) {
        self.input = None;
    }
}
