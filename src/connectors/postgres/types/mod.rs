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

mod geometric;
mod hstore;
mod literals;
mod numbers;
mod time;

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

/// What the catalog says about a type OID that is not built in.
#[derive(Clone, Debug, Default)]
pub struct TypeEntry {
    pub name: String,
    /// `typtype`: b base, e enum, d domain, c composite, r range.
    pub kind: char,
    pub elem: u32,
    pub base: u32,
    pub base_typmod: i32,
    pub enum_labels: Vec<String>,
}

pub const OID_BOOL: u32 = 16;
pub const OID_BYTEA: u32 = 17;
pub const OID_INT8: u32 = 20;
pub const OID_INT2: u32 = 21;
pub const OID_INT4: u32 = 23;
pub const OID_TEXT: u32 = 25;
pub const OID_JSON: u32 = 114;
pub const OID_XML: u32 = 142;
pub const OID_FLOAT4: u32 = 700;
pub const OID_FLOAT8: u32 = 701;
pub const OID_MONEY: u32 = 790;
pub const OID_DATE: u32 = 1082;
pub const OID_TIME: u32 = 1083;
pub const OID_TIMESTAMP: u32 = 1114;
pub const OID_TIMESTAMPTZ: u32 = 1184;
pub const OID_INTERVAL: u32 = 1186;
pub const OID_TIMETZ: u32 = 1266;
pub const OID_BIT: u32 = 1560;
pub const OID_VARBIT: u32 = 1562;
pub const OID_NUMERIC: u32 = 1700;
pub const OID_UUID: u32 = 2950;
pub const OID_JSONB: u32 = 3802;

/// PostgreSQL's name of a built-in type (`pg_type.typname`).
pub fn builtin_name(oid: u32) -> Option<&'static str> {
    Some(match oid {
        16 => "bool",
        17 => "bytea",
        18 => "char",
        19 => "name",
        20 => "int8",
        21 => "int2",
        23 => "int4",
        25 => "text",
        26 => "oid",
        114 => "json",
        142 => "xml",
        650 => "cidr",
        700 => "float4",
        701 => "float8",
        774 => "macaddr8",
        790 => "money",
        829 => "macaddr",
        869 => "inet",
        1042 => "bpchar",
        1043 => "varchar",
        1082 => "date",
        1083 => "time",
        1114 => "timestamp",
        1184 => "timestamptz",
        1186 => "interval",
        1266 => "timetz",
        600 => "point",
        601 => "lseg",
        602 => "path",
        603 => "box",
        604 => "polygon",
        628 => "line",
        718 => "circle",
        3614 => "tsvector",
        3904 => "int4range",
        3906 => "numrange",
        3908 => "tsrange",
        3910 => "tstzrange",
        3912 => "daterange",
        3926 => "int8range",
        1560 => "bit",
        1562 => "varbit",
        1700 => "numeric",
        2950 => "uuid",
        3802 => "jsonb",
        _ => return None,
    })
}

/// Resolves a built-in type by OID; `None` means the catalog must be asked (`lookup`).
pub fn builtin(oid: u32, typmod: i32) -> Option<PgType> {
    let precision = |default: i32| if typmod < 0 { default } else { typmod };
    Some(match oid {
        OID_BOOL => PgType::Bool,
        OID_INT2 => PgType::Int2,
        OID_INT4 => PgType::Int4,
        // oid as Debezium writes it: int64.
        OID_INT8 | 26 => PgType::Int8,
        OID_FLOAT4 => PgType::Float4,
        OID_FLOAT8 => PgType::Float8,
        OID_NUMERIC => {
            if typmod < 4 {
                PgType::NumericVar
            } else {
                let m = typmod - 4;
                PgType::Numeric {
                    precision: (m >> 16) & 0xffff,
                    scale: m & 0xffff,
                }
            }
        }
        OID_MONEY => PgType::Money,
        OID_TEXT | 18 | 19 | 1042 | 1043 | 869 | 650 | 829 | 774 => PgType::Text,
        OID_BYTEA => PgType::Bytea,
        OID_DATE => PgType::Date,
        OID_TIME => PgType::Time {
            millis: precision(6) <= 3,
        },
        OID_TIMETZ => PgType::TimeTz,
        OID_TIMESTAMP => PgType::Timestamp {
            millis: precision(6) <= 3,
        },
        OID_TIMESTAMPTZ if (1..=5).contains(&typmod) => PgType::TimestampTzDigits(typmod as u8),
        OID_TIMESTAMPTZ => PgType::TimestampTz,
        OID_INTERVAL => PgType::Interval,
        OID_UUID => PgType::Uuid,
        OID_JSON | OID_JSONB => PgType::Json,
        OID_XML => PgType::Xml,
        600 => PgType::Point,
        603 => PgType::Unknown(Opaque::Box),
        601 | 602 | 604 | 628 | 718 => PgType::Unknown(Opaque::Geometric),
        3614 => PgType::Tsvector,
        3904 | 3906 | 3908 | 3910 | 3912 | 3926 => PgType::TextNoDefault,
        OID_BIT if typmod == 1 => PgType::Bit1,
        // varbit without a length: Debezium's schema says length 2147483647.
        OID_BIT | OID_VARBIT => PgType::Bits {
            length: if typmod < 0 { i32::MAX } else { typmod },
        },
        _ => return None,
    })
}

/// Array element types whose arrays Debezium 3.6.3 has no schema for (DBZ-459): money, name,
/// xml, point, interval, varbit, refcursor.
const UNSUPPORTED_ARRAY_ELEMENTS: [u32; 7] = [790, 19, 142, 600, 1186, 1562, 1790];

/// Resolves any type, asking `lookup` for catalog entries of non-built-in OIDs (arrays, enums,
/// domains, extension types known by name). What Debezium has no converter for is `Unknown`.
pub fn resolve(oid: u32, typmod: i32, lookup: &mut dyn FnMut(u32) -> Option<TypeEntry>) -> PgType {
    if let Some(t) = builtin(oid, typmod) {
        return t;
    }
    let Some(entry) = lookup(oid) else {
        return PgType::Unknown(Opaque::Text);
    };
    match entry.kind {
        'e' => PgType::Enum {
            allowed: entry.enum_labels.join(","),
        },
        'd' if entry.base != 0 => {
            let tm = if entry.base_typmod >= 0 {
                entry.base_typmod
            } else {
                typmod
            };
            resolve(entry.base, tm, lookup)
        }
        _ if entry.elem != 0 && entry.name.starts_with('_') => {
            if UNSUPPORTED_ARRAY_ELEMENTS.contains(&entry.elem) {
                return PgType::Unsupported;
            }
            // Debezium finds no converter for an array of a domain (its element's type id is
            // the domain's): such arrays are unknown.
            let elem = match lookup(entry.elem) {
                Some(e) if e.kind == 'd' => PgType::Unknown(Opaque::Text),
                _ => resolve(entry.elem, typmod, lookup),
            };
            match elem {
                PgType::Unimplemented(name) => PgType::Unimplemented(name),
                PgType::Unsupported => PgType::Unsupported,
                elem => PgType::Array(Box::new(elem)),
            }
        }
        'b' => match entry.name.as_str() {
            "hstore" => PgType::Hstore { map: false },
            "citext" | "isbn" => PgType::TextNoDefault,
            "ltree" => PgType::Ltree,
            "geometry" => PgType::Postgis {
                geography: false,
                not_null: false,
            },
            "geography" => PgType::Postgis {
                geography: true,
                not_null: false,
            },
            "vector" | "halfvec" | "sparsevec" => PgType::Unimplemented(entry.name),
            _ => PgType::Unknown(Opaque::Text),
        },
        _ => PgType::Unknown(Opaque::Text),
    }
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
