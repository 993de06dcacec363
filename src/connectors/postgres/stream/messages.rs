//! Logical decoding messages in the stream. A transactional one is an event of its
//! transaction, handed out with it. A non-transactional one arrives between transactions and
//! is handed out at once, as Debezium commits its position at once. Its LSN is the end of its
//! WAL record (the server's `buf->endptr`), which is its offset's `lsn_proc`, as Debezium's: a
//! restart skips it (the server too, the record starting before that position) and nothing
//! after it, a record starting there included.

use super::Stream;
use crate::connectors::postgres::events::{self, SourceInfo};
use crate::connectors::postgres::messages::Message;
use crate::data::{SourceOffset, SourceRecord, Value};

impl Stream {
    pub(super) fn logical_message(
        &mut self,
        lsn: u64,
        transactional: bool,
        prefix: &str,
        content: &[u8],
        out: &mut Vec<SourceRecord>,
    ) {
        if transactional {
            self.transactional_message(lsn, prefix, content);
        } else {
            self.immediate_message(lsn, prefix, content, out);
        }
    }

    fn transactional_message(&mut self, lsn: u64, prefix: &str, content: &[u8]) {
        if self.txn.as_ref().is_none_or(|t| t.skip) || !self.cfg.message_prefixes.included(prefix) {
            return;
        }
        let metadata = self.cfg.transaction_topic.is_some();
        let name = metadata.then(|| self.messages.data_collection());
        let txn = self.txn.as_mut().expect("inside a transaction");
        let transaction = match name {
            Some(name) => {
                // Each message counts as a data collection of its own (see messages.rs).
                txn.events += 1;
                txn.per_table.push((name, 1));
                events::transaction_block(&format!("{}:{lsn}", txn.xid), txn.events, 1)
            }
            None => Value::Null,
        };
        let txn = self.txn.as_ref().expect("inside a transaction");
        let record = self.messages.record(
            &self.cfg,
            Message {
                prefix,
                content,
                source: SourceInfo {
                    ts_us: txn.commit_us,
                    snapshot: "false",
                    sequence: compact_str::format_compact!("[\"{}\",\"{lsn}\"]", txn.begin_lsn),
                    tx_id: Some(txn.xid as i64),
                    lsn: Some(lsn as i64),
                    db: &self.cfg.dbname,
                },
                transaction,
            },
        );
        let offset = self.offset(txn, lsn);
        self.buf.push(SourceRecord {
            partition: self.partition.clone(),
            offset,
            record,
        });
    }

    fn immediate_message(
        &mut self,
        lsn: u64,
        prefix: &str,
        content: &[u8],
        out: &mut Vec<SourceRecord>,
    ) {
        // Handed out before the stored position.
        if lsn <= self.resume_proc {
            return;
        }
        let proc = lsn;
        self.message_commit = Some(lsn);
        if self.cfg.message_prefixes.included(prefix) {
            let record = self.messages.record(
                &self.cfg,
                Message {
                    prefix,
                    content,
                    source: SourceInfo {
                        // Debezium keeps the last transaction's commit time and no txId.
                        ts_us: self.last_commit_us,
                        snapshot: "false",
                        sequence: compact_str::format_compact!("[\"{lsn}\",\"{lsn}\"]"),
                        tx_id: None,
                        lsn: Some(lsn as i64),
                        db: &self.cfg.dbname,
                    },
                    transaction: Value::Null,
                },
            );
            let mut offset = SourceOffset::new();
            offset.insert("lsn_proc", proc);
            offset.insert("lsn_commit", lsn);
            offset.insert("lsn", lsn);
            offset.insert("ts_usec", self.last_commit_us);
            if let Some(state) = &self.inc_state {
                state.write(&mut offset);
            }
            self.buf.push(SourceRecord {
                partition: self.partition.clone(),
                offset,
                record,
            });
            self.last_handed_proc = proc;
            self.unfinished = false;
            self.hand_out(out);
        }
        self.last_proc = self.last_proc.max(proc);
    }
}
