//! PostgresConnector's connection security: TLS with Debezium's `database.sslmode`, the CA
//! from libpq's default file, client certificates, SCRAM and MD5 logins, and refusals that say
//! what to change.

mod support;

use std::path::Path;

use support::pg_source::{
    connector_file, failed_run, final_rows, once_command, run_once, tls_postgres,
    with_small_messages, CONNECTOR_FAILED,
};
use support::{PgOptions, Postgres};

/// database.sslmode=verify-full with the CA in database.sslrootcert snapshots and streams from
/// a server that accepts only TLS connections.
#[test]
fn tls_verify_full_streams_changes() {
    let pg = tls_postgres();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    let ca = pg.tls_ca.clone().unwrap();
    pg.psql("CREATE TABLE secure (id int PRIMARY KEY, t text); INSERT INTO secure VALUES (1, 'snapshot')");
    connector_file(
        dir.path(),
        &pg,
        &with_small_messages(&[
            ("database.hostname", "localhost"),
            ("database.sslmode", "verify-full"),
            ("database.sslrootcert", ca.to_str().unwrap()),
            ("table.include.list", "public.secure"),
        ]),
    );
    run_once(dir.path(), &k.bootstrap());
    pg.psql("INSERT INTO secure VALUES (2, 'streamed')");
    run_once(dir.path(), &k.bootstrap());
    let (rows, n) = final_rows(&k.bootstrap(), "dbserver1.public.secure", "t");
    assert_eq!(n, 2);
    assert_eq!(rows[&1], "snapshot");
    assert_eq!(rows[&2], "streamed");
}

/// Without database.sslrootcert, the CA comes from ~/.postgresql/root.crt as in libpq and the
/// JDBC driver; and that file makes `require` check the chain too (libpq's compatibility rule).
#[test]
fn tls_root_cert_defaults_to_home_postgresql_root_crt() {
    let pg = tls_postgres();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".postgresql")).unwrap();
    let root_crt = home.path().join(".postgresql/root.crt");
    std::fs::copy(pg.tls_ca.clone().unwrap(), &root_crt).unwrap();
    pg.psql("CREATE TABLE homeca (id int PRIMARY KEY, t text); INSERT INTO homeca VALUES (1, 'a')");
    connector_file(
        dir.path(),
        &pg,
        &with_small_messages(&[
            ("database.hostname", "localhost"),
            ("database.sslmode", "verify-full"),
            ("table.include.list", "public.homeca"),
        ]),
    );
    let run = |home: &Path| {
        once_command(dir.path(), &k.bootstrap())
            .env("HOME", home)
            .output()
            .unwrap()
    };
    let out = run(home.path());
    assert!(out.status.success(), "{}", support::output_text(&out));
    let (rows, _) = final_rows(&k.bootstrap(), "dbserver1.public.homeca", "t");
    assert_eq!(rows[&1], "a");

    // A root.crt of another CA: require now checks the chain, and refuses this server.
    let other = tempfile::tempdir().unwrap();
    let (wrong_ca, _) = support::make_ca(other.path(), "other-ca");
    std::fs::copy(&wrong_ca, &root_crt).unwrap();
    connector_file(
        dir.path(),
        &pg,
        // A new slot while an offset is stored: when_needed snapshots again instead of
        // failing on the lost position (Debezium's log position check).
        &[
            ("database.sslmode", "require"),
            ("slot.name", "other_slot"),
            ("snapshot.mode", "when_needed"),
        ],
    );
    let out = run(home.path());
    let text = support::output_text(&out);
    assert_eq!(out.status.code(), Some(CONNECTOR_FAILED), "{text}");
    assert!(text.contains("certificate verify failed"), "{text}");

    // With no root.crt anywhere, require encrypts without checking.
    let empty_home = tempfile::tempdir().unwrap();
    let out = run(empty_home.path());
    assert!(out.status.success(), "{}", support::output_text(&out));
}

/// A server that logs users in by client certificate only (`cert` in pg_hba.conf): the
/// connector presents database.sslcert and database.sslkey, an encrypted PKCS#8 key opened
/// with database.sslpassword, and streams; without a certificate the refusal says what to set.
#[test]
fn client_certificate_login() {
    let pg = Postgres::start_with(PgOptions {
        tls: true,
        client_certs: true,
        ..PgOptions::default()
    });
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();
    let ca_crt = pg.tls_ca.clone().unwrap();
    let ca = (ca_crt.clone(), ca_crt.with_file_name("ca.key"));
    let certs = tempfile::tempdir().unwrap();
    let (crt, key) = support::make_client_cert(certs.path(), &ca, "postgres", "cl1ent-pass");
    pg.psql(
        "CREATE TABLE certs (id int PRIMARY KEY, t text); INSERT INTO certs VALUES (1, 'by cert')",
    );
    let tls = [
        ("database.hostname", "localhost"),
        ("database.sslmode", "verify-full"),
        ("database.sslrootcert", ca_crt.to_str().unwrap()),
        ("table.include.list", "public.certs"),
    ];
    let mut with_cert = tls.to_vec();
    with_cert.extend([
        ("database.sslcert", crt.to_str().unwrap()),
        ("database.sslkey", key.to_str().unwrap()),
        ("database.sslpassword", "cl1ent-pass"),
    ]);
    connector_file(dir.path(), &pg, &with_small_messages(&with_cert));
    run_once(dir.path(), &k.bootstrap());
    pg.psql("INSERT INTO certs VALUES (2, 'streamed')");
    run_once(dir.path(), &k.bootstrap());
    let (rows, _) = final_rows(&k.bootstrap(), "dbserver1.public.certs", "t");
    assert_eq!(rows[&1], "by cert");
    assert_eq!(rows[&2], "streamed");

    connector_file(dir.path(), &pg, &tls);
    let text = failed_run(dir.path(), &k.bootstrap());
    assert!(
        text.contains("refused the login of user postgres"),
        "{text}"
    );
    assert!(
        text.contains("set database.sslcert and database.sslkey"),
        "{text}"
    );
    assert!(!text.contains("cl1ent-pass"), "{text}");
}

/// The replication connection logs in as libpq does: SCRAM (bound to the TLS channel when
/// there is one, SCRAM-SHA-256-PLUS) and MD5. A wrong password is refused with what to check
/// and is never shown.
#[test]
fn password_logins_stream_changes() {
    let k = support::noida_kafka();
    for (i, (method, tls, mechanism)) in [
        ("scram-sha-256", false, Some("SCRAM-SHA-256")),
        ("md5", false, None),
        ("scram-sha-256", true, Some("SCRAM-SHA-256-PLUS")),
    ]
    .into_iter()
    .enumerate()
    {
        let pg = Postgres::start_with(PgOptions {
            tls,
            password_auth: Some(method),
            ..PgOptions::default()
        });
        let dir = tempfile::tempdir().unwrap();
        pg.psql("CREATE TABLE logins (id int PRIMARY KEY, t text); INSERT INTO logins VALUES (1, 'snapshot')");
        let prefix = format!("login{i}");
        let mut extra = vec![
            ("table.include.list", "public.logins"),
            ("topic.prefix", prefix.as_str()),
        ];
        if tls {
            extra.push(("database.sslmode", "require"));
        }
        connector_file(dir.path(), &pg, &with_small_messages(&extra));
        run_once(dir.path(), &k.bootstrap());
        pg.psql("INSERT INTO logins VALUES (2, 'streamed')");
        let out = once_command(dir.path(), &k.bootstrap())
            .env("KCONNECT_LOG", "info,kconnect::connectors::postgres=debug")
            .output()
            .unwrap();
        let text = support::output_text(&out);
        assert!(out.status.success(), "{method} tls={tls}: {text}");
        if let Some(m) = mechanism {
            assert!(text.contains(&format!("mechanism=\"{m}\"")), "{text}");
        }
        let (rows, _) = final_rows(&k.bootstrap(), &format!("{prefix}.public.logins"), "t");
        assert_eq!(rows[&1], "snapshot", "{method} tls={tls}");
        assert_eq!(rows[&2], "streamed", "{method} tls={tls}");

        extra.push(("database.password", "n0t-the-passw0rd"));
        connector_file(dir.path(), &pg, &extra);
        let text = failed_run(dir.path(), &k.bootstrap());
        assert!(
            text.contains("refused the login of user postgres"),
            "{text}"
        );
        assert!(
            text.contains("check database.user, database.password"),
            "{text}"
        );
        assert!(!text.contains("n0t-the-passw0rd"), "{text}");
    }
}

/// A plain connection to a TLS-only server and a certificate from another CA are refused
/// with messages that say what to change; neither is retried.
#[test]
fn tls_refusals_say_what_to_change() {
    let pg = tls_postgres();
    let k = support::noida_kafka();
    let dir = tempfile::tempdir().unwrap();

    connector_file(
        dir.path(),
        &pg,
        &[
            ("database.sslmode", "disable"),
            ("database.sslpassword", "k3y-secret"),
        ],
    );
    let text = failed_run(dir.path(), &k.bootstrap());
    assert!(
        text.contains(&format!(
            "PostgreSQL at 127.0.0.1:{} accepts only TLS connections",
            pg.port()
        )),
        "{text}"
    );
    assert!(
        text.contains("set database.sslmode to prefer, require"),
        "{text}"
    );
    assert!(
        !text.contains("k3y-secret"),
        "the key password leaked: {text}"
    );

    let other = tempfile::tempdir().unwrap();
    let (wrong_ca, _) = support::make_ca(other.path(), "other-ca");
    connector_file(
        dir.path(),
        &pg,
        &[
            ("database.hostname", "localhost"),
            ("database.sslmode", "verify-full"),
            ("database.sslrootcert", wrong_ca.to_str().unwrap()),
        ],
    );
    let text = failed_run(dir.path(), &k.bootstrap());
    assert!(
        text.contains(&format!(
            "TLS to PostgreSQL at localhost:{}: certificate verify failed",
            pg.port()
        )),
        "{text}"
    );
    assert!(
        text.contains("set database.sslrootcert to the CA that signed the server's certificate"),
        "{text}"
    );

    // kconnect validate catches a verify mode without a CA before anything connects.
    connector_file(
        dir.path(),
        &pg,
        &[
            ("database.sslmode", "verify-ca"),
            ("database.sslcert", "/nonexistent/client.crt"),
        ],
    );
    let no_home = tempfile::tempdir().unwrap();
    let out = support::kconnect(dir.path())
        .arg("validate")
        .arg(dir.path().join("connectors.d/pg.json"))
        .env("HOME", no_home.path())
        .output()
        .unwrap();
    let text = support::output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("database.sslrootcert"), "{text}");
    assert!(text.contains("/nonexistent/client.crt"), "{text}");
}
