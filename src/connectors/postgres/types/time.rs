//! The text of dates, times, timestamps and intervals (ISO `DateStyle`, `iso_8601`
//! `IntervalStyle`, UTC) as the epoch-based numbers and strings Debezium emits.

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

/// Years beyond any date `i32` days from 1970 can hold (about 5.8 million years either way):
/// a year outside is refused before the calendar arithmetic could overflow.
const MAX_YEAR: i64 = 6_000_000;

/// "YYYY-MM-DD" with an optional " BC".
pub(super) fn parse_date(text: &str) -> Option<i32> {
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
    if !(-MAX_YEAR..=MAX_YEAR).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    i32::try_from(days_from_civil(y, m, d)).ok()
}

/// "HH:MM:SS[.ffffff]" to microseconds of the day.
pub(super) fn parse_time(text: &str) -> Option<i64> {
    let mut it = text.splitn(3, ':');
    let h: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let sec = it.next()?;
    let (s, frac) = match sec.split_once('.') {
        Some((s, f)) => (s, f),
        None => (sec, ""),
    };
    let s: i64 = s.parse().ok()?;
    h.checked_mul(60)?
        .checked_add(m)?
        .checked_mul(60)?
        .checked_add(s)?
        .checked_mul(1_000_000)?
        .checked_add(parse_fraction_micros(frac)?)
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
        secs = v.checked_mul(*[3600, 60, 1].get(i)?)?.checked_add(secs)?;
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
pub(super) fn parse_timetz(text: &str) -> Option<String> {
    let (body, offset) = split_offset(text)?;
    let us = parse_time(body)?;
    let day = 86_400_000_000i64;
    let utc = us
        .checked_sub(offset.checked_mul(1_000_000)?)?
        .rem_euclid(day);
    let mut out = String::with_capacity(20);
    write_local_time(&mut out, utc);
    out.push('Z');
    Some(out)
}

/// "YYYY-MM-DD HH:MM:SS[.ffffff][ BC]" to microseconds since the epoch.
pub(super) fn parse_timestamp(text: &str) -> Option<i64> {
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
    (days as i64)
        .checked_mul(86_400_000_000)?
        .checked_add(parse_time(time)?)
}

/// timestamptz as Debezium's ZonedTimestamp: UTC, six fraction digits, "Z".
pub(super) fn parse_timestamptz(text: &str) -> Option<String> {
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
    let us = (days as i64)
        .checked_mul(86_400_000_000)?
        .checked_add(parse_time(time)?)?
        .checked_sub(offset.checked_mul(1_000_000)?)?;
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

/// Java's ISO_LOCAL_DATE: the year in four digits at least, `+` past 9999, `-` before year 0
/// (1 BC is year 0).
fn write_iso_date(out: &mut String, days: i64) {
    use std::fmt::Write;
    let (y, m, d) = civil_from_days(days);
    let _ = match y {
        y if y > 9999 => write!(out, "+{y}"),
        y if y < 0 => write!(out, "-{:04}", -y),
        y => write!(out, "{y:04}"),
    };
    let _ = write!(out, "-{m:02}-{d:02}");
}

/// date as Debezium's IsoDate (time.precision.mode=isostring): "2024-02-29Z".
pub(super) fn iso_date(text: &str) -> Option<String> {
    let mut out = String::with_capacity(12);
    write_iso_date(&mut out, parse_date(text)? as i64);
    out.push('Z');
    Some(out)
}

/// time as Debezium's IsoTime: ISO_OFFSET_TIME in UTC ("13:14:15.5Z"); 24:00:00 wraps to
/// midnight as Java's LocalTime does.
pub(super) fn iso_time(text: &str) -> Option<String> {
    let us = parse_time(text)?.rem_euclid(86_400_000_000);
    let mut out = String::with_capacity(20);
    write_local_time(&mut out, us);
    out.push('Z');
    Some(out)
}

/// timestamp as Debezium's IsoTimestamp: ISO_OFFSET_DATE_TIME in UTC
/// ("2024-01-02T03:04:05.678901Z").
pub(super) fn iso_timestamp(text: &str) -> Option<String> {
    let us = parse_timestamp(text)?;
    let mut out = String::with_capacity(32);
    write_iso_date(&mut out, us.div_euclid(86_400_000_000));
    out.push('T');
    write_local_time(&mut out, us.rem_euclid(86_400_000_000));
    out.push('Z');
    Some(out)
}

/// A timestamp[] item as Debezium's IsoTimestamp: the JDBC driver reads array timestamps into
/// java.sql.Timestamp, taking the fields of a date before 1582-10-15 as the Julian calendar's,
/// and Debezium prints that instant in the proleptic Gregorian calendar: 0044-03-15 12:00 BC
/// is written -0043-03-13T12:00:00Z.
pub(super) fn iso_timestamp_in_array(text: &str) -> Option<String> {
    let us = parse_timestamp(text)?;
    let mut days = us.div_euclid(86_400_000_000);
    let (y, m, d) = civil_from_days(days);
    if (y, m, d) < (1582, 10, 15) {
        // Julian day number of the Julian calendar date, as days from 1970.
        let (m, d) = (m as i64, d as i64);
        let a = (14 - m) / 12;
        let yy = y + 4800 - a;
        let mm = m + 12 * a - 3;
        days = d + (153 * mm + 2) / 5 + 365 * yy + yy.div_euclid(4) - 32_083 - 2_440_588;
    }
    let mut out = String::with_capacity(32);
    write_iso_date(&mut out, days);
    out.push('T');
    write_local_time(&mut out, us.rem_euclid(86_400_000_000));
    out.push('Z');
    Some(out)
}

/// ISO 8601 interval text (IntervalStyle=iso_8601) as Debezium's MicroDuration, where a month
/// is 30.4375 days.
pub(super) fn parse_interval(text: &str) -> Option<i64> {
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
    let us = secs * 1_000_000.0;
    // `as` would saturate (or make 0 of NaN) silently: an interval beyond i64 microseconds
    // (292,000 years) is refused instead.
    if !us.is_finite() || us.abs() >= i64::MAX as f64 {
        return None;
    }
    (us as i64).checked_add(micros)
}

/// Debezium's `Interval.toIsoString` of PostgreSQL's iso_8601 interval text:
/// `P<y>Y<m>M<d>DT<h>H<m>M<s>S`, every field written, years and months from the months,
/// hours, minutes and seconds from the time (each with the time's sign), seconds with their
/// fraction and no trailing zeros ("6.789", "-1.5", "0").
pub(super) fn interval_iso(text: &str) -> Option<String> {
    let body = text.strip_prefix('P')?;
    let (date_part, time_part) = body.split_once('T').unwrap_or((body, ""));
    let (mut months, mut days, mut micros) = (0i64, 0i64, 0i64);
    for (num, unit) in components(date_part)? {
        let n: i64 = num.parse().ok()?;
        match unit {
            'Y' => months += n * 12,
            'M' => months += n,
            'W' => days += n * 7,
            'D' => days += n,
            _ => return None,
        }
    }
    for (num, unit) in components(time_part)? {
        match unit {
            'H' => micros += num.parse::<i64>().ok()? * 3_600_000_000,
            'M' => micros += num.parse::<i64>().ok()? * 60_000_000,
            'S' => {
                let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
                let negative = whole.starts_with('-');
                let f = parse_fraction_micros(frac)?;
                micros += whole.parse::<i64>().ok()? * 1_000_000 + if negative { -f } else { f };
            }
            _ => return None,
        }
    }
    let (hours, rest) = (micros / 3_600_000_000, micros % 3_600_000_000);
    let (minutes, rest) = (rest / 60_000_000, rest % 60_000_000);
    let sign = if rest < 0 { "-" } else { "" };
    let (whole, frac) = (rest.abs() / 1_000_000, rest.abs() % 1_000_000);
    let seconds = if frac == 0 {
        format!("{sign}{whole}")
    } else {
        let f = format!("{frac:06}");
        format!("{sign}{whole}.{}", f.trim_end_matches('0'))
    };
    Some(format!(
        "P{}Y{}M{days}DT{hours}H{minutes}M{seconds}S",
        months / 12,
        months % 12
    ))
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

#[cfg(test)]
mod interval_iso_tests {
    use super::interval_iso;

    #[test]
    fn as_debezium_writes_them() {
        for (pg, want) in [
            ("P1Y2M3DT4H5M6.789S", "P1Y2M3DT4H5M6.789S"),
            ("P-1DT-1.5S", "P0Y0M-1DT0H0M-1.5S"),
            ("PT0S", "P0Y0M0DT0H0M0S"),
            ("P-3M5DT-6H", "P0Y-3M5DT-6H0M0S"),
            ("P-10YT25H0.000001S", "P-10Y0M0DT25H0M0.000001S"),
        ] {
            assert_eq!(interval_iso(pg).as_deref(), Some(want), "{pg}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::postgres::types::{parsed as parse, PgType};
    use crate::data::Value;

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
    fn times_beyond_i64_microseconds_are_refused_not_overflowed() {
        // Found by fuzzing (fuzz/corpus/pgoutput/crash-timetz-offset-overflow): the whole
        // text read as an offset of 2e18 hours overflowed i64.
        assert_eq!(parse_timetz("-2233720367586847758"), None);
        // fuzz/corpus/replication_stream/crash-timestamp-overflow: a date past the
        // microseconds an i64 holds (year 294247) overflowed.
        assert_eq!(parse_timestamp("294277-01-09 04:00:54.775807"), None);
        assert_eq!(parse_timestamptz("294277-01-09 04:00:54.775807+00"), None);
        assert_eq!(parse_time("9223372036854775807:00:00"), None);
        assert_eq!(parse_date("99999999999-01-01"), None);
        assert_eq!(parse_date("2024-13-01"), None);
        // Saturated to i64::MAX before.
        assert_eq!(parse_interval("PT99999999999999999999H"), None);
        // What PostgreSQL sends at the edges still reads.
        assert_eq!(
            parse_timestamp("294246-12-31 23:59:59.999999").map(|us| us > 0),
            Some(true)
        );
        assert_eq!(parse_date("4713-01-01 BC").map(|d| d < 0), Some(true));
    }

    #[test]
    fn iso_strings_as_java_formats_them() {
        assert_eq!(iso_date("2024-02-29").as_deref(), Some("2024-02-29Z"));
        assert_eq!(iso_date("0044-03-15 BC").as_deref(), Some("-0043-03-15Z"));
        assert_eq!(iso_date("12345-01-01").as_deref(), Some("+12345-01-01Z"));
        assert_eq!(iso_time("13:14:15.120").as_deref(), Some("13:14:15.12Z"));
        // As Debezium wrote them (tests/fixtures/postgres-time-isostring).
        assert_eq!(
            iso_timestamp_in_array("0044-03-15 12:00:00 BC").as_deref(),
            Some("-0043-03-13T12:00:00Z")
        );
        assert_eq!(
            iso_timestamp_in_array("0001-01-01 00:00:00 BC").as_deref(),
            Some("-0001-12-30T00:00:00Z")
        );
        assert_eq!(
            iso_timestamp_in_array("1582-10-15 00:00:00").as_deref(),
            Some("1582-10-15T00:00:00Z")
        );
        assert_eq!(
            iso_timestamp_in_array("1582-10-04 00:00:00").as_deref(),
            Some("1582-10-14T00:00:00Z")
        );
        assert_eq!(iso_time("00:00:00").as_deref(), Some("00:00:00Z"));
        assert_eq!(
            iso_timestamp("1900-01-01 00:00:00.000001").as_deref(),
            Some("1900-01-01T00:00:00.000001Z")
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
}
