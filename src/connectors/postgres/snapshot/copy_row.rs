//! COPY's text format: a row split into its columns, escapes undone.

/// One column of a COPY text row: `\N` is NULL; backslash escapes are undone into
/// `scratch`, whose range is returned.
pub(in crate::connectors::postgres) enum Field {
    Null,
    Raw(std::ops::Range<usize>),
    Unescaped(std::ops::Range<usize>),
}

/// Splits a COPY text row (without its newline) into fields, unescaping into `scratch`.
pub(in crate::connectors::postgres) fn split_copy_row(
    row: &[u8],
    scratch: &mut String,
    out: &mut Vec<Field>,
) {
    out.clear();
    scratch.clear();
    let mut start = 0;
    loop {
        let end = row[start..]
            .iter()
            .position(|&b| b == b'\t')
            .map_or(row.len(), |p| start + p);
        let f = &row[start..end];
        if f == b"\\N" {
            out.push(Field::Null);
        } else if !f.contains(&b'\\') {
            out.push(Field::Raw(start..end));
        } else {
            let from = scratch.len();
            let mut bytes = Vec::with_capacity(f.len());
            let mut it = f.iter().copied().peekable();
            while let Some(b) = it.next() {
                if b != b'\\' {
                    bytes.push(b);
                    continue;
                }
                match it.next() {
                    Some(b'b') => bytes.push(8),
                    Some(b'f') => bytes.push(12),
                    Some(b'n') => bytes.push(b'\n'),
                    Some(b'r') => bytes.push(b'\r'),
                    Some(b't') => bytes.push(b'\t'),
                    Some(b'v') => bytes.push(11),
                    Some(d @ b'0'..=b'7') => {
                        let mut v = (d - b'0') as u32;
                        for _ in 0..2 {
                            match it.peek() {
                                Some(&o @ b'0'..=b'7') => {
                                    v = v * 8 + (o - b'0') as u32;
                                    it.next();
                                }
                                _ => break,
                            }
                        }
                        bytes.push(v as u8);
                    }
                    Some(b'x') => {
                        let mut v = 0u32;
                        let mut digits = 0;
                        while digits < 2 {
                            match it.peek().and_then(|c| (*c as char).to_digit(16)) {
                                Some(h) => {
                                    v = v * 16 + h;
                                    it.next();
                                    digits += 1;
                                }
                                None => break,
                            }
                        }
                        if digits == 0 {
                            bytes.push(b'x');
                        } else {
                            bytes.push(v as u8);
                        }
                    }
                    Some(other) => bytes.push(other),
                    None => bytes.push(b'\\'),
                }
            }
            scratch.push_str(&String::from_utf8_lossy(&bytes));
            out.push(Field::Unescaped(from..scratch.len()));
        }
        if end >= row.len() {
            break;
        }
        start = end + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(row: &[u8]) -> Vec<Option<String>> {
        let mut scratch = String::new();
        let mut out = Vec::new();
        split_copy_row(row, &mut scratch, &mut out);
        out.iter()
            .map(|f| match f {
                Field::Null => None,
                Field::Raw(r) => Some(String::from_utf8(row[r.clone()].to_vec()).unwrap()),
                Field::Unescaped(r) => Some(scratch[r.clone()].to_string()),
            })
            .collect()
    }

    #[test]
    fn copy_rows_split_and_unescape() {
        assert_eq!(
            fields(b"1\tplain\t\\N\t"),
            [
                Some("1".into()),
                Some("plain".into()),
                None,
                Some("".into())
            ]
        );
        // bytea's hex output, a tab and a newline inside text, octal and hex escapes.
        assert_eq!(
            fields(b"\\\\x0aff\ta\\tb\\nc\t\\101\\x42\t\\\\N"),
            [
                Some("\\x0aff".into()),
                Some("a\tb\nc".into()),
                Some("AB".into()),
                Some("\\N".into())
            ]
        );
        assert_eq!(fields(b""), [Some("".into())]);
    }
}
