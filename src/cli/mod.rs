//! The command line: `serve | migrate | check-config | keys …` (and later `client …`, `user …`).

use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};

mod admin;
mod audit;
mod healthcheck;
mod user;

use crate::app::{Server, StartError, open_store, shutdown_signal};
use crate::clock::Clock;
use crate::config::{Config, ConfigError};
use crate::keys::{self, Kek, SigningAlg};
use crate::oauth::grant::GrantType;
use crate::oauth::secret::SecretHasher;

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
    /// Ask the server on this machine (at the configured bind address) whether it is ready:
    /// exit 0 when `/readyz` answers 200. For container health checks.
    Healthcheck {
        /// Only whether the process answers (`/healthz`), not whether the database does.
        #[arg(long)]
        live: bool,
    },
    /// Signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Registered clients (relying parties).
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// User accounts.
    User {
        #[command(subcommand)]
        command: user::UserCommand,
    },
    /// The admin API.
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
}

#[derive(Subcommand, Debug)]
enum ClientCommand {
    /// Register a client; a confidential client's secret is printed once.
    Create(Box<ClientCreate>),
    /// List registered clients.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Delete a client (its codes, tokens and consents go with it).
    Delete { id: String },
}

fn parse_auth_method(value: &str) -> Result<crate::oauth::client::AuthMethod, String> {
    use crate::oauth::client::AuthMethod;
    AuthMethod::parse(value).ok_or_else(|| {
        let names: Vec<&str> = AuthMethod::ALL.iter().map(|m| m.as_str()).collect();
        format!("one of {}", names.join(", "))
    })
}

#[derive(clap::Args, Debug)]
struct ClientCreate {
    #[arg(long)]
    name: String,
    /// Exact redirect URI (repeatable).
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// A public client (no secret; PKCE required): same as --auth-method none.
    #[arg(long, conflicts_with = "auth_method")]
    public: bool,
    /// client_secret_basic (default), client_secret_post or none.
    #[arg(long, value_parser = parse_auth_method)]
    auth_method: Option<crate::oauth::client::AuthMethod>,
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    /// Client id (default: a random UUID).
    #[arg(long)]
    id: Option<String>,
    /// Client secret (default: 256 random bits).
    #[arg(long)]
    secret: Option<String>,
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "authorization_code,refresh_token",
        value_parser = parse_grant_type
    )]
    grant_types: Vec<GrantType>,
    #[arg(long, default_value = "openid profile email offline_access")]
    scopes: String,
    /// First-party client: no consent page.
    #[arg(long)]
    skip_consent: bool,
    #[arg(long, default_value = "RS256", value_parser = ["RS256", "ES256"])]
    id_token_alg: String,
    /// Where munjigi POSTs logout tokens (OIDC Back-Channel Logout 1.0).
    #[arg(long)]
    backchannel_logout_uri: Option<String>,
    /// A browser origin (https://app.example.com) whose pages may call /token, /userinfo,
    /// /revoke and /introspect (repeatable). A public client that names none gets the
    /// origins of its redirect URIs.
    #[arg(long = "allowed-origin")]
    allowed_origins: Vec<String>,
    /// A resource server (absolute URI) its access tokens are for: the `aud` claim, and what
    /// a `resource` parameter (RFC 8707) may name (repeatable).
    #[arg(long = "audience")]
    audience: Vec<String>,
    /// Its users must sign in with two factors (a password alone never gets a code).
    #[arg(long)]
    require_mfa: bool,
    #[arg(long)]
    json: bool,
}

fn parse_grant_type(value: &str) -> Result<GrantType, String> {
    GrantType::parse(value).ok_or_else(|| {
        let known: Vec<&str> = GrantType::ALL.iter().map(|g| g.as_str()).collect();
        format!("unsupported grant type; one of {}", known.join(", "))
    })
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Schedule new signing keys: published now, signing after key_publish_secs.
    Rotate {
        /// Only this algorithm (default: every one).
        #[arg(long, value_parser = ["RS256", "ES256"])]
        alg: Option<String>,
    },
    /// Show kid, alg, state and creation time of every stored key.
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
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
    let outcome = runtime.block_on(run(cli));
    crate::telemetry::shutdown();
    match outcome {
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
        Command::Client { command } => client_command(&config, command).await,
        Command::User { command } => user::run(&config, command).await,
        Command::Audit { command } => audit::run(&config, command).await,
        Command::Admin { command } => admin::run(&config, command).await,
        Command::Healthcheck { live } => healthcheck::run(config.bind, live).await,
        Command::CheckConfig => {
            print!("{}", config.describe());
            Ok(())
        }
        Command::Keys {
            command: KeysCommand::Rotate { alg },
        } => {
            let store = open_store(&config).await?;
            let kek = server_kek(&config, &store).await?;
            let now = Clock::system().now();
            let algs: Vec<SigningAlg> = match alg.as_deref().and_then(SigningAlg::parse) {
                Some(a) => vec![a],
                None => SigningAlg::DEFAULTS.to_vec(),
            };
            for alg in algs {
                match keys::rotation::schedule(&store, &kek, alg, now, config.keys.publish).await? {
                    Some((kid, at)) => {
                        audit_admin_change(&store, "keys.rotate", &kid, now).await;
                        println!("{} {kid} signs from {}", alg.as_str(), format_time(at))
                    }
                    None => println!(
                        "{} already has a scheduled key; nothing to do",
                        alg.as_str()
                    ),
                }
            }
            store.close().await;
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

async fn client_command(config: &Config, command: ClientCommand) -> Result<(), CliError> {
    use crate::oauth::client::{AuthMethod, NewClient, RegisterError, register};
    let store = open_store(config).await?;
    let result = match command {
        ClientCommand::Create(c) => {
            let auth_method = match (c.public, c.auth_method) {
                (true, _) => AuthMethod::None,
                (false, Some(m)) => m,
                (false, None) => AuthMethod::ClientSecretBasic,
            };
            let kek = server_kek(config, &store).await?;
            let hasher = SecretHasher::new(kek.pepper());
            let new = NewClient {
                id: c.id,
                name: c.name,
                redirect_uris: c.redirect_uris,
                post_logout_redirect_uris: c.post_logout_redirect_uris,
                auth_method,
                secret: c.secret,
                grant_types: c.grant_types,
                scopes: c.scopes,
                skip_consent: c.skip_consent,
                id_token_alg: SigningAlg::parse(&c.id_token_alg).unwrap_or(SigningAlg::Rs256),
                backchannel_logout_uri: c.backchannel_logout_uri,
                allowed_origins: c.allowed_origins,
                access_token_audience: c.audience,
                require_mfa: c.require_mfa,
            };
            match register(&store, &hasher, new, Clock::system().now()).await {
                Ok((record, secret)) => {
                    audit_admin_change(&store, "client.create", &record.id, record.created_at)
                        .await;
                    if c.json {
                        let mut out = client_json(&record);
                        if let Some(secret) = &secret {
                            out["client_secret"] = secret.clone().into();
                        }
                        println!("{out}");
                    } else {
                        println!("client_id: {}", record.id);
                        if let Some(secret) = secret {
                            println!("client_secret: {secret}");
                            println!(
                                "(the secret is shown only now; munjigi keeps only a hash of it)"
                            );
                        }
                    }
                    Ok(())
                }
                Err(RegisterError::Store(e)) => Err(e.into()),
                Err(e) => Err(CliError::Usage(e.to_string())),
            }
        }
        ClientCommand::List { json } => {
            let clients = store.clients().await?;
            if json {
                println!(
                    "{}",
                    serde_json::Value::Array(clients.iter().map(client_json).collect())
                );
            } else {
                println!(
                    "{:<38} {:<20} {:<20} REDIRECT URIS",
                    "CLIENT ID", "NAME", "AUTH"
                );
                for c in clients {
                    println!(
                        "{:<38} {:<20} {:<20} {}",
                        c.id,
                        c.name,
                        c.token_endpoint_auth_method,
                        c.redirect_uris.join(" ")
                    );
                }
            }
            Ok(())
        }
        ClientCommand::Delete { id } => {
            if store.delete_client(&id).await? {
                audit_admin_change(&store, "client.delete", &id, Clock::system().now()).await;
                println!("deleted client {id}");
                Ok(())
            } else {
                Err(CliError::Usage(format!("There is no client “{id}”.")))
            }
        }
    };
    store.close().await;
    result
}

fn client_json(c: &crate::store::ClientRecord) -> serde_json::Value {
    serde_json::json!({
        "client_id": c.id,
        "client_name": c.name,
        "token_endpoint_auth_method": c.token_endpoint_auth_method,
        "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "grant_types": c.grant_types,
        "scope": c.scopes,
        "skip_consent": c.skip_consent,
        "id_token_signed_response_alg": c.id_token_signed_response_alg,
        "backchannel_logout_uri": c.backchannel_logout_uri,
        "allowed_origins": c.allowed_origins,
        "access_token_audience": c.access_token_audience,
        "require_mfa": c.require_mfa,
        "created_at": c.created_at,
    })
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

/// The KEK for a command that seals or peppers with it. A command run without the server's
/// KEK must not make up one: a key it sealed would stop every instance from loading the key
/// set, and a client secret it peppered would never verify. So a missing KEK file is not
/// created when the database already has keys, and the KEK must open the stored keys.
pub(crate) async fn server_kek(
    config: &Config,
    store: &crate::store::Store,
) -> Result<Kek, CliError> {
    let stored = store.signing_keys().await?;
    if let crate::config::KekSource::File(path) = &config.kek
        && !path.exists()
        && !stored.is_empty()
    {
        return Err(CliError::Usage(format!(
            "this database's signing keys are sealed under a KEK, and {} does not exist: \
             set MUNJIGI_KEK to the KEK the server uses",
            path.display()
        )));
    }
    let kek = Kek::load(&config.kek)?;
    if let Some(key) = stored.first() {
        kek.open(&key.private_jwe, &key.kid)?;
    }
    Ok(kek)
}

/// Records an operator's change made through the CLI. A failure to record does not undo the
/// change; it is reported.
pub(crate) async fn audit_admin_change(
    store: &crate::store::Store,
    action: &str,
    target: &str,
    now: i64,
) {
    let event = crate::audit::Event::new(crate::audit::EventKind::Admin)
        .with("actor", "cli")
        .with("action", action)
        .with("target", target);
    if let Err(e) = crate::audit::record_now(store, event, now).await {
        eprintln!("warning: the audit event of {action} {target} was not stored: {e}");
    }
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
