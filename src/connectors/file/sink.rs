//! `org.apache.kafka.connect.file.FileStreamSinkConnector`: writes each record's value as a
//! line, as `PrintStream.println(value)` would. Flush fsyncs, so committed offsets never run
//! ahead of what is on disk.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};

use crate::api::{
    ConfigKey, ConfigType, ConnectError, ConnectorPlugin, Factory, KeyDefault, PluginDesc,
    PluginKind, Settings, SinkTask, SinkTaskContext, TopicPartition,
};
use crate::data::{write_java_string, SinkRecord};

const KEYS: &[ConfigKey] = &[ConfigKey::new(
    "file",
    ConfigType::String,
    KeyDefault::None,
    "Destination filename; standard output when unset.",
)];

pub const SINK_PLUGIN: ConnectorPlugin = ConnectorPlugin {
    task_class: "org.apache.kafka.connect.file.FileStreamSinkTask",
    desc: PluginDesc {
        kind: PluginKind::Sink,
        class: "org.apache.kafka.connect.file.FileStreamSinkConnector",
        aliases: &["FileStreamSink", "FileStreamSinkConnector"],
        doc: "Appends each record's value as a line to a file (or stdout).",
        config: KEYS,
    },
    factory: Factory::Sink(create),
    validate: crate::api::no_extra_validation,
    max_tasks: None,
    offsets: crate::api::OffsetShape::Sink,
};

enum Output {
    File { w: BufWriter<File>, path: String },
    Stdout(std::io::Stdout),
}

pub struct FileStreamSinkTask {
    out: Output,
    line: Vec<u8>,
}

fn create(ctx: SinkTaskContext) -> Result<Box<dyn SinkTask>, ConnectError> {
    let s = Settings::new(KEYS, &ctx.config);
    let out = match s.string("file").filter(|f| !f.is_empty()) {
        None => Output::Stdout(std::io::stdout()),
        Some(path) => {
            let mut f = OpenOptions::new()
                .create(true)
                .append(true)
                .read(true)
                .open(&path)
                .map_err(|e| {
                    ConnectError::fatal(format!("cannot open sink file {path} for appending: {e}"))
                        .caused_by(e)
                })?;
            end_on_a_line_boundary(&mut f, &path)?;
            Output::File {
                w: BufWriter::with_capacity(256 * 1024, f),
                path,
            }
        }
    };
    Ok(Box::new(FileStreamSinkTask {
        out,
        line: Vec::with_capacity(256),
    }))
}

/// A crash mid-write can leave half a line at the end of the file; those records were never
/// committed and are written again, so start them on a line of their own.
fn end_on_a_line_boundary(f: &mut File, path: &str) -> Result<(), ConnectError> {
    use std::io::{Read, Seek, SeekFrom};
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    if len == 0 {
        return Ok(());
    }
    let mut last = [0u8; 1];
    f.seek(SeekFrom::Start(len - 1))
        .and_then(|_| f.read_exact(&mut last))
        .map_err(|e| {
            ConnectError::fatal(format!("cannot read the end of sink file {path}: {e}"))
                .caused_by(e)
        })?;
    if last[0] != b'\n' {
        tracing::warn!(file = %path, "the file ends in an unfinished line (an earlier run was killed mid-write); continuing on a new line");
        f.write_all(b"\n").map_err(|e| {
            ConnectError::fatal(format!("cannot write to sink file {path}: {e}")).caused_by(e)
        })?;
    }
    Ok(())
}

impl FileStreamSinkTask {
    fn writer(&mut self) -> (&mut dyn Write, &str) {
        match &mut self.out {
            Output::File { w, path } => (w, path.as_str()),
            Output::Stdout(s) => (s, "stdout"),
        }
    }
}

impl SinkTask for FileStreamSinkTask {
    fn put(&mut self, records: &[SinkRecord]) -> Result<(), ConnectError> {
        let mut line = std::mem::take(&mut self.line);
        let result = (|| {
            let (w, path) = self.writer();
            for r in records {
                line.clear();
                write_java_string(r.record.value_schema.as_deref(), &r.record.value, &mut line);
                line.push(b'\n');
                w.write_all(&line).map_err(|e| {
                    ConnectError::retriable(format!("cannot write to {path}: {e}")).caused_by(e)
                })?;
            }
            Ok(())
        })();
        self.line = line;
        result
    }

    fn flush(&mut self, _offsets: &HashMap<TopicPartition, i64>) -> Result<(), ConnectError> {
        match &mut self.out {
            Output::File { w, path } => {
                w.flush()
                    .and_then(|_| w.get_ref().sync_data())
                    .map_err(|e| {
                        ConnectError::retriable(format!("cannot flush {path}: {e}")).caused_by(e)
                    })
            }
            Output::Stdout(s) => s.flush().map_err(|e| {
                ConnectError::retriable(format!("cannot flush stdout: {e}")).caused_by(e)
            }),
        }
    }

    fn stop(&mut self) {
        let _ = self.flush(&HashMap::new());
    }
}
