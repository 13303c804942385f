//! `room-chats-bench`: the project's load tool. It drives a running service (or a cluster)
//! over its public API only: REST to prepare orders and rooms, WebSockets to chat.

mod connection;
mod export;
mod pool;
mod report;
mod rss;
mod scenarios;
mod search;
mod setup;
mod stats;
mod stream;
mod uploads;
mod webhook;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::scenarios::Common;
use crate::setup::Signer;

/// A failed run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("setup failed: {0}")]
    Setup(String),
    #[error("run failed: {0}")]
    Run(String),
    #[error("{0}")]
    Config(String),
}

#[derive(Debug, Parser)]
#[command(name = "room-chats-bench", about = "Load tool for room-chats")]
struct Cli {
    /// Base URL of a node; repeat for a cluster (connections are spread over the nodes).
    #[arg(long = "url", default_value = "http://127.0.0.1:8000", global = true)]
    urls: Vec<String>,
    /// The HS256 secret the service verifies tokens with.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true, global = true)]
    secret: Option<String>,
    /// File holding the secret (the embedded default writes `DATA_DIR/jwt-secret`).
    #[arg(long, default_value = "./data/jwt-secret", global = true)]
    secret_file: PathBuf,
    /// `iss` claim, when the service checks it.
    #[arg(long, env = "JWT_ISSUER", global = true)]
    issuer: Option<String>,
    /// `aud` claim, when the service checks it.
    #[arg(long, env = "JWT_AUDIENCE", global = true)]
    audience: Option<String>,
    /// Server process id, to report its resident memory.
    #[arg(long, global = true)]
    pid: Option<u32>,
    /// Client threads for room sockets (dashboards run on as many of their own).
    #[arg(long, default_value_t = 1, global = true)]
    threads: usize,
    /// New connections per second (0 = as fast as possible).
    #[arg(long, default_value_t = 2000.0, global = true)]
    connect_rate: f64,
    /// Message size in bytes.
    #[arg(long, default_value_t = 64, global = true)]
    size: usize,
    /// Write the JSON report here as well as to stdout.
    #[arg(long, global = true)]
    out: Option<PathBuf>,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// Every connection sends one message every interval.
    Steady(SteadyArgs),
    /// `steady` across two or more `--url` nodes sharing Postgres and Redis.
    MultiNode(SteadyArgs),
    /// Ramp the total send rate over many rooms until delivery p99 passes the limit.
    Saturate {
        #[arg(long, default_value_t = 500)]
        rooms: usize,
        #[command(flatten)]
        ramp: RampArgs,
    },
    /// `saturate` in the shape of a shop with a few busy conversations: 100 rooms, the
    /// customer and the admin of each sending.
    HotRooms {
        #[arg(long, default_value_t = 100)]
        rooms: usize,
        #[command(flatten)]
        ramp: RampArgs,
    },
    /// Open idle authenticated connections and report server memory per connection.
    Idle {
        #[arg(long, default_value_t = 10000)]
        connections: usize,
    },
    /// Joins per second, each receiving ready and a history frame.
    Storm {
        #[arg(long, default_value_t = 200)]
        rooms: usize,
        #[arg(long, default_value_t = 5000)]
        joins: usize,
        #[arg(long, default_value_t = 50)]
        history: usize,
    },
    /// Admins follow every room over the user stream `/ws/` (and subscribe to a few) while
    /// the customers of the rooms send.
    Dashboard {
        #[arg(long, default_value_t = 1000)]
        rooms: usize,
        #[arg(long, default_value_t = 20)]
        admins: usize,
        /// Rooms each admin subscribes to.
        #[arg(long, default_value_t = 10)]
        subscribed: usize,
        /// Messages per second, all customers together.
        #[arg(long, default_value_t = 2000.0)]
        rate: f64,
        #[arg(long, default_value_t = 30)]
        duration_secs: u64,
    },
    /// Concurrent attachment uploads (streamed, each into a room of its own) while steady
    /// traffic runs over other rooms: the traffic's latency and the server's memory.
    Uploads {
        #[arg(long, default_value_t = 1000)]
        rooms: usize,
        #[arg(long, default_value_t = 5000)]
        interval_ms: u64,
        #[arg(long, default_value_t = 50)]
        uploads: usize,
        /// MiB per file.
        #[arg(long, default_value_t = 10)]
        file_mib: u64,
        /// Each upload's pace in MB/s (a client's upstream); unset: as fast as the service
        /// takes it.
        #[arg(long)]
        upload_mbps: Option<f64>,
    },
    /// One customer with `rooms × per-room` messages and `files` files of `file-mib` MiB,
    /// seeded through the API; an export of their data, timed until ready, downloaded, with
    /// the server's memory sampled (issue 29: 100,000 messages and 1 GiB under 60 s).
    Export {
        #[arg(long, default_value_t = 20)]
        rooms: usize,
        #[arg(long, default_value_t = 5_000)]
        per_room: usize,
        #[arg(long, default_value_t = 43)]
        files: usize,
        /// MiB per file (24: under the default 25 MiB file limit).
        #[arg(long, default_value_t = 24)]
        file_mib: u64,
    },
    /// Seeds `rooms × per-room` messages of Zipf-distributed words through the API, then
    /// searches `rate` times a second (one, two and three words, phrases, prefixes; as
    /// customers and as an admin) while `steady` traffic runs over other rooms.
    Search {
        #[arg(long, default_value_t = 10_000)]
        rooms: usize,
        #[arg(long, default_value_t = 100)]
        per_room: usize,
        #[arg(long, default_value_t = 20.0)]
        rate: f64,
        #[arg(long, default_value_t = 60)]
        duration_secs: u64,
        #[arg(long, default_value_t = 1000)]
        steady_rooms: usize,
        #[arg(long, default_value_t = 5000)]
        steady_interval_ms: u64,
        /// Seconds to wait after seeding before measuring: a table that grew by a million rows
        /// in minutes has not yet had the autovacuum and statistics that weeks of growth give
        /// it (Postgres' `autovacuum_naptime` is a minute).
        #[arg(long, default_value_t = 90)]
        settle_secs: u64,
    },
    /// A few seconds of traffic; fails unless nothing was lost, duplicated or reordered.
    Smoke {
        #[arg(long, default_value_t = 10)]
        rooms: usize,
        #[arg(long, default_value_t = 2)]
        admins: usize,
        #[arg(long, default_value_t = 3)]
        duration_secs: u64,
    },
}

/// The ramp of `saturate` and `hot-rooms`.
#[derive(Debug, clap::Args)]
struct RampArgs {
    /// Admins connected to each room besides its client; every connection sends.
    #[arg(long, default_value_t = 1)]
    admins: usize,
    #[arg(long, default_value_t = 1000.0)]
    start_rate: f64,
    #[arg(long, default_value_t = 1000.0)]
    step_rate: f64,
    #[arg(long, default_value_t = 50000.0)]
    max_rate: f64,
    #[arg(long, default_value_t = 5)]
    step_secs: u64,
    #[arg(long, default_value_t = 100.0)]
    p99_limit_ms: f64,
    /// Register a webhook receiver run by the tool (the server needs
    /// `WEBHOOK_ALLOW_PRIVATE_URLS=true`) and report the outbox lag per step.
    #[arg(long)]
    webhook: bool,
}

impl RampArgs {
    async fn run(
        &self,
        common: &Common,
        name: &str,
        rooms: usize,
    ) -> Result<report::Report, BenchError> {
        let ramp = scenarios::Ramp {
            start_rate: self.start_rate,
            step_rate: self.step_rate,
            max_rate: self.max_rate,
            step: Duration::from_secs(self.step_secs),
            p99_limit_ms: self.p99_limit_ms,
        };
        let receiver = if self.webhook {
            let receiver = webhook::Receiver::start()?;
            setup::register_webhook(&common.nodes[0], &common.signer, receiver.url()).await?;
            Some(receiver)
        } else {
            None
        };
        scenarios::saturate(common, name, rooms, self.admins, &ramp, receiver.as_ref()).await
    }
}

/// Shape of a `steady` run.
#[derive(Debug, clap::Args)]
struct SteadyArgs {
    /// Rooms, each with one client and `admins` admins connected.
    #[arg(long, default_value_t = 1000)]
    rooms: usize,
    #[arg(long, default_value_t = 1)]
    admins: usize,
    /// Each connection sends one message per interval.
    #[arg(long, default_value_t = 5000)]
    interval_ms: u64,
    #[arg(long, default_value_t = 30)]
    duration_secs: u64,
}

impl SteadyArgs {
    async fn run(&self, common: &Common, name: &str) -> Result<report::Report, BenchError> {
        scenarios::steady(
            common,
            name,
            self.rooms,
            self.admins,
            Duration::from_millis(self.interval_ms),
            Duration::from_secs(self.duration_secs),
        )
        .await
    }
}

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(2),
        Err(error) => {
            eprintln!("room-chats-bench: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<bool, BenchError> {
    let secret = match cli.secret {
        Some(secret) => secret,
        None => std::fs::read_to_string(&cli.secret_file)
            .map(|secret| secret.trim().to_owned())
            .map_err(|error| {
                BenchError::Config(format!(
                    "no --secret and cannot read {}: {error}",
                    cli.secret_file.display()
                ))
            })?,
    };
    let common = Common {
        nodes: cli
            .urls
            .iter()
            .map(|url| url.trim_end_matches('/').to_owned())
            .collect(),
        signer: Signer::new(secret.as_bytes(), cli.issuer, cli.audience),
        threads: cli.threads,
        pid: cli.pid,
        connect_rate: cli.connect_rate,
        message_size: cli.size.max(24),
    };
    let (report, must_be_correct) = match cli.scenario {
        Scenario::Steady(args) => (args.run(&common, "steady").await?, false),
        Scenario::MultiNode(args) => {
            if common.nodes.len() < 2 {
                return Err(BenchError::Config(
                    "multi-node needs two or more --url".to_owned(),
                ));
            }
            (args.run(&common, "multi-node").await?, false)
        }
        Scenario::Saturate { rooms, ramp } => (ramp.run(&common, "saturate", rooms).await?, false),
        Scenario::HotRooms { rooms, ramp } => (ramp.run(&common, "hot-rooms", rooms).await?, false),
        Scenario::Idle { connections } => (scenarios::idle(&common, connections).await?, false),
        Scenario::Storm {
            rooms,
            joins,
            history,
        } => (
            scenarios::storm(&common, rooms, joins, history).await?,
            false,
        ),
        Scenario::Dashboard {
            rooms,
            admins,
            subscribed,
            rate,
            duration_secs,
        } => {
            let shape = scenarios::DashboardShape {
                rooms,
                admins,
                subscribed,
                rate,
                duration: Duration::from_secs(duration_secs),
            };
            (scenarios::dashboard(&common, &shape).await?, false)
        }
        Scenario::Uploads {
            rooms,
            interval_ms,
            uploads,
            file_mib,
            upload_mbps,
        } => {
            let shape = scenarios::UploadShape {
                rooms,
                interval: Duration::from_millis(interval_ms),
                uploads,
                file_bytes: file_mib * 1024 * 1024,
                bytes_per_sec: upload_mbps.map(|mbps| mbps * 1e6),
            };
            (scenarios::uploads(&common, &shape).await?, false)
        }
        Scenario::Export {
            rooms,
            per_room,
            files,
            file_mib,
        } => {
            let shape = export::ExportShape {
                rooms,
                per_room,
                files,
                file_bytes: file_mib * 1024 * 1024,
            };
            (export::run(&common, &shape).await?, false)
        }
        Scenario::Search {
            rooms,
            per_room,
            rate,
            duration_secs,
            steady_rooms,
            steady_interval_ms,
            settle_secs,
        } => {
            let shape = scenarios::SearchShape {
                rooms,
                per_room,
                rate,
                duration: Duration::from_secs(duration_secs),
                steady_rooms,
                steady_interval: Duration::from_millis(steady_interval_ms),
                settle: Duration::from_secs(settle_secs),
            };
            (scenarios::search(&common, &shape).await?, false)
        }
        Scenario::Smoke {
            rooms,
            admins,
            duration_secs,
        } => (
            scenarios::steady(
                &common,
                "smoke",
                rooms,
                admins,
                Duration::from_millis(50),
                Duration::from_secs(duration_secs),
            )
            .await?,
            true,
        ),
    };
    let json = serde_json::to_string_pretty(&report)
        .map_err(|error| BenchError::Run(error.to_string()))?;
    if let Some(path) = &cli.out {
        std::fs::write(path, &json)
            .map_err(|error| BenchError::Run(format!("{}: {error}", path.display())))?;
    }
    println!("{json}");
    eprintln!("{}", report.summary());
    let smoke_ok = !must_be_correct
        || (report.correct()
            && report.acked > 0
            && report.unexpected_closes == 0
            && report.errors == 0);
    if must_be_correct {
        eprintln!(
            "smoke: {}",
            if smoke_ok {
                "1 passed, 0 failed"
            } else {
                "0 passed, 1 failed"
            }
        );
    }
    Ok(smoke_ok)
}
