//! The SQL text a plan runs: the staging table, the COPY, and the one statement that applies
//! a staged buffer to the table (see the writer's module doc for which mode takes which path).

use super::super::config::InsertMode;
use super::super::dialect::{ident, ident_string, PgKind};
use super::catalog::Column;

/// A table column a plan writes to.
pub(super) struct Target<'a> {
    pub column: &'a Column,
    /// An instant bound for a `timestamp` column while `db.timezone` is not UTC: staged as
    /// `timestamptz`, so PostgreSQL converts it to the zone on the way into the table.
    pub stage_as_tz: bool,
}

/// What writes a plan's buffer.
#[derive(Debug)]
pub(super) struct Statements {
    /// The staging table; `None` when rows are COPYed straight into the table.
    pub stage: Option<String>,
    pub stage_ddl: String,
    pub copy_sql: String,
    pub apply_sql: Option<String>,
    /// Upserts: the COPY straight into the table, tried first.
    pub optimistic_copy_sql: Option<String>,
    /// Nothing to write (an update without non-key columns).
    pub noop: bool,
}

/// The statements for writing `cols` (key columns first, `n_pk` of them) into `table`,
/// staging through `stage_name` when the mode needs it.
pub(super) fn build(
    table: &str,
    cols: &[Target<'_>],
    n_pk: usize,
    delete: bool,
    mode: InsertMode,
    quote: bool,
    stage_name: String,
) -> Statements {
    let col_list = || -> String {
        let mut s = String::new();
        for (i, c) in cols.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            ident(&c.column.name, quote, &mut s);
        }
        s
    };
    let stage_cast = cols.iter().any(|c| c.stage_as_tz);
    let direct = !delete && mode == InsertMode::Insert && !stage_cast;
    let stage_ddl = stage_ddl(&stage_name, cols, delete, quote);
    let stage_sql = format!("\"{stage_name}\"");
    let pk_cols: Vec<&Column> = cols.iter().take(n_pk).map(|c| c.column).collect();
    let non_pk: Vec<&Column> = cols.iter().skip(n_pk).map(|c| c.column).collect();
    let join = |sep: &str, items: &[&Column], f: &dyn Fn(&str) -> String| -> String {
        items
            .iter()
            .map(|c| f(&c.name))
            .collect::<Vec<_>>()
            .join(sep)
    };
    let q = |n: &str| ident_string(n, quote);
    let mut noop = false;
    let apply_sql = if delete {
        Some(format!(
            "DELETE FROM {table} AS kc_t USING {stage_sql} AS kc_s WHERE {}",
            join(" AND ", &pk_cols, &|n| format!(
                "kc_t.{} = kc_s.{}",
                q(n),
                q(n)
            ))
        ))
    } else {
        match mode {
            InsertMode::Insert if direct => None,
            InsertMode::Insert => Some(format!(
                "INSERT INTO {table} ({}) SELECT {} FROM {stage_sql}",
                col_list(),
                col_list()
            )),
            InsertMode::Upsert => {
                let action = if non_pk.is_empty() {
                    "DO NOTHING".to_string()
                } else {
                    format!(
                        "DO UPDATE SET {}",
                        join(", ", &non_pk, &|n| format!("{}=EXCLUDED.{}", q(n), q(n)))
                    )
                };
                Some(format!(
                    "INSERT INTO {table} ({}) SELECT {} FROM {stage_sql} ON CONFLICT ({}) {action}",
                    col_list(),
                    col_list(),
                    join(",", &pk_cols, &|n| q(n))
                ))
            }
            InsertMode::Update => {
                if non_pk.is_empty() {
                    noop = true;
                    None
                } else {
                    Some(format!(
                        "UPDATE {table} AS kc_t SET {} FROM {stage_sql} AS kc_s WHERE {}",
                        join(", ", &non_pk, &|n| format!("{} = kc_s.{}", q(n), q(n))),
                        join(" AND ", &pk_cols, &|n| format!(
                            "kc_t.{} = kc_s.{}",
                            q(n),
                            q(n)
                        ))
                    ))
                }
            }
        }
    };
    let direct_copy = format!("COPY {table} ({}) FROM STDIN", col_list());
    let upsert = !delete && mode == InsertMode::Upsert && !stage_cast;
    let optimistic_copy_sql = upsert.then(|| direct_copy.clone());
    let copy_sql = if direct {
        direct_copy
    } else {
        format!("COPY {stage_sql} ({}) FROM STDIN", col_list())
    };
    Statements {
        stage: (!direct).then_some(stage_name),
        stage_ddl,
        copy_sql,
        apply_sql,
        optimistic_copy_sql,
        noop,
    }
}

/// A temporary table shaped like the written columns, emptied by every commit.
fn stage_ddl(stage_name: &str, cols: &[Target<'_>], delete: bool, quote: bool) -> String {
    let mut ddl = format!("CREATE TEMPORARY TABLE \"{stage_name}\" (");
    for (i, c) in cols.iter().enumerate() {
        if i > 0 {
            ddl.push_str(", ");
        }
        ident(&c.column.name, quote, &mut ddl);
        ddl.push(' ');
        if c.stage_as_tz {
            ddl.push_str("timestamp with time zone");
        } else {
            ddl.push_str(&c.column.sql_type);
        }
        if c.column.not_null && !delete {
            ddl.push_str(" NOT NULL");
        }
    }
    ddl.push_str(") ON COMMIT DELETE ROWS");
    ddl
}

/// Whether an instant bound for `column` needs a zone conversion, given whether `db.timezone`
/// is UTC.
pub(super) fn stage_as_tz(instant_tz: bool, column: &Column) -> bool {
    instant_tz && column.kind == PgKind::Timestamp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, not_null: bool) -> Column {
        Column {
            name: name.into(),
            sql_type: "bigint".into(),
            kind: PgKind::Int,
            not_null,
            has_default: false,
        }
    }

    fn targets(cols: &[Column]) -> Vec<Target<'_>> {
        cols.iter()
            .map(|column| Target {
                column,
                stage_as_tz: false,
            })
            .collect()
    }

    #[test]
    fn each_mode_gets_its_statements() {
        let cols = [col("id", true), col("n", false)];
        let t = targets(&cols);
        let s = build("\"t\"", &t, 1, false, InsertMode::Insert, true, "s1".into());
        assert_eq!(s.stage, None);
        assert_eq!(s.copy_sql, "COPY \"t\" (\"id\", \"n\") FROM STDIN");
        assert!(s.apply_sql.is_none() && s.optimistic_copy_sql.is_none());

        let s = build("\"t\"", &t, 1, false, InsertMode::Upsert, true, "s2".into());
        assert_eq!(s.stage.as_deref(), Some("s2"));
        assert_eq!(
            s.stage_ddl,
            "CREATE TEMPORARY TABLE \"s2\" (\"id\" bigint NOT NULL, \"n\" bigint) ON COMMIT DELETE ROWS"
        );
        assert_eq!(s.copy_sql, "COPY \"s2\" (\"id\", \"n\") FROM STDIN");
        assert_eq!(
            s.apply_sql.as_deref(),
            Some("INSERT INTO \"t\" (\"id\", \"n\") SELECT \"id\", \"n\" FROM \"s2\" ON CONFLICT (\"id\") DO UPDATE SET \"n\"=EXCLUDED.\"n\"")
        );
        assert_eq!(
            s.optimistic_copy_sql.as_deref(),
            Some("COPY \"t\" (\"id\", \"n\") FROM STDIN")
        );

        let s = build("\"t\"", &t, 1, false, InsertMode::Update, true, "s3".into());
        assert_eq!(
            s.apply_sql.as_deref(),
            Some("UPDATE \"t\" AS kc_t SET \"n\" = kc_s.\"n\" FROM \"s3\" AS kc_s WHERE kc_t.\"id\" = kc_s.\"id\"")
        );
        let s = build(
            "\"t\"",
            &t[..1],
            1,
            false,
            InsertMode::Update,
            true,
            "s4".into(),
        );
        assert!(s.noop && s.apply_sql.is_none());

        let s = build(
            "\"t\"",
            &t[..1],
            1,
            true,
            InsertMode::Insert,
            true,
            "s5".into(),
        );
        assert_eq!(
            s.apply_sql.as_deref(),
            Some("DELETE FROM \"t\" AS kc_t USING \"s5\" AS kc_s WHERE kc_t.\"id\" = kc_s.\"id\"")
        );
        assert!(!s.stage_ddl.contains("NOT NULL"), "deletes stage keys only");
    }

    #[test]
    fn a_zone_conversion_forces_staging() {
        let cols = [col("at", false)];
        let t = vec![Target {
            column: &cols[0],
            stage_as_tz: true,
        }];
        let s = build("\"t\"", &t, 0, false, InsertMode::Insert, true, "s1".into());
        assert!(s.stage.is_some());
        assert!(s.stage_ddl.contains("\"at\" timestamp with time zone"));
        assert_eq!(
            s.apply_sql.as_deref(),
            Some("INSERT INTO \"t\" (\"at\") SELECT \"at\" FROM \"s1\"")
        );
        let s = build("\"t\"", &t, 0, false, InsertMode::Upsert, true, "s2".into());
        assert!(s.optimistic_copy_sql.is_none());
    }
}
