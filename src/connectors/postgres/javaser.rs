//! The Java serialization of an `Object[]` of key values, hex-encoded: how Debezium writes
//! `incremental_snapshot_primary_key` and `incremental_snapshot_maximum_key` in its offsets
//! (`ObjectOutputStream` + `HexConverter`). Written byte for byte as the JVM does, so an
//! incremental snapshot interrupted on kconnect resumes on Kafka Connect and back.
//!
//! Only the boxed types the PostgreSQL JDBC driver returns for the usual key columns are
//! known: `Integer` (int2, int4), `Long` (int8), `Short` and `String`. The JVM caches the
//! boxes of -128..=127, so a repeated small value is written as a back reference, as here.

use std::collections::HashMap;

/// One key column's value as Debezium holds it.
#[derive(Clone, Debug, PartialEq)]
pub enum KeyPart {
    Null,
    Short(i16),
    Int(i32),
    Long(i64),
    Str(String),
}

const MAGIC: [u8; 4] = [0xac, 0xed, 0x00, 0x05];
const TC_NULL: u8 = 0x70;
const TC_REFERENCE: u8 = 0x71;
const TC_CLASSDESC: u8 = 0x72;
const TC_OBJECT: u8 = 0x73;
const TC_STRING: u8 = 0x74;
const TC_ARRAY: u8 = 0x75;
const TC_ENDBLOCKDATA: u8 = 0x78;
const BASE_HANDLE: u32 = 0x7e0000;

const OBJECT_ARRAY_SUID: u64 = 0x90ce589f1073296c;
const NUMBER_SUID: u64 = 0x86ac951d0b94e08b;
/// Class name, serialVersionUID and the type code of its one `value` field.
const BOXES: [(&str, u64, u8); 3] = [
    ("java.lang.Short", 0x684d37133460da52, b'S'),
    ("java.lang.Integer", 0x12e2a0a4f7818738, b'I'),
    ("java.lang.Long", 0x3b8be490cc8f23df, b'J'),
];

struct Writer {
    out: Vec<u8>,
    next: u32,
    classes: HashMap<&'static str, u32>,
    /// Cached boxes (-128..=127) already written: (box index, value) → handle.
    cached: HashMap<(usize, i64), u32>,
}

impl Writer {
    fn handle(&mut self) -> u32 {
        let h = self.next;
        self.next += 1;
        h
    }

    fn utf(&mut self, s: &str) {
        let bytes = modified_utf8(s);
        self.out
            .extend_from_slice(&(bytes.len() as u16).to_be_bytes());
        self.out.extend_from_slice(&bytes);
    }

    fn reference(&mut self, h: u32) {
        self.out.push(TC_REFERENCE);
        self.out.extend_from_slice(&(BASE_HANDLE + h).to_be_bytes());
    }

    fn number_desc(&mut self) {
        if let Some(&h) = self.classes.get("java.lang.Number") {
            return self.reference(h);
        }
        self.out.push(TC_CLASSDESC);
        self.utf("java.lang.Number");
        self.out.extend_from_slice(&NUMBER_SUID.to_be_bytes());
        self.out
            .extend_from_slice(&[0x02, 0x00, 0x00, TC_ENDBLOCKDATA, TC_NULL]);
        let h = self.handle();
        self.classes.insert("java.lang.Number", h);
    }

    fn boxed(&mut self, which: usize, value: i64) {
        let cacheable = (-128..=127).contains(&value);
        if cacheable {
            if let Some(&h) = self.cached.get(&(which, value)) {
                return self.reference(h);
            }
        }
        let (name, suid, code) = BOXES[which];
        self.out.push(TC_OBJECT);
        if let Some(&h) = self.classes.get(name) {
            self.reference(h);
        } else {
            self.out.push(TC_CLASSDESC);
            self.utf(name);
            self.out.extend_from_slice(&suid.to_be_bytes());
            self.out.extend_from_slice(&[0x02, 0x00, 0x01, code]);
            self.utf("value");
            self.out.push(TC_ENDBLOCKDATA);
            let h = self.handle();
            self.classes.insert(name, h);
            self.number_desc();
        }
        let h = self.handle();
        if cacheable {
            self.cached.insert((which, value), h);
        }
        match code {
            b'S' => self.out.extend_from_slice(&(value as i16).to_be_bytes()),
            b'I' => self.out.extend_from_slice(&(value as i32).to_be_bytes()),
            _ => self.out.extend_from_slice(&value.to_be_bytes()),
        }
    }
}

/// Java's modified UTF-8: NUL as two bytes, characters beyond the BMP as two surrogates.
fn modified_utf8(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for unit in s.encode_utf16() {
        match unit {
            1..=0x7f => out.push(unit as u8),
            0 | 0x80..=0x7ff => {
                out.push(0xc0 | (unit >> 6) as u8);
                out.push(0x80 | (unit & 0x3f) as u8);
            }
            _ => {
                out.push(0xe0 | (unit >> 12) as u8);
                out.push(0x80 | ((unit >> 6) & 0x3f) as u8);
                out.push(0x80 | (unit & 0x3f) as u8);
            }
        }
    }
    out
}

fn from_modified_utf8(b: &[u8]) -> Option<String> {
    let mut units = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i] as u16;
        if c < 0x80 {
            units.push(c);
            i += 1;
        } else if c & 0xe0 == 0xc0 {
            units.push(((c & 0x1f) << 6) | (*b.get(i + 1)? as u16 & 0x3f));
            i += 2;
        } else {
            units.push(
                ((c & 0x0f) << 12)
                    | ((*b.get(i + 1)? as u16 & 0x3f) << 6)
                    | (*b.get(i + 2)? as u16 & 0x3f),
            );
            i += 3;
        }
    }
    String::from_utf16(&units).ok()
}

/// Debezium's hex string of `key` (`None`: a serialized null).
pub fn encode(key: Option<&[KeyPart]>) -> String {
    let mut w = Writer {
        out: MAGIC.to_vec(),
        next: 0,
        classes: HashMap::new(),
        cached: HashMap::new(),
    };
    match key {
        None => w.out.push(TC_NULL),
        Some(parts) => {
            w.out.extend_from_slice(&[TC_ARRAY, TC_CLASSDESC]);
            w.utf("[Ljava.lang.Object;");
            w.out.extend_from_slice(&OBJECT_ARRAY_SUID.to_be_bytes());
            w.out
                .extend_from_slice(&[0x02, 0x00, 0x00, TC_ENDBLOCKDATA, TC_NULL]);
            w.handle();
            w.handle();
            w.out.extend_from_slice(&(parts.len() as u32).to_be_bytes());
            for p in parts {
                match p {
                    KeyPart::Null => w.out.push(TC_NULL),
                    KeyPart::Short(v) => w.boxed(0, *v as i64),
                    KeyPart::Int(v) => w.boxed(1, *v as i64),
                    KeyPart::Long(v) => w.boxed(2, *v),
                    KeyPart::Str(s) => {
                        w.out.push(TC_STRING);
                        w.utf(s);
                        w.handle();
                    }
                }
            }
        }
    }
    let mut hex = String::with_capacity(w.out.len() * 2);
    for b in w.out {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

#[derive(Clone)]
enum Handle {
    Class { name: String, code: Option<u8> },
    Value(KeyPart),
    Other,
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
    handles: Vec<Handle>,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.b.get(self.at..self.at + n)?;
        self.at += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
    fn utf(&mut self) -> Option<String> {
        let n = self.u16()? as usize;
        from_modified_utf8(self.take(n)?)
    }
    fn reference(&mut self) -> Option<Handle> {
        let h = self.u32()?.checked_sub(BASE_HANDLE)? as usize;
        self.handles.get(h).cloned()
    }

    /// A class descriptor (new, referenced or null): its name and its `value` field's type.
    fn class_desc(&mut self) -> Option<Option<(String, Option<u8>)>> {
        match self.u8()? {
            TC_NULL => Some(None),
            TC_REFERENCE => match self.reference()? {
                Handle::Class { name, code } => Some(Some((name, code))),
                _ => None,
            },
            TC_CLASSDESC => {
                let name = self.utf()?;
                self.take(8)?;
                let _flags = self.u8()?;
                let fields = self.u16()?;
                let mut code = None;
                for _ in 0..fields {
                    let c = self.u8()?;
                    let _name = self.utf()?;
                    if c == b'L' || c == b'[' {
                        return None;
                    }
                    code = Some(c);
                }
                if self.u8()? != TC_ENDBLOCKDATA {
                    return None;
                }
                self.handles.push(Handle::Class {
                    name: name.clone(),
                    code,
                });
                let _super = self.class_desc()?;
                Some(Some((name, code)))
            }
            _ => None,
        }
    }

    fn element(&mut self) -> Option<KeyPart> {
        match self.u8()? {
            TC_NULL => Some(KeyPart::Null),
            TC_REFERENCE => match self.reference()? {
                Handle::Value(v) => Some(v),
                _ => None,
            },
            TC_STRING => {
                let s = self.utf()?;
                self.handles.push(Handle::Value(KeyPart::Str(s.clone())));
                Some(KeyPart::Str(s))
            }
            TC_OBJECT => {
                let (name, code) = self.class_desc()??;
                let slot = self.handles.len();
                self.handles.push(Handle::Other);
                let v = match (name.as_str(), code?) {
                    ("java.lang.Short", b'S') => {
                        KeyPart::Short(i16::from_be_bytes(self.take(2)?.try_into().ok()?))
                    }
                    ("java.lang.Integer", b'I') => {
                        KeyPart::Int(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
                    }
                    ("java.lang.Long", b'J') => {
                        KeyPart::Long(i64::from_be_bytes(self.take(8)?.try_into().ok()?))
                    }
                    _ => return None,
                };
                self.handles[slot] = Handle::Value(v.clone());
                Some(v)
            }
            _ => None,
        }
    }
}

/// The key a Debezium hex string holds: `Ok(None)` for a serialized null, `Err` for what is
/// not an `Object[]` of the known types.
pub fn decode(hex: &str) -> Result<Option<Vec<KeyPart>>, String> {
    let bad = || {
        format!("'{hex}' is not a serialized key kconnect can read (an Object[] of Short, Integer, Long and String values)")
    };
    if hex.len() % 2 != 0 {
        return Err(bad());
    }
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    let mut r = Reader {
        b: &bytes,
        at: 0,
        handles: Vec::new(),
    };
    let parse = |r: &mut Reader<'_>| -> Option<Option<Vec<KeyPart>>> {
        if r.take(4)? != MAGIC {
            return None;
        }
        match r.u8()? {
            TC_NULL => Some(None),
            TC_ARRAY => {
                let (name, _) = r.class_desc()??;
                if name != "[Ljava.lang.Object;" {
                    return None;
                }
                r.handles.push(Handle::Other);
                let n = r.u32()?;
                let mut out = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    out.push(r.element()?);
                }
                Some(Some(out))
            }
            _ => None,
        }
    };
    parse(&mut r).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made by the JVM (ObjectOutputStream of new Object[]{1, "a'b", 5L, (short) 3, 7},
    // null and new Object[]{2, 3}, through Debezium's HexConverter).
    const MIXED: &str = "aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c020000787000000005737200116a6176612e6c616e672e496e746567657212e2a0a4f781873802000149000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b0200007870000000017400036127627372000e6a6176612e6c616e672e4c6f6e673b8be490cc8f23df0200014a000576616c75657871007e000300000000000000057372000f6a6176612e6c616e672e53686f7274684d37133460da5202000153000576616c75657871007e000300037371007e000200000007";
    const TWO: &str = "aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c020000787000000002737200116a6176612e6c616e672e496e746567657212e2a0a4f781873802000149000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b0200007870000000027371007e000200000003";

    #[test]
    fn keys_are_written_as_the_jvm_writes_them() {
        let mixed = [
            KeyPart::Int(1),
            KeyPart::Str("a'b".into()),
            KeyPart::Long(5),
            KeyPart::Short(3),
            KeyPart::Int(7),
        ];
        assert_eq!(encode(Some(&mixed)), MIXED);
        assert_eq!(encode(None), "aced000570");
        assert_eq!(encode(Some(&[KeyPart::Int(2), KeyPart::Int(3)])), TWO);
        assert_eq!(decode(MIXED).unwrap().unwrap(), mixed);
        assert_eq!(decode("aced000570").unwrap(), None);
    }

    #[test]
    fn cached_boxes_are_back_references() {
        let k = [
            KeyPart::Int(2),
            KeyPart::Int(2),
            KeyPart::Int(1000),
            KeyPart::Int(1000),
        ];
        let hex = encode(Some(&k));
        assert!(
            hex.contains("7371007e0002000003e8"),
            "a large Integer is a new object"
        );
        assert_eq!(decode(&hex).unwrap().unwrap(), k);
        let s = [KeyPart::Str("é\u{0}😀".into()), KeyPart::Null];
        assert_eq!(decode(&encode(Some(&s))).unwrap().unwrap(), s);
        assert!(decode("aced0005").is_err());
    }
}
