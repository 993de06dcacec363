//! The ProtobufConverter's settings: those every schema-registry converter has
//! ([`crate::convert::serde_config`]), Confluent's `ProtobufDataConfig` ones and the Protobuf
//! serializer's and deserializer's (7.0.16). Each is implemented, or refused by name for the
//! values kconnect does not implement.

use std::collections::BTreeMap;
use std::ops::Deref;

use crate::api::{ConfigKey, ConfigType, KeyDefault, Problem, Settings, Validator};
use crate::convert::serde_config::{problem, registry_keys, SerdeConfig};
use crate::data::protobuf::ProtobufDataOptions;

pub const KEYS: &[ConfigKey] = registry_keys![
    ConfigKey::new("enhanced.protobuf.schema.support", ConfigType::Boolean, KeyDefault::Value("false"),
        "Read message, enum and oneof names with their package (full names) into Connect schema names."),
    ConfigKey::new("optional.for.nullables", ConfigType::Boolean, KeyDefault::Value("false"),
        "Write optional Connect fields as proto3 optional fields; read only fields marked optional as optional."),
    ConfigKey::new("optional.for.proto2", ConfigType::Boolean, KeyDefault::Value("true"),
        "Read proto2 optional fields that are absent as null rather than as their default."),
    ConfigKey::new("wrapper.for.nullables", ConfigType::Boolean, KeyDefault::Value("false"),
        "Write optional Connect primitives as google.protobuf wrapper messages and read wrappers as optional primitives."),
    ConfigKey::new("wrapper.for.raw.primitives", ConfigType::Boolean, KeyDefault::Value("true"),
        "Read a top-level wrapper message as its primitive (false: as a struct with a value field)."),
    ConfigKey::new("skip.known.types", ConfigType::Boolean, KeyDefault::Value("true"),
        "Leave well-known imports (google/protobuf, google/type, confluent) out of the references: kconnect implements only true.")
        .validator(Validator::Honoured(&["true"])),
    ConfigKey::new("reference.lookup.only", ConfigType::Boolean, KeyDefault::Value("false"),
        "Only look references up: the schemas kconnect writes import only well-known types, which are never references, so there is nothing to register or look up either way."),
    ConfigKey::new("reference.subject.name.strategy", ConfigType::Class,
        KeyDefault::Value("io.confluent.kafka.serializers.subject.DefaultReferenceSubjectNameStrategy"),
        "Subjects of references: kconnect registers none (see skip.known.types), so only the default is accepted.")
        .validator(Validator::Honoured(&["io.confluent.kafka.serializers.subject.DefaultReferenceSubjectNameStrategy"])),
    ConfigKey::new("derive.type", ConfigType::Boolean, KeyDefault::Value("false"),
        "Java generated classes: not applicable (only false).")
        .validator(Validator::Honoured(&["false"])),
    ConfigKey::new("specific.protobuf.key.type", ConfigType::Class, KeyDefault::Value("java.lang.Object"),
        "Java generated classes: not applicable (only java.lang.Object).")
        .validator(Validator::Honoured(&["java.lang.Object"])),
    ConfigKey::new("specific.protobuf.value.type", ConfigType::Class, KeyDefault::Value("java.lang.Object"),
        "Java generated classes: not applicable (only java.lang.Object).")
        .validator(Validator::Honoured(&["java.lang.Object"])),
];

pub struct ProtobufConfig {
    pub serde: SerdeConfig,
    pub data: ProtobufDataOptions,
}

impl Deref for ProtobufConfig {
    type Target = SerdeConfig;
    fn deref(&self) -> &SerdeConfig {
        &self.serde
    }
}

impl ProtobufConfig {
    pub fn parse(cfg: &BTreeMap<String, String>) -> Result<ProtobufConfig, Problem> {
        let serde = SerdeConfig::parse(KEYS, cfg)?;
        if serde.use_latest_version {
            return Err(Problem::new(
                "use.latest.version",
                "use.latest.version=true is not implemented by kconnect's ProtobufConverter (it needs Protobuf schema compatibility checks); register schemas (auto.register.schemas=true) or look them up (auto.register.schemas=false)",
            ));
        }
        let s = Settings::new(KEYS, cfg);
        let b = |k: &str| s.bool(k).map_err(|e| problem(k, e));
        let data = ProtobufDataOptions {
            enhanced_protobuf_schema_support: b("enhanced.protobuf.schema.support")?,
            scrub_invalid_names: b("scrub.invalid.names")?,
            optional_for_nullables: b("optional.for.nullables")?,
            optional_for_proto2: b("optional.for.proto2")?,
            wrapper_for_nullables: b("wrapper.for.nullables")?,
            wrapper_for_raw_primitives: b("wrapper.for.raw.primitives")?,
        };
        Ok(ProtobufConfig { serde, data })
    }
}
