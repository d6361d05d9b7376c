//! `munjigi audit tail`: the newest audit events, oldest first.

use crate::app::open_store;
use crate::config::Config;
use crate::store::AuditQuery;

use super::{CliError, format_time};

#[derive(clap::Subcommand, Debug)]
pub enum AuditCommand {
    /// Print the newest audit events (sign-ins, lockouts, consent, tokens, logout, admin).
    Tail {
        /// Only events of this user (id or username).
        #[arg(long)]
        user: Option<String>,
        /// Only events of this client id.
        #[arg(long)]
        client: Option<String>,
        /// How many events (at most 10000).
        #[arg(long, short = 'n', default_value_t = 50)]
        limit: i64,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(config: &Config, command: AuditCommand) -> Result<(), CliError> {
    let AuditCommand::Tail {
        user,
        client,
        limit,
        json,
    } = command;
    let store = open_store(config).await?;
    let result = async {
        // A username is looked up; anything else is taken as an id (the user may be gone).
        let user_id = match user {
            Some(u) => Some(store.user_by_login(&u).await?.map_or(u, |found| found.id)),
            None => None,
        };
        let query = AuditQuery {
            user_id,
            client_id: client,
            limit,
        };
        for event in store.recent_audit_events(&query).await? {
            if json {
                let detail: serde_json::Value =
                    serde_json::from_str(&event.detail).unwrap_or_default();
                let line = serde_json::json!({
                    "at": event.at,
                    "kind": event.kind,
                    "user_id": event.user_id,
                    "client_id": event.client_id,
                    "ip": event.ip,
                    "detail": detail,
                });
                println!("{line}");
            } else {
                println!(
                    "{}  {:<20} user={} client={} ip={} {}",
                    format_time(event.at),
                    event.kind,
                    event.user_id.as_deref().unwrap_or("-"),
                    event.client_id.as_deref().unwrap_or("-"),
                    event.ip.as_deref().unwrap_or("-"),
                    event.detail
                );
            }
        }
        Ok::<(), CliError>(())
    }
    .await;
    store.close().await;
    result
}
