//! Second factors: an authenticator app's sealed secret per account, and recovery codes.

use sqlx::{Acquire, Row};

use super::{Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TotpRecord {
    pub secret_sealed: String,
    pub created_at: i64,
    pub last_used_step: i64,
}

impl Store {
    pub async fn totp_of(&self, user_id: &str) -> Result<Option<TotpRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT secret_sealed, created_at, last_used_step FROM totp_credentials \
             WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        row.map(|r| {
            Ok(TotpRecord {
                secret_sealed: r.try_get("secret_sealed")?,
                created_at: r.try_get("created_at")?,
                last_used_step: r.try_get("last_used_step")?,
            })
        })
        .transpose()
    }

    /// Turns the authenticator on (replacing any earlier one) with fresh recovery codes, in
    /// one transaction.
    pub async fn enable_totp(
        &self,
        user_id: &str,
        secret_sealed: &str,
        first_step: i64,
        recovery_hashes: &[String],
        now: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await?;
        sqlx::query("DELETE FROM totp_credentials WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO totp_credentials (user_id, secret_sealed, created_at, last_used_step) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(user_id)
        .bind(secret_sealed)
        .bind(now)
        .bind(first_step)
        .execute(&mut *tx)
        .await?;
        replace_codes(&mut tx, user_id, recovery_hashes, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Turns the authenticator off; its recovery codes go with it unless `keep_codes`.
    pub async fn disable_totp(&self, user_id: &str, keep_codes: bool) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await?;
        let done = sqlx::query("DELETE FROM totp_credentials WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if !keep_codes {
            sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Spends a time step: false when it (or a later one) was used already, so a code
    /// works once even when two requests race with it.
    pub async fn use_totp_step(&self, user_id: &str, step: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE totp_credentials SET last_used_step = $2 \
             WHERE user_id = $1 AND last_used_step < $2",
        )
        .bind(user_id)
        .bind(step)
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Spends a recovery code: false when it is unknown or used.
    pub async fn use_recovery_code(
        &self,
        user_id: &str,
        code_hash: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = $3 \
             WHERE code_hash = $1 AND user_id = $2 AND used_at IS NULL",
        )
        .bind(code_hash)
        .bind(user_id)
        .bind(now)
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn recovery_codes_left(&self, user_id: &str) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user_id)
        .fetch_one(&mut *self.conn().await?)
        .await?;
        Ok(row.try_get("n")?)
    }

    /// New recovery codes; the old ones stop working.
    pub async fn replace_recovery_codes(
        &self,
        user_id: &str,
        hashes: &[String],
        now: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await?;
        replace_codes(&mut tx, user_id, hashes, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn replace_codes(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: &str,
    hashes: &[String],
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    for hash in hashes {
        sqlx::query(
            "INSERT INTO recovery_codes (code_hash, user_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(hash)
        .bind(user_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
