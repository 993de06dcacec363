//! What the database says a table is: its columns, their types and whether a write may leave
//! them out, read from the catalog once per table per transaction.

use postgres::GenericClient;

use super::super::dialect::PgKind;

/// A column of an existing table, from the catalog.
#[derive(Clone, Debug)]
pub struct Column {
    pub name: String,
    /// `format_type()`: the type as it would be declared, used for staging tables.
    pub sql_type: String,
    pub kind: PgKind,
    pub not_null: bool,
    /// Has a default, or is an identity or generated column: may be left out of an insert.
    pub has_default: bool,
}

#[derive(Clone, Debug)]
pub struct TableMeta {
    pub columns: Vec<Column>,
}

impl TableMeta {
    /// The column a field writes to: same name, else the one that differs only in case
    /// (as Confluent matches, since unquoted names fold to lower case).
    pub fn find(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name).or_else(|| {
            let mut it = self
                .columns
                .iter()
                .filter(|c| c.name.eq_ignore_ascii_case(name));
            match (it.next(), it.next()) {
                (Some(c), None) => Some(c),
                _ => None,
            }
        })
    }
}

pub fn load_table(
    client: &mut impl GenericClient,
    table_sql: &str,
) -> Result<Option<TableMeta>, postgres::Error> {
    let exists = client.query_one("SELECT to_regclass($1) IS NOT NULL", &[&table_sql])?;
    if !exists.get::<_, bool>(0) {
        return Ok(None);
    }
    let rows = client.query(
        "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), \
                COALESCE(bt.typname, t.typname)::text, a.attnotnull, \
                (a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '') \
         FROM pg_attribute a \
         JOIN pg_type t ON t.oid = a.atttypid \
         LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype \
         WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped \
         ORDER BY a.attnum",
        &[&table_sql],
    )?;
    Ok(Some(TableMeta {
        columns: rows
            .iter()
            .map(|r| {
                let typname: String = r.get(2);
                Column {
                    name: r.get(0),
                    sql_type: r.get(1),
                    kind: PgKind::of(&typname),
                    not_null: r.get(3),
                    has_default: r.get(4),
                }
            })
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_lookup_falls_back_to_case_insensitive() {
        let col = |n: &str| Column {
            name: n.into(),
            sql_type: "text".into(),
            kind: PgKind::Text,
            not_null: false,
            has_default: false,
        };
        let m = TableMeta {
            columns: vec![col("id"), col("Name"), col("a"), col("A")],
        };
        assert_eq!(m.find("ID").unwrap().name, "id");
        assert_eq!(m.find("name").unwrap().name, "Name");
        assert_eq!(m.find("A").unwrap().name, "A");
        assert!(m.find("nope").is_none());
    }
}
