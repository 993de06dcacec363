//! Every setting of Debezium 3.6.3's PostgreSQL connector, with Debezium's names, types and
//! defaults: the one table `kconnect plugins`, `validate` and `PgConfig` read. Long because it is
//! the whole list (tests/debezium_settings.rs checks it against the real connector's ConfigDef).

use crate::api::{ConfigKey, ConfigType, KeyDefault, Validator};
use crate::connectors::pg_tls::SslMode;

#[rustfmt::skip]
pub const KEYS: &[ConfigKey] = &[
    ConfigKey::new("topic.prefix", ConfigType::String, KeyDefault::Required,
        "Prefix of every topic name; also the logical server name in the source block and the offsets' partition.")
        .validator(Validator::NonEmpty),
    ConfigKey::new("database.hostname", ConfigType::String, KeyDefault::Required,
        "PostgreSQL server host."),
    ConfigKey::new("database.port", ConfigType::Int, KeyDefault::Value("5432"),
        "PostgreSQL server port."),
    ConfigKey::new("database.user", ConfigType::String, KeyDefault::Required,
        "User to connect as; needs REPLICATION (or superuser) and SELECT on captured tables."),
    ConfigKey::new("database.password", ConfigType::Password, KeyDefault::None,
        "Password of database.user."),
    ConfigKey::new("database.dbname", ConfigType::String, KeyDefault::Required,
        "Database to capture."),
    ConfigKey::new("database.sslmode", ConfigType::String, KeyDefault::Value("prefer"),
        "Encryption of the connection: disable (plain), allow or prefer (TLS when the server offers it, certificate not checked), require (TLS or no connection), verify-ca (TLS, server certificate signed by database.sslrootcert), verify-full (verify-ca and the certificate names database.hostname).")
        .validator(Validator::OneOf(SslMode::NAMES)),
    ConfigKey::new("database.sslrootcert", ConfigType::String, KeyDefault::None,
        "PEM file with the CA certificate(s) the server's certificate must be signed by, the only CAs trusted (system: the operating system's trust store); when not set, ~/.postgresql/root.crt if it exists, as libpq. Needed by verify-ca and verify-full; makes require check the chain too."),
    ConfigKey::new("database.sslcert", ConfigType::String, KeyDefault::None,
        "PEM file with the client certificate to present, for servers that authenticate clients by certificate; goes with database.sslkey."),
    ConfigKey::new("database.sslkey", ConfigType::String, KeyDefault::None,
        "File with the private key of database.sslcert (PEM, or DER PKCS#8 as the JDBC driver reads)."),
    ConfigKey::new("database.sslpassword", ConfigType::Password, KeyDefault::None,
        "Password that decrypts database.sslkey, when the key is encrypted."),
    ConfigKey::new("database.connect.timeout.ms", ConfigType::Long, KeyDefault::Value("30000"),
        "How long to wait for a connection."),
    ConfigKey::new("plugin.name", ConfigType::String, KeyDefault::Value("decoderbufs"),
        "Logical decoding plugin. kconnect decodes pgoutput; decoderbufs is read as pgoutput (same events).")
        .validator(Validator::OneOf(&["decoderbufs", "pgoutput"])),
    ConfigKey::new("slot.name", ConfigType::String, KeyDefault::Value("debezium"),
        "Logical replication slot; created when missing."),
    ConfigKey::new("slot.drop.on.stop", ConfigType::Boolean, KeyDefault::Value("false"),
        "Drop the slot when the task stops (changes made while stopped are then lost)."),
    ConfigKey::new("publication.name", ConfigType::String, KeyDefault::Value("dbz_publication"),
        "pgoutput publication."),
    ConfigKey::new("publication.autocreate.mode", ConfigType::String, KeyDefault::Value("all_tables"),
        "all_tables: create the publication FOR ALL TABLES; filtered: for the captured tables (kept in sync); no_tables: empty; disabled: it must exist.")
        .validator(Validator::OneOf(&["all_tables", "disabled", "filtered", "no_tables"])),
    ConfigKey::new("snapshot.mode", ConfigType::String, KeyDefault::Value("initial"),
        "initial: snapshot when no offset exists, then stream; always: snapshot at every start; no_data: stream only; initial_only: snapshot, then stop; when_needed: snapshot when there is no offset or the slot was lost; configuration_based: as the snapshot.mode.configuration.based.* settings say. initial_only and configuration_based without start.stream create no slot and no publication and need no wal_level=logical, as in Debezium. recovery is refused, as Debezium's PostgreSQL connector refuses it (it has no schema history to recover); custom is refused.")
        .validator(Validator::Custom(snapshot_mode)),
    ConfigKey::new("snapshot.fetch.size", ConfigType::Int, KeyDefault::Value("10240"),
        "Rows fetched per round trip while snapshotting.")
        .validator(Validator::AtLeast(1)),
    ConfigKey::new("schema.include.list", ConfigType::List, KeyDefault::None,
        "Regexes of schemas to capture."),
    ConfigKey::new("schema.exclude.list", ConfigType::List, KeyDefault::None,
        "Regexes of schemas not to capture."),
    ConfigKey::new("table.include.list", ConfigType::List, KeyDefault::None,
        "Regexes of schema.table to capture."),
    ConfigKey::new("table.exclude.list", ConfigType::List, KeyDefault::None,
        "Regexes of schema.table not to capture."),
    ConfigKey::new("column.include.list", ConfigType::List, KeyDefault::None,
        "Regexes of schema.table.column to include in change values."),
    ConfigKey::new("column.exclude.list", ConfigType::List, KeyDefault::None,
        "Regexes of schema.table.column to leave out of change values."),
    ConfigKey::new("message.key.columns", ConfigType::String, KeyDefault::None,
        "Key columns per table: schema.table:col1,col2;other.table:col."),
    ConfigKey::new("decimal.handling.mode", ConfigType::String, KeyDefault::Value("precise"),
        "numeric and money as Connect Decimal (precise), double or string.")
        .validator(Validator::OneOf(&["precise", "double", "string"])),
    ConfigKey::new("time.precision.mode", ConfigType::String, KeyDefault::Value("adaptive"),
        "Temporal types' representation: adaptive (Debezium's Date, Time/MicroTime, Timestamp/MicroTimestamp by column precision), adaptive_time_microseconds (the same, with every time column as MicroTime), connect (Connect's Date in days, Time in int32 milliseconds and Timestamp in int64 milliseconds, floored), isostring (strings in UTC as Java's ISO formatters print them: io.debezium.time.IsoDate 2024-02-29Z, IsoTime 13:14:15.5Z, IsoTimestamp 2024-01-02T03:04:05.678901Z; years before 1 and after 9999 as -0043 and +12345; arrays and defaults too). In every mode timetz and timestamptz stay ZonedTime/ZonedTimestamp strings and interval follows interval.handling.mode. microseconds and nanoseconds are refused until kconnect implements them.")
        .validator(Validator::Honoured(&["adaptive", "adaptive_time_microseconds", "connect", "isostring"])),
    ConfigKey::new("binary.handling.mode", ConfigType::String, KeyDefault::Value("bytes"),
        "bytea as Connect bytes (bytes), or as a string: base64 (standard alphabet, padded), base64-url-safe (URL alphabet, padded) or hex (lower case). As in Debezium, a bytea column written as a string has no default in its schema, and an unchanged TOASTed bytea is null in base64 modes (Debezium cannot convert its placeholder) and the placeholder in hex. Applies to bytea[] items and key columns too.")
        .validator(Validator::Honoured(&["bytes", "base64", "base64-url-safe", "hex"])),
    ConfigKey::new("interval.handling.mode", ConfigType::String, KeyDefault::Value("numeric"),
        "interval as io.debezium.time.MicroDuration microseconds (numeric), or as io.debezium.time.Interval text (string): P<years>Y<months>M<days>DT<hours>H<minutes>M<seconds>S, every field written, seconds with their fraction and no trailing zeros (P0Y0M-1DT0H0M-1.5S).")
        .validator(Validator::Honoured(&["numeric", "string"])),
    ConfigKey::new("money.fraction.digits", ConfigType::Int, KeyDefault::Value("2"),
        "Scale of money values."),
    ConfigKey::new("tombstones.on.delete", ConfigType::Boolean, KeyDefault::Value("true"),
        "Follow each delete event with a tombstone (same key, null value) for log compaction."),
    ConfigKey::new("skipped.operations", ConfigType::List, KeyDefault::Value("t"),
        "Operations not to emit: c, u, d, t, or none.")
        .validator(Validator::OneOf(&["c", "u", "d", "t", "none"])),
    ConfigKey::new("unavailable.value.placeholder", ConfigType::String, KeyDefault::Value("__debezium_unavailable_value"),
        "Written for unchanged TOASTed values the database did not send; under REPLICA IDENTITY FULL an update takes the value from the old row instead, as Debezium does."),
    ConfigKey::new("heartbeat.interval.ms", ConfigType::Int, KeyDefault::Value("0"),
        "Emit a heartbeat record this often (0: never). kconnect advances the slot while captured tables are quiet without them.")
        .validator(Validator::AtLeast(0)),
    ConfigKey::new("heartbeat.topics.prefix", ConfigType::String, KeyDefault::Value("__debezium-heartbeat"),
        "Heartbeat topic: <prefix><topic.delimiter><topic.prefix> (older name of topic.heartbeat.prefix, which wins when both are set)."),
    ConfigKey::new("topic.heartbeat.prefix", ConfigType::String, KeyDefault::None,
        "Heartbeat topic prefix, Debezium 2's name for heartbeat.topics.prefix (default __debezium-heartbeat)."),
    ConfigKey::new("topic.heartbeat.name", ConfigType::String, KeyDefault::None,
        "The whole heartbeat topic name, instead of <topic.heartbeat.prefix><topic.delimiter><topic.prefix> (so that connectors can share one); not in Debezium's ConfigDef, read by its topic naming strategies."),
    ConfigKey::new("heartbeat.action.query", ConfigType::String, KeyDefault::None,
        "SQL run on every heartbeat."),
    ConfigKey::new("max.batch.size", ConfigType::Int, KeyDefault::Value("2048"),
        "Most records one poll returns.")
        .validator(Validator::AtLeast(1)),
    ConfigKey::new("max.queue.size", ConfigType::Int, KeyDefault::Value("8192"),
        "Most changes read from the server and not yet turned into records (the reader's queue).")
        .validator(Validator::AtLeast(1)),
    ConfigKey::new("status.update.interval.ms", ConfigType::Int, KeyDefault::Value("10000"),
        "How often the replication connection reports its position to the server, at the least (the slot also moves within a second of offsets being committed).")
        .validator(Validator::AtLeast(1)),
    ConfigKey::new("poll.interval.ms", ConfigType::Long, KeyDefault::Value("500"),
        "Wait when there is nothing new.")
        .validator(Validator::AtLeast(0)),
    ConfigKey::new("provide.transaction.metadata", ConfigType::Boolean, KeyDefault::Value("false"),
        "Transaction metadata, as Debezium: a BEGIN and an END event per streamed transaction on <topic.prefix>.<topic.transaction> (END with the event count per table), and the transaction block (id <txId>:<LSN>, total_order, data_collection_order) in every change event. Snapshot events have none."),
    // Debezium 3.6.3's other settings. Each is honoured for the values listed in its validator
    // (refused otherwise, never run and ignored), has no effect in Debezium either while the
    // feature it belongs to is off, or (`inert`) tunes Debezium's JVM internals and changes no
    // output, which kconnect accepts with a warning.
    // Keys with a parameter in their name, by Debezium's ConfigDef names (`(d+)` a number,
    // `([^.]+)` an algorithm, `(.+)` a salt): read by config::column_rules and columns.rs.
    ConfigKey::new("column.truncate.to.(d+).chars", ConfigType::List, KeyDefault::None,
        "column.truncate.to.N.chars: regexes of schema.table.column whose values are cut to N characters (strings, as Java counts them in UTF-16 units) or N bytes (bytea), as Debezium does; the field schema gets truncateLength=N when the column may be longer than N. Not applied to key fields (as Debezium)."),
    ConfigKey::new("column.mask.with.(d+).chars", ConfigType::List, KeyDefault::None,
        "column.mask.with.N.chars: regexes of schema.table.column whose values (nulls too) are replaced by N asterisks. As in Debezium only character columns (text, varchar, char, name, enums) are masked; other types pass unchanged with the schema parameter masked=true all the same. A key column is refused (Debezium would write it unmasked in the key)."),
    ConfigKey::new("column.mask.hash.([^.]+).with.salt.(.+)", ConfigType::List, KeyDefault::None,
        "column.mask.hash.ALGORITHM.with.salt.SALT: regexes of schema.table.column whose character values are replaced by the lower-case hex ALGORITHM digest (MD5, SHA-1, SHA-224, SHA-256, SHA-384, SHA-512, SHA3-*) of SALT's UTF-8 bytes followed by the Java serialization of the value (Debezium's v1), cut to the column's length (varchar(n), char(n)); nulls stay null. A key column is refused."),
    ConfigKey::new("column.mask.hash.v2.([^.]+).with.salt.(.+)", ConfigType::List, KeyDefault::None,
        "column.mask.hash.v2.ALGORITHM.with.salt.SALT: as column.mask.hash, hashing the value's UTF-8 bytes (Debezium's v2). A column named by two of these column.* settings is refused (Debezium would apply one, by key order)."),
    ConfigKey::new("column.propagate.source.type", ConfigType::List, KeyDefault::None,
        "Columns (regexes of schema.table.column) whose value field schema gets Debezium's __debezium.source.column.type (PostgreSQL's type name in upper case; SERIAL/BIGSERIAL/SMALLSERIAL in snapshot events, as the JDBC metadata says, INT4/INT8/INT2 when streaming), .length, .scale and .name parameters. Not in key schemas (as Debezium). A column also named by a column.mask/column.truncate setting is refused (Debezium would apply only one)."),
    ConfigKey::new("datatype.propagate.source.type", ConfigType::List, KeyDefault::None,
        "Regexes of schema.table.typename (e.g. .+\\.varchar, case-insensitive) whose columns get the parameters of column.propagate.source.type."),
    ConfigKey::new("connection.validation.timeout.ms", ConfigType::Long, KeyDefault::Value("60000"),
        "Debezium's timeout for the database connection check of config validation (the only place Debezium reads it); kconnect's validation (kconnect validate, the REST API's validate endpoint) checks the settings without connecting, so it has nothing to time.")
        .inert(),
    ConfigKey::new("converters", ConfigType::String, KeyDefault::None,
        "Custom converters (Java classes) that change column values. Not supported by kconnect: refused unless empty.")
        .validator(Validator::Honoured(&[])),
    ConfigKey::new("custom.metric.tags", ConfigType::List, KeyDefault::None,
        "Extra tags of Debezium's JMX metric names.")
        .inert(),
    ConfigKey::new("custom.sanitize.pattern", ConfigType::String, KeyDefault::Value(".*secret$|.*password$|.*sasl\\.jaas\\.config$|.*basic\\.auth\\.user\\.info|.*registry\\.auth\\.client-secret|.*credentials\\.json$|.*connectionstring$|.*connection\\.string$"),
        "Which config values Debezium masks when it logs its configuration; kconnect never logs configuration values.")
        .inert(),
    ConfigKey::new("database.initial.statements", ConfigType::String, KeyDefault::None,
        "SQL statements, separated by ; (;; for a semicolon inside one), run on each new query connection (catalog, snapshot, slot housekeeping), not on the replication connection, as Debezium's JDBC connections do. kconnect then sets the output formats it reads (DateStyle, IntervalStyle, TimeZone, bytea_output, extra_float_digits, lc_monetary), overriding those."),
    ConfigKey::new("database.query.timeout.ms", ConfigType::Int, KeyDefault::Value("600000"),
        "Timeout of the connector's queries, in whole seconds as JDBC's setQueryTimeout (below 1000: none), as PostgreSQL's statement_timeout on the query connections. A snapshot's table read is bounded only until its first rows, as with Debezium's fetch-size cursor, so it is not bounded.")
        .validator(Validator::AtLeast(0)),
    ConfigKey::new("database.sslfactory", ConfigType::String, KeyDefault::None,
        "A Java SSLSocketFactory class for the JDBC driver. Not supported: use database.sslmode and the database.ssl* files.")
        .validator(Validator::Honoured(&[])),
    ConfigKey::new("database.tcpKeepAlive", ConfigType::Boolean, KeyDefault::Value("true"),
        "TCP keepalive on the database connections; kconnect always enables it, so false is refused.")
        .validator(Validator::Honoured(&["true"])),
    ConfigKey::new("errors.max.retries", ConfigType::Int, KeyDefault::Value("-1"),
        "How many times in a row a retriable failure of the snapshot or the stream (the database connection lost, a server shutting down) restarts the task, retriable.restart.connector.wait.ms later, from its committed offsets, before one fails it (\"the maximum number of N retries has been attempted\"): -1 without limit, 0 none, as Debezium's ErrorHandler counts them. The count starts over when a poll returns change events. As in Debezium, a restart that cannot reach the server is tried again every retriable.restart.connector.wait.ms without counting; non-retriable errors (a refused login, missing privileges) fail the task at once."),
    ConfigKey::new("event.processing.failure.handling.mode", ConfigType::String, KeyDefault::Value("fail"),
        "What to do with a change or snapshot row that cannot be processed (a value that cannot be converted, a reselect post processor failing with reselect.error.handling.mode=fail): fail stops the task naming the change's position; warn logs it and skips the change; skip (and ignore, Debezium's older name for it) skips it with a debug line. A skipped change is not emitted and the offsets move past it with the next record, as Debezium's do. A broken replication stream (an undecodable message) fails the task whatever the mode.")
        .validator(Validator::OneOf(&["fail", "warn", "skip", "ignore"])),
    ConfigKey::new("executor.shutdown.timeout.ms", ConfigType::Long, KeyDefault::Value("4000"),
        "How long Debezium waits for its internal thread pools at shutdown; kconnect stops within task.shutdown.graceful.timeout.ms.")
        .inert(),
    ConfigKey::new("extended.headers.enabled", ConfigType::Boolean, KeyDefault::Value("true"),
        "Debezium 3's context headers on every change event and tombstone: __debezium.context.connectorLogicalName (topic.prefix), .taskId, .connectorName (postgresql) and .runId (a new UUID each start)."),
    ConfigKey::new("flush.lsn.source", ConfigType::Boolean, KeyDefault::Value("true"),
        "Deprecated in Debezium for lsn.flush.mode, which wins when set: true is lsn.flush.mode=connector, false is manual (the slot's position is never confirmed)."),
    ConfigKey::new("guardrail.collections.max", ConfigType::Int, KeyDefault::Value("0"),
        "Most tables the connector may capture (0: no limit). Checked at every start, as Debezium does, against the tables the filters capture then (tables created later are not counted): more than this does what guardrail.collections.limit.action says.")
        .validator(Validator::AtLeast(0)),
    ConfigKey::new("guardrail.collections.limit.action", ConfigType::String, KeyDefault::Value("warn"),
        "What exceeding guardrail.collections.max does at a start: warn logs \"Guardrail limit exceeded: N tables/collections configured for capture, but maximum allowed is M.\" and goes on; fail fails the task with that message. No effect while guardrail.collections.max is 0, as in Debezium.")
        .validator(Validator::OneOf(&["warn", "fail"])),
    ConfigKey::new("hstore.handling.mode", ConfigType::String, KeyDefault::Value("json"),
        "hstore columns as an io.debezium.data.Json string (json) or a map of strings to optional strings (map), pairs in the order Debezium's Java HashMap lists them; no schema default, as Debezium.")
        .validator(Validator::OneOf(&["json", "map"])),
    ConfigKey::new("include.schema.comments", ConfigType::Boolean, KeyDefault::Value("false"),
        "Table and column comments as schema docs, in Debezium's connectors that parse DDL. Debezium 3.6.3's PostgreSQL connector reads no comments (COMMENT ON), so true changes no schema and no event, there as in kconnect."),
    ConfigKey::new("include.unknown.datatypes", ConfigType::Boolean, KeyDefault::Value("false"),
        "Columns of types Debezium 3.6.3 has no converter for (box, circle, line, lseg, path, polygon, multiranges, tsquery, pg_lsn, txid_snapshot, composite and custom range types, extension types other than hstore, ltree, citext, isbn and PostGIS's, arrays of domains...): false leaves them out of change events' values and keys (a key made only of such columns is an empty struct) with a warning; true writes the bytes of the value's text, as binary.handling.mode says, in a schema without default (the geometric types' text as the JDBC driver prints it, every number as Java's Double.toString: (3.0,4.0)). Arrays of money, interval, name, varbit, xml and point are left out either way, as Debezium does."),
    ConfigKey::new("incremental.snapshot.chunk.size", ConfigType::Int, KeyDefault::Value("1024"),
        "Rows per chunk of an incremental snapshot (one SELECT ... ORDER BY <key> LIMIT <chunk size> between two watermarks); incremental snapshots start by an execute-snapshot signal (signal.data.collection).")
        .validator(Validator::AtLeast(1)),
    ConfigKey::new("incremental.snapshot.watermarking.strategy", ConfigType::String, KeyDefault::Value("INSERT_INSERT"),
        "Watermarks of incremental snapshot chunks in the signal table: insert_insert (a snapshot-window-open row before the chunk's SELECT, a snapshot-window-close row after) or insert_delete (the open row is deleted to close the window); no effect without signals, as in Debezium.")
        .validator(Validator::OneOf(&["insert_insert", "insert_delete"])),
    ConfigKey::new("internal.advanced.metrics.enable", ConfigType::Boolean, KeyDefault::Value("false"),
        "Debezium's extra JMX metrics.")
        .inert(),
    ConfigKey::new("internal.legacy.snapshot.max.threads", ConfigType::Boolean, KeyDefault::Value("false"),
        "Debezium's deprecated name of legacy.snapshot.max.threads, refused as it is."),
    ConfigKey::new("internal.log.position.check.enable", ConfigType::Boolean, KeyDefault::Value("true"),
        "Debezium's check at start that the stored offset's position is still on the server: with a stored offset and the replication slot gone, a start fails (\"no longer available on the server\") unless snapshot.mode is when_needed (which snapshots again) or configuration_based with snapshot.on.data.error=true, as in Debezium. false skips the check: a new slot is created and streaming goes on from it, with a warning that the changes in between were not captured."),
    ConfigKey::new("internal.snapshot.scan.all.columns.force", ConfigType::Boolean, KeyDefault::Value("false"),
        "Debezium's internal switch to read every column while snapshotting; the events do not change.")
        .inert(),
    ConfigKey::new("legacy.snapshot.max.threads", ConfigType::Boolean, KeyDefault::Value("false"),
        "Debezium's older table-per-thread snapshot pool instead of chunks: kconnect implements only the chunked snapshot, so true is refused with snapshot.max.threads or snapshot.max.threads.multiplier above 1 (with both at 1 it changes nothing, as in Debezium)."),
    ConfigKey::new("lsn.flush.mode", ConfigType::String, KeyDefault::None,
        "Who confirms the replication slot's position (unset: flush.lsn.source decides, connector by default). connector: the connector, up to the offsets committed, and (kconnect) up to the server's keepalive position while every record handed out is committed and no transaction is open, so quiet captured tables do not hold back the WAL. manual: never; the slot's confirmed_flush_lsn stays where it is (something else must advance it, or the server keeps its WAL) and a restart resumes from kconnect's stored offsets. connector_and_driver: as connector (Debezium's JDBC driver then also confirms the keepalive position once everything received is confirmed), and, as in Debezium, heartbeat.interval.ms becomes 600000 when it is 0 and provide.transaction.metadata is false.")
        .validator(Validator::OneOf(&["connector", "manual", "connector_and_driver"])),
    ConfigKey::new("lsn.flush.timeout.action", ConfigType::String, KeyDefault::Value("fail"),
        "What a confirmation of the slot's position that takes longer than lsn.flush.timeout.ms does: fail (the task fails), warn (a warning, once per slow write) or ignore. No effect with lsn.flush.mode=manual, as in Debezium.")
        .validator(Validator::OneOf(&["fail", "warn", "ignore"])),
    ConfigKey::new("lsn.flush.timeout.ms", ConfigType::Long, KeyDefault::Value("30000"),
        "How long a position to confirm may wait to be written to the server (Debezium times its flush of the LSN) before lsn.flush.timeout.action applies: kconnect's reader thread writes one at most every second, so the wait counts from when its next status update was due; the task checks it every poll and offset commit.")
        .validator(Validator::AtLeast(1)),
    ConfigKey::new("max.queue.size.in.bytes", ConfigType::Long, KeyDefault::Value("0"),
        "A byte bound of the change queue (0: none). kconnect bounds the queue by max.queue.size only: refused unless 0.")
        .validator(Validator::Honoured(&["0"])),
    ConfigKey::new("memory.management.schemas.class", ConfigType::Class, KeyDefault::Value("io.debezium.relational.ConcurrentMapTableMappingStorage"),
        "How Debezium keeps table schemas in its JVM.")
        .inert(),
    ConfigKey::new("memory.management.tables.class", ConfigType::Class, KeyDefault::Value("io.debezium.relational.ConcurrentMapTableMappingStorage"),
        "How Debezium keeps tables in its JVM.")
        .inert(),
    ConfigKey::new("message.prefix.include.list", ConfigType::List, KeyDefault::None,
        "Regexes (whole prefix, case-insensitive) of the logical decoding messages (pg_logical_emit_message, PostgreSQL 14 and later) to emit on <topic.prefix>.message; empty: every message. Only one of the include and exclude lists may be set."),
    ConfigKey::new("message.prefix.exclude.list", ConfigType::List, KeyDefault::None,
        "Regexes (whole prefix, case-insensitive) of the logical decoding messages not to emit."),
    ConfigKey::new("notification.enabled.channels", ConfigType::List, KeyDefault::None,
        "Where snapshot progress is reported, as Debezium reports it: sink (records of io.debezium.connector.common.Notification on notification.sink.topic.name) and log (an INFO line each): the initial snapshot's STARTED, IN_PROGRESS and TABLE_SCAN_COMPLETED per table, COMPLETED, or SKIPPED at a start without one; an incremental snapshot's STARTED, IN_PROGRESS per chunk, TABLE_SCAN_COMPLETED, PAUSED, RESUMED, ABORTED and COMPLETED. jmx is refused.")
        .validator(Validator::Honoured(&["sink", "log"])),
    ConfigKey::new("notification.sink.topic.name", ConfigType::String, KeyDefault::None,
        "Topic of the sink notification channel, required when notification.enabled.channels names sink; no effect otherwise, as in Debezium."),
    ConfigKey::new("openlineage.integration.enabled", ConfigType::Boolean, KeyDefault::Value("false"),
        "OpenLineage events. Not implemented by kconnect: true is refused.")
        .validator(Validator::Honoured(&["false"])),
    ConfigKey::new("openlineage.integration.config.file.path", ConfigType::String, KeyDefault::Value("./openlineage.yml"),
        "OpenLineage client configuration; no effect, OpenLineage being off.")
        .inert(),
    ConfigKey::new("openlineage.integration.dataset.kafka.bootstrap.servers", ConfigType::String, KeyDefault::None,
        "OpenLineage dataset brokers; no effect, OpenLineage being off.")
        .inert(),
    ConfigKey::new("openlineage.integration.job.description", ConfigType::String, KeyDefault::Value("Debezium change data capture job"),
        "OpenLineage job description; no effect, OpenLineage being off.")
        .inert(),
    ConfigKey::new("openlineage.integration.job.namespace", ConfigType::String, KeyDefault::None,
        "OpenLineage job namespace; no effect, OpenLineage being off.")
        .inert(),
    ConfigKey::new("openlineage.integration.job.owners", ConfigType::List, KeyDefault::None,
        "OpenLineage job owners; no effect, OpenLineage being off.")
        .inert(),
    ConfigKey::new("openlineage.integration.job.tags", ConfigType::List, KeyDefault::None,
        "OpenLineage job tags; no effect, OpenLineage being off.")
        .inert(),
    ConfigKey::new("post.processors", ConfigType::String, KeyDefault::None,
        "Names of post processors, each configured by post.processors.<name>.type and post.processors.<name>.<option> (or Debezium's older <name>.type and <name>.<option>). kconnect implements Debezium's io.debezium.processors.reselect.ReselectColumnsPostProcessor and refuses other classes: a streamed create or update whose after-image holds the unavailable value placeholder (an unchanged TOASTed value; reselect.unavailable.values, default true) or a null (reselect.null.values, default true) in a column matched by reselect.columns.include.list or reselect.columns.exclude.list (comma-separated regexes of <schema>.<table>:<column>, whole name, case-insensitive, \\, for a comma inside one; one of the two) has those columns selected again from the table by the primary key (or by the event key's columns with reselect.use.event.key=true), giving the row's state when the change is processed (changes of tables without a key are left as they are). A row not found or a failed query logs a warning and keeps the values (reselect.error.handling.mode=warn, the default) or fails the change (fail), which event.processing.failure.handling.mode then handles. Other options under the processor's prefix are refused."),
    ConfigKey::new("publish.via.partition.root", ConfigType::Boolean, KeyDefault::Value("false"),
        "Create the publication WITH (publish_via_partition_root = true): partitions' streamed changes become events of their root table (its topic and schemas). false: of the partition that holds the row. Either way the snapshot reads the root table and every partition, each to its own topic, as Debezium. An existing publication is used as it is."),
    ConfigKey::new("query.fetch.size", ConfigType::Int, KeyDefault::Value("0"),
        "JDBC fetch size of Debezium's queries; kconnect reads snapshots with COPY in batches of snapshot.fetch.size.")
        .inert(),
    ConfigKey::new("read.only", ConfigType::Boolean, KeyDefault::Value("false"),
        "Incremental snapshots write nothing to the database: a chunk's window is bounded by two pg_current_snapshot() readings (PostgreSQL 13 or later) instead of signal-table rows, and closes when the stream shows a transaction past them, at a commit, or while the stream is idle. Signals then come by the file or kafka channel (or rows another user inserts into signal.data.collection). Debezium reads this key although its ConfigDef does not list it."),
    ConfigKey::new("replica.identity.autoset.values", ConfigType::String, KeyDefault::None,
        "REPLICA IDENTITY set at every start on the captured tables it names, before the slot is used: a comma-separated list of <regex of schema.table>:<FULL|DEFAULT|NOTHING|INDEX index_name> (regexes whole and case-insensitive, identities in upper case), e.g. public.orders:FULL,inventory\\..*:INDEX items_pk. A table whose identity already is that is left alone; a table two items match, or that cannot be altered (the user must own it), is logged as an error and the start goes on, as in Debezium. A malformed item or an empty value is refused."),
    ConfigKey::new("retriable.restart.connector.wait.ms", ConfigType::Long, KeyDefault::Value("10000"),
        "Wait before the task restarts after a retriable failure (errors.max.retries), and between restarts that cannot reach the server; a stop ends the wait. Positive, as Debezium requires.")
        .validator(Validator::AtLeast(1)),
    ConfigKey::new("schema.name.adjustment.mode", ConfigType::String, KeyDefault::Value("none"),
        "Record schema names (<topic.prefix>.<schema>.<table>.Key/.Value/.Envelope) made valid Avro full names: none keeps them; avro replaces each character other than [A-Za-z0-9_.] (and a leading digit or dot) with _; avro_unicode replaces it, and _, with _uXXXX (its UTF-16 code in hex).")
        .validator(Validator::OneOf(&["none", "avro", "avro_unicode"])),
    ConfigKey::new("field.name.adjustment.mode", ConfigType::String, KeyDefault::Value("none"),
        "Key and value field names (column names) made valid Avro names: none keeps them; avro replaces each character other than [A-Za-z0-9_] (and a leading digit) with _; avro_unicode replaces it, and _, with _uXXXX. Two names adjusted into one fail the table's schema, as in Debezium.")
        .validator(Validator::OneOf(&["none", "avro", "avro_unicode"])),
    ConfigKey::new("schema.refresh.mode", ConfigType::String, KeyDefault::Value("columns_diff"),
        "When a table's schema is read again: when a change's columns differ from the table's (kconnect reads pgoutput's relation messages). columns_diff_exclude_unchanged_toast gives the same events: in Debezium 3.6.3 it only keeps a change message that leaves out unchanged TOASTed columns (wal2json, decoderbufs) from causing a refresh, and pgoutput never leaves them out (it marks them unchanged, which becomes unavailable.value.placeholder).")
        .validator(Validator::OneOf(&["columns_diff", "columns_diff_exclude_unchanged_toast"])),
    ConfigKey::new("signal.data.collection", ConfigType::List, KeyDefault::None,
        "The signal table, <schema>.<table> with columns (id varchar, type varchar, data varchar): always captured; a row inserted into it is a signal (execute-snapshot of type incremental or blocking, stop-snapshot, pause-snapshot, resume-snapshot, log) when signal.enabled.channels names source."),
    ConfigKey::new("signal.enabled.channels", ConfigType::List, KeyDefault::Value("source"),
        "Signal channels: source (the default, the signal table of signal.data.collection), file (signal.file, read every signal.poll.interval.ms) and kafka (partition 0 of signal.kafka.topic, read every signal.poll.interval.ms; a message counts when its key is the topic.prefix and its value a JSON signal {\"id\", \"type\", \"data\"}; the consumer group's offsets say what was read). jmx is refused.")
        .validator(Validator::Honoured(&["source", "file", "kafka"])),
    ConfigKey::new("signal.kafka.topic", ConfigType::String, KeyDefault::None,
        "The Kafka signal channel's topic (its partition 0); <topic.prefix>-signal when unset, as in Debezium."),
    ConfigKey::new("signal.kafka.bootstrap.servers", ConfigType::String, KeyDefault::None,
        "Brokers of the Kafka signal channel; required with it, as in Debezium."),
    ConfigKey::new("signal.kafka.groupId", ConfigType::String, KeyDefault::Value("kafka-signal"),
        "Consumer group of the Kafka signal channel: its committed offset is where the channel resumes, so a signal is acted on once."),
    ConfigKey::new("signal.kafka.poll.timeout.ms", ConfigType::Int, KeyDefault::Value("0"),
        "How long each read of the Kafka signal channel waits for a signal (every signal.poll.interval.ms); the stream waits meanwhile.")
        .validator(Validator::AtLeast(0)),
    ConfigKey::new("signal.consumer.(.+)", ConfigType::String, KeyDefault::None,
        "Java consumer properties of the Kafka signal channel's consumer (security.protocol, sasl.*, ssl.*, ...), translated as kconnect's other Kafka clients are."),
    ConfigKey::new("signal.poll.interval.ms", ConfigType::Long, KeyDefault::Value("5000"),
        "How often the file signal channel reads signal.file; no effect with the source channel alone, as in Debezium.")
        .validator(Validator::AtLeast(0)),
    // Settings of Debezium's signal channels, which its ConfigDef does not list.
    ConfigKey::new("signal.file", ConfigType::String, KeyDefault::Value("file-signals.txt"),
        "The file signal channel's file (signal.enabled.channels=file): one JSON signal per line, {\"id\": ..., \"type\": ..., \"data\": {...}}; the file is emptied once read, as Debezium does."),
    ConfigKey::new("slot.failover", ConfigType::Boolean, KeyDefault::Value("false"),
        "Create the slot as a failover slot (PostgreSQL 17). Not implemented by kconnect yet: true is refused.")
        .validator(Validator::Honoured(&["false"])),
    ConfigKey::new("slot.max.retries", ConfigType::Int, KeyDefault::Value("6"),
        "How often a replication slot another client holds is tried again, slot.retry.delay.ms apart, before the task fails (\"unable to obtain the replication slot\"); the count starts over once the slot is obtained.")
        .validator(Validator::AtLeast(0)),
    ConfigKey::new("slot.retry.delay.ms", ConfigType::Long, KeyDefault::Value("10000"),
        "Wait between tries of a replication slot another client holds (slot.max.retries); a stop request ends the wait.")
        .validator(Validator::AtLeast(0)),
    ConfigKey::new("slot.stream.params", ConfigType::String, KeyDefault::None,
        "Extra options of the logical decoding plugin (pgoutput), name=value separated by ';', added to START_REPLICATION as Debezium passes them (e.g. origin=any on PostgreSQL 16); the server refuses options pgoutput does not know. Refused: proto_version, publication_names and messages (the connector sets them, and Debezium's values replace the user's), binary, streaming and two_phase other than false (they change the stream kconnect decodes, or need a protocol version the connector does not ask for), and an entry that is not name=value."),
    ConfigKey::new("snapshot.delay.ms", ConfigType::Long, KeyDefault::Value("0"),
        "Milliseconds to wait before a snapshot is taken (only when one is), e.g. to let other connectors start first; a stop ends the wait.")
        .validator(Validator::AtLeast(0)),
    ConfigKey::new("streaming.delay.ms", ConfigType::Long, KeyDefault::Value("0"),
        "Milliseconds to wait before streaming starts (after the snapshot, if one is taken); a stop ends the wait.")
        .validator(Validator::AtLeast(0)),
    ConfigKey::new("snapshot.include.collection.list", ConfigType::List, KeyDefault::None,
        "Regexes of schema.table (whole name, case-insensitive) naming which captured tables the snapshot reads; empty: every captured table. Tables left out are still streamed."),
    ConfigKey::new("snapshot.isolation.mode", ConfigType::String, KeyDefault::Value("serializable"),
        "Isolation of the snapshot transaction when the slot was not created by this start (always, when_needed with a stored offset, configuration_based, initial_only, a restart after an interrupted snapshot): serializable and repeatable_read read every table in one snapshot (kconnect's REPEATABLE READ yields the same rows as Debezium's SERIALIZABLE READ ONLY DEFERRABLE); read_committed and read_uncommitted (the same in PostgreSQL) read each table as it is when its read begins, so a change committed during the snapshot may be in the tables read after it. A snapshot on a slot this start created reads the slot's snapshot (REPEATABLE READ) whatever this says, as Debezium does.")
        .validator(Validator::OneOf(&["serializable", "repeatable_read", "read_committed", "read_uncommitted"])),
    ConfigKey::new("snapshot.lock.timeout.ms", ConfigType::Long, KeyDefault::Value("10000"),
        "How long each table lock of snapshot.locking.mode=shared is waited for (PostgreSQL's lock_timeout) before the task fails; no effect with snapshot.locking.mode=none, as in Debezium."),
    ConfigKey::new("snapshot.locking.mode", ConfigType::String, KeyDefault::Value("none"),
        "Table locks of the snapshot: none, or shared (each captured table locked IN ACCESS SHARE MODE, as Debezium does, from the start of the snapshot transaction to its end, so that no ALTER TABLE, DROP or TRUNCATE changes a table while it is read; writes go on; each lock waited for at most snapshot.lock.timeout.ms, then the task fails). custom is refused.")
        .validator(Validator::Honoured(&["none", "shared"])),
    ConfigKey::new("snapshot.locking.mode.custom.name", ConfigType::String, KeyDefault::None,
        "A custom locking implementation (Java). Not supported: refused unless empty.")
        .validator(Validator::Honoured(&[])),
    ConfigKey::new("snapshot.max.threads", ConfigType::Int, KeyDefault::Value("1"),
        "Connections reading the initial snapshot in parallel, all in the one exported snapshot of the transaction that fixes the stream's start, so no row is missed or read twice relative to the stream. Above 1 (or with snapshot.max.threads.multiplier above 1) the snapshot is chunked as in Debezium 3.6.3: each table's rows are counted, a table with a key (primary key or message.key.columns) and no snapshot.select.statement.overrides query is split into key ranges read ORDER BY the key, other tables are read whole; chunks of all tables are read by this many connections at once, so rows of a table arrive in key order within a chunk but chunks interleave, and snapshot.tables.order.by.row.count orders the tables. Markers as Debezium's: first on the first table's first row, first_in_data_collection and last_in_data_collection on each table's first and last chunk's first and last rows, last on the final row (golden: tests/fixtures/postgres-snapshot-threads).")
        .validator(Validator::AtLeast(1)),
    ConfigKey::new("snapshot.max.threads.multiplier", ConfigType::Int, KeyDefault::Value("1"),
        "Chunks per table per snapshot thread: a keyed table of N rows is read in up to snapshot.max.threads x this many key ranges (at least one row each), as in Debezium 3.6.3; above 1 it makes even a single-threaded snapshot chunked. Per-table overrides (snapshot.max.threads.multiplier.<table>) are refused.")
        .validator(Validator::AtLeast(1)),
    ConfigKey::new("snapshot.mode.configuration.based.snapshot.data", ConfigType::Boolean, KeyDefault::Value("false"),
        "snapshot.mode=configuration_based: snapshot at every start, offsets or not (as always); false: never. No effect with other modes, as in Debezium."),
    ConfigKey::new("snapshot.mode.configuration.based.snapshot.on.data.error", ConfigType::Boolean, KeyDefault::Value("false"),
        "snapshot.mode=configuration_based with start.stream: when the replication slot of a stored offset is gone, forget the offset (snapshot if snapshot.data says so, then stream from a new slot); false: the task fails, naming the lost position, and creates no slot. No effect with other modes, as in Debezium."),
    ConfigKey::new("snapshot.mode.configuration.based.snapshot.on.schema.error", ConfigType::Boolean, KeyDefault::Value("false"),
        "snapshot.mode=configuration_based: Debezium's schema recovery, which PostgreSQL (no schema history) does not need; as in Debezium 3.6.3, true makes a start without a stored offset fail (\"Could not find existing redo log information\"). No effect with other modes."),
    ConfigKey::new("snapshot.mode.configuration.based.snapshot.schema", ConfigType::Boolean, KeyDefault::Value("false"),
        "snapshot.mode=configuration_based: PostgreSQL keeps no schema history, so as in Debezium this only matters after a snapshot was interrupted: with snapshot.data=false, true streams on from the offset and false makes the task fail. No effect with other modes."),
    ConfigKey::new("snapshot.mode.configuration.based.start.stream", ConfigType::Boolean, KeyDefault::Value("false"),
        "snapshot.mode=configuration_based: stream changes (creating the slot and publication when missing) after the snapshot, if any; false: no slot, no publication, and the task stops once the snapshot (if any) is done, as initial_only. No effect with other modes, as in Debezium."),
    ConfigKey::new("snapshot.mode.custom.name", ConfigType::String, KeyDefault::None,
        "A custom snapshotter (Java). Not supported: refused unless empty.")
        .validator(Validator::Honoured(&[])),
    ConfigKey::new("snapshot.query.mode", ConfigType::String, KeyDefault::Value("select_all"),
        "How the snapshot reads a table: every row and column (select_all, kconnect's behaviour). custom is refused.")
        .validator(Validator::Honoured(&["select_all"])),
    ConfigKey::new("snapshot.query.mode.custom.name", ConfigType::String, KeyDefault::None,
        "A custom snapshot query (Java). Not supported: refused unless empty.")
        .validator(Validator::Honoured(&[])),
    ConfigKey::new("snapshot.select.statement.overrides", ConfigType::String, KeyDefault::None,
        "Comma-separated schema.table names whose snapshot reads the query in snapshot.select.statement.overrides.<schema.table> instead of every row (e.g. SELECT * FROM public.orders WHERE deleted = false). Its columns are read by position as the table's, as in Debezium: a query returning fewer columns fails the snapshot; a table named here without its query, or a query for a table not named here, is refused."),
    ConfigKey::new("snapshot.select.statement.overrides.(.+)", ConfigType::String, KeyDefault::None,
        "snapshot.select.statement.overrides.<schema.table>: the SELECT statement whose rows are that table's snapshot (the table must be named in snapshot.select.statement.overrides)."),
    ConfigKey::new("snapshot.tables.order.by.row.count", ConfigType::String, KeyDefault::Value("disabled"),
        "Order of tables in the snapshot by size: disabled, ascending or descending (by SELECT COUNT(1), ties in name order). As in Debezium 3.6.3's PostgreSQL connector it matters only to a chunked snapshot (snapshot.max.threads or snapshot.max.threads.multiplier above 1); a one-thread snapshot has no row counts and keeps the tables in name order whatever this says (golden: tests/fixtures/postgres-order-by-row-count).")
        .validator(Validator::OneOf(&["disabled", "ascending", "descending"])),
    ConfigKey::new("sourceinfo.struct.maker", ConfigType::Class, KeyDefault::Value("io.debezium.connector.postgresql.PostgresSourceInfoStructMaker"),
        "The class that builds the events' source block: only Debezium's own PostgreSQL one, which kconnect implements.")
        .validator(Validator::Honoured(&["io.debezium.connector.postgresql.PostgresSourceInfoStructMaker"])),
    ConfigKey::new("statistics.metrics.enabled", ConfigType::Boolean, KeyDefault::Value("true"),
        "Debezium's JMX statistics.")
        .inert(),
    ConfigKey::new("table.ignore.builtin", ConfigType::Boolean, KeyDefault::Value("true"),
        "Leave out PostgreSQL's own tables (pg_catalog, information_schema). With false Debezium reads their schemas but emits nothing for them either: it snapshots the JDBC driver's TABLEs and PARTITIONED TABLEs only (those are SYSTEM TABLEs) and pgoutput sends no catalog changes, so both values give the same events in kconnect."),
    ConfigKey::new("topic.naming.strategy", ConfigType::Class, KeyDefault::Value("io.debezium.schema.SchemaTopicNamingStrategy"),
        "Table topic names, as Debezium's built-in classes make them: SchemaTopicNamingStrategy <topic.prefix>.<schema>.<table>; DefaultTopicNamingStrategy <topic.prefix>.<table> (a PostgreSQL table's 'database parts' are its name alone); each joined by topic.delimiter, characters other than [A-Za-z0-9._-] replaced by _, cut to 249 characters. SchemaUnicodeTopicNamingStrategy and DefaultUnicodeTopicNamingStrategy replace those and _ by _u and the UTF-16 code in hex. The record schema names begin with the topic name, as Debezium's. SchemaRegexTopicNamingStrategy and DefaultRegexTopicNamingStrategy reroute by topic.regex/topic.replacement and add a key field (topic.key.*). Other classes are refused.")
        .validator(Validator::Honoured(&["io.debezium.schema.SchemaTopicNamingStrategy", "io.debezium.schema.DefaultTopicNamingStrategy", "io.debezium.schema.SchemaUnicodeTopicNamingStrategy", "io.debezium.schema.DefaultUnicodeTopicNamingStrategy", "io.debezium.schema.SchemaRegexTopicNamingStrategy", "io.debezium.schema.DefaultRegexTopicNamingStrategy"])),
    ConfigKey::new("topic.delimiter", ConfigType::String, KeyDefault::Value("."),
        "Separator of the parts of table topic names and of the transaction (<topic.prefix><d><topic.transaction>) and heartbeat (<topic.heartbeat.prefix><d><topic.prefix>) topics; characters [A-Za-z0-9._-]. The message topic stays <topic.prefix>.message, as in Debezium."),
    // Settings of the regex topic naming strategies, which Debezium's ConfigDef does not list.
    ConfigKey::new("topic.regex", ConfigType::String, KeyDefault::None,
        "Regex strategies: a Java-style regex the whole (sanitized) table topic must match to be rerouted; required by them, no effect with the others."),
    ConfigKey::new("topic.replacement", ConfigType::String, KeyDefault::None,
        "Regex strategies: the new topic, with $1 or ${name} for the groups of topic.regex (an empty result keeps the topic); record schema names follow it."),
    ConfigKey::new("topic.key.enforce.uniqueness", ConfigType::Boolean, KeyDefault::Value("true"),
        "Regex strategies: add a string field naming the physical table to every key (a table without a primary key then has a key of that field alone)."),
    ConfigKey::new("topic.key.field.name", ConfigType::String, KeyDefault::Value("__dbz__physicalTableIdentifier"),
        "Regex strategies: the name of that key field."),
    ConfigKey::new("topic.key.field.regex", ConfigType::String, KeyDefault::None,
        "Regex strategies: a regex of the table's topic (before rerouting and sanitizing) whose match makes that field's value by topic.key.field.replacement; otherwise the value is that topic."),
    ConfigKey::new("topic.key.field.replacement", ConfigType::String, KeyDefault::None,
        "Regex strategies: the key field's value from the groups of topic.key.field.regex."),
    ConfigKey::new("topic.cache.size", ConfigType::Int, KeyDefault::Value("10000"),
        "Size of Debezium's cache of topic names.")
        .inert(),
    ConfigKey::new("topic.transaction", ConfigType::String, KeyDefault::Value("transaction"),
        "Name of the transaction metadata topic, after <topic.prefix><topic.delimiter> (provide.transaction.metadata)."),
    ConfigKey::new("transaction.metadata.factory", ConfigType::Class, KeyDefault::Value("io.debezium.pipeline.txmetadata.DefaultTransactionMetadataFactory"),
        "The class behind transaction metadata: only Debezium's default.")
        .validator(Validator::Honoured(&["io.debezium.pipeline.txmetadata.DefaultTransactionMetadataFactory"])),
    ConfigKey::new("xmin.fetch.interval.ms", ConfigType::Long, KeyDefault::Value("0"),
        "How often the slot's xmin is read into the offsets (0: never). Not implemented by kconnect yet: refused unless 0.")
        .validator(Validator::Honoured(&["0"])),
];

/// Debezium 3.6.3's PostgreSQL snapshot modes (its enum refuses anything else, recovery too,
/// with this message), less custom, which needs a Java class; never is kconnect's alias of
/// no_data.
fn snapshot_mode(v: &str) -> Result<(), String> {
    const DEBEZIUM: &[&str] = &[
        "always",
        "initial_only",
        "configuration_based",
        "when_needed",
        "initial",
        "custom",
        "no_data",
    ];
    let v = v.trim();
    if v.eq_ignore_ascii_case("custom") {
        return Err("a custom snapshotter is a Java class, which kconnect cannot run; use one of the built-in modes, or run this connector on Kafka Connect".into());
    }
    if v.eq_ignore_ascii_case("never") {
        return Err(format!("never is Debezium 1.x's name, which Debezium 3.6.3 refuses; use no_data (stream only, no snapshot). Value must be one of {}", DEBEZIUM.join(", ")));
    }
    if v.is_empty() || DEBEZIUM.iter().any(|m| m.eq_ignore_ascii_case(v)) {
        return Ok(());
    }
    Err(format!("Value must be one of {}", DEBEZIUM.join(", ")))
}
