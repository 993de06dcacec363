//! `/admin/loggers`: Connect's log4j logger names over kconnect's tracing targets. `main`
//! installs a hook that swaps the tracing filter (`install`); a PUT rebuilds the filter from
//! the one kconnect started with plus every level set since. The mapping is documented in
//! docs/rest.md.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use serde_json::{json, Map, Value as Json};

use super::routes::Call;
use super::Reply;

/// Replaces the process's log filter with these `EnvFilter` directives.
pub type Reload = Box<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// Connect's logger names and the tracing targets each stands for. `root` is every target.
pub const MAPPING: &[(&str, &[&str])] = &[
    ("org.apache.kafka.connect", &["kconnect"]),
    ("org.apache.kafka.connect.runtime", &["kconnect::runtime"]),
    (
        "org.apache.kafka.connect.file",
        &["kconnect::connectors::file"],
    ),
    (
        "org.apache.kafka.connect.transforms",
        &["kconnect::transform"],
    ),
    ("org.apache.kafka.connect.json", &["kconnect::convert"]),
    ("org.apache.kafka.clients", &["rdkafka", "librdkafka"]),
    ("io.debezium", &["kconnect::connectors::postgres"]),
    (
        "io.debezium.connector.postgresql",
        &["kconnect::connectors::postgres"],
    ),
    (
        "io.confluent.connect.elasticsearch",
        &["kconnect::connectors::elasticsearch"],
    ),
    ("io.confluent.connect.jdbc", &["kconnect::connectors::jdbc"]),
];

struct State {
    reload: Reload,
    /// The filter kconnect started with, by target ("" is the default level).
    base: BTreeMap<String, String>,
    /// Directives of the base filter that are not `target=level` (spans, fields), kept as is.
    extra: Vec<String>,
    /// Levels set through the API: Connect logger name → (level, epoch ms, order of setting;
    /// two PUTs may share a millisecond).
    set: BTreeMap<String, (String, u64, u64)>,
    seq: u64,
}

static STATE: OnceLock<Mutex<State>> = OnceLock::new();

/// Called once by `main` with the filter it started with and a way to replace it.
pub fn install(initial: &str, reload: Reload) {
    let mut base = BTreeMap::new();
    let mut extra = Vec::new();
    for d in initial.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        if d.contains('[') || d.contains('{') {
            extra.push(d.to_string());
        } else if let Some((t, l)) = d.split_once('=') {
            base.insert(t.to_string(), l.to_ascii_lowercase());
        } else {
            base.insert(String::new(), d.to_ascii_lowercase());
        }
    }
    base.entry(String::new()).or_insert_with(|| "error".into());
    let _ = STATE.set(Mutex::new(State {
        reload,
        base,
        extra,
        set: BTreeMap::new(),
        seq: 0,
    }));
}

fn targets(name: &str) -> Option<Vec<&str>> {
    if name == "root" {
        return Some(vec![""]);
    }
    if let Some((_, t)) = MAPPING.iter().find(|(n, _)| *n == name) {
        return Some(t.to_vec());
    }
    // A tracing target may be named directly.
    (name == "kconnect"
        || name.starts_with("kconnect::")
        || name == "rdkafka"
        || name == "librdkafka")
        .then(|| vec![name])
}

/// Connect's level names; `None` for anything else.
fn level(l: &str) -> Option<&'static str> {
    Some(match l.to_ascii_uppercase().as_str() {
        "OFF" => "off",
        "FATAL" | "ERROR" => "error",
        "WARN" => "warn",
        "INFO" => "info",
        "DEBUG" => "debug",
        "TRACE" | "ALL" => "trace",
        _ => return None,
    })
}

impl State {
    fn effective(&self) -> BTreeMap<String, String> {
        let mut m = self.base.clone();
        let mut set: Vec<_> = self.set.iter().collect();
        // Applied oldest first, so the latest PUT wins where two names share a target.
        set.sort_by_key(|(_, (_, _, seq))| *seq);
        for (name, (lvl, _, _)) in set {
            for t in targets(name).unwrap_or_default() {
                // The level replaces those of the targets under it, as log4j's does.
                let under = format!("{t}::");
                m.retain(|k, _| !(t.is_empty() || k.starts_with(&under)));
                m.insert(t.to_string(), lvl.clone());
            }
        }
        m
    }

    fn directives(&self) -> String {
        let mut parts: Vec<String> = self
            .effective()
            .into_iter()
            .map(|(t, l)| if t.is_empty() { l } else { format!("{t}={l}") })
            .collect();
        parts.extend(self.extra.iter().cloned());
        parts.join(",")
    }

    /// `{"level", "last_modified"}` of a Connect name, in Connect's upper case.
    fn show(&self, name: &str) -> Option<Json> {
        let ts = targets(name)?;
        let eff = self.effective();
        let lvl = level_of(&eff, ts[0]).to_ascii_uppercase();
        let modified = self.set.get(name).map(|(_, at, _)| *at);
        Some(json!({"level": lvl, "last_modified": modified}))
    }
}

/// The level a target logs at: its own directive, else its nearest parent's, else the default.
fn level_of<'a>(eff: &'a BTreeMap<String, String>, target: &str) -> &'a str {
    let mut t = target;
    loop {
        if let Some(l) = eff.get(t) {
            return l;
        }
        match t.rsplit_once("::") {
            Some((parent, _)) => t = parent,
            None if !t.is_empty() => t = "",
            None => return "error",
        }
    }
}

/// Whether `child` is a logger under `parent` in log4j's dotted hierarchy (everything is
/// under `root`).
fn is_under(child: &str, parent: &str) -> bool {
    parent == "root"
        || (child.starts_with(parent) && child.as_bytes().get(parent.len()) == Some(&b'.'))
}

fn unavailable() -> Reply {
    Reply::error(
        500,
        "Loggers are not available: this process did not install kconnect's logging hook (runtime::rest::loggers::install)",
    )
}

/// `GET /admin/loggers`: root, every mapped name and every name set since start.
pub(super) fn list() -> Reply {
    let Some(state) = STATE.get() else {
        return unavailable();
    };
    let s = state.lock().unwrap_or_else(|p| p.into_inner());
    let mut out = Map::new();
    let names = std::iter::once("root")
        .chain(MAPPING.iter().map(|(n, _)| *n))
        .chain(s.set.keys().map(String::as_str));
    for n in names {
        if let Some(v) = s.show(n) {
            out.insert(n.to_string(), v);
        }
    }
    Reply::json(200, Json::Object(out))
}

pub(super) fn get(name: &str) -> Reply {
    let Some(state) = STATE.get() else {
        return unavailable();
    };
    let s = state.lock().unwrap_or_else(|p| p.into_inner());
    match s.show(name) {
        Some(v) => Reply::json(200, v),
        None => Reply::error(404, format!("Logger {name} not found.")),
    }
}

/// `PUT /admin/loggers/{name}` with `{"level": "DEBUG"}`: the names whose level changed.
/// `?scope=cluster` applies the same change and answers 204, as Connect's standalone worker.
pub(super) fn put(call: &Call<'_>, name: &str) -> Reply {
    let body = match call.json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(raw) = body.get("level").and_then(Json::as_str) else {
        return Reply::error(
            400,
            "Desired 'level' parameter was not specified in request.",
        );
    };
    // Connect's answer, 404, kept: tools may look for it.
    let Some(lvl) = level(raw) else {
        return Reply::error(404, format!("invalid log level '{raw}'."));
    };
    if targets(name).is_none() {
        let known: Vec<&str> = MAPPING.iter().map(|(n, _)| *n).collect();
        return Reply::error(404, format!("Logger {name} not found. kconnect maps root, {} and its own targets (kconnect::...)", known.join(", ")));
    }
    let Some(state) = STATE.get() else {
        return unavailable();
    };
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    // As log4j, a level set on a logger replaces the levels set on the loggers under it.
    let before = s.set.clone();
    s.set.retain(|n, _| !is_under(n, name));
    s.seq += 1;
    let seq = s.seq;
    s.set.insert(name.to_string(), (lvl.to_string(), now, seq));
    let directives = s.directives();
    if let Err(e) = (s.reload)(&directives) {
        s.set = before;
        return Reply::error(500, format!("Could not change the log filter: {e}"));
    }
    tracing::info!(
        logger = name,
        level = lvl,
        "log level changed through the REST API"
    );
    // A standalone worker is the whole cluster: Connect answers a cluster-wide change 204.
    if call
        .params("scope")
        .any(|s| s.eq_ignore_ascii_case("cluster"))
    {
        return Reply::empty(204);
    }
    // Connect lists the logger and the loggers under it that changed.
    let mut changed = vec![name.to_string()];
    changed.extend(
        MAPPING
            .iter()
            .map(|(n, _)| *n)
            .filter(|n| is_under(n, name))
            .map(String::from),
    );
    Reply::json(200, Json::from(changed))
}

#[cfg(test)]
pub(super) fn install_for_tests() -> std::sync::Arc<Mutex<Vec<String>>> {
    use std::sync::Arc;
    static SEEN: OnceLock<Arc<Mutex<Vec<String>>>> = OnceLock::new();
    SEEN.get_or_init(|| {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        install(
            "info,librdkafka=warn,rdkafka=warn",
            Box::new(move |d| {
                s.lock().unwrap().push(d.to_string());
                Ok(())
            }),
        );
        seen
    })
    .clone()
}
