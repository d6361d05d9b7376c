//! Passkeys (WebAuthn public-key credentials) per account.

use sqlx::Row;

use super::{Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasskeyRecord {
    pub credential_id: String,
    pub user_id: String,
    pub user_handle: String,
    pub name: String,
    /// webauthn-rs's `Passkey`, as JSON.
    pub passkey: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

const COLUMNS: &str =
    "credential_id, user_id, user_handle, name, passkey, created_at, last_used_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<PasskeyRecord, StoreError> {
    Ok(PasskeyRecord {
        credential_id: r.try_get("credential_id")?,
        user_id: r.try_get("user_id")?,
        user_handle: r.try_get("user_handle")?,
        name: r.try_get("name")?,
        passkey: r.try_get("passkey")?,
        created_at: r.try_get("created_at")?,
        last_used_at: r.try_get("last_used_at")?,
    })
}

impl Store {
    /// `Conflict` when the credential is registered already.
    pub async fn insert_passkey(&self, p: &PasskeyRecord) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO passkeys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ))
        .bind(&p.credential_id)
        .bind(&p.user_id)
        .bind(&p.user_handle)
        .bind(&p.name)
        .bind(&p.passkey)
        .bind(p.created_at)
        .bind(p.last_used_at)
        .execute(&mut *self.conn().await?)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    pub async fn passkeys_of(&self, user_id: &str) -> Result<Vec<PasskeyRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY created_at"
        ))
        .bind(user_id)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn passkeys_by_handle(
        &self,
        user_handle: &str,
    ) -> Result<Vec<PasskeyRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM passkeys WHERE user_handle = $1"
        ))
        .bind(user_handle)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Records a use: the credential's new state (its counter) and when.
    pub async fn passkey_used(
        &self,
        credential_id: &str,
        passkey: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE passkeys SET passkey = $2, last_used_at = $3 WHERE credential_id = $1")
            .bind(credential_id)
            .bind(passkey)
            .bind(now)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }

    pub async fn delete_passkey(
        &self,
        user_id: &str,
        credential_id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM passkeys WHERE user_id = $1 AND credential_id = $2")
            .bind(user_id)
            .bind(credential_id)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn delete_passkeys_of(&self, user_id: &str) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM passkeys WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(done.rows_affected())
    }

    /// Whether the account has a second factor of any kind.
    pub async fn has_second_factor(&self, user_id: &str) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM totp_credentials WHERE user_id = $1) \
             + (SELECT COUNT(*) FROM passkeys WHERE user_id = $1) AS n",
        )
        .bind(user_id)
        .fetch_one(&mut *self.conn().await?)
        .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }
}
