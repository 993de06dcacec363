//! `/connector-plugins` and `/admin/loggers`.

use serde_json::{json, Value as Json};

use super::*;

#[test]
fn connector_plugins() {
    let (c, _) = ctx();
    let only = body(&call(&c, "GET", "/connector-plugins", ""));
    let all = body(&call(
        &c,
        "GET",
        "/connector-plugins?connectorsOnly=false",
        "",
    ));
    let types = |j: &Json| {
        j.as_array()
            .unwrap()
            .iter()
            .map(|p| p["type"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert!(types(&only).iter().all(|t| t == "source" || t == "sink"));
    for t in [
        "converter",
        "header_converter",
        "transformation",
        "predicate",
    ] {
        assert!(types(&all).iter().any(|x| x == t), "{t}");
    }
    assert!(only.as_array().unwrap().iter().any(|p| p == &json!({"class":"org.apache.kafka.connect.file.FileStreamSourceConnector","type":"source","version":"4.3.0"})));
    let cfg = body(&call(
        &c,
        "GET",
        "/connector-plugins/FileStreamSource/config",
        "",
    ));
    let topic = cfg
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "topic")
        .unwrap();
    assert_eq!(topic["type"], json!("STRING"));
    assert_eq!(topic["required"], json!(true));
    for f in [
        "default_value",
        "importance",
        "documentation",
        "group",
        "order_in_group",
        "width",
        "display_name",
        "dependents",
    ] {
        assert!(topic.get(f).is_some(), "{f}");
    }
    let name = cfg
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "name")
        .expect("a connector lists the framework's keys too");
    assert_eq!(
        (
            &name["group"],
            &name["order_in_group"],
            &name["display_name"]
        ),
        (&json!("Common"), &json!(1), &json!("Connector name"))
    );
    assert_eq!(
        (&topic["group"], &topic["order_in_group"], &topic["width"]),
        (&Json::Null, &json!(-1), &json!("NONE"))
    );
    let cast = body(&call(
        &c,
        "GET",
        "/connector-plugins/org.apache.kafka.connect.transforms.Cast$Value/config",
        "",
    ));
    assert!(cast.as_array().unwrap().iter().any(|k| k["name"] == "spec"));
    assert_eq!(
        error(&call(&c, "GET", "/connector-plugins/Nope/config", "")),
        (404, "Unknown plugin Nope.".into())
    );
}

#[test]
fn validate() {
    let (c, _) = ctx();
    let r = call(
        &c,
        "PUT",
        "/connector-plugins/FileStreamSource/config/validate",
        r#"{"connector.class":"FileStreamSource","topic":"t","tasks.max":"x","topik":"y"}"#,
    );
    assert_eq!(r.status, 200);
    let b = body(&r);
    assert_eq!(b["name"], json!("FileStreamSource"));
    let configs = b["configs"].as_array().unwrap();
    let entry = |n: &str| {
        configs
            .iter()
            .find(|e| e["definition"]["name"] == n)
            .unwrap_or_else(|| panic!("{n}"))
    };
    let errs = |n: &str| entry(n)["value"]["errors"].as_array().unwrap().clone();
    assert_eq!(
        errs("name"),
        [json!(
            "Missing required configuration \"name\" which has no default value."
        )]
    );
    assert_eq!(
        errs("tasks.max"),
        [json!(
            "Invalid value x for configuration tasks.max: Not a number of type INT"
        )]
    );
    assert!(errs("topik")[0]
        .as_str()
        .unwrap()
        .contains("did you mean topic?"));
    assert!(errs("topic").is_empty());
    assert_eq!(entry("topic")["value"]["value"], json!("t"));
    assert_eq!(
        entry("transforms")["value"]["value"],
        json!(""),
        "defaults shown as Connect"
    );
    assert_eq!(entry("file")["value"]["value"], Json::Null);
    assert_eq!(entry("name")["definition"]["group"], json!("Common"));
    assert_eq!(b["error_count"], json!(3));
    let (s, m) = error(&call(
        &c,
        "PUT",
        "/connector-plugins/FileStreamSource/config/validate",
        r#"{"connector.class":"FileStreamSourc"}"#,
    ));
    assert_eq!(s, 400);
    assert!(m.contains("did you mean"), "{m}");
    assert_eq!(
        error(&call(
            &c,
            "PUT",
            "/connector-plugins/FileStreamSource/config/validate",
            r#"{"topic":"t"}"#
        ))
        .0,
        400
    );
    let (s, m) = error(&call(
        &c,
        "PUT",
        "/connector-plugins/FileStreamSink/config/validate",
        r#"{"connector.class":"FileStreamSource"}"#,
    ));
    assert_eq!(s, 400);
    assert!(m.contains("does not match"), "{m}");
    let b = body(&call(
        &c,
        "PUT",
        "/connector-plugins/FileStreamSink/config/validate",
        r#"{"connector.class":"FileStreamSink","name":"a"}"#,
    ));
    assert_eq!(
        b["error_count"],
        json!(2),
        "Connect reports the topics problem on both keys: {b}"
    );
    assert!(b["groups"]
        .as_array()
        .unwrap()
        .contains(&json!("Error Handling")));
    let r = call(&c, "PUT", "/connector-plugins/org.apache.kafka.connect.file.FileStreamSourceConnector/config/validate", r#"{"connector.class":"FileStreamSource","name":"a","topic":"t"}"#);
    assert_eq!(body(&r)["error_count"], json!(0));
}

#[test]
fn loggers() {
    let seen = loggers::install_for_tests();
    let (c, _) = ctx();
    let all = body(&call(&c, "GET", "/admin/loggers", ""));
    assert_eq!(all["root"], json!({"level":"INFO","last_modified":null}));
    assert_eq!(all["org.apache.kafka.clients"]["level"], json!("WARN"));
    let r = call(
        &c,
        "PUT",
        "/admin/loggers/org.apache.kafka.connect.file",
        r#"{"level":"DEBUG"}"#,
    );
    assert_eq!(body(&r), json!(["org.apache.kafka.connect.file"]));
    let last = seen.lock().unwrap().last().cloned().unwrap();
    assert!(
        last.contains("kconnect::connectors::file=debug")
            && last.contains("rdkafka=warn")
            && last.starts_with("info"),
        "{last}"
    );
    let one = body(&call(
        &c,
        "GET",
        "/admin/loggers/org.apache.kafka.connect.file",
        "",
    ));
    assert_eq!(one["level"], json!("DEBUG"));
    assert!(one["last_modified"].is_u64());
    let r = call(
        &c,
        "PUT",
        "/admin/loggers/org.apache.kafka.connect",
        r#"{"level":"TRACE"}"#,
    );
    let changed = body(&r);
    assert!(changed
        .as_array()
        .unwrap()
        .contains(&json!("org.apache.kafka.connect.file")));
    let last = seen.lock().unwrap().last().cloned().unwrap();
    assert!(
        last.contains("kconnect=trace") && !last.contains("kconnect::connectors::file="),
        "{last}"
    );
    assert_eq!(
        body(&call(
            &c,
            "GET",
            "/admin/loggers/org.apache.kafka.connect.runtime",
            ""
        ))["level"],
        json!("TRACE")
    );
    assert_eq!(
        error(&call(
            &c,
            "PUT",
            "/admin/loggers/root",
            r#"{"level":"BOGUS"}"#
        )),
        (404, "invalid log level 'BOGUS'.".into())
    );
    assert_eq!(
        error(&call(&c, "PUT", "/admin/loggers/root", "{}")),
        (
            400,
            "Desired 'level' parameter was not specified in request.".into()
        )
    );
    assert_eq!(
        error(&call(&c, "GET", "/admin/loggers/never.heard.of", "")),
        (404, "Logger never.heard.of not found.".into())
    );
    assert_eq!(
        error(&call(
            &c,
            "PUT",
            "/admin/loggers/never.heard.of",
            r#"{"level":"INFO"}"#
        ))
        .0,
        404
    );
    // The loggers share the process's one filter, so this test has them to itself.
    let r = call(
        &c,
        "PUT",
        "/admin/loggers/io.debezium?scope=cluster",
        r#"{"level":"DEBUG"}"#,
    );
    assert_eq!((r.status, r.body), (204, Body::Empty));
    assert_eq!(
        body(&call(&c, "GET", "/admin/loggers/io.debezium", ""))["level"],
        json!("DEBUG")
    );
    let r = call(&c, "PUT", "/admin/loggers/root", r#"{"level":"INFO"}"#);
    assert_eq!(r.status, 200);
    assert_eq!(
        seen.lock().unwrap().last().unwrap(),
        "info",
        "root replaces every level under it"
    );
}
