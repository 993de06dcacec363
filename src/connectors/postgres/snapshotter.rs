//! Whether a start snapshots, as Debezium 3.6.3 decides it: its snapshotter's answers
//! (io.debezium.snapshot.mode.*) to the questions `BaseSourceTask.validateSchemaHistory` and
//! `PostgresSnapshotChangeEventSource.getSnapshottingTask` ask of the stored offset and the
//! slot. Kept apart from the task so that every mode's answers can be tested without a server.

use super::config::SnapshotMode;
use super::StoredOffset;

/// What a start does.
#[derive(Debug, PartialEq, Eq)]
pub struct Plan {
    pub snapshot: bool,
    /// The stored offset no longer counts (snapshot.on.data.error after the slot was lost):
    /// streaming starts at the new slot, not at the offset's position.
    pub forget_offset: bool,
}

/// Debezium's DebeziumException texts, after kconnect's say of what to do.
const NO_OFFSET: &str = "snapshot.mode.configuration.based.snapshot.on.schema.error=true needs a stored offset to start from, and there is none (Debezium: \"Could not find existing redo log information while attempting schema only recovery snapshot\"); set it to false for a first start";
const NO_DATA_INTERRUPTED: &str = "the connector previously stopped while taking a snapshot, but now snapshot.mode=no_data allows none (Debezium: \"The connector previously stopped while taking a snapshot, but now the connector is configured to never allow snapshots. Reconfigure the connector to use snapshots initially or when needed.\"); set snapshot.mode=initial or when_needed to finish the snapshot, or reset the connector's offsets";
const INTERRUPTED: &str = "the connector previously stopped while taking a snapshot, but now snapshot.mode=configuration_based allows none (snapshot.data and snapshot.schema false); set snapshot.mode.configuration.based.snapshot.data=true to snapshot again, or snapshot.schema=true to stream on";

/// `slot_lost`: the replication slot did not exist at this start (it is created after the
/// question is asked, or must not be: see `lost_slot_fails`).
pub fn plan(mode: SnapshotMode, stored: &StoredOffset, slot_lost: bool) -> Result<Plan, String> {
    let fresh = !stored.exists || stored.snapshot_incomplete;
    let snapshot = match mode {
        SnapshotMode::Always => true,
        SnapshotMode::NoData if stored.snapshot_incomplete => {
            return Err(NO_DATA_INTERRUPTED.into())
        }
        SnapshotMode::NoData => false,
        SnapshotMode::Initial | SnapshotMode::InitialOnly => fresh,
        SnapshotMode::WhenNeeded => fresh || slot_lost,
        SnapshotMode::ConfigurationBased(c) => {
            if !stored.exists && c.on_schema_error {
                return Err(NO_OFFSET.into());
            }
            if stored.snapshot_incomplete && !c.data && !c.schema {
                return Err(INTERRUPTED.into());
            }
            if stored.exists && !stored.snapshot_incomplete && c.stream && slot_lost {
                if !c.on_data_error {
                    return Err(format!(
                        "the stored offset's position (lsn_proc {}) is no longer available on the server: the replication slot is gone, so the changes since were lost (Debezium: \"Reconfigure the connector to use a snapshot mode when needed\"); set snapshot.mode.configuration.based.snapshot.on.data.error=true (with snapshot.data=true to snapshot again) or snapshot.mode=when_needed, or delete the connector's offsets",
                        stored.lsn_proc
                    ));
                }
                return Ok(Plan {
                    snapshot: c.data,
                    forget_offset: true,
                });
            }
            c.data
        }
    };
    Ok(Plan {
        snapshot,
        forget_offset: false,
    })
}

/// Whether a lost slot fails this start (Debezium's log position check: only `when_needed`,
/// and `configuration_based` with `snapshot.on.data.error`, snapshot to fill the gap instead).
/// The slot must then be looked for before it is created, or the next start would find one
/// and stream from it as if nothing was lost.
pub fn lost_slot_fails(mode: SnapshotMode, stored: &StoredOffset) -> bool {
    mode.streams()
        && stored.exists
        && !stored.snapshot_incomplete
        && match mode {
            SnapshotMode::WhenNeeded => false,
            SnapshotMode::ConfigurationBased(c) => !c.on_data_error,
            _ => true,
        }
}

/// Why a start whose slot is gone fails, and what to do.
pub fn lost_slot_error(mode: SnapshotMode, stored: &StoredOffset, slot: &str) -> String {
    if let Err(e) = plan(mode, stored, true) {
        return e;
    }
    format!(
        "the stored offset's position (lsn_proc {}) is no longer available on the server: the replication slot {slot} is gone, so the changes made since were lost (Debezium: \"... is no longer available on the server. Reconfigure the connector to use a snapshot mode when needed\"); set snapshot.mode=when_needed to snapshot the tables again and stream on, or reset the connector's offsets (kconnect offsets reset) to start afresh",
        stored.lsn_proc
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::postgres::config::ConfigurationBased;

    fn cb(data: bool, schema: bool, stream: bool, on_schema: bool, on_data: bool) -> SnapshotMode {
        SnapshotMode::ConfigurationBased(ConfigurationBased {
            data,
            schema,
            stream,
            on_schema_error: on_schema,
            on_data_error: on_data,
        })
    }

    const NONE: StoredOffset = StoredOffset {
        exists: false,
        snapshot_incomplete: false,
        lsn_proc: 0,
    };
    const DONE: StoredOffset = StoredOffset {
        exists: true,
        snapshot_incomplete: false,
        lsn_proc: 100,
    };
    const INCOMPLETE: StoredOffset = StoredOffset {
        exists: true,
        snapshot_incomplete: true,
        lsn_proc: 0,
    };

    fn snaps(mode: SnapshotMode, stored: &StoredOffset, lost: bool) -> bool {
        plan(mode, stored, lost).unwrap().snapshot
    }

    #[test]
    fn snapshot_data_decides_whatever_the_offsets() {
        for stored in [&NONE, &DONE, &INCOMPLETE] {
            assert!(snaps(cb(true, false, true, false, false), stored, false));
            assert!(snaps(cb(true, false, false, false, false), stored, false));
        }
        assert!(!snaps(cb(false, false, true, false, false), &NONE, false));
        assert!(!snaps(cb(false, false, true, false, false), &DONE, false));
    }

    #[test]
    fn no_data_refuses_to_finish_an_interrupted_snapshot() {
        let e = plan(SnapshotMode::NoData, &INCOMPLETE, false).unwrap_err();
        assert!(e.contains("never allow snapshots"), "{e}");
        assert!(!snaps(SnapshotMode::NoData, &DONE, false));
        assert!(!snaps(SnapshotMode::NoData, &NONE, false));
    }

    #[test]
    fn schema_error_recovery_needs_an_offset() {
        let e = plan(cb(true, true, true, true, false), &NONE, false).unwrap_err();
        assert!(
            e.contains("Could not find existing redo log information"),
            "{e}"
        );
        // With an offset there is no schema history to recover in PostgreSQL.
        assert!(plan(cb(false, false, true, true, false), &DONE, false).is_ok());
    }

    #[test]
    fn an_interrupted_snapshot_needs_data_or_schema() {
        let e = plan(cb(false, false, true, false, false), &INCOMPLETE, false).unwrap_err();
        assert!(
            e.contains("previously stopped while taking a snapshot"),
            "{e}"
        );
        assert!(!snaps(
            cb(false, true, true, false, false),
            &INCOMPLETE,
            false
        ));
    }

    #[test]
    fn a_lost_slot_fails_or_forgets_the_offset() {
        let strict = cb(false, false, true, false, false);
        assert!(lost_slot_fails(strict, &DONE));
        assert!(!lost_slot_fails(strict, &NONE));
        let e = plan(strict, &DONE, true).unwrap_err();
        assert!(
            e.contains("lsn_proc 100") && e.contains("on.data.error"),
            "{e}"
        );
        let forgiving = cb(true, false, true, false, true);
        assert!(!lost_slot_fails(forgiving, &DONE));
        assert_eq!(
            plan(forgiving, &DONE, true).unwrap(),
            Plan {
                snapshot: true,
                forget_offset: true
            }
        );
        // Without streaming the slot is never asked about.
        assert!(!lost_slot_fails(
            cb(false, false, false, false, false),
            &DONE
        ));
        assert!(plan(cb(false, false, false, false, false), &DONE, true).is_ok());
    }

    #[test]
    fn the_other_modes_answer_as_before() {
        assert!(snaps(SnapshotMode::Always, &DONE, false));
        assert!(!snaps(SnapshotMode::NoData, &NONE, false));
        assert!(snaps(SnapshotMode::Initial, &INCOMPLETE, false));
        assert!(!snaps(SnapshotMode::Initial, &DONE, true));
        assert!(snaps(SnapshotMode::WhenNeeded, &DONE, true));
        assert!(!snaps(SnapshotMode::InitialOnly, &DONE, false));
    }
}
