//! Java's `SimpleDateFormat` patterns (used by TimestampRouter and TimestampConverter) and
//! `Matcher` replacement strings (RegexRouter), translated once at configuration time into
//! their chrono and regex equivalents.

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

/// A `SimpleDateFormat` pattern as a chrono strftime string. Letters chrono cannot express
/// are reported so the user learns at `validate` time, not on the first record.
pub fn simple_date_format(pattern: &str) -> Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // Quoted literal; '' is a single quote.
            if chars.get(i + 1) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            i += 1;
            while i < chars.len() {
                if chars[i] == '\'' {
                    if chars.get(i + 1) == Some(&'\'') {
                        out.push('\'');
                        i += 2;
                        continue;
                    }
                    break;
                }
                push_literal(&mut out, chars[i]);
                i += 1;
            }
            i += 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            push_literal(&mut out, c);
            i += 1;
            continue;
        }
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        let spec = match (c, n) {
            ('y' | 'u', 2) => "%y",
            ('y' | 'u', _) => "%Y",
            ('M', 1) => "%-m",
            ('M', 2) => "%m",
            ('M', 3) => "%b",
            ('M', _) => "%B",
            ('d', 1) => "%-d",
            ('d', _) => "%d",
            // Day of year, padded to the letter count: `D` is `1`, `DDD` `001` (`DD`, `01`
            // for the first nine days in Java, has no chrono form and prints `1`).
            ('D', 1 | 2) => "%-j",
            ('D', _) => "%j",
            ('H', 1) => "%-H",
            ('H', _) => "%H",
            ('h', 1) => "%-I",
            ('h', _) => "%I",
            ('m', 1) => "%-M",
            ('m', _) => "%M",
            ('s', 1) => "%-S",
            ('s', _) => "%S",
            ('S', 1) => "%1f",
            ('S', 2) => "%2f",
            ('S', 3) => "%3f",
            ('S', 6) => "%6f",
            ('S', 9) => "%9f",
            ('a', _) => "%p",
            ('E', 1..=3) => "%a",
            ('E', _) => "%A",
            ('Z', _) => "%z",
            // ISO 8601 zones: `%:z` stands only for `X` (so `format_millis` can write Java's
            // `Z` for UTC); it parses offsets with or without the colon.
            ('X', _) => "%:z",
            ('z', _) => "%Z",
            ('w', _) => "%V",
            _ => {
                return Err(format!(
                    "pattern letter {} (x{n}) of {pattern:?} is not supported by kconnect",
                    c
                ))
            }
        };
        out.push_str(spec);
        i += n;
    }
    if StrftimeItems::new(&out).any(|it| matches!(it, Item::Error)) {
        return Err(format!("{pattern:?} is not a valid date format"));
    }
    Ok(out)
}

fn push_literal(out: &mut String, c: char) {
    if c == '%' {
        out.push_str("%%");
    } else {
        out.push(c);
    }
}

/// Formats epoch milliseconds in UTC, as Connect's transforms do. An ISO 8601 zone (`X`,
/// `XX`, `XXX`) is `Z` at offset zero in `SimpleDateFormat`, never `+00:00`.
pub fn format_millis(ms: i64, fmt: &str) -> String {
    use chrono::format::Fixed;
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(t) => {
            let items = StrftimeItems::new(fmt).map(|it| match it {
                Item::Fixed(Fixed::TimezoneOffsetColon) => Item::Literal("Z"),
                other => other,
            });
            t.format_with_items(items).to_string()
        }
        None => ms.to_string(),
    }
}

/// Parses text in a `SimpleDateFormat`-derived format to epoch milliseconds (UTC). Patterns
/// with only a date or only a time are completed the way SimpleDateFormat does (midnight,
/// 1970-01-01).
pub fn parse_millis(text: &str, fmt: &str) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_str(text, fmt) {
        return Some(t.timestamp_millis());
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(text, fmt) {
        return Some(t.and_utc().timestamp_millis());
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, fmt) {
        return Some(d.and_time(NaiveTime::MIN).and_utc().timestamp_millis());
    }
    if let Ok(t) = NaiveTime::parse_from_str(text, fmt) {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
        return Some(epoch.and_time(t).and_utc().timestamp_millis());
    }
    None
}

/// A `Matcher.replaceFirst` replacement (`$1`, `${name}`, `\$`) in regex-crate syntax.
pub fn java_replacement(r: &str, groups: usize) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = r.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => return Err("character to be escaped is missing".into()),
            },
            '$' => match chars.peek() {
                Some('{') => {
                    chars.next();
                    let mut name = String::new();
                    for c in chars.by_ref() {
                        if c == '}' {
                            break;
                        }
                        name.push(c);
                    }
                    out.push_str(&format!("${{{name}}}"));
                }
                Some(d) if d.is_ascii_digit() => {
                    // Java reads as many digits as still name an existing group.
                    let mut num: usize =
                        chars.next().and_then(|d| d.to_digit(10)).unwrap_or(0) as usize;
                    if num > groups {
                        return Err(format!("No group {num}"));
                    }
                    while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                        let next = num * 10 + d as usize;
                        if next > groups {
                            break;
                        }
                        num = next;
                        chars.next();
                    }
                    out.push_str(&format!("${{{num}}}"));
                }
                _ => return Err("Illegal group reference".into()),
            },
            other => out.push(other),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Connect 4.3.0: `yyyy-MM-dd'T'HH:mm:ss.SSSXXX` gives `1970-01-01T00:00:00.042Z`; `Z`
    /// stays `+0000`; an X pattern still parses offsets.
    /// Connect 4.3.0: `D` is the day of the year unpadded (`1`), `DDD` padded (`001`).
    #[test]
    fn day_of_year_pads_to_the_letter_count() {
        let f = simple_date_format("D").unwrap();
        assert_eq!(format_millis(0, &f), "1");
        let f = simple_date_format("DDD").unwrap();
        assert_eq!(format_millis(0, &f), "001");
        let f = simple_date_format("yyyy-MM-dd HH:mm:ss.SSS a EEE D").unwrap();
        assert_eq!(format_millis(0, &f), "1970-01-01 00:00:00.000 AM Thu 1");
    }

    #[test]
    fn iso_zones_print_z_in_utc() {
        let f = simple_date_format("yyyy-MM-dd'T'HH:mm:ss.SSSXXX").unwrap();
        assert_eq!(format_millis(42, &f), "1970-01-01T00:00:00.042Z");
        let f1 = simple_date_format("HH:mmX").unwrap();
        assert_eq!(format_millis(0, &f1), "00:00Z");
        let z = simple_date_format("HH:mm Z").unwrap();
        assert_eq!(format_millis(0, &z), "00:00 +0000");
        assert_eq!(parse_millis("1970-01-01T01:00:00.000+01:00", &f), Some(0));
    }

    #[test]
    fn simple_date_formats_translate() {
        let f = simple_date_format("yyyyMMdd").unwrap();
        assert_eq!(format_millis(1_700_000_000_000, &f), "20231114");
        let f = simple_date_format("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").unwrap();
        assert_eq!(
            format_millis(1_700_000_000_123, &f),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(
            parse_millis("2023-11-14T22:13:20.123Z", &f),
            Some(1_700_000_000_123)
        );
        let f = simple_date_format("yyyy-MM-dd").unwrap();
        assert_eq!(parse_millis("2023-11-14", &f), Some(1_699_920_000_000));
        assert!(simple_date_format("yyyy-QQ").is_err());
    }

    #[test]
    fn java_replacements_translate() {
        assert_eq!(java_replacement("$1-x", 1).unwrap(), "${1}-x");
        assert_eq!(java_replacement("$12", 1).unwrap(), "${1}2");
        assert_eq!(java_replacement("\\$1", 1).unwrap(), "$$1");
        assert!(java_replacement("$3", 1).is_err());
    }
}
