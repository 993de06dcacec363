//! The `kconnect` command line. Everything it does lives in the library (`kconnect::commands`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use kconnect::commands::client::{self, ClientCommand, Connection};
use kconnect::commands::{self, Exit, MoveOptions, OffsetsCommand, Place};
use kconnect::config::WorkerOverrides;

#[derive(Parser)]
#[command(
    name = "kconnect",
    version,
    about = "Kafka Connect's standalone mode as one small binary"
)]
struct Cli {
    /// Log format: text for people, json for journald and log shippers.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "KCONNECT_LOG_FORMAT"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Args)]
struct WorkerArgs {
    /// A Kafka Connect worker config (.properties or JSON).
    #[arg(long = "worker", value_name = "FILE", env = "KCONNECT_WORKER")]
    worker: Option<PathBuf>,
    /// Kafka brokers (overrides the worker's bootstrap.servers).
    #[arg(
        short = 'b',
        long,
        value_name = "HOST:PORT,...",
        env = "KCONNECT_BOOTSTRAP_SERVERS"
    )]
    bootstrap_servers: Option<String>,
    /// The offsets store directory.
    #[arg(
        long,
        value_name = "DIR",
        default_value = "offsets",
        env = "KCONNECT_OFFSETS"
    )]
    offsets: PathBuf,
}

impl WorkerArgs {
    fn overrides(&self) -> WorkerOverrides {
        WorkerOverrides {
            worker_file: self.worker.clone(),
            bootstrap_servers: self.bootstrap_servers.clone(),
            offsets_dir: Some(self.offsets.clone()),
        }
    }
}

/// Where a client command finds the worker's REST API.
#[derive(Args)]
struct ClientArgs {
    /// The worker's REST API: kconnect's `listeners`, or any Kafka Connect worker.
    #[arg(long, value_name = "URL", env = "KCONNECT_URL", default_value = client::DEFAULT_URL)]
    url: String,
    #[command(flatten)]
    conn: ConnArgs,
}

/// How a client command proves who it is, whom it trusts and how long it waits. There is no
/// password flag: it would land in shell history and `ps`.
#[derive(Args)]
struct ConnArgs {
    /// Basic authentication as this user; the password comes from KCONNECT_PASSWORD or
    /// --password-file.
    #[arg(long, value_name = "USER", env = "KCONNECT_USER", global = true)]
    user: Option<String>,
    /// Read the password from the first line of this file instead of KCONNECT_PASSWORD.
    #[arg(long, value_name = "FILE", global = true)]
    password_file: Option<PathBuf>,
    /// HTTPS: accept any certificate and host name (a test worker's self-signed one).
    #[arg(long, global = true)]
    insecure: bool,
    /// HTTPS: trust the CA certificates in this PEM file besides the system's.
    #[arg(long, value_name = "FILE", global = true)]
    cacert: Option<PathBuf>,
    /// Give up on a request after this long (e.g. 5s; default 100s, longer than Connect's
    /// own 90 s request timeout).
    #[arg(long, value_name = "DURATION", global = true, value_parser = commands::parse_duration)]
    timeout: Option<std::time::Duration>,
}

impl ConnArgs {
    fn connection(self, url: String) -> Connection {
        Connection {
            url,
            user: self.user,
            password_file: self.password_file,
            insecure: self.insecure,
            cacert: self.cacert,
            timeout: self.timeout,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the connectors in these files or directories (default connectors.d/).
    Run {
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        worker: WorkerArgs,
        /// Read what is there now, deliver it, commit, and exit 0 (for cron).
        #[arg(long)]
        once: bool,
        /// Bound the whole run (e.g. 90s, 5m): at the deadline stop as on SIGTERM, deliver
        /// what is in flight, commit, and exit 3.
        #[arg(long, value_name = "DURATION", value_parser = commands::parse_duration)]
        deadline: Option<std::time::Duration>,
    },
    /// Check connector files and report every problem; exit 1 if there is any.
    Validate {
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        worker: WorkerArgs,
    },
    /// List connectors, converters, transforms and predicates with their settings.
    Plugins {
        #[arg(long)]
        json: bool,
        /// The configuration reference as Markdown (docs/reference.md).
        #[arg(long, conflicts_with = "json")]
        markdown: bool,
    },
    /// Show or change stored offsets (refused while a kconnect run holds the store), or with
    /// --url a worker's, through its REST API.
    Offsets {
        #[arg(
            long,
            value_name = "DIR",
            default_value = "offsets",
            env = "KCONNECT_OFFSETS",
            global = true
        )]
        offsets: PathBuf,
        /// Work on this worker's offsets through its REST API (KIP-875) instead of the local
        /// store. Only this flag switches: KCONNECT_URL does not.
        #[arg(long, value_name = "URL", global = true)]
        url: Option<String>,
        #[command(flatten)]
        conn: ConnArgs,
        #[command(subcommand)]
        command: OffsetsCmd,
    },
    /// Move connectors with their offsets onto a Kafka Connect cluster: each is created there
    /// STOPPED, given kconnect's offsets, marked STOPPED here, then resumed there (default:
    /// every connector in the files). Refused while a kconnect run holds the offsets store.
    #[command(group(clap::ArgGroup::new("to_where").required(true).args(["to", "to_dir"])))]
    Export {
        /// The Connect cluster's REST API (any of its workers), e.g. http://connect:8083.
        #[arg(long, value_name = "URL")]
        to: Option<String>,
        /// Instead: write each connector's REST bodies (NAME/connector.json, the POST
        /// /connectors body; NAME/offsets.json, the PATCH .../offsets body) into DIR, as a
        /// backup; nothing is marked here.
        #[arg(long, value_name = "DIR")]
        to_dir: Option<PathBuf>,
        /// Stop and delete (with its offsets) a connector of the same name on the cluster
        /// first; without it such a name is refused.
        #[arg(long)]
        replace: bool,
        /// Print the requests (secrets hidden) and change nothing, here or there.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        args: MoveArgs,
    },
    /// Bring connectors back from a Kafka Connect cluster: each is stopped there, its config
    /// written to its connector file and its offsets into the store, and unmarked here so
    /// `kconnect run` runs it (default: the connectors exported to that URL).
    #[command(group(clap::ArgGroup::new("from_where").required(true).args(["from", "from_dir"])))]
    Import {
        /// The Connect cluster's REST API (any of its workers).
        #[arg(long, value_name = "URL")]
        from: Option<String>,
        /// Instead: read what `export --to-dir DIR` wrote.
        #[arg(long, value_name = "DIR")]
        from_dir: Option<PathBuf>,
        /// Where a connector with no file here yet is written (default the first
        /// --connectors path).
        #[arg(long, value_name = "DIR")]
        into: Option<PathBuf>,
        /// Delete the connector on the cluster once imported (otherwise it stays STOPPED
        /// there).
        #[arg(long, conflicts_with = "from_dir")]
        delete: bool,
        #[command(flatten)]
        args: MoveArgs,
    },
    /// Connectors' and tasks' states, from a worker's REST API; exit 3 if any FAILED.
    Status {
        /// Only this connector (default: every connector, in one request).
        name: Option<String>,
        /// Connect's JSON, as the worker sent it.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Pause a connector's tasks (they keep their place; resume continues).
    Pause {
        /// The connector's name.
        name: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Resume a paused or stopped connector.
    Resume {
        /// The connector's name.
        name: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Stop a connector and its tasks (KIP-875: then its offsets can be set or reset).
    Stop {
        /// The connector's name.
        name: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Restart a connector, with --tasks its tasks too, with --failed only what FAILED;
    /// --task N restarts one task.
    Restart {
        /// The connector's name.
        name: String,
        /// Restart the tasks too (Connect's includeTasks).
        #[arg(long)]
        tasks: bool,
        /// Only the instances that FAILED (Connect's onlyFailed).
        #[arg(long)]
        failed: bool,
        /// Restart only this task.
        #[arg(long, value_name = "N", conflicts_with_all = ["tasks", "failed"])]
        task: Option<u32>,
        /// Connect's JSON answer (with --tasks or --failed), as the worker sent it.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// Where `export` and `import` find the connectors here: the same files and store as `run`.
#[derive(Args)]
struct MoveArgs {
    /// Only these connectors.
    #[arg(value_name = "NAME")]
    names: Vec<String>,
    /// A connector file or directory, as given to `kconnect run` (repeat it for more;
    /// default connectors.d).
    #[arg(long = "connectors", value_name = "PATH")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    worker: WorkerArgs,
    #[command(flatten)]
    conn: ConnArgs,
}

impl MoveArgs {
    fn options(self, dry_run: bool) -> (MoveOptions, ConnArgs) {
        (
            MoveOptions {
                paths: default_paths(self.paths),
                worker: self.worker.overrides(),
                names: self.names,
                dry_run,
            },
            self.conn,
        )
    }
}

#[derive(Subcommand)]
enum OffsetsCmd {
    /// Source and sink offsets per connector.
    List {
        /// Only this connector.
        connector: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Forget a connector's offsets: it starts over on its next run.
    Reset { connector: String },
    /// Set one partition's offset, in Connect's offsets API shape.
    Set {
        connector: String,
        /// e.g. '{"filename":"/data/in.txt"}' or '{"kafka_topic":"t","kafka_partition":0}'
        #[arg(long)]
        partition: String,
        /// e.g. '{"position":0}' or '{"kafka_offset":42}'; null removes it.
        #[arg(long)]
        offset: String,
        /// The connector files or directories the connector runs from, as given to `run`
        /// (default connectors.d); the edit is checked against the connector's offset shape.
        paths: Vec<PathBuf>,
        /// Write even if no connector of that name is in the connector files.
        #[arg(long)]
        force: bool,
    },
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let directives = std::env::var("KCONNECT_LOG")
        .ok()
        .filter(|d| EnvFilter::try_new(d).is_ok())
        .unwrap_or_else(|| "info,librdkafka=warn,rdkafka=warn".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(&directives))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(|| kconnect::runtime::progress::LogWriter);
    // The REST API's /admin/loggers changes levels through this hook.
    use kconnect::runtime::rest::loggers::install;
    match format {
        LogFormat::Text => {
            let b = builder.with_target(false).with_filter_reloading();
            install(&directives, reload_hook(b.reload_handle()));
            b.init()
        }
        LogFormat::Json => {
            let b = builder.json().flatten_event(true).with_filter_reloading();
            install(&directives, reload_hook(b.reload_handle()));
            b.init()
        }
    }
}

fn reload_hook<S: 'static>(
    handle: tracing_subscriber::reload::Handle<tracing_subscriber::EnvFilter, S>,
) -> kconnect::runtime::rest::loggers::Reload {
    Box::new(move |d| {
        let filter = tracing_subscriber::EnvFilter::try_new(d).map_err(|e| e.to_string())?;
        handle.reload(filter).map_err(|e| e.to_string())
    })
}

fn default_paths(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    if paths.is_empty() {
        vec![PathBuf::from("connectors.d")]
    } else {
        paths
    }
}

fn run_client(args: ClientArgs, command: ClientCommand) -> Exit {
    client::client(&args.conn.connection(args.url), command)
}

fn main() -> ExitCode {
    kconnect::runtime::PROCESS_START.get_or_init(std::time::Instant::now);
    // A closed stdout (kconnect plugins | head) is not an error.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { Exit::Usage as u8 } else { 0 });
        }
    };
    init_logging(cli.log_format);
    let exit = match cli.command {
        Command::Run {
            paths,
            worker,
            once,
            deadline,
        } => commands::run(default_paths(paths), worker.overrides(), once, deadline),
        Command::Validate { paths, worker } => {
            commands::validate(default_paths(paths), worker.overrides())
        }
        Command::Plugins { json, markdown } => commands::plugins(json, markdown),
        Command::Offsets {
            offsets,
            url,
            conn,
            command,
        } => {
            let local = url.is_none();
            let command = match command {
                OffsetsCmd::List { connector, json } => OffsetsCommand::List { connector, json },
                OffsetsCmd::Reset { connector } => OffsetsCommand::Reset { connector },
                OffsetsCmd::Set {
                    connector,
                    partition,
                    offset,
                    paths,
                    force,
                } => OffsetsCommand::Set {
                    connector,
                    partition,
                    offset,
                    paths: if local { default_paths(paths) } else { paths },
                    force,
                },
            };
            match url {
                Some(url) => client::offsets(&conn.connection(url), command),
                None => commands::offsets(offsets, command),
            }
        }
        Command::Export {
            to,
            to_dir,
            replace,
            dry_run,
            args,
        } => {
            let (opts, conn) = args.options(dry_run);
            let place = match (to, to_dir) {
                (Some(url), _) => Place::Cluster(conn.connection(url)),
                (None, Some(dir)) => Place::Dir(dir),
                (None, None) => unreachable!("clap requires --to or --to-dir"),
            };
            commands::export(opts, place, replace)
        }
        Command::Import {
            from,
            from_dir,
            into,
            delete,
            args,
        } => {
            let (opts, conn) = args.options(false);
            let place = match (from, from_dir) {
                (Some(url), _) => Place::Cluster(conn.connection(url)),
                (None, Some(dir)) => Place::Dir(dir),
                (None, None) => unreachable!("clap requires --from or --from-dir"),
            };
            commands::import(opts, place, into, delete)
        }
        Command::Status { name, json, client } => {
            run_client(client, ClientCommand::Status { name, json })
        }
        Command::Pause { name, client } => run_client(client, ClientCommand::Pause { name }),
        Command::Resume { name, client } => run_client(client, ClientCommand::Resume { name }),
        Command::Stop { name, client } => run_client(client, ClientCommand::Stop { name }),
        Command::Restart {
            name,
            tasks,
            failed,
            task,
            json,
            client,
        } => run_client(
            client,
            match task {
                Some(task) => ClientCommand::RestartTask { name, task },
                None => ClientCommand::Restart {
                    name,
                    include_tasks: tasks,
                    only_failed: failed,
                    json,
                },
            },
        ),
    };
    ExitCode::from(exit as u8)
}
