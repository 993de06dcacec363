//! The `iteration` rule: numbers that count from `start` by `step`, wrapping at `restart`, and
//! booleans that alternate. An iterator starts where the task's record count puts it, so a
//! restarted task continues the sequence instead of starting it again.

use num_bigint::BigInt;

use super::generator::GenError;
use crate::data::avro::json::Json;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Boolean,
    Int,
    Long,
    Float,
    Double,
}

#[derive(Debug)]
pub enum Iter {
    Boolean(bool),
    Integral {
        start: i128,
        modulus: i128,
        step: i128,
        current: i128,
        int: bool,
    },
    Decimal {
        start: BigDec,
        modulus: BigInt,
        step: BigInt,
        current: BigInt,
        float: bool,
    },
}

/// One value the iterator gives, in the type of its schema.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Out {
    Boolean(bool),
    Int(i32),
    Long(i64),
    Float(f32),
    Double(f64),
}

fn field<'a>(props: &'a Json, name: &str) -> Option<&'a Json> {
    props.get(name).filter(|v| !matches!(v, Json::Null))
}

fn integral(props: &Json, name: &str, int: bool) -> Result<Option<i64>, GenError> {
    match field(props, name) {
        None => Ok(None),
        Some(Json::Int(v)) if !int || i32::try_from(*v).is_ok() => Ok(Some(*v)),
        Some(v) => Err(GenError::rule(format!(
            "iteration's \"{name}\" must be {}, is {}",
            if int { "an int" } else { "a long" },
            v.to_text()
        ))),
    }
}

fn decimal(props: &Json, name: &str, float: bool) -> Result<Option<f64>, GenError> {
    match field(props, name).map(|v| (v, v.as_f64())) {
        None => Ok(None),
        Some((_, Some(f))) if float => Ok(Some(f as f32 as f64)),
        Some((_, Some(f))) => Ok(Some(f)),
        Some((v, None)) => Err(GenError::rule(format!(
            "iteration's \"{name}\" must be a number, is {}",
            v.to_text()
        ))),
    }
}

/// `restart` and `step` as the generator settles them: either may be left out, not both
/// contradicting `start`.
fn settle<T: Copy + PartialOrd + Default>(
    start: T,
    restart: Option<T>,
    step: Option<T>,
    high: T,
    low_negated: T,
    one: T,
    minus_one: T,
) -> Result<(T, T), GenError> {
    let zero = T::default();
    match (restart, step) {
        (None, None) => Ok((high, one)),
        (None, Some(s)) if s > zero => Ok((high, s)),
        (None, Some(s)) if s < zero => Ok((low_negated, s)),
        (None, Some(_)) => Err(GenError::rule("iteration's \"step\" cannot be 0")),
        (Some(r), None) if r > start => Ok((r, one)),
        (Some(r), None) if r < start => Ok((r, minus_one)),
        (Some(_), None) => Err(GenError::rule(
            "iteration's \"restart\" cannot equal its \"start\"",
        )),
        (Some(r), Some(s)) => {
            if s == zero {
                Err(GenError::rule("iteration's \"step\" cannot be 0"))
            } else if r == start {
                Err(GenError::rule(
                    "iteration's \"restart\" cannot equal its \"start\"",
                ))
            } else if (r > start && s < zero) || (r < start && s > zero) {
                Err(GenError::rule(
                    "iteration's \"step\" must go from \"start\" toward \"restart\"",
                ))
            } else {
                Ok((r, s))
            }
        }
    }
}

impl Iter {
    /// `generation`: how many records the task made before, so the sequence resumes there.
    pub fn new(kind: Kind, props: &Json, generation: i64) -> Result<Iter, GenError> {
        if !matches!(props, Json::Object(_)) {
            return Err(GenError::rule("iteration must be an object"));
        }
        match kind {
            Kind::Boolean => {
                let start = match field(props, "start") {
                    Some(Json::Bool(b)) => *b,
                    None => return Err(GenError::rule("iteration must have \"start\"")),
                    Some(v) => {
                        return Err(GenError::rule(format!(
                            "iteration's \"start\" for a boolean must be a boolean, is {}",
                            v.to_text()
                        )))
                    }
                };
                for k in ["restart", "step"] {
                    if field(props, k).is_some() {
                        return Err(GenError::rule(format!(
                            "iteration cannot have \"{k}\" for a boolean"
                        )));
                    }
                }
                Ok(Iter::Boolean((generation % 2 == 1) ^ start))
            }
            Kind::Int | Kind::Long => {
                let int = kind == Kind::Int;
                let start = integral(props, "start", int)?
                    .ok_or_else(|| GenError::rule("iteration must have \"start\""))?;
                let (high, low) = if int {
                    (i64::from(i32::MAX), i64::from(i32::MIN))
                } else {
                    (i64::MAX, i64::MIN)
                };
                // Java negates Long.MIN_VALUE here and gets it back; so does wrapping_neg.
                let (restart, step) = settle(
                    start,
                    integral(props, "restart", int)?,
                    integral(props, "step", int)?,
                    high,
                    low.wrapping_neg(),
                    1,
                    -1,
                )?;
                let initial = integral(props, "initial", int)?.unwrap_or(start);
                let (start, restart, step) = (start as i128, restart as i128, step as i128);
                let modulus = (restart - start).abs();
                let sign = step.signum();
                let mut current = initial as i128 - start;
                if generation > 0 {
                    current = ((generation as i128 * step + current).abs() % modulus) * sign;
                }
                Ok(Iter::Integral {
                    start,
                    modulus,
                    step,
                    current,
                    int,
                })
            }
            Kind::Float | Kind::Double => {
                let float = kind == Kind::Float;
                let start = decimal(props, "start", float)?
                    .ok_or_else(|| GenError::rule("iteration must have \"start\""))?;
                let high = if float { f32::MAX as f64 } else { f64::MAX };
                let (restart, step) = settle(
                    start,
                    decimal(props, "restart", float)?,
                    decimal(props, "step", float)?,
                    high,
                    high,
                    1.0,
                    -1.0,
                )?;
                let initial = decimal(props, "initial", float)?.unwrap_or(start);
                let start = BigDec::of(start);
                let restart = BigDec::of(restart);
                let step = BigDec::of(step);
                let initial = BigDec::of(initial);
                let scale = [&start, &restart, &step, &initial]
                    .iter()
                    .map(|d| d.scale)
                    .max()
                    .unwrap_or(0);
                let modulus = restart.at(scale) - start.at(scale);
                let step_u = step.at(scale);
                let mut current = initial.at(scale) - start.at(scale);
                if generation > 0 {
                    current = (BigInt::from(generation) * &step_u + current) % &modulus;
                }
                Ok(Iter::Decimal {
                    start: BigDec {
                        unscaled: start.at(scale),
                        scale,
                    },
                    modulus,
                    step: step_u,
                    current,
                    float,
                })
            }
        }
    }

    pub fn next(&mut self) -> Out {
        match self {
            Iter::Boolean(b) => {
                let v = *b;
                *b = !v;
                Out::Boolean(v)
            }
            Iter::Integral {
                start,
                modulus,
                step,
                current,
                int,
            } => {
                let v = *current + *start;
                *current = ((*current + *step).abs() % *modulus) * step.signum();
                // BigInteger's intValue/longValue keep the low bits.
                if *int {
                    Out::Int(v as i32)
                } else {
                    Out::Long(v as i64)
                }
            }
            Iter::Decimal {
                start,
                modulus,
                step,
                current,
                float,
            } => {
                let v = BigDec {
                    unscaled: &*current + &start.unscaled,
                    scale: start.scale,
                };
                *current = (&*current + &*step) % &*modulus;
                let text = v.to_string();
                if *float {
                    Out::Float(text.parse().unwrap_or(f32::NAN))
                } else {
                    Out::Double(text.parse().unwrap_or(f64::NAN))
                }
            }
        }
    }
}

/// A decimal number as Java's `BigDecimal.valueOf(double)` makes it: the double's shortest
/// decimal form, so `0.1` steps by exactly one tenth.
#[derive(Clone, Debug)]
pub struct BigDec {
    unscaled: BigInt,
    scale: u32,
}

impl BigDec {
    fn of(v: f64) -> BigDec {
        // Rust's Display of a double is its shortest round-trip form, without an exponent.
        let text = format!("{v}");
        let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
        BigDec {
            unscaled: format!("{int}{frac}").parse().unwrap_or_default(),
            scale: frac.len() as u32,
        }
    }

    fn at(&self, scale: u32) -> BigInt {
        &self.unscaled * BigInt::from(10u32).pow(scale - self.scale)
    }
}

impl std::fmt::Display for BigDec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let digits = self.unscaled.magnitude().to_string();
        let sign = if self.unscaled.sign() == num_bigint::Sign::Minus {
            "-"
        } else {
            ""
        };
        let scale = self.scale as usize;
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (i, d) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{i}.{d}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(text: &str) -> Json {
        Json::from_serde(&serde_json::from_str(text).unwrap())
    }

    fn take(kind: Kind, p: &str, generation: i64, n: usize) -> Vec<Out> {
        let mut it = Iter::new(kind, &props(p), generation).unwrap();
        (0..n).map(|_| it.next()).collect()
    }

    #[test]
    fn integers_count_by_step_and_wrap_at_restart() {
        let longs = |v: &[i64]| v.iter().map(|x| Out::Long(*x)).collect::<Vec<_>>();
        assert_eq!(
            take(Kind::Long, r#"{"start": 1, "step": 10}"#, 0, 3),
            longs(&[1, 11, 21])
        );
        assert_eq!(
            take(Kind::Long, r#"{"start": 0, "restart": 3}"#, 0, 5),
            longs(&[0, 1, 2, 0, 1])
        );
        assert_eq!(
            take(Kind::Long, r#"{"start": 10, "restart": 7}"#, 0, 4),
            longs(&[10, 9, 8, 10])
        );
        assert_eq!(
            take(
                Kind::Long,
                r#"{"start": 0, "restart": 5, "initial": 3}"#,
                0,
                3
            ),
            longs(&[3, 4, 0])
        );
    }

    #[test]
    fn a_restarted_task_continues_the_sequence() {
        let whole = take(Kind::Int, r#"{"start": 5, "restart": 9, "step": 2}"#, 0, 7);
        let resumed = take(Kind::Int, r#"{"start": 5, "restart": 9, "step": 2}"#, 3, 4);
        assert_eq!(whole[3..], resumed[..]);
        let b = take(Kind::Boolean, r#"{"start": true}"#, 1, 2);
        assert_eq!(b, vec![Out::Boolean(false), Out::Boolean(true)]);
    }

    #[test]
    fn decimals_step_exactly() {
        let d = take(
            Kind::Double,
            r#"{"start": 0.1, "step": 0.1, "restart": 0.5}"#,
            0,
            5,
        );
        assert_eq!(
            d,
            vec![
                Out::Double(0.1),
                Out::Double(0.2),
                Out::Double(0.3),
                Out::Double(0.4),
                Out::Double(0.1)
            ]
        );
    }

    #[test]
    fn contradictions_are_refused() {
        for p in [
            r#"{"start": 1, "restart": 1}"#,
            r#"{"start": 1, "step": 0}"#,
            r#"{"start": 1, "restart": 5, "step": -1}"#,
            r#"{"step": 1}"#,
        ] {
            assert!(Iter::new(Kind::Long, &props(p), 0).is_err(), "{p}");
        }
        assert!(Iter::new(Kind::Int, &props(r#"{"start": 1e3}"#), 0).is_err());
    }
}
