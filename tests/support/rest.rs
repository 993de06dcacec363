//! Replays the REST scenario recorded from the real Kafka Connect worker
//! (tests/fixtures/rest: `scenario.json` the requests, `golden.json` Connect's answers) against
//! a running REST API and reports every place the answers differ, after the normalization and
//! the per-step `differs` rules tests/fixtures/rest/README.md describes.
//!
//! Replaying against the real worker (`scripts/gen-rest-goldens --check`) must give no
//! mismatch: that is what shows the scenario is not flaky and the normalization is the same as
//! the recorder's.

pub mod http;
pub mod json;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value as Json;

pub use json::Substitutions;

/// `tests/fixtures/rest/scenario.json`.
#[derive(Debug, Deserialize)]
pub struct Scenario {
    /// Files written into `${DIR}` before the first step (what the connectors read).
    pub files: BTreeMap<String, String>,
    /// The worker config both workers run with (`${DIR}`, `${BROKER}`, `${PORT}` to fill).
    pub worker: BTreeMap<String, String>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Deserialize)]
pub struct Step {
    pub name: String,
    pub method: String,
    pub path: String,
    pub body: Option<Json>,
    /// Sent as it is: a body that is not JSON.
    pub raw_body: Option<String>,
    pub wait: Option<Wait>,
    pub differs: Option<Differs>,
}

/// Before the request: poll `GET path` until every pointer of `until` has its value.
#[derive(Debug, Deserialize)]
pub struct Wait {
    pub path: String,
    pub until: BTreeMap<String, Json>,
    pub timeout_s: Option<u64>,
}

/// Where kconnect deliberately answers otherwise than Connect, and why.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Differs {
    pub why: String,
    pub status: Option<u16>,
    pub json: Option<Json>,
    pub remove: Vec<String>,
    pub keep: Option<Keep>,
    pub key_by: BTreeMap<String, String>,
    pub count: Vec<String>,
    pub ignore: Vec<String>,
    pub unordered: Vec<String>,
    pub only: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct Keep {
    pub pointer: String,
    pub by: String,
    pub values: Vec<String>,
}

/// `tests/fixtures/rest/golden.json`.
#[derive(Debug, Deserialize)]
pub struct Golden {
    pub recorded_with: Json,
    pub worker: BTreeMap<String, String>,
    pub steps: Vec<Answer>,
}

/// One normalized answer.
#[derive(Debug, Clone, Deserialize)]
pub struct Answer {
    pub name: String,
    pub status: u16,
    pub content_type: Option<String>,
    pub json: Option<Json>,
    pub text: Option<String>,
}

/// One way an answer differed from the golden one.
#[derive(Debug, Clone)]
pub struct Mismatch {
    pub step: String,
    /// `METHOD path` as the scenario writes it.
    pub request: String,
    /// `status`, `content type`, `body at /tasks/0/state`, `wait`, `request`, ...
    pub what: String,
    pub expected: String,
    pub got: String,
    /// The step's `differs.why`, when the golden answer was adjusted.
    pub why: Option<String>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "step `{}` ({}): {}\n    expected: {}\n    got:      {}",
            self.step, self.request, self.what, self.expected, self.got
        )?;
        if let Some(why) = &self.why {
            write!(f, "\n    (kconnect differs here on purpose: {why})")?;
        }
        Ok(())
    }
}

pub fn load_fixtures(fixtures: &Path) -> (Scenario, Golden) {
    let read = |name: &str| {
        let path = fixtures.join(name);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        (path, text)
    };
    let (path, text) = read("scenario.json");
    let scenario = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not a scenario: {e}", path.display()));
    let (path, text) = read("golden.json");
    let golden = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not a golden file: {e}", path.display()));
    (scenario, golden)
}

/// Writes the scenario's files into `dir` (the value of `${DIR}`).
pub fn write_files(scenario: &Scenario, dir: &Path) {
    for (name, text) in &scenario.files {
        std::fs::write(dir.join(name), text)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", dir.join(name).display()));
    }
}

/// The scenario's worker config as a `.properties` file, placeholders filled.
pub fn worker_properties(scenario: &Scenario, subs: &Substitutions) -> String {
    scenario
        .worker
        .iter()
        .map(|(k, v)| format!("{k}={}\n", json::fill(v, subs)))
        .collect()
}

/// A fresh value for `${RUN}`: connector, topic and group names no earlier play used.
pub fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!(
        "r{:010x}",
        (nanos ^ ((std::process::id() as u128) << 40)) & 0xff_ffff_ffff
    )
}

/// Plays every step against `base` (`http://host:port`) and compares each answer with the
/// golden one. `subs` fills `${DIR}` and `${RUN}` (in that order). Stops early only when the
/// server cannot be reached at all.
pub fn replay(
    base: &str,
    scenario: &Scenario,
    golden: &Golden,
    subs: &Substitutions,
) -> Vec<Mismatch> {
    play(base, scenario, golden, subs, true)
}

/// [`replay`] against the real Connect worker: the golden answers as recorded, without the
/// `differs` rules that say where kconnect answers otherwise.
pub fn replay_against_connect(
    base: &str,
    scenario: &Scenario,
    golden: &Golden,
    subs: &Substitutions,
) -> Vec<Mismatch> {
    play(base, scenario, golden, subs, false)
}

fn play(
    base: &str,
    scenario: &Scenario,
    golden: &Golden,
    subs: &Substitutions,
    with_differs: bool,
) -> Vec<Mismatch> {
    let answers: BTreeMap<&str, &Answer> =
        golden.steps.iter().map(|a| (a.name.as_str(), a)).collect();
    let mut out = Vec::new();
    let mut waits_failed = false;
    for step in &scenario.steps {
        let request = format!("{} {}", step.method, step.path);
        let mismatch = |what: &str, expected: String, got: String| Mismatch {
            step: step.name.clone(),
            request: request.clone(),
            what: what.to_string(),
            expected,
            got,
            why: None,
        };
        let Some(expected) = answers.get(step.name.as_str()) else {
            out.push(mismatch(
                "golden answer",
                "an answer in golden.json".into(),
                "none: regenerate with scripts/gen-rest-goldens".into(),
            ));
            continue;
        };
        if let Some(wait) = &step.wait {
            let mut limit = Duration::from_secs(wait.timeout_s.unwrap_or(60));
            if waits_failed {
                limit = limit.min(AFTER_A_FAILED_WAIT);
            }
            if let Err(last) = wait_for(base, wait, subs, limit) {
                waits_failed = true;
                let until = serde_json::to_string(&wait.until).unwrap_or_default();
                out.push(mismatch(
                    &format!("wait on GET {} ({} s)", wait.path, limit.as_secs()),
                    until,
                    format!("still not so after the wait; last answer: {last}"),
                ));
            }
        }
        let body = match (&step.body, &step.raw_body) {
            (Some(b), _) => Some(json::fill_json(b, subs).to_string()),
            (None, Some(raw)) => Some(json::fill(raw, subs)),
            (None, None) => None,
        };
        let path = json::fill(&step.path, subs);
        let response = match http::request(base, &step.method, &path, body.as_deref()) {
            Ok(r) => r,
            Err(e) => {
                out.push(mismatch(
                    "request",
                    "an answer".into(),
                    format!("{e} (stopping the replay: is the REST API up at {base}?)"),
                ));
                break;
            }
        };
        let got = answer_of(&step.name, response, subs);
        let differs = step.differs.as_ref().filter(|_| with_differs);
        out.extend(compare_with(step, differs, expected, &got));
    }
    out
}

/// A normalized answer from a raw response.
pub fn answer_of(name: &str, response: http::Response, subs: &Substitutions) -> Answer {
    let (json, text) = if response.body.is_empty() {
        (None, None)
    } else {
        match serde_json::from_str::<Json>(&response.body) {
            Ok(v) => (Some(json::normalize(&v, subs)), None),
            Err(_) => (None, Some(json::unfill(&response.body, subs))),
        }
    };
    Answer {
        name: name.to_string(),
        status: response.status,
        content_type: response.content_type,
        json,
        text,
    }
}

/// How long a wait may take once one has run out: a server that never reaches a state would
/// otherwise make the replay of the whole scenario take half an hour to say so.
const AFTER_A_FAILED_WAIT: Duration = Duration::from_secs(5);

fn wait_for(base: &str, wait: &Wait, subs: &Substitutions, limit: Duration) -> Result<(), String> {
    let path = json::fill(&wait.path, subs);
    let until: Vec<(String, Json)> = wait
        .until
        .iter()
        .map(|(p, v)| (json::fill(p, subs), json::fill_json(v, subs)))
        .collect();
    let start = Instant::now();
    let mut last = String::from("none");
    while start.elapsed() < limit {
        match http::request(base, "GET", &path, None) {
            Ok(r) => {
                if r.status == 200 {
                    if let Ok(doc) = serde_json::from_str::<Json>(&r.body) {
                        if until.iter().all(|(p, v)| doc.pointer(p) == Some(v)) {
                            return Ok(());
                        }
                    }
                }
                last = format!("{} {}", r.status, r.body);
            }
            // A server that refuses connections does not come back in the middle of a replay.
            Err(e) => return Err(e.to_string()),
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Err(last)
}

/// The golden answer as kconnect should give it: `differs` applied to the expected side, and
/// the rules that say "both" to `got` too. Returns (expected, got) bodies.
pub fn adjust(
    differs: Option<&Differs>,
    expected: &Answer,
    got: &Answer,
) -> (u16, Option<Json>, Option<Json>) {
    let mut status = expected.status;
    let mut e = expected.json.clone();
    let mut g = got.json.clone();
    let Some(d) = differs else {
        return (status, e, g);
    };
    if let Some(s) = d.status {
        status = s;
        if let Some(code) = e.as_mut().and_then(|v| v.get_mut("error_code")) {
            *code = Json::from(s);
        }
    }
    if let Some(j) = &d.json {
        e = Some(j.clone());
    }
    if let Some(e) = e.as_mut() {
        for p in &d.remove {
            json::remove(e, p);
        }
    }
    for doc in [e.as_mut(), g.as_mut()].into_iter().flatten() {
        if let Some(k) = &d.keep {
            json::keep(doc, &k.pointer, &k.by, &k.values);
        }
        for (p, by) in &d.key_by {
            json::key_by(doc, p, by);
        }
        d.count.iter().for_each(|p| json::count(doc, p));
        d.ignore.iter().for_each(|p| json::ignore(doc, p));
        d.unordered.iter().for_each(|p| json::unordered(doc, p));
    }
    if !d.only.is_empty() {
        if let (Some(ev), Some(gv)) = (&e, &g) {
            let (pe, pg) = json::project(ev, gv, &d.only);
            (e, g) = (Some(pe), Some(pg));
        }
    }
    (status, e, g)
}

/// Compares one answer with the golden one; every difference is one mismatch (a body's first
/// twelve differing paths, then a count).
pub fn compare(step: &Step, expected: &Answer, got: &Answer) -> Vec<Mismatch> {
    compare_with(step, step.differs.as_ref(), expected, got)
}

fn compare_with(
    step: &Step,
    differs: Option<&Differs>,
    expected: &Answer,
    got: &Answer,
) -> Vec<Mismatch> {
    let why = differs.map(|d| d.why.clone());
    let mismatch = |what: String, e: String, g: String| Mismatch {
        step: step.name.clone(),
        request: format!("{} {}", step.method, step.path),
        what,
        expected: e,
        got: g,
        why: why.clone(),
    };
    let (status, e, g) = adjust(differs, expected, got);
    let mut out = Vec::new();
    if status != got.status {
        out.push(mismatch(
            "status".into(),
            status.to_string(),
            format!("{} {}", got.status, body_text(got)),
        ));
    }
    if let Some(ct) = &expected.content_type {
        if got.content_type.as_ref() != Some(ct) {
            out.push(mismatch(
                "content type".into(),
                ct.clone(),
                format!("{:?}", got.content_type),
            ));
        }
    }
    match (&e, &g, &expected.text) {
        (Some(e), Some(g), _) => {
            let diffs = json::diff(e, g);
            let total = diffs.len();
            let projected = differs.is_some_and(|d| !d.only.is_empty());
            for mut d in diffs.into_iter().take(12) {
                if projected {
                    d.pointer = json::unproject(&d.pointer);
                }
                let show = |v: &Option<Json>| v.as_ref().map_or("nothing".into(), Json::to_string);
                let at = if d.pointer.is_empty() {
                    "/"
                } else {
                    &d.pointer
                };
                out.push(mismatch(
                    format!("body at {at}"),
                    show(&d.expected),
                    show(&d.got),
                ));
            }
            if total > 12 {
                out.push(mismatch(
                    "body".into(),
                    "the same".into(),
                    format!("{} more differing paths", total - 12),
                ));
            }
        }
        (None, None, Some(t)) if got.text.as_ref() == Some(t) => {}
        (None, None, None) if got.text.is_none() => {}
        _ => out.push(mismatch(
            "body".into(),
            expected_body_text(&e, &expected.text),
            body_text(got),
        )),
    }
    out
}

fn expected_body_text(json: &Option<Json>, text: &Option<String>) -> String {
    match (json, text) {
        (Some(j), _) => j.to_string(),
        (None, Some(t)) => format!("{t:?}"),
        (None, None) => "no body".into(),
    }
}

fn body_text(a: &Answer) -> String {
    expected_body_text(&a.json, &a.text)
}

/// Every mismatch, readable: a count, then one block per mismatch grouped by step.
pub fn report(mismatches: &[Mismatch]) -> String {
    let steps: std::collections::BTreeSet<&str> =
        mismatches.iter().map(|m| m.step.as_str()).collect();
    let mut out = format!(
        "{} mismatch(es) in {} step(s) against tests/fixtures/rest/golden.json (recorded from the real Kafka Connect worker):\n",
        mismatches.len(),
        steps.len()
    );
    for m in mismatches {
        out.push_str(&format!("- {m}\n"));
    }
    out
}
