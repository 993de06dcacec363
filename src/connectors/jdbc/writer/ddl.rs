//! The DDL text of `auto.create` and `auto.evolve`: a table from a record's fields, and the
//! columns a table lacks, with Confluent's types, defaults and nullability.

use super::super::dialect::{self, ident, ident_string};
use super::super::fields::FieldSpec;

fn column_def(f: &FieldSpec, quote: bool, out: &mut String) -> Result<(), String> {
    ident(&f.name, quote, out);
    out.push(' ');
    out.push_str(&dialect::sql_type(&f.schema)?);
    if let Some(d) = f
        .schema
        .default
        .as_ref()
        .and_then(|d| dialect::default_literal(&f.schema, d))
    {
        out.push_str(" DEFAULT ");
        out.push_str(&d);
    }
    out.push_str(if f.pk || !f.schema.optional {
        " NOT NULL"
    } else {
        " NULL"
    });
    Ok(())
}

pub fn create_table_sql(table: &str, specs: &[FieldSpec], quote: bool) -> Result<String, String> {
    let mut s = format!("CREATE TABLE IF NOT EXISTS {table} (\n");
    for (i, f) in specs.iter().enumerate() {
        if i > 0 {
            s.push_str(",\n");
        }
        column_def(f, quote, &mut s)?;
    }
    let pks: Vec<String> = specs
        .iter()
        .filter(|f| f.pk)
        .map(|f| ident_string(&f.name, quote))
        .collect();
    if !pks.is_empty() {
        s.push_str(",\nPRIMARY KEY(");
        s.push_str(&pks.join(","));
        s.push(')');
    }
    s.push(')');
    Ok(s)
}

pub fn alter_table_sql(table: &str, missing: &[&FieldSpec], quote: bool) -> Result<String, String> {
    let mut s = format!("ALTER TABLE {table} ");
    for (i, f) in missing.iter().enumerate() {
        if !f.schema.optional && f.schema.default.is_none() {
            return Err(format!(
                "cannot add missing field {}: the field is not optional and has no default value",
                f.name
            ));
        }
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str("ADD COLUMN IF NOT EXISTS ");
        column_def(f, quote, &mut s)?;
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::super::super::fields::Source;
    use super::*;
    use crate::data::{schemas, Schema, SchemaRef, Value};

    fn spec(name: &str, schema: SchemaRef, pk: bool) -> FieldSpec {
        FieldSpec {
            name: name.into(),
            source: Source::ValueField(0),
            schema,
            pk,
        }
    }

    #[test]
    fn create_and_alter_statements() {
        let with_default = Schema::builder(crate::data::SchemaType::Int32)
            .optional()
            .default_value(Value::Int32(7))
            .build();
        let sql = create_table_sql(
            "\"t\"",
            &[
                spec("id", schemas::int64(), true),
                spec("name", schemas::optional_string(), false),
                spec("n", with_default.clone(), false),
            ],
            true,
        )
        .unwrap();
        assert_eq!(
            sql,
            "CREATE TABLE IF NOT EXISTS \"t\" (\n\"id\" BIGINT NOT NULL,\n\"name\" TEXT NULL,\n\"n\" INT DEFAULT 7 NULL,\nPRIMARY KEY(\"id\"))"
        );
        let f = spec("extra", schemas::optional_string(), false);
        assert_eq!(
            alter_table_sql("\"t\"", &[&f], true).unwrap(),
            "ALTER TABLE \"t\" ADD COLUMN IF NOT EXISTS \"extra\" TEXT NULL"
        );
        let required = spec("req", schemas::string(), false);
        assert!(alter_table_sql("\"t\"", &[&required], true)
            .unwrap_err()
            .contains("not optional"));
    }
}
