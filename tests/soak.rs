//! The chaos soak (tests/support/soak.rs): a short run in the suite, every kind of fault at
//! least once; `scripts/soak` runs the long one (`soak_from_env`, ignored here).

mod support;

use support::soak::{cut_kinds, run, Config};

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
        report.faults.len() == 5 + cut_kinds().len()
            && report.faults.values().all(|f| f.injected > 0),
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
