//! `/connectors` and everything under one connector.

use serde_json::json;

use super::*;

#[test]
fn list_and_expand() {
    let (c, _) = ctx();
    assert_eq!(
        body(&call(&c, "GET", "/connectors", "")),
        json!(["broken", "src", "with space"])
    );
    assert_eq!(
        body(&call(&c, "GET", "/connectors/", "")),
        json!(["broken", "src", "with space"])
    );
    let both = body(&call(
        &c,
        "GET",
        "/connectors?expand=status&expand=info",
        "",
    ));
    let src = &both["src"];
    assert_eq!(
        src["status"]["connector"],
        json!({"state":"RUNNING","worker_id":"127.0.0.1:8083","version":"4.3.0"})
    );
    assert_eq!(src["info"]["tasks"], json!([{"connector":"src","task":0}]));
    assert_eq!(src["info"]["type"], json!("source"));
    let keys: Vec<&String> = src.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["status", "info"], "Connect's order");
    let info = body(&call(&c, "GET", "/connectors?expand=info", ""));
    assert!(info["src"].get("status").is_none());
    assert_eq!(info["broken"]["info"]["name"], json!("broken"));
}

#[test]
fn one_connector_bodies() {
    let (c, _) = ctx();
    let info = body(&call(&c, "GET", "/connectors/src", ""));
    assert_eq!(info["config"]["file"], json!("/in.txt"));
    assert_eq!(info["tasks"], json!([{"connector":"src","task":0}]));
    assert_eq!(
        body(&call(&c, "GET", "/connectors/src/config", ""))["topic"],
        json!("t")
    );
    let tasks = body(&call(&c, "GET", "/connectors/src/tasks", ""));
    assert_eq!(tasks[0]["id"], json!({"connector":"src","task":0}));
    assert_eq!(tasks[0]["config"]["topic"], json!("t"));
    let st = body(&call(&c, "GET", "/connectors/broken/status", ""));
    assert_eq!(st["tasks"][0]["state"], json!("FAILED"));
    assert_eq!(st["tasks"][0]["trace"], json!("boom: the file went away"));
    assert!(
        st["connector"].get("trace").is_none(),
        "a trace only when FAILED"
    );
    assert_eq!(st["type"], json!("source"));
    let t = body(&call(&c, "GET", "/connectors/src/tasks/0/status", ""));
    assert_eq!(
        t,
        json!({"id":0,"state":"RUNNING","worker_id":"127.0.0.1:8083","version":"4.3.0"})
    );
    assert_eq!(
        error(&call(&c, "GET", "/connectors/src/tasks/5/status", "")),
        (404, "No status found for task src-5".into())
    );
    assert_eq!(
        error(&call(&c, "GET", "/connectors/src/tasks/x/status", "")).0,
        404
    );
    assert_eq!(
        body(&call(&c, "GET", "/connectors/src/topics", "")),
        json!({"src":{"topics":["t"]}})
    );
    assert_eq!(
        error(&call(&c, "GET", "/connectors/nope", "")),
        (404, "Connector nope not found".into())
    );
    assert_eq!(
        error(&call(&c, "GET", "/connectors/nope/status", "")),
        (404, "No status found for connector nope".into())
    );
}

#[test]
fn names_are_percent_decoded() {
    let (c, _) = ctx();
    assert_eq!(
        body(&call(&c, "GET", "/connectors/with%20space/status", ""))["name"],
        json!("with space")
    );
    let r = call(
        &c,
        "POST",
        "/connectors",
        r#"{"name":"a/b c","config":{"connector.class":"FileStreamSource","topic":"t"}}"#,
    );
    assert_eq!(r.status, 201);
    assert_eq!(
        r.location.as_deref(),
        Some("http://127.0.0.1:8083/connectors/a%2Fb%20c")
    );
    assert_eq!(
        body(&call(&c, "GET", "/connectors/a%2Fb%20c", ""))["name"],
        json!("a/b c")
    );
    assert_eq!(error(&call(&c, "GET", "/connectors/%ff", "")).0, 400);
}

#[test]
fn create_checks_as_connect() {
    let (c, fake) = ctx();
    let r = call(
        &c,
        "POST",
        "/connectors",
        r#"{"name":"n","config":{"connector.class":"FileStreamSource","topic":"x","tasks.max":2},"initial_state":"PAUSED"}"#,
    );
    assert_eq!(r.status, 201);
    assert_eq!(
        r.location.as_deref(),
        Some("http://127.0.0.1:8083/connectors/n")
    );
    assert_eq!(
        body(&r)["config"]["name"],
        json!("n"),
        "the name joins the config"
    );
    assert_eq!(
        body(&r)["config"]["tasks.max"],
        json!("2"),
        "numbers are accepted as strings"
    );
    assert!(fake.last().starts_with("create n PAUSED"));
    assert_eq!(
        error(&call(
            &c,
            "POST",
            "/connectors",
            r#"{"name":"src","config":{"connector.class":"FileStreamSource"}}"#
        )),
        (409, "Connector src already exists".into())
    );
    assert_eq!(
        error(&call(
            &c,
            "POST",
            "/connectors",
            r#"{"name":"a","config":{"name":"b"}}"#
        )),
        (
            400,
            "Connector name configuration (b) doesn't match connector name in the URL (a)".into()
        )
    );
    // Connect answers these three 500.
    let (s, m) = error(&call(&c, "POST", "/connectors", "{bad"));
    assert_eq!(s, 400);
    assert!(m.contains("not valid JSON"), "{m}");
    let (s, m) = error(&call(
        &c,
        "POST",
        "/connectors",
        r#"{"name":"x","config":{"connector.class":"FileStreamSource","topic":"t"},"initial_state":"BOGUS"}"#,
    ));
    assert_eq!(s, 400);
    assert!(
        m.contains("BOGUS") && m.contains("RUNNING, PAUSED, STOPPED"),
        "{m}"
    );
    assert_eq!(
        error(&call(&c, "POST", "/connectors", r#"{"name":"x"}"#)).0,
        400
    );
    let (s, m) = error(&call(
        &c,
        "POST",
        "/connectors",
        r#"{"config":{"connector.class":"FileStreamSource"}}"#,
    ));
    assert_eq!(s, 400);
    assert!(m.starts_with("Connector configuration is invalid and contains the following 2 error(s):\nInvalid value  for configuration name: String may not be empty\n"), "{m}");
    assert!(
        m.contains("Missing required configuration \"topic\""),
        "{m}"
    );
    assert_eq!(
        error(&call(
            &c,
            "POST",
            "/connectors",
            r#"{"name":"x","config":{"a":{"b":1}}}"#
        ))
        .0,
        400
    );
    let r = handle(
        &c,
        &Request {
            method: "POST",
            url: "/connectors",
            body: b"{}",
            content_type: Some("text/plain"),
            base_url: None,
        },
    );
    assert_eq!(error(&r).0, 415);
}

#[test]
fn location_follows_the_address_the_client_used() {
    let (c, _) = ctx();
    let r = handle(
        &c,
        &Request {
            method: "PUT",
            url: "/connectors/n/config",
            body: br#"{"connector.class":"FileStreamSource","topic":"t"}"#,
            content_type: Some("application/json"),
            base_url: Some("https://connect.example:8443"),
        },
    );
    assert_eq!(r.status, 201);
    assert_eq!(
        r.location.as_deref(),
        Some("https://connect.example:8443/connectors/n")
    );
}

#[test]
fn config_put_and_patch() {
    let (c, fake) = ctx();
    let r = call(
        &c,
        "PUT",
        "/connectors/new/config",
        r#"{"connector.class":"FileStreamSource","topic":"t2"}"#,
    );
    assert_eq!(r.status, 201);
    assert_eq!(
        r.location.as_deref(),
        Some("http://127.0.0.1:8083/connectors/new")
    );
    assert!(fake.last().contains("\"name\": \"new\""));
    let r = call(
        &c,
        "PUT",
        "/connectors/new/config",
        r#"{"connector.class":"FileStreamSource","topic":"t3"}"#,
    );
    assert_eq!((r.status, r.location.clone()), (200, None));
    assert_eq!(body(&r)["config"]["topic"], json!("t3"));
    assert_eq!(
        error(&call(
            &c,
            "PUT",
            "/connectors/new/config",
            r#"{"name":"other"}"#
        ))
        .0,
        400
    );
    let r = call(
        &c,
        "PATCH",
        "/connectors/src/config",
        r#"{"topic":"u","file":null}"#,
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        body(&r)["config"],
        json!({"connector.class":"FileStreamSource","name":"src","topic":"u"})
    );
    assert_eq!(
        error(&call(
            &c,
            "PATCH",
            "/connectors/nope/config",
            r#"{"a":"b"}"#
        ))
        .0,
        404
    );
    assert_eq!(
        error(&call(&c, "PATCH", "/connectors/src/config", "[1]")).0,
        400
    );
}

#[test]
fn delete_pause_resume_stop() {
    let (c, _) = ctx();
    assert_eq!(call(&c, "PUT", "/connectors/src/pause", "").status, 202);
    assert_eq!(
        body(&call(&c, "GET", "/connectors/src/status", ""))["connector"]["state"],
        json!("PAUSED")
    );
    assert_eq!(call(&c, "PUT", "/connectors/src/resume", "").status, 202);
    let r = call(&c, "PUT", "/connectors/src/stop", "");
    assert_eq!((r.status, r.body.clone()), (204, Body::Empty));
    assert_eq!(
        error(&call(&c, "PUT", "/connectors/nope/pause", "")),
        (404, "Unknown connector nope".into())
    );
    assert_eq!(call(&c, "DELETE", "/connectors/src", "").status, 204);
    assert_eq!(
        error(&call(&c, "DELETE", "/connectors/src", "")),
        (404, "Connector src not found".into())
    );
    assert_eq!(
        call(&c, "PUT", "/connectors/broken/topics/reset", "").status,
        202
    );
}

#[test]
fn restarts() {
    let (c, fake) = ctx();
    let r = call(&c, "POST", "/connectors/broken/restart", "");
    assert_eq!((r.status, r.body.clone()), (204, Body::Empty));
    assert_eq!(fake.last(), "restart broken false false");
    let r = call(
        &c,
        "POST",
        "/connectors/broken/restart?includeTasks=true&onlyFailed=TRUE",
        "",
    );
    assert_eq!(r.status, 202);
    assert_eq!(fake.last(), "restart broken true true");
    assert_eq!(body(&r)["tasks"][0]["state"], json!("RESTARTING"));
    assert_eq!(body(&r)["connector"]["state"], json!("RUNNING"));
    let r = call(&c, "POST", "/connectors/src/restart?includeTasks=true", "");
    assert_eq!(body(&r)["connector"]["state"], json!("RESTARTING"));
    assert_eq!(
        call(&c, "POST", "/connectors/src/tasks/0/restart", "").status,
        204
    );
    let before = body(&call(&c, "GET", "/connectors/src/status", ""));
    assert_eq!(
        error(&call(&c, "POST", "/connectors/src/tasks/9/restart", "")),
        (404, "Task src-9 not found".into())
    );
    assert_eq!(
        body(&call(&c, "GET", "/connectors/src/status", "")),
        before,
        "no ghost task"
    );
    assert_eq!(
        error(&call(&c, "POST", "/connectors/nope/restart", "")).0,
        404
    );
}

#[test]
fn offsets() {
    let (c, _) = ctx();
    assert_eq!(
        body(&call(&c, "GET", "/connectors/src/offsets", "")),
        json!({"offsets":[{"partition":{"filename":"/in.txt"},"offset":{"position":10}}]})
    );
    let patch = r#"{"offsets":[{"partition":{"filename":"/in.txt"},"offset":{"position":3}}]}"#;
    let (s, m) = error(&call(&c, "PATCH", "/connectors/src/offsets", patch));
    assert_eq!(s, 400);
    assert!(m.contains("STOPPED"));
    call(&c, "PUT", "/connectors/src/stop", "");
    let r = call(&c, "PATCH", "/connectors/src/offsets", patch);
    assert_eq!(
        body(&r),
        json!({"message":"The offsets for this connector have been altered successfully"})
    );
    assert_eq!(
        body(&call(&c, "GET", "/connectors/src/offsets", ""))["offsets"][0]["offset"]["position"],
        json!(3)
    );
    let r = call(
        &c,
        "PATCH",
        "/connectors/src/offsets",
        r#"{"offsets":[{"partition":{"filename":"/in.txt"},"offset":null}]}"#,
    );
    assert_eq!(r.status, 200);
    for bad in [
        r#"{}"#,
        r#"{"offsets":[]}"#,
        r#"{"offsets":[{"offset":{"p":1}}]}"#,
        r#"{"offsets":[{"partition":{"f":[1]},"offset":{"p":1}}]}"#,
        r#"{"offsets":[{"partition":{"f":"x"},"offset":5}]}"#,
    ] {
        assert_eq!(
            error(&call(&c, "PATCH", "/connectors/src/offsets", bad)).0,
            400,
            "{bad}"
        );
    }
    let r = call(&c, "DELETE", "/connectors/src/offsets", "");
    assert_eq!(
        body(&r),
        json!({"message":"The offsets for this connector have been reset successfully"})
    );
    assert_eq!(
        body(&call(&c, "GET", "/connectors/src/offsets", "")),
        json!({"offsets":[]})
    );
    assert_eq!(
        error(&call(&c, "GET", "/connectors/nope/offsets", "")).0,
        404
    );
}

#[test]
fn connect_edge_answers() {
    let (c, _) = ctx();
    let b = body(&call(&c, "GET", "/connectors?expand=bogus", ""));
    assert_eq!(b["src"], json!({}), "any expand gives Connect's object");
    assert_eq!(
        error(&call(&c, "GET", "/connectors/nope/tasks/0/status", "")),
        (404, "No status found for task nope-0".into())
    );
    let r = call(&c, "HEAD", "/connectors", "");
    assert_eq!(r.status, 200);
    let r = call(&c, "OPTIONS", "/connectors", "");
    assert_eq!(r.allow.as_deref(), Some("GET, POST, HEAD, OPTIONS"));
    assert_eq!(
        error(&call(&c, "HEAD", "/connectors/src/restart", "")).0,
        405
    );
    call(&c, "PUT", "/connectors/src/stop", "");
    for b in ["{}", r#"{"offsets":[]}"#] {
        assert_eq!(
            error(&call(&c, "PATCH", "/connectors/src/offsets", b)),
            (
                400,
                "Partitions / offsets need to be provided for an alter offsets request".into()
            )
        );
    }
}

#[test]
fn topic_tracking_switches_answer_403_as_connect() {
    let (mut c, _) = ctx();
    c.topic_tracking.allow_reset = false;
    assert_eq!(
        body(&call(&c, "GET", "/connectors/src/topics", "")),
        json!({"src":{"topics":["t"]}})
    );
    assert_eq!(
        error(&call(&c, "PUT", "/connectors/src/topics/reset", "")),
        (403, "Topic tracking reset is disabled.".into())
    );
    c.topic_tracking.enabled = false;
    for (method, path) in [
        ("GET", "/connectors/src/topics"),
        ("PUT", "/connectors/src/topics/reset"),
    ] {
        assert_eq!(
            error(&call(&c, method, path, "")),
            (403, "Topic tracking is disabled.".into()),
            "{method} {path}"
        );
    }
}
