//! The command line: `serve | migrate | check-config | keys …` (and later `client …`, `user …`).

use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};

use crate::app::{Server, StartError, open_store, shutdown_signal};
use crate::clock::Clock;
use crate::config::{Config, ConfigError};
use crate::keys;

#[derive(Parser, Debug)]
#[command(
    name = "munjigi",
    version,
    about = "munjigi (문지기): an OpenID Connect provider"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the HTTP server (default bind 127.0.0.1:8080).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the effective configuration, secrets redacted.
    CheckConfig,
    /// Signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Show kid, alg, state and creation time of every stored key.
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Keys(#[from] keys::KeyError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Parses the command line, runs the command and maps failures to an exit code with a message.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Config(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let config = Config::from_env()?;
    crate::telemetry::init(config.log_format);
    match cli.command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let store = open_store(&config).await?;
            store.close().await;
            println!("migrations applied to {}", config.database.redacted());
            Ok(())
        }
        Command::CheckConfig => {
            print!("{}", config.describe());
            Ok(())
        }
        Command::Keys {
            command: KeysCommand::List { json },
        } => {
            let store = open_store(&config).await?;
            let rows = keys::list_keys(&store).await?;
            store.close().await;
            if json {
                let list: Vec<_> = rows
                    .iter()
                    .map(|r| {
                        serde_json::json!({
                            "kid": r.kid, "alg": r.alg, "state": r.state,
                            "created_at": r.created_at, "activates_at": r.activates_at,
                            "retired_at": r.retired_at,
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                println!("{:<45} {:<6} {:<8} CREATED", "KID", "ALG", "STATE");
                for r in rows {
                    println!(
                        "{:<45} {:<6} {:<8} {}",
                        r.kid,
                        r.alg,
                        r.state,
                        format_time(r.created_at)
                    );
                }
            }
            Ok(())
        }
    }
}

async fn serve(config: Config) -> Result<(), CliError> {
    let started = Instant::now();
    let issuer = config.issuer.clone();
    let database = config.database.redacted();
    let server = Server::bind(config, Clock::system()).await?;
    let addr = server.local_addr()?;
    tracing::info!(
        %addr, %issuer, %database,
        startup_ms = started.elapsed().as_millis() as u64,
        "munjigi is ready"
    );
    server.run(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// RFC 3339 in UTC.
fn format_time(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

#[cfg(test)]
mod tests {
    use super::format_time;

    #[test]
    fn formats_unix_time_as_rfc3339() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(1_795_168_800), "2026-11-20T10:00:00Z");
    }
}
