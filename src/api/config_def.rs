//! Config definitions in the manner of Connect's `ConfigDef`: every plugin declares its keys
//! once, and that one table drives `kconnect plugins`, `kconnect validate`, the generated
//! reference and the typed accessors the runtime reads settings through.

use std::collections::BTreeMap;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigType {
    Boolean,
    String,
    Int,
    Long,
    Double,
    List,
    Class,
    Password,
}

impl ConfigType {
    pub fn name(self) -> &'static str {
        match self {
            ConfigType::Boolean => "boolean",
            ConfigType::String => "string",
            ConfigType::Int => "int",
            ConfigType::Long => "long",
            ConfigType::Double => "double",
            ConfigType::List => "list",
            ConfigType::Class => "class",
            ConfigType::Password => "password",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyDefault {
    /// The key must be given.
    Required,
    /// Optional with no value (Connect's `null` default).
    None,
    Value(&'static str),
}

#[derive(Clone, Copy)]
pub enum Validator {
    Any,
    /// Case-insensitive choice among these.
    OneOf(&'static [&'static str]),
    AtLeast(i64),
    Between(i64, i64),
    NonEmpty,
    Custom(fn(&str) -> Result<(), String>),
    /// A setting of the real plugin that kconnect implements only for these values
    /// (case-insensitive; every item of a list). Any other value is refused rather than run and
    /// ignored. An empty slice: the setting must stay unset or empty (the feature stays off).
    Honoured(&'static [&'static str]),
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Validator::Any => write!(f, "Any"),
            Validator::OneOf(v) => write!(f, "OneOf({v:?})"),
            Validator::AtLeast(n) => write!(f, "AtLeast({n})"),
            Validator::Between(a, b) => write!(f, "Between({a},{b})"),
            Validator::NonEmpty => write!(f, "NonEmpty"),
            Validator::Custom(_) => write!(f, "Custom"),
            Validator::Honoured(v) => write!(f, "Honoured({v:?})"),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct ConfigKey {
    pub name: &'static str,
    pub ty: ConfigType,
    pub default: KeyDefault,
    pub validator: Validator,
    pub doc: &'static str,
    /// Accepted with a warning: it tunes the real plugin's JVM internals and changes no output,
    /// so kconnect has nothing to do for it.
    pub inert: bool,
}

impl ConfigKey {
    pub const fn new(
        name: &'static str,
        ty: ConfigType,
        default: KeyDefault,
        doc: &'static str,
    ) -> ConfigKey {
        ConfigKey {
            name,
            ty,
            default,
            validator: Validator::Any,
            doc,
            inert: false,
        }
    }

    pub const fn inert(mut self) -> ConfigKey {
        self.inert = true;
        self
    }

    pub const fn validator(mut self, v: Validator) -> ConfigKey {
        self.validator = v;
        self
    }

    pub fn is_secret(&self) -> bool {
        self.ty == ConfigType::Password
    }

    pub fn default_display(&self) -> String {
        match self.default {
            KeyDefault::Required => "(required)".into(),
            KeyDefault::None => "null".into(),
            KeyDefault::Value(v) => {
                if v.is_empty() {
                    "\"\"".into()
                } else {
                    v.into()
                }
            }
        }
    }

    /// Checks a raw value against the key's type and validator; the message reads after
    /// "Invalid value <v> for configuration <key>: ".
    pub fn check(&self, raw: &str) -> Result<(), String> {
        let v = raw.trim();
        match self.ty {
            ConfigType::Boolean
                if !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false") =>
            {
                return Err("Expected value to be either true or false".into());
            }
            ConfigType::Int => {
                v.parse::<i32>()
                    .map_err(|_| "Not a number of type INT".to_string())?;
            }
            ConfigType::Long => {
                v.parse::<i64>()
                    .map_err(|_| "Not a number of type LONG".to_string())?;
            }
            ConfigType::Double => {
                v.parse::<f64>()
                    .map_err(|_| "Not a number of type DOUBLE".to_string())?;
            }
            _ => {}
        }
        match self.validator {
            Validator::Any => Ok(()),
            Validator::OneOf(choices) => {
                let ok = if self.ty == ConfigType::List {
                    split_list(v)
                        .iter()
                        .all(|item| choices.iter().any(|c| c.eq_ignore_ascii_case(item)))
                } else {
                    choices.iter().any(|c| c.eq_ignore_ascii_case(v))
                };
                if ok {
                    Ok(())
                } else {
                    Err(format!("String must be one of: {}", choices.join(", ")))
                }
            }
            Validator::AtLeast(min) => match v.parse::<i64>() {
                Ok(n) if n >= min => Ok(()),
                _ => Err(format!("Value must be at least {min}")),
            },
            Validator::Between(lo, hi) => match v.parse::<i64>() {
                Ok(n) if n >= lo && n <= hi => Ok(()),
                _ => Err(format!("Value must be between {lo} and {hi}")),
            },
            Validator::NonEmpty => {
                if v.is_empty() {
                    Err("String must be non-empty".into())
                } else {
                    Ok(())
                }
            }
            Validator::Custom(f) => f(v),
            Validator::Honoured(values) => {
                let ok = |item: &str| values.iter().any(|c| c.eq_ignore_ascii_case(item));
                let honoured = if self.ty == ConfigType::List {
                    split_list(v).into_iter().all(ok)
                } else {
                    v.is_empty() || ok(v)
                };
                match (honoured, values.is_empty()) {
                    (true, _) => Ok(()),
                    (false, true) => Err("kconnect does not implement this setting yet; leave it unset, or run this connector on Kafka Connect".into()),
                    (false, false) => Err(format!(
                        "kconnect implements only {} so far; remove the setting, or run this connector on Kafka Connect",
                        values.join(", ")
                    )),
                }
            }
        }
    }
}

/// Splits a Connect list value: comma separated, items trimmed, empty items dropped.
pub fn split_list(v: &str) -> Vec<&str> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// What a plugin's `validate` reports for one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

impl Problem {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// A plugin's settings, read through its definitions: values it was given, defaults for the
/// rest. Accessors panic-free: a value that failed validation reads as an error.
#[derive(Clone, Debug)]
pub struct Settings<'a> {
    pub defs: &'a [ConfigKey],
    pub values: &'a BTreeMap<String, String>,
    /// Prefix under which this plugin's keys live (`transforms.unwrap.`), empty for connectors.
    pub prefix: String,
}

#[derive(Debug, thiserror::Error)]
#[error("Invalid value {value} for configuration {key}: {reason}")]
pub struct InvalidConfig {
    pub key: String,
    pub value: String,
    pub reason: String,
}

impl<'a> Settings<'a> {
    pub fn new(defs: &'a [ConfigKey], values: &'a BTreeMap<String, String>) -> Settings<'a> {
        Settings {
            defs,
            values,
            prefix: String::new(),
        }
    }

    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn full(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }

    fn def(&self, key: &str) -> Option<&ConfigKey> {
        self.defs.iter().find(|d| d.name == key)
    }

    /// The raw value given, or the default; `None` when neither exists.
    pub fn raw(&self, key: &str) -> Option<&str> {
        if let Some(v) = self.values.get(&self.full(key)) {
            return Some(v.as_str());
        }
        match self.def(key).map(|d| d.default) {
            Some(KeyDefault::Value(v)) => Some(v),
            _ => None,
        }
    }

    pub fn is_set(&self, key: &str) -> bool {
        self.values.contains_key(&self.full(key))
    }

    fn invalid(&self, key: &str, value: &str, reason: impl Into<String>) -> InvalidConfig {
        InvalidConfig {
            key: self.full(key),
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    pub fn string(&self, key: &str) -> Option<String> {
        self.raw(key).map(|s| s.trim().to_string())
    }

    pub fn required_string(&self, key: &str) -> Result<String, InvalidConfig> {
        match self.raw(key).map(str::trim) {
            Some(s) if !s.is_empty() => Ok(s.to_string()),
            _ => Err(self.invalid(key, "null", "Missing required configuration")),
        }
    }

    pub fn bool(&self, key: &str) -> Result<bool, InvalidConfig> {
        match self.raw(key).map(str::trim) {
            None => Ok(false),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(self.invalid(key, v, "Expected value to be either true or false")),
        }
    }

    pub fn i64(&self, key: &str) -> Result<i64, InvalidConfig> {
        let v = self.raw(key).map(str::trim).unwrap_or("");
        v.parse::<i64>()
            .map_err(|_| self.invalid(key, v, "Not a number of type LONG"))
    }

    pub fn opt_i64(&self, key: &str) -> Result<Option<i64>, InvalidConfig> {
        match self.raw(key).map(str::trim) {
            None | Some("") => Ok(None),
            Some(_) => self.i64(key).map(Some),
        }
    }

    pub fn f64(&self, key: &str) -> Result<f64, InvalidConfig> {
        let v = self.raw(key).map(str::trim).unwrap_or("");
        v.parse::<f64>()
            .map_err(|_| self.invalid(key, v, "Not a number of type DOUBLE"))
    }

    pub fn list(&self, key: &str) -> Vec<String> {
        self.raw(key)
            .map(|v| split_list(v).into_iter().map(String::from).collect())
            .unwrap_or_default()
    }

    /// A choice among fixed names, returned lower-cased for matching.
    pub fn choice(&self, key: &str) -> Result<String, InvalidConfig> {
        let v = self.raw(key).map(str::trim).unwrap_or("");
        if let Some(d) = self.def(key) {
            d.check(v).map_err(|r| self.invalid(key, v, r))?;
        }
        Ok(v.to_ascii_lowercase())
    }
}

/// Validates `values` against `defs`: every problem, not just the first.
pub fn validate_keys(
    defs: &[ConfigKey],
    values: &BTreeMap<String, String>,
    prefix: &str,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for d in defs {
        let key = format!("{prefix}{}", d.name);
        match values.get(&key) {
            Some(v) => {
                if let Err(reason) = d.check(v) {
                    let shown = if d.is_secret() {
                        "[hidden]"
                    } else {
                        v.as_str()
                    };
                    problems.push(Problem::new(
                        key.clone(),
                        format!("Invalid value {shown} for configuration {key}: {reason}"),
                    ));
                }
                if d.default == KeyDefault::Required && v.trim().is_empty() {
                    problems.push(Problem::new(
                        key.clone(),
                        format!(
                            "Missing required configuration \"{key}\" which has no default value."
                        ),
                    ));
                }
            }
            None if d.default == KeyDefault::Required => problems.push(Problem::new(
                key.clone(),
                format!("Missing required configuration \"{key}\" which has no default value."),
            )),
            None => {}
        }
    }
    problems
}

/// The known key nearest to `key`, when it is close enough to be a typo.
pub fn did_you_mean<'k>(key: &str, known: impl IntoIterator<Item = &'k str>) -> Option<&'k str> {
    let mut best: Option<(&str, f64)> = None;
    for k in known {
        if k == key {
            return None;
        }
        let score = strsim::jaro_winkler(key, k);
        let dist = strsim::levenshtein(key, k);
        let close = dist <= 2 || (score > 0.93 && dist <= (k.len() / 4).max(2));
        if close && best.is_none_or(|(_, s)| score > s) {
            best = Some((k, score));
        }
    }
    best.map(|(k, _)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFS: &[ConfigKey] = &[
        ConfigKey::new(
            "batch.size",
            ConfigType::Int,
            KeyDefault::Value("2000"),
            "Records per poll.",
        ),
        ConfigKey::new("mode", ConfigType::String, KeyDefault::Value("a"), "Mode.")
            .validator(Validator::OneOf(&["a", "b"])),
        ConfigKey::new("topic", ConfigType::String, KeyDefault::Required, "Topic."),
        ConfigKey::new(
            "password",
            ConfigType::Password,
            KeyDefault::None,
            "Secret.",
        ),
    ];

    #[test]
    fn reports_every_problem_and_hides_secrets() {
        let mut v = BTreeMap::new();
        v.insert("batch.size".into(), "lots".into());
        v.insert("mode".into(), "c".into());
        v.insert("password".into(), "hunter2".into());
        let p = validate_keys(DEFS, &v, "");
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p.iter().any(|p| p.key == "topic"));
        assert!(p.iter().all(|p| !p.message.contains("hunter2")));
    }

    #[test]
    fn settings_fall_back_to_defaults() {
        let v = BTreeMap::new();
        let s = Settings::new(DEFS, &v);
        assert_eq!(s.i64("batch.size").unwrap(), 2000);
        assert!(s.required_string("topic").is_err());
    }

    #[test]
    fn suggests_near_keys_only() {
        let known = ["batch.size", "topic", "tasks.max"];
        assert_eq!(did_you_mean("batch.sise", known), Some("batch.size"));
        assert_eq!(did_you_mean("taks.max", known), Some("tasks.max"));
        assert_eq!(did_you_mean("completely.other", known), None);
    }
}
