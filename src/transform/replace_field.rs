//! `ReplaceField$Key` / `ReplaceField$Value`: keep, drop and rename top-level fields.

use std::collections::HashSet;

use crate::api::{ConfigKey, ConfigType, KeyDefault, Problem, Settings};
use crate::data::{ConnectRecord, JavaMap, Map, Schema, SchemaRef, Value};

use super::prelude::{map_out, rewrite_fields, struct_out, OnNull, Operand};
use super::util::{copy_basics, field_value, SchemaCache, Target};
use super::{TransformError, Transformation};

pub const KEYS: &[ConfigKey] = &[
    ConfigKey::new(
        "exclude",
        ConfigType::List,
        KeyDefault::Value(""),
        "Fields to exclude. This takes precedence over the fields to include.",
    ),
    ConfigKey::new(
        "include",
        ConfigType::List,
        KeyDefault::Value(""),
        "Fields to include. If specified, only these fields will be used.",
    ),
    ConfigKey::new(
        "renames",
        ConfigType::List,
        KeyDefault::Value(""),
        "Field rename mappings, colon-delimited pairs, e.g. foo:bar,abc:xyz.",
    ),
    ConfigKey::new(
        "replace.null.with.default",
        ConfigType::Boolean,
        KeyDefault::Value("true"),
        "Whether null fields that have a default value get that default (true) or stay null.",
    ),
    ConfigKey::new(
        "blacklist",
        ConfigType::List,
        KeyDefault::None,
        "Deprecated name of exclude (removed in Kafka 4, still accepted here so old files run).",
    ),
    ConfigKey::new(
        "whitelist",
        ConfigType::List,
        KeyDefault::None,
        "Deprecated name of include (removed in Kafka 4, still accepted here so old files run).",
    ),
];

const PURPOSE: &str = "field replacement";

pub struct ReplaceField {
    target: Target,
    rules: Rules,
    replace_null_with_default: bool,
    cache: SchemaCache<Plan>,
}

struct Rules {
    exclude: HashSet<String>,
    include: HashSet<String>,
    renames: Vec<(String, String)>,
}

/// The output schema and, per output field, the input field it is taken from.
struct Plan {
    schema: SchemaRef,
    sources: Vec<usize>,
}

pub fn create(s: &Settings<'_>, target: Target) -> Result<Box<dyn Transformation>, Problem> {
    let list_or_legacy = |key: &str, legacy: &str| {
        if s.is_set(key) || !s.is_set(legacy) {
            s.list(key)
        } else {
            s.list(legacy)
        }
    };
    let exclude = list_or_legacy("exclude", "blacklist");
    let include = list_or_legacy("include", "whitelist");
    let renames = parse_renames(&s.list("renames")).map_err(|m| {
        super::util::invalid(
            &format!("{}renames", s.prefix),
            &java_list(&s.list("renames")),
            m,
        )
    })?;
    Ok(Box::new(ReplaceField {
        target,
        rules: Rules {
            exclude: exclude.into_iter().collect(),
            include: include.into_iter().collect(),
            renames,
        },
        replace_null_with_default: s
            .bool("replace.null.with.default")
            .map_err(super::util::problem)?,
        cache: SchemaCache::new(16),
    }))
}

/// Java's `List.toString`, which Connect's ConfigException prints for list values.
pub(crate) fn java_list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

fn parse_renames(items: &[String]) -> Result<Vec<(String, String)>, String> {
    items
        .iter()
        .map(|m| {
            let parts: Vec<&str> = m.split(':').collect();
            match parts.as_slice() {
                [from, to] if !from.is_empty() && !to.is_empty() => {
                    Ok((from.to_string(), to.to_string()))
                }
                _ => Err(format!("Invalid rename mapping: {m}")),
            }
        })
        .collect()
}

impl ReplaceField {
    /// The transform Debezium's ExtractNewRecordState delegates `drop.fields.*` to.
    pub(crate) fn excluding(target: Target, fields: Vec<String>) -> ReplaceField {
        ReplaceField {
            target,
            rules: Rules {
                exclude: fields.into_iter().collect(),
                include: HashSet::new(),
                renames: Vec::new(),
            },
            replace_null_with_default: true,
            cache: SchemaCache::new(16),
        }
    }
}

impl Rules {
    fn keep(&self, name: &str) -> bool {
        !self.exclude.contains(name) && (self.include.is_empty() || self.include.contains(name))
    }

    fn renamed<'a>(&'a self, name: &'a str) -> &'a str {
        self.renames
            .iter()
            .find(|(from, _)| from == name)
            .map(|(_, to)| to.as_str())
            .unwrap_or(name)
    }

    fn plan(&self, schema: &SchemaRef) -> Plan {
        let mut b = copy_basics(schema, Schema::struct_builder());
        let mut sources = Vec::new();
        for f in &schema.fields {
            if self.keep(&f.name) {
                b = b.field(self.renamed(&f.name), f.schema.clone());
                sources.push(f.index);
            }
        }
        Plan {
            schema: b.build(),
            sources,
        }
    }
}

impl Transformation for ReplaceField {
    fn apply(&mut self, record: ConnectRecord) -> Result<Option<ConnectRecord>, TransformError> {
        rewrite_fields(
            self.target,
            record,
            OnNull::PassThrough,
            PURPOSE,
            |_, operand| match operand {
                Operand::Schemaless(mut entries) => {
                    // A `new HashMap<>(value.size())` filled in the value's Java order.
                    let java = JavaMap::with_capacity(entries.len());
                    entries.put_in_java_order();
                    let mut out = Vec::with_capacity(entries.len());
                    for (k, v) in entries {
                        let keep = match k.as_str() {
                            Some(name) => self.rules.keep(name),
                            None => true,
                        };
                        if keep {
                            let k = match k.as_str() {
                                Some(name) => {
                                    Value::String(self.rules.renamed(name).to_string().into())
                                }
                                None => k,
                            };
                            out.push((k, v));
                        }
                    }
                    Ok(map_out(Map::new(out, java)))
                }
                Operand::WithSchema(_, input) => {
                    let rules = &self.rules;
                    let plan =
                        self.cache
                            .get_or_try_insert::<TransformError>(&input.schema, |s| {
                                Ok(rules.plan(s))
                            })?;
                    let in_schema = input.schema;
                    let mut values = input.values;
                    // Kept fields keep their relative order, so the row is compacted in place:
                    // no new vector per record.
                    for (j, &i) in plan.sources.iter().enumerate() {
                        values.swap(j, i);
                        if self.replace_null_with_default && values[j].is_null() {
                            values[j] = field_value(Value::Null, &in_schema.fields[i].schema, true);
                        }
                    }
                    values.truncate(plan.sources.len());
                    Ok(struct_out(plan.schema.clone(), values))
                }
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::*;
    use crate::data::{schemas, Schema, Struct, Value};

    #[test]
    fn schemaless_include_exclude_rename() {
        // Kafka docs: ReplaceField$Value with exclude=c, renames=foo:c,bar:baz.
        let mut t = transform(
            "org.apache.kafka.connect.transforms.ReplaceField$Value",
            &[("exclude", "c"), ("renames", "foo:c,bar:baz")],
        )
        .unwrap();
        let v = smap(&[
            ("foo", Value::Int32(1)),
            ("bar", "x".into()),
            ("c", Value::Boolean(true)),
            ("d", Value::Null),
        ]);
        let out = t.apply(record_with_value(None, v)).unwrap().unwrap();
        // Put in the input HashMap's order ({bar, c, d, foo}) into a `new HashMap<>(4)`.
        assert_eq!(
            out.value,
            smap(&[
                ("baz", "x".into()),
                ("d", Value::Null),
                ("c", Value::Int32(1)),
            ])
        );
        // As Connect 4.3.0 prints it.
        assert_eq!(java_text(&out.value), "{d=null, baz=x, c=1}");
    }

    #[test]
    fn schemaful_keeps_order_renames_and_caches_schema() {
        let mut t = transform(
            "ReplaceField$Value",
            &[("include", "id,name"), ("renames", "name:full_name")],
        )
        .unwrap();
        let (schema, value) = simple_struct();
        let a = t
            .apply(record_with_value(Some(schema.clone()), value.clone()))
            .unwrap()
            .unwrap();
        let b = t
            .apply(record_with_value(Some(schema), value))
            .unwrap()
            .unwrap();
        let s = a.value_schema.clone().unwrap();
        assert_eq!(s.name.as_deref(), Some("test.Simple"));
        assert!(!s.optional);
        let names: Vec<_> = s.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["id", "full_name"]);
        assert!(std::sync::Arc::ptr_eq(&s, b.value_schema.as_ref().unwrap()));
        let st = a.value.as_struct().unwrap();
        assert_eq!(st.get("full_name"), Some(&Value::from("Alice")));
        assert_eq!(st.get("id"), Some(&Value::Int32(42)));
    }

    #[test]
    fn legacy_blacklist_and_null_passthrough_and_key_variant() {
        let mut t = transform("ReplaceField$Key", &[("blacklist", "name")]).unwrap();
        let (schema, value) = simple_struct();
        let mut r = record_with_value(None, Value::Null);
        r.key_schema = Some(schema);
        r.key = value;
        let out = t.apply(r).unwrap().unwrap();
        let names: Vec<_> = out
            .key_schema
            .unwrap()
            .fields
            .iter()
            .map(|f| f.name.clone())
            .collect();
        assert_eq!(names, ["id", "flag"]);
        // A null key passes unchanged.
        let r = record_with_value(None, Value::Null);
        assert_eq!(t.apply(r.clone()).unwrap().unwrap(), r);
    }

    #[test]
    fn null_fields_take_defaults_unless_disabled() {
        let schema = Schema::struct_builder()
            .field(
                "a",
                Schema::builder(crate::data::SchemaType::Int32)
                    .optional()
                    .default_value(Value::Int32(7))
                    .build(),
            )
            .field("b", schemas::optional_string())
            .build();
        let s = Struct::new(schema.clone());
        let mut t = transform("ReplaceField$Value", &[("exclude", "b")]).unwrap();
        let out = t
            .apply(record_with_value(
                Some(schema.clone()),
                Value::Struct(s.clone()),
            ))
            .unwrap()
            .unwrap();
        assert_eq!(
            out.value.as_struct().unwrap().get("a"),
            Some(&Value::Int32(7))
        );
        let mut t = transform(
            "ReplaceField$Value",
            &[("exclude", "b"), ("replace.null.with.default", "false")],
        )
        .unwrap();
        let out = t
            .apply(record_with_value(Some(schema), Value::Struct(s)))
            .unwrap()
            .unwrap();
        assert_eq!(out.value.as_struct().unwrap().get("a"), Some(&Value::Null));
    }

    #[test]
    fn bad_rename_and_wrong_shape_are_reported() {
        let e = transform("ReplaceField$Value", &[("renames", "a:b,c")])
            .err()
            .unwrap();
        assert_eq!(e.key, "renames");
        assert!(
            e.message.contains("Invalid rename mapping: c"),
            "{}",
            e.message
        );
        let mut t = transform("ReplaceField$Value", &[("exclude", "x")]).unwrap();
        let err = t
            .apply(record_with_value(None, Value::Int32(3)))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Only Map objects supported in absence of schema for [field replacement], found: java.lang.Integer"
        );
    }
}
