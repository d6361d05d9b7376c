//! `munjigi user …`: create, list, disable/enable, set a password, delete, end sessions.

use clap::Subcommand;

use super::CliError;
use crate::account::Accounts;
use crate::account::admin::AccountAdminError;
use crate::account::throttle::LoginThrottle;
use crate::account::user::{CreateUserError, NewUser, Role, create};
use crate::app::open_store;
use crate::clock::Clock;
use crate::config::Config;

fn parse_role(value: &str) -> Result<Role, String> {
    Role::parse(value).ok_or_else(|| "user or admin".to_owned())
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
        /// Read the password from stdin (the only way to set one here).
        #[arg(long)]
        password_stdin: bool,
        #[arg(long, default_value = "user", value_parser = parse_role)]
        role: Role,
        /// Mark the email address as verified.
        #[arg(long)]
        email_verified: bool,
    },
    /// List accounts.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disable an account (id or username): it cannot sign in, and its sessions and
    /// refresh-token families end at once.
    Disable { user: String },
    /// Enable a disabled account again.
    Enable { user: String },
    /// Set a new password, read from standard input; the account's sessions and refresh-token
    /// families end.
    SetPassword {
        user: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Delete an account with its tokens, consents and linked identities.
    Delete { user: String },
    /// Take every second factor off an account (authenticator app, recovery codes, passkeys)
    /// for someone who lost them; its sessions and refresh-token families end.
    ResetSecondFactors { user: String },
    /// The account's browser sessions.
    Sessions {
        #[command(subcommand)]
        command: SessionsCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum SessionsCommand {
    /// End every browser session of an account (it signs in again).
    Revoke { user: String },
}

fn read_password() -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        return Err(CliError::Usage(
            "No password was given on standard input: --password-stdin reads it from one line."
                .into(),
        ));
    }
    Ok(password)
}

impl From<AccountAdminError> for CliError {
    fn from(e: AccountAdminError) -> Self {
        match e {
            AccountAdminError::Store(e) => Self::Store(e),
            other => Self::Usage(other.to_string()),
        }
    }
}

pub async fn run(config: &Config, command: UserCommand) -> Result<(), CliError> {
    // Read before opening the store, so a missing password fails fast.
    let password = match &command {
        UserCommand::Create {
            password_stdin: true,
            ..
        }
        | UserCommand::SetPassword { .. } => Some(read_password()?),
        _ => None,
    };
    let store = open_store(config).await?;
    let throttle = LoginThrottle::default();
    let accounts = Accounts {
        store: &store,
        throttle: &throttle,
    };
    let now = Clock::system().now();
    let access_ttl = config.lifetimes.access_token;
    let change = admin_change(&command);
    let result = match command {
        UserCommand::Create {
            username,
            email,
            name,
            role,
            email_verified,
            ..
        } => {
            let new = NewUser {
                username,
                email,
                name,
                password,
                role,
                email_verified,
            };
            match create(&store, new, now).await {
                Ok(user) => {
                    println!("user_id: {}", user.id);
                    Ok(())
                }
                Err(e @ CreateUserError::Invalid(_)) => Err(CliError::Usage(e.to_string())),
                Err(CreateUserError::Store(e)) => Err(e.into()),
                Err(e) => Err(CliError::Usage(e.to_string())),
            }
        }
        UserCommand::List { json } => store.users(10_000).await.map_err(Into::into).map(|users| {
            for u in users {
                if json {
                    let line = serde_json::json!({
                        "user_id": u.id,
                        "username": u.username,
                        "email": u.email,
                        "email_verified": u.email_verified,
                        "name": u.name,
                        "role": u.role.as_str(),
                        "disabled": u.disabled,
                        "has_password": u.password_hash.is_some(),
                    });
                    println!("{line}");
                } else {
                    let state = if u.disabled { "disabled" } else { "active" };
                    let email = u.email.as_deref().unwrap_or("-");
                    println!(
                        "{}\t{}\t{email}\t{}\t{state}",
                        u.id,
                        u.username,
                        u.role.as_str()
                    );
                }
            }
        }),
        UserCommand::Disable { user } => accounts
            .disable(&user, now, access_ttl)
            .await
            .map(|ended| {
                println!(
                    "disabled {user}: {} sessions ended, {} token families revoked",
                    ended.sessions, ended.grants
                );
            })
            .map_err(Into::into),
        UserCommand::Enable { user } => accounts
            .enable(&user, now)
            .await
            .map(|()| println!("enabled {user}"))
            .map_err(Into::into),
        UserCommand::SetPassword { user, .. } => accounts
            .set_password(&user, password.unwrap_or_default(), now, access_ttl)
            .await
            .map(|ended| {
                println!(
                    "password set for {user}: {} sessions ended, {} token families revoked",
                    ended.sessions, ended.grants
                );
            })
            .map_err(Into::into),
        UserCommand::ResetSecondFactors { user } => accounts
            .reset_second_factors(&user, now, access_ttl)
            .await
            .map(|(authenticator, passkeys)| {
                let app = if authenticator {
                    "an authenticator app"
                } else {
                    "no authenticator app"
                };
                println!("second factors of {user} removed: {app}, {passkeys} passkeys");
            })
            .map_err(Into::into),
        UserCommand::Delete { user } => accounts
            .delete(&user)
            .await
            .map(|()| println!("deleted {user}"))
            .map_err(Into::into),
        UserCommand::Sessions {
            command: SessionsCommand::Revoke { user },
        } => accounts
            .end_sessions(&user, now, access_ttl)
            .await
            .map(|(_, ended)| {
                println!(
                    "{} sessions of {user} ended, {} token families revoked",
                    ended.sessions, ended.grants
                );
            })
            .map_err(Into::into),
    };
    if result.is_ok()
        && let Some((action, target)) = change
    {
        super::audit_admin_change(&store, action, &target, now).await;
    }
    store.close().await;
    result
}

/// What a command changes, for the audit trail (`None` for reading commands).
fn admin_change(command: &UserCommand) -> Option<(&'static str, String)> {
    match command {
        UserCommand::Create { username, .. } => Some(("user.create", username.clone())),
        UserCommand::List { .. } => None,
        UserCommand::Disable { user } => Some(("user.disable", user.clone())),
        UserCommand::Enable { user } => Some(("user.enable", user.clone())),
        UserCommand::SetPassword { user, .. } => Some(("user.set_password", user.clone())),
        UserCommand::Delete { user } => Some(("user.delete", user.clone())),
        UserCommand::ResetSecondFactors { user } => {
            Some(("user.reset_second_factors", user.clone()))
        }
        UserCommand::Sessions {
            command: SessionsCommand::Revoke { user },
        } => Some(("user.sessions.revoke", user.clone())),
    }
}
