//! What the REST harness does to JSON bodies: the normalization applied to every answer (the
//! same as `scripts/rest_golden_player.py` applies when recording), JSON pointers with `*`
//! wildcards for the per-step `differs` rules, and a diff that names each differing path.
//! tests/fixtures/rest/README.md describes both.

use serde_json::{Map, Value as Json};

/// Placeholders and what they stand for in this play (`("${DIR}", "/tmp/...")`), applied in
/// order: filled into requests, taken back out of answers.
pub type Substitutions = [(String, String)];

/// Keys whose string values differ between any two workers for reasons no client may rely on.
const PLACEHOLDERS: [(&str, &str); 5] = [
    ("worker_id", "${WORKER_ID}"),
    ("trace", "${TRACE}"),
    ("version", "${VERSION}"),
    ("commit", "${COMMIT}"),
    ("kafka_cluster_id", "${KAFKA_CLUSTER_ID}"),
];

pub const IGNORED: &str = "${IGNORED}";

/// Fills the scenario's placeholders into a string.
pub fn fill(text: &str, subs: &Substitutions) -> String {
    subs.iter()
        .fold(text.to_string(), |t, (k, v)| t.replace(k.as_str(), v))
}

/// Fills the placeholders into every string and object key of a request body.
pub fn fill_json(value: &Json, subs: &Substitutions) -> Json {
    match value {
        Json::String(s) => Json::String(fill(s, subs)),
        Json::Array(items) => Json::Array(items.iter().map(|v| fill_json(v, subs)).collect()),
        Json::Object(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (fill(k, subs), fill_json(v, subs)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Takes the placeholders' values back out of a string of an answer.
pub fn unfill(text: &str, subs: &Substitutions) -> String {
    subs.iter()
        .fold(text.to_string(), |t, (k, v)| t.replace(v.as_str(), k))
}

/// The normalization of an answer's body, before any comparison.
pub fn normalize(value: &Json, subs: &Substitutions) -> Json {
    normalize_under(value, subs, None)
}

/// An entry of `GET /connector-plugins` for a connector: `{"class", "type", "version"}` with
/// type `source` or `sink`. Its version is compared, not normalized: Connect reports the
/// version of the connector's jar (Kafka's 4.3.0, Debezium's 3.6.3.Final), kconnect the
/// version of the implementation it matches, and tools read it.
fn is_connector_plugin(map: &Map<String, Json>) -> bool {
    map.len() == 3
        && map.contains_key("class")
        && map.contains_key("version")
        && matches!(
            map.get("type").and_then(Json::as_str),
            Some("source" | "sink")
        )
}

fn normalize_under(value: &Json, subs: &Substitutions, key: Option<&str>) -> Json {
    match value {
        Json::Object(map) if is_connector_plugin(map) => Json::Object(
            map.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        Json::String(unfill(v.as_str().unwrap_or(""), subs)),
                    )
                })
                .collect(),
        ),
        Json::Object(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (unfill(k, subs), normalize_under(v, subs, Some(k))))
                .collect(),
        ),
        Json::Array(items) => {
            let mut items: Vec<Json> = items.iter().map(|v| normalize(v, subs)).collect();
            if !items.is_empty() && items.iter().all(Json::is_string) {
                items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
            Json::Array(items)
        }
        Json::String(s) => match PLACEHOLDERS.iter().find(|(k, _)| Some(*k) == key) {
            Some((_, placeholder)) => Json::String(placeholder.to_string()),
            None => Json::String(unfill(s, subs)),
        },
        Json::Number(_) if key == Some("last_modified") => Json::String("${TIMESTAMP}".into()),
        other => other.clone(),
    }
}

fn segments(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// The concrete pointers a pattern (`*` for any key or index) matches in `doc`.
pub fn expand(doc: &Json, pattern: &str) -> Vec<String> {
    let mut out = Vec::new();
    expand_into(doc, &segments(pattern), String::new(), &mut out);
    out
}

fn expand_into(doc: &Json, segs: &[String], at: String, out: &mut Vec<String>) {
    let Some((first, rest)) = segs.split_first() else {
        out.push(at);
        return;
    };
    let children: Vec<(String, &Json)> = match doc {
        Json::Object(map) if first == "*" => map.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Json::Object(map) => map
            .get(first)
            .map(|v| (first.clone(), v))
            .into_iter()
            .collect(),
        Json::Array(items) if first == "*" => items
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        Json::Array(items) => first
            .parse::<usize>()
            .ok()
            .and_then(|i| items.get(i).map(|v| (first.clone(), v)))
            .into_iter()
            .collect(),
        _ => Vec::new(),
    };
    for (key, child) in children {
        expand_into(child, rest, format!("{at}/{}", escape(&key)), out);
    }
}

/// Applies `f` to every value a pattern matches.
pub fn for_each_mut(doc: &mut Json, pattern: &str, f: &mut dyn FnMut(&mut Json)) {
    for pointer in expand(doc, pattern) {
        if let Some(v) = doc.pointer_mut(&pointer) {
            f(v);
        }
    }
}

/// Removes the value at a concrete pointer (the parent must be an object or an array).
pub fn remove(doc: &mut Json, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    match doc.pointer_mut(parent) {
        Some(Json::Object(map)) => {
            map.shift_remove(&last);
        }
        Some(Json::Array(items)) => {
            if let Ok(i) = last.parse::<usize>() {
                if i < items.len() {
                    items.remove(i);
                }
            }
        }
        _ => {}
    }
}

/// Keeps only the items of the array at `pointer` whose value at `by` is one of `values`.
pub fn keep(doc: &mut Json, pointer: &str, by: &str, values: &[String]) {
    if let Some(Json::Array(items)) = doc.pointer_mut(pointer) {
        items.retain(|item| {
            item.pointer(by)
                .and_then(Json::as_str)
                .is_some_and(|v| values.iter().any(|k| k == v))
        });
    }
}

/// Turns the array at `pointer` into an object keyed by each item's string at `by`.
pub fn key_by(doc: &mut Json, pointer: &str, by: &str) {
    if let Some(slot) = doc.pointer_mut(pointer) {
        if let Json::Array(items) = slot {
            let keyed: Map<String, Json> = items
                .drain(..)
                .enumerate()
                .map(|(i, item)| {
                    let key = match item.pointer(by) {
                        Some(Json::String(s)) => s.clone(),
                        _ => format!("#{i}"),
                    };
                    (key, item)
                })
                .collect();
            *slot = Json::Object(keyed);
        }
    }
}

/// Replaces every array a pattern matches with its length.
pub fn count(doc: &mut Json, pattern: &str) {
    for_each_mut(doc, pattern, &mut |v| {
        if let Json::Array(items) = v {
            *v = Json::from(items.len());
        }
    });
}

/// Replaces every value a pattern matches with `${IGNORED}`: its presence still counts.
pub fn ignore(doc: &mut Json, pattern: &str) {
    for_each_mut(doc, pattern, &mut |v| *v = Json::String(IGNORED.into()));
}

/// Sorts every array a pattern matches by its items' JSON text.
pub fn unordered(doc: &mut Json, pattern: &str) {
    for_each_mut(doc, pattern, &mut |v| {
        if let Json::Array(items) = v {
            items.sort_by_cached_key(|item| item.to_string());
        }
    });
}

/// The values at the concrete pointers the patterns match in either document, as one object
/// keyed by pointer for each side; a pointer found on one side only is missing on the other.
pub fn project(expected: &Json, got: &Json, patterns: &[String]) -> (Json, Json) {
    let mut pointers: Vec<String> = patterns
        .iter()
        .flat_map(|p| expand(expected, p).into_iter().chain(expand(got, p)))
        .collect();
    pointers.sort();
    pointers.dedup();
    let side = |doc: &Json| {
        Json::Object(
            pointers
                .iter()
                .filter_map(|p| doc.pointer(p).map(|v| (p.clone(), v.clone())))
                .collect(),
        )
    };
    (side(expected), side(got))
}

/// A pointer into a projection (`/~1configs~1file~1value/errors`) as the pointer into the
/// body it names (`/configs/file/value/errors`).
pub fn unproject(pointer: &str) -> String {
    let rest = pointer.strip_prefix('/').unwrap_or(pointer);
    let (first, tail) = rest.split_once('/').map_or((rest, ""), |(f, t)| (f, t));
    let first = first.replace("~1", "/").replace("~0", "~");
    if tail.is_empty() {
        first
    } else {
        format!("{first}/{tail}")
    }
}

/// One difference: where, what was expected there, what came (`None`: nothing there).
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    pub pointer: String,
    pub expected: Option<Json>,
    pub got: Option<Json>,
}

/// Every path where `got` differs from `expected`, depth first, object keys in sorted order.
pub fn diff(expected: &Json, got: &Json) -> Vec<Difference> {
    let mut out = Vec::new();
    diff_into(expected, got, String::new(), &mut out);
    out
}

fn diff_into(expected: &Json, got: &Json, at: String, out: &mut Vec<Difference>) {
    match (expected, got) {
        (Json::Object(e), Json::Object(g)) => {
            let mut keys: Vec<&String> = e.keys().chain(g.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let here = format!("{at}/{}", escape(k));
                match (e.get(k), g.get(k)) {
                    (Some(ev), Some(gv)) => diff_into(ev, gv, here, out),
                    (ev, gv) => out.push(Difference {
                        pointer: here,
                        expected: ev.cloned(),
                        got: gv.cloned(),
                    }),
                }
            }
        }
        (Json::Array(e), Json::Array(g)) => {
            for i in 0..e.len().max(g.len()) {
                let here = format!("{at}/{i}");
                match (e.get(i), g.get(i)) {
                    (Some(ev), Some(gv)) => diff_into(ev, gv, here, out),
                    (ev, gv) => out.push(Difference {
                        pointer: here,
                        expected: ev.cloned(),
                        got: gv.cloned(),
                    }),
                }
            }
        }
        (e, g) if e == g => {}
        (e, g) => out.push(Difference {
            pointer: at,
            expected: Some(e.clone()),
            got: Some(g.clone()),
        }),
    }
}
