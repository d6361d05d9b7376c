use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, get_bool};

/// What an account may do beyond signing in: parsed once, where the row is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "user" => Some(Self::User),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    pub id: String,
    pub username: String,
    /// `None` for an account from an upstream provider that gave no usable address.
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    /// argon2id PHC string; `None` for accounts that only sign in through a provider.
    pub password_hash: Option<String>,
    pub role: Role,
    pub disabled: bool,
    /// The account's not-before for access tokens, as a counter: ending the account's access
    /// raises it, and a token issued under a lower value is refused.
    pub access_epoch: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

pub(super) const COLUMNS: &str = "id, username, email, email_verified, name, password_hash, role, disabled, \
    access_epoch, created_at, updated_at";

pub(super) fn from_row(row: &AnyRow) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        email: Some(row.try_get::<String, _>("email")?).filter(|e| !e.is_empty()),
        email_verified: get_bool(row, "email_verified")?,
        name: row.try_get("name")?,
        password_hash: row.try_get("password_hash")?,
        role: Role::parse(&row.try_get::<String, _>("role")?)
            .ok_or_else(|| StoreError::Corrupt("users.role".into()))?,
        disabled: get_bool(row, "disabled")?,
        access_epoch: row.try_get("access_epoch")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// The email columns are NOT NULL (SQLite cannot relax that in place): an account without an
/// email stores `""`, and a unique placeholder without `@` — which no email login can match —
/// keeps real addresses unique regardless of case.
fn email_columns(u: &UserRecord) -> (String, String) {
    match &u.email {
        Some(email) => (email.clone(), email.to_lowercase()),
        None => (String::new(), format!("#{}", u.id)),
    }
}

/// The INSERT of a user, for the pool or a transaction. It inserts nothing (no row
/// affected) when a client has the id: a token's subject is either a client or an account,
/// never both (`clients::insert_client` keeps the other direction).
pub(super) fn insert(
    u: &UserRecord,
) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
    let (email, email_normalized) = email_columns(u);
    sqlx::query(
        "INSERT INTO users (id, username, email, email_verified, name, password_hash, role, \
         disabled, created_at, updated_at, email_normalized) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 \
         WHERE NOT EXISTS (SELECT 1 FROM clients WHERE id = $1)",
    )
    .bind(&u.id)
    .bind(&u.username)
    .bind(email)
    .bind(u.email_verified)
    .bind(&u.name)
    .bind(&u.password_hash)
    .bind(u.role.as_str())
    .bind(u.disabled)
    .bind(u.created_at)
    .bind(u.updated_at)
    .bind(email_normalized)
}

impl Store {
    /// Inserts a user; `StoreError::Conflict` when the username or the email (compared
    /// case-insensitively) is taken.
    pub async fn insert_user(&self, u: &UserRecord) -> Result<(), StoreError> {
        let done = insert(u)
            .execute(&mut *self.conn().await?)
            .await
            .map_err(StoreError::from_insert)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        Ok(())
    }

    pub async fn user(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The user whose username, or whose email ignoring case, is `login`.
    pub async fn user_by_login(&self, login: &str) -> Result<Option<UserRecord>, StoreError> {
        if !login.contains('@') {
            return self.user_by_username(login).await;
        }
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM users WHERE lower(username) = $1 OR email_normalized = $1"
        ))
        .bind(login.to_lowercase())
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The user with this username, ignoring case.
    pub async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM users WHERE lower(username) = $1"
        ))
        .bind(username.to_lowercase())
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The user with this email address, ignoring case.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        if !email.contains('@') {
            return Ok(None);
        }
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM users WHERE email_normalized = $1"
        ))
        .bind(email.to_lowercase())
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        row.as_ref().map(from_row).transpose()
    }
}

/// Changes an operator makes to accounts.
impl Store {
    pub async fn set_user_disabled(
        &self,
        id: &str,
        disabled: bool,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3")
            .bind(disabled)
            .bind(now)
            .bind(id)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Raises the account's not-before for access tokens: every access token issued until
    /// now is refused. Returns whether the account exists.
    pub async fn raise_access_epoch(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE users SET access_epoch = access_epoch + 1 WHERE id = $1")
            .bind(id)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn set_password_hash(
        &self,
        id: &str,
        hash: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
                .bind(hash)
                .bind(now)
                .bind(id)
                .execute(&mut *self.conn().await?)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Sets the display name and the role.
    pub async fn set_user_profile(
        &self,
        id: &str,
        name: Option<&str>,
        role: Role,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE users SET name = $1, role = $2, updated_at = $3 WHERE id = $4")
                .bind(name)
                .bind(role.as_str())
                .bind(now)
                .bind(id)
                .execute(&mut *self.conn().await?)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Sets the account's address (unverified: nobody proved it); `Conflict` when another
    /// account has it.
    pub async fn set_user_email_unverified(
        &self,
        id: &str,
        email: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE users SET email = $1, email_normalized = $2, email_verified = $3, \
             updated_at = $4 WHERE id = $5",
        )
        .bind(email)
        .bind(email.to_lowercase())
        .bind(false)
        .bind(now)
        .bind(id)
        .execute(&mut *self.conn().await?)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes an account; its codes, tokens, consents and identities go with it (cascades).
    pub async fn delete_user(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Accounts whose username, email or name contains `q` (any case), by username.
    pub async fn search_users(&self, q: &str, limit: i64) -> Result<Vec<UserRecord>, StoreError> {
        let escaped: String = q
            .to_lowercase()
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        let pattern = format!("%{escaped}%");
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM users WHERE LOWER(username) LIKE $1 ESCAPE '\\' \
             OR LOWER(COALESCE(email, '')) LIKE $1 ESCAPE '\\' \
             OR LOWER(COALESCE(name, '')) LIKE $1 ESCAPE '\\' ORDER BY username LIMIT $2"
        ))
        .bind(pattern)
        .bind(limit)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Accounts by username, at most `limit`.
    pub async fn users(&self, limit: i64) -> Result<Vec<UserRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM users ORDER BY username LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.iter().map(from_row).collect()
    }
}
