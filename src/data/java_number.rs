//! Java's `Double.toString` and `Float.toString`: Connect prints numbers as Java does, in JSON
//! (through Jackson) and in its string forms, and users compare the output.

/// `Double.toString` as Java writes it, which is what Jackson puts in Connect's JSON:
/// plain between 10^-3 and 10^7, otherwise `d.dddE±n`, always with a fractional digit.
pub fn java_double_string(v: f64) -> String {
    java_fp_string(
        v.is_nan(),
        v.is_infinite(),
        v.is_sign_negative(),
        v == 0.0,
        || {
            two_digits(format!("{v:e}"), format!("{v:.1e}"), |t| {
                t.parse::<f64>() == Ok(v)
            })
        },
    )
}

/// Java prints at least two significant digits: when the shortest round-trip form has one,
/// it takes the two-digit decimal nearest the exact value if that one reads back the same
/// (`Double.MIN_VALUE` is `4.9E-324`, not `5.0E-324`; `1.0E23` stays).
fn two_digits(shortest: String, two: String, round_trips: impl Fn(&str) -> bool) -> String {
    let one_digit = shortest
        .split_once('e')
        .is_some_and(|(m, _)| m.trim_start_matches('-').len() == 1);
    let second = two.split_once('e').and_then(|(m, _)| m.chars().last());
    if one_digit && second.is_some_and(|c| c != '0') && round_trips(&two) {
        two
    } else {
        shortest
    }
}

/// `Float.toString`, with the shortest digits that round-trip as a 32-bit float.
pub fn java_float_string(v: f32) -> String {
    java_fp_string(
        v.is_nan(),
        v.is_infinite(),
        v.is_sign_negative(),
        v == 0.0,
        || {
            two_digits(format!("{v:e}"), format!("{v:.1e}"), |t| {
                t.parse::<f32>() == Ok(v)
            })
        },
    )
}

fn java_fp_string(
    nan: bool,
    inf: bool,
    neg: bool,
    zero: bool,
    sci: impl FnOnce() -> String,
) -> String {
    if nan {
        return "NaN".into();
    }
    if inf {
        return if neg { "-Infinity" } else { "Infinity" }.into();
    }
    if zero {
        return if neg { "-0.0" } else { "0.0" }.into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "-1.2345e-7".
    let s = sci();
    let (mantissa, exp) = s.split_once('e').expect("exponent form");
    let exp: i32 = exp.parse().expect("exponent");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::with_capacity(digits.len() + 8);
    out.push_str(sign);
    if (-3..7).contains(&exp) {
        if exp < 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
            out.push_str(&digits);
        } else {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', int_len - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        out.push('.');
        if digits.len() > 1 {
            out.push_str(&digits[1..]);
        } else {
            out.push('0');
        }
        out.push('E');
        out.push_str(&exp.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Java's `Double.toString(Double.MIN_VALUE)` is `4.9E-324` (Connect 4.3.0 printed it for a
    /// JSON `5e-324` in tests/same_bytes_matrix.rs); one-digit forms that are exact stay.
    #[test]
    fn one_digit_forms_get_java_s_second_digit() {
        assert_eq!(java_double_string(5e-324), "4.9E-324");
        assert_eq!(java_double_string(1e-323), "9.9E-324");
        assert_eq!(java_double_string(1e23), "1.0E23");
        assert_eq!(java_double_string(1e308), "1.0E308");
        assert_eq!(java_double_string(2.0), "2.0");
        assert_eq!(java_float_string(f32::from_bits(1)), "1.4E-45");
        assert_eq!(java_float_string(0.5), "0.5");
    }

    #[test]
    fn doubles_print_as_java_does() {
        assert_eq!(java_double_string(1.0), "1.0");
        assert_eq!(java_double_string(100.0), "100.0");
        assert_eq!(java_double_string(1.5), "1.5");
        assert_eq!(java_double_string(-0.001), "-0.001");
        assert_eq!(java_double_string(0.0001), "1.0E-4");
        assert_eq!(java_double_string(1e7), "1.0E7");
        assert_eq!(java_double_string(1234567.0), "1234567.0");
        assert_eq!(java_double_string(1.2345e-10), "1.2345E-10");
        assert_eq!(java_double_string(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(java_float_string(2.75f32), "2.75");
        assert_eq!(java_float_string(1.0e10f32), "1.0E10");
    }
}
