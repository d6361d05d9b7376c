//! `munjigi admin token`: a short-lived access token for the admin API, for automation and
//! for creating the first admin account over the API. It is signed with the database's
//! active key, so only someone with the KEK and the database can make one.

use crate::app::open_store;
use crate::clock::Clock;
use crate::config::Config;
use crate::http::admin::BOOTSTRAP;
use crate::keys::KeyRing;
use crate::oauth::access_token::{self, AccessClaims};
use crate::oauth::resource::Audience;
use crate::oauth::scope::ADMIN;

use super::{CliError, audit_admin_change};

#[derive(clap::Subcommand, Debug)]
pub enum AdminCommand {
    /// Print an access token with the admin scope; it cannot be revoked, so keep it short.
    Token {
        /// Lifetime in seconds (at most a day).
        #[arg(long, default_value_t = 900)]
        ttl_secs: i64,
    },
}

pub async fn run(config: &Config, command: AdminCommand) -> Result<(), CliError> {
    let AdminCommand::Token { ttl_secs } = command;
    if !(1..=86_400).contains(&ttl_secs) {
        return Err(CliError::Usage("--ttl-secs must be 1 to 86400".into()));
    }
    let store = open_store(config).await?;
    let result = async {
        let kek = super::server_kek(config, &store).await?;
        let now = Clock::system().now();
        let keys = KeyRing::bootstrap(&store, kek, now).await?;
        let jti = uuid::Uuid::new_v4().to_string();
        let claims = AccessClaims {
            iss: config.issuer.as_str().to_owned(),
            sub: BOOTSTRAP.to_owned(),
            aud: Audience::One(config.issuer.as_str().to_owned()),
            exp: now + ttl_secs,
            iat: now,
            jti: jti.clone(),
            client_id: BOOTSTRAP.to_owned(),
            scope: ADMIN.to_owned(),
            auth_time: None,
            gid: jti.clone(),
            role: Some("admin".to_owned()),
            account_epoch: None,
        };
        let token = access_token::sign(&keys.current(), &claims)
            .map_err(|e| CliError::Usage(format!("cannot sign: {e}")))?;
        audit_admin_change(&store, "admin.token", &jti, now).await;
        println!("{token}");
        Ok::<(), CliError>(())
    }
    .await;
    store.close().await;
    result
}
