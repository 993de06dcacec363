//! A schema's text as Confluent registers it: `ProtobufSchema.canonicalString()`, which prints
//! the file element made from the descriptor with `ProtobufSchemaUtils.toString` (not Wire's
//! own printer). The registry compares schemas by this text, so every space counts.

use super::model::{Enum, Field, File, Label, Message, Syntax};

/// Confluent's `appendIndented`: every line of `value` two spaces in, an empty line included
/// (Java's `split("\n")` drops only the trailing empty lines).
fn indented(out: &mut String, value: &str) {
    let trimmed = value.trim_end_matches('\n');
    for line in trimmed.split('\n') {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
}

pub fn escape(s: &str) -> String {
    let mut b = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\u{7}' => b.push_str("\\a"),
            '\u{8}' => b.push_str("\\b"),
            '\u{c}' => b.push_str("\\f"),
            '\n' => b.push_str("\\n"),
            '\r' => b.push_str("\\r"),
            '\t' => b.push_str("\\t"),
            '\u{b}' => b.push_str("\\v"),
            '\\' => b.push_str("\\\\"),
            '\'' => b.push_str("\\'"),
            '"' => b.push_str("\\\""),
            c => b.push(c),
        }
    }
    b
}

pub fn file(f: &File) -> String {
    let mut s = String::new();
    s.push_str(match f.syntax {
        Syntax::Proto2 => "syntax = \"proto2\";\n",
        Syntax::Proto3 => "syntax = \"proto3\";\n",
    });
    if let Some(p) = &f.package {
        s.push_str("package ");
        s.push_str(p);
        s.push_str(";\n");
    }
    if !f.imports.is_empty() || !f.public_imports.is_empty() {
        s.push('\n');
        for i in &f.imports {
            s.push_str(&format!("import \"{i}\";\n"));
        }
        for i in &f.public_imports {
            s.push_str(&format!("import public \"{i}\";\n"));
        }
    }
    if !f.messages.is_empty() || !f.enums.is_empty() {
        s.push('\n');
        for m in &f.messages {
            s.push_str(&message(m));
        }
        for e in &f.enums {
            s.push_str(&enumeration(e));
        }
    }
    s
}

fn message(m: &Message) -> String {
    let mut s = format!("message {} {{", m.name);
    if m.map_entry {
        s.push('\n');
        indented(&mut s, "option map_entry = true;\n");
    }
    let plain: Vec<&Field> = m
        .fields
        .iter()
        .filter(|f| f.oneof.is_none() || f.proto3_optional)
        .collect();
    if !plain.is_empty() {
        s.push('\n');
        for f in plain {
            indented(&mut s, &field(f));
        }
    }
    let oneofs: Vec<(usize, &str)> = m
        .oneofs
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            m.fields
                .iter()
                .any(|f| f.oneof == Some(*i) && !f.proto3_optional)
        })
        .map(|(i, o)| (i, o.name.as_str()))
        .collect();
    if !oneofs.is_empty() {
        s.push('\n');
        for (i, name) in oneofs {
            let mut o = format!("oneof {name} {{\n");
            for f in m.fields.iter().filter(|f| f.oneof == Some(i)) {
                indented(&mut o, &field(f));
            }
            o.push_str("}\n");
            indented(&mut s, &o);
        }
    }
    if !m.messages.is_empty() || !m.enums.is_empty() {
        s.push('\n');
        for n in &m.messages {
            indented(&mut s, &message(n));
        }
        for e in &m.enums {
            indented(&mut s, &enumeration(e));
        }
    }
    s.push_str("}\n");
    s
}

fn enumeration(e: &Enum) -> String {
    let mut s = format!("enum {} {{", e.name);
    if !e.values.is_empty() {
        s.push('\n');
        for (name, n) in &e.values {
            indented(&mut s, &format!("{name} = {n};\n"));
        }
    }
    s.push_str("}\n");
    s
}

fn field(f: &Field) -> String {
    let mut s = String::new();
    match f.label {
        Label::Optional => s.push_str("optional "),
        Label::Required => s.push_str("required "),
        Label::Repeated => s.push_str("repeated "),
        Label::Plain => {}
    }
    s.push_str(&format!("{} {} = {}", f.type_name, f.name, f.number));
    let mut options: Vec<String> = Vec::new();
    if let Some(p) = f.packed {
        options.push(format!("packed = {p}"));
    }
    if f.deprecated_false {
        options.push("deprecated = false".into());
    }
    if !f.params.is_empty() {
        options.push(field_meta(&f.params));
    }
    if let Some(d) = &f.default {
        options.push(format!("default = {d}"));
    }
    match options.len() {
        0 => {}
        1 => s.push_str(&format!(" [{}]", options[0])),
        n => {
            s.push_str(" [\n");
            for (i, o) in options.iter().enumerate() {
                let end = if i + 1 < n { "," } else { "" };
                indented(&mut s, &format!("{o}{end}"));
            }
            s.push(']');
        }
    }
    s.push_str(";\n");
    s
}

/// `(confluent.field_meta) = { params: [ { key: .., value: .. }, .. ] }`; Confluent prints
/// `value` before `key` for `precision` and `scale`, for compatibility with older versions.
fn field_meta(params: &[(String, String)]) -> String {
    let mut list = String::from("[\n");
    for (i, (k, v)) in params.iter().enumerate() {
        let end = if i + 1 < params.len() { "," } else { "" };
        let (first, second) = if k == "precision" || k == "scale" {
            (
                format!("value: \"{}\",", escape(v)),
                format!("key: \"{}\"", escape(k)),
            )
        } else {
            (
                format!("key: \"{}\",", escape(k)),
                format!("value: \"{}\"", escape(v)),
            )
        };
        let mut entry = String::from("{\n");
        indented(&mut entry, &first);
        indented(&mut entry, &second);
        entry.push('}');
        indented(&mut list, &format!("{entry}{end}"));
    }
    list.push(']');
    let mut map = String::from("(confluent.field_meta) = {\n");
    indented(&mut map, &format!("params: {list}"));
    map.push('}');
    map
}
