//! Which columns a record becomes, by `pk.mode`, `pk.fields` and `fields.whitelist`: the rules
//! of Confluent's `FieldsMetadata`, worked out once per (key schema, value schema).

use crate::data::{schemas, Schema, SchemaRef, SchemaType};

use super::config::{JdbcSinkConfig, PkMode, DEFAULT_KAFKA_PK_NAMES};

/// Where a column's value comes from in a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Topic,
    Partition,
    Offset,
    /// The whole (primitive) key.
    Key,
    KeyField(usize),
    ValueField(usize),
}

#[derive(Clone, Debug)]
pub struct FieldSpec {
    pub name: String,
    pub source: Source,
    pub schema: SchemaRef,
    pub pk: bool,
}

/// The record's columns in Confluent's order: the Kafka coordinates first, then the value
/// schema's field order, then any remaining key fields by name.
pub fn extract(
    table: &str,
    cfg: &JdbcSinkConfig,
    key_schema: Option<&SchemaRef>,
    value_schema: Option<&SchemaRef>,
) -> Result<Vec<FieldSpec>, String> {
    if let Some(v) = value_schema {
        if v.ty != SchemaType::Struct {
            return Err(format!(
                "the value schema must be a struct to be written to table {table}, but it is {}",
                v.ty.connect_name()
            ));
        }
    }
    let mut keys: Vec<FieldSpec> = Vec::new();
    match cfg.pk_mode {
        PkMode::None => {}
        PkMode::Kafka => {
            let names: Vec<String> = if cfg.pk_fields.is_empty() {
                DEFAULT_KAFKA_PK_NAMES
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            } else {
                cfg.pk_fields.clone()
            };
            let sources = [
                (Source::Topic, schemas::string()),
                (Source::Partition, schemas::int32()),
                (Source::Offset, schemas::int64()),
            ];
            for (name, (source, schema)) in names.into_iter().zip(sources) {
                keys.push(FieldSpec {
                    name,
                    source,
                    schema,
                    pk: true,
                });
            }
        }
        PkMode::RecordKey => {
            let ks = key_schema.ok_or_else(|| {
                format!("pk.mode for table {table} is record_key, but the record has no key schema (a key written without a schema cannot name columns)")
            })?;
            if ks.ty.is_primitive() {
                if cfg.pk_fields.len() != 1 {
                    return Err(format!(
                        "Need exactly one PK column defined since the key schema for records is a primitive type, defined columns are: {:?} (set pk.fields to the column name for the key of table {table})",
                        cfg.pk_fields
                    ));
                }
                keys.push(FieldSpec {
                    name: cfg.pk_fields[0].clone(),
                    source: Source::Key,
                    schema: ks.clone(),
                    pk: true,
                });
            } else if ks.ty == SchemaType::Struct {
                let names: Vec<&str> = if cfg.pk_fields.is_empty() {
                    ks.fields.iter().map(|f| f.name.as_str()).collect()
                } else {
                    cfg.pk_fields.iter().map(String::as_str).collect()
                };
                for n in names {
                    let f = ks.field(n).ok_or_else(|| {
                        format!(
                            "pk.mode for table {table} is record_key with pk.fields {:?}, but the record key schema does not contain field: {n}",
                            cfg.pk_fields
                        )
                    })?;
                    keys.push(FieldSpec {
                        name: f.name.clone(),
                        source: Source::KeyField(f.index),
                        schema: f.schema.clone(),
                        pk: true,
                    });
                }
            } else {
                return Err(format!(
                    "Key schema must be primitive type or Struct, but is of type: {} (table {table})",
                    ks.ty.connect_name()
                ));
            }
        }
        PkMode::RecordValue => {
            let vs = value_schema.ok_or_else(|| {
                format!(
                    "pk.mode for table {table} is record_value, but the record has no value schema"
                )
            })?;
            let names: Vec<&str> = if cfg.pk_fields.is_empty() {
                vs.fields.iter().map(|f| f.name.as_str()).collect()
            } else {
                cfg.pk_fields.iter().map(String::as_str).collect()
            };
            for n in names {
                let f = vs.field(n).ok_or_else(|| {
                    format!(
                        "pk.mode for table {table} is record_value with pk.fields {:?}, but the record value schema does not contain field: {n}",
                        cfg.pk_fields
                    )
                })?;
                keys.push(FieldSpec {
                    name: f.name.clone(),
                    source: Source::ValueField(f.index),
                    schema: f.schema.clone(),
                    pk: true,
                });
            }
        }
    }
    let is_key = |n: &str| keys.iter().any(|k| k.name == n);
    let mut values: Vec<FieldSpec> = Vec::new();
    if let Some(vs) = value_schema {
        for f in &vs.fields {
            if is_key(&f.name) {
                continue;
            }
            if !cfg.fields_whitelist.is_empty() && !cfg.fields_whitelist.contains(&f.name) {
                continue;
            }
            values.push(FieldSpec {
                name: f.name.clone(),
                source: Source::ValueField(f.index),
                schema: f.schema.clone(),
                pk: false,
            });
        }
    }
    if keys.is_empty() && values.is_empty() {
        return Err(format!(
            "No fields found using key and value schemas for table: {table}"
        ));
    }
    // Order: Kafka coordinates, then value order (key columns included where the value has
    // them), then the rest of the key by name.
    let mut ordered: Vec<FieldSpec> = Vec::with_capacity(keys.len() + values.len());
    let mut rest: Vec<FieldSpec> = Vec::new();
    for k in keys {
        if matches!(k.source, Source::Topic | Source::Partition | Source::Offset) {
            ordered.push(k);
        } else {
            rest.push(k);
        }
    }
    if let Some(vs) = value_schema {
        for f in &vs.fields {
            if let Some(i) = rest.iter().position(|k| k.name == f.name) {
                ordered.push(rest.remove(i));
            } else if let Some(i) = values.iter().position(|v| v.name == f.name) {
                ordered.push(values.remove(i));
            }
        }
    }
    rest.sort_by(|a, b| a.name.cmp(&b.name));
    ordered.extend(rest);
    Ok(ordered)
}

/// True when a schema can only be written as JSON (maps and structs other than Debezium's
/// variable-scale decimal).
pub fn is_composite(s: &Schema) -> bool {
    matches!(s.ty, SchemaType::Map | SchemaType::Struct)
        && !s.is_named(super::dialect::DBZ_VARIABLE_DECIMAL)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn cfg(pairs: &[(&str, &str)]) -> JdbcSinkConfig {
        let mut v: BTreeMap<String, String> = BTreeMap::new();
        v.insert("connection.url".into(), "jdbc:postgresql://h/db".into());
        for (k, x) in pairs {
            v.insert(k.to_string(), x.to_string());
        }
        JdbcSinkConfig::parse(&v).unwrap()
    }

    fn value_schema() -> SchemaRef {
        Schema::struct_builder()
            .field("name", schemas::string())
            .field("id", schemas::int32())
            .field("age", schemas::optional_int32())
            .build()
    }

    fn names(f: &[FieldSpec]) -> Vec<(&str, bool)> {
        f.iter().map(|x| (x.name.as_str(), x.pk)).collect()
    }

    #[test]
    fn kafka_mode_puts_coordinates_first() {
        let c = cfg(&[("pk.mode", "kafka")]);
        let f = extract("t", &c, None, Some(&value_schema())).unwrap();
        assert_eq!(
            names(&f),
            vec![
                ("__connect_topic", true),
                ("__connect_partition", true),
                ("__connect_offset", true),
                ("name", false),
                ("id", false),
                ("age", false)
            ]
        );
    }

    #[test]
    fn record_key_struct_takes_key_columns_in_value_order() {
        let c = cfg(&[("pk.mode", "record_key")]);
        let key = Schema::struct_builder()
            .field("id", schemas::int32())
            .build();
        let f = extract("t", &c, Some(&key), Some(&value_schema())).unwrap();
        assert_eq!(
            names(&f),
            vec![("name", false), ("id", true), ("age", false)]
        );
        assert_eq!(f[1].source, Source::KeyField(0));
        // A tombstone: key columns only.
        let f = extract("t", &c, Some(&key), None).unwrap();
        assert_eq!(names(&f), vec![("id", true)]);
    }

    #[test]
    fn record_key_primitive_needs_one_pk_field() {
        let c = cfg(&[("pk.mode", "record_key")]);
        let e = extract("t", &c, Some(&schemas::int64()), Some(&value_schema())).unwrap_err();
        assert!(e.contains("Need exactly one PK column"), "{e}");
        let c = cfg(&[("pk.mode", "record_key"), ("pk.fields", "k")]);
        let f = extract("t", &c, Some(&schemas::int64()), Some(&value_schema())).unwrap();
        assert_eq!(f.last().unwrap().name, "k");
        assert_eq!(f.last().unwrap().source, Source::Key);
    }

    #[test]
    fn record_value_and_whitelist() {
        let c = cfg(&[
            ("pk.mode", "record_value"),
            ("pk.fields", "id"),
            ("fields.whitelist", "age"),
        ]);
        let f = extract("t", &c, None, Some(&value_schema())).unwrap();
        assert_eq!(names(&f), vec![("id", true), ("age", false)]);
        let c = cfg(&[("pk.mode", "record_value"), ("pk.fields", "nope")]);
        assert!(extract("t", &c, None, Some(&value_schema()))
            .unwrap_err()
            .contains("does not contain field: nope"));
    }
}
