//! The state of an incremental snapshot (Debezium's `SignalBasedIncrementalSnapshotContext`):
//! the tables still to read, where the current one's chunks are, the chunk in the window, and
//! how all of it is written into (and read back from) the offsets under Debezium's
//! `incremental_snapshot_*` keys, so a restart resumes from the chunk it was in.

use std::collections::{HashMap, VecDeque};

use serde_json::{json, Value as Json};

use super::javaser::{self, KeyPart};
use super::types::PgType;
use crate::data::{OffsetValue, SourceOffset, Value};

pub const COLLECTIONS: &str = "incremental_snapshot_collections";
pub const PRIMARY_KEY: &str = "incremental_snapshot_primary_key";
pub const MAXIMUM_KEY: &str = "incremental_snapshot_maximum_key";
pub const CORRELATION_ID: &str = "incremental_snapshot_correlation_id";

/// A table to snapshot, as the signal named it (`schema.table`), with its filter.
#[derive(Clone, Debug, PartialEq)]
pub struct Collection {
    pub id: String,
    pub condition: Option<String>,
    pub surrogate_key: Option<String>,
}

/// A row of the chunk in the window, until a streamed change of its key evicts it or the
/// window closes and it is sent as a read event.
pub struct WindowRow {
    pub key: Option<Value>,
    pub after: Value,
    pub parts: Vec<KeyPart>,
}

#[derive(Default)]
pub struct Context {
    pub collections: VecDeque<Collection>,
    /// The chunk whose watermarks are awaited; new for each chunk.
    pub chunk_id: Option<String>,
    pub window_open: bool,
    window: Vec<Option<WindowRow>>,
    /// The window's rows by key.
    index: HashMap<String, usize>,
    /// Where the next chunk starts (exclusive); `None`: at the table's start.
    pub chunk_end: Option<Vec<KeyPart>>,
    /// The key of the last read event sent: where a restart resumes.
    pub last_sent: Option<Vec<KeyPart>>,
    /// The current table's largest key when it was first read.
    pub max_key: Option<Vec<KeyPart>>,
    pub correlation_id: Option<String>,
    pub paused: bool,
    /// stop-snapshot requests, applied when the next chunk is due (".*": everything).
    pub to_stop: Vec<String>,
    /// read.only: the window's `pg_current_snapshot()` readings, in place of signal rows.
    pub marks: super::watermarks::Watermarks,
}

/// A window key: rows read by COPY and changes decoded from pgoutput give the same values.
pub fn window_key(key: &Value) -> String {
    format!("{key:?}")
}

impl Context {
    pub fn running(&self) -> bool {
        !self.collections.is_empty()
    }

    pub fn current(&self) -> Option<&Collection> {
        self.collections.front()
    }

    /// Debezium's `resetChunk` and `getNext`: on to the next table.
    pub fn next_collection(&mut self) {
        self.collections.pop_front();
        self.chunk_end = None;
        self.last_sent = None;
        self.max_key = None;
    }

    pub fn window_push(&mut self, row: WindowRow) {
        if let Some(k) = &row.key {
            let k = window_key(k);
            if let Some(&i) = self.index.get(&k) {
                self.window[i] = Some(row);
                return;
            }
            self.index.insert(k, self.window.len());
        }
        self.window.push(Some(row));
    }

    /// A change streamed inside the window for `key` of the current table: the chunk's row
    /// is stale, the streamed event stands for it.
    pub fn evict(&mut self, key: &Value) {
        if let Some(i) = self.index.remove(&window_key(key)) {
            self.window[i] = None;
        }
    }

    /// The window's remaining rows, in key order, leaving it empty.
    pub fn take_window(&mut self) -> Vec<WindowRow> {
        self.index.clear();
        std::mem::take(&mut self.window)
            .into_iter()
            .flatten()
            .collect()
    }

    /// Debezium's `store`: the offset keys of a running snapshot, written on every record.
    pub fn stored(&self) -> Option<StoredState> {
        if !self.running() {
            return None;
        }
        let collections: Vec<Json> = self
            .collections
            .iter()
            .map(|c| {
                json!({
                    "incremental_snapshot_collections_id": c.id,
                    "incremental_snapshot_collections_additional_condition": c.condition,
                    "incremental_snapshot_collections_surrogate_key": c.surrogate_key,
                })
            })
            .collect();
        Some(StoredState {
            collections: Json::Array(collections).to_string().into(),
            primary_key: javaser::encode(self.last_sent.as_deref()).into(),
            maximum_key: javaser::encode(self.max_key.as_deref()).into(),
            correlation_id: self.correlation_id.clone().map(Into::into),
        })
    }

    /// The state a stored offset holds (Debezium's `init`): the chunk resumes from the last
    /// key sent. A key kconnect cannot read restarts that table from its start (rows sent
    /// again, none missed).
    pub fn load(offset: &SourceOffset) -> Context {
        let text = |k: &str| match offset.get(k) {
            Some(OffsetValue::String(s)) => Some(s.to_string()),
            _ => None,
        };
        let mut c = Context::default();
        let Some(list) = text(COLLECTIONS) else {
            return c;
        };
        let Ok(Json::Array(items)) = serde_json::from_str::<Json>(&list) else {
            tracing::warn!("the stored {COLLECTIONS} is not a JSON list; the incremental snapshot is dropped: signal it again");
            return c;
        };
        let field = |v: &Json, k: &str| {
            v.get(k)
                .and_then(Json::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        c.collections = items
            .iter()
            .filter_map(|v| {
                Some(Collection {
                    id: field(v, "incremental_snapshot_collections_id")?,
                    condition: field(v, "incremental_snapshot_collections_additional_condition"),
                    surrogate_key: field(v, "incremental_snapshot_collections_surrogate_key"),
                })
            })
            .collect();
        let key = |k: &str| match text(k).map(|h| javaser::decode(&h)) {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => Err(e),
            None => Ok(None),
        };
        match (key(PRIMARY_KEY), key(MAXIMUM_KEY)) {
            (Ok(pk), Ok(max)) => {
                c.chunk_end = pk;
                c.max_key = max;
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!("{e}: the incremental snapshot of the current table starts over from its first row");
            }
        }
        c.correlation_id = text(CORRELATION_ID);
        c
    }
}

/// A running snapshot's offset keys, built once per change of state and copied into each
/// record's offset.
#[derive(Clone)]
pub struct StoredState {
    collections: Box<str>,
    primary_key: Box<str>,
    maximum_key: Box<str>,
    correlation_id: Option<Box<str>>,
}

impl StoredState {
    pub fn set_primary_key(&mut self, key: Option<&[KeyPart]>) {
        self.primary_key = javaser::encode(key).into();
    }

    pub fn write(&self, o: &mut SourceOffset) {
        o.insert(COLLECTIONS, OffsetValue::String(self.collections.clone()));
        o.insert(PRIMARY_KEY, OffsetValue::String(self.primary_key.clone()));
        o.insert(MAXIMUM_KEY, OffsetValue::String(self.maximum_key.clone()));
        if let Some(c) = &self.correlation_id {
            o.insert(CORRELATION_ID, OffsetValue::String(c.clone()));
        }
    }
}

/// A key column's value as the JDBC driver would hand it to Debezium, from its text form.
pub fn key_part(ty: &PgType, text: Option<&str>) -> KeyPart {
    let Some(t) = text else {
        return KeyPart::Null;
    };
    match ty {
        PgType::Int2 | PgType::Int4 => t
            .parse()
            .map(KeyPart::Int)
            .unwrap_or(KeyPart::Str(t.into())),
        PgType::Int8 => t
            .parse()
            .map(KeyPart::Long)
            .unwrap_or(KeyPart::Str(t.into())),
        _ => KeyPart::Str(t.into()),
    }
}

/// A key as Debezium's notifications show it: each part's `Objects.toString(x, "<null>")`,
/// joined by commas.
pub fn key_text(parts: &[KeyPart]) -> String {
    parts
        .iter()
        .map(|p| match p {
            KeyPart::Null => "<null>".to_string(),
            KeyPart::Short(v) => v.to_string(),
            KeyPart::Int(v) => v.to_string(),
            KeyPart::Long(v) => v.to_string(),
            KeyPart::Str(s) => s.clone(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn literal(p: &KeyPart) -> String {
    match p {
        KeyPart::Null => "NULL".into(),
        KeyPart::Short(v) => v.to_string(),
        KeyPart::Int(v) => v.to_string(),
        KeyPart::Long(v) => v.to_string(),
        KeyPart::Str(s) => super::db::literal(s),
    }
}

/// Debezium's lower bound `key > boundary` over the key columns, expanded column by column
/// (`(a > ?) OR (a = ? AND b > ?)`); a NULL sorts last, as in PostgreSQL.
pub fn lower_bound(cols: &[(String, bool)], boundary: &[KeyPart]) -> String {
    let mut sql = String::new();
    let many = cols.len() > 1;
    if many {
        sql.push('(');
    }
    for i in 0..cols.len() {
        sql.push('(');
        for (j, (name, required)) in cols.iter().enumerate().take(i + 1) {
            let last = i == j;
            let name = super::db::ident(name);
            let v = boundary.get(j).unwrap_or(&KeyPart::Null);
            if *required {
                sql.push_str(&format!(
                    "{name} {} {}",
                    if last { ">" } else { "=" },
                    literal(v)
                ));
            } else if *v != KeyPart::Null {
                if last {
                    sql.push_str(&format!("({name} > {} OR {name} IS NULL)", literal(v)));
                } else {
                    sql.push_str(&format!("{name} = {}", literal(v)));
                }
            } else if last {
                sql.push_str("1 = 0");
            } else {
                sql.push_str(&format!("{name} IS NULL"));
            }
            if !last {
                sql.push_str(" AND ");
            }
        }
        sql.push(')');
        if i + 1 < cols.len() {
            sql.push_str(" OR ");
        }
    }
    if many {
        sql.push(')');
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_expand_composite_keys_as_debezium() {
        let cols = [("a".to_string(), true), ("b".to_string(), true)];
        assert_eq!(
            lower_bound(&cols, &[KeyPart::Int(1), KeyPart::Str("x'y".into())]),
            "((\"a\" > 1) OR (\"a\" = 1 AND \"b\" > 'x''y'))"
        );
        assert_eq!(lower_bound(&cols[..1], &[KeyPart::Long(7)]), "(\"a\" > 7)");
    }

    #[test]
    fn state_round_trips_through_the_offsets() {
        let mut c = Context::default();
        c.collections.push_back(Collection {
            id: "public.items".into(),
            condition: Some("qty > 0".into()),
            surrogate_key: None,
        });
        c.last_sent = Some(vec![KeyPart::Int(4)]);
        c.max_key = Some(vec![KeyPart::Int(10)]);
        c.correlation_id = Some("sig-1".into());
        let mut o = SourceOffset::new();
        c.stored().unwrap().write(&mut o);
        assert_eq!(
            o.get(COLLECTIONS).unwrap(),
            &OffsetValue::String(
                r#"[{"incremental_snapshot_collections_id":"public.items","incremental_snapshot_collections_additional_condition":"qty > 0","incremental_snapshot_collections_surrogate_key":null}]"#.into()
            )
        );
        let back = Context::load(&o);
        assert_eq!(back.collections, c.collections);
        assert_eq!(back.chunk_end, Some(vec![KeyPart::Int(4)]));
        assert_eq!(back.last_sent, None);
        assert_eq!(back.max_key, c.max_key);
        assert_eq!(back.correlation_id.as_deref(), Some("sig-1"));
        assert!(Context::default().stored().is_none());
    }
}
