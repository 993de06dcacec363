//! PostgreSQL column types mapped to Connect schemas and values the way Debezium's
//! PostgreSQL connector maps them (adaptive time precision). Both pgoutput (protocol 1) and the
//! snapshot's text-format queries hand values over as PostgreSQL's text output, so one parser
//! per type serves both paths; the session runs with `DateStyle=ISO`, `IntervalStyle=iso_8601`
//! and `TimeZone=UTC` so that text is predictable.

use std::sync::Arc;

use num_bigint::BigInt;

use crate::data::{Decimal, Schema, SchemaRef, SchemaType, Struct, Value};

/// How `numeric`/`decimal`/`money` columns are represented (`decimal.handling.mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecimalMode {
    Precise,
    Double,
    String,
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
    Interval,
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

/// Resolves a built-in type by OID; `None` means the catalog must be asked (`lookup`).
pub fn builtin(oid: u32, typmod: i32) -> Option<PgType> {
    let precision = |default: i32| if typmod < 0 { default } else { typmod };
    Some(match oid {
        OID_BOOL => PgType::Bool,
        OID_INT2 => PgType::Int2,
        OID_INT4 | 26 /* oid */ => PgType::Int4,
        OID_INT8 => PgType::Int8,
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
        OID_TIMESTAMPTZ => PgType::TimestampTz,
        OID_INTERVAL => PgType::Interval,
        OID_UUID => PgType::Uuid,
        OID_JSON | OID_JSONB => PgType::Json,
        OID_XML => PgType::Xml,
        OID_BIT if typmod == 1 => PgType::Bit1,
        OID_BIT | OID_VARBIT => PgType::Bits {
            length: typmod.max(1),
        },
        _ => return None,
    })
}

/// Resolves any type, asking `lookup` for catalog entries of non-built-in OIDs (arrays, enums,
/// domains). Unknown types are carried as their text form, as Debezium does with
/// `include.unknown.datatypes`.
pub fn resolve(oid: u32, typmod: i32, lookup: &mut dyn FnMut(u32) -> Option<TypeEntry>) -> PgType {
    if let Some(t) = builtin(oid, typmod) {
        return t;
    }
    let Some(entry) = lookup(oid) else {
        return PgType::Text;
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
            PgType::Array(Box::new(resolve(entry.elem, typmod, lookup)))
        }
        _ => PgType::Text,
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
            PgType::Text => prim(T::String),
            PgType::Bytea => prim(T::Bytes),
            PgType::Date => named(T::Int32, "io.debezium.time.Date"),
            PgType::Time { millis: true } => named(T::Int32, "io.debezium.time.Time"),
            PgType::Time { millis: false } => named(T::Int64, "io.debezium.time.MicroTime"),
            PgType::TimeTz => named(T::String, "io.debezium.time.ZonedTime"),
            PgType::Timestamp { millis: true } => named(T::Int64, "io.debezium.time.Timestamp"),
            PgType::Timestamp { millis: false } => {
                named(T::Int64, "io.debezium.time.MicroTimestamp")
            }
            PgType::TimestampTz => named(T::String, "io.debezium.time.ZonedTimestamp"),
            PgType::Interval => named(T::Int64, "io.debezium.time.MicroDuration"),
            PgType::Uuid => named(T::String, "io.debezium.data.Uuid"),
            PgType::Json => named(T::String, "io.debezium.data.Json"),
            PgType::Xml => named(T::String, "io.debezium.data.Xml"),
            PgType::Enum { allowed } => {
                named(T::String, "io.debezium.data.Enum").parameter("allowed", allowed.clone())
            }
            PgType::Bits { length } => {
                named(T::Bytes, "io.debezium.data.Bits").parameter("length", length.to_string())
            }
            PgType::Array(elem) => {
                Schema::array(elem.schema(true, mode, money_digits)).set_optional(optional)
            }
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
            PgType::Text | PgType::Uuid | PgType::Json | PgType::Xml | PgType::Enum { .. } => {
                Value::String(text.into())
            }
            PgType::Bytea => Value::Bytes(parse_bytea(text).ok_or_else(|| bad("bytea"))?),
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
                let items = parse_array(text).ok_or_else(|| bad("array"))?;
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(match item {
                        None => Value::Null,
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
            PgType::Bytea | PgType::Bits { .. } => Value::Bytes(placeholder.as_bytes().to_vec()),
            PgType::Array(elem) => Value::Array(vec![elem.placeholder(placeholder)]),
            _ => Value::String(placeholder.into()),
        }
    }
}

fn parse_float(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        t => t.parse().ok(),
    }
}

/// money's text output carries the locale's currency symbol and separators.
fn clean_money(text: &str) -> String {
    let negative = text.contains('-') || text.starts_with('(');
    let mut out = String::with_capacity(text.len());
    if negative {
        out.push('-');
    }
    out.extend(text.chars().filter(|c| c.is_ascii_digit() || *c == '.'));
    out
}

fn numeric_value(text: &str, schema: &Schema) -> Option<Value> {
    match schema.ty {
        SchemaType::Float64 => parse_float(text).map(Value::Float64),
        SchemaType::String => Some(Value::String(text.into())),
        SchemaType::Struct => {
            let d = Decimal::parse(text)?;
            let s = Struct {
                schema: Arc::new(schema.clone()),
                values: vec![Value::Int32(d.scale), Value::Bytes(d.to_bytes())],
            };
            Some(Value::Struct(s))
        }
        _ => {
            let d = Decimal::parse(text)?;
            let scale = schema.decimal_scale();
            Some(Value::Decimal(if d.scale == scale {
                d
            } else {
                d.rescale(scale)
            }))
        }
    }
}

fn parse_bytea(text: &str) -> Option<Vec<u8>> {
    if let Some(hex) = text.strip_prefix("\\x") {
        let b = hex.as_bytes();
        if b.len() % 2 != 0 {
            return None;
        }
        let nib = |c: u8| -> Option<u8> {
            match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                b'A'..=b'F' => Some(c - b'A' + 10),
                _ => None,
            }
        };
        let mut out = Vec::with_capacity(b.len() / 2);
        for pair in b.chunks(2) {
            out.push(nib(pair[0])? << 4 | nib(pair[1])?);
        }
        return Some(out);
    }
    // bytea_output = escape
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            if b.get(i + 1) == Some(&b'\\') {
                out.push(b'\\');
                i += 2;
            } else {
                let oct = std::str::from_utf8(b.get(i + 1..i + 4)?).ok()?;
                out.push(u8::from_str_radix(oct, 8).ok()?);
                i += 4;
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Days from 1970-01-01 of a proleptic Gregorian date (y, m, d).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// "YYYY-MM-DD" with an optional " BC".
fn parse_date(text: &str) -> Option<i32> {
    let (body, bc) = match text.strip_suffix(" BC") {
        Some(b) => (b, true),
        None => (text, false),
    };
    let mut it = body.splitn(3, '-');
    let mut y: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let d: i64 = it.next()?.parse().ok()?;
    if bc {
        y = 1 - y;
    }
    i32::try_from(days_from_civil(y, m, d)).ok()
}

/// "HH:MM:SS[.ffffff]" to microseconds of the day.
fn parse_time(text: &str) -> Option<i64> {
    let mut it = text.splitn(3, ':');
    let h: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let sec = it.next()?;
    let (s, frac) = match sec.split_once('.') {
        Some((s, f)) => (s, f),
        None => (sec, ""),
    };
    let s: i64 = s.parse().ok()?;
    Some(((h * 60 + m) * 60 + s) * 1_000_000 + parse_fraction_micros(frac)?)
}

fn parse_fraction_micros(frac: &str) -> Option<i64> {
    if frac.is_empty() {
        return Some(0);
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut digits: String = frac.chars().take(6).collect();
    while digits.len() < 6 {
        digits.push('0');
    }
    digits.parse().ok()
}

/// Splits a trailing UTC offset ("+02", "-05:30", "+05:30:15") off a time; returns seconds east.
fn split_offset(text: &str) -> Option<(&str, i64)> {
    let pos = text.rfind(['+', '-'])?;
    let (body, off) = text.split_at(pos);
    let sign = if off.starts_with('-') { -1 } else { 1 };
    let mut secs = 0;
    for (i, part) in off[1..].split(':').enumerate() {
        let v: i64 = part.parse().ok()?;
        secs += v * [3600, 60, 1].get(i)?;
    }
    Some((body, sign * secs))
}

/// Java's ISO_LOCAL_TIME: seconds always, the fraction only when not zero and without
/// trailing zeros.
fn write_local_time(out: &mut String, micros_of_day: i64) {
    use std::fmt::Write;
    let secs = micros_of_day / 1_000_000;
    let frac = micros_of_day % 1_000_000;
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if frac != 0 {
        let f = format!("{frac:06}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
}

/// timetz as Debezium's ZonedTime: the time moved to UTC, ISO_OFFSET_TIME ("08:11:12.5Z").
fn parse_timetz(text: &str) -> Option<String> {
    let (body, offset) = split_offset(text)?;
    let us = parse_time(body)?;
    let day = 86_400_000_000i64;
    let utc = (us - offset * 1_000_000).rem_euclid(day);
    let mut out = String::with_capacity(20);
    write_local_time(&mut out, utc);
    out.push('Z');
    Some(out)
}

/// "YYYY-MM-DD HH:MM:SS[.ffffff][ BC]" to microseconds since the epoch.
fn parse_timestamp(text: &str) -> Option<i64> {
    let (body, bc) = match text.strip_suffix(" BC") {
        Some(b) => (b, true),
        None => (text, false),
    };
    let (date, time) = body.split_once(' ')?;
    let days = if bc {
        parse_date(&format!("{date} BC"))?
    } else {
        parse_date(date)?
    };
    Some(days as i64 * 86_400_000_000 + parse_time(time)?)
}

/// timestamptz as Debezium's ZonedTimestamp: UTC, six fraction digits, "Z".
fn parse_timestamptz(text: &str) -> Option<String> {
    let (body, bc) = match text.strip_suffix(" BC") {
        Some(b) => (b, true),
        None => (text, false),
    };
    let (date, rest) = body.split_once(' ')?;
    let (time, offset) = split_offset(rest)?;
    let days = if bc {
        parse_date(&format!("{date} BC"))?
    } else {
        parse_date(date)?
    };
    let us = days as i64 * 86_400_000_000 + parse_time(time)? - offset * 1_000_000;
    Some(format_utc_micros(us))
}

/// "yyyy-MM-ddTHH:mm:ss.SSSSSSZ" for microseconds since the epoch.
pub fn format_utc_micros(us: i64) -> String {
    let days = us.div_euclid(86_400_000_000);
    let tod = us.rem_euclid(86_400_000_000);
    let (y, m, d) = civil_from_days(days);
    let secs = tod / 1_000_000;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        tod % 1_000_000
    )
}

/// ISO 8601 interval text (IntervalStyle=iso_8601) as Debezium's MicroDuration, where a month
/// is 30.4375 days.
fn parse_interval(text: &str) -> Option<i64> {
    let body = text.strip_prefix('P')?;
    let (date_part, time_part) = match body.split_once('T') {
        Some((d, t)) => (d, t),
        None => (body, ""),
    };
    let (mut years, mut months, mut days) = (0f64, 0f64, 0f64);
    let (mut hours, mut minutes, mut seconds) = (0f64, 0f64, 0f64);
    let mut micros = 0i64;
    for (num, unit) in components(date_part)? {
        match unit {
            'Y' => years = num.parse().ok()?,
            'M' => months = num.parse().ok()?,
            'W' => days += num.parse::<f64>().ok()? * 7.0,
            'D' => days += num.parse::<f64>().ok()?,
            _ => return None,
        }
    }
    for (num, unit) in components(time_part)? {
        match unit {
            'H' => hours = num.parse().ok()?,
            'M' => minutes = num.parse().ok()?,
            'S' => {
                let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
                let negative = whole.starts_with('-');
                seconds = whole.parse().ok()?;
                let f = parse_fraction_micros(frac)?;
                micros = if negative { -f } else { f };
            }
            _ => return None,
        }
    }
    let days_total = (years * 12.0 + months) * 30.4375 + days;
    let secs = ((days_total * 24.0 + hours) * 60.0 + minutes) * 60.0 + seconds;
    Some((secs * 1_000_000.0) as i64 + micros)
}

fn components(s: &str) -> Option<Vec<(&str, char)>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c.is_ascii_alphabetic() {
            out.push((&s[start..i], c));
            start = i + 1;
        }
    }
    (start == s.len()).then_some(out)
}

/// bit strings as java.util.BitSet.toByteArray(): the last character is bit 0, bytes are
/// little-endian and trailing zero bytes are dropped.
fn parse_bits(text: &str) -> Option<Vec<u8>> {
    let n = text.len();
    let mut out = vec![0u8; n.div_ceil(8)];
    for (i, c) in text.bytes().rev().enumerate() {
        match c {
            b'1' => out[i / 8] |= 1 << (i % 8),
            b'0' => {}
            _ => return None,
        }
    }
    while out.last() == Some(&0) {
        out.pop();
    }
    Some(out)
}

/// A one-dimensional array literal: `{1,2,NULL}`, `{"a b",c}`; `None` items are SQL NULLs.
pub fn parse_array(text: &str) -> Option<Vec<Option<String>>> {
    // Arrays with explicit bounds ("[0:1]={..}") lose the bounds, as Debezium's do.
    let text = match text.find("={") {
        Some(i) if text.starts_with('[') => &text[i + 1..],
        _ => text,
    };
    let inner = text.strip_prefix('{')?.strip_suffix('}')?;
    let mut out = Vec::new();
    if inner.is_empty() {
        return Some(out);
    }
    let b = inner.as_bytes();
    let mut i = 0;
    loop {
        if b.get(i) == Some(&b'"') {
            let mut s = Vec::new();
            i += 1;
            loop {
                match *b.get(i)? {
                    b'\\' => {
                        s.push(*b.get(i + 1)?);
                        i += 2;
                    }
                    b'"' => {
                        i += 1;
                        break;
                    }
                    c => {
                        s.push(c);
                        i += 1;
                    }
                }
            }
            out.push(Some(String::from_utf8(s).ok()?));
        } else {
            let start = i;
            while i < b.len() && b[i] != b',' {
                i += 1;
            }
            let item = &inner[start..i];
            out.push(if item == "NULL" {
                None
            } else {
                Some(item.to_string())
            });
        }
        match b.get(i) {
            None => break,
            Some(b',') => i += 1,
            Some(_) => return None,
        }
    }
    Some(out)
}

/// A column default as `pg_get_expr` prints it, when it is a constant: `42`, `'x'::text`,
/// `(-1)`, `true`. Function calls (nextval, now()) have no constant value.
pub fn default_literal(expr: &str) -> Option<String> {
    let mut e = expr.trim();
    while let Some(inner) = e.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
        e = inner.trim();
    }
    if let Some(rest) = e.strip_prefix('\'') {
        let mut s = String::new();
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    s.push('\'');
                    continue;
                }
                let tail: String = chars.collect();
                return (tail.is_empty() || tail.starts_with("::")).then_some(s);
            }
            s.push(c);
        }
        return None;
    }
    let head = e.split("::").next().unwrap_or(e).trim();
    let head = head
        .strip_prefix('(')
        .and_then(|x| x.strip_suffix(')'))
        .unwrap_or(head);
    if head == "true" || head == "false" {
        return Some(if head == "true" { "t" } else { "f" }.into());
    }
    let numeric = !head.is_empty()
        && head
            .trim_start_matches('-')
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'e' || b == b'E' || b == b'+')
        && head
            .trim_start_matches('-')
            .starts_with(|c: char| c.is_ascii_digit());
    numeric.then(|| head.to_string())
}

/// The value Debezium puts in a required field it has no value for (a key-only `before`):
/// the column default, else the type's zero.
pub fn zero_value(schema: &SchemaRef) -> Value {
    if let Some(d) = &schema.default {
        return d.clone();
    }
    match schema.ty {
        SchemaType::Int8 => Value::Int8(0),
        SchemaType::Int16 => Value::Int16(0),
        SchemaType::Int32 => Value::Int32(0),
        SchemaType::Int64 => Value::Int64(0),
        SchemaType::Float32 => Value::Float32(0.0),
        SchemaType::Float64 => Value::Float64(0.0),
        SchemaType::Boolean => Value::Boolean(false),
        SchemaType::String => Value::String(Default::default()),
        SchemaType::Bytes if schema.is_named(crate::data::schema::DECIMAL_NAME) => {
            Value::Decimal(Decimal {
                unscaled: BigInt::from(0),
                scale: schema.decimal_scale(),
            })
        }
        SchemaType::Bytes => Value::Bytes(Vec::new()),
        SchemaType::Array => Value::Array(Vec::new()),
        SchemaType::Map => Value::Map(Vec::new()),
        SchemaType::Struct => Value::Struct(Struct::new(schema.clone())),
    }
}

/// The default Debezium gives a NOT NULL column whose default is not a constant (a serial's
/// `nextval(..)`): zero for integer columns.
pub fn implicit_default(ty: &PgType) -> Option<Value> {
    match ty {
        PgType::Int2 => Some(Value::Int16(0)),
        PgType::Int4 => Some(Value::Int32(0)),
        PgType::Int8 => Some(Value::Int64(0)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn b64(v: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(v)
    }

    fn parse(t: PgType, text: &str) -> Value {
        let s = t.schema(true, DecimalMode::Precise, 2);
        t.parse(text, &s).unwrap()
    }

    #[test]
    fn times_match_debezium() {
        assert_eq!(parse_date("2024-02-29"), Some(19782));
        assert_eq!(parse_date("1960-01-01"), Some(-3653));
        assert_eq!(parse_time("13:14:15.123456"), Some(47_655_123_456));
        assert_eq!(
            parse(PgType::Time { millis: true }, "01:02:03.456"),
            Value::Int32(3_723_456)
        );
        assert_eq!(parse_timetz("10:11:12.5+02").unwrap(), "08:11:12.5Z");
        assert_eq!(parse_timetz("23:59:59-05").unwrap(), "04:59:59Z");
        assert_eq!(
            parse_timestamp("2024-01-02 03:04:05.678901"),
            Some(1_704_164_645_678_901)
        );
        assert_eq!(
            parse_timestamp("1900-01-01 00:00:00"),
            Some(-2_208_988_800_000_000)
        );
        assert_eq!(
            parse_timestamptz("2024-06-01 09:00:00.25+00").unwrap(),
            "2024-06-01T09:00:00.250000Z"
        );
        assert_eq!(
            parse_timestamptz("2024-06-01 12:00:00.25+03").unwrap(),
            "2024-06-01T09:00:00.250000Z"
        );
    }

    #[test]
    fn intervals_use_average_months() {
        assert_eq!(
            parse_interval("P1Y2M3DT4H5M6.789S"),
            Some(37_091_106_789_000)
        );
        assert_eq!(parse_interval("P-1DT1S"), Some(-86_399_000_000));
        assert_eq!(parse_interval("PT0S"), Some(0));
    }

    #[test]
    fn numbers_and_bits() {
        match parse(
            PgType::Numeric {
                precision: 10,
                scale: 2,
            },
            "12345678.91",
        ) {
            Value::Decimal(d) => assert_eq!(b64(&d.to_bytes()), "SZYC0w=="),
            v => panic!("{v:?}"),
        }
        match parse(PgType::Money, "-$0.50") {
            Value::Decimal(d) => assert_eq!(b64(&d.to_bytes()), "zg=="),
            v => panic!("{v:?}"),
        }
        match parse(PgType::Money, "$1,234.56") {
            Value::Decimal(d) => assert_eq!(b64(&d.to_bytes()), "AeJA"),
            v => panic!("{v:?}"),
        }
        match parse(PgType::NumericVar, "3.14159265358979") {
            Value::Struct(s) => {
                assert_eq!(s.values[0], Value::Int32(14));
                assert_eq!(
                    s.values[1],
                    Value::Bytes(vec![1, 29, 185, 231, 106, 36, 131])
                );
            }
            v => panic!("{v:?}"),
        }
        assert_eq!(parse_bits("1010"), Some(vec![0x0a]));
        assert_eq!(parse_bits("110"), Some(vec![0x06]));
        assert_eq!(parse_bits("0000"), Some(vec![]));
        assert_eq!(
            parse_bytea("\\xdeadbeef"),
            Some(vec![0xde, 0xad, 0xbe, 0xef])
        );
    }

    #[test]
    fn arrays_and_defaults() {
        assert_eq!(
            parse_array("{1,2,NULL,4}").unwrap(),
            vec![Some("1".into()), Some("2".into()), None, Some("4".into())]
        );
        assert_eq!(
            parse_array(r#"{x,"y z","a\"b",NULL}"#).unwrap(),
            vec![
                Some("x".into()),
                Some("y z".into()),
                Some("a\"b".into()),
                None
            ]
        );
        assert_eq!(parse_array("{}").unwrap(), Vec::<Option<String>>::new());
        assert_eq!(default_literal("42").as_deref(), Some("42"));
        assert_eq!(default_literal("'dflt'::text").as_deref(), Some("dflt"));
        assert_eq!(default_literal("'it''s'::text").as_deref(), Some("it's"));
        assert_eq!(default_literal("(-1)").as_deref(), Some("-1"));
        assert_eq!(default_literal("nextval('a_id_seq'::regclass)"), None);
        assert_eq!(default_literal("now()"), None);
    }
}
