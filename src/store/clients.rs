use sqlx::Row;
use sqlx::any::AnyRow;

use crate::config::DatabaseConfig;

use super::{Store, StoreError, get_bool, json_list, to_json_list};

/// A registered client as stored. Lists are JSON arrays in TEXT columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRecord {
    pub id: String,
    pub name: String,
    /// HMAC-SHA256 (hex) of the secret under the pepper; `None` for public clients.
    pub secret_hash: Option<String>,
    pub token_endpoint_auth_method: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    /// Space-separated scopes the client may request.
    pub scopes: String,
    pub skip_consent: bool,
    pub id_token_signed_response_alg: String,
    pub backchannel_logout_uri: Option<String>,
    /// Browser origins (`https://app.example.com`) registered for CORS.
    pub allowed_origins: Vec<String>,
    /// Resource servers (RFC 8707 absolute URIs) its access tokens may name in `aud`.
    pub access_token_audience: Vec<String>,
    /// Its users must sign in with two factors.
    pub require_mfa: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, name, secret_hash, token_endpoint_auth_method, redirect_uris, \
    post_logout_redirect_uris, grant_types, scopes, skip_consent, id_token_signed_response_alg, \
    backchannel_logout_uri, allowed_origins, access_token_audience, created_at, updated_at, \
    require_mfa";

fn from_row(row: &AnyRow) -> Result<ClientRecord, StoreError> {
    Ok(ClientRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        secret_hash: row.try_get("secret_hash")?,
        token_endpoint_auth_method: row.try_get("token_endpoint_auth_method")?,
        redirect_uris: json_list(&row.try_get::<String, _>("redirect_uris")?)?,
        post_logout_redirect_uris: json_list(
            &row.try_get::<String, _>("post_logout_redirect_uris")?,
        )?,
        grant_types: json_list(&row.try_get::<String, _>("grant_types")?)?,
        scopes: row.try_get("scopes")?,
        skip_consent: get_bool(row, "skip_consent")?,
        id_token_signed_response_alg: row.try_get("id_token_signed_response_alg")?,
        backchannel_logout_uri: row.try_get("backchannel_logout_uri")?,
        allowed_origins: json_list(&row.try_get::<String, _>("allowed_origins")?)?,
        access_token_audience: json_list(&row.try_get::<String, _>("access_token_audience")?)?,
        require_mfa: get_bool(row, "require_mfa")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl Store {
    /// Inserts a new client; `StoreError::Conflict` if the id is taken.
    /// Inserts a client; `Conflict` when a client or an account has the id (a token's
    /// subject is either a client or an account, never both).
    pub async fn insert_client(&self, c: &ClientRecord) -> Result<(), StoreError> {
        let done = sqlx::query(&format!(
            "INSERT INTO clients ({COLUMNS}) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16 \
             WHERE NOT EXISTS (SELECT 1 FROM users WHERE id = $1)"
        ))
        .bind(&c.id)
        .bind(&c.name)
        .bind(&c.secret_hash)
        .bind(&c.token_endpoint_auth_method)
        .bind(to_json_list(&c.redirect_uris))
        .bind(to_json_list(&c.post_logout_redirect_uris))
        .bind(to_json_list(&c.grant_types))
        .bind(&c.scopes)
        .bind(c.skip_consent)
        .bind(&c.id_token_signed_response_alg)
        .bind(&c.backchannel_logout_uri)
        .bind(to_json_list(&c.allowed_origins))
        .bind(to_json_list(&c.access_token_audience))
        .bind(c.created_at)
        .bind(c.updated_at)
        .bind(c.require_mfa)
        .execute(&mut *self.conn().await?)
        .await
        .map_err(StoreError::from_insert)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        self.announce_client_change(&c.id).await;
        Ok(())
    }

    pub async fn client(&self, id: &str) -> Result<Option<ClientRecord>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM clients WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn clients(&self) -> Result<Vec<ClientRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM clients ORDER BY created_at, id"
        ))
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Writes a client's changeable settings (not its id, method or secret).
    pub async fn update_client(&self, c: &ClientRecord) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE clients SET name = $1, redirect_uris = $2, post_logout_redirect_uris = $3, \
             grant_types = $4, scopes = $5, skip_consent = $6, \
             id_token_signed_response_alg = $7, backchannel_logout_uri = $8, \
             allowed_origins = $9, access_token_audience = $10, updated_at = $11, \
             require_mfa = $13 WHERE id = $12",
        )
        .bind(&c.name)
        .bind(to_json_list(&c.redirect_uris))
        .bind(to_json_list(&c.post_logout_redirect_uris))
        .bind(to_json_list(&c.grant_types))
        .bind(&c.scopes)
        .bind(c.skip_consent)
        .bind(&c.id_token_signed_response_alg)
        .bind(&c.backchannel_logout_uri)
        .bind(to_json_list(&c.allowed_origins))
        .bind(to_json_list(&c.access_token_audience))
        .bind(c.updated_at)
        .bind(&c.id)
        .bind(c.require_mfa)
        .execute(&mut *self.conn().await?)
        .await?;
        self.announce_client_change(&c.id).await;
        Ok(())
    }

    /// Replaces a confidential client's secret hash; false when there is no such client.
    pub async fn set_client_secret_hash(
        &self,
        id: &str,
        secret_hash: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE clients SET secret_hash = $1, updated_at = $2 \
             WHERE id = $3 AND secret_hash IS NOT NULL",
        )
        .bind(secret_hash)
        .bind(now)
        .bind(id)
        .execute(&mut *self.conn().await?)
        .await?;
        self.announce_client_change(id).await;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a client and, by cascade, its codes, refresh tokens and consents.
    pub async fn delete_client(&self, id: &str) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM clients WHERE id = $1")
            .bind(id)
            .execute(&mut *self.conn().await?)
            .await?;
        self.announce_client_change(id).await;
        Ok(result.rows_affected() == 1)
    }

    /// Tells every instance (PostgreSQL `NOTIFY`) that a client changed, so cached copies go
    /// at once. Best effort: caches also expire by themselves within seconds.
    async fn announce_client_change(&self, id: &str) {
        if self.backend() != super::Backend::Postgres {
            return;
        }
        let sent = match self.conn().await {
            Ok(mut conn) => sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CLIENT_CHANNEL)
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(StoreError::from),
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            tracing::warn!(error = %e, "cannot announce a client change");
        }
    }
}

/// The PostgreSQL channel client changes are announced on.
pub const CLIENT_CHANNEL: &str = "munjigi_clients";

/// What the announcements on `CLIENT_CHANNEL` say.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientChange {
    /// This client changed.
    One(String),
    /// Anything may have changed (announcements were missed while not listening).
    Any,
}

/// On PostgreSQL: calls `on_change` for every client change any process announces, for as
/// long as the task runs, reconnecting after the database goes away (and then reporting
/// `Any`, since announcements in between are lost). SQLite has one process: nothing to follow.
pub async fn follow_client_changes(database: &DatabaseConfig, on_change: impl Fn(ClientChange)) {
    let DatabaseConfig::Postgres { url } = database else {
        return;
    };
    loop {
        match sqlx::postgres::PgListener::connect(url).await {
            Ok(mut listener) => {
                if let Err(e) = listener.listen(CLIENT_CHANNEL).await {
                    tracing::warn!(error = %e, "cannot listen for client changes");
                } else {
                    on_change(ClientChange::Any);
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(notification)) => {
                                on_change(ClientChange::One(notification.payload().to_owned()));
                            }
                            // The connection dropped (sqlx reconnects on the next call).
                            Ok(None) => on_change(ClientChange::Any),
                            Err(e) => {
                                tracing::debug!(error = %e, "client change listener stopped");
                                break;
                            }
                        }
                    }
                }
            }
            Err(e) => tracing::debug!(error = %e, "client change listener cannot connect"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
}
