//! Entry points for the PostgreSQL fuzz targets in `fuzz/` (cargo-fuzz) and for
//! `tests/fuzz_corpus.rs`, which replays their committed corpora in a plain `cargo test`:
//! the pgoutput decoder, the column values it carries read as their types, and the framing of
//! the replication stream around it. Each entry panics only where decoding panicked or failed
//! without a message. Not an API; hidden from the docs.

use super::pgoutput::{decode, Message, TupleValue};
use super::replication::{copy_data, frame_header, WalMessage};
use super::types::{self, default_literal, DecimalMode, PgType};
use crate::connectors::pg_errors::ServerError;

/// The types a tuple's columns are read as, in turn from the relation id on (the decoder has
/// no catalog): every built-in type kconnect maps, and arrays.
fn column_type(rel: u32, column: usize) -> PgType {
    const BUILTIN: &[(u32, i32)] = &[
        (types::OID_BOOL, -1),
        (types::OID_INT2, -1),
        (types::OID_INT4, -1),
        (types::OID_INT8, -1),
        (types::OID_FLOAT4, -1),
        (types::OID_FLOAT8, -1),
        (types::OID_NUMERIC, -1),
        (types::OID_NUMERIC, (10 << 16 | 2) + 4),
        (types::OID_MONEY, -1),
        (types::OID_TEXT, -1),
        (types::OID_BYTEA, -1),
        (types::OID_DATE, -1),
        (types::OID_TIME, -1),
        (types::OID_TIME, 3),
        (types::OID_TIMETZ, -1),
        (types::OID_TIMESTAMP, -1),
        (types::OID_TIMESTAMP, 3),
        (types::OID_TIMESTAMPTZ, -1),
        (types::OID_INTERVAL, -1),
        (types::OID_UUID, -1),
        (types::OID_JSONB, -1),
        (types::OID_BIT, 1),
        (types::OID_VARBIT, 12),
    ];
    let i = (rel as usize).wrapping_add(column) % (BUILTIN.len() + 3);
    match BUILTIN.get(i) {
        Some(&(oid, typmod)) => types::builtin(oid, typmod).expect("built-in"),
        None => PgType::Array(Box::new(column_type(rel, column + i))),
    }
}

/// Each value of a tuple read as its column's type, as the stream does with a row.
fn values(rel: u32, tuple: &[TupleValue<'_>]) {
    let mode = [
        DecimalMode::Precise,
        DecimalMode::Double,
        DecimalMode::String,
    ][rel as usize % 3];
    for (i, v) in tuple.iter().enumerate() {
        let ty = column_type(rel, i);
        let schema = ty.schema(true, mode, 2);
        match v {
            TupleValue::Text(text) => {
                if let Err(e) = ty.parse(text, &schema) {
                    assert!(!e.is_empty());
                }
                let _ = default_literal(text);
            }
            TupleValue::Unchanged => {
                let _ = ty.placeholder("__debezium_unavailable_value");
            }
            TupleValue::Null => {}
        }
    }
}

/// One pgoutput message, as `pg_logical_slot_get_binary_changes` or an XLogData hands it
/// over, and the values of the rows it carries.
pub fn pgoutput(data: &[u8]) {
    match decode(data) {
        Ok(Message::Relation(r)) => {
            for c in &r.columns {
                if let Some(ty) = types::builtin(c.type_oid, c.typmod) {
                    let _ = ty.schema(!c.key, DecimalMode::Precise, 2);
                }
            }
        }
        Ok(Message::Insert { rel, new }) => values(rel, &new),
        Ok(Message::Update { rel, old, new }) => {
            if let Some((_, old)) = old {
                values(rel, &old);
            }
            values(rel, &new);
        }
        Ok(Message::Delete { rel, old }) => values(rel, &old.1),
        Ok(_) => {}
        Err(e) => assert!(!e.0.is_empty() && !e.to_string().is_empty()),
    }
}

/// Bytes as the server sends them on a replication connection after START_REPLICATION: backend
/// messages framed by tag and length, CopyData carrying XLogData (whose pgoutput message is
/// decoded as [`pgoutput`] does) and keepalives, errors and notices.
pub fn replication_stream(data: &[u8]) {
    let mut rest = data;
    loop {
        let (tag, total) = match frame_header(rest) {
            Ok(Some(h)) => h,
            Ok(None) => return,
            Err(e) => return assert!(!e.is_empty()),
        };
        // The connection waits for the rest of a message; here the stream ends.
        let Some(body) = rest.get(5..total) else {
            return;
        };
        rest = &rest[total..];
        match tag {
            b'd' => match copy_data(body) {
                Some(WalMessage::XLogData { lsn, data }) => {
                    let _ = lsn;
                    pgoutput(data);
                }
                Some(WalMessage::Keepalive { wal_end, reply }) => {
                    let _ = (wal_end, reply);
                }
                None => {}
            },
            b'E' | b'N' => {
                let e = ServerError::parse(body);
                let _ = e.is_transient();
                assert!(!e.to_string().is_empty());
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inputs the fuzzer found that panicked (an i64 overflow in the time parsers); kept in
    /// fuzz/corpus/ too.
    #[test]
    fn crash_inputs_are_errors() {
        // A Delete whose key column, read as timetz, was all offset.
        pgoutput(b"D\x00\x08\xfe\x84\x00\x01t\x00\x00\x00\x14-2233720367586847758");
        // An Insert carried in XLogData whose timestamp lies past year 294247.
        let mut insert = b"I\x00\x00\x00\x0fN\x00\x01t\x00\x00\x00\x1c".to_vec();
        insert.extend(b"294277-01-09 04:00:54.775807");
        let mut copy = b"w".to_vec();
        copy.extend([0; 24]);
        copy.extend(&insert);
        let mut stream = b"d".to_vec();
        stream.extend((copy.len() as u32 + 4).to_be_bytes());
        stream.extend(copy);
        replication_stream(&stream);
        // A Truncate counting 4 billion relations asked for 16 GiB up front.
        pgoutput(b"T\xff\xff\xff\xff\x00");
        // A length word past what PostgreSQL sends.
        assert!(frame_header(b"d\x7f\xff\xff\xff").is_err());
    }
}
