//! PostgreSQL column types mapped to Connect schemas and values the way Debezium's
//! PostgreSQL connector maps them (adaptive time precision). Both pgoutput (protocol 1) and the
//! snapshot's text-format queries hand values over as PostgreSQL's text output, so one parser
//! per type serves both paths; the session runs with `DateStyle=ISO`, `IntervalStyle=iso_8601`
//! and `TimeZone=UTC` so that text is predictable.
//!
//! Here the types and their schemas; the text of numbers, times, literals and geometric types
//! is read in the submodules.
//!
//! Types Debezium 3.6.3 has no converter for (box, tsquery, pg_lsn, multiranges, arrays of
//! domains, most extension types...) are `Unknown`: their columns are left out of events, or
//! written as the bytes of their text with `include.unknown.datatypes=true`. A few arrays
//! (money[], interval[], name[], varbit[], xml[], point[]) are left out either way.

use crate::data::{Schema, SchemaRef, SchemaType, Value};

mod catalog;
mod geometric;
mod hstore;
mod literals;
mod numbers;
mod time;

pub use catalog::*;
pub use literals::{default_literal, implicit_default, parse_array_with, zero_value};
use numbers::{clean_money, numeric_value, parse_bits, parse_bytea, parse_float};
use time::{
    interval_iso, iso_date, iso_time, iso_timestamp, iso_timestamp_in_array, parse_date,
    parse_interval, parse_time, parse_timestamp, parse_timestamptz, parse_timetz,
};

/// How `numeric`/`decimal`/`money` columns are represented (`decimal.handling.mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecimalMode {
    Precise,
    Double,
    String,
}

/// Lower-case hex of bytes (binary.handling.mode=hex, hashed column values).
pub fn lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

/// How bytea columns are written (`binary.handling.mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryMode {
    Bytes,
    Base64,
    Base64UrlSafe,
    Hex,
}

/// How temporal columns are written (`time.precision.mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeMode {
    Adaptive,
    AdaptiveTimeMicroseconds,
    Connect,
    IsoString,
}

/// The connector settings that change how a column type is written.
#[derive(Clone, Copy, Debug)]
pub struct Modes {
    pub binary: BinaryMode,
    pub interval_string: bool,
    pub time: TimeMode,
    pub hstore_map: bool,
    /// include.unknown.datatypes
    pub include_unknown: bool,
}

/// What text an unknown type's bytes are made of (include.unknown.datatypes=true).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opaque {
    /// The server's text.
    Text,
    /// A geometric type other than point: the JDBC driver's text (see `geometric`).
    Geometric,
    /// box, whose array items are separated by `;`.
    Box,
}

/// A column type resolved from its OID, type modifier and catalog entry.
#[derive(Clone, Debug, PartialEq)]
pub enum PgType {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    /// numeric(p, s)
    Numeric {
        precision: i32,
        scale: i32,
    },
    /// numeric without a declared scale
    NumericVar,
    Money,
    /// text, varchar, char, name, inet, cidr, macaddr and other types Debezium emits as text.
    Text,
    Bytea,
    /// bytea as a string (binary.handling.mode base64, base64-url-safe or hex).
    ByteaText(BinaryMode),
    Date,
    /// time(p): p ≤ 3 is io.debezium.time.Time (ms), otherwise MicroTime.
    Time {
        millis: bool,
    },
    TimeTz,
    Timestamp {
        millis: bool,
    },
    TimestampTz,
    /// timestamptz(p) with 1 <= p <= 5: Debezium writes p fraction digits (6 otherwise).
    TimestampTzDigits(u8),
    /// date, time and timestamp as Connect's Date (days), Time (int32 milliseconds) and
    /// Timestamp (int64 milliseconds), time.precision.mode=connect.
    ConnectDate,
    ConnectTime,
    ConnectTimestamp,
    Interval,
    /// interval as io.debezium.time.Interval ISO 8601 text (interval.handling.mode=string).
    IntervalString,
    Uuid,
    Json,
    Xml,
    Enum {
        allowed: String,
    },
    /// bit(1)
    Bit1,
    /// bit(n) and varbit(n)
    Bits {
        length: i32,
    },
    Array(Box<PgType>),
    /// hstore (an extension type, found by name): a Json string, or a map when
    /// hstore.handling.mode=map.
    Hstore {
        map: bool,
    },
    /// point as io.debezium.data.geometry.Point.
    Point,
    /// ltree (by extension name) as io.debezium.data.Ltree.
    Ltree,
    /// tsvector as io.debezium.data.Tsvector.
    Tsvector,
    /// Strings Debezium has no default value mapper for: the built-in range types, citext
    /// and isbn (by extension name). Their column defaults are left out of schemas.
    TextNoDefault,
    /// date, time and timestamp as io.debezium.time.IsoDate, IsoTime and IsoTimestamp strings
    /// (time.precision.mode=isostring).
    IsoDate,
    IsoTime,
    IsoTimestamp,
    /// A type Debezium has no converter for: the column is left out of events.
    Unknown(Opaque),
    /// An unknown type's value as the bytes of its text, written as binary.handling.mode says
    /// (include.unknown.datatypes=true).
    OpaqueBytes(Opaque, BinaryMode),
    /// Arrays Debezium leaves out even with include.unknown.datatypes=true.
    Unsupported,
    /// A `name` column in streamed changes: Debezium's pgoutput decoder has no case for the
    /// type and reads every value as null (its zero, "", in a required field), unless
    /// include.unknown.datatypes=true.
    StreamedName,
    /// PostGIS geometry or geography (by type name) as Debezium's Geometry/Geography struct;
    /// `not_null`: the column is NOT NULL, where Debezium writes an empty collection for a
    /// missing value although the schema is optional.
    Postgis {
        geography: bool,
        not_null: bool,
    },
    /// A type Debezium maps that kconnect does not (pgvector): tables with such a column are
    /// refused rather than written differently.
    Unimplemented(String),
}

/// `io.debezium.data.VariableScaleDecimal`'s struct schema.
pub fn variable_scale_schema(optional: bool) -> SchemaRef {
    Schema::struct_builder()
        .name("io.debezium.data.VariableScaleDecimal")
        .version(1)
        .doc("Variable scaled decimal")
        .field("scale", Schema::primitive(SchemaType::Int32, false))
        .field("value", Schema::primitive(SchemaType::Bytes, false))
        .set_optional(optional)
        .build()
}

impl PgType {
    /// The value Debezium writes for a NOT NULL column whose value it did not get (a key-only
    /// `before`), when it is not the schema's zero: PostGIS's empty collection.
    pub fn missing_value(&self, schema: &SchemaRef) -> Option<Value> {
        match self {
            PgType::Postgis { not_null: true, .. } => {
                geometric::postgis_value(geometric::EMPTY_EWKB.to_vec(), schema)
            }
            _ => None,
        }
    }

    /// This type as the connector's settings (`Modes`) have it written.
    pub fn with_modes(self, m: &Modes) -> PgType {
        let (binary, interval_string, time) = (m.binary, m.interval_string, m.time);
        match (self, time) {
            (PgType::Hstore { .. }, _) => PgType::Hstore { map: m.hstore_map },
            (PgType::Unknown(kind), _) if m.include_unknown => PgType::OpaqueBytes(kind, binary),
            (PgType::Date, TimeMode::IsoString) => PgType::IsoDate,
            (PgType::Time { .. }, TimeMode::IsoString) => PgType::IsoTime,
            (PgType::Timestamp { .. }, TimeMode::IsoString) => PgType::IsoTimestamp,
            (PgType::Bytea, _) if binary != BinaryMode::Bytes => PgType::ByteaText(binary),
            (PgType::Interval, _) if interval_string => PgType::IntervalString,
            (PgType::Time { .. }, TimeMode::AdaptiveTimeMicroseconds) => {
                PgType::Time { millis: false }
            }
            (PgType::Date, TimeMode::Connect) => PgType::ConnectDate,
            (PgType::Time { .. }, TimeMode::Connect) => PgType::ConnectTime,
            (PgType::Timestamp { .. }, TimeMode::Connect) => PgType::ConnectTimestamp,
            (PgType::Array(elem), _) => PgType::Array(Box::new(elem.with_modes(m))),
            (other, _) => other,
        }
    }

    /// Whether Debezium leaves the column's default out of its schema (bytea written as
    /// text: its default literal does not convert; types it has no default mapper for).
    pub fn drops_default(&self) -> bool {
        matches!(
            self,
            PgType::ByteaText(_)
                | PgType::Hstore { .. }
                | PgType::Point
                | PgType::Postgis { .. }
                | PgType::Ltree
                | PgType::Tsvector
                | PgType::TextNoDefault
                | PgType::OpaqueBytes(..)
        )
    }

    /// Whether Debezium has a default value mapper for a column of type `type_name`
    /// (`Column.typeName()`): for other types (inet, name, money, timetz, arrays, domains,
    /// ranges...) it leaves the column's default out of the schema.
    pub fn default_mapped(&self, type_name: &str) -> bool {
        matches!(self, PgType::Enum { .. })
            || matches!(
                type_name,
                "bit"
                    | "varbit"
                    | "bool"
                    | "bpchar"
                    | "varchar"
                    | "text"
                    | "numeric"
                    | "float4"
                    | "float8"
                    | "int2"
                    | "int4"
                    | "serial"
                    | "int8"
                    | "bigserial"
                    | "smallserial"
                    | "json"
                    | "jsonb"
                    | "xml"
                    | "uuid"
                    | "date"
                    | "time"
                    | "timestamp"
                    | "timestamptz"
                    | "interval"
            )
    }

    /// Whether columns of this type are left out of events (Debezium has no converter).
    pub fn dropped(&self) -> bool {
        match self {
            PgType::Unknown(_) | PgType::Unsupported => true,
            PgType::Array(elem) => elem.dropped(),
            _ => false,
        }
    }

    /// The Connect schema of a column of this type (without default).
    pub fn schema(&self, optional: bool, mode: DecimalMode, money_digits: i32) -> SchemaRef {
        self.builder(optional, mode, money_digits).build()
    }

    pub fn builder(
        &self,
        optional: bool,
        mode: DecimalMode,
        money_digits: i32,
    ) -> crate::data::SchemaBuilder {
        use SchemaType as T;
        let prim = |t: T| Schema::builder(t).set_optional(optional);
        let named = |t: T, n: &str| Schema::builder(t).name(n).version(1).set_optional(optional);
        match self {
            PgType::Bool | PgType::Bit1 => prim(T::Boolean),
            PgType::Int2 => prim(T::Int16),
            PgType::Int4 => prim(T::Int32),
            PgType::Int8 => prim(T::Int64),
            PgType::Float4 => prim(T::Float32),
            PgType::Float8 => prim(T::Float64),
            PgType::Numeric { precision, scale } => match mode {
                DecimalMode::Precise => Schema::decimal(*scale)
                    .parameter("connect.decimal.precision", precision.to_string())
                    .set_optional(optional),
                DecimalMode::Double => prim(T::Float64),
                DecimalMode::String => prim(T::String),
            },
            PgType::NumericVar => match mode {
                DecimalMode::Precise => variable_scale_schema(optional).to_builder(),
                DecimalMode::Double => prim(T::Float64),
                DecimalMode::String => prim(T::String),
            },
            PgType::Money => match mode {
                DecimalMode::Precise => Schema::decimal(money_digits).set_optional(optional),
                DecimalMode::Double => prim(T::Float64),
                DecimalMode::String => prim(T::String),
            },
            PgType::Text | PgType::TextNoDefault | PgType::StreamedName => prim(T::String),
            PgType::Point => geometric::point_schema(optional),
            PgType::Postgis { geography, .. } => geometric::postgis_schema(*geography),
            PgType::Ltree => named(T::String, "io.debezium.data.Ltree"),
            PgType::Tsvector => named(T::String, "io.debezium.data.Tsvector"),
            PgType::IsoDate => named(T::String, "io.debezium.time.IsoDate"),
            PgType::IsoTime => named(T::String, "io.debezium.time.IsoTime"),
            PgType::IsoTimestamp => named(T::String, "io.debezium.time.IsoTimestamp"),
            PgType::OpaqueBytes(_, BinaryMode::Bytes) => prim(T::Bytes),
            PgType::OpaqueBytes(..) => prim(T::String),
            // Never in a schema: such columns are left out, or refused.
            PgType::Unknown(_) | PgType::Unsupported | PgType::Unimplemented(_) => prim(T::Bytes),
            PgType::Bytea => prim(T::Bytes),
            PgType::ByteaText(_) => prim(T::String),
            PgType::ConnectDate => named(T::Int32, "org.apache.kafka.connect.data.Date"),
            PgType::ConnectTime => named(T::Int32, "org.apache.kafka.connect.data.Time"),
            PgType::ConnectTimestamp => named(T::Int64, "org.apache.kafka.connect.data.Timestamp"),
            PgType::IntervalString => named(T::String, "io.debezium.time.Interval"),
            PgType::Date => named(T::Int32, "io.debezium.time.Date"),
            PgType::Time { millis: true } => named(T::Int32, "io.debezium.time.Time"),
            PgType::Time { millis: false } => named(T::Int64, "io.debezium.time.MicroTime"),
            PgType::TimeTz => named(T::String, "io.debezium.time.ZonedTime"),
            PgType::Timestamp { millis: true } => named(T::Int64, "io.debezium.time.Timestamp"),
            PgType::Timestamp { millis: false } => {
                named(T::Int64, "io.debezium.time.MicroTimestamp")
            }
            PgType::TimestampTz | PgType::TimestampTzDigits(_) => {
                named(T::String, "io.debezium.time.ZonedTimestamp")
            }
            PgType::Interval => named(T::Int64, "io.debezium.time.MicroDuration"),
            PgType::Uuid => named(T::String, "io.debezium.data.Uuid"),
            PgType::Json | PgType::Hstore { map: false } => {
                named(T::String, "io.debezium.data.Json")
            }
            PgType::Hstore { map: true } => Schema::map(
                Schema::primitive(T::String, false),
                Schema::primitive(T::String, true),
            )
            .set_optional(optional),
            PgType::Xml => named(T::String, "io.debezium.data.Xml"),
            PgType::Enum { allowed } => {
                named(T::String, "io.debezium.data.Enum").parameter("allowed", allowed.clone())
            }
            PgType::Bits { length } => {
                named(T::Bytes, "io.debezium.data.Bits").parameter("length", length.to_string())
            }
            // Debezium's schema of an unknown element is binary.handling.mode's, not optional.
            PgType::Array(elem) => Schema::array(elem.schema(
                !matches!(**elem, PgType::OpaqueBytes(..)),
                mode,
                money_digits,
            ))
            .set_optional(optional),
        }
    }

    /// Parses PostgreSQL's text output of a value of this type.
    pub fn parse(&self, text: &str, schema: &SchemaRef) -> Result<Value, String> {
        let bad = |what: &str| format!("cannot read {text:?} as {what}");
        Ok(match self {
            PgType::Bool | PgType::Bit1 => Value::Boolean(matches!(text, "t" | "1" | "true")),
            PgType::Int2 => Value::Int16(text.parse().map_err(|_| bad("int2"))?),
            PgType::Int4 => Value::Int32(text.parse().map_err(|_| bad("int4"))?),
            PgType::Int8 => Value::Int64(text.parse().map_err(|_| bad("int8"))?),
            PgType::Float4 => {
                // Parsed as f32 directly: through f64 a value could round twice.
                Value::Float32(match text {
                    "NaN" => f32::NAN,
                    "Infinity" => f32::INFINITY,
                    "-Infinity" => f32::NEG_INFINITY,
                    t => t.parse().map_err(|_| bad("float4"))?,
                })
            }
            PgType::Float8 => Value::Float64(parse_float(text).ok_or_else(|| bad("float8"))?),
            PgType::Numeric { .. } | PgType::NumericVar | PgType::Money => {
                let cleaned;
                let num = if matches!(self, PgType::Money) {
                    cleaned = clean_money(text);
                    cleaned.as_str()
                } else {
                    text
                };
                numeric_value(num, schema).ok_or_else(|| bad("numeric"))?
            }
            PgType::Text
            | PgType::Uuid
            | PgType::Json
            | PgType::Xml
            | PgType::Enum { .. }
            | PgType::TextNoDefault
            | PgType::Ltree
            | PgType::Tsvector => Value::String(text.into()),
            PgType::Point => {
                let (x, y) = geometric::parse_point(text).ok_or_else(|| bad("point"))?;
                geometric::point_value(x, y, schema)
            }
            PgType::Postgis { .. } => geometric::parse_hex(text)
                .and_then(|ewkb| geometric::postgis_value(ewkb, schema))
                .ok_or_else(|| bad("PostGIS EWKB"))?,
            PgType::IsoDate => Value::String(iso_date(text).ok_or_else(|| bad("date"))?.into()),
            PgType::IsoTime => Value::String(iso_time(text).ok_or_else(|| bad("time"))?.into()),
            PgType::IsoTimestamp => {
                Value::String(iso_timestamp(text).ok_or_else(|| bad("timestamp"))?.into())
            }
            PgType::OpaqueBytes(kind, mode) => {
                let jdbc;
                let bytes = match kind {
                    Opaque::Text => text.as_bytes(),
                    Opaque::Geometric | Opaque::Box => {
                        jdbc = geometric::jdbc_text(text).ok_or_else(|| bad("geometric"))?;
                        jdbc.as_bytes()
                    }
                };
                binary_value(bytes, *mode)
            }
            PgType::StreamedName if schema.optional => Value::Null,
            PgType::StreamedName => Value::String(Default::default()),
            PgType::Unknown(_) | PgType::Unsupported | PgType::Unimplemented(_) => {
                return Err(format!(
                    "no value is written for a column of this type ({text:?})"
                ))
            }
            PgType::Bytea => Value::Bytes(parse_bytea(text).ok_or_else(|| bad("bytea"))?),
            PgType::Hstore { map: false } => hstore::to_json(text).ok_or_else(|| bad("hstore"))?,
            PgType::Hstore { map: true } => hstore::to_map(text).ok_or_else(|| bad("hstore"))?,
            PgType::ByteaText(mode) => {
                binary_value(&parse_bytea(text).ok_or_else(|| bad("bytea"))?, *mode)
            }
            PgType::ConnectDate => Value::Int32(parse_date(text).ok_or_else(|| bad("date"))?),
            PgType::ConnectTime => {
                Value::Int32((parse_time(text).ok_or_else(|| bad("time"))? / 1000) as i32)
            }
            PgType::ConnectTimestamp => Value::Int64(
                parse_timestamp(text)
                    .ok_or_else(|| bad("timestamp"))?
                    .div_euclid(1000),
            ),
            PgType::IntervalString => {
                Value::String(interval_iso(text).ok_or_else(|| bad("interval"))?.into())
            }
            PgType::Date => Value::Int32(parse_date(text).ok_or_else(|| bad("date"))?),
            PgType::Time { millis } => {
                let us = parse_time(text).ok_or_else(|| bad("time"))?;
                if *millis {
                    Value::Int32((us / 1000) as i32)
                } else {
                    Value::Int64(us)
                }
            }
            PgType::TimeTz => {
                Value::String(parse_timetz(text).ok_or_else(|| bad("timetz"))?.into())
            }
            PgType::Timestamp { millis } => {
                let us = parse_timestamp(text).ok_or_else(|| bad("timestamp"))?;
                if *millis {
                    Value::Int64(us.div_euclid(1000))
                } else {
                    Value::Int64(us)
                }
            }
            PgType::TimestampTzDigits(p) => {
                let six = parse_timestamptz(text).ok_or_else(|| bad("timestamptz"))?;
                // "...ss.ffffffZ": keep p of the six digits.
                let cut = six.len() - 1 - (6 - *p as usize);
                Value::String(format!("{}Z", &six[..cut]).into())
            }
            PgType::TimestampTz => Value::String(
                parse_timestamptz(text)
                    .ok_or_else(|| bad("timestamptz"))?
                    .into(),
            ),
            PgType::Interval => Value::Int64(parse_interval(text).ok_or_else(|| bad("interval"))?),
            PgType::Bits { .. } => Value::Bytes(parse_bits(text).ok_or_else(|| bad("bit"))?),
            PgType::Array(elem) => {
                let item_schema = schema
                    .value_schema
                    .clone()
                    .unwrap_or_else(|| elem.schema(true, DecimalMode::Precise, 2));
                let delimiter = match **elem {
                    PgType::OpaqueBytes(Opaque::Box, _) => b';',
                    PgType::Postgis { .. } => b':',
                    _ => b',',
                };
                let items = parse_array_with(text, delimiter).ok_or_else(|| bad("array"))?;
                let dates = matches!(
                    **elem,
                    PgType::Date
                        | PgType::ConnectDate
                        | PgType::IsoDate
                        | PgType::TimestampTz
                        | PgType::TimestampTzDigits(_)
                );
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(match item {
                        None => Value::Null,
                        Some(s) if matches!(**elem, PgType::IsoTimestamp) => Value::String(
                            iso_timestamp_in_array(&s)
                                .ok_or_else(|| bad("timestamp"))?
                                .into(),
                        ),
                        // The JDBC driver reads array dates and timestamptz values into
                        // java.sql types whose year loses its era: Debezium writes
                        // 0044-03-15 BC as 0044-03-15.
                        Some(s) if dates => {
                            elem.parse(s.strip_suffix(" BC").unwrap_or(&s), &item_schema)?
                        }
                        Some(s) => elem.parse(&s, &item_schema)?,
                    });
                }
                Value::Array(out)
            }
        })
    }

    /// The value written for an unchanged TOASTed column: the placeholder, as bytes for
    /// binary columns, in a one-element array for arrays (as Debezium does).
    pub fn placeholder(&self, placeholder: &str) -> Value {
        match self {
            PgType::Bytea | PgType::Bits { .. } | PgType::OpaqueBytes(_, BinaryMode::Bytes) => {
                Value::Bytes(placeholder.as_bytes().to_vec())
            }
            // Debezium's base64 converters do not take the placeholder: they log a warning and
            // write null; its hex converter writes the placeholder as it is.
            PgType::ByteaText(BinaryMode::Base64 | BinaryMode::Base64UrlSafe) => Value::Null,
            PgType::Array(elem) => Value::Array(vec![elem.placeholder(placeholder)]),
            // Debezium cannot put the placeholder into the Geometry struct: it logs the
            // DataException and writes null.
            PgType::Postgis { .. } => Value::Null,
            _ => Value::String(placeholder.into()),
        }
    }
}

/// Bytes as binary.handling.mode writes them.
fn binary_value(b: &[u8], mode: BinaryMode) -> Value {
    use base64::Engine;
    Value::String(
        match mode {
            BinaryMode::Bytes => return Value::Bytes(b.to_vec()),
            BinaryMode::Base64 => base64::engine::general_purpose::STANDARD.encode(b),
            BinaryMode::Base64UrlSafe => base64::engine::general_purpose::URL_SAFE.encode(b),
            BinaryMode::Hex => lower_hex(b),
        }
        .into(),
    )
}

/// A value parsed from `text` as a column of type `t` would be, for the submodules' tests.
#[cfg(test)]
fn parsed(t: PgType, text: &str) -> Value {
    let s = t.schema(true, DecimalMode::Precise, 2);
    t.parse(text, &s).unwrap()
}
