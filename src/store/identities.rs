use sqlx::Acquire;
use sqlx::Row;

use super::users::{self, UserRecord};
use super::{Store, StoreError};

/// An upstream identity linked to a user: (provider, subject) is unique, and a user has at
/// most one identity per provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityRecord {
    pub provider: String,
    pub subject: String,
    pub user_id: String,
    /// The address the provider gave when the link was made (for the account page).
    pub email: Option<String>,
    /// Google's hosted domain, for a Workspace account.
    pub hd: Option<String>,
    pub created_at: i64,
}

const COLUMNS: &str = "provider, subject, user_id, email, hd, created_at";

fn from_row(row: &sqlx::any::AnyRow) -> Result<IdentityRecord, StoreError> {
    Ok(IdentityRecord {
        provider: row.try_get("provider")?,
        subject: row.try_get("subject")?,
        user_id: row.try_get("user_id")?,
        email: row.try_get("email")?,
        hd: row.try_get("hd")?,
        created_at: row.try_get("created_at")?,
    })
}

fn insert(i: &IdentityRecord) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
    sqlx::query(
        "INSERT INTO federated_identities (provider, subject, user_id, email, hd, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&i.provider)
    .bind(&i.subject)
    .bind(&i.user_id)
    .bind(&i.email)
    .bind(&i.hd)
    .bind(i.created_at)
}

impl Store {
    /// The user an upstream identity is linked to.
    pub async fn identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<IdentityRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM federated_identities WHERE provider = $1 AND subject = $2"
        ))
        .bind(provider)
        .bind(subject)
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Every identity linked to a user, oldest first.
    pub async fn identities_of(&self, user_id: &str) -> Result<Vec<IdentityRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM federated_identities WHERE user_id = $1 ORDER BY created_at, provider"
        ))
        .bind(user_id)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Links an identity; `Conflict` when it is linked already (to anyone) or the user has an
    /// identity of this provider.
    pub async fn link_identity(&self, identity: &IdentityRecord) -> Result<(), StoreError> {
        insert(identity)
            .execute(&mut *self.conn().await?)
            .await
            .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// Creates a user and links its first identity in one transaction: never a user without
    /// its way to sign in. `Conflict` when the username, email or identity is taken.
    pub async fn create_user_with_identity(
        &self,
        user: &UserRecord,
        identity: &IdentityRecord,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await?;
        let inserted = users::insert(user)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_insert)?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        insert(identity)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_insert)?;
        tx.commit().await?;
        Ok(())
    }

    /// Unlinks the user's identity of `provider`, unless it is the last way the user can sign
    /// in (no password and no other identity). Returns whether it was removed. The user's row
    /// is locked first (an UPDATE), so two unlinks at once cannot both leave the account
    /// without a way in.
    /// What the account can sign in with now (see `account::ways_in`).
    pub async fn ways_in(&self, user_id: &str) -> Result<WaysInRow, StoreError> {
        ways_in_on(&mut *self.conn().await?, user_id).await
    }

    /// Removes the user's identity of `provider` if `allowed` says so of what the account
    /// can sign in with. The account row is locked first, so two removals at once cannot
    /// both see the other's way in.
    pub async fn unlink_identity(
        &self,
        user_id: &str,
        provider: &str,
        now: i64,
        allowed: impl FnOnce(&WaysInRow) -> bool,
    ) -> Result<bool, StoreError> {
        self.remove_way_in(
            user_id,
            now,
            allowed,
            "DELETE FROM federated_identities WHERE user_id = $1 AND provider = $2",
            provider,
        )
        .await
    }

    /// Removes one of the user's passkeys if `allowed` says so (as `unlink_identity`).
    pub async fn delete_passkey_if(
        &self,
        user_id: &str,
        credential_id: &str,
        now: i64,
        allowed: impl FnOnce(&WaysInRow) -> bool,
    ) -> Result<bool, StoreError> {
        self.remove_way_in(
            user_id,
            now,
            allowed,
            "DELETE FROM passkeys WHERE user_id = $1 AND credential_id = $2",
            credential_id,
        )
        .await
    }

    async fn remove_way_in(
        &self,
        user_id: &str,
        now: i64,
        allowed: impl FnOnce(&WaysInRow) -> bool,
        delete: &'static str,
        which: &str,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await?;
        let locked = sqlx::query("UPDATE users SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if locked.rows_affected() == 0 {
            return Ok(false);
        }
        let ways = ways_in_on(&mut tx, user_id).await?;
        if !allowed(&ways) {
            return Ok(false);
        }
        let removed = sqlx::query(delete)
            .bind(user_id)
            .bind(which)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(removed.rows_affected() == 1)
    }

    /// Removes every identity linked to the user except the one of `keep` (an address proof
    /// that came through that provider). Returns the providers removed.
    pub async fn delete_identities_of_except(
        &self,
        user_id: &str,
        keep: Option<&str>,
    ) -> Result<Vec<String>, StoreError> {
        let keep = keep.unwrap_or_default();
        let rows = sqlx::query(
            "DELETE FROM federated_identities WHERE user_id = $1 AND provider <> $2 \
             RETURNING provider",
        )
        .bind(user_id)
        .bind(keep)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        let mut removed = rows
            .iter()
            .map(|r| r.try_get::<String, _>("provider"))
            .collect::<Result<Vec<_>, _>>()?;
        removed.sort();
        Ok(removed)
    }
}

/// What an account can sign in with, as stored: its password, its linked providers, its
/// passkeys. The rules about it are `account::ways_in`'s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaysInRow {
    pub password: bool,
    pub providers: Vec<String>,
    /// Credential ids.
    pub passkeys: Vec<String>,
}

async fn ways_in_on(
    conn: &mut sqlx::AnyConnection,
    user_id: &str,
) -> Result<WaysInRow, StoreError> {
    let password =
        sqlx::query("SELECT COUNT(*) AS n FROM users WHERE id = $1 AND password_hash IS NOT NULL")
            .bind(user_id)
            .fetch_one(&mut *conn)
            .await?
            .try_get::<i64, _>("n")?
            > 0;
    let providers = sqlx::query(
        "SELECT provider FROM federated_identities WHERE user_id = $1 ORDER BY provider",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| r.try_get("provider"))
    .collect::<Result<Vec<String>, _>>()?;
    let passkeys =
        sqlx::query("SELECT credential_id FROM passkeys WHERE user_id = $1 ORDER BY created_at")
            .bind(user_id)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| r.try_get("credential_id"))
            .collect::<Result<Vec<String>, _>>()?;
    Ok(WaysInRow {
        password,
        providers,
        passkeys,
    })
}
