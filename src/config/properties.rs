//! Java `.properties` parsing, as `java.util.Properties.load` reads it: `=`, `:` or white
//! space between key and value, `#`/`!` comments, backslash line continuations and escapes.

use std::collections::BTreeMap;

/// Parses properties text; later keys replace earlier ones, as in Java.
pub fn parse(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((lineno, first)) = lines.next() {
        let trimmed = first.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!') {
            continue;
        }
        // Join continuation lines: an odd number of trailing backslashes continues the line.
        let mut logical = String::from(trimmed);
        while ends_with_continuation(&logical) {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim_start()),
                None => break,
            }
        }
        let (key, value) = split_key_value(&logical);
        let key = unescape(key).map_err(|e| format!("line {}: {e}", lineno + 1))?;
        let value = unescape(value).map_err(|e| format!("line {}: {e}", lineno + 1))?;
        out.insert(key, value);
    }
    Ok(out)
}

fn ends_with_continuation(s: &str) -> bool {
    s.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
}

fn split_key_value(line: &str) -> (&str, &str) {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'=' | b':' => {
                return (&line[..i], line[i + 1..].trim_start());
            }
            b' ' | b'\t' | b'\x0c' => {
                let key = &line[..i];
                let rest = line[i..].trim_start();
                let rest = rest
                    .strip_prefix('=')
                    .or_else(|| rest.strip_prefix(':'))
                    .map(str::trim_start)
                    .unwrap_or(rest);
                return (key, rest);
            }
            _ => i += 1,
        }
    }
    (line, "")
}

fn unescape(s: &str) -> Result<String, String> {
    if !s.contains('\\') {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    // A `\uD83D` waiting for the `\uDE00` that makes one character with it, as Java's
    // UTF-16 strings do.
    let mut pending_high: Option<u32> = None;
    while let Some(c) = chars.next() {
        let unicode_escape = c == '\\' && chars.clone().next() == Some('u');
        if !unicode_escape && pending_high.take().is_some() {
            out.push('\u{fffd}');
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = u32::from_str_radix(&hex, 16)
                    .map_err(|_| format!("malformed \\uxxxx escape \\u{hex}"))?;
                match (pending_high.take(), code) {
                    (Some(high), 0xDC00..=0xDFFF) => {
                        let c = 0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00);
                        out.push(char::from_u32(c).unwrap_or('\u{fffd}'));
                    }
                    (earlier, _) => {
                        if earlier.is_some() {
                            out.push('\u{fffd}');
                        }
                        if (0xD800..=0xDBFF).contains(&code) {
                            pending_high = Some(code);
                        } else {
                            out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                        }
                    }
                }
                continue;
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    if pending_high.is_some() {
        out.push('\u{fffd}');
    }
    Ok(out)
}

/// Properties text `parse` and Java's `Properties.load` read back as `values`: keys sorted,
/// everything outside printable ASCII escaped as `\uXXXX` (Java reads these files as
/// ISO-8859-1), `header` as `#` comment lines on top.
pub fn write(values: &BTreeMap<String, String>, header: &str) -> String {
    let mut out = String::new();
    for line in header.lines() {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    for (k, v) in values {
        escape_into(&mut out, k, true);
        out.push('=');
        escape_into(&mut out, v, false);
        out.push('\n');
    }
    out
}

fn escape_into(out: &mut String, s: &str, key: bool) {
    for (i, c) in s.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\x0c' => out.push_str("\\f"),
            // Leading blanks of a value, and any in a key, would be read as separators.
            ' ' if key || i == 0 => out.push_str("\\ "),
            '=' | ':' | '#' | '!' if key || i == 0 => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04X}"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_java_properties_forms() {
        let text = "# comment\n! also\nname=es-sink\nconnector.class : Foo\n\
                    topics   my_topic\nurl=http\\://x:9200\nlong=a,\\\n   b\nempty=\nuni=\\u00e9\n";
        let p = parse(text).unwrap();
        assert_eq!(p["name"], "es-sink");
        assert_eq!(p["connector.class"], "Foo");
        assert_eq!(p["topics"], "my_topic");
        assert_eq!(p["url"], "http://x:9200");
        assert_eq!(p["long"], "a,b");
        assert_eq!(p["empty"], "");
        assert_eq!(p["uni"], "é");
    }

    #[test]
    fn later_keys_win_and_escaped_separators_stay_in_keys() {
        let p = parse("a=1\na=2\nkey\\=x=v\n").unwrap();
        assert_eq!(p["a"], "2");
        assert_eq!(p["key=x"], "v");
    }

    #[test]
    fn written_properties_read_back_unchanged() {
        let mut v = BTreeMap::new();
        for (k, val) in [
            ("name", "orders sink"),
            ("a key=with:seps#!", " leading blank"),
            ("topics.regex", "orders\\..*"),
            ("multi", "line one\nline two\ttab"),
            ("unicode", "é 😀 ü"),
            ("empty", ""),
            ("hash", "#not a comment"),
        ] {
            v.insert(k.to_string(), val.to_string());
        }
        let text = write(&v, "written by kconnect");
        assert!(text.starts_with("# written by kconnect\n"));
        assert!(text.contains("\\uD83D\\uDE00"), "{text}");
        assert!(text.is_ascii());
        assert_eq!(parse(&text).unwrap(), v);
    }

    #[test]
    fn surrogate_pairs_make_one_character() {
        let p = parse("e=\\uD83D\\uDE00!\nlone=\\uD83Dx\n").unwrap();
        assert_eq!(p["e"], "😀!");
        assert_eq!(p["lone"], "\u{fffd}x");
    }
}
