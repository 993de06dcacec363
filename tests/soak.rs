//! The chaos soak (tests/support/soak.rs): a short run in the suite, every kind of fault at
//! least once; `scripts/soak` runs the long one (`soak_from_env`, ignored here).

mod support;

use support::soak::{run, Config};

#[test]
fn a_short_chaos_soak_loses_nothing() {
    let seed = std::env::var("SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    let report = run(&Config::short(seed));
    println!("{report}");
    assert!(report.passed(), "{report}");
    assert!(
        report.faults.len() == 6 && report.faults.values().all(|f| f.injected > 0),
        "every kind of fault at least once: {report}"
    );
}

#[test]
#[ignore = "the long soak: scripts/soak runs it with its flags as SOAK_* variables"]
fn soak_from_env() {
    let report = run(&Config::from_env());
    println!("{report}");
    assert!(report.passed(), "{report}");
}

/// The judge of revivals: only an older write inside Elasticsearch's delete-version window is
/// set apart as noida-db's; a newer write, or one after the window, stays a failure.
#[test]
fn revivals_are_set_apart_only_where_elasticsearch_would_refuse_the_write() {
    use std::collections::HashMap;
    use std::time::{Duration, Instant};
    use support::soak::{Diff, EsWrite};
    let t = Instant::now();
    let w = |secs: u64, version: i64, seq: Option<i64>| EsWrite {
        at: t + Duration::from_secs(secs),
        version,
        seq,
    };
    let history = HashMap::from([
        // The CI failure of stop 24: delete at 1445, then a retried index at 1430.
        (601, vec![w(0, 1445, None), w(1, 1430, Some(905))]),
        // A write newer than the delete: Elasticsearch would take it too.
        (602, vec![w(0, 1445, None), w(1, 1450, Some(906))]),
        // An older write after gc_deletes: Elasticsearch would take it too.
        (603, vec![w(0, 1445, None), w(61, 1430, Some(907))]),
        // Never deleted in Elasticsearch at all.
        (604, vec![w(0, 1430, Some(908))]),
    ]);
    let mut d = Diff {
        revived: 4,
        revived_ids: vec![601, 602, 603, 604],
        examples: vec!["row 601".into()],
        ids: vec![601],
        ..Diff::default()
    };
    d.set_apart_noida_revivals(&history);
    assert_eq!((d.revived, d.revived_by_noida), (3, 1));
    assert!(
        d.examples[0].contains("only on noida-db"),
        "{:?}",
        d.examples
    );
}
