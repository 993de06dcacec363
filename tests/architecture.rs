//! The floors of issue #14, checked: a module may use what lives on its own floor's module or
//! below, never above, and the plugins and peers on floor 2 do not use each other. Read as
//! text (every `crate::X` path, every `use crate::{X, ..}` group, and `kconnect::X` in
//! main.rs), so a new upward arrow fails here with its file and line.

use std::path::{Path, PathBuf};

/// Every top-level module and its floor, lowest first. A module missing here fails the test:
/// a new module has to say where it stands.
const FLOORS: &[(&str, u8)] = &[
    ("data", 0),
    ("api", 1),
    ("config", 2),
    ("connectors", 2),
    ("convert", 2),
    ("offsets", 2),
    ("transform", 2),
    ("runtime", 3),
    ("commands", 4),
    // The binary, thin over `commands`.
    ("main", 5),
];

/// Uses between floor-2 peers that are allowed, each with its reason: (from file prefix, to
/// module, why).
const ALLOWED_PEERS: &[(&str, &str, &str)] = &[(
    "src/transform/golden_tests.rs",
    "convert",
    "a test: transforms' output compared with Connect's through the JSON converter",
)];

fn floor_of(module: &str) -> Option<u8> {
    FLOORS.iter().find(|(m, _)| *m == module).map(|(_, f)| *f)
}

/// The top-level module a source file belongs to: `src/runtime/sink.rs` is in `runtime`.
fn module_of(path: &str) -> Option<String> {
    let rest = path.strip_prefix("src/")?;
    let first = rest.split('/').next()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib").then(|| name.to_string())
}

/// The code of a line without its `//` comment (a doc comment may name `crate::runtime`) and
/// with string literals blanked (a message may, too).
fn code_of(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    let mut in_str = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_str => {
                chars.next();
                out.push_str("  ");
                continue;
            }
            '"' => in_str = !in_str,
            '/' if !in_str && chars.peek() == Some(&'/') => break,
            _ if in_str => {
                out.push(' ');
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Every top-level module `text` refers to through `prefix` (`crate::` or `kconnect::`), with
/// its 1-based line.
fn references(text: &str, prefix: &str) -> Vec<(usize, String)> {
    let code: String = text.lines().map(code_of).collect::<Vec<_>>().join("\n");
    let line_at = |offset: usize| code[..offset].matches('\n').count() + 1;
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = code[from..].find(prefix) {
        let at = from + found;
        from = at + prefix.len();
        // `$crate::` in macros and `my_crate::` are not this crate's paths.
        if at > 0 && (is_ident(code.as_bytes()[at - 1]) || code.as_bytes()[at - 1] == b'$') {
            continue;
        }
        let rest = &code[from..];
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a::b, c, d::{e, f}}`: the first name of each top-level item.
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_alphanumeric() || c == '_') => {
                        item_start = false;
                        let name: String = group[i..]
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        out.push((line_at(from + 1 + i), name));
                    }
                    _ => {}
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push((line_at(at), name));
            }
        }
    }
    out
}

/// The rule broken by each reference of `path`'s text, as `file:line: message`.
fn violations(path: &str, text: &str) -> Vec<String> {
    let Some(module) = module_of(path) else {
        return Vec::new();
    };
    let Some(floor) = floor_of(&module) else {
        return vec![format!(
            "{path}: module `{module}` has no floor; add it to FLOORS in tests/architecture.rs"
        )];
    };
    let prefix = if module == "main" {
        "kconnect::"
    } else {
        "crate::"
    };
    let mut out = Vec::new();
    for (line, target) in references(text, prefix) {
        if target == module || target == "self" || target == "super" {
            continue;
        }
        let Some(target_floor) = floor_of(&target) else {
            out.push(format!(
                "{path}:{line}: {prefix}{target} is no module with a floor"
            ));
            continue;
        };
        if target_floor > floor {
            out.push(format!(
                "{path}:{line}: {module} (floor {floor}) uses {target} (floor {target_floor}), a higher floor"
            ));
        } else if target_floor == floor
            && !ALLOWED_PEERS
                .iter()
                .any(|(file, to, _)| path.starts_with(file) && *to == target)
        {
            out.push(format!(
                "{path}:{line}: {module} uses its peer {target} on floor {floor}; move what both need down, or allow it in ALLOWED_PEERS with a reason"
            ));
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_module_uses_a_higher_floor_or_a_peer() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    assert!(files.len() > 20, "found only {} files", files.len());
    let mut all = Vec::new();
    for file in &files {
        let rel = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        all.extend(violations(&rel, &std::fs::read_to_string(file).unwrap()));
    }
    assert!(
        all.is_empty(),
        "{} imports break the floors (data 0, api 1, plugins and peers 2, runtime 3, commands 4):\n{}",
        all.len(),
        all.join("\n")
    );
}

#[test]
fn the_check_finds_upward_and_peer_imports() {
    let text = "//! Docs may name crate::runtime.\n\
                use crate::data::Value;\n\
                use crate::{\n    api::ConnectError,\n    runtime::worker,\n};\n\
                fn f() { crate::transform::validate(); let s = \"crate::commands\"; }\n";
    let found = violations("src/connectors/x.rs", text);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0].starts_with("src/connectors/x.rs:5: connectors (floor 2) uses runtime"));
    assert!(found[1].starts_with("src/connectors/x.rs:7: connectors uses its peer transform"));
    assert_eq!(
        violations("src/newthing.rs", "")[0],
        "src/newthing.rs: module `newthing` has no floor; add it to FLOORS in tests/architecture.rs"
    );
    assert!(violations("src/main.rs", "use kconnect::commands;\n").is_empty());
    assert!(!violations("src/data/value.rs", "crate::convert::json::x()").is_empty());
}
