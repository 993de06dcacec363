//! The JDBC sink over TLS, configured from the JDBC URL's parameters as the driver reads them.

mod support;

use support::jdbc_sink::{connector, produce, rows, run_ok, run_once, simple, Env};
use support::{PgOptions, Postgres};

/// sslmode=verify-full with sslrootcert in connection.url writes to a server that accepts only
/// TLS connections, and the server certificate is checked.
#[test]
fn tls_verify_full_from_the_url_writes_rows() {
    let e = Env {
        pg: Postgres::start_with(PgOptions {
            tls: true,
            ..PgOptions::default()
        }),
        kafka: support::tansu(),
        dir: tempfile::tempdir().unwrap(),
    };
    let ca = e.pg.tls_ca.clone().unwrap();
    produce(&e, "secure", &[(None, simple(1, "over tls", 7))]);
    let conn = connector(
        &e,
        "tls-sink",
        "secure",
        &[
            (
                "connection.url",
                &format!(
                    "jdbc:postgresql://localhost:{}/postgres?user=postgres&sslmode=verify-full&sslrootcert={}",
                    e.pg.port(),
                    ca.display()
                ),
            ),
            ("auto.create", "true"),
        ],
    );
    run_ok(&e, &conn);
    assert_eq!(rows(&e.pg, "SELECT id, name FROM secure"), ["1|over tls"]);

    // Without TLS the server turns the sink away, and the message says what to set.
    produce(&e, "secure", &[(None, simple(2, "plain", 8))]);
    let conn = connector(
        &e,
        "tls-sink",
        "secure",
        &[(
            "connection.url",
            &format!(
                "jdbc:postgresql://127.0.0.1:{}/postgres?user=postgres&sslmode=disable",
                e.pg.port()
            ),
        )],
    );
    let out = run_once(&e, &conn);
    let text = support::output_text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("accepts only TLS connections"), "{text}");
    assert!(text.contains("connection.url"), "{text}");
}
