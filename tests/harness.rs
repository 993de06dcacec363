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

#[test]
fn noida_db_starts_and_stops_for_good() {
    let port;
    {
        let es = support::elasticsearch();
        port = es.service.port;
        let (status, body) = support::es::http(&es.url(), "GET", "/", None);
        assert_eq!(status, 200, "{body}");
    }
    // Dropping the handle stops the server itself, not just a launcher.
    let gone = support::eventually(std::time::Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port))
            .is_err()
            .then_some(())
    });
    assert!(gone.is_some(), "noida-db still listens on {port}");
}
