//! slot.stream.params: options of the logical decoding plugin, added to START_REPLICATION
//! as Debezium hands them to the JDBC driver's stream builder.

use crate::api::InvalidConfig;

const KEY: &str = "slot.stream.params";

/// Values PostgreSQL's boolean parsing reads as false: the only ones of binary, streaming
/// and two_phase that leave the stream as kconnect (and Debezium) decodes it.
const FALSE: &[&str] = &["false", "f", "no", "n", "off", "0"];

/// `k=v;k2=v2` as Debezium splits it, each option checked: those that collide with the
/// options Debezium (and kconnect) sets, or would change the stream kconnect decodes, are
/// refused; the rest go to the server, which refuses those the plugin does not know.
pub fn parse(value: &str) -> Result<Vec<(String, String)>, InvalidConfig> {
    let invalid = |reason: String| InvalidConfig {
        key: KEY.into(),
        value: value.to_string(),
        reason,
    };
    let mut out = Vec::new();
    for entry in value.split(';').filter(|e| !e.trim().is_empty()) {
        let Some((name, v)) = entry
            .split_once('=')
            .filter(|(n, v)| !n.is_empty() && !v.is_empty() && !v.contains('='))
        else {
            // Debezium logs such an entry as invalid and leaves it out.
            return Err(invalid(format!(
                "'{entry}' is not an option=value pair; write the options as name=value separated by ';' (e.g. origin=any)"
            )));
        };
        if let Some(why) = refused(name, v) {
            return Err(invalid(format!("option {name}{why}")));
        }
        out.push((name.to_string(), v.to_string()));
    }
    Ok(out)
}

fn refused(name: &str, value: &str) -> Option<String> {
    let off = FALSE.iter().any(|f| f.eq_ignore_ascii_case(value.trim()));
    Some(match name {
        "proto_version" | "publication_names" => " is set by the connector itself (proto_version 1, publication_names from publication.name), and Debezium's own value replaces this one: remove it".into(),
        "messages" => " is set by the connector itself (true from PostgreSQL 14 on, where Debezium's own value replaces this one; older servers do not know it): remove it, and use message.prefix.include.list/message.prefix.exclude.list to choose the logical decoding messages emitted".into(),
        "binary" if !off => format!(
            "={value} makes pgoutput send values in binary, which kconnect does not decode (it reads the text form Debezium reads): remove it"
        ),
        "streaming" if !off => format!(
            "={value} makes pgoutput stream transactions in progress, which needs protocol version 2 while the connector asks for 1, so the server would refuse to stream: remove it"
        ),
        "two_phase" if !off => format!(
            "={value} makes pgoutput send prepared transactions, which needs protocol version 3 while the connector asks for 1, so the server would refuse to stream: remove it"
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_split_as_debezium_splits_them() {
        assert_eq!(parse("").unwrap(), vec![]);
        assert_eq!(
            parse("origin=any;binary=false;").unwrap(),
            vec![
                ("origin".to_string(), "any".to_string()),
                ("binary".to_string(), "false".to_string())
            ]
        );
        for bad in ["origin", "origin=", "=any", "a=b=c"] {
            let e = parse(bad).unwrap_err();
            assert!(
                e.reason.contains("not an option=value pair"),
                "{bad}: {e:?}"
            );
        }
    }

    #[test]
    fn options_that_collide_or_change_the_wire_format_are_refused_by_name() {
        for (params, named) in [
            ("proto_version=2", "proto_version"),
            ("origin=any;publication_names=other", "publication_names"),
            ("messages=false", "messages"),
            ("binary=true", "binary=true"),
            ("streaming=on", "streaming=on"),
            ("two_phase=1", "two_phase=1"),
        ] {
            let e = parse(params).unwrap_err();
            assert_eq!(e.key, "slot.stream.params");
            assert!(
                e.reason.contains(&format!("option {named}")),
                "{params}: {}",
                e.reason
            );
        }
        assert!(parse("binary=off;streaming=false;two_phase=0").is_ok());
    }
}
