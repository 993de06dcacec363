//! Whole pipelines as users run them, every part real: PostgreSQL → Debezium-compatible
//! source → Kafka (Tansu) → Elasticsearch (noida-db's API) or → the JDBC sink into another
//! PostgreSQL database, with Debezium's ExtractNewRecordState in between.

mod support;

use std::path::Path;

use serde_json::{json, Value as Json};
use support::pg_source::{cdc_connector, customers_table};
use support::{es, kconnect, output_text, write, Postgres};

fn run_once(dir: &Path, bootstrap: &str, files: &[&Path]) {
    let mut c = kconnect(dir);
    c.args(["run", "--once", "-b", bootstrap, "--offsets", "offsets"]);
    for f in files {
        c.arg(f);
    }
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", output_text(&o));
}

fn es_sink(dir: &Path, es_url: &str, name: &str, mode: &str, index: &str) -> std::path::PathBuf {
    // The connector, plus what a Debezium → Elasticsearch pipeline needs for keys and
    // deletes: flatten the envelope, take the id out of the key struct, delete on tombstones,
    // and route to an index of its own.
    write(
        dir,
        &format!("{name}.json"),
        &json!({"name": name, "config": {
            "connector.class": "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector", "tasks.max": "1",
            "topics": "dbserver1.public.customers", "connection.url": es_url,
            "type.name": "customer_event", "schema.ignore": "true", "key.ignore": "false",
            "behavior.on.null.values": "delete",
            "transforms": "unwrap,key,route",
            "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
            "transforms.unwrap.delete.tombstone.handling.mode": mode,
            "transforms.key.type": "org.apache.kafka.connect.transforms.ExtractField$Key",
            "transforms.key.field": "id",
            "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
            "transforms.route.regex": ".*",
            "transforms.route.replacement": index}})
        .to_string(),
    )
}

#[test]
fn postgres_to_elasticsearch_with_extract_new_record_state() {
    let pg = Postgres::start();
    pg.psql(
        "ALTER USER postgres PASSWORD 'postgres';
         CREATE TABLE customers (id serial PRIMARY KEY, first_name text NOT NULL, last_name text NOT NULL, email text);
         INSERT INTO customers (first_name, last_name, email) VALUES
           ('Sally', 'Thomas', 'sally.thomas@acme.com'), ('George', 'Bailey', 'gbailey@foobar.com'),
           ('Edward', 'Walker', 'ed@walker.com');",
    );
    let kafka = support::tansu();
    let es_server = support::elasticsearch();
    let url = es_server.url();
    let d = tempfile::tempdir().unwrap();
    let src = cdc_connector(d.path(), &pg, "pg-source", "es_slot", &[]);
    let tomb = es_sink(
        d.path(),
        &url,
        "es-flat",
        "delete-to-tombstone",
        "customers",
    );
    let rewrite = es_sink(d.path(), &url, "es-rewrite", "rewrite", "customers_rewrite");

    run_once(d.path(), &kafka.bootstrap(), &[&src]);
    run_once(d.path(), &kafka.bootstrap(), &[&tomb, &rewrite]);
    assert_eq!(
        es::doc(&url, "customers", "1"),
        Some(
            json!({"id": 1, "first_name": "Sally", "last_name": "Thomas", "email": "sally.thomas@acme.com"})
        )
    );
    assert_eq!(es::all_docs(&url, "customers").len(), 3);

    pg.psql(
        "UPDATE customers SET email = 'sally@new.example' WHERE id = 1;
         DELETE FROM customers WHERE id = 2;
         INSERT INTO customers (first_name, last_name, email) VALUES ('Anne', 'Kretchmar', 'annek@noanswer.org');",
    );
    run_once(d.path(), &kafka.bootstrap(), &[&src]);
    run_once(d.path(), &kafka.bootstrap(), &[&tomb, &rewrite]);

    // delete-to-tombstone: flat documents, the deleted row's document is gone.
    let flat: Vec<(String, Json)> = {
        let mut v = es::all_docs(&url, "customers");
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    assert_eq!(
        flat,
        vec![
            (
                "1".to_string(),
                json!({"id": 1, "first_name": "Sally", "last_name": "Thomas", "email": "sally@new.example"})
            ),
            (
                "3".to_string(),
                json!({"id": 3, "first_name": "Edward", "last_name": "Walker", "email": "ed@walker.com"})
            ),
            (
                "4".to_string(),
                json!({"id": 4, "first_name": "Anne", "last_name": "Kretchmar", "email": "annek@noanswer.org"})
            ),
        ]
    );
    // rewrite: every row stays, with __deleted telling whether it was deleted.
    let deleted = es::doc(&url, "customers_rewrite", "2").expect("rewritten delete kept");
    assert_eq!(deleted["__deleted"], "true");
    assert_eq!(deleted["id"], 2);
    assert_eq!(
        es::doc(&url, "customers_rewrite", "1").unwrap()["__deleted"],
        "false"
    );
    assert_eq!(
        es::doc(&url, "customers_rewrite", "1").unwrap()["email"],
        "sally@new.example"
    );
    assert_eq!(es::all_docs(&url, "customers_rewrite").len(), 4);
}

#[test]
fn replication_by_cdc_keeps_two_tables_equal() {
    let pg = Postgres::start();
    pg.psql("ALTER USER postgres PASSWORD 'postgres'");
    pg.psql("CREATE DATABASE target");
    pg.psql(
        "CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text, score numeric(10,2), vip boolean NOT NULL DEFAULT false);
         INSERT INTO customers SELECT i, 'name ' || i, 'c' || i || '@example.com', i * 1.25, i % 5 = 0 FROM generate_series(1, 200) i;",
    );
    let kafka = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let src = cdc_connector(d.path(), &pg, "pg-source", "repl_slot", &[]);
    let sink = write(
        d.path(),
        "jdbc-sink.json",
        &json!({"name": "jdbc-sink", "config": {
            "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector",
            "topics": "dbserver1.public.customers",
            "connection.url": format!("jdbc:postgresql://127.0.0.1:{}/target", pg.port()),
            "connection.user": "postgres", "connection.password": "postgres",
            "table.name.format": "customers", "insert.mode": "upsert", "pk.mode": "record_key",
            "delete.enabled": "true", "auto.create": "true", "auto.evolve": "true",
            "transforms": "unwrap",
            "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
            "transforms.unwrap.delete.tombstone.handling.mode": "tombstone"}})
        .to_string(),
    );
    run_once(d.path(), &kafka.bootstrap(), &[&src]);
    run_once(d.path(), &kafka.bootstrap(), &[&sink]);
    let cols = "id, name, email, score, vip";
    assert_eq!(
        customers_table(&pg, "target", cols),
        customers_table(&pg, "postgres", cols)
    );

    // A mixed load: inserts, updates, deletes, a primary-key change, a column added.
    pg.psql(
        "INSERT INTO customers SELECT i, 'name ' || i, NULL, NULL, true FROM generate_series(201, 260) i;
         UPDATE customers SET email = 'changed' || id || '@example.com', score = score + 1 WHERE id % 7 = 0;
         DELETE FROM customers WHERE id % 11 = 0;
         UPDATE customers SET id = 1000 WHERE id = 1;
         ALTER TABLE customers ADD COLUMN phone text;
         UPDATE customers SET phone = '+1-555-' || id WHERE id % 3 = 0;
         INSERT INTO customers (id, name, phone) VALUES (2000, 'late', '+1-555-2000');
         UPDATE customers SET vip = NOT vip WHERE id BETWEEN 100 AND 120;",
    );
    run_once(d.path(), &kafka.bootstrap(), &[&src]);
    run_once(d.path(), &kafka.bootstrap(), &[&sink]);
    let cols = "id, name, email, score, vip, phone";
    let source = customers_table(&pg, "postgres", cols);
    assert_eq!(source.lines().count(), 260 - 23 + 1);
    assert_eq!(customers_table(&pg, "target", cols), source);
}
