//! One-time links mailed to people (address verification, password reset), kept hashed.

use sqlx::{Acquire, Row};

use super::{Store, StoreError};

/// What a mailed link is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkPurpose {
    VerifyEmail,
    ResetPassword,
    /// Confirms a new address: the account's address changes only when the link is used.
    ChangeEmail,
}

impl LinkPurpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
            Self::ChangeEmail => "change_email",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountTokenRecord {
    pub token_hash: String,
    pub purpose: LinkPurpose,
    pub user_id: String,
    /// The address the link went to.
    pub email: String,
    pub created_at: i64,
    pub expires_at: i64,
}

impl Store {
    pub async fn insert_account_token(&self, t: &AccountTokenRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO account_tokens (token_hash, purpose, user_id, email, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&t.token_hash)
        .bind(t.purpose.as_str())
        .bind(&t.user_id)
        .bind(&t.email)
        .bind(t.created_at)
        .bind(t.expires_at)
        .execute(&mut *self.conn().await?)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// Links of `purpose` made for the account since `since` (used or not).
    pub async fn account_tokens_since(
        &self,
        user_id: &str,
        purpose: LinkPurpose,
        since: i64,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM account_tokens \
             WHERE user_id = $1 AND purpose = $2 AND created_at >= $3",
        )
        .bind(user_id)
        .bind(purpose.as_str())
        .bind(since)
        .fetch_one(&mut *self.conn().await?)
        .await?;
        Ok(row.try_get("n")?)
    }

    /// The account of a link that is unused and unexpired, without using it (to show a form).
    pub async fn live_account_token(
        &self,
        token_hash: &str,
        purpose: LinkPurpose,
        now: i64,
    ) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT user_id, email FROM account_tokens WHERE token_hash = $1 AND purpose = $2 \
             AND used_at IS NULL AND expires_at > $3",
        )
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        row.map(|r| Ok((r.try_get("user_id")?, r.try_get("email")?)))
            .transpose()
    }

    /// Uses a verification link: marks the address verified if it is still the account's.
    /// Returns the account id, or `None` for an unknown, used or expired link.
    pub async fn use_verification_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<(String, bool)>, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await?;
        let Some((user_id, email)) =
            take(&mut tx, token_hash, LinkPurpose::VerifyEmail, now).await?
        else {
            return Ok(None);
        };
        let verified = sqlx::query(
            "UPDATE users SET email_verified = $1, updated_at = $2 \
             WHERE id = $3 AND email_normalized = $4",
        )
        .bind(true)
        .bind(now)
        .bind(&user_id)
        .bind(email.to_lowercase())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some((user_id, verified.rows_affected() == 1)))
    }

    /// Uses a reset link: sets the new password hash, and every other reset link of the
    /// account dies with it. A reset proves the address, so it counts as verified if it is
    /// still the account's. Returns the account id, or `None` for an unknown, used or
    /// expired link.
    pub async fn use_reset_token(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await?;
        let Some((user_id, email)) =
            take(&mut tx, token_hash, LinkPurpose::ResetPassword, now).await?
        else {
            return Ok(None);
        };
        sqlx::query(
            "UPDATE users SET password_hash = $1, updated_at = $2, \
             email_verified = CASE WHEN email_normalized = $3 THEN $4 ELSE email_verified END \
             WHERE id = $5",
        )
        .bind(password_hash)
        .bind(now)
        .bind(email.to_lowercase())
        .bind(true)
        .bind(&user_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE account_tokens SET used_at = $1 \
             WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL",
        )
        .bind(now)
        .bind(&user_id)
        .bind(LinkPurpose::ResetPassword.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(user_id))
    }
}

/// What using an address-change link did.
#[derive(Debug, PartialEq, Eq)]
pub enum EmailChange {
    /// The account's address is now the new one, verified; `old` was its address before.
    Changed {
        user_id: String,
        old: Option<String>,
    },
    /// Another account took the address meanwhile.
    Taken,
}

impl Store {
    /// Uses an address-change link: the new address becomes the account's, verified.
    pub async fn use_email_change_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<EmailChange>, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await?;
        let Some((user_id, new)) = take(&mut tx, token_hash, LinkPurpose::ChangeEmail, now).await?
        else {
            return Ok(None);
        };
        let old: Option<String> = sqlx::query("SELECT email FROM users WHERE id = $1")
            .bind(&user_id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get::<String, _>("email"))
            .transpose()?
            .filter(|e| !e.is_empty());
        let changed = sqlx::query(
            "UPDATE users SET email = $1, email_normalized = $2, email_verified = $3, \
             updated_at = $4 WHERE id = $5",
        )
        .bind(&new)
        .bind(new.to_lowercase())
        .bind(true)
        .bind(now)
        .bind(&user_id)
        .execute(&mut *tx)
        .await;
        match changed.map_err(StoreError::from_insert) {
            Ok(_) => {
                tx.commit().await?;
                Ok(Some(EmailChange::Changed { user_id, old }))
            }
            Err(StoreError::Conflict) => {
                tx.rollback().await?;
                // The link is spent all the same: it cannot succeed later.
                sqlx::query("UPDATE account_tokens SET used_at = $1 WHERE token_hash = $2")
                    .bind(now)
                    .bind(token_hash)
                    .execute(&mut *self.conn().await?)
                    .await?;
                Ok(Some(EmailChange::Taken))
            }
            Err(e) => Err(e),
        }
    }
}

/// Marks a live link used, atomically: of two concurrent uses, one gets the account.
async fn take(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    token_hash: &str,
    purpose: LinkPurpose,
    now: i64,
) -> Result<Option<(String, String)>, StoreError> {
    let row = sqlx::query(
        "UPDATE account_tokens SET used_at = $1 WHERE token_hash = $2 AND purpose = $3 \
         AND used_at IS NULL AND expires_at > $1 RETURNING user_id, email",
    )
    .bind(now)
    .bind(token_hash)
    .bind(purpose.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| Ok((r.try_get("user_id")?, r.try_get("email")?)))
        .transpose()
}
