//! Reading `.proto` text (proto2 and proto3) into the model: what a registry holds for a schema
//! id, whoever registered it. Services, extensions, reserved ranges and options other than
//! `packed`, `default` and `(confluent.field_meta)` are read and passed over, since they do
//! not change how a message is encoded or what Connect schema it becomes. Groups and editions
//! are refused by name.

use super::model::{Enum, Field, File, Kind, Label, Message, Oneof, Scalar, Syntax, Types};

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(String),
    Sym(char),
}

struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
    line: usize,
}

pub type ParseError = String;

impl<'a> Lexer<'a> {
    fn error(&self, what: &str) -> ParseError {
        format!("line {}: {what}", self.line)
    }

    fn skip_space(&mut self) {
        while self.pos < self.s.len() {
            let c = self.s[self.pos];
            if c == b'\n' {
                self.line += 1;
                self.pos += 1;
            } else if c.is_ascii_whitespace() {
                self.pos += 1;
            } else if self.s[self.pos..].starts_with(b"//") {
                while self.pos < self.s.len() && self.s[self.pos] != b'\n' {
                    self.pos += 1;
                }
            } else if self.s[self.pos..].starts_with(b"/*") {
                self.pos += 2;
                while self.pos < self.s.len() && !self.s[self.pos..].starts_with(b"*/") {
                    if self.s[self.pos] == b'\n' {
                        self.line += 1;
                    }
                    self.pos += 1;
                }
                self.pos = (self.pos + 2).min(self.s.len());
            } else {
                break;
            }
        }
    }

    fn next(&mut self) -> Result<Option<Tok>, ParseError> {
        self.skip_space();
        let Some(&c) = self.s.get(self.pos) else {
            return Ok(None);
        };
        if c.is_ascii_alphabetic() || c == b'_' || (c == b'.' && self.ident_follows()) {
            let start = self.pos;
            self.pos += 1;
            while self.pos < self.s.len() {
                let d = self.s[self.pos];
                if d.is_ascii_alphanumeric() || d == b'_' || (d == b'.' && self.ident_follows()) {
                    self.pos += 1;
                } else {
                    break;
                }
            }
            let t = String::from_utf8_lossy(&self.s[start..self.pos]).into_owned();
            return Ok(Some(Tok::Ident(t)));
        }
        if c.is_ascii_digit()
            || (c == b'-'
                && self
                    .s
                    .get(self.pos + 1)
                    .is_some_and(|d| d.is_ascii_digit() || *d == b'.'))
        {
            let start = self.pos;
            self.pos += 1;
            while self.pos < self.s.len() {
                let d = self.s[self.pos];
                if d.is_ascii_alphanumeric()
                    || d == b'.'
                    || ((d == b'-' || d == b'+') && matches!(self.s[self.pos - 1], b'e' | b'E'))
                {
                    self.pos += 1;
                } else {
                    break;
                }
            }
            let t = String::from_utf8_lossy(&self.s[start..self.pos]).into_owned();
            return Ok(Some(Tok::Num(t)));
        }
        if c == b'"' || c == b'\'' {
            let mut out = Vec::new();
            // Adjacent string literals are one string.
            loop {
                let q = self.s[self.pos];
                self.pos += 1;
                loop {
                    let Some(&d) = self.s.get(self.pos) else {
                        return Err(self.error("unterminated string"));
                    };
                    self.pos += 1;
                    if d == q {
                        break;
                    }
                    if d != b'\\' {
                        out.push(d);
                        continue;
                    }
                    let Some(&e) = self.s.get(self.pos) else {
                        return Err(self.error("unterminated string"));
                    };
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'a' => out.push(7),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'v' => out.push(11),
                        b'x' | b'X' => {
                            let mut v = 0u32;
                            let mut n = 0;
                            while n < 2
                                && self.s.get(self.pos).is_some_and(|h| h.is_ascii_hexdigit())
                            {
                                v = v * 16 + (self.s[self.pos] as char).to_digit(16).unwrap_or(0);
                                self.pos += 1;
                                n += 1;
                            }
                            out.push(v as u8);
                        }
                        b'0'..=b'7' => {
                            let mut v = (e - b'0') as u32;
                            let mut n = 1;
                            while n < 3
                                && self
                                    .s
                                    .get(self.pos)
                                    .is_some_and(|o| (b'0'..=b'7').contains(o))
                            {
                                v = v * 8 + (self.s[self.pos] - b'0') as u32;
                                self.pos += 1;
                                n += 1;
                            }
                            out.push(v as u8);
                        }
                        other => out.push(other),
                    }
                }
                self.skip_space();
                if !matches!(self.s.get(self.pos), Some(b'"') | Some(b'\'')) {
                    break;
                }
            }
            return Ok(Some(Tok::Str(String::from_utf8_lossy(&out).into_owned())));
        }
        self.pos += 1;
        Ok(Some(Tok::Sym(c as char)))
    }

    fn ident_follows(&self) -> bool {
        self.s
            .get(self.pos + 1)
            .is_some_and(|d| d.is_ascii_alphabetic() || *d == b'_')
    }
}

struct Parser<'a> {
    lex: Lexer<'a>,
    peeked: Option<Tok>,
}

/// An option's value: a constant, or a text-format aggregate.
#[derive(Debug)]
enum Agg {
    Scalar(String),
    Map(Vec<(String, Agg)>),
    List(Vec<Agg>),
}

impl<'a> Parser<'a> {
    fn peek(&mut self) -> Result<Option<&Tok>, ParseError> {
        if self.peeked.is_none() {
            self.peeked = self.lex.next()?;
        }
        Ok(self.peeked.as_ref())
    }

    fn next(&mut self) -> Result<Tok, ParseError> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self
                .lex
                .next()?
                .ok_or_else(|| self.lex.error("unexpected end of the schema")),
        }
    }

    fn expect(&mut self, c: char) -> Result<(), ParseError> {
        match self.next()? {
            Tok::Sym(d) if d == c => Ok(()),
            other => Err(self.lex.error(&format!("expected '{c}', found {other:?}"))),
        }
    }

    fn is_sym(&mut self, c: char) -> Result<bool, ParseError> {
        Ok(matches!(self.peek()?, Some(Tok::Sym(d)) if *d == c))
    }

    fn eat_sym(&mut self, c: char) -> Result<bool, ParseError> {
        if self.is_sym(c)? {
            self.next()?;
            return Ok(true);
        }
        Ok(false)
    }

    fn ident(&mut self) -> Result<String, ParseError> {
        match self.next()? {
            Tok::Ident(s) => Ok(s),
            other => Err(self.lex.error(&format!("expected a name, found {other:?}"))),
        }
    }

    fn string(&mut self) -> Result<String, ParseError> {
        match self.next()? {
            Tok::Str(s) => Ok(s),
            other => Err(self
                .lex
                .error(&format!("expected a string, found {other:?}"))),
        }
    }

    fn int(&mut self) -> Result<i64, ParseError> {
        let t = self.next()?;
        let s = match &t {
            Tok::Num(s) => s.clone(),
            Tok::Ident(s) if s == "max" => return Ok(536_870_911),
            _ => return Err(self.lex.error(&format!("expected a number, found {t:?}"))),
        };
        parse_int(&s).ok_or_else(|| self.lex.error(&format!("bad number {s}")))
    }

    /// Passes over everything up to the `;` ending a statement, or a `{ ... }` block.
    fn skip_statement(&mut self) -> Result<(), ParseError> {
        let mut depth = 0usize;
        loop {
            match self.next()? {
                Tok::Sym(';') if depth == 0 => return Ok(()),
                Tok::Sym('{') => depth += 1,
                Tok::Sym('}') => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        // A block statement (service, extend) ends at its brace; a `;` may follow.
                        self.eat_sym(';')?;
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
    }

    fn option_name(&mut self) -> Result<String, ParseError> {
        let mut name = String::new();
        loop {
            if self.eat_sym('(')? {
                name.push('(');
                name.push_str(&self.ident()?);
                self.expect(')')?;
                name.push(')');
            } else {
                name.push_str(&self.ident()?);
            }
            if self.is_sym('.')? {
                self.next()?;
                name.push('.');
                continue;
            }
            match self.peek()? {
                // `(a).b` lexes `.b` as one name.
                Some(Tok::Ident(s)) if s.starts_with('.') => {
                    let s = s.clone();
                    self.next()?;
                    name.push_str(&s);
                }
                _ => return Ok(name),
            }
        }
    }

    fn value(&mut self) -> Result<Agg, ParseError> {
        if self.eat_sym('{')? {
            return self.aggregate('}');
        }
        if self.eat_sym('[')? {
            let mut items = Vec::new();
            while !self.eat_sym(']')? {
                items.push(self.value()?);
                self.eat_sym(',')?;
            }
            return Ok(Agg::List(items));
        }
        match self.next()? {
            Tok::Ident(s) | Tok::Str(s) | Tok::Num(s) => Ok(Agg::Scalar(s)),
            Tok::Sym('-') => match self.next()? {
                Tok::Ident(s) | Tok::Num(s) => Ok(Agg::Scalar(format!("-{s}"))),
                other => Err(self.lex.error(&format!("bad option value -{other:?}"))),
            },
            other => Err(self.lex.error(&format!("bad option value {other:?}"))),
        }
    }

    fn aggregate(&mut self, close: char) -> Result<Agg, ParseError> {
        let mut entries = Vec::new();
        loop {
            if self.eat_sym(close)? {
                return Ok(Agg::Map(entries));
            }
            let key = if self.eat_sym('[')? {
                let k = self.ident()?;
                self.expect(']')?;
                k
            } else {
                self.ident()?
            };
            self.eat_sym(':')?;
            let v = self.value()?;
            entries.push((key, v));
            if !self.eat_sym(',')? {
                self.eat_sym(';')?;
            }
        }
    }

    fn field_options(&mut self, f: &mut Field) -> Result<(), ParseError> {
        if !self.eat_sym('[')? {
            return Ok(());
        }
        loop {
            let name = self.option_name()?;
            self.expect('=')?;
            let v = self.value()?;
            match (name.as_str(), v) {
                ("packed", Agg::Scalar(b)) => f.packed = Some(b == "true"),
                ("default", Agg::Scalar(d)) => f.default = Some(d),
                ("(confluent.field_meta)", agg) => f.params = meta_params(&agg),
                _ => {}
            }
            if self.eat_sym(']')? {
                return Ok(());
            }
            self.expect(',')?;
        }
    }

    fn enumeration(&mut self) -> Result<Enum, ParseError> {
        let name = self.ident()?;
        self.expect('{')?;
        let mut e = Enum {
            name,
            ..Default::default()
        };
        loop {
            match self.next()? {
                Tok::Sym('}') => return Ok(e),
                Tok::Sym(';') => {}
                Tok::Ident(k) if k == "option" || k == "reserved" => self.skip_statement()?,
                Tok::Ident(v) => {
                    self.expect('=')?;
                    let n = self.int()?;
                    if self.is_sym('[')? {
                        let mut scratch = Field::new("", 0, Label::Plain, "int32");
                        self.field_options(&mut scratch)?;
                    }
                    self.expect(';')?;
                    e.values.push((v, n as i32));
                }
                other => return Err(self.lex.error(&format!("unexpected {other:?} in enum"))),
            }
        }
    }

    fn field(
        &mut self,
        label: Label,
        type_name: String,
        syntax: Syntax,
    ) -> Result<Field, ParseError> {
        let name = self.ident()?;
        self.expect('=')?;
        let number = self.int()? as i32;
        let mut f = Field::new(name, number, label, &type_name);
        if label == Label::Optional && syntax == Syntax::Proto3 {
            f.proto3_optional = true;
        }
        self.field_options(&mut f)?;
        self.expect(';')?;
        Ok(f)
    }

    fn message(&mut self, syntax: Syntax) -> Result<Message, ParseError> {
        let name = self.ident()?;
        self.expect('{')?;
        let mut m = Message::new(name);
        self.message_body(&mut m, syntax, None)?;
        Ok(m)
    }

    /// Fields, nested types and oneofs up to the closing brace; `oneof` is the index of the
    /// oneof being read, whose body holds only fields and options.
    fn message_body(
        &mut self,
        m: &mut Message,
        syntax: Syntax,
        oneof: Option<usize>,
    ) -> Result<(), ParseError> {
        loop {
            let t = self.next()?;
            let word = match t {
                Tok::Sym('}') => return Ok(()),
                Tok::Sym(';') => continue,
                Tok::Ident(w) => w,
                other => {
                    return Err(self
                        .lex
                        .error(&format!("unexpected {other:?} in message {}", m.name)))
                }
            };
            match word.as_str() {
                "message" if oneof.is_none() => {
                    let n = self.message(syntax)?;
                    m.messages.push(n);
                }
                "enum" if oneof.is_none() => {
                    let e = self.enumeration()?;
                    m.enums.push(e);
                }
                "oneof" if oneof.is_none() => {
                    let name = self.ident()?;
                    self.expect('{')?;
                    m.oneofs.push(Oneof {
                        name,
                        synthetic: false,
                    });
                    let i = m.oneofs.len() - 1;
                    self.message_body(m, syntax, Some(i))?;
                }
                "option" | "reserved" | "extensions" | "extend" => self.skip_statement()?,
                "group" => return Err(self.lex.error("groups are not supported")),
                "map" if self.is_sym('<')? => {
                    self.expect('<')?;
                    let k = self.ident()?;
                    self.expect(',')?;
                    let v = self.ident()?;
                    self.expect('>')?;
                    let mut f = self.field(Label::Repeated, String::new(), syntax)?;
                    let entry_name = format!("{}Entry", f.name);
                    let mut entry = Message::new(entry_name.clone());
                    entry.map_entry = true;
                    entry.fields.push(Field::new("key", 1, Label::Plain, &k));
                    entry.fields.push(Field::new("value", 2, Label::Plain, &v));
                    m.messages.push(entry);
                    f.type_name = entry_name.clone();
                    f.kind = Kind::Message(entry_name);
                    f.oneof = oneof;
                    m.fields.push(f);
                }
                _ => {
                    let (label, type_name) = match word.as_str() {
                        "optional" => (Label::Optional, self.ident()?),
                        "required" => (Label::Required, self.ident()?),
                        "repeated" => (Label::Repeated, self.ident()?),
                        _ => (Label::Plain, word),
                    };
                    let mut f = self.field(label, type_name, syntax)?;
                    if f.proto3_optional {
                        m.oneofs.push(Oneof {
                            name: format!("_{}", f.name),
                            synthetic: true,
                        });
                        f.oneof = Some(m.oneofs.len() - 1);
                    } else {
                        f.oneof = oneof;
                    }
                    m.fields.push(f);
                }
            }
        }
    }
}

fn parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()?
    } else if body.len() > 1 && body.starts_with('0') {
        i64::from_str_radix(&body[1..], 8).ok()?
    } else {
        body.parse().ok()?
    };
    Some(if neg { -v } else { v })
}

/// `{ params: [ { key: "k", value: "v" }, ... ] }` (or `params` repeated) → the pairs.
fn meta_params(agg: &Agg) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Agg::Map(entries) = agg else {
        return out;
    };
    let mut push = |a: &Agg| {
        if let Agg::Map(kv) = a {
            let get = |n: &str| {
                kv.iter().find(|(k, _)| k == n).and_then(|(_, v)| match v {
                    Agg::Scalar(s) => Some(s.clone()),
                    _ => None,
                })
            };
            if let (Some(k), Some(v)) = (get("key"), get("value")) {
                out.push((k, v));
            }
        }
    };
    for (k, v) in entries {
        if k != "params" {
            continue;
        }
        match v {
            Agg::List(items) => items.iter().for_each(&mut push),
            other => push(other),
        }
    }
    out
}

/// Parses a file; types are named but not yet resolved (see [`resolve`]).
pub fn parse(text: &str) -> Result<File, ParseError> {
    let mut p = Parser {
        lex: Lexer {
            s: text.as_bytes(),
            pos: 0,
            line: 1,
        },
        peeked: None,
    };
    let mut f = File::new(None);
    f.syntax = Syntax::Proto2;
    while let Some(t) = p.peek()?.cloned() {
        p.next()?;
        match t {
            Tok::Sym(';') => {}
            Tok::Ident(w) => match w.as_str() {
                "syntax" => {
                    p.expect('=')?;
                    let s = p.string()?;
                    f.syntax = match s.as_str() {
                        "proto2" => Syntax::Proto2,
                        "proto3" => Syntax::Proto3,
                        other => return Err(format!("syntax \"{other}\" is not supported")),
                    };
                    p.expect(';')?;
                }
                "edition" => return Err("protobuf editions are not supported".into()),
                "package" => {
                    f.package = Some(p.ident()?);
                    p.expect(';')?;
                }
                "import" => {
                    let mut public = false;
                    if let Some(Tok::Ident(k)) = p.peek()? {
                        if k == "public" || k == "weak" {
                            public = k == "public";
                            p.next()?;
                        }
                    }
                    let path = p.string()?;
                    p.expect(';')?;
                    if public {
                        f.public_imports.push(path);
                    } else {
                        f.imports.push(path);
                    }
                }
                "option" | "service" | "extend" => p.skip_statement()?,
                "message" => {
                    let m = p.message(f.syntax)?;
                    f.messages.push(m);
                }
                "enum" => {
                    let e = p.enumeration()?;
                    f.enums.push(e);
                }
                other => return Err(p.lex.error(&format!("unexpected '{other}'"))),
            },
            other => return Err(p.lex.error(&format!("unexpected {other:?}"))),
        }
    }
    name_all(&mut f);
    Ok(f)
}

fn name_all(f: &mut File) {
    let proto2 = f.syntax == Syntax::Proto2;
    fn walk(m: &mut Message, scope: &str, proto2: bool) {
        m.proto2 = proto2;
        m.full_name = join(scope, &m.name);
        let full = m.full_name.clone();
        for e in &mut m.enums {
            e.full_name = join(&full, &e.name);
        }
        for n in &mut m.messages {
            walk(n, &full, proto2);
        }
    }
    let scope = f.package.clone().unwrap_or_default();
    for m in &mut f.messages {
        walk(m, &scope, proto2);
    }
    for e in &mut f.enums {
        e.full_name = join(&scope, &e.name);
    }
}

pub fn join(scope: &str, name: &str) -> String {
    if scope.is_empty() {
        name.to_string()
    } else {
        format!("{scope}.{name}")
    }
}

/// Resolves every field's message or enum type against `types` (which holds this file's and
/// its imports' types) by protobuf's scoping: the innermost enclosing scope first.
pub fn resolve(f: &mut File, types: &Types) -> Result<(), ParseError> {
    fn walk(m: &mut Message, types: &Types) -> Result<(), ParseError> {
        let scope = m.full_name.clone();
        for field in &mut m.fields {
            if matches!(field.kind, Kind::Scalar(_)) {
                continue;
            }
            field.kind = lookup(&scope, &field.type_name, types).ok_or_else(|| {
                format!(
                    "type {} of field {}.{} is not defined in the schema or its imports",
                    field.type_name, scope, field.name
                )
            })?;
        }
        for n in &mut m.messages {
            walk(n, types)?;
        }
        Ok(())
    }
    for m in &mut f.messages {
        walk(m, types)?;
    }
    Ok(())
}

fn lookup(scope: &str, name: &str, types: &Types) -> Option<Kind> {
    let found = |full: &str| {
        if types.messages.contains_key(full) {
            Some(Kind::Message(full.to_string()))
        } else if types.enums.contains_key(full) {
            Some(Kind::Enum(full.to_string()))
        } else {
            None
        }
    };
    if let Some(abs) = name.strip_prefix('.') {
        return found(abs);
    }
    let mut s = scope;
    loop {
        if let Some(k) = found(&join(s, name)) {
            return Some(k);
        }
        if s.is_empty() {
            return None;
        }
        s = match s.rfind('.') {
            Some(i) => &s[..i],
            None => "",
        };
    }
}

/// Whether `s` names a scalar type.
pub fn is_scalar(s: &str) -> bool {
    Scalar::from_name(s).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_messages_oneofs_maps_enums_and_meta() {
        let f = parse(
            r#"syntax = "proto3";
package a.b;
import "google/protobuf/timestamp.proto";
option java_package = "x";
/* block */ message M { // line
  reserved 2, 4 to max;
  option (x).y = { a: 1 };
  enum E { Z = 0; O = 1 [deprecated = true]; }
  message N { string s = 1; }
  int32 i = 1 [(confluent.field_meta) = { params: [ { key: "connect.type", value: "int8" } ] }];
  map<string, N> m = 3;
  oneof c { string e = 5; N n = 6; }
  optional E opt = 7;
  repeated sint32 r = 8 [packed = false, json_name = "rr"];
  .google.protobuf.Timestamp at = 9;
}
service S { rpc Go (M) returns (M); }
"#,
        )
        .unwrap();
        assert_eq!(f.package.as_deref(), Some("a.b"));
        let m = &f.messages[0];
        assert_eq!(m.full_name, "a.b.M");
        assert_eq!(
            m.field("i").unwrap().params,
            vec![("connect.type".into(), "int8".into())]
        );
        assert_eq!(m.messages[1].name, "mEntry");
        assert!(m.messages[1].map_entry);
        assert_eq!(m.field("e").unwrap().oneof, Some(0));
        assert!(m.field("opt").unwrap().proto3_optional);
        assert!(m.oneofs[1].synthetic);
        assert_eq!(m.field("r").unwrap().packed, Some(false));
        assert_eq!(m.enums[0].values, vec![("Z".into(), 0), ("O".into(), 1)]);
        let mut types = Types::default();
        types.add_file(&f);
        let mut ts = parse("syntax = \"proto3\"; package google.protobuf; message Timestamp { int64 seconds = 1; int32 nanos = 2; }").unwrap();
        types.add_file(&ts);
        resolve(&mut ts, &types).unwrap();
        let mut f2 = f.clone();
        resolve(&mut f2, &types).unwrap();
        let m = &f2.messages[0];
        assert_eq!(m.field("n").unwrap().kind, Kind::Message("a.b.M.N".into()));
        assert_eq!(m.field("opt").unwrap().kind, Kind::Enum("a.b.M.E".into()));
        assert_eq!(
            m.field("at").unwrap().kind,
            Kind::Message("google.protobuf.Timestamp".into())
        );
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert!(parse("edition = \"2023\";").is_err());
        assert!(parse("syntax = \"proto2\"; message M { repeated group G = 1 { } }").is_err());
        assert!(parse("message M { int32 a = ; }").is_err());
        let mut f = parse("syntax = \"proto3\"; message M { Missing m = 1; }").unwrap();
        assert!(resolve(&mut f, &Types::default()).is_err());
    }
}
