//! Values as COPY text, the other half of Confluent's dialect.
//!
//! Rows travel as COPY text rather than bound parameters: PostgreSQL parses each value with the
//! target column's own input function, so a Debezium `ZonedTimestamp` string lands in a
//! `timestamptz` column and a bad value is reported with its line and column, which maps back
//! to the record's topic-partition@offset.

use std::io::Write as _;

use super::dialect::{PgKind, Semantic};
use crate::data::{Schema, SchemaType, Value};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `s` escaped for COPY's text format; NUL characters are dropped, as the Confluent
/// dialect drops them (PostgreSQL text cannot hold them).
pub fn copy_escape(s: &[u8], out: &mut Vec<u8>) {
    if !s
        .iter()
        .any(|b| matches!(b, b'\\' | b'\n' | b'\r' | b'\t' | 0))
    {
        out.extend_from_slice(s);
        return;
    }
    for &b in s {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0 => {}
            _ => out.push(b),
        }
    }
}

/// Appends one value as a COPY text field (NULL as `\N`). `instant_tz`: the column receiving
/// an instant holds a time zone (timestamptz, or the staging column of a TIMESTAMP written in
/// a non-UTC `db.timezone`), so the instant is written with its UTC offset.
pub fn encode_value(
    v: &Value,
    schema: &Schema,
    sem: Semantic,
    target: PgKind,
    instant_tz: bool,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    if v.is_null() {
        out.extend_from_slice(b"\\N");
        return Ok(());
    }
    match v {
        // Hot path: plain values need no intermediate.
        Value::Int32(i) if !(target.is_temporal() && sem != Semantic::Plain) => {
            out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes());
            Ok(())
        }
        Value::Int64(i) if !(target.is_temporal() && sem != Semantic::Plain) => {
            out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes());
            Ok(())
        }
        Value::String(s) => {
            copy_escape(s.as_bytes(), out);
            Ok(())
        }
        Value::Bytes(b) => {
            // bytea's `\x` hex prefix, with its backslash escaped for COPY.
            out.extend_from_slice(b"\\\\x");
            push_hex(b, out);
            Ok(())
        }
        Value::Array(_) | Value::Map(_) | Value::Struct(_) => {
            let mut raw = Vec::new();
            encode_raw(v, schema, sem, target, instant_tz, &mut raw)?;
            copy_escape(&raw, out);
            Ok(())
        }
        // Numbers, booleans, decimals, dates and times never contain characters COPY escapes.
        _ => encode_raw(v, schema, sem, target, instant_tz, out),
    }
}

fn push_hex(b: &[u8], out: &mut Vec<u8>) {
    for &x in b {
        out.push(HEX[(x >> 4) as usize]);
        out.push(HEX[(x & 15) as usize]);
    }
}

fn push_float(out: &mut Vec<u8>, f: f64, short: Option<f32>) {
    if f.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if f.is_infinite() {
        out.extend_from_slice(if f > 0.0 { b"Infinity" } else { b"-Infinity" });
    } else if let Some(s) = short {
        out.extend_from_slice(ryu::Buffer::new().format_finite(s).as_bytes());
    } else {
        out.extend_from_slice(ryu::Buffer::new().format_finite(f).as_bytes());
    }
}

/// The value's PostgreSQL input text, before COPY escaping.
pub(super) fn encode_raw(
    v: &Value,
    schema: &Schema,
    sem: Semantic,
    target: PgKind,
    instant_tz: bool,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    // Logical types go into temporal columns as dates and times; into other columns as the
    // physical number (a BIGINT column that already holds epoch millis keeps working).
    let as_int = |i: i64, out: &mut Vec<u8>| -> Result<(), String> {
        if !target.is_temporal() {
            out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
            return Ok(());
        }
        match sem {
            Semantic::Plain | Semantic::VariableDecimal => {
                out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
                Ok(())
            }
            Semantic::Days => write_date(i, out),
            Semantic::TimeMillis => write_time(i.checked_mul(1000), target, out),
            Semantic::TimeMicros => write_time(Some(i), target, out),
            Semantic::TimeNanos => write_time(Some(i.div_euclid(1000)), target, out),
            Semantic::EpochMillis => write_timestamp(i.checked_mul(1000), instant_tz, out),
            Semantic::EpochMicros => write_timestamp(Some(i), instant_tz, out),
            Semantic::EpochNanos => write_timestamp(Some(i.div_euclid(1000)), instant_tz, out),
        }
    };
    match v {
        Value::Null => out.extend_from_slice(b"\\N"),
        Value::Boolean(b) => out.push(if *b { b't' } else { b'f' }),
        Value::Int8(i) => as_int(*i as i64, out)?,
        Value::Int16(i) => as_int(*i as i64, out)?,
        Value::Int32(i) => as_int(*i as i64, out)?,
        Value::Int64(i) => as_int(*i, out)?,
        Value::Float32(f) => push_float(out, *f as f64, Some(*f)),
        Value::Float64(f) => push_float(out, *f, None),
        Value::String(s) => out.extend_from_slice(s.as_bytes()),
        Value::Decimal(d) => out.extend_from_slice(d.to_plain_string().as_bytes()),
        Value::Bytes(b) => {
            out.extend_from_slice(b"\\x");
            push_hex(b, out);
        }
        Value::Struct(st) if sem == Semantic::VariableDecimal => {
            let scale = st.get("scale").and_then(Value::as_i64).unwrap_or(0) as i32;
            match st.get("value") {
                Some(Value::Bytes(b)) => out.extend_from_slice(
                    crate::data::Decimal::from_bytes(b, scale)
                        .to_plain_string()
                        .as_bytes(),
                ),
                _ => out.extend_from_slice(b"\\N"),
            }
        }
        Value::Array(items) => {
            let item_schema = schema.value_schema.as_deref();
            let item_sem = item_schema.map(Semantic::of).unwrap_or(Semantic::Plain);
            out.push(b'{');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                if item.is_null() {
                    out.extend_from_slice(b"NULL");
                    continue;
                }
                let mut inner = Vec::new();
                let fallback;
                let s = match item_schema {
                    Some(s) => s,
                    None => {
                        fallback = Schema::new(item.inferred_type().unwrap_or(SchemaType::String));
                        &fallback
                    }
                };
                // Elements are written as for a column of the element's own kind.
                let kind = match Semantic::of(s) {
                    Semantic::Days => PgKind::Date,
                    Semantic::TimeMillis | Semantic::TimeMicros | Semantic::TimeNanos => {
                        PgKind::Time
                    }
                    sem if sem.is_instant() => PgKind::Timestamp,
                    _ => PgKind::Other,
                };
                encode_raw(item, s, item_sem, kind, instant_tz, &mut inner)?;
                if matches!(item, Value::Array(_)) {
                    out.extend_from_slice(&inner);
                } else {
                    out.push(b'"');
                    for &b in &inner {
                        if b == b'"' || b == b'\\' {
                            out.push(b'\\');
                        }
                        out.push(b);
                    }
                    out.push(b'"');
                }
            }
            out.push(b'}');
        }
        Value::JavaDate(_) => {
            return Err(
                "a java.util.Date without a schema cannot be written to a column (give the \
                 value a schema, or convert it with TimestampConverter to unix or string)"
                    .into(),
            )
        }
        Value::Map(_) | Value::Struct(_) => {
            if matches!(target, PgKind::Json | PgKind::Text) {
                out.extend_from_slice(
                    crate::data::json::value_to_json_string(Some(schema), v).as_bytes(),
                );
            } else {
                return Err(format!(
                    "a {} value cannot be written to this column (only to json, jsonb or text columns)",
                    schema.ty.connect_name()
                ));
            }
        }
    }
    Ok(())
}

const UNIX_EPOCH_DAYS_FROM_CE: i64 = 719_163;

fn write_date(days: i64, out: &mut Vec<u8>) -> Result<(), String> {
    let d = i32::try_from(days + UNIX_EPOCH_DAYS_FROM_CE)
        .ok()
        .and_then(chrono::NaiveDate::from_num_days_from_ce_opt)
        .ok_or_else(|| format!("date {days} days from the epoch is out of range"))?;
    push_date(d, out);
    Ok(())
}

fn push_date(d: chrono::NaiveDate, out: &mut Vec<u8>) {
    use chrono::Datelike;
    let (bc, year) = if d.year() <= 0 {
        (true, 1 - d.year())
    } else {
        (false, d.year())
    };
    let _ = write!(out, "{:04}-{:02}-{:02}", year, d.month(), d.day());
    if bc {
        out.extend_from_slice(b" BC");
    }
}

fn push_clock(micros_of_day: i64, out: &mut Vec<u8>) {
    let secs = micros_of_day / 1_000_000;
    let frac = micros_of_day % 1_000_000;
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    );
    if frac != 0 {
        let _ = write!(out, ".{frac:06}");
    }
}

fn write_time(micros: Option<i64>, target: PgKind, out: &mut Vec<u8>) -> Result<(), String> {
    let m = micros.ok_or("time of day out of range")?;
    // 24:00:00 is a valid PostgreSQL time; anything else outside the day is an error.
    if !(0..=86_400_000_000).contains(&m) {
        return Err(format!("time of day {m} µs is outside 00:00..24:00"));
    }
    push_clock(m, out);
    if target == PgKind::TimeTz {
        out.extend_from_slice(b"+00");
    }
    Ok(())
}

fn write_timestamp(micros: Option<i64>, with_tz: bool, out: &mut Vec<u8>) -> Result<(), String> {
    let m = micros.ok_or("timestamp out of range")?;
    let days = m.div_euclid(86_400_000_000);
    let rem = m.rem_euclid(86_400_000_000);
    let d = i32::try_from(days + UNIX_EPOCH_DAYS_FROM_CE)
        .ok()
        .and_then(chrono::NaiveDate::from_num_days_from_ce_opt)
        .ok_or_else(|| format!("timestamp {m} µs from the epoch is out of range"))?;
    use chrono::Datelike;
    let bc = d.year() <= 0;
    push_date(d, out);
    if bc {
        out.truncate(out.len() - 3);
    }
    out.push(b' ');
    push_clock(rem, out);
    if with_tz {
        out.extend_from_slice(b"+00");
    }
    if bc {
        out.extend_from_slice(b" BC");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::dialect::{DATE, DBZ_MICRO_TIME, DBZ_MICRO_TIMESTAMP, TIME, TIMESTAMP};
    use super::*;
    use crate::data::schemas;

    fn enc(v: &Value, schema: &Schema, target: PgKind, tz: bool) -> String {
        let mut out = Vec::new();
        encode_value(v, schema, Semantic::of(schema), target, tz, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn named(ty: SchemaType, name: &str) -> Schema {
        let mut s = Schema::new(ty);
        s.name = Some(name.to_string());
        s
    }

    #[test]
    fn copy_text_values() {
        assert_eq!(
            enc(&Value::Null, &schemas::string(), PgKind::Text, false),
            "\\N"
        );
        assert_eq!(
            enc(
                &Value::String("a\tb\\c\nd\0".into()),
                &schemas::string(),
                PgKind::Text,
                false
            ),
            "a\\tb\\\\c\\nd"
        );
        assert_eq!(
            enc(
                &Value::Bytes(vec![0, 255]),
                &schemas::bytes(),
                PgKind::Bytea,
                false
            ),
            "\\\\x00ff"
        );
        assert_eq!(
            enc(
                &Value::Float64(f64::NAN),
                &schemas::float64(),
                PgKind::Float,
                false
            ),
            "NaN"
        );
        assert_eq!(
            enc(
                &Value::Float32(0.1),
                &schemas::float32(),
                PgKind::Float,
                false
            ),
            "0.1"
        );
        let arr = Schema::array(schemas::string()).build();
        assert_eq!(
            enc(
                &Value::Array(vec![Value::String("x,\"y\"".into()), Value::Null]),
                &arr,
                PgKind::Array,
                false
            ),
            "{\"x,\\\\\"y\\\\\"\",NULL}"
        );
    }

    #[test]
    fn temporal_values() {
        let date = named(SchemaType::Int32, DATE);
        assert_eq!(
            enc(&Value::Int32(0), &date, PgKind::Date, false),
            "1970-01-01"
        );
        assert_eq!(
            enc(&Value::Int32(-1), &date, PgKind::Date, false),
            "1969-12-31"
        );
        // Into an integer column the physical value is kept.
        assert_eq!(
            enc(&Value::Int32(19000), &date, PgKind::Int, false),
            "19000"
        );
        let ts = named(SchemaType::Int64, TIMESTAMP);
        assert_eq!(
            enc(
                &Value::Int64(1_600_000_000_123),
                &ts,
                PgKind::Timestamp,
                false
            ),
            "2020-09-13 12:26:40.123000"
        );
        assert_eq!(
            enc(&Value::Int64(-1), &ts, PgKind::TimestampTz, true),
            "1969-12-31 23:59:59.999000+00"
        );
        let micros = named(SchemaType::Int64, DBZ_MICRO_TIMESTAMP);
        assert_eq!(
            enc(&Value::Int64(1_000_001), &micros, PgKind::Timestamp, false),
            "1970-01-01 00:00:01.000001"
        );
        let t = named(SchemaType::Int32, TIME);
        assert_eq!(
            enc(&Value::Int32(3_723_004), &t, PgKind::Time, false),
            "01:02:03.004000"
        );
        let mt = named(SchemaType::Int64, DBZ_MICRO_TIME);
        assert_eq!(
            enc(&Value::Int64(1), &mt, PgKind::TimeTz, false),
            "00:00:00.000001+00"
        );
    }
}
