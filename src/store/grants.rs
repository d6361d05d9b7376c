use sqlx::{Acquire, Row};

use super::users::{self, COLUMNS as USER_COLUMNS};
use super::{Store, StoreError, UserRecord};

/// A person's access token as the store sees it (`Store::access_token_standing`).
#[derive(Debug)]
pub struct TokenStanding {
    pub revoked: bool,
    pub account: Option<UserRecord>,
}

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

    /// Revokes every grant of a user that still has a live refresh token or a redeemed code
    /// not yet purged, and deletes the user's unredeemed codes; returns how many refresh-token
    /// families. Access tokens of those grants are refused until `keep_until`.
    pub async fn revoke_grants_of_user(
        &self,
        user_id: &str,
        now: i64,
        keep_until: i64,
    ) -> Result<u64, StoreError> {
        self.revoke_user_grants(user_id, None, now, keep_until)
            .await
    }

    /// The same for one client only (consent withdrawn from it).
    pub async fn revoke_grants_of_user_for_client(
        &self,
        user_id: &str,
        client_id: &str,
        now: i64,
        keep_until: i64,
    ) -> Result<u64, StoreError> {
        self.revoke_user_grants(user_id, Some(client_id), now, keep_until)
            .await
    }

    async fn revoke_user_grants(
        &self,
        user_id: &str,
        client_id: Option<&str>,
        now: i64,
        keep_until: i64,
    ) -> Result<u64, StoreError> {
        // The client filter, with the placeholder each statement gives it.
        let of_client = |n: u8| match client_id {
            Some(_) => format!("AND client_id = ${n}"),
            None => String::new(),
        };
        let insert_sql = format!(
            "INSERT INTO revoked_grants (grant_id, revoked_at, expires_at) \
             SELECT DISTINCT grant_id, $2, $3 FROM refresh_tokens \
             WHERE user_id = $1 AND revoked_at IS NULL {} \
             ON CONFLICT (grant_id) DO NOTHING",
            of_client(4)
        );
        let update_sql = format!(
            "UPDATE refresh_tokens SET revoked_at = $2 \
             WHERE user_id = $1 AND revoked_at IS NULL {}",
            of_client(3)
        );
        // Grants of codes already redeemed (kept until they expire): their access tokens,
        // with or without a refresh token, are refused by grant too. A redemption racing
        // with this has marked its code used before or finds it deleted after.
        let redeemed_sql = format!(
            "INSERT INTO revoked_grants (grant_id, revoked_at, expires_at) \
             SELECT DISTINCT grant_id, $2, $3 FROM authorization_codes \
             WHERE user_id = $1 AND used_at IS NOT NULL {} \
             ON CONFLICT (grant_id) DO NOTHING",
            of_client(4)
        );
        let codes_sql = format!(
            "DELETE FROM authorization_codes WHERE user_id = $1 AND used_at IS NULL {}",
            of_client(2)
        );
        let mut insert = sqlx::query(&insert_sql)
            .bind(user_id)
            .bind(now)
            .bind(keep_until);
        let mut update = sqlx::query(&update_sql).bind(user_id).bind(now);
        let mut redeemed = sqlx::query(&redeemed_sql)
            .bind(user_id)
            .bind(now)
            .bind(keep_until);
        let mut codes = sqlx::query(&codes_sql).bind(user_id);
        if let Some(client_id) = client_id {
            insert = insert.bind(client_id);
            update = update.bind(client_id);
            redeemed = redeemed.bind(client_id);
            codes = codes.bind(client_id);
        }
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await?;
        let grants = insert.execute(&mut *tx).await?;
        update.execute(&mut *tx).await?;
        redeemed.execute(&mut *tx).await?;
        codes.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(grants.rows_affected())
    }

    /// What checking a person's access token needs, in one round trip: whether the token or
    /// its grant was revoked, and the account as it is now (`None` when it is gone).
    pub async fn access_token_standing(
        &self,
        grant_id: &str,
        jti: &str,
        user_id: &str,
    ) -> Result<TokenStanding, StoreError> {
        // One row always (the LEFT JOIN from a one-row table); the account's columns are NULL
        // when it is gone.
        let row = sqlx::query(&format!(
            "SELECT (SELECT COUNT(*) FROM revoked_grants WHERE grant_id = $1) \
             + (SELECT COUNT(*) FROM revoked_access_tokens WHERE jti = $2) AS revoked, \
             {USER_COLUMNS} FROM (SELECT 1 AS one) AS one LEFT JOIN users ON users.id = $3"
        ))
        .bind(grant_id)
        .bind(jti)
        .bind(user_id)
        .fetch_one(&mut *self.conn().await?)
        .await?;
        let revoked: i64 = row.try_get("revoked")?;
        let account = match row.try_get::<Option<String>, _>("id")? {
            Some(_) => Some(users::from_row(&row)?),
            None => None,
        };
        Ok(TokenStanding {
            revoked: revoked > 0,
            account,
        })
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
