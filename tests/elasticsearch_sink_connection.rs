//! How the Elasticsearch sink connects: several URLs, basic auth and compression, TLS with a
//! CA file and a client certificate, and `KCONNECT_TEST_ES_URL` for a run against a real
//! cluster.

mod support;

use serde_json::json;

use support::certs;
use support::es::{count, doc, http};
use support::es_sink::{assert_ok, env};
use support::fault_proxy::FaultProxy;
use support::kafka;

/// Two URLs (both used), basic auth sent on every request but never logged, and gzip bodies.
#[test]
fn several_urls_basic_auth_and_compression() {
    let e = env();
    let topic = "secure";
    kafka::create_topic(&e.kafka.bootstrap(), topic, 1);
    let records: Vec<_> = (0..40)
        .map(|i| (Some(format!("{i}")), Some(format!(r#"{{"i":{i}}}"#))))
        .collect();
    e.produce(topic, &records);
    let es = e.es.url();
    let a = FaultProxy::start(e.es.service.port);
    let b = FaultProxy::start(e.es.service.port);
    let urls = format!("{},{}", a.url(), b.url());
    e.connector(
        "secure",
        topic,
        &urls,
        &[
            ("connection.username", "elastic"),
            ("connection.password", "s3cret-pw"),
            ("connection.compression", "true"),
            ("batch.size", "5"),
            ("linger.ms", "0"),
            ("schema.ignore", "true"),
        ],
    );
    let out = e.run_once();
    assert_ok(&out);
    assert_eq!(count(&es, topic), 40);
    use std::sync::atomic::Ordering::SeqCst;
    assert!(
        a.bulk_requests.load(SeqCst) > 0 && b.bulk_requests.load(SeqCst) > 0,
        "both nodes used"
    );
    // base64("elastic:s3cret-pw")
    for head in a
        .bulk_heads
        .lock()
        .unwrap()
        .iter()
        .chain(b.bulk_heads.lock().unwrap().iter())
    {
        assert!(
            head.contains("authorization: basic zwxhc3rpyzpzm2nyzxqtchc="),
            "{head}"
        );
        assert!(head.contains("content-encoding: gzip"), "{head}");
    }
    let text = support::output_text(&out);
    assert!(
        !text.contains("s3cret-pw"),
        "password in the output: {text}"
    );
}

/// https with a CA file and a client certificate (mutual TLS) through a TLS front end that
/// refuses clients without a certificate signed by the CA.
#[test]
fn tls_with_ca_file_and_client_certificate() {
    use openssl::ssl::{SslAcceptor, SslMethod, SslVerifyMode};
    let e = env();
    let topic = "tls";
    kafka::create_topic(&e.kafka.bootstrap(), topic, 1);
    e.produce(topic, &[(Some("\"a\"".into()), Some(r#"{"v":1}"#.into()))]);
    let ca_key = certs::key();
    let ca = certs::cert("kconnect test CA", &ca_key, None, true);
    let server_key = certs::key();
    let server = certs::cert("localhost", &server_key, Some((&ca, &ca_key)), false);
    let client_key = certs::key();
    let client = certs::cert("kconnect", &client_key, Some((&ca, &ca_key)), false);
    let mut acc = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
    acc.set_private_key(&server_key).unwrap();
    acc.set_certificate(&server).unwrap();
    acc.cert_store_mut().add_cert(ca.clone()).unwrap();
    acc.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
    let proxy = FaultProxy::start_tls(e.es.service.port, acc.build());
    let dir = e.dir.path();
    std::fs::write(dir.join("ca.pem"), ca.to_pem().unwrap()).unwrap();
    let mut client_pem = client.to_pem().unwrap();
    client_pem.extend(client_key.private_key_to_pem_pkcs8().unwrap());
    std::fs::write(dir.join("client.pem"), &client_pem).unwrap();
    let p12 = openssl::pkcs12::Pkcs12::builder()
        .name("client")
        .pkey(&client_key)
        .cert(&client)
        .build2("storepw")
        .unwrap();
    std::fs::write(dir.join("client.p12"), p12.to_der().unwrap()).unwrap();
    let url = format!("https://localhost:{}", proxy.port);
    let ca_path = dir.join("ca.pem").display().to_string();
    let run = |keystore: &str, password: &str| {
        e.connector(
            "tls",
            topic,
            &url,
            &[
                ("elastic.security.protocol", "SSL"),
                ("elastic.https.ssl.truststore.location", &ca_path),
                ("elastic.https.ssl.keystore.location", keystore),
                ("elastic.https.ssl.keystore.password", password),
                ("schema.ignore", "true"),
                ("max.retries", "1"),
            ],
        );
        let _ = support::kconnect(dir)
            .args(["offsets", "reset", "tls"])
            .output();
        e.run_once()
    };
    let p12_path = dir.join("client.p12").display().to_string();
    let out = run(&p12_path, "storepw");
    assert_ok(&out);
    assert_eq!(doc(&e.es.url(), topic, "a").unwrap(), json!({"v": 1}));
    let pem_path = dir.join("client.pem").display().to_string();
    assert_ok(&run(&pem_path, ""));
    let out = run(&p12_path, "wrong-password");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("elastic.https.ssl.keystore"), "{err}");
    assert!(!err.contains("wrong-password"), "{err}");
}

/// Against a real Elasticsearch when KCONNECT_TEST_ES_URL is set.
#[test]
fn real_elasticsearch_when_configured() {
    let Ok(url) = std::env::var("KCONNECT_TEST_ES_URL") else {
        eprintln!("skipped: set KCONNECT_TEST_ES_URL=http://host:9200 to run against a real Elasticsearch");
        return;
    };
    let kafka = support::tansu();
    let dir = tempfile::tempdir().unwrap();
    let topic = format!("kconnect-test-{}", std::process::id());
    kafka::create_topic(&kafka.bootstrap(), &topic, 1);
    kafka::produce(
        &kafka.bootstrap(),
        &topic,
        &[
            (
                Some(b"\"a\"".as_slice()),
                Some(br#"{"v":1}"#.as_slice()),
                vec![],
            ),
            (
                Some(b"\"a\"".as_slice()),
                Some(br#"{"v":2}"#.as_slice()),
                vec![],
            ),
            (Some(b"\"b\"".as_slice()), None, vec![]),
        ],
    );
    let body = json!({"name": "real-es", "config": {
        "connector.class": "ElasticsearchSinkConnector", "topics": topic, "connection.url": url,
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable": "false", "value.converter.schemas.enable": "false",
        "behavior.on.null.values": "delete", "schema.ignore": "true"}});
    support::write(dir.path(), "connectors.d/real.json", &body.to_string());
    let out = support::kconnect(dir.path())
        .args(["run", "--once", "-b", &kafka.bootstrap(), "connectors.d"])
        .output()
        .unwrap();
    assert_ok(&out);
    assert_eq!(doc(&url, &topic, "a").unwrap(), json!({"v": 2}));
    http(&url, "DELETE", &format!("/{topic}"), None);
}
