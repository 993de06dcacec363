//! The harness's own check: every real service starts and answers.

mod support;

#[test]
fn services_start_and_answer() {
    let pg = support::Postgres::start();
    assert_eq!(pg.psql("show wal_level"), "logical");
    let k = support::tansu();
    support::kafka::create_topic(&k.bootstrap(), "harness", 1);
    support::kafka::produce(&k.bootstrap(), "harness", &[(None, Some(b"x"), vec![])]);
    let got = support::kafka::consume_all(&k.bootstrap(), "harness");
    assert_eq!(got.len(), 1);
}
