//! The one registry of everything kconnect can run: connectors, converters, header
//! converters, transforms and predicates, each with its config keys. `kconnect plugins`,
//! `kconnect validate` and the README's reference are all read from here.

use crate::config::ConfigKey;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PluginKind {
    Source,
    Sink,
    Converter,
    HeaderConverter,
    Transformation,
    Predicate,
}

impl PluginKind {
    pub fn name(self) -> &'static str {
        match self {
            PluginKind::Source => "source",
            PluginKind::Sink => "sink",
            PluginKind::Converter => "converter",
            PluginKind::HeaderConverter => "header_converter",
            PluginKind::Transformation => "transformation",
            PluginKind::Predicate => "predicate",
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct PluginDesc {
    pub kind: PluginKind,
    /// The Java class name users' files carry.
    pub class: &'static str,
    pub aliases: &'static [&'static str],
    pub doc: &'static str,
    pub config: &'static [ConfigKey],
}

impl PluginDesc {
    /// Connect accepts the class name or any alias.
    pub fn matches(&self, name: &str) -> bool {
        let name = name.trim();
        self.class == name || self.aliases.contains(&name)
    }
}

/// Every plugin, in the order `kconnect plugins` lists them.
pub fn all() -> Vec<PluginDesc> {
    let mut out: Vec<PluginDesc> = Vec::new();
    out.extend(crate::connectors::registry().iter().map(|c| c.desc));
    out.extend(crate::convert::converters().iter().map(|c| c.desc));
    out.extend(crate::convert::header_converters().iter().map(|c| c.desc));
    out.extend(crate::transform::transforms().iter().map(|t| t.desc));
    out.extend(crate::transform::predicates().iter().map(|p| p.desc));
    out.sort_by_key(|d| d.kind);
    out
}

/// All names (classes and aliases) of one kind, for "did you mean".
pub fn names(kind: &[PluginKind]) -> Vec<&'static str> {
    all()
        .into_iter()
        .filter(|d| kind.contains(&d.kind))
        .flat_map(|d| std::iter::once(d.class).chain(d.aliases.iter().copied()))
        .collect()
}
