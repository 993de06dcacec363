//! Nested settings (`value.converter.*`, `header.converter.*`, `transforms.<alias>.*`,
//! `predicates.<alias>.*`) are checked as connector-level keys are: a near miss of a real key
//! is a problem with "did you mean", any other unknown key a warning that it is ignored. A
//! Connect worker passes such keys to the plugin, which drops them without a word; a setting
//! that is accepted and then ignored is how a pipeline silently does something else than its
//! file says. A `plugin.version` under any of them is checked against the version the plugin
//! matches (`api::version`).

use std::collections::BTreeMap;

use crate::api::{did_you_mean, split_list, PluginDesc};
use crate::convert::{find_converter, find_header_converter};
use crate::transform::{find_predicate, find_transform};

/// (key, message) pairs, as `validate_connector` collects them.
pub type Found = Vec<(Option<String>, String)>;

/// Keys every transform or predicate alias has besides its plugin's own.
const TRANSFORM_KEYS: &[&str] = &["type", "predicate", "negate", "plugin.version"];
const PREDICATE_KEYS: &[&str] = &["type", "plugin.version"];
/// A converter's nested keys besides its own: Connect 4.x's version requirement (KIP-891).
const CONVERTER_KEYS: &[&str] = &["plugin.version"];

/// One plugin's nested keys: their prefix, the plugin and the keys the worker adds.
struct Scope {
    prefix: String,
    desc: &'static PluginDesc,
    extra: &'static [&'static str],
}

fn scopes(values: &BTreeMap<String, String>) -> Vec<Scope> {
    let mut out = Vec::new();
    // As in Connect, a connector's nested converter keys apply only when it names the
    // converter itself; validate_connector warns about the others.
    for key in ["key.converter", "value.converter"] {
        if let Some(p) = values.get(key).and_then(|c| find_converter(c)) {
            out.push(Scope {
                prefix: format!("{key}."),
                desc: &p.desc,
                extra: CONVERTER_KEYS,
            });
        }
    }
    if let Some(p) = values
        .get("header.converter")
        .and_then(|c| find_header_converter(c))
    {
        out.push(Scope {
            prefix: "header.converter.".into(),
            desc: &p.desc,
            extra: CONVERTER_KEYS,
        });
    }
    let aliases = |k: &str| -> Vec<String> {
        values
            .get(k)
            .map(|v| split_list(v).into_iter().map(String::from).collect())
            .unwrap_or_default()
    };
    for alias in aliases("transforms") {
        let prefix = format!("transforms.{alias}.");
        if let Some(t) = values
            .get(&format!("{prefix}type"))
            .and_then(|t| find_transform(t))
        {
            out.push(Scope {
                prefix,
                desc: &t.desc,
                extra: TRANSFORM_KEYS,
            });
        }
    }
    for alias in aliases("predicates") {
        let prefix = format!("predicates.{alias}.");
        if let Some(p) = values
            .get(&format!("{prefix}type"))
            .and_then(|t| find_predicate(t))
        {
            out.push(Scope {
                prefix,
                desc: &p.desc,
                extra: PREDICATE_KEYS,
            });
        }
    }
    out
}

/// Problems and warnings for unknown nested keys; keys already in `refused` are skipped
/// (their problem says more).
pub fn check(values: &BTreeMap<String, String>, refused: &Found) -> (Found, Found) {
    let mut problems = Found::new();
    let mut warnings = Found::new();
    let is_refused = |k: &str| refused.iter().any(|(r, _)| r.as_deref() == Some(k));
    for scope in scopes(values) {
        let version_key = format!("{}plugin.version", scope.prefix);
        if let Some(spec) = values.get(&version_key) {
            if let Err(m) = crate::api::version::check(scope.desc.class, scope.desc.version(), spec)
            {
                problems.push((Some(version_key), m));
            }
        }
        let known: Vec<&str> = scope
            .desc
            .config
            .iter()
            .map(|k| k.name)
            .chain(scope.extra.iter().copied())
            .collect();
        for (full, nested) in values
            .keys()
            .filter_map(|k| k.strip_prefix(&scope.prefix).map(|n| (k, n)))
        {
            if known.contains(&nested) || is_refused(full) {
                continue;
            }
            let class = scope.desc.class;
            match did_you_mean(nested, known.iter().copied()) {
                Some(m) => problems.push((
                    Some(full.clone()),
                    format!(
                        "{full} is not a setting of {class}; did you mean {}{m}?",
                        scope.prefix
                    ),
                )),
                None => warnings.push((
                    Some(full.clone()),
                    format!("{full} is not a setting of {class}; it is ignored"),
                )),
            }
        }
    }
    (problems, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn unknown_nested_keys_are_warned_and_near_misses_refused() {
        let v = values(&[
            (
                "value.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
            ("value.converter.schemas.enable", "false"),
            ("value.converter.bogus", "1"),
            ("value.converter.schemas.enabled", "false"),
            ("key.converter", "StringConverter"),
            ("key.converter.converter.encoding", "UTF-8"),
            ("header.converter", "SimpleHeaderConverter"),
            ("header.converter.x", "1"),
            ("transforms", "m"),
            (
                "transforms.m.type",
                "org.apache.kafka.connect.transforms.MaskField$Value",
            ),
            ("transforms.m.fields", "a"),
            ("transforms.m.predicate", "p"),
            ("transforms.m.bogus", "x"),
            ("transforms.m.replacment", "x"),
            ("predicates", "p"),
            ("predicates.p.type", "TopicNameMatches"),
            ("predicates.p.pattern", "t"),
            ("predicates.p.patern", "t"),
            ("predicates.p.zzz", "t"),
        ]);
        let (problems, warnings) = check(&v, &Vec::new());
        let keys = |f: &Found| {
            f.iter()
                .map(|(k, _)| k.clone().unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            keys(&problems),
            [
                "value.converter.schemas.enabled",
                "transforms.m.replacment",
                "predicates.p.patern"
            ]
        );
        assert!(problems[0]
            .1
            .contains("did you mean value.converter.schemas.enable?"));
        assert_eq!(
            keys(&warnings),
            [
                "value.converter.bogus",
                "header.converter.x",
                "transforms.m.bogus",
                "predicates.p.zzz"
            ]
        );
        assert_eq!(
            warnings[0].1,
            "value.converter.bogus is not a setting of org.apache.kafka.connect.json.JsonConverter; it is ignored"
        );
        // A key refused elsewhere is not reported twice.
        let refused = vec![(Some("value.converter.bogus".to_string()), String::new())];
        assert_eq!(check(&v, &refused).1.len(), 3);
    }
}
