//! `InsertField$Key` / `InsertField$Value`: add the record's topic, partition, offset,
//! timestamp or a static string as fields.

use crate::api::{ConfigKey, ConfigType, KeyDefault, Problem, Settings};
use crate::data::schema::TIMESTAMP_NAME;
use crate::data::{schemas, ConnectRecord, Schema, SchemaRef, SchemaType, Struct, Value};

use super::prelude::{map_out, rewrite_fields, struct_out, OnNull, Operand, Rewritten};
use super::util::{copy_basics, field_value, map_put, require_sink_offset, SchemaCache, Target};
use super::{TransformError, Transformation};

const OPTIONALITY: &str =
    " Suffix with ! to make this a required field, or ? to keep it optional (the default).";

pub const KEYS: &[ConfigKey] = &[
    ConfigKey::new("topic.field", ConfigType::String, KeyDefault::None,
        "Field name for Kafka topic. Suffix with ! to make this a required field, or ? to keep it optional (the default)."),
    ConfigKey::new("partition.field", ConfigType::String, KeyDefault::None,
        "Field name for Kafka partition. Suffix with ! to make this a required field, or ? to keep it optional (the default)."),
    ConfigKey::new("offset.field", ConfigType::String, KeyDefault::None,
        "Field name for Kafka offset - only applicable to sink connectors. Suffix with ! to make this a required field, or ? to keep it optional (the default)."),
    ConfigKey::new("timestamp.field", ConfigType::String, KeyDefault::None,
        "Field name for record timestamp. Suffix with ! to make this a required field, or ? to keep it optional (the default)."),
    ConfigKey::new("static.field", ConfigType::String, KeyDefault::None,
        "Field name for static data field. Suffix with ! to make this a required field, or ? to keep it optional (the default)."),
    ConfigKey::new("static.value", ConfigType::String, KeyDefault::None,
        "Static field value, if field name configured."),
    ConfigKey::new("replace.null.with.default", ConfigType::Boolean, KeyDefault::Value("true"),
        "Whether null fields that have a default value get that default (true) or stay null."),
];

const PURPOSE: &str = "field insertion";

#[derive(Clone, Debug)]
struct Spec {
    name: String,
    optional: bool,
}

impl Spec {
    fn parse(raw: Option<String>) -> Option<Spec> {
        let raw = raw?;
        if let Some(n) = raw.strip_suffix('?') {
            return Some(Spec {
                name: n.to_string(),
                optional: true,
            });
        }
        if let Some(n) = raw.strip_suffix('!') {
            return Some(Spec {
                name: n.to_string(),
                optional: false,
            });
        }
        Some(Spec {
            name: raw,
            optional: true,
        })
    }
}

pub struct InsertField {
    target: Target,
    f: Fields,
    replace_null_with_default: bool,
    cache: SchemaCache<SchemaRef>,
}

struct Fields {
    topic: Option<Spec>,
    partition: Option<Spec>,
    offset: Option<Spec>,
    timestamp: Option<Spec>,
    static_field: Option<Spec>,
    static_value: Option<String>,
}

pub fn create(s: &Settings<'_>, target: Target) -> Result<Box<dyn Transformation>, Problem> {
    let _ = OPTIONALITY;
    let spec = |k: &str| Spec::parse(s.raw(k).map(str::to_string));
    let t = Fields {
        topic: spec("topic.field"),
        partition: spec("partition.field"),
        offset: spec("offset.field"),
        timestamp: spec("timestamp.field"),
        static_field: spec("static.field"),
        static_value: s.raw("static.value").map(str::to_string),
    };
    if t.topic.is_none()
        && t.partition.is_none()
        && t.offset.is_none()
        && t.timestamp.is_none()
        && t.static_field.is_none()
    {
        return Err(Problem::new(
            format!("{}static.field", s.prefix),
            format!(
                "No field insertion configured: set one of {p}topic.field, {p}partition.field, {p}offset.field, {p}timestamp.field or {p}static.field",
                p = s.prefix
            ),
        ));
    }
    if let (Some(f), None) = (&t.static_field, &t.static_value) {
        return Err(super::util::invalid(
            &format!("{}static.value", s.prefix),
            "null",
            format!("No value specified for static field: {}", f.name),
        ));
    }
    Ok(Box::new(InsertField {
        target,
        f: t,
        replace_null_with_default: s
            .bool("replace.null.with.default")
            .map_err(super::util::problem)?,
        cache: SchemaCache::new(16),
    }))
}

impl InsertField {
    /// A static string field, as Debezium's ExtractNewRecordState adds `__deleted`.
    pub(crate) fn static_value(
        field: &str,
        value: &str,
        replace_null_with_default: bool,
    ) -> InsertField {
        InsertField {
            target: Target::Value,
            f: Fields {
                topic: None,
                partition: None,
                offset: None,
                timestamp: None,
                static_field: Some(Spec {
                    name: field.to_string(),
                    optional: true,
                }),
                static_value: Some(value.to_string()),
            },
            replace_null_with_default,
            cache: SchemaCache::new(64),
        }
    }
}

impl Fields {
    fn updated_schema(&self, schema: &Schema) -> SchemaRef {
        let mut b = copy_basics(schema, Schema::struct_builder());
        for f in &schema.fields {
            b = b.field(f.name.clone(), f.schema.clone());
        }
        let prim = |ty: SchemaType, optional: bool| match (ty, optional) {
            (SchemaType::String, true) => schemas::optional_string(),
            (SchemaType::String, false) => schemas::string(),
            (SchemaType::Int32, true) => schemas::optional_int32(),
            (SchemaType::Int32, false) => schemas::int32(),
            (SchemaType::Int64, true) => schemas::optional_int64(),
            (ty, optional) => Schema::primitive(ty, optional),
        };
        if let Some(f) = &self.topic {
            b = b.field(f.name.clone(), prim(SchemaType::String, f.optional));
        }
        if let Some(f) = &self.partition {
            b = b.field(f.name.clone(), prim(SchemaType::Int32, f.optional));
        }
        if let Some(f) = &self.offset {
            b = b.field(f.name.clone(), prim(SchemaType::Int64, f.optional));
        }
        if let Some(f) = &self.timestamp {
            let ts = Schema::builder(SchemaType::Int64)
                .name(TIMESTAMP_NAME)
                .version(1);
            let ts = if f.optional { ts.optional() } else { ts };
            b = b.field(f.name.clone(), ts.build());
        }
        if let Some(f) = &self.static_field {
            b = b.field(f.name.clone(), prim(SchemaType::String, f.optional));
        }
        b.build()
    }
}

impl InsertField {
    fn insert_with_schema(
        &mut self,
        record: &ConnectRecord,
        input: Struct,
    ) -> Result<Rewritten, TransformError> {
        let offset = match &self.f.offset {
            Some(_) => Some(require_sink_offset(record, PURPOSE)?),
            None => None,
        };
        let fields = &self.f;
        let schema = self
            .cache
            .get_or_try_insert::<TransformError>(&input.schema, |s| Ok(fields.updated_schema(s)))?
            .clone();
        let in_schema = input.schema;
        let mut values = input.values;
        values.reserve(schema.fields.len().saturating_sub(values.len()));
        if self.replace_null_with_default {
            for (v, f) in values.iter_mut().zip(&in_schema.fields) {
                if v.is_null() && f.schema.default.is_some() {
                    *v = field_value(Value::Null, &f.schema, true);
                }
            }
        }
        // Fields are set by name in Connect, so a name that already exists is overwritten.
        let put = |values: &mut Vec<Value>, name: &str, v: Value| {
            let idx = schema.field(name).map(|f| f.index).unwrap_or(values.len());
            if idx < values.len() {
                values[idx] = v;
            } else {
                values.resize(idx, Value::Null);
                values.push(v);
            }
        };
        let n = schema.fields.len();
        values.resize(in_schema.fields.len(), Value::Null);
        if let Some(f) = &self.f.topic {
            put(
                &mut values,
                &f.name,
                Value::String(record.topic.as_str().into()),
            );
        }
        if let Some(f) = &self.f.partition {
            let v = record
                .kafka_partition
                .map(Value::Int32)
                .unwrap_or(Value::Null);
            put(&mut values, &f.name, v);
        }
        if let (Some(f), Some(o)) = (&self.f.offset, offset) {
            put(&mut values, &f.name, Value::Int64(o));
        }
        if let Some(f) = &self.f.timestamp {
            let v = record.timestamp.map(Value::Int64).unwrap_or(Value::Null);
            put(&mut values, &f.name, v);
        }
        if let (Some(f), Some(v)) = (&self.f.static_field, &self.f.static_value) {
            put(&mut values, &f.name, Value::String(v.as_str().into()));
        }
        values.resize(n, Value::Null);
        Ok(struct_out(schema, values))
    }
}

impl Transformation for InsertField {
    fn apply(&mut self, record: ConnectRecord) -> Result<Option<ConnectRecord>, TransformError> {
        rewrite_fields(
            self.target,
            record,
            OnNull::PassThrough,
            PURPOSE,
            |record, operand| {
                let mut m = match operand {
                    Operand::WithSchema(_, input) => return self.insert_with_schema(record, input),
                    // `new HashMap<>(value)`, then the puts.
                    Operand::Schemaless(m) => m.copied(),
                };
                if let Some(f) = &self.f.topic {
                    map_put(&mut m, &f.name, Value::String(record.topic.as_str().into()));
                }
                if let (Some(f), Some(p)) = (&self.f.partition, record.kafka_partition) {
                    map_put(&mut m, &f.name, Value::Int32(p));
                }
                if let Some(f) = &self.f.offset {
                    map_put(
                        &mut m,
                        &f.name,
                        Value::Int64(require_sink_offset(record, PURPOSE)?),
                    );
                }
                if let (Some(f), Some(ts)) = (&self.f.timestamp, record.timestamp) {
                    map_put(&mut m, &f.name, Value::Int64(ts));
                }
                if let (Some(f), Some(v)) = (&self.f.static_field, &self.f.static_value) {
                    map_put(&mut m, &f.name, Value::String(v.as_str().into()));
                }
                Ok(map_out(m))
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::*;
    use crate::data::Value;

    #[test]
    fn schemaful_inserts_metadata_and_static_fields() {
        // Kafka docs: InsertField$Value with static.field=MessageSource, static.value=Kafka Connect framework.
        let mut t = transform(
            "InsertField$Value",
            &[
                ("static.field", "MessageSource"),
                ("static.value", "Kafka Connect framework"),
                ("topic.field", "topic!"),
                ("partition.field", "part"),
                ("offset.field", "off"),
                ("timestamp.field", "ts"),
            ],
        )
        .unwrap();
        let (schema, value) = simple_struct();
        let mut r = record_with_value(Some(schema), value);
        r.kafka_partition = Some(3);
        r.kafka_offset = Some(99);
        r.timestamp = Some(1_700_000_000_000);
        let out = t.apply(r).unwrap().unwrap();
        let s = out.value_schema.as_ref().unwrap();
        let names: Vec<_> = s.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "id",
                "name",
                "flag",
                "topic",
                "part",
                "off",
                "ts",
                "MessageSource"
            ]
        );
        assert!(!s.field("topic").unwrap().schema.optional);
        assert!(s.field("part").unwrap().schema.optional);
        assert_eq!(
            s.field("ts").unwrap().schema.name.as_deref(),
            Some("org.apache.kafka.connect.data.Timestamp")
        );
        let v = out.value.as_struct().unwrap();
        assert_eq!(v.get("topic"), Some(&Value::from("test")));
        assert_eq!(v.get("part"), Some(&Value::Int32(3)));
        assert_eq!(v.get("off"), Some(&Value::Int64(99)));
        assert_eq!(v.get("ts"), Some(&Value::Int64(1_700_000_000_000)));
        assert_eq!(
            v.get("MessageSource"),
            Some(&Value::from("Kafka Connect framework"))
        );
        assert_eq!(v.get("id"), Some(&Value::Int32(42)));
    }

    #[test]
    fn schemaless_and_source_records() {
        let mut t = transform(
            "InsertField$Value",
            &[("topic.field", "t"), ("partition.field", "p")],
        )
        .unwrap();
        let out = t
            .apply(record_with_value(None, smap(&[("a", Value::Int32(1))])))
            .unwrap()
            .unwrap();
        // No partition: the field is left out of a schemaless map, as in Connect.
        assert_eq!(
            out.value,
            smap(&[("a", Value::Int32(1)), ("t", "test".into())])
        );
        let mut t = transform("InsertField$Value", &[("offset.field", "o")]).unwrap();
        let err = t.apply(record_with_value(None, smap(&[]))).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Only SinkRecord supported for [field insertion]"),
            "{err}"
        );
        // Tombstones pass through.
        let r = record_with_value(None, Value::Null);
        assert_eq!(t.apply(r.clone()).unwrap().unwrap(), r);
    }

    #[test]
    fn config_errors_name_the_key() {
        let e = transform("InsertField$Value", &[]).err().unwrap();
        assert!(e.message.contains("No field insertion configured"), "{e:?}");
        let e = transform("InsertField$Key", &[("static.field", "x")])
            .err()
            .unwrap();
        assert_eq!(e.key, "static.value");
        assert!(e.message.contains("No value specified for static field: x"));
    }
}
