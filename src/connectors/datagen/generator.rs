//! Random records for an Avro schema, steered by the `arg.properties` annotations of Confluent's
//! avro-random-generator (what Datagen schemas are written in): `options`, `iteration`, `range`,
//! `length`, `regex`, `prefix`, `suffix`, `keys` and `odds`. The schema is compiled once into a
//! tree of rules; each record is written as Avro binary, which the caller reads into Connect
//! data with the same `AvroData` translation the AvroConverter uses.

use num_bigint::BigInt;

use super::iteration::{Iter, Kind, Out};
use super::options::encode_option;
use super::random::JavaRandom;
use super::text::{LengthBounds, StringRule};
use crate::data::avro::encode::{write_bytes, write_long};
use crate::data::avro::json::Json;
use crate::data::avro::schema::{Avro, Prim};

/// A schema or annotation the generator cannot follow, with where in the schema it is.
#[derive(Debug, thiserror::Error)]
#[error("{}{message}", if .path.is_empty() { String::new() } else { format!("at {}: ", .path) })]
pub struct GenError {
    pub path: String,
    pub message: String,
}

impl GenError {
    pub fn rule(message: impl Into<String>) -> GenError {
        GenError {
            path: String::new(),
            message: message.into(),
        }
    }

    fn at(mut self, step: &str) -> GenError {
        self.path = if self.path.is_empty() {
            step.to_string()
        } else {
            format!("{step}.{}", self.path)
        };
        self
    }
}

/// The annotation keys the generator reads; others inside `arg.properties` are reported.
pub const KNOWN_RULES: &[&str] = &[
    "options",
    "iteration",
    "range",
    "length",
    "regex",
    "prefix",
    "suffix",
    "keys",
    "odds",
];

enum Node {
    Options(Vec<Vec<u8>>),
    Iteration(usize, Option<(String, String)>),
    Null,
    Boolean(Option<f64>),
    Int(Option<(i32, i32)>),
    Long(Option<(i64, i64)>),
    Float(Option<(f32, f32)>),
    Double(Option<(f64, f64)>),
    Bytes(LengthBounds),
    Decimal {
        precision: u32,
        fixed: Option<usize>,
    },
    Fixed(usize),
    Enum(i32),
    String(Box<StringRule>),
    Array(LengthBounds, Box<Node>),
    Map {
        len: LengthBounds,
        keys: MapKeys,
        value: Box<Node>,
    },
    Record(Vec<Node>),
    Union(Vec<Node>),
}

enum MapKeys {
    /// One random ASCII character, as the generator makes map keys by default.
    OneChar,
    Options(Vec<String>),
    Rule(Box<StringRule>),
}

pub struct Generator {
    root: Node,
    iterators: Vec<Iter>,
    /// Warnings found while compiling (annotations the generator does not know).
    pub unknown_rules: Vec<String>,
}

struct Compiler<'a> {
    generation: i64,
    /// Iterators are shared by equal schemas, as the generator caches them by schema.
    iter_schemas: Vec<&'a Avro>,
    iterators: Vec<Iter>,
    unknown: Vec<String>,
}

fn arg_props(avro: &Avro) -> Result<Option<&Json>, GenError> {
    match avro.props().and_then(|p| p.get("arg.properties")) {
        None => Ok(None),
        Some(j @ Json::Object(_)) => Ok(Some(j)),
        Some(j) => Err(GenError::rule(format!(
            "arg.properties must be an object, is {}",
            j.to_text()
        ))),
    }
}

fn exclusive(props: &Json, rule: &str, others: &[&str]) -> Result<(), GenError> {
    match others.iter().find(|o| props.get(o).is_some()) {
        Some(o) => Err(GenError::rule(format!(
            "\"{o}\" cannot be given with \"{rule}\""
        ))),
        None => Ok(()),
    }
}

fn range_of<T: Copy + PartialOrd>(
    props: &Json,
    read: impl Fn(&Json) -> Option<T>,
    low: T,
    high: T,
) -> Result<Option<(T, T)>, GenError> {
    let Some(range) = props.get("range") else {
        return Ok(None);
    };
    if !matches!(range, Json::Object(_)) {
        return Err(GenError::rule(
            "range must be an object with \"min\" and/or \"max\"",
        ));
    }
    let bound = |k: &str, default: T| match range.get(k) {
        None | Some(Json::Null) => Ok(default),
        Some(v) => read(v).ok_or_else(|| {
            GenError::rule(format!(
                "range's \"{k}\" is not a number of this type: {}",
                v.to_text()
            ))
        }),
    };
    let (min, max) = (bound("min", low)?, bound("max", high)?);
    if min >= max {
        return Err(GenError::rule(
            "range's \"min\" must be less than its \"max\"",
        ));
    }
    Ok(Some((min, max)))
}

impl<'a> Compiler<'a> {
    fn node(&mut self, avro: &'a Avro) -> Result<Node, GenError> {
        let props = arg_props(avro)?;
        if let Some(p) = props {
            if let Json::Object(entries) = p {
                for (k, _) in entries {
                    if !KNOWN_RULES.contains(&k.as_str()) && !self.unknown.contains(k) {
                        self.unknown.push(k.clone());
                    }
                }
            }
            if let Some(opts) = p.get("options") {
                exclusive(p, "options", &["length", "regex", "iteration", "range"])?;
                return self.options(avro, opts);
            }
            if let Some(it) = p.get("iteration") {
                exclusive(p, "iteration", &["length", "regex", "options", "range"])?;
                return self.iteration(avro, p, it);
            }
        }
        let empty = Json::Object(Vec::new());
        let p = props.unwrap_or(&empty);
        Ok(match avro {
            Avro::Prim(prim, _) => match prim {
                Prim::Null => Node::Null,
                Prim::Boolean => Node::Boolean(match p.get("odds") {
                    None => None,
                    Some(v) => match v.as_f64() {
                        Some(o) if (0.0..=1.0).contains(&o) => Some(o),
                        _ => return Err(GenError::rule("odds must be a number from 0.0 to 1.0")),
                    },
                }),
                Prim::Int => Node::Int(range_of(
                    p,
                    |v| v.as_i64().and_then(|i| i32::try_from(i).ok()),
                    i32::MIN,
                    i32::MAX,
                )?),
                Prim::Long => Node::Long(range_of(p, Json::as_i64, i64::MIN, i64::MAX)?),
                Prim::Float => Node::Float(range_of(
                    p,
                    |v| v.as_f64().map(|f| f as f32),
                    -f32::MAX,
                    f32::MAX,
                )?),
                Prim::Double => Node::Double(range_of(p, Json::as_f64, -f64::MAX, f64::MAX)?),
                Prim::Bytes => match decimal_precision(avro) {
                    Some(precision) => Node::Decimal {
                        precision,
                        fixed: None,
                    },
                    None => Node::Bytes(LengthBounds::of(p.get("length"))?),
                },
                Prim::String => Node::String(Box::new(StringRule::new(p)?)),
            },
            Avro::Fixed { size, .. } => match decimal_precision(avro) {
                Some(precision) => Node::Decimal {
                    precision,
                    fixed: Some(*size),
                },
                None => Node::Fixed(*size),
            },
            Avro::Enum { symbols, .. } => {
                if symbols.is_empty() {
                    return Err(GenError::rule("an enum needs at least one symbol"));
                }
                Node::Enum(symbols.len() as i32)
            }
            Avro::Array(items, _) => Node::Array(
                LengthBounds::of(p.get("length"))?,
                Box::new(self.node(items).map_err(|e| e.at("items"))?),
            ),
            Avro::Map(values, _) => {
                let keys = match p.get("keys") {
                    None => MapKeys::OneChar,
                    Some(k @ Json::Object(_)) => match k.get("options") {
                        Some(Json::Array(o)) if !o.is_empty() => MapKeys::Options(
                            o.iter()
                                .map(|v| match v {
                                    Json::Str(s) => Ok(s.clone()),
                                    _ => Err(GenError::rule("map key options must be strings")),
                                })
                                .collect::<Result<_, _>>()?,
                        ),
                        Some(_) => {
                            return Err(GenError::rule(
                                "keys' options must be a non-empty array of strings",
                            ))
                        }
                        None => MapKeys::Rule(Box::new(StringRule::new(k)?)),
                    },
                    Some(_) => return Err(GenError::rule("keys must be an object")),
                };
                Node::Map {
                    len: LengthBounds::of(p.get("length"))?,
                    keys,
                    value: Box::new(self.node(values).map_err(|e| e.at("values"))?),
                }
            }
            Avro::Record { fields, .. } => Node::Record(
                fields
                    .iter()
                    .map(|f| self.node(&f.schema).map_err(|e| e.at(&f.name)))
                    .collect::<Result<_, _>>()?,
            ),
            Avro::Union(members) => {
                if members.is_empty() {
                    return Err(GenError::rule("a union needs at least one member"));
                }
                Node::Union(
                    members
                        .iter()
                        .map(|m| self.node(m))
                        .collect::<Result<_, _>>()?,
                )
            }
        })
    }

    fn options(&mut self, avro: &Avro, opts: &Json) -> Result<Node, GenError> {
        let list = match opts {
            Json::Array(list) if !list.is_empty() => list,
            Json::Array(_) => return Err(GenError::rule("options cannot be empty")),
            Json::Object(_) => {
                return Err(GenError::rule(
                    "options read from a file ({\"file\": ..., \"encoding\": ...}) are not supported; list them in the schema",
                ))
            }
            _ => return Err(GenError::rule("options must be an array")),
        };
        let mut encoded = Vec::with_capacity(list.len());
        for o in list {
            let mut out = Vec::new();
            encode_option(avro, o, &mut out).map_err(|why| {
                GenError::rule(format!(
                    "option {} is not a valid {}: {why}",
                    o.to_text(),
                    avro.type_name()
                ))
            })?;
            encoded.push(out);
        }
        Ok(Node::Options(encoded))
    }

    fn iteration(&mut self, avro: &'a Avro, p: &Json, it: &Json) -> Result<Node, GenError> {
        let (kind, as_string) = match avro {
            Avro::Prim(Prim::Boolean, _) => (Kind::Boolean, false),
            Avro::Prim(Prim::Int, _) => (Kind::Int, false),
            Avro::Prim(Prim::Long, _) => (Kind::Long, false),
            Avro::Prim(Prim::Float, _) => (Kind::Float, false),
            Avro::Prim(Prim::Double, _) => (Kind::Double, false),
            // An int sequence printed as text, with prefix and suffix.
            Avro::Prim(Prim::String, _) => (Kind::Int, true),
            other => {
                return Err(GenError::rule(format!(
                    "iteration works on numbers, booleans and strings, not on a {}",
                    other.type_name()
                )))
            }
        };
        let index = match self.iter_schemas.iter().position(|s| *s == avro) {
            Some(i) => i,
            None => {
                self.iterators.push(Iter::new(kind, it, self.generation)?);
                self.iter_schemas.push(avro);
                self.iterators.len() - 1
            }
        };
        let affix = as_string.then(|| {
            let s = |k: &str| match p.get(k) {
                Some(Json::Str(s)) => s.clone(),
                _ => String::new(),
            };
            (s("prefix"), s("suffix"))
        });
        Ok(Node::Iteration(index, affix))
    }
}

fn decimal_precision(avro: &Avro) -> Option<u32> {
    let p = avro.props()?;
    if p.get_str("logicalType") != Some("decimal") {
        return None;
    }
    p.get("precision")
        .and_then(Json::as_i64)
        .and_then(|v| u32::try_from(v).ok())
}

impl Generator {
    /// `generation`: how many records the task made before this start; iterations resume there.
    pub fn new(schema: &Avro, generation: i64) -> Result<Generator, GenError> {
        let mut c = Compiler {
            generation,
            iter_schemas: Vec::new(),
            iterators: Vec::new(),
            unknown: Vec::new(),
        };
        let root = c.node(schema)?;
        Ok(Generator {
            root,
            iterators: c.iterators,
            unknown_rules: c.unknown,
        })
    }

    /// Appends one record, Avro binary, to `out`.
    pub fn generate(&mut self, random: &mut JavaRandom, out: &mut Vec<u8>) {
        let Generator {
            root, iterators, ..
        } = self;
        write(root, iterators, random, out);
    }
}

fn write(node: &Node, iters: &mut [Iter], r: &mut JavaRandom, out: &mut Vec<u8>) {
    match node {
        Node::Options(choices) => {
            let i = r.next_int_bounded(choices.len() as i32) as usize;
            out.extend_from_slice(&choices[i]);
        }
        Node::Iteration(i, affix) => match (iters[*i].next(), affix) {
            (Out::Int(v), Some((pre, suf))) => {
                write_bytes(out, format!("{pre}{v}{suf}").as_bytes())
            }
            (Out::Boolean(b), _) => out.push(u8::from(b)),
            (Out::Int(v), None) => write_long(out, i64::from(v)),
            (Out::Long(v), _) => write_long(out, v),
            (Out::Float(v), _) => out.extend_from_slice(&v.to_le_bytes()),
            (Out::Double(v), _) => out.extend_from_slice(&v.to_le_bytes()),
        },
        Node::Null => {}
        Node::Boolean(odds) => {
            let b = match odds {
                None => r.next_boolean(),
                Some(o) => r.next_double() < *o,
            };
            out.push(u8::from(b));
        }
        Node::Int(range) => {
            let v = match range {
                None => r.next_int(),
                Some((min, max)) => {
                    min.wrapping_add((r.next_double() * f64::from(max.wrapping_sub(*min))) as i32)
                }
            };
            write_long(out, i64::from(v));
        }
        Node::Long(range) => {
            let v = match range {
                None => r.next_long(),
                Some((min, max)) => {
                    min.wrapping_add((r.next_double() * max.wrapping_sub(*min) as f64) as i64)
                }
            };
            write_long(out, v);
        }
        Node::Float(range) => {
            let v = match range {
                None => r.next_float(),
                Some((min, max)) => min + r.next_float() * (max - min),
            };
            out.extend_from_slice(&v.to_le_bytes());
        }
        Node::Double(range) => {
            let v = match range {
                None => r.next_double(),
                Some((min, max)) => min + r.next_double() * (max - min),
            };
            out.extend_from_slice(&v.to_le_bytes());
        }
        Node::Bytes(len) => {
            let mut b = vec![0u8; len.pick(r)];
            r.next_bytes(&mut b);
            write_bytes(out, &b);
        }
        Node::Decimal { precision, fixed } => {
            let b = decimal(*precision, r);
            match fixed {
                None => write_bytes(out, &b),
                // Sign-extended (or cut to its low bytes) to the fixed size.
                Some(size) => {
                    let fill = if b.first().is_some_and(|x| x & 0x80 != 0) {
                        0xff
                    } else {
                        0
                    };
                    let tail = &b[b.len().saturating_sub(*size)..];
                    out.extend(std::iter::repeat_n(fill, size - tail.len()));
                    out.extend_from_slice(tail);
                }
            }
        }
        Node::Fixed(size) => {
            let start = out.len();
            out.resize(start + size, 0);
            r.next_bytes(&mut out[start..]);
        }
        Node::Enum(n) => write_long(out, i64::from(r.next_int_bounded(*n))),
        Node::String(rule) => write_bytes(out, rule.generate(r).as_bytes()),
        Node::Array(len, item) => {
            let n = len.pick(r);
            if n > 0 {
                write_long(out, n as i64);
                for _ in 0..n {
                    write(item, iters, r, out);
                }
            }
            out.push(0);
        }
        Node::Map { len, keys, value } => {
            let n = len.pick(r);
            // Later entries under a key already made replace it, as in a HashMap.
            let mut entries: Vec<(String, Vec<u8>)> = Vec::with_capacity(n);
            for _ in 0..n {
                let k = match keys {
                    MapKeys::OneChar => ((r.next_int_bounded(128) as u8) as char).to_string(),
                    MapKeys::Options(o) => o[r.next_int_bounded(o.len() as i32) as usize].clone(),
                    MapKeys::Rule(rule) => rule.generate(r),
                };
                let mut v = Vec::new();
                write(value, iters, r, &mut v);
                match entries.iter_mut().find(|(ek, _)| *ek == k) {
                    Some(slot) => slot.1 = v,
                    None => entries.push((k, v)),
                }
            }
            if !entries.is_empty() {
                write_long(out, entries.len() as i64);
                for (k, v) in &entries {
                    write_bytes(out, k.as_bytes());
                    out.extend_from_slice(v);
                }
            }
            out.push(0);
        }
        Node::Record(fields) => {
            for f in fields {
                write(f, iters, r, out);
            }
        }
        Node::Union(members) => {
            let i = r.next_int_bounded(members.len() as i32);
            write_long(out, i64::from(i));
            write(&members[i as usize], iters, r, out);
        }
    }
}

/// A random unscaled decimal of `precision` digits: 15 digits at a time from `nextDouble`,
/// extra digits cut off, then a random sign.
fn decimal(precision: u32, r: &mut JavaRandom) -> Vec<u8> {
    const STEP: i64 = 1_000_000_000_000_000;
    let mut v = BigInt::from(0);
    let mut digits = 0;
    while digits < precision {
        v = v * STEP + BigInt::from((r.next_double() * STEP as f64) as i64);
        digits += 15;
    }
    v /= BigInt::from(10).pow(digits - precision);
    if r.next_boolean() {
        v = -v;
    }
    v.to_signed_bytes_be()
}
