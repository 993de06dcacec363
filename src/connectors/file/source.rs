//! `org.apache.kafka.connect.file.FileStreamSourceConnector`: each line of `file` becomes a
//! record with a string value and no key; the offset is the byte position after the line.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map as JsonMap, Value as Json};

use crate::api::{
    ConfigKey, ConfigType, ConnectError, ConnectorPlugin, Factory, KeyDefault, OffsetKey,
    OffsetShape, OffsetType, PluginDesc, PluginKind, Polled, Problem, Settings, SourceTask,
    SourceTaskContext, Validator,
};
use crate::data::{
    schemas, CompactString, ConnectRecord, OffsetValue, SourceOffset, SourcePartition,
    SourceRecord, Value,
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
    task_class: "org.apache.kafka.connect.file.FileStreamSourceTask",
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
    offsets: OffsetShape::Source {
        partitions: |values| vec![source_partition(values)],
        offset: &[OffsetKey {
            name: "position",
            ty: OffsetType::Position,
            required: true,
        }],
    },
};

/// `{"filename": <file>}` (null for stdin), as Connect's FileStreamSourceTask keys it.
fn source_partition(values: &BTreeMap<String, String>) -> JsonMap<String, Json> {
    let path = Settings::new(KEYS, values)
        .string("file")
        .filter(|f| !f.is_empty());
    let mut partition = JsonMap::new();
    partition.insert(
        "filename".into(),
        path.map(Json::String).unwrap_or(Json::Null),
    );
    partition
}

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
/// How long to wait before looking for a missing file again; Connect's task sleeps 1 s.
const MISSING_FILE_WAIT: Duration = Duration::from_secs(1);
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
    /// Bytes of an unterminated last line, kept until its line end arrives.
    pending: Vec<u8>,
    /// The last byte read was a `\r`: the next one tells whether it was `\r\n`.
    cr_pending: bool,
    warned_partial: bool,
    stdin_done: bool,
}

fn create(ctx: SourceTaskContext) -> Result<Box<dyn SourceTask>, ConnectError> {
    let s = Settings::new(KEYS, &ctx.config);
    let fatal = |e: crate::api::InvalidConfig| ConnectError::fatal(e.to_string()).caused_by(e);
    let path = s.string("file").filter(|f| !f.is_empty());
    let topic = s.required_string("topic").map_err(fatal)?;
    let batch_size = s.i64("batch.size").map_err(fatal)?.max(1) as usize;
    let partition = source_partition(&ctx.config);
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
        cr_pending: false,
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
                    Ok(false)
                }
                Err(e) => Err(ConnectError::fatal(format!(
                    "cannot open source file {p}: {e}; check the connector's file setting"
                ))),
            },
        }
    }
}

/// Splits lines as Connect's `FileStreamSourceTask` does: `\n`, `\r\n` and a lone `\r` each
/// end a line. A `\r` at the end of what has been read waits for the next byte, to tell a lone
/// `\r` from `\r\n`; a last line without a line end waits for one. Unlike Connect, every line
/// already read is handed out over the next polls (Connect strands the rest of its buffer when
/// `batch.size` is smaller than one read, until the file grows).
struct LineSplitter<'a> {
    pending: &'a mut Vec<u8>,
    cr_pending: &'a mut bool,
    position: &'a mut u64,
}

impl LineSplitter<'_> {
    /// Reads the next complete line, or `None` when the input has no more for now.
    fn next_line(&mut self, reader: &mut dyn BufRead) -> std::io::Result<Option<CompactString>> {
        loop {
            let buf = reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(None);
            }
            if *self.cr_pending {
                *self.cr_pending = false;
                let lf = usize::from(buf[0] == b'\n');
                reader.consume(lf);
                return Ok(Some(self.finish(None, 1 + lf)));
            }
            let Some(i) = memchr::memchr2(b'\n', b'\r', buf) else {
                let n = buf.len();
                self.pending.extend_from_slice(buf);
                reader.consume(n);
                continue;
            };
            if buf[i] == b'\n' {
                let line = self.finish(Some(&buf[..i]), 1);
                reader.consume(i + 1);
                return Ok(Some(line));
            }
            match buf.get(i + 1) {
                Some(&next) => {
                    let ends = 1 + usize::from(next == b'\n');
                    let line = self.finish(Some(&buf[..i]), ends);
                    reader.consume(i + ends);
                    return Ok(Some(line));
                }
                None => {
                    self.pending.extend_from_slice(&buf[..i]);
                    reader.consume(i + 1);
                    *self.cr_pending = true;
                }
            }
        }
    }

    /// The line made of the pending bytes and `tail`, with `ends` bytes of line end after it;
    /// moves the position past both.
    fn finish(&mut self, tail: Option<&[u8]>, ends: usize) -> CompactString {
        let tail = tail.unwrap_or_default();
        *self.position += (self.pending.len() + tail.len() + ends) as u64;
        if self.pending.is_empty() {
            // The common case: the whole line is in the read buffer, no copy to a Vec first.
            return CompactString::from_utf8_lossy(tail);
        }
        self.pending.extend_from_slice(tail);
        let line = CompactString::from_utf8_lossy(self.pending);
        self.pending.clear();
        line
    }
}

impl SourceTask for FileStreamSourceTask {
    fn poll(&mut self) -> Result<Polled, ConnectError> {
        if !self.open()? {
            return Ok(Polled::Wait(MISSING_FILE_WAIT));
        }
        // Sized once: a record is a few hundred bytes, and growing the batch moved each again.
        let mut records = Vec::with_capacity(self.batch_size.min(4096));
        let path = self.path.as_deref().unwrap_or("stdin");
        let is_stdin = matches!(self.input, Some(Input::Stdin(_)));
        let reader: &mut dyn BufRead = match self.input.as_mut().expect("opened") {
            Input::File { reader, .. } => reader,
            Input::Stdin(r) => r,
        };
        let mut lines = LineSplitter {
            pending: &mut self.pending,
            cr_pending: &mut self.cr_pending,
            position: &mut self.position,
        };
        // Connect's FileStreamSourceTask stamps each record with the time it was read, so
        // TimestampRouter and InsertField's timestamp.field see it (they fail on a record
        // without one), and the Kafka record carries it.
        let read_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        while records.len() < self.batch_size {
            let line = lines.next_line(reader).map_err(|e| {
                ConnectError::retriable(format!("error reading {path}: {e}")).caused_by(e)
            })?;
            let Some(text) = line else { break };
            let mut offset = SourceOffset::new();
            offset.insert("position", *lines.position);
            records.push(SourceRecord {
                partition: self.partition.clone(),
                offset,
                record: ConnectRecord {
                    timestamp: Some(read_at),
                    ..ConnectRecord::new(self.topic.as_str())
                        .with_value(Some(schemas::string()), Value::String(text))
                },
            });
        }
        if !records.is_empty() {
            return Ok(Polled::Records(records));
        }
        if is_stdin {
            self.stdin_done = true;
        }
        if self.once || self.stdin_done {
            let unfinished = self.pending.len() + usize::from(self.cr_pending);
            if unfinished > 0 && !self.warned_partial {
                self.warned_partial = true;
                tracing::warn!(file = %path, bytes = unfinished,
                    "the file ends in a line without a line end; it is read once the line is finished");
            }
            return Ok(Polled::Finished);
        }
        Ok(Polled::Wait(IDLE_WAIT))
    }

    fn stop(&mut self) {
        self.input = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// Every line of `input` read through a buffer of `capacity` bytes, and the position after
    /// the last one.
    fn split(input: &[u8], capacity: usize) -> (Vec<String>, u64, Vec<u8>, bool) {
        let mut reader = BufReader::with_capacity(capacity, Cursor::new(input.to_vec()));
        let (mut pending, mut cr, mut position) = (Vec::new(), false, 0u64);
        let mut lines = LineSplitter {
            pending: &mut pending,
            cr_pending: &mut cr,
            position: &mut position,
        };
        let mut out = Vec::new();
        while let Some(l) = lines.next_line(&mut reader).unwrap() {
            out.push(l.to_string());
        }
        (out, position, pending, cr)
    }

    #[test]
    fn lines_end_at_lf_crlf_and_a_lone_cr_whatever_the_read_size() {
        let input = b"lone cr\rafter cr\ncrlf\r\n\r\ntwo\r\rcrs\n\xF0\x9F\x98\x80 emoji\nlast";
        let want = [
            "lone cr",
            "after cr",
            "crlf",
            "",
            "two",
            "",
            "crs",
            "\u{1F600} emoji",
        ];
        // Capacity 1 splits every \r\n and every UTF-8 sequence across reads.
        for capacity in [1, 2, 3, 7, 64] {
            let (lines, position, pending, cr) = split(input, capacity);
            assert_eq!(lines, want, "read {capacity} bytes at a time");
            assert_eq!(position, (input.len() - b"last".len()) as u64);
            assert_eq!(pending, b"last", "the unfinished last line waits");
            assert!(!cr);
        }
    }

    #[test]
    fn a_trailing_cr_waits_for_the_next_byte() {
        let (lines, position, pending, cr) = split(b"a\nb\r", 64);
        assert_eq!(lines, ["a"]);
        assert_eq!(position, 2);
        assert_eq!((pending.as_slice(), cr), (&b"b"[..], true));
        // The next byte decides: "\n" makes it one line end, anything else a lone \r.
        let mut reader = BufReader::new(Cursor::new(b"\nc\n".to_vec()));
        let (mut pending, mut cr, mut position) = (pending, cr, position);
        let mut s = LineSplitter {
            pending: &mut pending,
            cr_pending: &mut cr,
            position: &mut position,
        };
        assert_eq!(s.next_line(&mut reader).unwrap().as_deref(), Some("b"));
        assert_eq!(*s.position, 5);
        assert_eq!(s.next_line(&mut reader).unwrap().as_deref(), Some("c"));
        assert_eq!(*s.position, 7);
    }

    #[test]
    fn batch_size_below_one_read_strands_nothing() {
        // Connect returns 2 of these 3 lines and keeps the third until the file grows.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        std::fs::write(&path, "aaaa\nbbbb\ncccc\n").unwrap();
        let mut task = FileStreamSourceTask {
            input: None,
            path: Some(path.display().to_string()),
            topic: "t".into(),
            batch_size: 2,
            once: true,
            partition: Arc::new(JsonMap::new()),
            position: 0,
            pending: Vec::new(),
            cr_pending: false,
            warned_partial: false,
            stdin_done: false,
        };
        let mut values = Vec::new();
        let before = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        loop {
            match task.poll().unwrap() {
                Polled::Records(rs) => {
                    assert!(rs.len() <= 2);
                    // Stamped with the read time, as Connect's FileStreamSourceTask does
                    // (TimestampRouter failed on kconnect's records without it).
                    for r in &rs {
                        assert!(r.record.timestamp.is_some_and(|t| t >= before), "{r:?}");
                    }
                    values.extend(rs.into_iter().map(|r| r.record.value.to_display_string()));
                }
                Polled::Finished => break,
                Polled::Idle | Polled::Wait(_) => {
                    panic!("a --once task with lines left went idle")
                }
            }
        }
        assert_eq!(values, ["aaaa", "bbbb", "cccc"]);
        assert_eq!(task.position, 15);
    }
}
