use sqlx::Row;

use super::{Store, StoreError, to_json_list};

/// A refresh token as stored (keyed by the SHA-256 of the token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    pub token_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    pub auth_time: i64,
    pub amr: Vec<String>,
    pub sid: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub family_expires_at: i64,
}

/// Grants: everything issued from one authorization (its code, access and refresh tokens)
/// shares a grant id, so it can be revoked as one.
impl Store {
    pub async fn insert_refresh_token(&self, t: &RefreshTokenRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, grant_id, client_id, user_id, scope, auth_time, \
             amr, sid, created_at, expires_at, family_expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&t.token_hash)
        .bind(&t.grant_id)
        .bind(&t.client_id)
        .bind(&t.user_id)
        .bind(&t.scope)
        .bind(t.auth_time)
        .bind(to_json_list(&t.amr))
        .bind(&t.sid)
        .bind(t.created_at)
        .bind(t.expires_at)
        .bind(t.family_expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Revokes a grant: its refresh tokens stop working, and its access tokens are refused
    /// until `keep_until` (when the last of them has expired anyway).
    pub async fn revoke_grant(
        &self,
        grant_id: &str,
        now: i64,
        keep_until: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO revoked_grants (grant_id, revoked_at, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (grant_id) DO UPDATE SET expires_at = \
             CASE WHEN excluded.expires_at > revoked_grants.expires_at \
             THEN excluded.expires_at ELSE revoked_grants.expires_at END",
        )
        .bind(grant_id)
        .bind(now)
        .bind(keep_until)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $1 WHERE grant_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(grant_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn is_grant_revoked(&self, grant_id: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 AS revoked FROM revoked_grants WHERE grant_id = $1")
            .bind(grant_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some())
    }

    /// Active (unrevoked, unexpired) refresh tokens of a grant, for tests and diagnostics.
    pub async fn live_refresh_tokens(&self, grant_id: &str, now: i64) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM refresh_tokens \
             WHERE grant_id = $1 AND revoked_at IS NULL AND rotated_at IS NULL AND expires_at > $2",
        )
        .bind(grant_id)
        .bind(now)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("n")?)
    }
}
