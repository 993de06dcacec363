//! PostgresConnector's column types beyond the built-in scalars: the geometric types (point as
//! Debezium's Point struct, the others left out), PostGIS geometry and geography, ranges, ltree, citext, isbn, tsvector, their
//! arrays and domains, types Debezium has no converter for (left out, or bytes with
//! include.unknown.datatypes=true) and time.precision.mode=isostring. The events equal the real
//! Debezium 3.6.3's, made by `scripts/gen-postgres-fixtures tests/fixtures/<name>`.

mod support;

use std::path::PathBuf;

use support::pg_source::replay_fixture;

fn fixture(name: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// point (and a domain over it) as io.debezium.data.geometry.Point with its WKB, a NOT NULL
/// point without its default and (0,0) in a key-only delete's `before`; box, circle, line,
/// lseg, path, polygon, point[] and box[] left out (tests/fixtures/postgres-types-geometric).
#[test]
fn geometric_types_equal_debeziums() {
    let replayed = replay_fixture(&fixture("postgres-types-geometric"));
    let log = replayed.log;
    assert!(
        log.contains("column public.geo.b of type box is left out of change events"),
        "{log}"
    );
}

/// Ranges as their text, ltree as io.debezium.data.Ltree, citext and isbn as strings without
/// defaults, tsvector as io.debezium.data.Tsvector, arrays and domains of them
/// (tests/fixtures/postgres-types-range).
#[test]
fn range_and_extension_types_equal_debeziums() {
    replay_fixture(&fixture("postgres-types-range"));
}

/// include.unknown.datatypes=false: columns of unknown types left out of values and keys (a
/// key of only such columns is an empty struct) (tests/fixtures/postgres-unknown-types).
#[test]
fn unknown_types_are_left_out_as_by_debezium() {
    let replayed = replay_fixture(&fixture("postgres-unknown-types"));
    let log = replayed.log;
    assert!(
        log.contains("column public.uk.tq of type tsquery is left out of change events"),
        "{log}"
    );
}

/// include.unknown.datatypes=true: the bytes of their text (the JDBC driver's for geometric
/// types), arrays of domains as arrays of bytes; money[], interval[] and the like still left
/// out (tests/fixtures/postgres-unknown-types-included).
#[test]
fn unknown_types_included_as_bytes_as_by_debezium() {
    replay_fixture(&fixture("postgres-unknown-types-included"));
}

/// include.unknown.datatypes=true with binary.handling.mode=hex: the text's bytes as lower-case
/// hex strings (tests/fixtures/postgres-unknown-types-hex).
#[test]
fn unknown_types_included_as_hex_as_by_debezium() {
    replay_fixture(&fixture("postgres-unknown-types-hex"));
}

/// PostGIS geometry and geography as Debezium's Geometry/Geography structs (EWKB and SRID),
/// arrays (`:`-separated), a domain, a NOT NULL column's empty collection in a key-only delete
/// (tests/fixtures/postgres-types-postgis). Skipped, saying so, where PostGIS is not installed
/// (scripts/install-deps installs it).
#[test]
fn postgis_types_equal_debeziums() {
    let installed = std::fs::read_dir("/usr/share/postgresql")
        .map(|dirs| {
            dirs.flatten()
                .any(|d| d.path().join("extension/postgis.control").exists())
        })
        .unwrap_or(false);
    if !installed {
        eprintln!(
            "SKIPPED postgis_types_equal_debeziums: the PostGIS extension is not installed \
             (apt-get install postgresql-NN-postgis-3, or scripts/install-deps)"
        );
        return;
    }
    replay_fixture(&fixture("postgres-types-postgis"));
}

/// time.precision.mode=isostring: IsoDate, IsoTime and IsoTimestamp strings, in arrays and
/// defaults too, years BC and past 9999 (tests/fixtures/postgres-time-isostring).
#[test]
fn isostring_time_precision_equals_debeziums() {
    replay_fixture(&fixture("postgres-time-isostring"));
}
