//! Debezium-shaped change events (a customers row in its envelope, with a source block and
//! Debezium's named types) shared by the benchmarks that measure what a CDC record costs.

use kconnect::data::{
    schemas, ConnectRecord, Decimal, Schema, SchemaRef, SchemaType, Struct, Value,
};

pub struct Shapes {
    pub key: SchemaRef,
    pub row: SchemaRef,
    pub source: SchemaRef,
    pub envelope: SchemaRef,
}

pub fn shapes() -> Shapes {
    let p = "dbserver1.public.customers";
    let key = Schema::struct_builder()
        .name(format!("{p}.Key"))
        .field("id", schemas::int32())
        .build();
    let ts = Schema::builder(SchemaType::Int64)
        .name("io.debezium.time.MicroTimestamp")
        .version(1)
        .build();
    let row = Schema::struct_builder()
        .name(format!("{p}.Value"))
        .optional()
        .field("id", schemas::int32())
        .field("first_name", schemas::string())
        .field("last_name", schemas::string())
        .field("email", schemas::optional_string())
        .field("created_at", ts)
        .field(
            "balance",
            Schema::decimal(2)
                .parameter("connect.decimal.precision", "12")
                .optional()
                .build(),
        )
        .field("active", schemas::boolean())
        .field("score", schemas::optional_float64())
        .field("age", Schema::primitive(SchemaType::Int16, true))
        .field("note", schemas::optional_string())
        .build();
    let s = schemas::string;
    let source = Schema::struct_builder()
        .name("io.debezium.connector.postgresql.Source")
        .field("version", s())
        .field("connector", s())
        .field("name", s())
        .field("ts_ms", schemas::int64())
        .field(
            "snapshot",
            Schema::builder(SchemaType::String)
                .optional()
                .name("io.debezium.data.Enum")
                .version(1)
                .parameter("allowed", "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental")
                .default_value(Value::from("false"))
                .build(),
        )
        .field("db", s())
        .field("sequence", schemas::optional_string())
        .field("ts_us", schemas::optional_int64())
        .field("ts_ns", schemas::optional_int64())
        .field("schema", s())
        .field("table", s())
        .field("txId", schemas::optional_int64())
        .field("lsn", schemas::optional_int64())
        .field("xmin", schemas::optional_int64())
        .build();
    let block = Schema::struct_builder()
        .name("event.block")
        .optional()
        .version(1)
        .field("id", s())
        .field("total_order", schemas::int64())
        .field("data_collection_order", schemas::int64())
        .build();
    let envelope = Schema::struct_builder()
        .name(format!("{p}.Envelope"))
        .version(2)
        .field("before", row.clone())
        .field("after", row.clone())
        .field("source", source.clone())
        .field("transaction", block)
        .field("op", s())
        .field("ts_ms", schemas::optional_int64())
        .field("ts_us", schemas::optional_int64())
        .field("ts_ns", schemas::optional_int64())
        .build();
    Shapes {
        key,
        row,
        source,
        envelope,
    }
}

pub fn event(s: &Shapes, i: usize) -> ConnectRecord {
    let id = i as i32;
    let mut row = Struct::new(s.row.clone());
    row.values = vec![
        Value::Int32(id),
        Value::String(format!("First{i}").into()),
        Value::String(format!("Last{i}").into()),
        Value::String(format!("user{i}@example.com").into()),
        Value::Int64(1_700_000_000_000_000 + i as i64),
        Value::Decimal(Decimal {
            unscaled: (i as i64 * 7 + 1234).into(),
            scale: 2,
        }),
        Value::Boolean(i % 2 == 0),
        Value::Float64(i as f64 * 0.5),
        Value::Int16((i % 90) as i16),
        if i % 3 == 0 {
            Value::Null
        } else {
            Value::String("regular customer".into())
        },
    ];
    let mut src = Struct::new(s.source.clone());
    let lsn = 24_023_128 + i as i64 * 64;
    src.values = vec![
        "3.6.3".into(),
        "postgresql".into(),
        "dbserver1".into(),
        Value::Int64(1_700_000_000_000 + i as i64),
        "false".into(),
        "inventory".into(),
        Value::String(format!("[\"{}\",\"{}\"]", lsn - 64, lsn).into()),
        Value::Int64(1_700_000_000_000_000 + i as i64),
        Value::Int64(1_700_000_000_000_000_000 + i as i64),
        "public".into(),
        "customers".into(),
        Value::Int64(780 + i as i64),
        Value::Int64(lsn),
        Value::Null,
    ];
    let (op, before) = if i % 4 == 3 {
        ("u", Value::Null)
    } else {
        ("c", Value::Null)
    };
    let mut env = Struct::new(s.envelope.clone());
    env.values = vec![
        before,
        Value::Struct(row),
        Value::Struct(src),
        Value::Null,
        op.into(),
        Value::Int64(1_700_000_000_100 + i as i64),
        Value::Int64(1_700_000_000_100_000 + i as i64),
        Value::Int64(1_700_000_000_100_000_000 + i as i64),
    ];
    let mut key = Struct::new(s.key.clone());
    key.values = vec![Value::Int32(id)];
    ConnectRecord::new("dbserver1.public.customers")
        .with_key(Some(s.key.clone()), Value::Struct(key))
        .with_value(Some(s.envelope.clone()), Value::Struct(env))
}
