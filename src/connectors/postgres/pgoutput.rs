//! pgoutput's logical replication protocol, version 1 (PostgreSQL's "Logical Replication
//! Message Formats"): one message per row of `pg_logical_slot_get_binary_changes`. Column
//! values arrive in text format; borrowed from the row so decoding allocates nothing per
//! column until a value is built.

#[derive(Debug, thiserror::Error)]
#[error("malformed pgoutput message ({0}); is the slot using the pgoutput plugin?")]
pub struct DecodeError(pub &'static str);

#[derive(Debug, PartialEq)]
pub enum TupleValue<'a> {
    Null,
    /// An unchanged TOASTed value the old row did not carry.
    Unchanged,
    Text(&'a str),
}

#[derive(Debug, PartialEq)]
pub struct RelationColumn {
    /// Part of the replica identity (flag 1).
    pub key: bool,
    pub name: String,
    pub type_oid: u32,
    pub typmod: i32,
}

#[derive(Debug, PartialEq)]
pub struct Relation {
    pub oid: u32,
    pub namespace: String,
    pub name: String,
    /// d(efault), n(othing), f(ull), i(ndex)
    pub replica_identity: u8,
    pub columns: Vec<RelationColumn>,
}

#[derive(Debug, PartialEq)]
pub enum Message<'a> {
    Begin {
        final_lsn: u64,
        /// Microseconds since 2000-01-01.
        commit_ts: i64,
        xid: u32,
    },
    Commit {
        commit_lsn: u64,
        end_lsn: u64,
        commit_ts: i64,
    },
    Origin,
    Relation(Relation),
    Type,
    Insert {
        rel: u32,
        new: Vec<TupleValue<'a>>,
    },
    Update {
        rel: u32,
        /// 'K' (key columns only) or 'O' (whole old row), when the replica identity sends it.
        old: Option<(u8, Vec<TupleValue<'a>>)>,
        new: Vec<TupleValue<'a>>,
    },
    Delete {
        rel: u32,
        old: (u8, Vec<TupleValue<'a>>),
    },
    Truncate {
        rels: Vec<u32>,
    },
    /// A logical decoding message (`pg_logical_emit_message`), sent when the `messages`
    /// option is on (PostgreSQL 14 and later).
    Logical {
        /// Sent inside its transaction at commit; otherwise at once, outside any.
        transactional: bool,
        lsn: u64,
        prefix: &'a str,
        content: &'a [u8],
    },
    /// Anything newer than protocol 1.
    Other,
}

/// Microseconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01.
pub const PG_EPOCH_OFFSET_US: i64 = 946_684_800_000_000;

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let s = self
            .b
            .get(self.pos..self.pos + n)
            .ok_or(DecodeError("truncated"))?;
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    fn i16(&mut self) -> Result<i16, DecodeError> {
        Ok(i16::from_be_bytes(self.take(2)?.try_into().unwrap()))
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn cstr(&mut self) -> Result<&'a str, DecodeError> {
        let rest = &self.b[self.pos..];
        let end = rest
            .iter()
            .position(|&c| c == 0)
            .ok_or(DecodeError("unterminated string"))?;
        self.pos += end + 1;
        std::str::from_utf8(&rest[..end]).map_err(|_| DecodeError("name is not UTF-8"))
    }
    fn tuple(&mut self) -> Result<Vec<TupleValue<'a>>, DecodeError> {
        let n = self.i16()?.max(0) as usize;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(match self.u8()? {
                b'n' => TupleValue::Null,
                b'u' => TupleValue::Unchanged,
                b't' => {
                    let len = self.i32()?.max(0) as usize;
                    let bytes = self.take(len)?;
                    TupleValue::Text(
                        std::str::from_utf8(bytes)
                            .map_err(|_| DecodeError("value is not UTF-8"))?,
                    )
                }
                _ => {
                    return Err(DecodeError(
                        "unknown column kind (binary mode is not supported)",
                    ))
                }
            });
        }
        Ok(out)
    }
}

pub fn decode(b: &[u8]) -> Result<Message<'_>, DecodeError> {
    let mut r = Reader { b, pos: 0 };
    Ok(match r.u8()? {
        b'B' => Message::Begin {
            final_lsn: r.u64()?,
            commit_ts: r.i64()?,
            xid: r.u32()?,
        },
        b'C' => {
            let _flags = r.u8()?;
            Message::Commit {
                commit_lsn: r.u64()?,
                end_lsn: r.u64()?,
                commit_ts: r.i64()?,
            }
        }
        b'O' => Message::Origin,
        b'Y' => Message::Type,
        b'R' => {
            let oid = r.u32()?;
            let namespace = r.cstr()?.to_string();
            let name = r.cstr()?.to_string();
            let replica_identity = r.u8()?;
            let n = r.i16()?.max(0) as usize;
            let mut columns = Vec::with_capacity(n);
            for _ in 0..n {
                let flags = r.u8()?;
                columns.push(RelationColumn {
                    key: flags & 1 == 1,
                    name: r.cstr()?.to_string(),
                    type_oid: r.u32()?,
                    typmod: r.i32()?,
                });
            }
            Message::Relation(Relation {
                oid,
                namespace,
                name,
                replica_identity,
                columns,
            })
        }
        b'I' => {
            let rel = r.u32()?;
            if r.u8()? != b'N' {
                return Err(DecodeError("insert without a new tuple"));
            }
            Message::Insert {
                rel,
                new: r.tuple()?,
            }
        }
        b'U' => {
            let rel = r.u32()?;
            let mut kind = r.u8()?;
            let mut old = None;
            if kind == b'K' || kind == b'O' {
                old = Some((kind, r.tuple()?));
                kind = r.u8()?;
            }
            if kind != b'N' {
                return Err(DecodeError("update without a new tuple"));
            }
            Message::Update {
                rel,
                old,
                new: r.tuple()?,
            }
        }
        b'D' => {
            let rel = r.u32()?;
            let kind = r.u8()?;
            Message::Delete {
                rel,
                old: (kind, r.tuple()?),
            }
        }
        b'T' => {
            let n = r.u32()? as usize;
            let _options = r.u8()?;
            // The count is the sender's word: room for no more relations than the message
            // holds (4 bytes each), not the 16 GiB a count of 4 billion would ask for.
            let mut rels = Vec::with_capacity(n.min(r.b.len().saturating_sub(r.pos) / 4));
            for _ in 0..n {
                rels.push(r.u32()?);
            }
            Message::Truncate { rels }
        }
        b'M' => {
            let transactional = r.u8()? & 1 == 1;
            let lsn = r.u64()?;
            let prefix = r.cstr()?;
            let len = r.i32()?.max(0) as usize;
            Message::Logical {
                transactional,
                lsn,
                prefix,
                content: r.take(len)?,
            }
        }
        _ => Message::Other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_relation_and_changes() {
        let mut rel = vec![b'R'];
        rel.extend(16384u32.to_be_bytes());
        rel.extend(b"public\0t\0d");
        rel.extend(2i16.to_be_bytes());
        rel.push(1);
        rel.extend(b"id\0");
        rel.extend(23u32.to_be_bytes());
        rel.extend((-1i32).to_be_bytes());
        rel.push(0);
        rel.extend(b"name\0");
        rel.extend(25u32.to_be_bytes());
        rel.extend((-1i32).to_be_bytes());
        match decode(&rel).unwrap() {
            Message::Relation(r) => {
                assert_eq!(r.name, "t");
                assert!(r.columns[0].key && !r.columns[1].key);
                assert_eq!(r.columns[1].type_oid, 25);
            }
            m => panic!("{m:?}"),
        }
        let mut upd = vec![b'U'];
        upd.extend(16384u32.to_be_bytes());
        upd.push(b'K');
        upd.extend(2i16.to_be_bytes());
        upd.extend(b"t");
        upd.extend(1i32.to_be_bytes());
        upd.extend(b"1n");
        upd.push(b'N');
        upd.extend(2i16.to_be_bytes());
        upd.extend(b"t");
        upd.extend(1i32.to_be_bytes());
        upd.extend(b"2u");
        assert_eq!(
            decode(&upd).unwrap(),
            Message::Update {
                rel: 16384,
                old: Some((b'K', vec![TupleValue::Text("1"), TupleValue::Null])),
                new: vec![TupleValue::Text("2"), TupleValue::Unchanged],
            }
        );
        assert!(decode(&[b'I', 0, 0]).is_err());
    }

    #[test]
    fn decodes_logical_decoding_messages() {
        let mut m = vec![b'M', 1];
        m.extend(0x1522A48u64.to_be_bytes());
        m.extend(b"audit\0");
        m.extend(3i32.to_be_bytes());
        m.extend([0, 0xff, b'x']);
        assert_eq!(
            decode(&m).unwrap(),
            Message::Logical {
                transactional: true,
                lsn: 0x1522A48,
                prefix: "audit",
                content: &[0, 0xff, b'x'],
            }
        );
        m.truncate(m.len() - 1);
        assert!(decode(&m).is_err(), "content shorter than its length");
    }
}
