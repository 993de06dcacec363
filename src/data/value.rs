//! Connect's values. Logical types keep their physical representation (Date is an `Int32` of
//! days, Timestamp an `Int64` of milliseconds) except Decimal, whose bytes would be useless to
//! every transform and sink that has to read the number.

use std::fmt;

use compact_str::CompactString;
use num_bigint::BigInt;

use super::map::Map;
use super::schema::{SchemaRef, SchemaType};

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Boolean(bool),
    Int8(i8),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    Float32(f32),
    Float64(f64),
    /// Inline up to 24 bytes: most strings of a change event (a source block's names, short
    /// column values, the op code) then cost no allocation.
    String(CompactString),
    Bytes(Vec<u8>),
    Array(Vec<Value>),
    /// Entries in the order they were put into the map, and which Java map holds them (for the
    /// order Connect prints them in); schemaless maps have string keys.
    Map(Map),
    Struct(Struct),
    Decimal(Decimal),
    /// A `java.util.Date` without a schema (epoch milliseconds): what Connect's schemaless
    /// TimestampConverter puts in place of a number when converting to `Timestamp`, `Date` or
    /// `Time`. It has no Connect schema type, so JsonConverter and most transforms refuse it,
    /// with Connect's messages, while sink text prints it as `Date.toString` does.
    JavaDate(i64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decimal {
    pub unscaled: BigInt,
    pub scale: i32,
}

impl Decimal {
    /// The largest scale, either way, a decimal is read from text with or rescaled to, and
    /// written out digit by digit: 10^100000 takes milliseconds and its text 100 kB, while
    /// `1E+999999999` or a schema's scale of 2000000000 would have kconnect compute and write
    /// a number of a billion digits (minutes, gigabytes). PostgreSQL's numeric stops at 131072
    /// digits before the point and 16383 after; Jackson refuses to write plain text past 9999.
    pub const MAX_SCALE: i32 = 100_000;

    /// Big-endian two's complement, as Connect's Decimal logical type stores it.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.unscaled.to_signed_bytes_be()
    }

    pub fn from_bytes(bytes: &[u8], scale: i32) -> Decimal {
        Decimal {
            unscaled: BigInt::from_signed_bytes_be(bytes),
            scale,
        }
    }

    /// Parses a plain or exponent decimal string ("12.50", "-3", "1E+3").
    pub fn parse(s: &str) -> Option<Decimal> {
        let s = s.trim();
        let (mantissa, exp) = match s.find(['e', 'E']) {
            Some(i) => (&s[..i], s[i + 1..].parse::<i32>().ok()?),
            None => (s, 0),
        };
        let (int_part, frac_part) = match mantissa.find('.') {
            Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
            None => (mantissa, ""),
        };
        if !frac_part.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let digits = format!("{int_part}{frac_part}");
        if digits.is_empty() || digits == "-" || digits == "+" {
            return None;
        }
        let scale = frac_part.len() as i64 - exp as i64;
        if scale.abs() > Self::MAX_SCALE as i64 {
            return None;
        }
        let unscaled: BigInt = digits.parse().ok()?;
        Some(Decimal {
            unscaled,
            scale: scale as i32,
        })
    }

    /// Plain notation, like `BigDecimal.toPlainString()`; past [`Decimal::MAX_SCALE`] the
    /// exponent notation of `BigDecimal.toString()` (`1E+2000000000`) instead of a billion
    /// zeros.
    pub fn to_plain_string(&self) -> String {
        let raw = self.unscaled.to_string();
        if self.scale.unsigned_abs() > Self::MAX_SCALE as u32 {
            return self.exponent_string(&raw);
        }
        let (neg, digits) = match raw.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, raw.as_str()),
        };
        let mut out = String::with_capacity(digits.len() + 3);
        if neg {
            out.push('-');
        }
        if self.scale <= 0 {
            out.push_str(digits);
            if digits != "0" {
                out.extend(std::iter::repeat_n('0', (-self.scale) as usize));
            }
        } else {
            let scale = self.scale as usize;
            if digits.len() > scale {
                out.push_str(&digits[..digits.len() - scale]);
                out.push('.');
                out.push_str(&digits[digits.len() - scale..]);
            } else {
                out.push_str("0.");
                out.extend(std::iter::repeat_n('0', scale - digits.len()));
                out.push_str(digits);
            }
        }
        out
    }

    /// `BigDecimal.toString()`: plain unless the scale is negative or the number is below
    /// 10^-6, then `d.dddE±n` (`1E+400`, `1.5E-7`). What Connect writes for a decimal in
    /// NUMERIC JSON, in headers and in `toString`.
    pub fn to_java_string(&self) -> String {
        let raw = self.unscaled.to_string();
        let (_, digits) = match raw.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, raw.as_str()),
        };
        let adjusted = -(self.scale as i64) + (digits.len() as i64 - 1);
        if self.scale >= 0 && adjusted >= -6 {
            return self.to_plain_string();
        }
        self.exponent_string(&raw)
    }

    /// `BigDecimal.toString()`'s exponent notation: one digit, the point, the rest, and the
    /// adjusted exponent (`1E+400`, `-1.2E-7`).
    fn exponent_string(&self, raw: &str) -> String {
        let (neg, digits) = match raw.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, raw),
        };
        let adjusted = digits.len() as i64 - 1 - self.scale as i64;
        let mut out = String::with_capacity(digits.len() + 16);
        if neg {
            out.push('-');
        }
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        if adjusted != 0 {
            out.push_str(&format!("E{adjusted:+}"));
        }
        out
    }

    pub fn to_f64(&self) -> f64 {
        self.to_plain_string().parse().unwrap_or(f64::NAN)
    }

    /// Changes the scale, rounding half up when digits are dropped (as `setScale(HALF_UP)`).
    /// `None` when the scale is beyond [`Decimal::MAX_SCALE`] or the value would grow by more
    /// digits than that: such a number is not computed.
    pub fn rescale(&self, scale: i32) -> Option<Decimal> {
        use num_bigint::Sign;
        if scale == self.scale {
            return Some(self.clone());
        }
        if scale.unsigned_abs() > Self::MAX_SCALE as u32 {
            return None;
        }
        if scale > self.scale {
            let grow = scale as i64 - self.scale as i64;
            if grow > Self::MAX_SCALE as i64 {
                return None;
            }
            let f = BigInt::from(10u8).pow(grow as u32);
            return Some(Decimal {
                unscaled: &self.unscaled * f,
                scale,
            });
        }
        let drop = self.scale as i64 - scale as i64;
        // Dropping more digits than the value has (plus the one that rounds) leaves zero:
        // no need to compute 10^drop, which could be a billion digits.
        if drop > self.unscaled.bits() as i64 / 3 + 2 {
            return Some(Decimal {
                unscaled: BigInt::from(0u8),
                scale,
            });
        }
        let f = BigInt::from(10u8).pow(drop as u32);
        let (q, r) = (&self.unscaled / &f, &self.unscaled % &f);
        let twice: BigInt = r.clone() * 2;
        let round = twice.magnitude() >= f.magnitude();
        let q = if round {
            match self.unscaled.sign() {
                Sign::Minus => q - 1,
                _ => q + 1,
            }
        } else {
            q
        };
        Some(Decimal { unscaled: q, scale })
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_plain_string())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Struct {
    pub schema: SchemaRef,
    pub values: Vec<Value>,
}

impl Struct {
    /// A struct with every field null, to be filled with `put`.
    pub fn new(schema: SchemaRef) -> Struct {
        let values = vec![Value::Null; schema.fields.len()];
        Struct { schema, values }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.schema.field(name).map(|f| &self.values[f.index])
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        let idx = self.schema.field(name)?.index;
        Some(&mut self.values[idx])
    }

    /// Sets a field by name; false when the schema has no such field.
    pub fn put(&mut self, name: &str, value: Value) -> bool {
        match self.schema.field(name) {
            Some(f) => {
                self.values[f.index] = value;
                true
            }
            None => false,
        }
    }

    pub fn put_index(mut self, index: usize, value: Value) -> Self {
        self.values[index] = value;
        self
    }

    pub fn fields(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.schema
            .fields
            .iter()
            .map(|f| (f.name.as_str(), &self.values[f.index]))
    }
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_struct(&self) -> Option<&Struct> {
        match self {
            Value::Struct(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int8(v) => Some(v as i64),
            Value::Int16(v) => Some(v as i64),
            Value::Int32(v) => Some(v as i64),
            Value::Int64(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float32(v) => Some(*v as f64),
            Value::Float64(v) => Some(*v),
            Value::Decimal(d) => Some(d.to_f64()),
            other => other.as_i64().map(|v| v as f64),
        }
    }

    /// Looks a key up in a schemaless map (string keys).
    pub fn map_get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The schema type a schemaless value would have (`ConnectSchema.schemaType(class)`).
    pub fn inferred_type(&self) -> Option<SchemaType> {
        Some(match self {
            Value::Null => return None,
            Value::Boolean(_) => SchemaType::Boolean,
            Value::Int8(_) => SchemaType::Int8,
            Value::Int16(_) => SchemaType::Int16,
            Value::Int32(_) => SchemaType::Int32,
            Value::Int64(_) => SchemaType::Int64,
            Value::Float32(_) => SchemaType::Float32,
            Value::Float64(_) => SchemaType::Float64,
            Value::String(_) => SchemaType::String,
            Value::Bytes(_) | Value::Decimal(_) => SchemaType::Bytes,
            Value::Array(_) => SchemaType::Array,
            Value::Map(_) => SchemaType::Map,
            Value::Struct(_) => SchemaType::Struct,
            // `ConnectSchema.schemaType(Date.class)` is null: no type without a schema.
            Value::JavaDate(_) => return None,
        })
    }

    /// A text rendering in the spirit of Connect's `Values.convertToString`, used where
    /// Connect turns values into strings (headers, StringConverter, record ids).
    pub fn to_display_string(&self) -> String {
        match self {
            Value::Null => "null".into(),
            Value::String(s) => s.to_string(),
            Value::Boolean(b) => b.to_string(),
            Value::Int8(v) => v.to_string(),
            Value::Int16(v) => v.to_string(),
            Value::Int32(v) => v.to_string(),
            Value::Int64(v) => v.to_string(),
            Value::Float32(v) => crate::data::java_float_string(*v),
            Value::Float64(v) => crate::data::java_double_string(*v),
            Value::Decimal(d) => d.to_java_string(),
            Value::JavaDate(ms) => crate::data::java_string::iso_timestamp_string(*ms),
            Value::Bytes(b) => {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.encode(b)
            }
            other => crate::data::json::value_to_json_string(None, other),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.into())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s.into())
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int32(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int64(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Boolean(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_round_trips_through_bytes_and_text() {
        let d = Decimal::parse("-1234.50").unwrap();
        assert_eq!(d.scale, 2);
        assert_eq!(d.to_plain_string(), "-1234.50");
        let back = Decimal::from_bytes(&d.to_bytes(), 2);
        assert_eq!(back, d);
        assert_eq!(Decimal::parse("0.05").unwrap().to_plain_string(), "0.05");
        assert_eq!(Decimal::parse("1E+3").unwrap().to_plain_string(), "1000");
    }

    /// `BigDecimal.toString` as Connect 4.3.0 wrote `1e400` parsed by Values.parseString
    /// (tests/same_bytes_matrix.rs, src-hdr-dec-*).
    #[test]
    fn decimals_print_as_big_decimal_to_string() {
        let s = |t: &str| Decimal::parse(t).unwrap().to_java_string();
        assert_eq!(s("1e400"), "1E+400");
        assert_eq!(s("12345678901234567890"), "12345678901234567890");
        assert_eq!(s("-1234.50"), "-1234.50");
        assert_eq!(s("0.000001"), "0.000001");
        assert_eq!(s("0.0000001"), "1E-7");
        assert_eq!(s("-0.00000012"), "-1.2E-7");
        assert_eq!(s("1.5E+3"), "1.5E+3");
        assert_eq!(
            Decimal {
                unscaled: 0.into(),
                scale: 0
            }
            .to_java_string(),
            "0"
        );
    }

    #[test]
    fn decimals_beyond_the_scale_limit_are_refused_not_computed() {
        // Found by fuzzing the JsonConverter (fuzz/corpus/json_converter/): an exponent of
        // -2^31 overflowed the scale (crash-decimal-exponent-overflow); 1e99999999 had
        // rescale compute 10^99999999 for minutes (hang-decimal-huge-exponent); a schema's
        // scale of -2^31 overflowed when written as text (crash-decimal-scale-min).
        assert_eq!(Decimal::parse("1e-2147483648"), None);
        assert_eq!(Decimal::parse("1e99999999"), None);
        assert_eq!(Decimal::parse("1e-100000").unwrap().scale, 100_000);
        assert_eq!(
            Decimal::from_bytes(&[1], i32::MIN).to_plain_string(),
            "1E+2147483648"
        );
        assert_eq!(
            Decimal::from_bytes(&[0xfe, 0x0c], 2_000_000_000).to_plain_string(),
            "-5.00E-1999999998"
        );
        assert_eq!(Decimal::parse("1").unwrap().rescale(2_000_000_000), None);
        assert_eq!(Decimal::parse("1").unwrap().rescale(-100_001), None);
        // Dropping more digits than there are leaves zero, without computing 10^drop.
        let tiny = Decimal::from_bytes(&[0x7f; 40], 2_000_000_000);
        assert_eq!(tiny.rescale(2).unwrap().to_plain_string(), "0.00");
        let d = Decimal::parse("-0.5e-3").unwrap();
        assert_eq!(d.rescale(3).unwrap().to_plain_string(), "-0.001");
        assert_eq!(d.rescale(2).unwrap().to_plain_string(), "0.00");
    }

    #[test]
    fn decimal_rescale_rounds_half_up() {
        let d = Decimal::parse("2.345").unwrap();
        assert_eq!(d.rescale(2).unwrap().to_plain_string(), "2.35");
        let d = Decimal::parse("-2.345").unwrap();
        assert_eq!(d.rescale(2).unwrap().to_plain_string(), "-2.35");
        assert_eq!(
            Decimal::parse("2.5")
                .unwrap()
                .rescale(3)
                .unwrap()
                .to_plain_string(),
            "2.500"
        );
    }
}
