//! The long-running worker's control plane, end to end: the real binary, a real broker (Tansu)
//! and Kafka's FileStream connectors, driven through the REST API as an operator would. Here:
//! connectors made through the API persist as files (across SIGTERM and SIGKILL), offsets
//! edited on a STOPPED source take effect on resume (KIP-875), and a FAILED task stays visible
//! until it is restarted. SIGHUP reloads, systemd notifications and `/metrics` are in
//! tests/worker_control_signals.rs.

mod support;

use std::path::Path;

use serde_json::{json, Value as Json};
use support::file_pipeline::offsets_json;
use support::worker_control::{
    connectors_dir, sink_config, source_config, start, start_flushing, values, wait_records, Worker,
};

/// `n` numbered lines, `line 1` first.
fn numbered(n: std::ops::RangeInclusive<usize>) -> Vec<String> {
    n.map(|i| format!("line {i}")).collect()
}

fn text_of(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// The connector file the API wrote, checked to be Connect's REST body `{"name", "config"}`.
fn rest_body_file(dir: &Path, name: &str) -> Json {
    let path = dir.join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; files: {:?}", path.display(), listing(dir)));
    let body: Json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON ({e}):\n{text}", path.display()));
    let mut keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["config", "name"], "{}: {text}", path.display());
    assert_eq!(body["name"], name);
    body
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn assert_state(w: &Worker, name: &str, state: &str) {
    let s = w.status(name).unwrap_or_else(|| {
        panic!(
            "connector {name} is gone after the restart\nlog:\n{}",
            w.log_tail()
        )
    });
    assert_eq!(s["connector"]["state"], state, "{name}: {s}");
}

#[test]
fn rest_made_connectors_persist_across_sigterm_and_sigkill_and_delete_keeps_offsets() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let dir = connectors_dir(root);
    let posted_in = support::write(root, "posted.txt", "p1\np2\n");
    let put_in = support::write(root, "put.txt", &text_of(&numbered(1..=5)));
    let w = start(root, &k.bootstrap(), &[]);

    let posted = source_config(&posted_in, "persist-posted");
    w.expect(
        "POST",
        "/connectors",
        Some(&json!({"name": "posted", "config": posted})),
        201,
    );
    let put = source_config(&put_in, "persist-put");
    let info = w.expect("PUT", "/connectors/put/config", Some(&put), 201);
    assert_eq!(info["name"], "put");
    w.wait_state("posted", "RUNNING");
    w.expect("PUT", "/connectors/posted/pause", None, 202);
    w.wait_state("posted", "PAUSED");
    w.wait_state("put", "RUNNING");
    wait_records(&k.bootstrap(), "persist-put", 5);

    // Both are files of the connectors directory, as REST bodies with the config as sent.
    for (name, config) in [("posted", &posted), ("put", &put)] {
        let body = rest_body_file(&dir, name);
        for (key, value) in config.as_object().unwrap() {
            assert_eq!(&body["config"][key], value, "{name}: {key}");
        }
    }

    // SIGTERM: both come back, the paused one still PAUSED (its target state is in the store).
    let status = w.terminate();
    assert!(status.success(), "{status}");
    let w = start(root, &k.bootstrap(), &[]);
    // The files are loaded once the broker answers (the API is up before that).
    w.wait_connectors(&["posted", "put"]);
    w.wait_state("put", "RUNNING");
    assert_state(&w, "posted", "PAUSED");

    // SIGKILL right after the 201: the new file is whole, and nothing half-written is left.
    let killed = source_config(&posted_in, "persist-killed");
    w.expect(
        "POST",
        "/connectors",
        Some(&json!({"name": "killed", "config": killed})),
        201,
    );
    w.kill();
    let files = listing(&dir);
    assert_eq!(
        files,
        ["killed.json", "posted.json", "put.json"],
        "no temporary or half file may be left"
    );
    rest_body_file(&dir, "killed");
    let w = start(root, &k.bootstrap(), &[]);
    w.wait_state("killed", "RUNNING");
    w.wait_state("put", "RUNNING");
    assert_state(&w, "posted", "PAUSED");
    let cfg = w.expect("GET", "/connectors/killed/config", None, 200);
    assert_eq!(cfg["topic"], "persist-killed");

    // DELETE removes the file; after a restart the connector is gone and its offsets stay.
    w.expect("DELETE", "/connectors/put", None, 204);
    assert!(!dir.join("put.json").exists(), "{:?}", listing(&dir));
    w.expect("GET", "/connectors/put", None, 404);
    assert!(w.terminate().success());
    let w = start(root, &k.bootstrap(), &[]);
    w.expect("GET", "/connectors/put", None, 404);
    w.wait_state("killed", "RUNNING");
    assert_state(&w, "posted", "PAUSED");
    assert!(w.terminate().success());
    let offsets = offsets_json(root, "offsets");
    let put_offset = offsets
        .iter()
        .find(|o| o["connector"] == "put")
        .unwrap_or_else(|| panic!("the deleted connector's offsets are gone: {offsets:?}"));
    assert_eq!(
        put_offset["offset"]["position"],
        text_of(&numbered(1..=5)).len()
    );
    // Its records were read once: the restarts did not read the file again.
    assert_eq!(
        values(&k.bootstrap(), "persist-put"),
        numbered(1..=5),
        "each line once"
    );
}

/// A source with nothing more to send commits once Kafka has acknowledged all it sent, not at
/// the next offset.flush.interval.ms: a crash in between would send it all again.
#[test]
fn an_idle_source_commits_what_kafka_acknowledged_without_waiting_for_the_interval() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let input = support::write(root, "in.txt", "");
    // After a start, commits come every 500 ms for one interval (6 s); then every 6 s.
    let w = start_flushing(root, &k.bootstrap(), 6000);
    let topic = "idle-commit";
    w.run_source("src", &input, topic);
    std::thread::sleep(std::time::Duration::from_millis(6500));
    let lines = numbered(1..=5);
    let text = text_of(&lines);
    std::fs::write(&input, &text).unwrap();
    // The interval's next commit is over 5 s away from here.
    let partition = json!({"filename": input.display().to_string()});
    let expected =
        json!({"offsets": [{"partition": partition, "offset": {"position": text.len()}}]});
    let mut last = Json::Null;
    let committed = support::eventually(std::time::Duration::from_secs(3), || {
        last = w.expect("GET", "/connectors/src/offsets", None, 200);
        (last == expected).then_some(())
    });
    assert!(
        committed.is_some(),
        "the source's offsets were not committed within 3 s of its last line: {last}\nlog:\n{}",
        w.log_tail()
    );
    assert_eq!(wait_records(&k.bootstrap(), topic, 5), lines);
}

#[test]
fn offsets_edited_on_a_stopped_source_take_effect_on_resume() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let lines = numbered(1..=10);
    let input = support::write(root, "in.txt", &text_of(&lines));
    let w = start(root, &k.bootstrap(), &[]);
    let topic = "offsets-edit";
    w.run_source("src", &input, topic);
    assert_eq!(wait_records(&k.bootstrap(), topic, 10), lines);
    let partition = json!({"filename": input.display().to_string()});
    let line6 = text_of(&lines[..5]).len();
    let edit = json!({"offsets": [{"partition": partition, "offset": {"position": line6}}]});

    // Only a STOPPED connector's offsets may be edited, as in Connect.
    let refused = w.expect("PATCH", "/connectors/src/offsets", Some(&edit), 400);
    assert!(
        refused["message"].as_str().unwrap().contains("STOPPED"),
        "{refused}"
    );
    w.expect("DELETE", "/connectors/src/offsets", None, 400);

    w.expect("PUT", "/connectors/src/stop", None, 204);
    w.wait_status("src", "STOPPED with no task", |s| {
        s["connector"]["state"] == "STOPPED" && s["tasks"] == json!([])
    });
    let done = w.expect("PATCH", "/connectors/src/offsets", Some(&edit), 200);
    assert_eq!(
        done["message"],
        "The offsets for this connector have been altered successfully"
    );
    let listed = w.expect("GET", "/connectors/src/offsets", None, 200);
    assert_eq!(
        listed,
        json!({"offsets": [{"partition": partition, "offset": {"position": line6}}]})
    );
    w.expect("PUT", "/connectors/src/resume", None, 202);
    w.wait_state("src", "RUNNING");
    let got = wait_records(&k.bootstrap(), topic, 15);
    assert_eq!(got[..10], lines[..], "{got:?}");
    assert_eq!(
        got[10..],
        lines[5..],
        "lines 6 to 10 again, in order: {got:?}"
    );

    // Reset: every line again from the start.
    w.expect("PUT", "/connectors/src/stop", None, 204);
    w.wait_status("src", "STOPPED", |s| s["connector"]["state"] == "STOPPED");
    let done = w.expect("DELETE", "/connectors/src/offsets", None, 200);
    assert_eq!(
        done["message"],
        "The offsets for this connector have been reset successfully"
    );
    assert_eq!(
        w.expect("GET", "/connectors/src/offsets", None, 200),
        json!({"offsets": []})
    );
    w.expect("PUT", "/connectors/src/resume", None, 202);
    let got = wait_records(&k.bootstrap(), topic, 25);
    assert_eq!(got.len(), 25, "{got:?}");
    assert_eq!(got[15..], lines[..], "all 10 lines again: {got:?}");
    assert!(w.terminate().success());
}

#[test]
fn a_failed_task_stays_visible_and_runs_after_a_restart_of_failed_tasks() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let topic = "failing-sink";
    support::kafka::create_topic(&k.bootstrap(), topic, 1);
    support::kafka::produce(
        &k.bootstrap(),
        topic,
        &[(None, Some(b"one"), vec![]), (None, Some(b"two"), vec![])],
    );
    let missing = root.join("not-yet");
    let output = missing.join("out.txt");
    let w = start(root, &k.bootstrap(), &[]);
    w.expect(
        "POST",
        "/connectors",
        Some(&json!({"name": "sink", "config": sink_config(&output, topic)})),
        201,
    );
    // FAILED with its trace (for the ~100 ms until the supervision loop collects the
    // ended thread, the status says FAILED without one).
    let failed = w.wait_status("sink", "task 0 FAILED with a trace", |s| {
        s["tasks"][0]["state"] == "FAILED" && s["tasks"][0]["trace"].is_string()
    });
    let trace = failed["tasks"][0]["trace"].as_str().unwrap_or_default();
    assert!(
        trace.contains(&output.display().to_string()),
        "the trace names the file: {failed}"
    );
    assert_eq!(failed["connector"]["state"], "RUNNING", "{failed}");
    // It stays FAILED: nothing restarts it behind the operator's back.
    std::thread::sleep(std::time::Duration::from_secs(2));
    let s = w.status("sink").unwrap();
    assert_eq!(s["tasks"][0]["state"], "FAILED", "{s}");
    let task = w.expect("GET", "/connectors/sink/tasks/0/status", None, 200);
    assert_eq!(task["state"], "FAILED", "{task}");

    // Restarted while the cause is still there: RESTARTING, then FAILED again.
    let restart = "/connectors/sink/restart?includeTasks=true&onlyFailed=true";
    let answer = w.expect("POST", restart, None, 202);
    assert_eq!(answer["tasks"][0]["state"], "RESTARTING", "{answer}");
    assert_eq!(answer["connector"]["state"], "RUNNING", "{answer}");
    w.wait_status("sink", "task 0 FAILED again", |s| {
        s["tasks"][0]["state"] == "FAILED" && s["tasks"][0]["trace"].is_string()
    });

    // The cause fixed, the same restart brings it up, and it writes the topic's records.
    std::fs::create_dir_all(&missing).unwrap();
    let answer = w.expect("POST", restart, None, 202);
    assert_eq!(answer["tasks"][0]["state"], "RESTARTING", "{answer}");
    w.wait_state("sink", "RUNNING");
    support::eventually(std::time::Duration::from_secs(30), || {
        let text = std::fs::read_to_string(&output).unwrap_or_default();
        (text == "one\ntwo\n").then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "{} never held the topic's records: {:?}\nlog:\n{}",
            output.display(),
            std::fs::read_to_string(&output),
            w.log_tail()
        )
    });
    // Nothing failed now: a restart of failed tasks restarts none.
    let answer = w.expect("POST", restart, None, 202);
    assert_eq!(answer["tasks"][0]["state"], "RUNNING", "{answer}");
    assert!(w.terminate().success());
}

#[test]
fn connector_files_are_in_the_api_while_the_broker_is_awaited() {
    // The REST API is up before the broker answers; the files' connectors must be in it from
    // the start, or a POST of a name a file already has would write a second file for it.
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let input = support::write(root, "in.txt", "x\n");
    let config = source_config(&input, "never");
    support::worker_control::write_connector(&connectors_dir(root), "early", &config);
    let nowhere = format!("127.0.0.1:{}", support::free_port());
    let w = start(root, &nowhere, &[]);
    // Nothing is answered before the files are loaded; the broker never answers.
    let listed = w.expect("GET", "/connectors", None, 200);
    assert_eq!(
        listed,
        json!(["early"]),
        "the files' connectors are listed from the first answer, before the broker answers"
    );
    let again = json!({"name": "early", "config": config});
    w.expect("POST", "/connectors", Some(&again), 409);
    assert_eq!(
        listing(&connectors_dir(root)),
        ["early.json"],
        "no second file for the same name"
    );
    assert!(w.terminate().success());
}
