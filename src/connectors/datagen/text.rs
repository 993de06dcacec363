//! Strings and lengths: `length` (a number, or `min` and/or `max`), `regex`, `prefix` and
//! `suffix`. Without a `regex` a string is random ASCII, as the generator makes it.

use rand::distr::Distribution;

use super::generator::GenError;
use super::random::JavaRandom;
use crate::data::avro::json::Json;

/// Lengths from `min` up to, not including, `max`; 8 to 15 when no `length` is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LengthBounds {
    pub min: i32,
    pub max: i32,
}

impl LengthBounds {
    pub fn of(length: Option<&Json>) -> Result<LengthBounds, GenError> {
        let int = |v: &Json| v.as_i64().and_then(|i| i32::try_from(i).ok());
        match length {
            None => Ok(LengthBounds { min: 8, max: 16 }),
            Some(v @ Json::Int(_)) => match int(v) {
                Some(n) if (0..i32::MAX).contains(&n) => Ok(LengthBounds { min: n, max: n + 1 }),
                _ => Err(GenError::rule("length cannot be negative")),
            },
            Some(o @ Json::Object(_)) => {
                let get = |k: &str| match o.get(k) {
                    None | Some(Json::Null) => Ok(None),
                    Some(v) => int(v)
                        .map(Some)
                        .ok_or_else(|| GenError::rule(format!("length's \"{k}\" must be an int"))),
                };
                let (min, max) = (get("min")?, get("max")?);
                if min.is_none() && max.is_none() {
                    return Err(GenError::rule("length must have \"min\" and/or \"max\""));
                }
                let (min, max) = (min.unwrap_or(0), max.unwrap_or(i32::MAX));
                if min < 0 {
                    return Err(GenError::rule("length's \"min\" cannot be negative"));
                }
                if max <= min {
                    return Err(GenError::rule(
                        "length's \"max\" must be greater than its \"min\"",
                    ));
                }
                Ok(LengthBounds { min, max })
            }
            Some(v) => Err(GenError::rule(format!(
                "length must be an int or an object, is {}",
                v.to_text()
            ))),
        }
    }

    pub fn pick(&self, r: &mut JavaRandom) -> usize {
        (self.min + r.next_int_bounded(self.max - self.min)) as usize
    }
}

/// How many strings to draw from a regex looking for one whose length is within bounds.
const REGEX_TRIES: usize = 64;

pub struct StringRule {
    regex: Option<Regex>,
    len: LengthBounds,
    prefix: String,
    suffix: String,
}

struct Regex {
    sampler: rand_regex::Regex,
    /// Whether some match can have a length within bounds; if not, any match will do.
    can_fit: bool,
}

fn text(props: &Json, key: &str) -> Result<String, GenError> {
    match props.get(key) {
        None | Some(Json::Null) => Ok(String::new()),
        Some(Json::Str(s)) => Ok(s.clone()),
        Some(v) => Err(GenError::rule(format!(
            "{key} must be a string, is {}",
            v.to_text()
        ))),
    }
}

/// The generator's regex library has no `\d`, `\w` or `\s` of its own and reads them as ASCII
/// classes; so does this.
fn ascii_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('d') => out.push_str("[0-9]"),
            Some('D') => out.push_str("[^0-9]"),
            Some('w') => out.push_str("[a-zA-Z_0-9]"),
            Some('W') => out.push_str("[^a-zA-Z_0-9]"),
            Some('s') => out.push_str("[ \\t\\n\\f\\r]"),
            Some('S') => out.push_str("[^ \\t\\n\\f\\r]"),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

impl StringRule {
    pub fn new(props: &Json) -> Result<StringRule, GenError> {
        let len = LengthBounds::of(props.get("length"))?;
        let regex = match props.get("regex") {
            None | Some(Json::Null) => None,
            Some(Json::Str(pattern)) => {
                let bad = |why: String| GenError::rule(format!("regex {pattern:?}: {why}"));
                let hir = regex_syntax::ParserBuilder::new()
                    .build()
                    .parse(&ascii_classes(pattern))
                    .map_err(|e| bad(e.to_string()))?;
                let props = hir.properties();
                let (lo, hi) = (len.min as usize, (len.max as usize).saturating_sub(1));
                let can_fit = props.minimum_len().unwrap_or(0) <= hi.saturating_mul(4)
                    && props.maximum_len().is_none_or(|m| m >= lo);
                let max_repeat = hi.clamp(1, 100) as u32;
                let sampler = rand_regex::Regex::with_hir(hir, max_repeat)
                    .map_err(|e| bad(format!("{e} in a regex for generated strings")))?;
                Some(Regex { sampler, can_fit })
            }
            Some(v) => {
                return Err(GenError::rule(format!(
                    "regex must be a string, is {}",
                    v.to_text()
                )))
            }
        };
        Ok(StringRule {
            regex,
            len,
            prefix: text(props, "prefix")?,
            suffix: text(props, "suffix")?,
        })
    }

    pub fn generate(&self, r: &mut JavaRandom) -> String {
        let body = match &self.regex {
            None => {
                let n = self.len.pick(r);
                (0..n)
                    .map(|_| (r.next_int_bounded(128) as u8) as char)
                    .collect()
            }
            Some(re) => {
                let (lo, hi) = (
                    self.len.min as usize,
                    (self.len.max as usize).saturating_sub(1),
                );
                let mut s: String = re.sampler.sample(r);
                if re.can_fit {
                    for _ in 1..REGEX_TRIES {
                        let n = s.chars().count();
                        if (lo..=hi.max(lo)).contains(&n) {
                            break;
                        }
                        s = re.sampler.sample(r);
                    }
                }
                s
            }
        };
        if self.prefix.is_empty() && self.suffix.is_empty() {
            body
        } else {
            format!("{}{body}{}", self.prefix, self.suffix)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(text: &str) -> StringRule {
        StringRule::new(&Json::from_serde(&serde_json::from_str(text).unwrap())).unwrap()
    }

    #[test]
    fn regex_strings_match_and_keep_to_their_length() {
        let mut r = JavaRandom::new(1);
        let item = rule(r#"{"regex": "Item_[1-9][0-9]{0,2}"}"#);
        let re = regex::Regex::new("^Item_[1-9][0-9]{0,2}$").unwrap();
        for _ in 0..200 {
            let s = item.generate(&mut r);
            assert!(re.is_match(&s), "{s}");
            // Within the default 8..16 only the longest form fits.
            assert_eq!(s.len(), 8, "{s}");
        }
        let user = rule(r#"{"regex": "User_[1-9]"}"#);
        assert!(user.generate(&mut r).starts_with("User_"));
        let exact = rule(r#"{"regex": "[a-zA-Z]*", "length": 10}"#);
        for _ in 0..50 {
            assert_eq!(exact.generate(&mut r).len(), 10);
        }
        let digits = rule(r##"{"regex": "\\d{4}", "prefix": "+", "suffix": "#"}"##);
        let s = digits.generate(&mut r);
        assert!(
            regex::Regex::new(r"^\+[0-9]{4}#$").unwrap().is_match(&s),
            "{s}"
        );
    }

    #[test]
    fn plain_strings_are_ascii_of_the_given_length() {
        let mut r = JavaRandom::new(2);
        let s = rule(r#"{"length": {"min": 3, "max": 5}}"#);
        for _ in 0..50 {
            let v = s.generate(&mut r);
            assert!((3..5).contains(&v.len()) && v.is_ascii(), "{v:?}");
        }
    }

    #[test]
    fn bad_rules_say_what_is_wrong() {
        let err = |t: &str| {
            StringRule::new(&Json::from_serde(&serde_json::from_str(t).unwrap()))
                .err()
                .unwrap()
                .to_string()
        };
        assert!(err(r#"{"regex": "a(b"}"#).contains("regex \"a(b\""));
        assert!(err(r#"{"regex": "^a$"}"#).contains("anchor"));
        assert!(err(r#"{"length": {"min": 5, "max": 5}}"#).contains("greater"));
        assert!(err(r#"{"length": -1}"#).contains("negative"));
    }
}
