//! `/metrics` values that move when records flow: a FileStream source → Kafka (Tansu) →
//! FileStream sink pipeline run in-process through the worker's own task runners, and the
//! PostgreSQL source's Debezium metrics against a real PostgreSQL (the task polled directly:
//! its metrics do not depend on Kafka). The rendering itself is checked by the unit tests of
//! `runtime::metrics::prometheus` and its golden file.

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kconnect::api::{
    ConnectError, ErrantRecordReporter, Factory, MetricDesc, NoProgress, OffsetReader, Polled,
    SinkTaskContext, SourceTaskContext, StopFlag,
};
use kconnect::config::{WorkerConfig, WorkerOverrides};
use kconnect::data::SourceOffset;
use kconnect::offsets::OffsetStore;
use kconnect::runtime::control::State;
use kconnect::runtime::metrics::prometheus::{render, ConnectorEntry, TaskEntry};
use kconnect::runtime::metrics::{TaskMetrics, WorkerMetrics};
use kconnect::runtime::offset_reader::StoreOffsetReader;
use kconnect::runtime::setup::TaskPlan;
use kconnect::runtime::sink::SinkRunner;
use kconnect::runtime::source::SourceRunner;
use kconnect::runtime::validate::load_and_validate;
use kconnect::runtime::TaskOutcome;
use support::file_pipeline::{lines, sink_conf, source_conf};
use support::{write, Postgres};

/// Runs one task of `cfg` to its end as a `--once` worker would, returning its counters.
fn run_task(
    cfg: &kconnect::config::ConnectorConfig,
    worker: &WorkerConfig,
    store: &Arc<OffsetStore>,
) -> Arc<TaskMetrics> {
    let metrics = Arc::new(TaskMetrics::default());
    let plan = TaskPlan {
        config: cfg.clone(),
        task_id: 0,
        tasks: 1,
        worker: worker.clone(),
        store: store.clone(),
        stop: StopFlag::new(),
        once: true,
        broker_wait: Duration::from_secs(15),
        metrics: metrics.clone(),
        control: Default::default(),
    };
    let plugin = kconnect::connectors::find(cfg.class()).unwrap();
    let outcome = match plugin.factory {
        Factory::Source(f) => {
            let setup = plan.source_setup().unwrap();
            let ctx = SourceTaskContext {
                connector: setup.connector.clone(),
                task_id: 0,
                config: setup.config.values.clone(),
                once: true,
                offsets: Arc::new(StoreOffsetReader::new(
                    setup.store.clone(),
                    setup.connector.clone(),
                )),
                progress: Arc::new(NoProgress),
                stop: setup.stop.clone(),
                dependency_wait: setup.dependency_wait,
                metrics: setup.metrics.plugin.clone(),
                waiting: Default::default(),
                topic_readers: None,
            };
            SourceRunner::new(setup, f(ctx).unwrap()).run()
        }
        Factory::Sink(f) => {
            let setup = plan.sink_setup().unwrap();
            let errant = ErrantRecordReporter::default();
            let ctx = SinkTaskContext {
                connector: setup.connector.clone(),
                task_id: 0,
                config: setup.config.values.clone(),
                stop: setup.stop.clone(),
                errant: errant.clone(),
                dependency_wait: setup.dependency_wait,
                metrics: setup.metrics.plugin.clone(),
                waiting: Default::default(),
            };
            SinkRunner::new(setup, f(ctx).unwrap(), errant).run()
        }
    };
    assert!(matches!(outcome, TaskOutcome::Done), "{outcome:?}");
    metrics
}

/// The value of the sample whose line starts with `prefix` (name and labels).
fn sample(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn file_pipeline_counters_move_and_are_served() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let input = write(d.path(), "in.txt", &lines(0..300));
    let output = d.path().join("out.txt");
    let src = source_conf(d.path(), "src", &input, "lines");
    let sink = sink_conf(d.path(), "sink", &output, "lines");
    let worker = WorkerConfig::load(&WorkerOverrides {
        worker_file: Some(write(
            d.path(),
            "worker.properties",
            "offset.flush.interval.ms=200\n",
        )),
        bootstrap_servers: Some(k.bootstrap()),
        offsets_dir: Some(d.path().join("offsets")),
    })
    .unwrap();
    // A sink whose transform fails on every record (a string has no field to extract),
    // tolerated, logged and dead-lettered.
    let bad = write(
        d.path(),
        "bad.properties",
        &format!(
            "name=bad\nconnector.class=FileStreamSink\nfile={}\ntopics=lines\n\
             transforms=x\ntransforms.x.type=org.apache.kafka.connect.transforms.ExtractField$Value\n\
             transforms.x.field=f\nerrors.tolerance=all\nerrors.log.enable=true\n\
             errors.deadletterqueue.topic.name=bad-dlq\n\
             errors.deadletterqueue.topic.replication.factor=1\n",
            d.path().join("bad.txt").display()
        ),
    );
    let report = load_and_validate(&[src, sink, bad], &worker);
    assert!(report.ok(), "{:?}", report.problems);
    let store = Arc::new(OffsetStore::open(&worker.offsets_dir).unwrap());
    let by_name = |n: &str| report.connectors.iter().find(|c| c.name == n).unwrap();

    let source = run_task(by_name("src"), &worker, &store);
    assert_eq!(source.polled.load(Ordering::Relaxed), 300);
    assert_eq!(source.records(), 300, "every record acknowledged");
    assert!(source.committed.load(Ordering::Relaxed) >= 1);
    assert_eq!(source.commit_outcome.read().avg(), 1.0);
    assert!(source.batch_size.read().count >= 1);
    assert_eq!(source.active.load(Ordering::Relaxed), 0);

    let sink = run_task(by_name("sink"), &worker, &store);
    assert_eq!(std::fs::read_to_string(&output).unwrap(), lines(0..300));
    assert_eq!(sink.read.load(Ordering::Relaxed), 300);
    assert_eq!(sink.records(), 300);
    assert_eq!(sink.partitions.load(Ordering::Relaxed), 1);
    let completed = sink.commits.completed.load(Ordering::Relaxed);
    assert!(completed >= 1);
    assert!(sink.commits.seq.load(Ordering::Relaxed) >= completed);

    let bad = run_task(by_name("bad"), &worker, &store);
    let e = &bad.errors;
    assert_eq!(bad.read.load(Ordering::Relaxed), 300);
    assert_eq!(bad.records(), 0, "nothing reached put");
    assert_eq!(e.record_errors.load(Ordering::Relaxed), 300);
    assert_eq!(e.record_failures.load(Ordering::Relaxed), 300);
    assert_eq!(bad.skipped.load(Ordering::Relaxed), 300);
    assert_eq!(e.errors_logged.load(Ordering::Relaxed), 300);
    assert_eq!(e.dlq_requests.load(Ordering::Relaxed), 300);
    assert_eq!(e.dlq_failures.load(Ordering::Relaxed), 0);
    assert!(e.last_error_ms.load(Ordering::Relaxed) > 1_600_000_000_000);
    assert_eq!(source.errors.record_errors.load(Ordering::Relaxed), 0);

    let worker_metrics = WorkerMetrics::default();
    let text = render(
        &worker_metrics,
        &[
            ConnectorEntry {
                name: "src",
                class: "org.apache.kafka.connect.file.FileStreamSourceConnector",
                kind: kconnect::api::PluginKind::Source,
                version: "test",
                state: State::Running,
                tasks: vec![TaskEntry::new(0, source)],
            },
            ConnectorEntry {
                name: "sink",
                class: "org.apache.kafka.connect.file.FileStreamSinkConnector",
                kind: kconnect::api::PluginKind::Sink,
                version: "test",
                state: State::Running,
                tasks: vec![TaskEntry::new(0, sink)],
            },
        ],
    );
    let task = |c: &str| format!("{{connector=\"{c}\",task=\"0\"}} ");
    let src = task("src");
    let snk = task("sink");
    for (name, labels, want) in [
        (
            "kafka_connect_source_task_source_record_poll_total",
            &src,
            300.0,
        ),
        (
            "kafka_connect_source_task_source_record_write_total",
            &src,
            300.0,
        ),
        (
            "kafka_connect_sink_task_sink_record_read_total",
            &snk,
            300.0,
        ),
        (
            "kafka_connect_sink_task_sink_record_send_total",
            &snk,
            300.0,
        ),
        ("kafka_connect_sink_task_partition_count", &snk, 1.0),
        ("kafka_connect_task_error_total_record_errors", &src, 0.0),
    ] {
        assert_eq!(sample(&text, &format!("{name}{labels}")), want, "{name}");
    }
    // 300 records within the last window: Kafka's Rate over at least 30 s.
    let rate = sample(
        &text,
        &format!("kafka_connect_source_task_source_record_poll_rate{src}"),
    );
    assert_eq!(rate, 10.0);
    assert!(
        sample(
            &text,
            &format!("kafka_connect_connector_task_offset_commit_max_time_ms{src}")
        ) >= 0.0
    );
    assert!(text.contains(
        "kafka_connect_connector_task_status{connector=\"sink\",task=\"0\",status=\"stopped\"} 1\n"
    ));
}

/// No stored offsets: the task snapshots from scratch.
struct NoOffsets;

impl OffsetReader for NoOffsets {
    fn offset(
        &self,
        _: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Option<SourceOffset>, ConnectError> {
        Ok(None)
    }
}

fn value(metrics: &[MetricDesc], name: &str, context: &str, table: Option<&str>) -> i64 {
    metrics
        .iter()
        .find(|m| {
            m.name == name
                && m.labels
                    .iter()
                    .any(|(k, v)| *k == "context" && v == context)
                && table.is_none_or(|t| m.labels.iter().any(|(k, v)| *k == "table" && v == t))
        })
        .unwrap_or_else(|| panic!("no {name} ({context})"))
        .shown_value()
}

#[test]
fn postgres_snapshot_and_streaming_metrics_move() {
    let pg = Postgres::start();
    pg.psql("CREATE TABLE public.a (id int PRIMARY KEY, v text)");
    pg.psql("CREATE TABLE public.b (id int PRIMARY KEY)");
    pg.psql("INSERT INTO public.a SELECT g, 'x' || g FROM generate_series(1, 250) g");
    pg.psql("INSERT INTO public.b SELECT g FROM generate_series(1, 7) g");
    let mut config = BTreeMap::new();
    for (k, v) in [
        (
            "connector.class",
            "io.debezium.connector.postgresql.PostgresConnector",
        ),
        ("database.hostname", "127.0.0.1"),
        ("database.user", "postgres"),
        ("database.password", "postgres"),
        ("database.dbname", "postgres"),
        ("topic.prefix", "inventory"),
        ("plugin.name", "pgoutput"),
        ("slot.name", "metrics_slot"),
        ("publication.name", "metrics_pub"),
        ("table.include.list", "public.a,public.b"),
    ] {
        config.insert(k.to_string(), v.to_string());
    }
    config.insert("database.port".into(), pg.port().to_string());
    let registry = kconnect::api::MetricsRegistry::new();
    let ctx = SourceTaskContext {
        connector: "pg".into(),
        task_id: 0,
        config,
        once: false,
        offsets: Arc::new(NoOffsets),
        progress: Arc::new(NoProgress),
        stop: StopFlag::new(),
        dependency_wait: None,
        metrics: registry.clone(),
        waiting: Default::default(),
        topic_readers: None,
    };
    let plugin = kconnect::connectors::find("PostgresConnector").unwrap();
    let Factory::Source(factory) = plugin.factory else {
        panic!("a source")
    };
    let mut task = factory(ctx).unwrap();
    let mut polled = 0;
    let start = Instant::now();
    let snapshot = "snapshot";
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "snapshot not done"
        );
        if let Polled::Records(r) = task.poll().unwrap() {
            polled += r.len();
        }
        let m = registry.describe();
        if value(&m, "debezium_metrics_SnapshotCompleted", snapshot, None) == 1 {
            assert_eq!(polled, 257);
            assert_eq!(
                value(
                    &m,
                    "debezium_metrics_RowsScanned",
                    snapshot,
                    Some("public.a")
                ),
                250
            );
            assert_eq!(
                value(
                    &m,
                    "debezium_metrics_RowsScanned",
                    snapshot,
                    Some("public.b")
                ),
                7
            );
            assert_eq!(
                value(
                    &m,
                    "debezium_metrics_TotalNumberOfEventsSeen",
                    snapshot,
                    None
                ),
                257
            );
            assert_eq!(
                value(&m, "debezium_metrics_TotalTableCount", snapshot, None),
                2
            );
            assert_eq!(
                value(&m, "debezium_metrics_RemainingTableCount", snapshot, None),
                0
            );
            assert_eq!(
                value(&m, "debezium_metrics_SnapshotRunning", snapshot, None),
                0
            );
            assert!(
                value(
                    &m,
                    "debezium_metrics_MilliSecondsSinceLastEvent",
                    snapshot,
                    None
                ) >= 0
            );
            break;
        }
    }

    // Streaming: 3 inserts, 1 update, 1 delete in 2 transactions, and a change to a table
    // that is not captured.
    pg.psql("CREATE TABLE public.ignored (id int PRIMARY KEY)");
    pg.psql("BEGIN; INSERT INTO public.a VALUES (1001, 'n'), (1002, 'n'); INSERT INTO public.b VALUES (1001); COMMIT");
    pg.psql("BEGIN; UPDATE public.a SET v = 'u' WHERE id = 1; DELETE FROM public.b WHERE id = 1; COMMIT");
    pg.psql("INSERT INTO public.ignored VALUES (1)");
    let streaming = "streaming";
    let start = Instant::now();
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "changes not streamed: {:?}",
            registry.describe()
        );
        let _ = task.poll().unwrap();
        let m = registry.describe();
        assert_eq!(value(&m, "debezium_metrics_Connected", streaming, None), 1);
        // The delete comes with its tombstone: 6 records for 5 changes.
        if value(
            &m,
            "debezium_metrics_TotalNumberOfEventsSeen",
            streaming,
            None,
        ) >= 6
        {
            assert_eq!(
                value(
                    &m,
                    "debezium_metrics_TotalNumberOfEventsSeen",
                    streaming,
                    None
                ),
                6
            );
            assert_eq!(
                value(
                    &m,
                    "debezium_metrics_TotalNumberOfCreateEventsSeen",
                    streaming,
                    None
                ),
                3
            );
            assert_eq!(
                value(
                    &m,
                    "debezium_metrics_TotalNumberOfUpdateEventsSeen",
                    streaming,
                    None
                ),
                1
            );
            assert_eq!(
                value(
                    &m,
                    "debezium_metrics_TotalNumberOfDeleteEventsSeen",
                    streaming,
                    None
                ),
                1
            );
            assert!(
                value(
                    &m,
                    "debezium_metrics_NumberOfCommittedTransactions",
                    streaming,
                    None
                ) >= 2
            );
            let behind = value(
                &m,
                "debezium_metrics_MilliSecondsBehindSource",
                streaming,
                None,
            );
            assert!((0..60_000).contains(&behind), "{behind}");
            break;
        }
    }
    // The default publication (all_tables) sends the uncaptured table's change too.
    let start = Instant::now();
    while value(
        &registry.describe(),
        "debezium_metrics_NumberOfEventsFiltered",
        streaming,
        None,
    ) < 1
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no filtered change counted"
        );
        let _ = task.poll().unwrap();
    }
    task.stop();
    let m = registry.describe();
    assert_eq!(value(&m, "debezium_metrics_Connected", streaming, None), 0);
}
