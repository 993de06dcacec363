//! What Confluent's `PostgreSqlDatabaseDialect` decides, in kconnect's terms: table and column
//! names as SQL, Connect schemas as PostgreSQL column types (for `auto.create` and
//! `auto.evolve`), and values as COPY text (in `copy_text`).

use super::copy_text::{self, encode_value};
use crate::data::{Schema, SchemaType, Value};

pub const DATE: &str = crate::data::schema::DATE_NAME;
pub const TIME: &str = crate::data::schema::TIME_NAME;
pub const TIMESTAMP: &str = crate::data::schema::TIMESTAMP_NAME;
pub const DECIMAL: &str = crate::data::schema::DECIMAL_NAME;
pub const DBZ_DATE: &str = "io.debezium.time.Date";
pub const DBZ_TIME: &str = "io.debezium.time.Time";
pub const DBZ_MICRO_TIME: &str = "io.debezium.time.MicroTime";
pub const DBZ_NANO_TIME: &str = "io.debezium.time.NanoTime";
pub const DBZ_TIMESTAMP: &str = "io.debezium.time.Timestamp";
pub const DBZ_MICRO_TIMESTAMP: &str = "io.debezium.time.MicroTimestamp";
pub const DBZ_NANO_TIMESTAMP: &str = "io.debezium.time.NanoTimestamp";
pub const DBZ_ZONED_TIMESTAMP: &str = "io.debezium.time.ZonedTimestamp";
pub const DBZ_ZONED_TIME: &str = "io.debezium.time.ZonedTime";
pub const DBZ_VARIABLE_DECIMAL: &str = "io.debezium.data.VariableScaleDecimal";
pub const DBZ_UUID: &str = "io.debezium.data.Uuid";
pub const DBZ_JSON: &str = "io.debezium.data.Json";

/// Quotes an identifier (`quote.sql.identifiers=always`) or leaves it as written (`never`).
pub fn ident(name: &str, quote: bool, out: &mut String) {
    if quote {
        out.push('"');
        for c in name.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
    } else {
        out.push_str(name);
    }
}

pub fn ident_string(name: &str, quote: bool) -> String {
    let mut s = String::with_capacity(name.len() + 2);
    ident(name, quote, &mut s);
    s
}

/// A destination table: `table.name.format` after `${topic}` substitution, split on dots as
/// Confluent's `TableId` does. PostgreSQL cannot reach another database, so of
/// `catalog.schema.table` only schema and table are used.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TableId {
    pub schema: Option<String>,
    pub table: String,
}

impl TableId {
    pub fn parse(name: &str) -> TableId {
        let parts: Vec<&str> = name.split('.').collect();
        match parts.as_slice() {
            [t] => TableId {
                schema: None,
                table: t.to_string(),
            },
            [.., s, t] => TableId {
                schema: Some(s.to_string()),
                table: t.to_string(),
            },
            [] => unreachable!("split yields at least one part"),
        }
    }

    pub fn sql(&self, quote: bool) -> String {
        let mut s = String::new();
        if let Some(schema) = &self.schema {
            ident(schema, quote, &mut s);
            s.push('.');
        }
        ident(&self.table, quote, &mut s);
        s
    }
}

/// The kind of a PostgreSQL column, from `pg_type.typname`: what decides how a Connect value is
/// written into it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PgKind {
    Bool,
    Int,
    Float,
    Numeric,
    Text,
    Bytea,
    Date,
    Time,
    TimeTz,
    Timestamp,
    TimestampTz,
    Json,
    Uuid,
    Array,
    Other,
}

impl PgKind {
    pub fn of(typname: &str) -> PgKind {
        match typname {
            "bool" => PgKind::Bool,
            "int2" | "int4" | "int8" | "oid" => PgKind::Int,
            "float4" | "float8" => PgKind::Float,
            "numeric" | "money" => PgKind::Numeric,
            "text" | "varchar" | "bpchar" | "name" | "citext" => PgKind::Text,
            "bytea" => PgKind::Bytea,
            "date" => PgKind::Date,
            "time" => PgKind::Time,
            "timetz" => PgKind::TimeTz,
            "timestamp" => PgKind::Timestamp,
            "timestamptz" => PgKind::TimestampTz,
            "json" | "jsonb" => PgKind::Json,
            "uuid" => PgKind::Uuid,
            t if t.starts_with('_') => PgKind::Array,
            _ => PgKind::Other,
        }
    }

    pub(super) fn is_temporal(self) -> bool {
        matches!(
            self,
            PgKind::Date | PgKind::Time | PgKind::TimeTz | PgKind::Timestamp | PgKind::TimestampTz
        )
    }
}

/// What a Connect field's physical value means, from its schema name. Decided once per schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Semantic {
    Plain,
    /// int32 days since the epoch.
    Days,
    /// Time of day in milliseconds, microseconds or nanoseconds.
    TimeMillis,
    TimeMicros,
    TimeNanos,
    /// Instant since the epoch in milliseconds, microseconds or nanoseconds.
    EpochMillis,
    EpochMicros,
    EpochNanos,
    /// Debezium's `{scale, value}` struct for numerics without a declared scale.
    VariableDecimal,
}

impl Semantic {
    pub fn of(schema: &Schema) -> Semantic {
        match schema.name.as_deref() {
            Some(DATE) | Some(DBZ_DATE) if schema.ty == SchemaType::Int32 => Semantic::Days,
            Some(TIME) | Some(DBZ_TIME) if schema.ty == SchemaType::Int32 => Semantic::TimeMillis,
            Some(DBZ_MICRO_TIME) if schema.ty == SchemaType::Int64 => Semantic::TimeMicros,
            Some(DBZ_NANO_TIME) if schema.ty == SchemaType::Int64 => Semantic::TimeNanos,
            Some(TIMESTAMP) | Some(DBZ_TIMESTAMP) if schema.ty == SchemaType::Int64 => {
                Semantic::EpochMillis
            }
            Some(DBZ_MICRO_TIMESTAMP) if schema.ty == SchemaType::Int64 => Semantic::EpochMicros,
            Some(DBZ_NANO_TIMESTAMP) if schema.ty == SchemaType::Int64 => Semantic::EpochNanos,
            Some(DBZ_VARIABLE_DECIMAL) if schema.ty == SchemaType::Struct => {
                Semantic::VariableDecimal
            }
            _ => Semantic::Plain,
        }
    }

    pub fn is_instant(self) -> bool {
        matches!(
            self,
            Semantic::EpochMillis | Semantic::EpochMicros | Semantic::EpochNanos
        )
    }
}

/// The column type `auto.create` / `auto.evolve` give a field: Confluent's PostgreSQL mapping,
/// extended with Debezium's named types so a CDC copy gets real temporal, numeric, uuid and
/// json columns instead of integers and text.
pub fn sql_type(schema: &Schema) -> Result<String, String> {
    if let Some(name) = schema.name.as_deref() {
        let t = match (name, Semantic::of(schema)) {
            (DECIMAL, _) | (_, Semantic::VariableDecimal) => Some("DECIMAL"),
            (_, Semantic::Days) => Some("DATE"),
            (_, Semantic::TimeMillis | Semantic::TimeMicros | Semantic::TimeNanos) => Some("TIME"),
            (_, Semantic::EpochMillis | Semantic::EpochMicros | Semantic::EpochNanos) => {
                Some("TIMESTAMP")
            }
            (DBZ_ZONED_TIMESTAMP, _) if schema.ty == SchemaType::String => Some("TIMESTAMPTZ"),
            (DBZ_ZONED_TIME, _) if schema.ty == SchemaType::String => Some("TIMETZ"),
            (DBZ_UUID, _) if schema.ty == SchemaType::String => Some("UUID"),
            (DBZ_JSON, _) if schema.ty == SchemaType::String => Some("JSONB"),
            _ => None,
        };
        if let Some(t) = t {
            return Ok(t.to_string());
        }
    }
    Ok(match schema.ty {
        SchemaType::Int8 | SchemaType::Int16 => "SMALLINT".into(),
        SchemaType::Int32 => "INT".into(),
        SchemaType::Int64 => "BIGINT".into(),
        SchemaType::Float32 => "REAL".into(),
        SchemaType::Float64 => "DOUBLE PRECISION".into(),
        SchemaType::Boolean => "BOOLEAN".into(),
        SchemaType::String => "TEXT".into(),
        SchemaType::Bytes => "BYTEA".into(),
        SchemaType::Array => {
            let items = schema
                .value_schema
                .as_ref()
                .ok_or_else(|| "array schema without an item schema".to_string())?;
            format!("{}[]", sql_type(items)?)
        }
        SchemaType::Map | SchemaType::Struct => {
            return Err(format!(
                "{} ({}) type doesn't have a mapping to a PostgreSQL column type",
                schema.name.as_deref().unwrap_or(""),
                schema.ty.connect_name()
            ))
        }
    })
}

/// A schema default as a SQL literal for `DEFAULT`, where one can be written.
pub fn default_literal(schema: &Schema, v: &Value) -> Option<String> {
    let mut text = Vec::new();
    let kind = match schema.ty {
        SchemaType::Boolean => {
            return match v {
                Value::Boolean(b) => Some(if *b { "TRUE" } else { "FALSE" }.into()),
                _ => None,
            }
        }
        _ => PgKind::of(match Semantic::of(schema) {
            Semantic::Days => "date",
            Semantic::TimeMillis | Semantic::TimeMicros | Semantic::TimeNanos => "time",
            Semantic::EpochMillis | Semantic::EpochMicros | Semantic::EpochNanos => "timestamp",
            _ => "text",
        }),
    };
    match v {
        Value::Null | Value::Bytes(_) | Value::Array(_) | Value::Map(_) | Value::Struct(_) => {
            return None
        }
        Value::Int8(_)
        | Value::Int16(_)
        | Value::Int32(_)
        | Value::Int64(_)
        | Value::Float32(_)
        | Value::Float64(_)
        | Value::Decimal(_)
            if !kind.is_temporal() =>
        {
            encode_value(
                v,
                schema,
                Semantic::Plain,
                PgKind::Numeric,
                false,
                &mut text,
            )
            .ok()?;
            return String::from_utf8(text).ok();
        }
        _ => {}
    }
    let mut raw = Vec::new();
    copy_text::encode_raw(v, schema, Semantic::of(schema), kind, false, &mut raw).ok()?;
    let s = String::from_utf8(raw).ok()?;
    Some(format!("'{}'", s.replace('\'', "''")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::schemas;

    fn named(ty: SchemaType, name: &str) -> Schema {
        let mut s = Schema::new(ty);
        s.name = Some(name.to_string());
        s
    }

    #[test]
    fn identifiers_and_tables() {
        assert_eq!(ident_string("we\"ird", true), "\"we\"\"ird\"");
        assert_eq!(ident_string("Plain", false), "Plain");
        assert_eq!(TableId::parse("orders").sql(true), "\"orders\"");
        assert_eq!(
            TableId::parse("dbserver1.public.customers").sql(true),
            "\"public\".\"customers\""
        );
    }

    #[test]
    fn confluent_type_mapping() {
        assert_eq!(sql_type(&schemas::int8()).unwrap(), "SMALLINT");
        assert_eq!(sql_type(&schemas::int32()).unwrap(), "INT");
        assert_eq!(sql_type(&schemas::int64()).unwrap(), "BIGINT");
        assert_eq!(sql_type(&schemas::float32()).unwrap(), "REAL");
        assert_eq!(sql_type(&schemas::float64()).unwrap(), "DOUBLE PRECISION");
        assert_eq!(sql_type(&schemas::string()).unwrap(), "TEXT");
        assert_eq!(sql_type(&schemas::bytes()).unwrap(), "BYTEA");
        assert_eq!(
            sql_type(&named(SchemaType::Bytes, DECIMAL)).unwrap(),
            "DECIMAL"
        );
        assert_eq!(sql_type(&named(SchemaType::Int32, DATE)).unwrap(), "DATE");
        assert_eq!(sql_type(&named(SchemaType::Int32, TIME)).unwrap(), "TIME");
        assert_eq!(
            sql_type(&named(SchemaType::Int64, TIMESTAMP)).unwrap(),
            "TIMESTAMP"
        );
        assert_eq!(
            sql_type(&named(SchemaType::Int64, DBZ_MICRO_TIMESTAMP)).unwrap(),
            "TIMESTAMP"
        );
        assert_eq!(
            sql_type(&named(SchemaType::String, DBZ_ZONED_TIMESTAMP)).unwrap(),
            "TIMESTAMPTZ"
        );
        let arr = Schema::array(schemas::int32()).build();
        assert_eq!(sql_type(&arr).unwrap(), "INT[]");
        assert!(sql_type(&Schema::struct_builder().build()).is_err());
    }

    #[test]
    fn defaults_as_literals() {
        assert_eq!(
            default_literal(&schemas::int32(), &Value::Int32(5)).as_deref(),
            Some("5")
        );
        assert_eq!(
            default_literal(&schemas::string(), &Value::String("it's".into())).as_deref(),
            Some("'it''s'")
        );
        assert_eq!(
            default_literal(&schemas::boolean(), &Value::Boolean(true)).as_deref(),
            Some("TRUE")
        );
        assert_eq!(
            default_literal(&named(SchemaType::Int32, DATE), &Value::Int32(1)).as_deref(),
            Some("'1970-01-02'")
        );
    }
}
