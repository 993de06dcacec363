//! The `kconnect` command line. Everything it does lives in the library (`kconnect::commands`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use kconnect::commands::{self, Exit, OffsetsCommand};
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
    /// Show or change stored offsets (refused while a kconnect run holds the store).
    Offsets {
        #[arg(
            long,
            value_name = "DIR",
            default_value = "offsets",
            env = "KCONNECT_OFFSETS",
            global = true
        )]
        offsets: PathBuf,
        #[command(subcommand)]
        command: OffsetsCmd,
    },
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
        Command::Offsets { offsets, command } => commands::offsets(
            offsets,
            match command {
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
                    paths: default_paths(paths),
                    force,
                },
            },
        ),
    };
    ExitCode::from(exit as u8)
}
