//! `TimestampConverter$Key` / `$Value`: between epoch numbers, formatted strings and Connect's
//! Date, Time and Timestamp, for one field or the whole key or value.

use crate::api::{ConfigKey, ConfigType, KeyDefault, Problem, Settings, Validator};
use crate::data::schema::{DATE_NAME, TIMESTAMP_NAME, TIME_NAME};
use crate::data::{schemas, ConnectRecord, Schema, SchemaRef, SchemaType, Value};

use super::java_format::{format_millis, parse_millis, simple_date_format};
use super::prelude::{map_out, rewrite, struct_out, OnNull, Rewritten};
use super::util::{
    copy_basics, field_value, invalid, java_class_name, map_put, problem, require_map,
    require_struct, SchemaCache, Target,
};
use super::{TransformError, Transformation};

pub const KEYS: &[ConfigKey] = &[
    ConfigKey::new("field", ConfigType::String, KeyDefault::Value(""),
        "The field containing the timestamp, or empty if the entire value is a timestamp"),
    ConfigKey::new("target.type", ConfigType::String, KeyDefault::Required,
        "The desired timestamp representation: string, unix, Date, Time, or Timestamp")
        .validator(Validator::Custom(target_type)),
    ConfigKey::new("format", ConfigType::String, KeyDefault::Value(""),
        "A SimpleDateFormat-compatible format for the timestamp. Used to generate the output when type=string or used to parse the input if the input is a string."),
    ConfigKey::new("unix.precision", ConfigType::String, KeyDefault::Value("milliseconds"),
        "The desired Unix precision for the timestamp: seconds, milliseconds, microseconds, or nanoseconds.")
        .validator(Validator::Custom(precision)),
    ConfigKey::new("replace.null.with.default", ConfigType::Boolean, KeyDefault::Value("true"),
        "Whether null fields that have a default value get that default (true) or stay null."),
];

const PURPOSE: &str = "converting timestamp formats";
const DAY: i64 = 86_400_000;

fn target_type(v: &str) -> Result<(), String> {
    match v {
        "string" | "unix" | "Date" | "Time" | "Timestamp" => Ok(()),
        _ => Err("String must be one of: string, unix, Date, Time, Timestamp".into()),
    }
}

fn precision(v: &str) -> Result<(), String> {
    match v {
        "nanoseconds" | "microseconds" | "milliseconds" | "seconds" => Ok(()),
        _ => Err("String must be one of: nanoseconds, microseconds, milliseconds, seconds".into()),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Str,
    Unix,
    Date,
    Time,
    Timestamp,
}

#[derive(Clone, Copy)]
enum Precision {
    Seconds,
    Millis,
    Micros,
    Nanos,
}

pub struct TimestampConverter {
    target: Target,
    field: String,
    to: Kind,
    format: Option<String>,
    pattern: String,
    precision: Precision,
    replace_null_with_default: bool,
    cache: SchemaCache<SchemaRef>,
    /// The target type's schema, required and optional, built once.
    target_schemas: [SchemaRef; 2],
}

pub fn create(s: &Settings<'_>, target: Target) -> Result<Box<dyn Transformation>, Problem> {
    let key = |k: &str| format!("{}{k}", s.prefix);
    let ty = s.raw("target.type").ok_or_else(|| {
        let k = key("target.type");
        Problem::new(
            &k,
            format!("Missing required configuration \"{k}\" which has no default value."),
        )
    })?;
    target_type(ty).map_err(|m| invalid(&key("target.type"), ty, m))?;
    let to = match ty {
        "string" => Kind::Str,
        "unix" => Kind::Unix,
        "Date" => Kind::Date,
        "Time" => Kind::Time,
        _ => Kind::Timestamp,
    };
    let p = s.raw("unix.precision").unwrap_or("milliseconds");
    precision(p).map_err(|m| invalid(&key("unix.precision"), p, m))?;
    let precision = match p {
        "seconds" => Precision::Seconds,
        "microseconds" => Precision::Micros,
        "nanoseconds" => Precision::Nanos,
        _ => Precision::Millis,
    };
    let pattern = s.raw("format").unwrap_or("").to_string();
    if to == Kind::Str && pattern.trim().is_empty() {
        return Err(Problem::new(
            key("format"),
            "TimestampConverter requires format option to be specified when using string timestamps",
        ));
    }
    let format = if pattern.trim().is_empty() {
        None
    } else {
        Some(simple_date_format(&pattern).map_err(|m| {
            invalid(&key("format"), &pattern, format!(
                "TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: {pattern} ({m})"
            ))
        })?)
    };
    let target_schemas = [type_schema(to, false), type_schema(to, true)];
    Ok(Box::new(TimestampConverter {
        target_schemas,
        target,
        field: s.raw("field").unwrap_or("").to_string(),
        to,
        format,
        pattern,
        precision,
        replace_null_with_default: s.bool("replace.null.with.default").map_err(problem)?,
        cache: SchemaCache::new(16),
    }))
}

fn logical(ty: SchemaType, name: &str, optional: bool) -> SchemaRef {
    Schema::builder(ty)
        .name(name)
        .version(1)
        .set_optional(optional)
        .build()
}

fn type_schema(to: Kind, optional: bool) -> SchemaRef {
    match (to, optional) {
        (Kind::Str, false) => schemas::string(),
        (Kind::Str, true) => schemas::optional_string(),
        (Kind::Unix, false) => schemas::int64(),
        (Kind::Unix, true) => schemas::optional_int64(),
        (Kind::Date, o) => logical(SchemaType::Int32, DATE_NAME, o),
        (Kind::Time, o) => logical(SchemaType::Int32, TIME_NAME, o),
        (Kind::Timestamp, o) => logical(SchemaType::Int64, TIMESTAMP_NAME, o),
    }
}

impl TimestampConverter {
    fn type_schema(&self, optional: bool) -> SchemaRef {
        self.target_schemas[optional as usize].clone()
    }

    fn kind_of(schema: &Schema) -> Result<Kind, TransformError> {
        Ok(match schema.name.as_deref() {
            Some(TIMESTAMP_NAME) => Kind::Timestamp,
            Some(DATE_NAME) => Kind::Date,
            Some(TIME_NAME) => Kind::Time,
            _ if schema.ty == SchemaType::String => Kind::Str,
            _ if schema.ty == SchemaType::Int64 => Kind::Unix,
            _ => {
                return Err(TransformError::new(format!(
                    "Schema {schema} does not correspond to a known timestamp type format"
                )))
            }
        })
    }

    fn to_millis(&self, kind: Kind, v: &Value) -> Result<i64, TransformError> {
        let expected = |what: &str| {
            TransformError::new(format!(
                "Expected {what}, but found class {}",
                java_class_name(v)
            ))
        };
        match (kind, v) {
            (Kind::Str, Value::String(s)) => {
                let fmt = self.format.as_deref().unwrap_or("");
                parse_millis(s, fmt).ok_or_else(|| {
                    TransformError::new(format!(
                        "Could not parse timestamp: value ({s}) does not match pattern ({})",
                        self.pattern
                    ))
                })
            }
            (Kind::Str, _) => Err(expected("string timestamp to be a String")),
            (Kind::Unix, Value::Int64(n)) => Ok(match self.precision {
                Precision::Seconds => n.saturating_mul(1000),
                Precision::Millis => *n,
                Precision::Micros => n / 1000,
                Precision::Nanos => n / 1_000_000,
            }),
            (Kind::Unix, _) => Err(expected("Unix timestamp to be a Long")),
            (Kind::Date, Value::Int32(d)) => Ok(*d as i64 * DAY),
            (Kind::Time, Value::Int32(t)) => Ok(*t as i64),
            (Kind::Timestamp, Value::Int64(t) | Value::JavaDate(t)) => Ok(*t),
            (k, _) => Err(expected(&format!("{k:?} to be a java.util.Date"))),
        }
    }

    fn millis_to_target(&self, ms: i64) -> Value {
        match self.to {
            Kind::Str => {
                Value::String(format_millis(ms, self.format.as_deref().unwrap_or("")).into())
            }
            Kind::Unix => Value::Int64(match self.precision {
                Precision::Seconds => ms / 1000,
                Precision::Millis => ms,
                Precision::Micros => ms.saturating_mul(1000),
                Precision::Nanos => ms.saturating_mul(1_000_000),
            }),
            Kind::Date => Value::Int32(ms.div_euclid(DAY) as i32),
            Kind::Time => Value::Int32(ms.rem_euclid(DAY) as i32),
            Kind::Timestamp => Value::Int64(ms),
        }
    }

    fn convert(&self, kind: Option<Kind>, v: Value) -> Result<Value, TransformError> {
        if v.is_null() {
            return Ok(v);
        }
        let schemaless = kind.is_none();
        let kind = match kind {
            Some(k) => k,
            None => match v {
                Value::JavaDate(_) => Kind::Timestamp,
                Value::Int64(_) => Kind::Unix,
                Value::String(_) => Kind::Str,
                ref other => {
                    return Err(TransformError::new(format!(
                        "TimestampConverter does not support class {} objects as timestamps",
                        java_class_name(other)
                    )))
                }
            },
        };
        let ms = self.to_millis(kind, &v)?;
        if schemaless {
            // Without a schema Connect leaves a `java.util.Date`: the instant, the day's
            // midnight (UTC) for Date, the time of day on 1970-01-01 for Time.
            match self.to {
                Kind::Timestamp => return Ok(Value::JavaDate(ms)),
                Kind::Date => return Ok(Value::JavaDate(ms.div_euclid(DAY) * DAY)),
                Kind::Time => return Ok(Value::JavaDate(ms.rem_euclid(DAY))),
                Kind::Str | Kind::Unix => {}
            }
        }
        Ok(self.millis_to_target(ms))
    }
}

impl Transformation for TimestampConverter {
    fn apply(&mut self, record: ConnectRecord) -> Result<Option<ConnectRecord>, TransformError> {
        // Not `rewrite_fields`: without a field the whole value converts, and a null passes
        // through `convert` rather than around it.
        rewrite(
            self.target,
            record,
            OnNull::Apply,
            |_, schema, value| match schema {
                None if value.is_null() || self.field.is_empty() => {
                    Ok((None, self.convert(None, value)?))
                }
                None => {
                    // `new HashMap<>(value)`, then the put.
                    let mut m = require_map(value, PURPOSE)?.copied();
                    let cur = super::util::map_index(&m, &self.field)
                        .map(|i| std::mem::replace(&mut m[i].1, Value::Null))
                        .unwrap_or(Value::Null);
                    let v = self.convert(None, cur)?;
                    map_put(&mut m, &self.field, v);
                    Ok(map_out(m))
                }
                Some(schema) if self.field.is_empty() => {
                    let kind = Self::kind_of(&schema)?;
                    let v = self.convert(Some(kind), value)?;
                    Ok((Some(self.type_schema(schema.optional)), v))
                }
                Some(schema) => self.convert_field(schema, value),
            },
        )
    }
}

impl TimestampConverter {
    fn convert_field(
        &mut self,
        schema: SchemaRef,
        value: Value,
    ) -> Result<Rewritten, TransformError> {
        let built = match self.cache.peek(&schema) {
            Some(_) => None,
            None => {
                let mut b = copy_basics(&schema, Schema::struct_builder());
                for f in &schema.fields {
                    if f.name == self.field {
                        b = b.field(f.name.clone(), self.type_schema(f.schema.optional));
                    } else {
                        b = b.field(f.name.clone(), f.schema.clone());
                    }
                }
                if schema.optional {
                    b = b.optional();
                }
                Some(b.build())
            }
        };
        let mut built = built;
        let updated = self
            .cache
            .get_or_try_insert::<TransformError>(&schema, |_| Ok(built.take().expect("built")))?
            .clone();
        if value.is_null() {
            return Ok((Some(updated), Value::Null));
        }
        let input = require_struct(value, PURPOSE)?;
        let in_schema = input.schema.clone();
        let mut values = Vec::with_capacity(input.values.len());
        for (v, f) in input.values.into_iter().zip(&in_schema.fields) {
            let v = field_value(v, &f.schema, self.replace_null_with_default);
            values.push(if f.name == self.field {
                self.convert(Some(Self::kind_of(&f.schema)?), v)?
            } else {
                v
            });
        }
        Ok(struct_out(updated, values))
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::*;
    use crate::data::{schemas, Schema, SchemaType, Struct, Value};

    #[test]
    fn converts_fields_between_string_unix_and_logical_types() {
        // Kafka docs: field=event_date_time, format=yyyy-MM-dd, target.type=string.
        let ts = Schema::builder(SchemaType::Int64)
            .name("org.apache.kafka.connect.data.Timestamp")
            .version(1)
            .build();
        let schema = Schema::struct_builder()
            .field("at", ts)
            .field("n", schemas::int32())
            .build();
        let mut s = Struct::new(schema.clone());
        s.put("at", Value::Int64(1_700_000_000_123));
        s.put("n", Value::Int32(1));
        let mut t = transform(
            "TimestampConverter$Value",
            &[
                ("field", "at"),
                ("target.type", "string"),
                ("format", "yyyy-MM-dd"),
            ],
        )
        .unwrap();
        let out = t
            .apply(record_with_value(
                Some(schema.clone()),
                Value::Struct(s.clone()),
            ))
            .unwrap()
            .unwrap();
        assert_eq!(
            out.value.as_struct().unwrap().get("at"),
            Some(&Value::from("2023-11-14"))
        );
        assert_eq!(
            out.value_schema.unwrap().field("at").unwrap().schema,
            schemas::string()
        );

        let mut t = transform(
            "TimestampConverter$Value",
            &[("field", "at"), ("target.type", "Date")],
        )
        .unwrap();
        let out = t
            .apply(record_with_value(
                Some(schema.clone()),
                Value::Struct(s.clone()),
            ))
            .unwrap()
            .unwrap();
        assert_eq!(
            out.value.as_struct().unwrap().get("at"),
            Some(&Value::Int32(19675))
        );
        let at = out
            .value_schema
            .unwrap()
            .field("at")
            .unwrap()
            .schema
            .clone();
        assert_eq!(
            at.name.as_deref(),
            Some("org.apache.kafka.connect.data.Date")
        );

        let mut t = transform(
            "TimestampConverter$Value",
            &[
                ("field", "at"),
                ("target.type", "unix"),
                ("unix.precision", "seconds"),
            ],
        )
        .unwrap();
        let out = t
            .apply(record_with_value(Some(schema), Value::Struct(s)))
            .unwrap()
            .unwrap();
        assert_eq!(
            out.value.as_struct().unwrap().get("at"),
            Some(&Value::Int64(1_700_000_000))
        );
    }

    /// Connect 4.3.0 on a JVM: a schemaless Timestamp, Date or Time is a `java.util.Date`,
    /// which TimestampConverter reads back as a timestamp, MaskField masks as `new Date(0)`,
    /// and Cast and Flatten refuse.
    #[test]
    fn schemaless_targets_are_java_dates() {
        let input = || {
            record_with_value(
                None,
                smap(&[
                    ("when", Value::Int64(1_700_000_000_123)),
                    ("id", Value::Int32(1)),
                ]),
            )
        };
        let to = |ty: &str| {
            let mut t = transform(
                "TimestampConverter$Value",
                &[("field", "when"), ("target.type", ty)],
            )
            .unwrap();
            t.apply(input()).unwrap().unwrap()
        };
        for (ty, text) in [
            ("Timestamp", "{when=Tue Nov 14 22:13:20 UTC 2023, id=1}"),
            ("Date", "{when=Tue Nov 14 00:00:00 UTC 2023, id=1}"),
            ("Time", "{when=Thu Jan 01 22:13:20 UTC 1970, id=1}"),
        ] {
            assert_eq!(java_text(&to(ty).value), text, "{ty}");
        }
        let dated = to("Timestamp");
        let back = |cfg: &[(&str, &str)], class: &str| {
            let mut t = transform(class, cfg).unwrap();
            t.apply(dated.clone()).map(|r| java_text(&r.unwrap().value))
        };
        let unix = [("field", "when"), ("target.type", "unix")];
        assert_eq!(
            back(&unix, "TimestampConverter$Value").unwrap(),
            "{when=1700000000123, id=1}"
        );
        assert_eq!(
            back(&[("fields", "when")], "MaskField$Value").unwrap(),
            "{when=Thu Jan 01 00:00:00 UTC 1970, id=1}"
        );
        let refused =
            |r: Result<String, crate::transform::TransformError>| r.unwrap_err().to_string();
        assert_eq!(
            refused(back(&[("spec", "when:int64")], "Cast$Value")),
            "Cast transformation was passed a value of type class java.util.Date which is not \
             supported by Connect's data API"
        );
        assert_eq!(
            refused(back(&[], "Flatten$Value")),
            "Flatten transformation was passed a value of type class java.util.Date which is \
             not supported by Connect's data API"
        );
        assert_eq!(
            refused(back(
                &[("fields", "when"), ("replacement", "5")],
                "MaskField$Value"
            )),
            "Cannot mask value of type class java.util.Date with custom replacement."
        );
    }

    #[test]
    fn schemaless_and_whole_values() {
        let mut t = transform(
            "TimestampConverter$Value",
            &[
                ("field", "ts"),
                ("target.type", "Timestamp"),
                ("format", "yyyy-MM-dd HH:mm"),
            ],
        )
        .unwrap();
        let out = t
            .apply(record_with_value(
                None,
                smap(&[("ts", Value::from("2023-11-14 22:13"))]),
            ))
            .unwrap()
            .unwrap();
        // A java.util.Date, as in Connect.
        assert_eq!(
            out.value,
            smap(&[("ts", Value::JavaDate(1_699_999_980_000))])
        );
        assert_eq!(java_text(&out.value), "{ts=Tue Nov 14 22:13:00 UTC 2023}");
        let err = t
            .apply(record_with_value(None, smap(&[("ts", Value::from("bad"))])))
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("does not match pattern (yyyy-MM-dd HH:mm)"),
            "{err}"
        );
        let mut t = transform(
            "TimestampConverter$Key",
            &[("target.type", "string"), ("format", "yyyy")],
        )
        .unwrap();
        let mut r = record_with_value(None, Value::Null);
        r.key = Value::Int64(1_700_000_000_000);
        assert_eq!(t.apply(r).unwrap().unwrap().key, Value::from("2023"));
        let e = transform("TimestampConverter$Value", &[("target.type", "string")])
            .err()
            .unwrap();
        assert_eq!(e.key, "format");
        let e = transform("TimestampConverter$Value", &[("target.type", "date")])
            .err()
            .unwrap();
        assert_eq!(e.key, "target.type");
    }
}
