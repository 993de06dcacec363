//! The AvroConverter's settings: those every schema-registry converter has
//! ([`crate::convert::serde_config`]) and Confluent's `AvroDataConfig` ones (7.0.16). Each is
//! implemented, or refused by name for the values kconnect does not implement.

use std::collections::BTreeMap;
use std::ops::Deref;

use super::AvroDataOptions;
use crate::api::{ConfigKey, ConfigType, KeyDefault, Problem, Settings, Validator};
use crate::convert::serde_config::{problem, registry_keys, SerdeConfig};

pub const KEYS: &[ConfigKey] = registry_keys![
    ConfigKey::new("enhanced.avro.schema.support", ConfigType::Boolean, KeyDefault::Value("false"),
        "Keep Avro enums (and their symbols) and full names of union members."),
    ConfigKey::new("connect.meta.data", ConfigType::Boolean, KeyDefault::Value("true"),
        "Write connect.name/version/doc/default/parameters into Avro schemas and read them back."),
    ConfigKey::new("allow.optional.map.keys", ConfigType::Boolean, KeyDefault::Value("false"),
        "Write maps with optional string keys as Avro maps."),
    ConfigKey::new("avro.use.logical.type.converters", ConfigType::Boolean, KeyDefault::Value("false"),
        "Confluent's logical type conversions: writing is unchanged, reading logical types fails as in 7.0.16."),
    ConfigKey::new("specific.avro.reader", ConfigType::Boolean, KeyDefault::Value("false"),
        "Java generated classes: not applicable (only false).")
        .validator(Validator::Honoured(&["false"])),
    ConfigKey::new("avro.reflection.allow.null", ConfigType::Boolean, KeyDefault::Value("false"),
        "Java reflection: not applicable (only false).")
        .validator(Validator::Honoured(&["false"])),
    ConfigKey::new("avro.remove.java.properties", ConfigType::Boolean, KeyDefault::Value("false"),
        "Removing avro.java.string properties: not implemented by kconnect (only false).")
        .validator(Validator::Honoured(&["false"])),
    ConfigKey::new("discard.type.doc.default", ConfigType::Boolean, KeyDefault::Value("false"),
        "The deprecated doc/default handling: not implemented by kconnect (only false).")
        .validator(Validator::Honoured(&["false"])),
    ConfigKey::new("missing.id.cache.ttl.sec", ConfigType::Long, KeyDefault::Value("0"),
        "Caching unknown ids: not implemented by kconnect (only 0).")
        .validator(Validator::Honoured(&["0"])),
    ConfigKey::new("missing.schema.cache.ttl.sec", ConfigType::Long, KeyDefault::Value("0"),
        "Caching unknown schemas: not implemented by kconnect (only 0).")
        .validator(Validator::Honoured(&["0"])),
    ConfigKey::new("missing.cache.size", ConfigType::Int, KeyDefault::Value("10000"),
        "Size of the cache of unknown ids; kconnect keeps none (no effect with the TTLs at 0)."),
];

pub struct AvroConfig {
    pub serde: SerdeConfig,
    pub data: AvroDataOptions,
}

impl Deref for AvroConfig {
    type Target = SerdeConfig;
    fn deref(&self) -> &SerdeConfig {
        &self.serde
    }
}

impl AvroConfig {
    pub fn parse(cfg: &BTreeMap<String, String>) -> Result<AvroConfig, Problem> {
        if cfg.contains_key("ignore.default.for.nullables") {
            return Err(Problem::new(
                "ignore.default.for.nullables",
                "ignore.default.for.nullables is not a setting of Confluent's AvroConverter 7.0.16, which kconnect reproduces (7.0.16 would ignore it and write defaults of nullable fields as it always does); remove it",
            ));
        }
        let serde = SerdeConfig::parse(KEYS, cfg)?;
        let s = Settings::new(KEYS, cfg);
        let b = |k: &str| s.bool(k).map_err(|e| problem(k, e));
        let data = AvroDataOptions {
            connect_meta_data: b("connect.meta.data")?,
            enhanced_avro_schema_support: b("enhanced.avro.schema.support")?,
            scrub_invalid_names: b("scrub.invalid.names")?,
            allow_optional_map_keys: b("allow.optional.map.keys")?,
            use_logical_type_converters: b("avro.use.logical.type.converters")?,
        };
        Ok(AvroConfig { serde, data })
    }
}
