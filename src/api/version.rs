//! Connect 4.x's `*.plugin.version` settings (KIP-891): a version or a Maven version range a
//! plugin must match. kconnect has one implementation of each plugin, so a requirement either
//! admits the version that implementation matches or the config is refused, with Connect's
//! own words. Versions compare as Maven's `ComparableVersion` does, in the parts that plugin
//! versions use: numbers compared as numbers, trailing zeros and the release qualifiers
//! (`Final`, `GA`, `release`) not counted, so `3.6.3` is `3.6.3.Final`.

use std::cmp::Ordering;

/// One part of a version: a number, or a qualifier ranked as Maven ranks them.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Number(u64),
    /// (rank, text): alpha < beta < milestone < rc < snapshot < release < sp < anything else.
    Qualifier(u8, String),
}

const RELEASE: u8 = 5;

fn qualifier(q: &str) -> Item {
    let q = q.to_ascii_lowercase();
    let rank = match q.as_str() {
        "alpha" | "a" => 0,
        "beta" | "b" => 1,
        "milestone" | "m" => 2,
        "rc" | "cr" => 3,
        "snapshot" => 4,
        "" | "final" | "ga" | "release" => RELEASE,
        "sp" => 6,
        _ => 7,
    };
    Item::Qualifier(rank, if rank == 7 { q } else { String::new() })
}

/// The parts of a version, with what counts for nothing (zeros and release qualifiers at the
/// end) left off.
fn parse(v: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut current = String::new();
    let flush = |current: &mut String, items: &mut Vec<Item>| {
        if !current.is_empty() {
            items.push(match current.parse::<u64>() {
                Ok(n) => Item::Number(n),
                Err(_) => qualifier(current),
            });
            current.clear();
        }
    };
    let mut last_digit: Option<bool> = None;
    for c in v.trim().chars() {
        if c == '.' || c == '-' || c == '_' {
            flush(&mut current, &mut items);
            last_digit = None;
            continue;
        }
        // A switch between digits and letters separates parts too (`1rc2`).
        let digit = c.is_ascii_digit();
        if last_digit.is_some_and(|d| d != digit) {
            flush(&mut current, &mut items);
        }
        last_digit = Some(digit);
        current.push(c);
    }
    flush(&mut current, &mut items);
    while matches!(items.last(), Some(Item::Number(0)))
        || matches!(items.last(), Some(Item::Qualifier(RELEASE, _)))
    {
        items.pop();
    }
    items
}

fn cmp_item(a: Option<&Item>, b: Option<&Item>) -> Ordering {
    // A missing part counts as 0 against a number and as a release against a qualifier.
    let zero = Item::Number(0);
    let release = Item::Qualifier(RELEASE, String::new());
    let (a, b) = match (a, b) {
        (None, None) => return Ordering::Equal,
        (None, Some(b @ Item::Number(_))) => (&zero, b),
        (None, Some(b)) => (&release, b),
        (Some(a @ Item::Number(_)), None) => (a, &zero),
        (Some(a), None) => (a, &release),
        (Some(a), Some(b)) => (a, b),
    };
    match (a, b) {
        (Item::Number(x), Item::Number(y)) => x.cmp(y),
        // A number is newer than any qualifier (1.0.1 > 1.0-rc1).
        (Item::Number(_), Item::Qualifier(..)) => Ordering::Greater,
        (Item::Qualifier(..), Item::Number(_)) => Ordering::Less,
        (Item::Qualifier(r, s), Item::Qualifier(q, t)) => r.cmp(q).then_with(|| s.cmp(t)),
    }
}

pub fn compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (parse(a), parse(b));
    for i in 0..a.len().max(b.len()) {
        let o = cmp_item(a.get(i), b.get(i));
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// One `[lo,hi)`-style restriction; `None` bounds are open-ended.
#[derive(Debug, PartialEq, Eq)]
struct Restriction {
    lo: Option<(String, bool)>,
    hi: Option<(String, bool)>,
}

impl Restriction {
    fn admits(&self, v: &str) -> bool {
        let above = self.lo.as_ref().is_none_or(|(lo, inclusive)| {
            let o = compare(v, lo);
            o == Ordering::Greater || (*inclusive && o == Ordering::Equal)
        });
        let below = self.hi.as_ref().is_none_or(|(hi, inclusive)| {
            let o = compare(v, hi);
            o == Ordering::Less || (*inclusive && o == Ordering::Equal)
        });
        above && below
    }
}

/// A requirement as Connect reads it: `latest` (or nothing) is none; a bare version must be
/// that version (Connect makes it `[v,v]`); otherwise one or more comma-separated ranges.
#[derive(Debug)]
pub struct Requirement {
    ranges: Vec<Restriction>,
    /// How Connect writes the requirement in its message (`[4.2.0,4.2.0]`).
    shown: String,
}

impl Requirement {
    pub fn parse(spec: &str) -> Result<Option<Requirement>, String> {
        let spec = spec.trim();
        if spec.is_empty() || spec.eq_ignore_ascii_case("latest") {
            return Ok(None);
        }
        if !spec.starts_with(['[', '(']) {
            if spec.contains([',', '[', ']', '(', ')']) {
                return Err(format!("{spec} is neither a version nor a version range"));
            }
            return Ok(Some(Requirement {
                ranges: vec![Restriction {
                    lo: Some((spec.into(), true)),
                    hi: Some((spec.into(), true)),
                }],
                shown: format!("[{spec},{spec}]"),
            }));
        }
        let mut ranges = Vec::new();
        let mut rest = spec;
        while !rest.is_empty() {
            let open_inclusive = rest.starts_with('[');
            let end = rest
                .find([']', ')'])
                .ok_or_else(|| format!("unbounded version range {spec}: a [ or ( is not closed"))?;
            let close_inclusive = rest.as_bytes()[end] == b']';
            let inner = &rest[1..end];
            let r = match inner.split_once(',') {
                None => {
                    if !(open_inclusive && close_inclusive) || inner.trim().is_empty() {
                        return Err(format!(
                            "single version {inner} in {spec} must be written [{inner}]"
                        ));
                    }
                    let v = inner.trim().to_string();
                    Restriction {
                        lo: Some((v.clone(), true)),
                        hi: Some((v, true)),
                    }
                }
                Some((lo, hi)) => {
                    let (lo, hi) = (lo.trim(), hi.trim());
                    if hi.contains(',') {
                        return Err(format!("{spec}: a range has two bounds"));
                    }
                    let lo = (!lo.is_empty()).then(|| (lo.to_string(), open_inclusive));
                    let hi = (!hi.is_empty()).then(|| (hi.to_string(), close_inclusive));
                    if let (Some((l, _)), Some((h, _))) = (&lo, &hi) {
                        if compare(l, h) == Ordering::Greater {
                            return Err(format!("{spec}: the lower bound is above the upper one"));
                        }
                    }
                    Restriction { lo, hi }
                }
            };
            ranges.push(r);
            rest = rest[end + 1..].trim_start();
            if let Some(r) = rest.strip_prefix(',') {
                rest = r.trim_start();
                if !rest.starts_with(['[', '(']) {
                    return Err(format!("{spec}: expected another range after the comma"));
                }
            } else if !rest.is_empty() {
                return Err(format!("{spec}: unexpected text after a range"));
            }
        }
        Ok(Some(Requirement {
            ranges,
            shown: spec.to_string(),
        }))
    }

    pub fn admits(&self, version: &str) -> bool {
        self.ranges.iter().any(|r| r.admits(version))
    }
}

/// `Ok` when the plugin's version meets `spec`; else the message, Connect's with what to do.
pub fn check(class: &str, version: &str, spec: &str) -> Result<(), String> {
    match Requirement::parse(spec)? {
        None => Ok(()),
        Some(r) if r.admits(version) => Ok(()),
        Some(r) => Err(format!(
            "Plugin {class} not found that matches the version range {}, available versions: [{version}]; kconnect implements {class} as version {version} does: require that version, or remove the setting",
            r.shown
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_as_maven_does_for_plugin_versions() {
        assert_eq!(compare("4.3", "4.3.0"), Ordering::Equal);
        assert_eq!(compare("4.3.0.0", "4.3.0"), Ordering::Equal);
        assert_eq!(compare("3.6.3", "3.6.3.Final"), Ordering::Equal);
        assert_eq!(compare("4.10.0", "4.9.1"), Ordering::Greater);
        assert_eq!(compare("3.6.3.CR1", "3.6.3.Final"), Ordering::Less);
        assert_eq!(compare("1.0-alpha", "1.0-beta"), Ordering::Less);
        assert_eq!(compare("1.0.1", "1.0-rc1"), Ordering::Greater);
    }

    #[test]
    fn requirements_as_the_real_worker_judged_them() {
        // What Kafka Connect 4.3.0 answered for a plugin of version 4.3.0.
        for ok in [
            "4.3.0",
            "4.3",
            "4.3.0.0",
            "latest",
            "",
            "[4.0,5.0)",
            "(,4.3.0]",
            "[4.3.0]",
        ] {
            assert!(check("X", "4.3.0", ok).is_ok(), "{ok}");
        }
        for (bad, shown) in [
            ("4.2.0", "[4.2.0,4.2.0]"),
            ("foo", "[foo,foo]"),
            ("[4.0,4.1)", "[4.0,4.1)"),
            ("[4.4,)", "[4.4,)"),
            ("(,4.3.0)", "(,4.3.0)"),
        ] {
            let e = check("X", "4.3.0", bad).unwrap_err();
            assert!(
                e.starts_with(&format!(
                    "Plugin X not found that matches the version range {shown}, available versions: [4.3.0]"
                )),
                "{e}"
            );
        }
        assert!(check("D", "3.6.3.Final", "3.6.3").is_ok());
        assert!(check("D", "3.6.3.Final", "[3.0,3.6.3.Final]").is_ok());
        assert!(check("X", "4.3.0", "[1,2),[4,5)").is_ok());
        assert!(check("X", "4.3.0", "[1,2),[5,6)").is_err());
    }

    #[test]
    fn malformed_ranges_are_refused_not_read_loosely() {
        for bad in [
            "[4.0,5.0",
            "[4.0,5.0),",
            "(4.3.0)",
            "[5,4]",
            "[1,2,3]",
            "4.3,4.4",
        ] {
            assert!(Requirement::parse(bad).is_err(), "{bad}");
        }
    }
}
