//! The schema-registry converters (Avro and Protobuf) end to end through a real broker (Tansu)
//! and the fake Schema Registry: FileStream source → Kafka → FileStream sink; a schema that
//! gains a field mid-stream; a registry that is down while the source runs holds records back
//! and loses none; PostgreSQL CDC into the JDBC sink (a column added mid-stream) and into
//! Elasticsearch.

mod support;

use std::process::Stdio;
use std::time::Duration;

use kconnect::convert::find_converter;
use kconnect::data::{schemas, Schema, Struct, Value};
use support::file_pipeline::{lines, run_once, spawn_run};
use support::{output_text, schema_registry, write};

const AVRO: &str = "io.confluent.connect.avro.AvroConverter";
const PROTOBUF: &str = "io.confluent.connect.protobuf.ProtobufConverter";

fn file_source(
    dir: &std::path::Path,
    input: &std::path::Path,
    topic: &str,
    url: &str,
    class: &str,
) -> std::path::PathBuf {
    write(
        dir,
        "src.json",
        &serde_json::json!({
            "name": "src",
            "config": {
                "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
                "file": input.display().to_string(),
                "topic": topic,
                "topic.creation.default.partitions": 1,
                "topic.creation.default.replication.factor": 1,
                "value.converter": class,
                "value.converter.schema.registry.url": url,
            }
        })
        .to_string(),
    )
}

fn file_sink(
    dir: &std::path::Path,
    output: &std::path::Path,
    topic: &str,
    url: &str,
    class: &str,
) -> std::path::PathBuf {
    write(
        dir,
        "sink.properties",
        &format!(
            "name=sink\nconnector.class=FileStreamSink\nfile={}\ntopics={topic}\nvalue.converter={class}\nvalue.converter.schema.registry.url={url}\n",
            output.display()
        ),
    )
}

/// Lines through Kafka with `class`; the topic's records, and the subject's schema.
fn file_to_kafka_to_file(class: &str, topic: &str) -> (Vec<support::kafka::Msg>, Vec<String>) {
    let k = support::tansu();
    let reg = schema_registry();
    let d = tempfile::tempdir().unwrap();
    let input = write(d.path(), "in.txt", &lines(0..300));
    let output = d.path().join("out.txt");
    let src = file_source(d.path(), &input, topic, &reg.url, class);
    let sink = file_sink(d.path(), &output, topic, &reg.url, class);
    let o = run_once(d.path(), &k.bootstrap(), "offsets", &[&src]);
    assert!(o.status.success(), "{}", output_text(&o));
    let o = run_once(d.path(), &k.bootstrap(), "offsets", &[&sink]);
    assert!(o.status.success(), "{}", output_text(&o));
    assert_eq!(std::fs::read_to_string(&output).unwrap(), lines(0..300));
    let msgs = support::kafka::consume_all(&k.bootstrap(), topic);
    assert_eq!(msgs.len(), 300);
    // Registered once by the source, fetched once by id and its version looked up once by the
    // sink: schemas are cached, not asked for per record.
    let subject = format!("{topic}-value");
    assert_eq!(
        reg.count(&format!("POST /subjects/{subject}/versions")),
        1,
        "{:?}",
        reg.requests()
    );
    assert_eq!(reg.count("GET /schemas/ids/1"), 1, "{:?}", reg.requests());
    (msgs, reg.subject_versions(&subject))
}

#[test]
fn file_to_avro_in_kafka_to_file() {
    let (msgs, schemas) = file_to_kafka_to_file(AVRO, "avro-lines");
    // Confluent's wire format, "line 0" as an Avro string after the header.
    let v = msgs[0].value.as_ref().unwrap();
    assert_eq!(&v[..5], &[0, 0, 0, 0, 1]);
    assert_eq!(&v[5..], b"\x0cline 0");
    assert_eq!(schemas, vec!["\"string\"".to_string()]);
}

#[test]
fn file_to_protobuf_in_kafka_to_file() {
    let (msgs, schemas) = file_to_kafka_to_file(PROTOBUF, "pb-lines");
    // The header, message index [7] (StringValue in wrappers.proto), then field 1.
    let v = msgs[0].value.as_ref().unwrap();
    assert_eq!(&v[..7], &[0, 0, 0, 0, 1, 2, 14]);
    assert_eq!(&v[7..], b"\x0a\x06line 0");
    assert!(schemas[0].contains("message StringValue"), "{schemas:?}");
}

#[test]
fn a_field_added_mid_stream_reaches_the_sink_in_both_shapes() {
    let k = support::tansu();
    let reg = schema_registry();
    let d = tempfile::tempdir().unwrap();
    let cfg = [("schema.registry.url".to_string(), reg.url.clone())].into();
    let mut w = (find_converter("AvroConverter").unwrap().create)(&cfg, false).unwrap();
    let v1 = Schema::struct_builder()
        .name("shop.Customer")
        .field("id", schemas::int32())
        .build();
    let v2 = Schema::struct_builder()
        .name("shop.Customer")
        .field("id", schemas::int32())
        .field("email", schemas::optional_string())
        .build();
    let mut payloads = Vec::new();
    for i in 0..6 {
        let s = if i < 3 { &v1 } else { &v2 };
        let mut st = Struct::new(s.clone());
        st.put("id", Value::Int32(i));
        if i >= 3 {
            st.put("email", Value::from(format!("c{i}@x").as_str()));
        }
        let mut out = Vec::new();
        w.from_connect("customers", Some(s), &Value::Struct(st), &mut out)
            .unwrap();
        payloads.push(out);
    }
    assert_eq!(reg.subject_versions("customers-value").len(), 2);
    let recs: Vec<_> = payloads
        .iter()
        .map(|p| (None, Some(p.as_slice()), vec![]))
        .collect();
    support::kafka::produce(&k.bootstrap(), "customers", &recs);
    let output = d.path().join("out.txt");
    let sink = file_sink(d.path(), &output, "customers", &reg.url, AVRO);
    let o = run_once(d.path(), &k.bootstrap(), "offsets", &[&sink]);
    assert!(o.status.success(), "{}", output_text(&o));
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        "Struct{id=0}\nStruct{id=1}\nStruct{id=2}\nStruct{id=3,email=c3@x}\nStruct{id=4,email=c4@x}\nStruct{id=5,email=c5@x}\n"
    );
}

#[test]
fn a_registry_down_holds_avro_records_back_and_loses_none() {
    registry_down_holds_records_back(AVRO);
}

#[test]
fn a_registry_down_holds_protobuf_records_back_and_loses_none() {
    registry_down_holds_records_back(PROTOBUF);
}

fn registry_down_holds_records_back(class: &str) {
    let k = support::tansu();
    let reg = schema_registry();
    reg.set_down(true);
    let d = tempfile::tempdir().unwrap();
    let input = write(d.path(), "in.txt", &lines(0..200));
    let src = file_source(d.path(), &input, "held", &reg.url, class);
    let mut child = spawn_run(d.path(), &k.bootstrap(), 1000, &src, Stdio::piped());
    // While the registry is down the source keeps retrying: nothing is written, and the task
    // neither fails nor skips records.
    support::eventually(Duration::from_secs(60), || {
        (reg.refused() >= 3).then_some(())
    })
    .expect("the source asked the registry again and again");
    assert!(
        child.try_wait().unwrap().is_none(),
        "the worker kept running"
    );
    assert!(support::kafka::consume_all(&k.bootstrap(), "held").is_empty());
    reg.set_down(false);
    let got = support::eventually(Duration::from_secs(60), || {
        let m = support::kafka::consume_all(&k.bootstrap(), "held");
        (m.len() >= 200).then_some(m)
    })
    .expect("all records once the registry is back");
    assert_eq!(got.len(), 200);
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(err.contains("retrying"), "the outage was logged: {err}");
    let _ = status;
    let mut r = (find_converter(class).unwrap().create)(
        &[("schema.registry.url".to_string(), reg.url.clone())].into(),
        false,
    )
    .unwrap();
    for (i, m) in got.iter().enumerate() {
        let (_, v) = r.to_connect("held", m.value.as_deref()).unwrap();
        assert_eq!(v, Value::from(format!("line {i}").as_str()));
    }
}

/// Debezium's PostgreSQL source writes keys and values as Avro; the JDBC sink reads them with
/// AvroConverter into another database; a column added mid-stream becomes a new schema
/// version that the sink evolves its table for.
#[test]
fn postgres_cdc_as_avro_replicated_by_the_jdbc_sink() {
    cdc_replicated_by_the_jdbc_sink(AVRO, "avro_slot");
}

/// The same with Protobuf: Confluent's ProtobufConverter reads every field as optional, so
/// the sink's table has nullable columns, and the rows are the same. The sink reads with
/// enhanced.protobuf.schema.support=true, as with Connect: without it the value's schema is
/// named `Envelope`, not `dbserver1.public.customers.Envelope`, and ExtractNewRecordState
/// does not recognise a Debezium envelope.
#[test]
fn postgres_cdc_as_protobuf_replicated_by_the_jdbc_sink() {
    cdc_replicated_by_the_jdbc_sink(PROTOBUF, "protobuf_slot");
}

fn cdc_replicated_by_the_jdbc_sink(class: &str, slot: &str) {
    use support::pg_source::{cdc_connector, customers_table};
    let reg = schema_registry();
    let pg = support::Postgres::start();
    pg.psql("ALTER USER postgres PASSWORD 'postgres'");
    pg.psql("CREATE DATABASE target");
    pg.psql(
        "CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text, score numeric(10,2), vip boolean NOT NULL DEFAULT false);
         INSERT INTO customers SELECT i, 'name ' || i, 'c' || i || '@example.com', i * 1.25, i % 5 = 0 FROM generate_series(1, 100) i;",
    );
    let kafka = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let avro = [
        ("key.converter", class),
        ("key.converter.schema.registry.url", reg.url.as_str()),
        ("value.converter", class),
        ("value.converter.schema.registry.url", reg.url.as_str()),
    ];
    let src = cdc_connector(d.path(), &pg, "pg-source", slot, &avro);
    let mut sink_cfg = serde_json::json!({
        "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector",
        "topics": "dbserver1.public.customers",
        "connection.url": format!("jdbc:postgresql://127.0.0.1:{}/target", pg.port()),
        "connection.user": "postgres", "connection.password": "postgres",
        "table.name.format": "customers", "insert.mode": "upsert", "pk.mode": "record_key",
        "delete.enabled": "true", "auto.create": "true", "auto.evolve": "true",
        "transforms": "unwrap",
        "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
        "transforms.unwrap.delete.tombstone.handling.mode": "tombstone"});
    for (k, v) in avro {
        sink_cfg[k] = serde_json::Value::String(v.to_string());
    }
    if class == PROTOBUF {
        sink_cfg["value.converter.enhanced.protobuf.schema.support"] = "true".into();
    }
    let sink = write(
        d.path(),
        "jdbc-sink.json",
        &serde_json::json!({"name": "jdbc-sink", "config": sink_cfg}).to_string(),
    );
    let once = |files: &[&std::path::Path]| {
        let o = run_once(d.path(), &kafka.bootstrap(), "offsets", files);
        assert!(o.status.success(), "{}", output_text(&o));
    };
    once(&[&src]);
    once(&[&sink]);
    let cols = "id, name, email, score, vip";
    assert_eq!(
        customers_table(&pg, "target", cols),
        customers_table(&pg, "postgres", cols)
    );
    let msgs = support::kafka::consume_all(&kafka.bootstrap(), "dbserver1.public.customers");
    assert_eq!(
        msgs[0].value.as_ref().unwrap()[0],
        0,
        "Confluent's wire format"
    );
    assert_eq!(msgs[0].key.as_ref().unwrap()[0], 0);

    pg.psql(
        "UPDATE customers SET email = 'changed' || id || '@example.com' WHERE id % 7 = 0;
         DELETE FROM customers WHERE id % 11 = 0;
         ALTER TABLE customers ADD COLUMN phone text;
         UPDATE customers SET phone = '+1-555-' || id WHERE id % 3 = 0;
         INSERT INTO customers (id, name, phone) VALUES (2000, 'late', '+1-555-2000');",
    );
    once(&[&src]);
    once(&[&sink]);
    let cols = "id, name, email, score, vip, phone";
    assert_eq!(
        customers_table(&pg, "target", cols),
        customers_table(&pg, "postgres", cols)
    );
    assert_eq!(
        reg.subject_versions("dbserver1.public.customers-value")
            .len(),
        2,
        "the added column is a second version of the value schema"
    );
    assert_eq!(
        reg.subject_versions("dbserver1.public.customers-key").len(),
        1
    );
}

/// Debezium's events as Avro into Elasticsearch: the documents are the rows.
#[test]
fn postgres_cdc_as_avro_into_elasticsearch() {
    cdc_into_elasticsearch(AVRO, "avro_es_slot");
}

/// The same with Protobuf (the sink reading with enhanced.protobuf.schema.support=true, for
/// ExtractNewRecordState to see Debezium's envelope).
#[test]
fn postgres_cdc_as_protobuf_into_elasticsearch() {
    cdc_into_elasticsearch(PROTOBUF, "protobuf_es_slot");
}

fn cdc_into_elasticsearch(class: &str, slot: &str) {
    use support::pg_source::cdc_connector;
    let reg = schema_registry();
    let pg = support::Postgres::start();
    pg.psql("ALTER USER postgres PASSWORD 'postgres'");
    pg.psql(
        "CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, score numeric(10,2));
         INSERT INTO customers VALUES (1, 'Sally', 10.50), (2, 'George', NULL);",
    );
    let kafka = support::tansu();
    let es_server = support::elasticsearch();
    let url = es_server.url();
    let d = tempfile::tempdir().unwrap();
    let avro = [
        ("key.converter", class),
        ("key.converter.schema.registry.url", reg.url.as_str()),
        ("value.converter", class),
        ("value.converter.schema.registry.url", reg.url.as_str()),
    ];
    let src = cdc_connector(d.path(), &pg, "pg-source", slot, &avro);
    let mut sink_cfg = serde_json::json!({
        "connector.class": "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector",
        "topics": "dbserver1.public.customers", "connection.url": url,
        "schema.ignore": "true", "key.ignore": "false", "behavior.on.null.values": "delete",
        "transforms": "unwrap,key",
        "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
        "transforms.unwrap.delete.tombstone.handling.mode": "tombstone",
        "transforms.key.type": "org.apache.kafka.connect.transforms.ExtractField$Key",
        "transforms.key.field": "id"});
    for (k, v) in avro {
        sink_cfg[k] = serde_json::Value::String(v.to_string());
    }
    if class == PROTOBUF {
        sink_cfg["value.converter.enhanced.protobuf.schema.support"] = "true".into();
    }
    let sink = write(
        d.path(),
        "es-sink.json",
        &serde_json::json!({"name": "es-sink", "config": sink_cfg}).to_string(),
    );
    let once = |files: &[&std::path::Path]| {
        let o = run_once(d.path(), &kafka.bootstrap(), "offsets", files);
        assert!(o.status.success(), "{}", output_text(&o));
    };
    once(&[&src]);
    once(&[&sink]);
    pg.psql("UPDATE customers SET name = 'Sal' WHERE id = 1; DELETE FROM customers WHERE id = 2;");
    once(&[&src]);
    once(&[&sink]);
    let docs = support::es::all_docs(&url, "dbserver1.public.customers");
    assert_eq!(docs.len(), 1, "{docs:?}");
    assert_eq!(docs[0].0, "1");
    assert_eq!(docs[0].1["name"], "Sal");
    assert_eq!(docs[0].1["id"], 1);
}
