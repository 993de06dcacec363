//! Talking to PostgreSQL: connections with predictable text output, the errors users can act
//! on, catalog lookups that turn a relation into a `TableSchema`, and slot/publication setup.

use std::collections::HashMap;

use postgres::Client;

use super::config::{PgConfig, PublicationMode};
use super::events::{ColumnSpec, TableSchema};
use super::types::{self, TypeEntry};
use crate::api::ConnectError;
use crate::connectors::pg_errors::{describe, ServerError};
use crate::connectors::pg_tls::{self, ConnectFailure};

#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("cannot reach PostgreSQL at {addr}: {reason}; check database.hostname and database.port and that the server is running (will retry)")]
    Unreachable { addr: String, reason: String },
    #[error("PostgreSQL refused the login of user {user} to database {db}: {message}; check database.user, database.password and database.dbname")]
    Login {
        user: String,
        db: String,
        message: String,
    },
    #[error("PostgreSQL refused the login of user {user} to database {db}: {message}; set database.sslcert and database.sslkey (and database.sslpassword for an encrypted key) to a client certificate for {user} signed by a CA the server trusts (its ssl_ca_file)")]
    CertLogin {
        user: String,
        db: String,
        message: String,
    },
    #[error("the server's wal_level is {0}, logical decoding needs wal_level=logical: set it in postgresql.conf (ALTER SYSTEM SET wal_level = logical) and restart PostgreSQL")]
    WalLevel(String),
    #[error("user {user} lacks a privilege: {message}; grant it the REPLICATION attribute (ALTER ROLE {user} REPLICATION), SELECT on the captured tables, and CREATE on the database to create the publication (or create publication {publication} yourself and set publication.autocreate.mode=disabled)")]
    Privilege {
        user: String,
        publication: String,
        message: String,
    },
    #[error("replication slot {slot} is in use by another client (backend pid {pid}); stop that client, or end it with SELECT pg_terminate_backend({pid}), or give this connector another slot.name")]
    SlotInUse { slot: String, pid: i32 },
    #[error("publication {0} does not exist and publication.autocreate.mode=disabled; create it (CREATE PUBLICATION {0} FOR TABLE ...) or set publication.autocreate.mode to all_tables or filtered")]
    NoPublication(String),
    #[error("no table matches the connector's filters (schema/table include and exclude lists), so publication {0} cannot be created in filtered mode; check table.include.list")]
    NothingToPublish(String),
    /// TLS settings or certificates: each variant says what to change.
    #[error("{0}")]
    Tls(ConnectFailure),
    #[error("{context}: {}", describe(source))]
    Query {
        context: String,
        #[source]
        source: postgres::Error,
    },
    #[error("the replication connection to PostgreSQL at {addr} broke: {reason} (will reconnect)")]
    ConnectionLost { addr: String, reason: String },
    /// A failure reported by the server on the replication connection.
    #[error("{context}: {error}")]
    Server { context: String, error: ServerError },
    #[error("{0}")]
    Protocol(String),
    /// A column transformation (column.mask.*, column.truncate.*) that cannot run as asked.
    #[error("{0}")]
    ColumnRule(String),
    /// A snapshot.select.statement.overrides query whose rows cannot be the table's.
    #[error("{0}")]
    SnapshotQuery(String),
    /// snapshot.locking.mode=shared could not lock the captured tables in time.
    #[error("the snapshot could not lock the captured tables ({tables}) within snapshot.lock.timeout.ms={timeout_ms} (snapshot.locking.mode=shared): another session holds a conflicting lock, such as an ALTER TABLE, DROP, TRUNCATE or LOCK in progress ({message}); let it finish, raise snapshot.lock.timeout.ms, or set snapshot.locking.mode=none")]
    SnapshotLock {
        tables: String,
        timeout_ms: u128,
        message: String,
    },
}

impl PgError {
    /// Whether waiting and trying again can help.
    pub fn is_transient(&self) -> bool {
        match self {
            PgError::Unreachable { .. }
            | PgError::SlotInUse { .. }
            | PgError::ConnectionLost { .. } => true,
            PgError::Query { source, .. } => source.is_closed() || source.as_db_error().is_none(),
            PgError::Server { error, .. } => error.is_transient(),
            _ => false,
        }
    }
}

impl From<PgError> for ConnectError {
    fn from(e: PgError) -> ConnectError {
        let msg = e.to_string();
        if e.is_transient() {
            ConnectError::retriable(msg)
        } else {
            ConnectError::fatal(msg)
        }
    }
}

/// Wraps a failure the server reported on the replication connection, recognising the ones
/// with a specific remedy as [`query_error`] does.
pub fn server_error(cfg: &PgConfig, context: &str, error: ServerError) -> PgError {
    match error.code.as_str() {
        "42501" => PgError::Privilege {
            user: cfg.user.clone(),
            publication: cfg.publication.clone(),
            message: error.message,
        },
        "55000" if error.message.contains("wal_level") => PgError::WalLevel("not logical".into()),
        // "replication slot \"s\" is active for PID 1234"
        "55006" if error.message.contains(" is active for PID ") => PgError::SlotInUse {
            slot: cfg.slot.clone(),
            pid: error
                .message
                .rsplit(' ')
                .next()
                .and_then(|p| p.parse().ok())
                .unwrap_or(0),
        },
        _ => PgError::Server {
            context: context.to_string(),
            error,
        },
    }
}

/// Wraps a query failure, recognising the ones with a specific remedy.
pub fn query_error(cfg: &PgConfig, context: &str, e: postgres::Error) -> PgError {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        if code == "42501" {
            return PgError::Privilege {
                user: cfg.user.clone(),
                publication: cfg.publication.clone(),
                message: db.message().to_string(),
            };
        }
        if code == "55000" && db.message().contains("wal_level") {
            return PgError::WalLevel("not logical".into());
        }
    }
    PgError::Query {
        context: context.to_string(),
        source: e,
    }
}

pub fn connect(cfg: &PgConfig) -> Result<Client, PgError> {
    let mut c = postgres::Config::new();
    c.host(&cfg.host)
        .port(cfg.port)
        .user(&cfg.user)
        .dbname(&cfg.dbname)
        .application_name("kconnect")
        .connect_timeout(cfg.connect_timeout);
    if let Some(p) = &cfg.password {
        c.password(p);
    }
    let mut client = pg_tls::connect(&c, &cfg.tls).map_err(|f| {
        let e = match f {
            ConnectFailure::Postgres(e) => e,
            tls => return PgError::Tls(tls),
        };
        match e.as_db_error() {
            // A server starting up, shutting down or out of connections (57P03, 53300, ...)
            // turns the login away too; that passes, a wrong user or database does not.
            Some(db) if !is_login_refusal(db.code().code()) => PgError::Server {
                context: format!("connecting to PostgreSQL at {}:{}", cfg.host, cfg.port),
                error: ServerError {
                    code: db.code().code().to_string(),
                    message: db.message().to_string(),
                    detail: db.detail().map(str::to_string),
                    hint: db.hint().map(str::to_string),
                },
            },
            Some(db) if db.message().contains("certificate") => PgError::CertLogin {
                user: cfg.user.clone(),
                db: cfg.dbname.clone(),
                message: db.message().to_string(),
            },
            Some(db) => PgError::Login {
                user: cfg.user.clone(),
                db: cfg.dbname.clone(),
                message: db.message().to_string(),
            },
            None => PgError::Unreachable {
                addr: format!("{}:{}", cfg.host, cfg.port),
                reason: describe(&e),
            },
        }
    })?;
    for statement in &cfg.initial_statements {
        client.batch_execute(statement).map_err(|e| {
            query_error(
                cfg,
                &format!("running database.initial.statements ({statement})"),
                e,
            )
        })?;
    }
    // Every value is read from its text output, so fix the styles that shape it.
    client
        .batch_execute(
            "SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'iso_8601'; SET TimeZone = 'UTC'; \
             SET bytea_output = 'hex'; SET extra_float_digits = 1; SET lc_monetary = 'C'",
        )
        .map_err(|e| query_error(cfg, "setting session options", e))?;
    if let Some(ms) = query_timeout_ms(cfg) {
        client
            .batch_execute(&format!("SET statement_timeout = {ms}"))
            .map_err(|e| query_error(cfg, "setting database.query.timeout.ms", e))?;
    }
    Ok(client)
}

/// database.query.timeout.ms as a statement_timeout, unless it is none (below a second, as
/// JDBC's whole seconds make it) or database.initial.statements sets statement_timeout itself.
fn query_timeout_ms(cfg: &PgConfig) -> Option<i64> {
    let own = cfg
        .initial_statements
        .iter()
        .any(|s| s.to_ascii_lowercase().contains("statement_timeout"));
    (cfg.query_timeout_s > 0 && !own).then_some(cfg.query_timeout_s * 1000)
}

/// Runs `f` with no statement timeout: what waits on other sessions by design (creating a
/// slot waits for the transactions running at that moment) or reads a whole table.
pub fn unbounded<T>(
    client: &mut Client,
    cfg: &PgConfig,
    f: impl FnOnce(&mut Client) -> Result<T, PgError>,
) -> Result<T, PgError> {
    let Some(ms) = query_timeout_ms(cfg) else {
        return f(client);
    };
    client
        .batch_execute("SET statement_timeout = 0")
        .map_err(|e| query_error(cfg, "lifting the statement timeout", e))?;
    let out = f(client)?;
    client
        .batch_execute(&format!("SET statement_timeout = {ms}"))
        .map_err(|e| query_error(cfg, "setting database.query.timeout.ms", e))?;
    Ok(out)
}

/// The SQLSTATEs of a login the server will refuse again: authorization (class 28) and an
/// unknown database. Anything else at login (the server starting up, too many connections) is
/// the server's state, not the connector's config.
pub fn is_login_refusal(code: &str) -> bool {
    code.starts_with("28") || code == "3D000"
}

/// Quotes an SQL string literal.
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Quotes an SQL identifier.
pub fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

pub fn format_lsn(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xffff_ffff)
}

pub fn parse_lsn(s: &str) -> Option<u64> {
    let (hi, lo) = s.split_once('/')?;
    Some(u64::from_str_radix(hi, 16).ok()? << 32 | u64::from_str_radix(lo, 16).ok()?)
}

pub fn check_wal_level(client: &mut Client, cfg: &PgConfig) -> Result<(), PgError> {
    let row = client
        .query_one("SHOW wal_level", &[])
        .map_err(|e| query_error(cfg, "reading wal_level", e))?;
    let level: String = row.get(0);
    if level != "logical" {
        return Err(PgError::WalLevel(level));
    }
    Ok(())
}

/// A table the filters capture.
pub struct TableId {
    pub oid: u32,
    pub schema: String,
    pub name: String,
}

/// Captured tables in the order Debezium snapshots them (by name). Partitioned tables and
/// their partitions are all tables to Debezium (the JDBC driver's TABLE and PARTITIONED
/// TABLE): each is snapshotted, so a partition's rows are read under the root's name and the
/// partition's own.
pub fn captured_tables(client: &mut Client, cfg: &PgConfig) -> Result<Vec<TableId>, PgError> {
    let rows = client
        .query(
            "SELECT c.oid, n.nspname::text, c.relname::text FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') \
             ORDER BY n.nspname, c.relname",
            &[],
        )
        .map_err(|e| query_error(cfg, "listing tables", e))?;
    let mut out: Vec<TableId> = rows
        .iter()
        .map(|r| TableId {
            oid: r.get(0),
            schema: r.get(1),
            name: r.get(2),
        })
        .filter(|t| cfg.filters.table_included(&t.schema, &t.name))
        .collect();
    out.sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
    Ok(out)
}

/// Catalog lookups, cached per type OID; column facts are read per relation version.
#[derive(Default)]
pub struct Catalog {
    types: HashMap<u32, Option<TypeEntry>>,
}

pub struct CatalogColumn {
    pub name: String,
    pub type_oid: u32,
    pub typmod: i32,
    pub not_null: bool,
    pub default_expr: Option<String>,
}

impl Catalog {
    fn type_entry(
        &mut self,
        client: &mut Client,
        cfg: &PgConfig,
        oid: u32,
    ) -> Result<Option<TypeEntry>, PgError> {
        if let Some(e) = self.types.get(&oid) {
            return Ok(e.clone());
        }
        let row = client
            .query_opt(
                "SELECT t.typname::text, t.typtype::text, t.typelem, t.typbasetype, t.typtypmod, \
                 COALESCE((SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), '{}') \
                 FROM pg_type t WHERE t.oid = $1",
                &[&oid],
            )
            .map_err(|e| query_error(cfg, "reading pg_type", e))?;
        let entry = row.map(|r| TypeEntry {
            name: r.get(0),
            kind: r.get::<_, String>(1).chars().next().unwrap_or('b'),
            elem: r.get(2),
            base: r.get(3),
            base_typmod: r.get(4),
            enum_labels: r.get(5),
        });
        self.types.insert(oid, entry.clone());
        Ok(entry)
    }

    /// PostgreSQL's name of a type (`int4`, `varchar`, `_text`, an enum's or domain's own),
    /// Debezium's `Column.typeName()`; empty when unknown.
    fn type_name(
        &mut self,
        client: &mut Client,
        cfg: &PgConfig,
        oid: u32,
    ) -> Result<String, PgError> {
        if let Some(name) = types::builtin_name(oid) {
            return Ok(name.to_string());
        }
        Ok(self
            .type_entry(client, cfg, oid)?
            .map(|e| e.name)
            .unwrap_or_default())
    }

    pub fn resolve(
        &mut self,
        client: &mut Client,
        cfg: &PgConfig,
        oid: u32,
        typmod: i32,
    ) -> Result<types::PgType, PgError> {
        if let Some(t) = types::builtin(oid, typmod) {
            return Ok(t.with_modes(&cfg.type_modes()));
        }
        // Collect what the resolution needs first (element and base types), then resolve.
        let mut pending = vec![oid];
        while let Some(o) = pending.pop() {
            if types::builtin(o, -1).is_some() {
                continue;
            }
            if let Some(e) = self.type_entry(client, cfg, o)? {
                for next in [e.elem, e.base] {
                    if next != 0 && !self.types.contains_key(&next) {
                        pending.push(next);
                    }
                }
            }
        }
        let types = &self.types;
        Ok(
            types::resolve(oid, typmod, &mut |o| types.get(&o).cloned().flatten())
                .with_modes(&cfg.type_modes()),
        )
    }

    pub fn columns(
        &mut self,
        client: &mut Client,
        cfg: &PgConfig,
        rel: u32,
    ) -> Result<Vec<CatalogColumn>, PgError> {
        let rows = client
            .query(
                "SELECT a.attname::text, a.atttypid, a.atttypmod, a.attnotnull, pg_get_expr(d.adbin, d.adrelid) \
                 FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
                 WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                &[&rel],
            )
            .map_err(|e| query_error(cfg, "reading pg_attribute", e))?;
        Ok(rows
            .iter()
            .map(|r| CatalogColumn {
                name: r.get(0),
                type_oid: r.get(1),
                typmod: r.get(2),
                not_null: r.get(3),
                default_expr: r.get(4),
            })
            .collect())
    }

    pub fn primary_key(
        &mut self,
        client: &mut Client,
        cfg: &PgConfig,
        rel: u32,
    ) -> Result<Vec<String>, PgError> {
        let rows = client
            .query(
                "SELECT a.attname::text FROM pg_index i \
                 CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) \
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
                 WHERE i.indrelid = $1 AND i.indisprimary ORDER BY k.ord",
                &[&rel],
            )
            .map_err(|e| query_error(cfg, "reading the primary key", e))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// A table's schema as the catalog has it now (snapshots).
    pub fn table_from_catalog(
        &mut self,
        client: &mut Client,
        cfg: &PgConfig,
        t: &TableId,
    ) -> Result<TableSchema, PgError> {
        let cols = self.columns(client, cfg, t.oid)?;
        let pk = self.primary_key(client, cfg, t.oid)?;
        let mut specs = Vec::with_capacity(cols.len());
        for c in cols {
            let mut type_name = self.type_name(client, cfg, c.type_oid)?;
            // The JDBC driver's metadata, which Debezium's snapshot reads, calls an integer
            // column taking its default from a sequence serial (bigserial, smallserial).
            if c.default_expr
                .as_deref()
                .is_some_and(|d| d.starts_with("nextval("))
            {
                if let Some(serial) = match type_name.as_str() {
                    "int4" => Some("serial"),
                    "int8" => Some("bigserial"),
                    "int2" => Some("smallserial"),
                    _ => None,
                } {
                    type_name = serial.to_string();
                }
            }
            specs.push(ColumnSpec {
                ty: self.resolve(client, cfg, c.type_oid, c.typmod)?,
                type_name,
                type_oid: c.type_oid,
                typmod: c.typmod,
                from_relation: false,
                name: c.name,
                not_null: Some(c.not_null),
                default_expr: c.default_expr,
            });
        }
        TableSchema::build(cfg, &t.schema, &t.name, specs, &pk).map_err(PgError::ColumnRule)
    }

    /// A table's schema from a pgoutput Relation message (authoritative for the columns of
    /// the changes that follow), with nullability and defaults from the catalog.
    pub fn table_from_relation(
        &mut self,
        client: &mut Client,
        cfg: &PgConfig,
        rel: &super::pgoutput::Relation,
    ) -> Result<TableSchema, PgError> {
        let cols = self.columns(client, cfg, rel.oid)?;
        let mut pk = self.primary_key(client, cfg, rel.oid)?;
        if pk.is_empty() && rel.replica_identity == b'i' {
            pk = rel
                .columns
                .iter()
                .filter(|c| c.key)
                .map(|c| c.name.clone())
                .collect();
        }
        let mut specs = Vec::with_capacity(rel.columns.len());
        for rc in &rel.columns {
            let cat = cols.iter().find(|c| c.name == rc.name);
            specs.push(ColumnSpec {
                name: rc.name.clone(),
                type_name: self.type_name(client, cfg, rc.type_oid)?,
                ty: self.resolve(client, cfg, rc.type_oid, rc.typmod)?,
                type_oid: rc.type_oid,
                typmod: rc.typmod,
                from_relation: true,
                not_null: cat.map(|c| c.not_null),
                default_expr: cat.and_then(|c| c.default_expr.clone()),
            });
        }
        TableSchema::build(cfg, &rel.namespace, &rel.name, specs, &pk).map_err(PgError::ColumnRule)
    }
}

/// Creates or updates the publication as `publication.autocreate.mode` says.
pub fn ensure_publication(client: &mut Client, cfg: &PgConfig) -> Result<(), PgError> {
    let exists = client
        .query_opt(
            "SELECT 1 FROM pg_publication WHERE pubname = $1",
            &[&cfg.publication],
        )
        .map_err(|e| query_error(cfg, "reading pg_publication", e))?
        .is_some();
    let pubname = ident(&cfg.publication);
    // Set when the publication is created, as Debezium does; an existing one is left as is.
    let with = if cfg.publish_via_root {
        " WITH (publish_via_partition_root = true)"
    } else {
        ""
    };
    let sql = match cfg.publication_mode {
        PublicationMode::Disabled if !exists => {
            return Err(PgError::NoPublication(cfg.publication.clone()))
        }
        PublicationMode::Disabled => return Ok(()),
        PublicationMode::AllTables | PublicationMode::NoTables if exists => return Ok(()),
        PublicationMode::AllTables => format!("CREATE PUBLICATION {pubname} FOR ALL TABLES{with}"),
        PublicationMode::NoTables => format!("CREATE PUBLICATION {pubname}{with}"),
        PublicationMode::Filtered => {
            let tables = captured_tables(client, cfg)?;
            if tables.is_empty() {
                return Err(PgError::NothingToPublish(cfg.publication.clone()));
            }
            let list: Vec<String> = tables
                .iter()
                .map(|t| format!("{}.{}", ident(&t.schema), ident(&t.name)))
                .collect();
            if exists {
                format!("ALTER PUBLICATION {pubname} SET TABLE {}", list.join(", "))
            } else {
                format!(
                    "CREATE PUBLICATION {pubname} FOR TABLE {}{with}",
                    list.join(", ")
                )
            }
        }
    };
    tracing::info!(publication = %cfg.publication, "{sql}");
    client
        .batch_execute(&sql)
        .map_err(|e| query_error(cfg, &format!("creating publication {}", cfg.publication), e))
}

pub struct SlotState {
    pub confirmed_flush: u64,
    pub created: bool,
}

/// Finds or creates the logical replication slot; refuses one that another client holds.
/// Whether the replication slot exists, before anything creates it.
pub fn slot_exists(client: &mut Client, cfg: &PgConfig) -> Result<bool, PgError> {
    client
        .query_opt(
            "SELECT 1 FROM pg_replication_slots WHERE slot_name = $1",
            &[&cfg.slot],
        )
        .map(|r| r.is_some())
        .map_err(|e| query_error(cfg, "reading pg_replication_slots", e))
}

pub fn ensure_slot(client: &mut Client, cfg: &PgConfig) -> Result<SlotState, PgError> {
    // A server process whose client just went away (a kconnect killed a moment ago) holds
    // the slot until it notices: give it a moment before calling the slot busy.
    let patience = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let row = loop {
        let row = client
            .query_opt(
                "SELECT plugin::text, active_pid, confirmed_flush_lsn::text, database::text FROM pg_replication_slots WHERE slot_name = $1",
                &[&cfg.slot],
            )
            .map_err(|e| query_error(cfg, "reading pg_replication_slots", e))?;
        let active = row
            .as_ref()
            .is_some_and(|r| r.get::<_, Option<i32>>(1).is_some());
        if !active || std::time::Instant::now() > patience {
            break row;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    if let Some(r) = row {
        let plugin: Option<String> = r.get(0);
        let pid: Option<i32> = r.get(1);
        let confirmed: Option<String> = r.get(2);
        let db: Option<String> = r.get(3);
        if let Some(pid) = pid {
            return Err(PgError::SlotInUse {
                slot: cfg.slot.clone(),
                pid,
            });
        }
        if plugin.as_deref() != Some("pgoutput") {
            return Err(PgError::Protocol(format!(
                "replication slot {} uses the {} plugin, kconnect needs pgoutput; drop it (SELECT pg_drop_replication_slot('{}')) or set another slot.name",
                cfg.slot,
                plugin.unwrap_or_default(),
                cfg.slot
            )));
        }
        if db.as_deref() != Some(cfg.dbname.as_str()) {
            return Err(PgError::Protocol(format!(
                "replication slot {} belongs to database {}, not {}; set another slot.name",
                cfg.slot,
                db.unwrap_or_default(),
                cfg.dbname
            )));
        }
        return Ok(SlotState {
            confirmed_flush: confirmed.as_deref().and_then(parse_lsn).unwrap_or(0),
            created: false,
        });
    }
    let row = unbounded(client, cfg, |client| {
        client
            .query_one(
                "SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')",
                &[&cfg.slot],
            )
            .map_err(|e| query_error(cfg, &format!("creating replication slot {}", cfg.slot), e))
    })?;
    let lsn: String = row.get(0);
    tracing::info!(slot = %cfg.slot, lsn = %lsn, "created replication slot");
    Ok(SlotState {
        confirmed_flush: parse_lsn(&lsn).unwrap_or(0),
        created: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsn_text_round_trips() {
        assert_eq!(parse_lsn("16/B374D848"), Some(0x16_B374_D848));
        assert_eq!(format_lsn(0x16_B374_D848), "16/B374D848");
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
    }
}
