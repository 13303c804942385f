//! `room-chats`: serve (the default), migrate, print the OpenAPI document, mint dev tokens.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use room_chats::config::{JwtArgs, LogFormat, ServeArgs, StorageArgs};
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
    /// Print the OpenAPI document.
    Openapi,
    /// Print the AsyncAPI document of the WebSocket protocol.
    Asyncapi,
    /// Mint a development token signed with the HS256 secret.
    Token {
        #[command(flatten)]
        token: TokenArgs,
        #[command(flatten)]
        storage: StorageArgs,
        #[command(flatten)]
        jwt: JwtArgs,
    },
}

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = match cli.command {
        Some(command) => command,
        // Bare `room-chats` serves with configuration from the environment.
        None => match Cli::parse_from(["room-chats", "serve"]).command {
            Some(command) => command,
            None => return ExitCode::FAILURE,
        },
    };
    match run(command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "room-chats stopped");
            eprintln!("room-chats: {error}");
            ExitCode::FAILURE
        }
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
            storage,
            jwt,
        } => {
            let key = jwt.signing_key(&storage)?;
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
    let config = ServiceConfig {
        bind: args.bind,
        workers: args.workers,
        shutdown_timeout_secs: args.shutdown_timeout_secs,
        handle_signals: true,
        realtime: args.realtime()?,
        redis: args.realtime.redis(),
        database: args.storage.database_url()?,
        pool: args.storage.pool(),
        writer_threads: args.storage.db_writer_threads as usize,
        verifier: args.jwt.verifier(&args.storage)?,
        limits: args.limits()?,
    };
    let running = start(config).await?;
    running.server.await?;
    running.control.finish().await;
    tracing::info!("shut down");
    Ok(())
}
