//! `room-chats`: serve (the default), migrate, print the OpenAPI document, mint dev tokens.

use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, Parser, Subcommand};
use room_chats::config::{DEFAULT_BIND, DatabaseArgs, JwtArgs, LogFormat, ServeArgs, StorageArgs};
use room_chats::healthcheck::{self, Probe};
use room_chats::token::{Audience, TokenArgs, mint};
use room_chats::{ServiceConfig, logging, start};
use room_chats_store::Database;

#[derive(Debug, Parser)]
#[command(name = "room-chats", version, about = "Real-time order support chat")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service (the default when no command is given).
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations and exit.
    Migrate(StorageArgs),
    /// Ask the node on `BIND` whether it is alive (`/healthz`), or with `--ready` whether it
    /// can serve (`/readyz`); exit 0 if so, 1 if not. For container health checks.
    Healthcheck {
        /// The address the node listens on (a wildcard address is asked on loopback).
        #[arg(long, env = "BIND", default_value = DEFAULT_BIND)]
        bind: std::net::SocketAddr,
        /// Ask `/readyz` (database and broker up) instead of `/healthz`.
        #[arg(long)]
        ready: bool,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Print the AsyncAPI document of the WebSocket protocol.
    Asyncapi,
    /// Mint a development token signed with the HS256 secret.
    Token {
        #[command(flatten)]
        token: TokenArgs,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        jwt: JwtArgs,
    },
}

/// The optional `.env` file, read from the working directory only.
const DOTENV: &str = ".env";

fn main() -> ExitCode {
    // Before any thread exists: loading sets process environment variables. Variables already
    // set win over the file.
    if let Err(error) = dotenvy::from_path(DOTENV)
        && !error.not_found()
    {
        eprintln!("room-chats: {DOTENV}: {error}");
        return ExitCode::from(2);
    }
    let command = match parse(std::env::args_os()) {
        Ok(command) => command,
        Err(code) => return code,
    };
    let outcome = actix_web::rt::System::new().block_on(run(command));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Once logging is set up the error goes there (and only there): JSON log
            // collectors see it, and a terminal sees it once.
            if logging::is_initialized() {
                tracing::error!(%error, "room-chats stopped");
            } else {
                eprintln!("room-chats: {error}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Parses the command line; bare `room-chats` serves. Errors about a value name the
/// environment variable when that is where the value came from.
fn parse(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<Command, ExitCode> {
    let parsed = Cli::try_parse_from(args).and_then(|cli| match cli.command {
        Some(command) => Ok(command),
        None => Cli::try_parse_from(["room-chats", "serve"]).and_then(|cli| {
            cli.command
                .ok_or_else(|| Cli::command().error(ErrorKind::MissingSubcommand, "no command"))
        }),
    });
    parsed.map_err(|error| {
        if matches!(
            error.kind(),
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
        ) {
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        eprint!("{}", name_the_variable(&error));
        ExitCode::from(2)
    })
}

/// Clap names the flag (`'--log-format <LOG_FORMAT>'`) even when the bad value came from
/// the environment; say `LOG_FORMAT` then, since that is what the user set.
fn name_the_variable(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let Some(ContextValue::String(flag)) = error.get(ContextKind::InvalidArg) else {
        return rendered;
    };
    let long = flag.split_whitespace().next().unwrap_or_default();
    let command = Cli::command();
    let env = std::iter::once(&command)
        .chain(command.get_subcommands())
        .flat_map(clap::Command::get_arguments)
        .find(|arg| {
            arg.get_long()
                .is_some_and(|name| format!("--{name}") == long)
        })
        .and_then(|arg| arg.get_env())
        .map(|env| env.to_string_lossy().into_owned());
    match env {
        Some(env) if std::env::var_os(&env).is_some() => {
            rendered.replace(&format!("'{flag}'"), &format!("{env} (flag {long})"))
        }
        _ => rendered,
    }
}

async fn run(command: Command) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        Command::Serve(args) => serve(*args).await,
        Command::Migrate(storage) => {
            logging::init(LogFormat::Pretty);
            let db = Database::connect(storage.database_url()?, &storage.pool())?;
            let applied = db.migrate().await?;
            tracing::info!(?applied, "migrations applied");
            Ok(())
        }
        Command::Healthcheck { bind, ready } => {
            let probe = if ready { Probe::Ready } else { Probe::Alive };
            healthcheck::check(bind, probe)?;
            Ok(())
        }
        Command::Openapi => {
            print!("{}", room_chats_api::openapi_json());
            Ok(())
        }
        Command::Asyncapi => {
            print!("{}", room_chats_api::asyncapi_json());
            Ok(())
        }
        Command::Token {
            token,
            database,
            jwt,
        } => {
            let key = jwt.signing_key(&database, token.create_secret)?;
            let audience = Audience {
                issuer: jwt.jwt_issuer.as_deref(),
                audience: jwt.jwt_audience.as_deref(),
                role_claim: &jwt.jwt_role_claim,
            };
            println!("{}", mint(&token, &audience, &key)?);
            Ok(())
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), Box<dyn std::error::Error>> {
    logging::init(args.log_format);
    room_chats_api::panic_guard::install_hook();
    let config = ServiceConfig {
        bind: args.bind,
        metrics_bind: args.metrics_bind,
        workers: args.workers.map(usize::from),
        shutdown_timeout_secs: args.shutdown_timeout_secs,
        handle_signals: true,
        realtime: args.realtime()?,
        redis: args.realtime.redis()?,
        database: args.storage.database_url()?,
        pool: args.storage.pool(),
        database_startup_timeout: args.storage.startup_timeout(),
        search_language: args.storage.search_language.clone(),
        writer_threads: args.storage.db_writer_threads as usize,
        send_queue_budget: args.storage.send_queue_budget(),
        verifier: args.jwt.verifier(&args.storage.database)?,
        limits: args.limits()?,
        webhooks: args.webhooks.settings()?,
        notifications: args.webhooks.notifications(),
        auto_close: args.auto_close.settings(),
        response_clocks: args.response_targets.settings()?,
        retention: args.retention.settings(),
        export_link_ttl: args.retention.export_link_ttl(),
        push: args.webhooks.push(&args.storage.database)?,
        attachments: args.attachments.settings()?,
        storage: args.attachments.storage(&args.storage.database),
    };
    let running = start(config).await?;
    running.server.await?;
    running.control.finish().await;
    tracing::info!("shut down");
    Ok(())
}
