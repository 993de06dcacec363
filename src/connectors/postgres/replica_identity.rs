//! replica.identity.autoset.values: REPLICA IDENTITY set on captured tables at every start,
//! as Debezium's `ReplicaIdentityMapper` does after the publication is set up and before the
//! slot. Like Debezium, a table it cannot set is logged as an error and the start goes on.

use std::fmt;

use postgres::Client;
use regex::Regex;

use super::db::{self, PgError};
use super::PgConfig;
use crate::api::InvalidConfig;

const KEY: &str = "replica.identity.autoset.values";
/// Debezium's format of one item, as its error messages quote it.
const JAVA_PATTERN: &str = r"(?i)^\s*(?<tablepredicate>[^\s:]+):(?<replicaidentity>DEFAULT|(INDEX) (?<indexname>.\w*)|FULL|NOTHING)\s*$";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    Default,
    Full,
    Nothing,
    Index(String),
}

impl fmt::Display for Identity {
    /// As Debezium prints it, which is also what follows `REPLICA IDENTITY` in its ALTER TABLE.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identity::Default => f.write_str("DEFAULT"),
            Identity::Full => f.write_str("FULL"),
            Identity::Nothing => f.write_str("NOTHING"),
            Identity::Index(name) => write!(f, "USING INDEX {name}"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Rule {
    /// Matches the whole `schema.table`, case-insensitively.
    table: Regex,
    pattern: String,
    identity: Identity,
}

/// The rules of `value` (None when the setting is absent), checked as Debezium checks them,
/// plus what Debezium accepts but cannot apply: an identity not in upper case (its enum
/// lookup fails for every table) and a table regex that does not compile.
pub fn parse(value: Option<&str>) -> Result<Option<Vec<Rule>>, InvalidConfig> {
    let Some(value) = value else {
        return Ok(None);
    };
    let invalid = |reason: String| InvalidConfig {
        key: KEY.into(),
        value: value.to_string(),
        reason,
    };
    if value.is_empty() {
        return Err(invalid("Must not be empty".into()));
    }
    let item = Regex::new(r"(?i)^\s*([^\s:]+):(DEFAULT|(INDEX) (.[0-9A-Za-z_]*)|FULL|NOTHING)\s*$")
        .expect("valid");
    let mut rules = Vec::new();
    for part in value.split(',') {
        let Some(c) = item.captures(part) else {
            return Err(invalid(format!(
                "{part} has an invalid format (expecting '{JAVA_PATTERN}')"
            )));
        };
        let word = c[2].split(' ').next().unwrap_or_default();
        if word != word.to_ascii_uppercase() {
            return Err(invalid(format!(
                "{part}: write the replica identity in upper case ({}); Debezium accepts '{word}' but then fails to set it on any table",
                word.to_ascii_uppercase()
            )));
        }
        let identity = match word {
            "FULL" => Identity::Full,
            "NOTHING" => Identity::Nothing,
            "DEFAULT" => Identity::Default,
            _ => Identity::Index(c[4].to_string()),
        };
        let pattern = c[1].to_string();
        let table = super::config::anchored(&pattern)
            .map_err(|e| invalid(format!("{part}: the table {e}")))?;
        rules.push(Rule {
            table,
            pattern,
            identity,
        });
    }
    Ok(Some(rules))
}

/// The identity the rules give `schema.table`; more than one matching rule is an error.
fn find<'a>(rules: &'a [Rule], table: &str) -> Result<Option<&'a Identity>, String> {
    let mut matching = rules.iter().filter(|r| r.table.is_match(table));
    let first = matching.next();
    if let Some(second) = matching.next() {
        return Err(format!(
            "more than one regular expression of {KEY} matches table {table} ({} and {}): make them match one each",
            first.map(|r| r.pattern.as_str()).unwrap_or_default(),
            second.pattern
        ));
    }
    Ok(first.map(|r| &r.identity))
}

/// Sets the replica identity of every captured table a rule names, where it differs.
pub fn apply(client: &mut Client, cfg: &PgConfig) -> Result<(), PgError> {
    let Some(rules) = &cfg.replica_identity else {
        return Ok(());
    };
    tracing::info!("updating replica identities ({KEY})");
    for t in db::captured_tables(client, cfg)? {
        let name = format!("{}.{}", t.schema, t.name);
        let wanted = match find(rules, &name) {
            Ok(Some(w)) => w,
            Ok(None) => continue,
            Err(e) => {
                tracing::error!("cannot update the replica identity of table {name}: {e}");
                continue;
            }
        };
        let current = match current(client, t.oid) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("cannot read the replica identity of table {name}: {e}");
                continue;
            }
        };
        if current.as_ref() == Some(wanted) {
            tracing::info!("replica identity for table '{name}' is already {wanted}");
            continue;
        }
        let sql = format!(
            "ALTER TABLE {}.{} REPLICA IDENTITY {wanted}",
            db::ident(&t.schema),
            db::ident(&t.name)
        );
        match client.batch_execute(&sql) {
            Ok(()) => tracing::info!("replica identity set to {wanted} for table '{name}'"),
            Err(e) => {
                let e = db::query_error(cfg, &format!("setting the replica identity of {name}"), e);
                tracing::error!("{e} (the user needs to own the table; or set it with ALTER TABLE yourself and remove the table from {KEY})");
            }
        }
    }
    Ok(())
}

/// A table's replica identity, with its index when it is one.
fn current(client: &mut Client, oid: u32) -> Result<Option<Identity>, postgres::Error> {
    let row = client.query_one(
        "SELECT c.relreplident::text, (SELECT i.relname::text FROM pg_index x \
         JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = c.oid AND x.indisreplident) \
         FROM pg_class c WHERE c.oid = $1",
        &[&oid],
    )?;
    Ok(match row.get::<_, String>(0).as_str() {
        "d" => Some(Identity::Default),
        "f" => Some(Identity::Full),
        "n" => Some(Identity::Nothing),
        "i" => row.get::<_, Option<String>>(1).map(Identity::Index),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_parse_and_match_as_debezium_reads_them() {
        let rules = parse(Some(
            "public.orders:FULL, inventory\\..*:INDEX orders_pk ,public.log:NOTHING",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(
            find(&rules, "public.orders").unwrap(),
            Some(&Identity::Full)
        );
        // Case-insensitive, whole name.
        assert_eq!(
            find(&rules, "Inventory.items").unwrap(),
            Some(&Identity::Index("orders_pk".into()))
        );
        assert_eq!(find(&rules, "public.orders2").unwrap(), None);
        assert_eq!(
            Identity::Index("orders_pk".into()).to_string(),
            "USING INDEX orders_pk"
        );
        assert_eq!(parse(None).unwrap().map(|r| r.len()), None);
    }

    #[test]
    fn malformed_items_are_refused_with_debeziums_message() {
        let e = parse(Some("public.orders:FULL,public.log")).unwrap_err();
        assert_eq!(e.key, KEY);
        assert!(
            e.reason
                .starts_with("public.log has an invalid format (expecting '(?i)^"),
            "{}",
            e.reason
        );
        assert!(parse(Some("public.a:INDEX")).is_err());
        assert!(parse(Some("public.a:FULLY")).is_err());
        assert_eq!(parse(Some("")).unwrap_err().reason, "Must not be empty");
        let lower = parse(Some("public.a:full")).unwrap_err();
        assert!(
            lower.reason.contains("upper case (FULL)"),
            "{}",
            lower.reason
        );
        assert!(parse(Some("public.(a:FULL")).is_err());
    }

    #[test]
    fn two_rules_for_one_table_are_an_error_for_that_table() {
        let rules = parse(Some("public\\..*:FULL,public.orders:NOTHING"))
            .unwrap()
            .unwrap();
        let e = find(&rules, "public.orders").unwrap_err();
        assert!(e.contains("public\\..* and public.orders"), "{e}");
        assert_eq!(find(&rules, "public.items").unwrap(), Some(&Identity::Full));
    }
}
