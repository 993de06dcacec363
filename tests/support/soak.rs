//! The chaos soak (issue #16): PostgreSQL → Debezium-compatible source → Kafka (noida-db) →
//! Elasticsearch (noida-db, behind the fault proxy) and → the JDBC sink into a second
//! PostgreSQL, one long-running kconnect worker running all three connectors under a write
//! load, while faults are injected at random moments from a seeded RNG. At the end both
//! targets must equal the source row by row.
//!
//! Shared by tests/soak.rs (a short run in the suite) and `scripts/soak` (a long run whose
//! shape comes from `SOAK_*` variables), so the two cannot drift apart.
//!
//! Every change row carries `seq`, a value no other change has: a target that holds a row with
//! the source's `seq` holds that very change, and the same `seq` arriving twice is a duplicate.
//! Row 0 is the recovery marker: after a fault the soak bumps its `seq` and times how long
//! both targets take to show it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

use super::fault_proxy::{Fault, FaultProxy};
use super::kafka::{consume_all, noida_kafka, Kafka};
use super::noida::{start_again, stop_clean};
use super::{es, kconnect, write, Elastic, PgOptions, Postgres};

const TOPIC: &str = "dbserver1.public.load";
const INDEX: &str = "load";

/// The shape of a soak run.
#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    /// How long faults keep coming (the pauses between them stretch or shrink to fit).
    pub duration: Duration,
    pub kills: usize,
    pub broker_restarts: usize,
    pub es_restarts: usize,
    pub source_restarts: usize,
    pub target_restarts: usize,
    pub cuts: usize,
    pub initial_rows: usize,
    pub writes_per_sec: u32,
    /// How long the pipelines may take to catch up after a fault before it counts as a hang.
    pub recover_limit: Duration,
}

impl Config {
    /// The suite's run: every kind of fault at least once, about a minute of faults.
    pub fn short(seed: u64) -> Config {
        Config {
            seed,
            duration: Duration::from_secs(45),
            kills: 4,
            broker_restarts: 1,
            es_restarts: 1,
            source_restarts: 1,
            target_restarts: 1,
            // One of each kind of cut.
            cuts: 4,
            initial_rows: 300,
            writes_per_sec: 20,
            recover_limit: Duration::from_secs(180),
        }
    }

    /// `short`, with what `SOAK_*` variables say (scripts/soak sets them from its flags).
    pub fn from_env() -> Config {
        let seed = env_u64("SOAK_SEED").unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
        let mut c = Config::short(seed);
        let n = |name: &str, d: usize| env_u64(name).map_or(d, |v| v as usize);
        c.duration = env_u64("SOAK_DURATION_SECS").map_or(c.duration, Duration::from_secs);
        c.kills = n("SOAK_KILLS", c.kills);
        c.broker_restarts = n("SOAK_BROKER_RESTARTS", c.broker_restarts);
        c.es_restarts = n("SOAK_ES_RESTARTS", c.es_restarts);
        c.source_restarts = n("SOAK_SOURCE_RESTARTS", c.source_restarts);
        c.target_restarts = n("SOAK_TARGET_RESTARTS", c.target_restarts);
        c.cuts = n("SOAK_CUTS", c.cuts);
        c.initial_rows = n("SOAK_INITIAL_ROWS", c.initial_rows);
        c.writes_per_sec = n("SOAK_WRITES_PER_SEC", c.writes_per_sec as usize).max(1) as u32;
        c.recover_limit =
            env_u64("SOAK_RECOVER_LIMIT_SECS").map_or(c.recover_limit, Duration::from_secs);
        c
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    Some(
        v.parse()
            .unwrap_or_else(|_| panic!("{name}={v}: not a whole number")),
    )
}

/// splitmix64: the same seed gives the same faults at the same points of the schedule.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.below(hi.saturating_sub(lo) + 1))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Kill,
    Broker,
    Elastic,
    Source,
    Target,
    /// Connections cut: Elasticsearch's by the fault proxy (a reset before or after the
    /// request is forwarded), the others' by the kernel (`tcp_cut`).
    CutElastic,
    CutBroker,
    CutSource,
    CutTarget,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Kill => "kconnect SIGKILL",
            Kind::Broker => "broker restart",
            Kind::Elastic => "Elasticsearch restart",
            Kind::Source => "source PostgreSQL restart",
            Kind::Target => "target PostgreSQL restart",
            Kind::CutElastic => "Elasticsearch connections cut",
            Kind::CutBroker => "broker connections cut",
            Kind::CutSource => "source PostgreSQL connections cut",
            Kind::CutTarget => "target PostgreSQL connections cut",
        }
    }
}

#[derive(Default, Debug)]
pub struct FaultStats {
    pub injected: usize,
    /// Seconds from the end of each fault (service back, worker started again) until both
    /// targets showed a change written after it.
    pub recoveries: Vec<f64>,
    pub hangs: usize,
}

/// Rows of one target that differ from the source.
#[derive(Default, Debug, Clone)]
pub struct Diff {
    /// In the source, not in the target.
    pub lost: usize,
    /// In both, but the target holds an older change.
    pub stale: usize,
    /// In the target, deleted from the source.
    pub revived: usize,
    pub examples: Vec<String>,
    /// The rows of the examples, to trace through Kafka and the bulk requests.
    pub ids: Vec<i64>,
}

impl Diff {
    fn is_empty(&self) -> bool {
        self.lost + self.stale + self.revived == 0
    }
}

#[derive(Default, Debug)]
pub struct Report {
    pub seed: u64,
    pub wall: Duration,
    pub faults: BTreeMap<Kind, FaultStats>,
    /// Rows at the start plus the writer's acknowledged changes.
    pub written: u64,
    pub source_rows: usize,
    pub kafka_events: usize,
    pub kafka_duplicates: usize,
    pub es_deliveries: usize,
    pub es_duplicates: usize,
    pub jdbc_deliveries: usize,
    pub jdbc_duplicates: usize,
    pub es: Diff,
    pub jdbc: Diff,
    /// The worker exiting without being killed: it must ride out every outage.
    pub unexpected_exits: Vec<String>,
    pub final_exit: Option<i32>,
    pub log: PathBuf,
    /// For the rows that differ: their events in Kafka and the bulk items Elasticsearch got.
    pub traces: Vec<String>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.es.is_empty()
            && self.jdbc.is_empty()
            && self.unexpected_exits.is_empty()
            && self.faults.values().all(|f| f.hangs == 0)
            && self.final_exit == Some(0)
    }
}

fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    s[s.len() / 2]
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "soak seed {} ({:.0} s wall time)\n",
            self.seed,
            self.wall.as_secs_f64()
        )?;
        writeln!(
            f,
            "| fault | injected | recovery median | recovery max | hangs |"
        )?;
        writeln!(f, "| --- | ---: | ---: | ---: | ---: |")?;
        for (k, s) in &self.faults {
            let max = s.recoveries.iter().cloned().fold(0.0, f64::max);
            writeln!(
                f,
                "| {} | {} | {:.1} s | {:.1} s | {} |",
                k.label(),
                s.injected,
                median(&s.recoveries),
                max,
                s.hangs
            )?;
        }
        writeln!(f)?;
        writeln!(f, "| records | count |")?;
        writeln!(f, "| --- | ---: |")?;
        writeln!(
            f,
            "| written to the source (initial rows + changes) | {} |",
            self.written
        )?;
        writeln!(
            f,
            "| rows in the source at the end | {} |",
            self.source_rows
        )?;
        writeln!(f, "| change events in Kafka | {} |", self.kafka_events)?;
        writeln!(
            f,
            "| duplicates in Kafka (a change produced again) | {} |",
            self.kafka_duplicates
        )?;
        writeln!(
            f,
            "| delivered to Elasticsearch / duplicates | {} / {} |",
            self.es_deliveries, self.es_duplicates
        )?;
        writeln!(
            f,
            "| delivered to PostgreSQL (JDBC) / duplicates | {} / {} |",
            self.jdbc_deliveries, self.jdbc_duplicates
        )?;
        for (name, d) in [
            ("Elasticsearch", &self.es),
            ("PostgreSQL (JDBC)", &self.jdbc),
        ] {
            writeln!(
                f,
                "| {name}: lost / stale / revived rows | {} / {} / {} |",
                d.lost, d.stale, d.revived
            )?;
        }
        writeln!(
            f,
            "| worker exits nobody asked for | {} |",
            self.unexpected_exits.len()
        )?;
        writeln!(f, "\nfinal SIGTERM exit code: {:?}", self.final_exit)?;
        for d in [&self.es, &self.jdbc] {
            for e in &d.examples {
                writeln!(f, "  {e}")?;
            }
        }
        for e in &self.unexpected_exits {
            writeln!(f, "  {e}")?;
        }
        for t in &self.traces {
            writeln!(f, "  {t}")?;
        }
        writeln!(
            f,
            "{} (kconnect log: {})",
            if self.passed() { "PASSED" } else { "FAILED" },
            self.log.display()
        )
    }
}

type Row = (String, i64);

fn pg_client(port: u16) -> Result<postgres::Client, postgres::Error> {
    postgres::Config::new()
        .host("127.0.0.1")
        .port(port)
        .user("postgres")
        .dbname("postgres")
        .connect_timeout(Duration::from_secs(2))
        .connect(postgres::NoTls)
}

fn pg_rows(port: u16) -> Result<HashMap<i64, Row>, postgres::Error> {
    let mut c = pg_client(port)?;
    Ok(c.query("SELECT id, val, seq FROM load", &[])?
        .iter()
        .map(|r| {
            (
                r.get::<_, i64>(0),
                (r.get::<_, String>(1), r.get::<_, i64>(2)),
            )
        })
        .collect())
}

fn pg_marker(port: u16) -> Option<i64> {
    let mut c = pg_client(port).ok()?;
    c.query_opt("SELECT seq FROM load WHERE id = 0", &[])
        .ok()?
        .map(|r| r.get(0))
}

fn es_marker(url: &str) -> Option<i64> {
    let (status, j) = es::try_http(url, "GET", &format!("/{INDEX}/_doc/0"), None).ok()?;
    (status == 200).then(|| j["_source"]["seq"].as_i64())?
}

fn es_rows(url: &str) -> Option<HashMap<i64, Row>> {
    es::try_http(url, "POST", &format!("/{INDEX}/_refresh"), None).ok()?;
    let (_, c) = es::try_http(url, "GET", &format!("/{INDEX}/_count"), None).ok()?;
    let (status, j) = es::try_http(
        url,
        "POST",
        &format!("/{INDEX}/_search"),
        Some(&json!({"size": 10000, "query": {"match_all": {}}})),
    )
    .ok()?;
    let hits = j["hits"]["hits"].as_array()?;
    assert!(
        status == 200 && c["count"].as_u64() == Some(hits.len() as u64),
        "the soak reads Elasticsearch in one search of at most 10,000 documents: keep the table smaller"
    );
    Some(
        hits.iter()
            .map(|h| {
                let s = &h["_source"];
                (
                    s["id"].as_i64().unwrap(),
                    (
                        s["val"].as_str().unwrap_or("").to_string(),
                        s["seq"].as_i64().unwrap_or(-1),
                    ),
                )
            })
            .collect(),
    )
}

fn diff(source: &HashMap<i64, Row>, target: &HashMap<i64, Row>, name: &str) -> Diff {
    let mut d = Diff::default();
    let note = |d: &mut Diff, id: i64, s: String| {
        if d.examples.len() < 10 {
            d.examples.push(format!("{name}: {s}"));
            d.ids.push(id);
        }
    };
    for (id, row) in source {
        match target.get(id) {
            None => {
                d.lost += 1;
                note(&mut d, *id, format!("row {id} {row:?} missing"));
            }
            Some(t) if t != row => {
                d.stale += 1;
                note(
                    &mut d,
                    *id,
                    format!("row {id}: source {row:?}, target {t:?}"),
                );
            }
            _ => {}
        }
    }
    for (id, t) in target {
        if !source.contains_key(id) {
            d.revived += 1;
            note(
                &mut d,
                *id,
                format!("row {id} {t:?} deleted from the source"),
            );
        }
    }
    d
}

/// The writer: inserts, updates, deletes and primary-key changes at a steady rate, riding out
/// source restarts (a statement that failed is not counted; the final comparison reads the
/// source itself, so an uncertain commit cannot fool it).
fn writer(
    port: u16,
    seed: u64,
    mut ids: Vec<i64>,
    rate: u32,
    stop: Arc<AtomicBool>,
    written: Arc<AtomicU64>,
) {
    let mut rng = Rng(seed ^ 0x5eed);
    let mut next_id = ids.iter().max().copied().unwrap_or(0) + 1;
    let mut client: Option<postgres::Client> = None;
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(interval);
        if client.is_none() {
            client = pg_client(port).ok();
        }
        let Some(c) = client.as_mut() else {
            std::thread::sleep(Duration::from_millis(200));
            continue;
        };
        let val = format!(
            "v{}-{}",
            rng.below(1_000_000),
            "x".repeat(rng.below(40) as usize)
        );
        let roll = rng.below(100);
        let pick = if ids.is_empty() {
            None
        } else {
            Some(rng.below(ids.len() as u64) as usize)
        };
        let result = match pick {
            Some(i) if roll < 35 => c
                .execute(
                    "UPDATE load SET val = $1, seq = nextval('seqs') WHERE id = $2",
                    &[&val, &ids[i]],
                )
                .map(|_| ()),
            Some(i) if roll < 60 => {
                c.execute("DELETE FROM load WHERE id = $1", &[&ids[i]])
                    .map(|_| {
                        ids.swap_remove(i);
                    })
            }
            Some(i) if roll < 70 => c
                .execute(
                    "UPDATE load SET id = $1, seq = nextval('seqs') WHERE id = $2",
                    &[&next_id, &ids[i]],
                )
                .map(|_| {
                    ids[i] = next_id;
                    next_id += 1;
                }),
            _ => c
                .execute(
                    "INSERT INTO load (id, val) VALUES ($1, $2)",
                    &[&next_id, &val],
                )
                .map(|_| {
                    ids.push(next_id);
                    next_id += 1;
                }),
        };
        match result {
            Ok(()) => {
                written.fetch_add(1, Ordering::SeqCst);
            }
            Err(_) => {
                client = None;
                // An insert whose commit was lost with the connection: skip its id.
                next_id += 1;
            }
        }
    }
}

struct Rig {
    dir: PathBuf,
    keep: tempfile::TempDir,
    source: Postgres,
    target: Postgres,
    kafka: Kafka,
    es: Elastic,
    proxy: FaultProxy,
    worker: Child,
    /// Bulk items Elasticsearch received, by change, and how often.
    es_items: HashMap<String, u32>,
    /// The same items by row, in the order the proxy forwarded them.
    es_history: HashMap<i64, Vec<String>>,
    unexpected_exits: Vec<String>,
}

impl Rig {
    fn start(cfg: &Config) -> Rig {
        let durable = PgOptions {
            durable: true,
            ..PgOptions::default()
        };
        let source = Postgres::start_with(durable.clone());
        let target = Postgres::start_with(durable);
        let kafka = noida_kafka();
        let es = super::elasticsearch();
        let proxy = FaultProxy::start(es.service.port);
        proxy.keep_forwarded();
        source.psql(&format!(
            "CREATE SEQUENCE seqs;
             CREATE TABLE load (id bigint PRIMARY KEY, val text NOT NULL, seq bigint NOT NULL DEFAULT nextval('seqs'));
             INSERT INTO load (id, val) SELECT i, 'initial ' || i FROM generate_series(0, {}) i;",
            cfg.initial_rows
        ));
        // The target's table is made here, with a trigger that logs every write the sink makes,
        // to count duplicates.
        target.psql(
            "CREATE TABLE load (id bigint PRIMARY KEY, val text NOT NULL, seq bigint NOT NULL);
             CREATE TABLE deliveries (id bigint, seq bigint);
             CREATE FUNCTION log_delivery() RETURNS trigger LANGUAGE plpgsql AS
               'BEGIN INSERT INTO deliveries VALUES (NEW.id, NEW.seq); RETURN NULL; END';
             CREATE TRIGGER log_delivery AFTER INSERT OR UPDATE ON load
               FOR EACH ROW EXECUTE FUNCTION log_delivery();",
        );
        let keep = tempfile::Builder::new()
            .prefix("kconnect-soak")
            .tempdir()
            .unwrap();
        let dir = keep.path().to_path_buf();
        super::pg_source::connector_file(
            &dir,
            &source,
            &[
                ("table.include.list", "public.load"),
                ("slot.name", "soak_slot"),
                ("publication.name", "soak_pub"),
                ("producer.override.batch.size", "65536"),
            ],
        );
        let unwrap = [
            (
                "transforms.unwrap.type",
                "io.debezium.transforms.ExtractNewRecordState",
            ),
            (
                "transforms.unwrap.delete.tombstone.handling.mode",
                "tombstone",
            ),
        ];
        let mut es_cfg = json!({
            "connector.class": "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector",
            "tasks.max": "1", "topics": TOPIC, "connection.url": proxy.url(),
            "schema.ignore": "true", "key.ignore": "false", "behavior.on.null.values": "delete",
            "max.retries": "10", "retry.backoff.ms": "100",
            "transforms": "unwrap,key,route",
            "transforms.key.type": "org.apache.kafka.connect.transforms.ExtractField$Key",
            "transforms.key.field": "id",
            "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
            "transforms.route.regex": ".*", "transforms.route.replacement": INDEX});
        let mut jdbc_cfg = json!({
            "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector", "topics": TOPIC,
            "connection.url": format!("jdbc:postgresql://127.0.0.1:{}/postgres", target.port()),
            "connection.user": "postgres", "connection.password": "postgres",
            "table.name.format": "load", "insert.mode": "upsert", "pk.mode": "record_key",
            "delete.enabled": "true", "auto.create": "false",
            "max.retries": "30", "retry.backoff.ms": "1000", "transforms": "unwrap"});
        // noida-db's broker answers a fetch with the whole rest of the log, ignoring
        // fetch.max.bytes (docs/elastic.md); kconnect's 5 MB answer limit would fail the sinks
        // as soon as they are a few thousand changes behind.
        let big_answers = ("consumer.override.receive.message.max.bytes", "268435456");
        for (k, v) in unwrap.into_iter().chain([big_answers]) {
            es_cfg[k] = json!(v);
            jdbc_cfg[k] = json!(v);
        }
        write(
            &dir,
            "connectors.d/es.json",
            &json!({"name": "es-sink", "config": es_cfg}).to_string(),
        );
        write(
            &dir,
            "connectors.d/jdbc.json",
            &json!({"name": "jdbc-sink", "config": jdbc_cfg}).to_string(),
        );
        let worker = spawn_worker(&dir, &kafka.bootstrap());
        Rig {
            dir,
            keep,
            source,
            target,
            kafka,
            es,
            proxy,
            worker,
            es_items: HashMap::new(),
            es_history: HashMap::new(),
            unexpected_exits: Vec::new(),
        }
    }

    fn log(&self) -> PathBuf {
        self.dir.join("kconnect.log")
    }

    /// Starts the worker again if it exited on its own, noting it: a long-running worker
    /// must ride out every outage.
    fn check_worker(&mut self) {
        if let Some(status) = self.worker.try_wait().unwrap() {
            let log = std::fs::read_to_string(self.log()).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(5).collect();
            self.unexpected_exits.push(format!(
                "worker exited by itself ({status}); last lines: {}",
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            ));
            self.worker = spawn_worker(&self.dir, &self.kafka.bootstrap());
        }
    }

    fn kill_worker(&mut self) {
        self.check_worker();
        let _ = self.worker.kill(); // SIGKILL
        let _ = self.worker.wait();
        self.worker = spawn_worker(&self.dir, &self.kafka.bootstrap());
    }

    /// Counts what Elasticsearch received: an index of a change is identified by (id, seq), a
    /// delete by (id, the Kafka offset it came from, which is its version).
    fn drain_es_items(&mut self) {
        for body in self.proxy.take_forwarded() {
            let text = String::from_utf8_lossy(&body);
            let mut lines = text.lines();
            while let Some(action) = lines.next() {
                let Ok(a) = serde_json::from_str::<Json>(action) else {
                    continue;
                };
                let (m, key, what) = if let Some(m) = a.get("delete") {
                    let key = format!("delete {} @{}", m["_id"], m["version"]);
                    (m, key, format!("delete version {}", m["version"]))
                } else if let Some(m) = a.get("index").or_else(|| a.get("create")) {
                    let doc: Json = lines
                        .next()
                        .and_then(|l| serde_json::from_str(l).ok())
                        .unwrap_or(Json::Null);
                    let key = format!("index {} seq {}", m["_id"], doc["seq"]);
                    let what = format!("index seq {} version {}", doc["seq"], m["version"]);
                    (m, key, what)
                } else {
                    continue;
                };
                *self.es_items.entry(key).or_default() += 1;
                if let Some(id) = m["_id"].as_str().and_then(|i| i.parse().ok()) {
                    self.es_history.entry(id).or_default().push(what);
                }
            }
        }
    }

    /// Ends a fault: bumps the marker row and waits until both targets show it.
    fn recover(&mut self, limit: Duration) -> Option<f64> {
        let start = Instant::now();
        let seq = loop {
            if let Ok(mut c) = pg_client(self.source.port()) {
                if let Ok(r) = c.query_one(
                    "UPDATE load SET seq = nextval('seqs') WHERE id = 0 RETURNING seq",
                    &[],
                ) {
                    break r.get::<_, i64>(0);
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let url = self.es.url();
        loop {
            self.check_worker();
            self.drain_es_items();
            let es = es_marker(&url).unwrap_or(-1);
            let pg = pg_marker(self.target.port()).unwrap_or(-1);
            if es >= seq && pg >= seq {
                return Some(start.elapsed().as_secs_f64());
            }
            if start.elapsed() > limit {
                eprintln!(
                    "soak: no recovery within {limit:?} (marker seq {seq}; Elasticsearch has {es}, PostgreSQL {pg})"
                );
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs `f` with the worker stopped (SIGSTOP) and its last requests answered: noida-db
    /// acknowledges requests that race with its shutdown without keeping them (seen here: a
    /// restarted broker had lost the last acknowledged records and gave their offsets to new
    /// ones), which would be counted as kconnect's loss. To kconnect this is a pause, then an
    /// outage.
    fn hold_worker(&mut self, f: impl FnOnce(&mut Rig)) {
        self.check_worker();
        let pid = self.worker.id() as i32;
        // SAFETY: signalling our own child by its pid.
        unsafe { libc::kill(pid, libc::SIGSTOP) };
        std::thread::sleep(Duration::from_millis(500));
        f(self);
        unsafe { libc::kill(pid, libc::SIGCONT) };
    }

    fn inject(&mut self, kind: Kind, kills: usize, rng: &mut Rng, stats: &mut FaultStats) {
        let down = rng.millis(1000, 5000);
        match kind {
            Kind::Kill => {
                for i in 0..kills {
                    if i > 0 {
                        // Again while it starts or catches up.
                        std::thread::sleep(rng.millis(0, 1500));
                    }
                    self.kill_worker();
                    stats.injected += 1;
                }
                return;
            }
            Kind::Broker => {
                self.hold_worker(|rig| stop_clean(&mut rig.kafka.service, "kafka"));
                std::thread::sleep(down);
                start_again(&mut self.kafka.service, "kafka");
            }
            Kind::Elastic => {
                self.hold_worker(|rig| stop_clean(&mut rig.es.service, "elasticsearch"));
                std::thread::sleep(down);
                start_again(&mut self.es.service, "elasticsearch");
            }
            Kind::Source => self.source.restart(down),
            Kind::Target => self.target.restart(down),
            Kind::CutBroker | Kind::CutSource | Kind::CutTarget => {
                let port = match kind {
                    Kind::CutBroker => self.kafka.service.port,
                    Kind::CutSource => self.source.port(),
                    _ => self.target.port(),
                };
                let n = super::tcp_cut::cut_clients_of(port);
                eprintln!("soak:   {n} connections to port {port} aborted");
            }
            Kind::CutElastic => {
                let n = 1 + rng.below(3) as usize;
                self.proxy.push((0..n).map(|_| {
                    if rng.below(2) == 0 {
                        Fault::ResetBeforeForward
                    } else {
                        Fault::ResetAfterForward
                    }
                }));
            }
        }
        stats.injected += 1;
    }
}

/// The kinds of connection cut this machine can make, in the order `cuts` are dealt out.
pub fn cut_kinds() -> &'static [Kind] {
    if super::tcp_cut::supported() {
        &[
            Kind::CutSource,
            Kind::CutBroker,
            Kind::CutTarget,
            Kind::CutElastic,
        ]
    } else {
        eprintln!("soak: this machine cannot abort sockets (ss -K): only Elasticsearch's connections are cut");
        &[Kind::CutElastic]
    }
}

fn spawn_worker(dir: &Path, bootstrap: &str) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("kconnect.log"))
        .unwrap();
    kconnect(dir)
        .args([
            "run",
            "-b",
            bootstrap,
            "--offsets",
            "offsets",
            "connectors.d",
        ])
        .env("KCONNECT_OFFSET_FLUSH_INTERVAL_MS", "500")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Kafka's change events, how many of them repeat a change already there, and the events of
/// the rows in `trace` as (row, what).
fn kafka_events(bootstrap: &str, trace: &HashSet<i64>) -> (usize, usize, Vec<(i64, String)>) {
    let mut seen = HashSet::new();
    let mut events = 0;
    let mut traced = Vec::new();
    for m in consume_all(bootstrap, TOPIC) {
        let key: Json = m
            .key
            .as_deref()
            .and_then(|k| serde_json::from_slice(k).ok())
            .unwrap_or(Json::Null);
        let row = key.get("payload").unwrap_or(&key)["id"].as_i64();
        let Some(v) = m.value else {
            if let Some(r) = row.filter(|r| trace.contains(r)) {
                traced.push((r, format!("offset {} tombstone", m.offset)));
            }
            continue;
        };
        let v: Json = serde_json::from_slice(&v).unwrap();
        let p = v.get("payload").unwrap_or(&v);
        if let Some(r) = row.filter(|r| trace.contains(r)) {
            traced.push((
                r,
                format!(
                    "offset {} op {} seq {} lsn {}",
                    m.offset, p["op"], p["after"]["seq"], p["source"]["lsn"]
                ),
            ));
        }
        events += 1;
        let id = if p["op"] == "d" {
            format!("d {} {}", p["before"]["id"], p["source"]["lsn"])
        } else {
            format!("{} {}", p["after"]["id"], p["after"]["seq"])
        };
        seen.insert(id);
    }
    (events, events - seen.len(), traced)
}

/// Runs a soak and reports it; the caller decides what a failure means.
pub fn run(cfg: &Config) -> Report {
    let started = Instant::now();
    eprintln!("soak: seed {} ({cfg:?})", cfg.seed);
    let mut rng = Rng(cfg.seed);
    let mut rig = Rig::start(cfg);
    let mut report = Report {
        seed: cfg.seed,
        log: rig.log(),
        ..Report::default()
    };
    // The snapshot first: faults during it are the kills' business, the baseline is not.
    if rig.recover(cfg.recover_limit).is_none() {
        report
            .unexpected_exits
            .push("the pipelines never delivered the initial snapshot".into());
    }
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let w = {
        let (stop, written) = (stop.clone(), written.clone());
        let ids: Vec<i64> = (1..=cfg.initial_rows as i64).collect();
        let (port, seed, rate) = (rig.source.port(), cfg.seed, cfg.writes_per_sec);
        std::thread::spawn(move || writer(port, seed, ids, rate, stop, written))
    };

    let mut plan: Vec<Kind> = [
        (Kind::Kill, cfg.kills),
        (Kind::Broker, cfg.broker_restarts),
        (Kind::Elastic, cfg.es_restarts),
        (Kind::Source, cfg.source_restarts),
        (Kind::Target, cfg.target_restarts),
    ]
    .into_iter()
    .flat_map(|(k, n)| std::iter::repeat_n(k, n))
    .chain(cut_kinds().iter().copied().cycle().take(cfg.cuts))
    .collect();
    for i in (1..plan.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        plan.swap(i, j);
    }
    let deadline = Instant::now() + cfg.duration;
    let mut i = 0;
    while i < plan.len() {
        let kind = plan[i];
        i += 1;
        let mut kills = 1;
        if kind == Kind::Kill {
            // Bursts: up to three kills in a row, taking the next kills from the plan.
            let burst = 1 + rng.below(3) as usize;
            while kills < burst {
                let Some(j) = plan[i..].iter().position(|k| *k == Kind::Kill) else {
                    break;
                };
                plan.remove(i + j);
                kills += 1;
            }
        }
        let left = (plan.len() - i + 1) as u32;
        let per = deadline.saturating_duration_since(Instant::now()) / left;
        std::thread::sleep(rng.millis(0, 2 * per.as_millis() as u64));
        let stats = report.faults.entry(kind).or_default();
        eprintln!(
            "soak: {:.0} s: {} (x{kills})",
            started.elapsed().as_secs_f64(),
            kind.label()
        );
        rig.inject(kind, kills, &mut rng, stats);
        match rig.recover(cfg.recover_limit) {
            Some(s) => stats.recoveries.push(s),
            None => stats.hangs += 1,
        }
    }

    stop.store(true, Ordering::SeqCst);
    w.join().unwrap();
    report.written = written.load(Ordering::SeqCst) + cfg.initial_rows as u64 + 1;
    // Quiet now: everything written must arrive.
    rig.recover(cfg.recover_limit);
    let source = pg_rows(rig.source.port()).expect("read the source");
    let url = rig.es.url();
    let compare = |rig: &Rig| {
        let es = es_rows(&url).unwrap_or_default();
        let pg = pg_rows(rig.target.port()).unwrap_or_default();
        (
            diff(&source, &es, "Elasticsearch"),
            diff(&source, &pg, "PostgreSQL (JDBC)"),
        )
    };
    let mut diffs = compare(&rig);
    let settle = Instant::now();
    while !(diffs.0.is_empty() && diffs.1.is_empty()) && settle.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_secs(1));
        rig.check_worker();
        diffs = compare(&rig);
    }
    (report.es, report.jdbc) = diffs;
    report.source_rows = source.len();
    rig.drain_es_items();
    report.es_deliveries = rig.es_items.values().map(|n| *n as usize).sum();
    report.es_duplicates = rig.es_items.values().map(|n| *n as usize - 1).sum();
    let mut t = pg_client(rig.target.port()).expect("read the target");
    let r = t
        .query_one(
            "SELECT count(*), count(*) - count(DISTINCT (id, seq)) FROM deliveries",
            &[],
        )
        .unwrap();
    report.jdbc_deliveries = r.get::<_, i64>(0) as usize;
    report.jdbc_duplicates = r.get::<_, i64>(1) as usize;
    let trace: HashSet<i64> = report
        .es
        .ids
        .iter()
        .chain(&report.jdbc.ids)
        .copied()
        .collect();
    let traced;
    (report.kafka_events, report.kafka_duplicates, traced) =
        kafka_events(&rig.kafka.bootstrap(), &trace);
    for id in &trace {
        for (_, e) in traced.iter().filter(|(r, _)| r == id) {
            report.traces.push(format!("row {id} in Kafka: {e}"));
        }
        for e in rig.es_history.get(id).into_iter().flatten() {
            report
                .traces
                .push(format!("row {id} to Elasticsearch: {e}"));
        }
    }

    rig.check_worker();
    // SAFETY: signalling our own child by its pid.
    unsafe { libc::kill(rig.worker.id() as i32, libc::SIGTERM) };
    let stopping = Instant::now();
    report.final_exit = loop {
        if let Some(s) = rig.worker.try_wait().unwrap() {
            break s.code();
        }
        if stopping.elapsed() > Duration::from_secs(30) {
            let _ = rig.worker.kill();
            let _ = rig.worker.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    report.unexpected_exits = std::mem::take(&mut rig.unexpected_exits);
    report.wall = started.elapsed();
    if !report.passed() || std::env::var_os("SOAK_KEEP").is_some() {
        // Keep the worker's directory (log, offsets, connector files) to look at.
        let kept = std::mem::replace(&mut rig.keep, tempfile::tempdir().unwrap());
        let _ = kept.keep();
    }
    report
}
