//! The one registry of everything kconnect can run: connectors, converters, header
//! converters, transforms and predicates, each with its config keys. `kconnect plugins`,
//! `kconnect validate` and the reference in docs/reference.md are all read from here.

use crate::api::{ConfigKey, ConnectorPlugin, PluginDesc, PluginKind};

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
        .flat_map(|d| d.names())
        .collect()
}

/// A connector's own keys followed by those every source or sink has.
pub fn connector_keys(plugin: &ConnectorPlugin) -> Vec<&'static [ConfigKey]> {
    use crate::config::connector::{COMMON_KEYS, SINK_KEYS, SOURCE_KEYS};
    let kind_keys = if plugin.is_source() {
        SOURCE_KEYS
    } else {
        SINK_KEYS
    };
    vec![plugin.desc.config, COMMON_KEYS, kind_keys]
}

#[cfg(test)]
mod tests {
    use crate::api::Upstream;

    /// Every plugin answers to a Java class of Kafka, Debezium or Confluent, and reports the
    /// version of that implementation; none falls back to kconnect's own.
    #[test]
    fn every_plugin_reports_the_version_of_the_implementation_it_matches() {
        for d in super::all() {
            let up = d.upstream();
            assert_ne!(up, Upstream::KCONNECT, "{}", d.class);
            assert_eq!(d.version(), up.version);
        }
        let version = |class: &str| {
            super::all()
                .into_iter()
                .find(|d| d.class == class)
                .unwrap()
                .version()
        };
        assert_eq!(
            version("org.apache.kafka.connect.file.FileStreamSourceConnector"),
            "4.3.0"
        );
        assert_eq!(
            version("org.apache.kafka.connect.transforms.RegexRouter"),
            "4.3.0"
        );
        assert_eq!(
            version("io.debezium.connector.postgresql.PostgresConnector"),
            "3.6.3.Final"
        );
        assert_eq!(
            version("io.debezium.transforms.ExtractNewRecordState"),
            "3.6.3.Final"
        );
        assert_eq!(
            version("io.confluent.connect.elasticsearch.ElasticsearchSinkConnector"),
            "15.1.3"
        );
        assert_eq!(version("io.confluent.connect.avro.AvroConverter"), "7.0.16");
        assert_eq!(
            version("io.confluent.connect.jdbc.JdbcSinkConnector"),
            "10.9.7"
        );
    }
}
