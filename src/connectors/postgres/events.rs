//! Debezium's change event shapes: per-table key, value and envelope schemas (built once per
//! table version and shared by every event), the `source` block, and the records themselves.

use std::sync::{Arc, OnceLock};

use super::columns::{self, Mapper};
use super::config::PgConfig;
use super::pgoutput::TupleValue;
use super::types::{self, PgType};
use crate::data::{
    schemas, CompactString, ConnectRecord, Headers, Schema, SchemaRef, SchemaType, Struct, Value,
};

/// What the source block's `version` says: kconnect's, so nobody mistakes it for Debezium.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "-kconnect");

pub struct ColumnSpec {
    pub name: String,
    pub ty: PgType,
    /// The type's OID and modifier as the server gave them (for Debezium's column length).
    pub type_oid: u32,
    pub typmod: i32,
    /// Debezium's `Column.typeName()`: PostgreSQL's type name, `serial` and the like in
    /// snapshots (as the JDBC driver's metadata says).
    pub type_name: String,
    /// Whether the column comes from a pgoutput relation message (else from the catalog, as
    /// in snapshots), where Debezium's idea of some columns' length differs.
    pub from_relation: bool,
    /// `None` when the catalog no longer knows the column (dropped since the change).
    pub not_null: Option<bool>,
    pub default_expr: Option<String>,
}

pub struct Column {
    pub name: String,
    /// The name as a key or value field (field.name.adjustment.mode).
    pub field_name: String,
    pub ty: PgType,
    /// Field schema in the value struct; `None` when column filters leave it out.
    pub schema: Option<SchemaRef>,
    /// Field schema in the key struct, when the column is part of the key.
    pub key_schema: Option<SchemaRef>,
    /// The column transformation of its values in change values (never in keys).
    pub mapper: Option<Mapper>,
}

/// One captured table as events describe it.
pub struct TableSchema {
    pub schema_name: String,
    pub table_name: String,
    pub topic: String,
    pub columns: Vec<Column>,
    /// Indices into `columns` of the key, in key order.
    pub key_columns: Vec<usize>,
    /// The table's primary key (or replica identity index) columns, which the reselect post
    /// processor finds a row by unless told to use the event key (message.key.columns).
    pub pk_columns: Vec<usize>,
    pub key_schema: Option<SchemaRef>,
    /// The physical table's key field value (regex topic naming strategies), last in keys.
    pub key_extra: Option<Value>,
    pub value_schema: SchemaRef,
    pub envelope: SchemaRef,
}

pub fn source_schema() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| {
        let opt = |t| Schema::primitive(t, true);
        Schema::struct_builder()
            .name("io.debezium.connector.postgresql.Source")
            .version(1)
            .field("version", schemas::string())
            .field("connector", schemas::string())
            .field("name", schemas::string())
            .field("ts_ms", schemas::int64())
            .field(
                "snapshot",
                Schema::builder(SchemaType::String)
                    .name("io.debezium.data.Enum")
                    .version(1)
                    .parameter(
                        "allowed",
                        "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental",
                    )
                    .default_value(Value::String("false".into()))
                    .optional()
                    .build(),
            )
            .field("db", schemas::string())
            .field("sequence", opt(SchemaType::String))
            .field("ts_us", opt(SchemaType::Int64))
            .field("ts_ns", opt(SchemaType::Int64))
            .field("schema", schemas::string())
            .field("table", schemas::string())
            .field("txId", opt(SchemaType::Int64))
            .field("lsn", opt(SchemaType::Int64))
            .field("xmin", opt(SchemaType::Int64))
            .field("origin", opt(SchemaType::String))
            .field("origin_lsn", opt(SchemaType::Int64))
            .build()
    })
    .clone()
}

pub fn transaction_schema() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| {
        Schema::struct_builder()
            .name("event.block")
            .version(1)
            .field("id", schemas::string())
            .field("total_order", schemas::int64())
            .field("data_collection_order", schemas::int64())
            .optional()
            .build()
    })
    .clone()
}

impl TableSchema {
    /// Builds the schemas of a table from its columns (relation order) and key column names;
    /// fails when a column transformation cannot be applied as asked (see `columns`).
    pub fn build(
        cfg: &PgConfig,
        schema_name: &str,
        table_name: &str,
        specs: Vec<ColumnSpec>,
        key_names: &[String],
    ) -> Result<TableSchema, String> {
        // The topic, which also begins the record schemas' names (Debezium's
        // recordSchemaPrefix).
        let base = cfg.topics.table_topic(&cfg.prefix, schema_name, table_name);
        let names = &cfg.names;
        let schema_name_for = |suffix: &str| -> Result<String, String> {
            Ok(names.schema_name(&format!("{base}.{suffix}"))?.into_owned())
        };
        let pk_names = key_names;
        let key_names: Vec<&str> = match cfg.filters.key_columns(schema_name, table_name) {
            Some(cols) => cols.iter().map(String::as_str).collect(),
            None => key_names.iter().map(String::as_str).collect(),
        };
        let mut columns = Vec::with_capacity(specs.len());
        let mut value = Schema::struct_builder()
            .name(schema_name_for("Value")?)
            .optional();
        for mut spec in specs {
            if spec.from_relation && spec.type_oid == 19 && !cfg.include_unknown {
                spec.ty = PgType::StreamedName;
            }
            if let PgType::Postgis { not_null, .. } = &mut spec.ty {
                *not_null = spec.not_null.unwrap_or(false);
            }
            if let PgType::Unimplemented(name) = &spec.ty {
                return Err(format!(
                    "column {schema_name}.{table_name}.{} is of type {name}, which Debezium maps to its own schema and kconnect does not implement yet: exclude the column (column.exclude.list) or the table, or run this connector on Kafka Connect",
                    spec.name
                ));
            }
            if spec.ty.dropped() {
                // As Debezium: no converter, so the column is in neither value nor key.
                tracing::warn!(
                    "column {schema_name}.{table_name}.{} of type {} is left out of change events: Debezium has no converter for it{}",
                    spec.name,
                    spec.type_name,
                    if matches!(spec.ty, PgType::Unsupported) {
                        ""
                    } else {
                        " (include.unknown.datatypes=true writes it as bytes)"
                    }
                );
                let field_name = spec.name.clone();
                columns.push(Column {
                    name: spec.name,
                    field_name,
                    ty: spec.ty,
                    schema: None,
                    key_schema: None,
                    mapper: None,
                });
                continue;
            }
            let optional = !spec.not_null.unwrap_or(false);
            let plain = spec.ty.schema(optional, cfg.decimal_mode, cfg.money_digits);
            let default_expr = spec
                .default_expr
                .as_deref()
                .filter(|_| !spec.ty.drops_default() && spec.ty.default_mapped(&spec.type_name));
            let default = default_expr
                .and_then(types::default_literal)
                .and_then(|lit| spec.ty.parse(&lit, &plain).ok())
                .or_else(|| {
                    (default_expr.is_some() && !optional)
                        .then(|| types::implicit_default(&spec.ty))
                        .flatten()
                });
            let field_schema = match default {
                Some(d) => spec
                    .ty
                    .builder(optional, cfg.decimal_mode, cfg.money_digits)
                    .default_value(d)
                    .build(),
                None => plain,
            };
            let included = cfg
                .filters
                .column_included(schema_name, table_name, &spec.name);
            let is_key = key_names.contains(&spec.name.as_str());
            let (mapper, value_schema) = if included && !cfg.column_rules.is_empty() {
                let found = columns::for_column(
                    &cfg.column_rules,
                    &columns::ColumnInfo {
                        table: &format!("{schema_name}.{table_name}"),
                        name: &spec.name,
                        type_name: &spec.type_name,
                        ty: &spec.ty,
                        oid: spec.type_oid,
                        typmod: spec.typmod,
                        streaming: spec.from_relation,
                        is_key,
                    },
                )?;
                match found {
                    Some(columns::Applied { mapper, parameters }) if !parameters.is_empty() => {
                        let mut b = field_schema.to_builder();
                        for (name, value) in parameters {
                            b = b.parameter(name, value);
                        }
                        (mapper, b.build())
                    }
                    Some(columns::Applied { mapper, .. }) => (mapper, field_schema.clone()),
                    None => (None, field_schema.clone()),
                }
            } else {
                (None, field_schema.clone())
            };
            let field_name = names.field_name(&spec.name)?.into_owned();
            if included {
                value = value.field(field_name.clone(), value_schema.clone());
            }
            columns.push(Column {
                name: spec.name,
                field_name,
                ty: spec.ty,
                schema: included.then_some(value_schema),
                key_schema: is_key.then_some(field_schema),
                mapper,
            });
        }
        let mut key_columns = Vec::new();
        // A key whose columns were all left out (unknown types) is an empty struct, as
        // Debezium writes it; a table without key columns has no key.
        let mut has_key = false;
        for name in &key_names {
            if let Some(i) = columns.iter().position(|c| c.name == *name) {
                has_key = true;
                if columns[i].key_schema.is_some() {
                    key_columns.push(i);
                }
            }
        }
        // The regex topic naming strategies name the physical table in every key, a table
        // without a primary key included (Debezium's keySchemaAugment).
        let physical = cfg.topics.key_field(&cfg.prefix, schema_name, table_name);
        let key_schema = if !has_key && physical.is_none() {
            None
        } else {
            let mut k = Schema::struct_builder().name(schema_name_for("Key")?);
            for &i in &key_columns {
                let c = &columns[i];
                k = k.field(
                    c.field_name.clone(),
                    c.key_schema.clone().expect("key column"),
                );
            }
            if let Some((name, _)) = &physical {
                k = k.field(name.to_string(), schemas::string());
            }
            Some(k.build())
        };
        let key_extra = physical.map(|(_, v)| Value::String(v.into()));
        let value_schema = value.build();
        let envelope = Schema::struct_builder()
            .name(schema_name_for("Envelope")?)
            .version(2)
            .field("before", value_schema.clone())
            .field("after", value_schema.clone())
            .field("source", source_schema())
            .field("transaction", transaction_schema())
            .field("op", schemas::string())
            .field("ts_ms", schemas::optional_int64())
            .field("ts_us", schemas::optional_int64())
            .field("ts_ns", schemas::optional_int64())
            .build();
        let pk_columns = pk_names
            .iter()
            .filter_map(|n| columns.iter().position(|c| c.name == *n))
            .collect();
        Ok(TableSchema {
            schema_name: schema_name.to_string(),
            table_name: table_name.to_string(),
            topic: base,
            columns,
            key_columns,
            pk_columns,
            key_schema,
            key_extra,
            value_schema,
            envelope,
        })
    }

    fn parse(
        &self,
        i: usize,
        v: &TupleValue<'_>,
        schema: &SchemaRef,
        cfg: &PgConfig,
    ) -> Result<Value, String> {
        let c = &self.columns[i];
        match v {
            // Null, or a required column the old tuple did not carry (key-only identity).
            TupleValue::Null => {
                if let Some(missing) = c.ty.missing_value(schema) {
                    return Ok(missing);
                }
                Ok(if schema.optional {
                    Value::Null
                } else {
                    types::zero_value(schema)
                })
            }
            TupleValue::Unchanged => Ok(c.ty.placeholder(&cfg.placeholder)),
            TupleValue::Text(t) => c.ty.parse(t, schema).map_err(|e| {
                format!(
                    "column {}.{}.{}: {e}",
                    self.schema_name, self.table_name, c.name
                )
            }),
        }
    }

    /// The value column `i` takes for `text` (None: null), without the column's transformation
    /// (a mask or truncation), as Debezium converts a re-selected value.
    pub fn value_of(&self, i: usize, text: Option<&str>, cfg: &PgConfig) -> Result<Value, String> {
        let schema = self.columns[i]
            .schema
            .as_ref()
            .expect("a column of the value");
        let v = text.map_or(TupleValue::Null, TupleValue::Text);
        self.parse(i, &v, schema, cfg)
    }

    /// The value struct of a row given column by column in relation order.
    pub fn row(&self, tuple: &[TupleValue<'_>], cfg: &PgConfig) -> Result<Value, String> {
        let mut values = Vec::with_capacity(self.value_schema.fields.len());
        for (i, c) in self.columns.iter().enumerate() {
            if let Some(s) = &c.schema {
                let v = tuple.get(i).unwrap_or(&TupleValue::Null);
                let v = self.parse(i, v, s, cfg)?;
                values.push(match &c.mapper {
                    Some(m) => m.apply(v),
                    None => v,
                });
            }
        }
        Ok(Value::Struct(Struct {
            schema: self.value_schema.clone(),
            values,
        }))
    }

    /// The key struct of a row, or `None` for tables without a key.
    pub fn key(&self, tuple: &[TupleValue<'_>], cfg: &PgConfig) -> Result<Option<Value>, String> {
        let Some(schema) = &self.key_schema else {
            return Ok(None);
        };
        let mut values = Vec::with_capacity(self.key_columns.len());
        for &i in &self.key_columns {
            let s = self.columns[i].key_schema.as_ref().expect("key column");
            let v = tuple.get(i).unwrap_or(&TupleValue::Null);
            values.push(self.parse(i, v, s, cfg)?);
        }
        values.extend(self.key_extra.iter().cloned());
        Ok(Some(Value::Struct(Struct {
            schema: schema.clone(),
            values,
        })))
    }
}

/// Position and timing of an event for the `source` block.
pub struct SourceInfo<'a> {
    pub ts_us: i64,
    pub snapshot: &'static str,
    pub sequence: CompactString,
    pub tx_id: Option<i64>,
    pub lsn: Option<i64>,
    pub db: &'a str,
}

pub fn source_value(cfg: &PgConfig, table: &TableSchema, info: SourceInfo<'_>) -> Value {
    source_value_of(cfg, &table.schema_name, &table.table_name, info)
}

/// The `source` block naming `schema` and `table` (both empty for events of no table, as
/// Debezium's logical decoding messages).
pub fn source_value_of(cfg: &PgConfig, schema: &str, table: &str, info: SourceInfo<'_>) -> Value {
    let opt_i64 = |v: Option<i64>| v.map(Value::Int64).unwrap_or(Value::Null);
    Value::Struct(Struct {
        schema: source_schema(),
        values: vec![
            Value::String(VERSION.into()),
            Value::String("postgresql".into()),
            Value::String(cfg.prefix.as_str().into()),
            Value::Int64(info.ts_us.div_euclid(1000)),
            Value::String(info.snapshot.into()),
            Value::String(info.db.into()),
            Value::String(info.sequence),
            Value::Int64(info.ts_us),
            Value::Int64(info.ts_us.saturating_mul(1000)),
            Value::String(schema.into()),
            Value::String(table.into()),
            opt_i64(info.tx_id),
            opt_i64(info.lsn),
            Value::Null,
            Value::Null,
            Value::Null,
        ],
    })
}

/// Wall clock in nanoseconds since the epoch, for the envelope's processing timestamps.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

pub fn envelope(
    table: &TableSchema,
    before: Value,
    after: Value,
    source: Value,
    op: &str,
    transaction: Value,
) -> Value {
    let ns = now_ns();
    Value::Struct(Struct {
        schema: table.envelope.clone(),
        values: vec![
            before,
            after,
            source,
            transaction,
            Value::String(op.into()),
            Value::Int64(ns / 1_000_000),
            Value::Int64(ns / 1000),
            Value::Int64(ns),
        ],
    })
}

/// The `transaction` block of a change event (provide.transaction.metadata).
pub fn transaction_block(id: &str, total_order: i64, data_collection_order: i64) -> Value {
    Value::Struct(Struct {
        schema: transaction_schema(),
        values: vec![
            Value::String(id.into()),
            Value::Int64(total_order),
            Value::Int64(data_collection_order),
        ],
    })
}

/// A BEGIN (`counts` None) or END event of provide.transaction.metadata, as Debezium's
/// TransactionMonitor writes it: no context headers (as its heartbeats), and the END's
/// per-table counts in the order of the Java HashMap Debezium keeps them in.
pub fn transaction_event(
    topic: &str,
    id: &str,
    ts_ms: i64,
    counts: Option<(i64, &[(String, i64)])>,
) -> ConnectRecord {
    static K: OnceLock<SchemaRef> = OnceLock::new();
    static V: OnceLock<SchemaRef> = OnceLock::new();
    static C: OnceLock<SchemaRef> = OnceLock::new();
    let ks = K
        .get_or_init(|| {
            Schema::struct_builder()
                .name("io.debezium.connector.common.TransactionMetadataKey")
                .version(1)
                .field("id", schemas::string())
                .build()
        })
        .clone();
    let cs = C
        .get_or_init(|| {
            Schema::struct_builder()
                .name("event.collection")
                .version(1)
                .field("data_collection", schemas::string())
                .field("event_count", schemas::int64())
                .optional()
                .build()
        })
        .clone();
    let vs = V
        .get_or_init(|| {
            Schema::struct_builder()
                .name("io.debezium.connector.common.TransactionMetadataValue")
                .version(1)
                .field("status", schemas::string())
                .field("id", schemas::string())
                .field("event_count", Schema::primitive(SchemaType::Int64, true))
                .field(
                    "data_collections",
                    Schema::array(cs.clone()).optional().build(),
                )
                .field("ts_ms", schemas::int64())
                .build()
        })
        .clone();
    let key = Value::Struct(Struct {
        schema: ks.clone(),
        values: vec![Value::String(id.into())],
    });
    let (status, count, collections) = match counts {
        None => ("BEGIN", Value::Null, Value::Null),
        Some((total, per_table)) => {
            let entries: Vec<(Value, Value)> = per_table
                .iter()
                .map(|(t, n)| (Value::String(t.as_str().into()), Value::Int64(*n)))
                .collect();
            let order = crate::data::java_string::hash_map_order(&entries)
                .unwrap_or_else(|| (0..entries.len()).collect());
            let items = order
                .into_iter()
                .map(|i| {
                    Value::Struct(Struct {
                        schema: cs.clone(),
                        values: vec![entries[i].0.clone(), entries[i].1.clone()],
                    })
                })
                .collect();
            ("END", Value::Int64(total), Value::Array(items))
        }
    };
    let value = Value::Struct(Struct {
        schema: vs.clone(),
        values: vec![
            Value::String(status.into()),
            Value::String(id.into()),
            count,
            collections,
            Value::Int64(ts_ms),
        ],
    });
    ConnectRecord::new(topic.to_string())
        .with_key(Some(ks), key)
        .with_value(Some(vs), value)
}

/// A change event's record (a tombstone when `value` is `None`), with Debezium's context
/// headers when `extended.headers.enabled`. `key_change` is the `__debezium.newkey` or
/// `__debezium.oldkey` header of a primary-key change, which Debezium puts first.
pub fn record(
    cfg: &PgConfig,
    table: &TableSchema,
    key: Option<Value>,
    value: Option<Value>,
    key_change: Option<(&'static str, Value)>,
) -> ConnectRecord {
    let mut r = ConnectRecord::new(table.topic.clone());
    if let Some((name, k)) = key_change {
        r.headers.add(name, table.key_schema.clone(), k);
    }
    if let Some(context) = &cfg.context_headers {
        r.headers.0.extend(context.iter().cloned());
    }
    if let Some(k) = key {
        r = r.with_key(table.key_schema.clone(), k);
    }
    match value {
        Some(v) => r.with_value(Some(table.envelope.clone()), v),
        None => r,
    }
}

/// Debezium 3's four `__debezium.context.*` headers, built once per task start: the run id is
/// a new time-ordered UUID each time, as Debezium's.
pub fn context_headers(prefix: &str) -> Headers {
    let mut h = Headers::new();
    h.add_string("__debezium.context.connectorLogicalName", prefix);
    h.add_string("__debezium.context.taskId", "0");
    h.add_string("__debezium.context.connectorName", "postgresql");
    h.add_string("__debezium.context.runId", uuid::Uuid::now_v7().to_string());
    h
}

/// Debezium's heartbeat record schemas (key `ServerNameKey`, value `Heartbeat`).
pub fn heartbeat(cfg: &PgConfig) -> ConnectRecord {
    static K: OnceLock<SchemaRef> = OnceLock::new();
    static V: OnceLock<SchemaRef> = OnceLock::new();
    let ks = K
        .get_or_init(|| {
            Schema::struct_builder()
                .name("io.debezium.connector.common.ServerNameKey")
                .field("serverName", schemas::string())
                .build()
        })
        .clone();
    let vs = V
        .get_or_init(|| {
            Schema::struct_builder()
                .name("io.debezium.connector.common.Heartbeat")
                .field("ts_ms", schemas::int64())
                .build()
        })
        .clone();
    let key = Value::Struct(Struct {
        schema: ks.clone(),
        values: vec![Value::String(cfg.prefix.as_str().into())],
    });
    let value = Value::Struct(Struct {
        schema: vs.clone(),
        values: vec![Value::Int64(now_ns() / 1_000_000)],
    });
    ConnectRecord::new(cfg.heartbeat_topic.clone())
        .with_key(Some(ks), key)
        .with_value(Some(vs), value)
}

/// Shares a built table between events.
pub type TableRef = Arc<TableSchema>;
