use sqlx::Acquire;

use super::{Store, StoreError};

/// Grants: everything issued from one authorization (its code, access and refresh tokens)
/// shares a grant id, so it can be revoked as one.
impl Store {
    /// Revokes a grant: its refresh tokens stop working, and its access tokens are refused
    /// until `keep_until` (when the last of them has expired anyway).
    pub async fn revoke_grant(
        &self,
        grant_id: &str,
        now: i64,
        keep_until: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await?;
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

    /// Revokes every grant of a user that still has a live refresh token, and the user's
    /// unredeemed codes; returns how many grants. Access tokens of those grants are refused
    /// until `keep_until`.
    pub async fn revoke_grants_of_user(
        &self,
        user_id: &str,
        now: i64,
        keep_until: i64,
    ) -> Result<u64, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await?;
        let grants = sqlx::query(
            "INSERT INTO revoked_grants (grant_id, revoked_at, expires_at) \
             SELECT DISTINCT grant_id, $2, $3 FROM refresh_tokens \
             WHERE user_id = $1 AND revoked_at IS NULL \
             ON CONFLICT (grant_id) DO NOTHING",
        )
        .bind(user_id)
        .bind(now)
        .bind(keep_until)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
        )
        .bind(user_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM authorization_codes WHERE user_id = $1 AND used_at IS NULL")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(grants.rows_affected())
    }

    /// Whether an access token is refused: its grant, or the token itself, was revoked.
    pub async fn is_access_token_revoked(
        &self,
        grant_id: &str,
        jti: &str,
    ) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT 1 AS revoked FROM revoked_grants WHERE grant_id = $1 \
             UNION ALL SELECT 1 AS revoked FROM revoked_access_tokens WHERE jti = $2",
        )
        .bind(grant_id)
        .bind(jti)
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        Ok(row.is_some())
    }

    /// Revokes one access token until it expires (RFC 7009).
    pub async fn revoke_access_token(&self, jti: &str, expires_at: i64) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(jti)
            .bind(expires_at)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }
}
