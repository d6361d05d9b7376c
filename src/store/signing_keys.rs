use sqlx::Acquire;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError};

/// A signing key as stored: the private half is a JWE sealed under the KEK.
#[derive(Clone, Debug)]
pub struct SigningKeyRow {
    pub kid: String,
    pub alg: String,
    pub state: String,
    pub public_jwk: String,
    pub private_jwe: String,
    pub created_at: i64,
    pub activates_at: i64,
    pub retired_at: Option<i64>,
}

fn from_row(row: &AnyRow) -> Result<SigningKeyRow, sqlx::Error> {
    Ok(SigningKeyRow {
        kid: row.try_get("kid")?,
        alg: row.try_get("alg")?,
        state: row.try_get("state")?,
        public_jwk: row.try_get("public_jwk")?,
        private_jwe: row.try_get("private_jwe")?,
        created_at: row.try_get("created_at")?,
        activates_at: row.try_get("activates_at")?,
        retired_at: row.try_get("retired_at")?,
    })
}

impl Store {
    /// Every key still published (any state), oldest first.
    pub async fn signing_keys(&self) -> Result<Vec<SigningKeyRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT kid, alg, state, public_jwk, private_jwe, created_at, activates_at, retired_at \
             FROM signing_keys ORDER BY created_at, kid",
        )
        .fetch_all(&mut *self.conn().await?)
        .await?;
        Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
    }

    /// Inserts a key unless its slot is taken: partial unique indexes allow one `active` and
    /// one `next` key per alg, so instances doing the same at once create one key between
    /// them. Returns whether it was inserted.
    pub async fn insert_signing_key(&self, key: &SigningKeyRow) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "INSERT INTO signing_keys \
             (kid, alg, state, public_jwk, private_jwe, created_at, activates_at, retired_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL) ON CONFLICT DO NOTHING",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.state)
        .bind(&key.public_jwk)
        .bind(&key.private_jwe)
        .bind(key.created_at)
        .bind(key.activates_at)
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Once the `next` key of `alg` is due, it becomes the active key and the active one
    /// retires, in one transaction. Returns whether anything changed. Both statements write,
    /// and the first takes SQLite's write lock: a transaction that read first could not
    /// upgrade after another writer's commit (SQLITE_BUSY_SNAPSHOT), whatever the timeout.
    pub async fn promote_signing_key(&self, alg: &str, now: i64) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await?;
        sqlx::query(
            "UPDATE signing_keys SET state = 'retired', retired_at = $1 \
             WHERE alg = $2 AND state = 'active' AND EXISTS (SELECT 1 FROM signing_keys \
             WHERE alg = $2 AND state = 'next' AND activates_at <= $1)",
        )
        .bind(now)
        .bind(alg)
        .execute(&mut *tx)
        .await?;
        let promoted = sqlx::query(
            "UPDATE signing_keys SET state = 'active' \
             WHERE alg = $1 AND state = 'next' AND activates_at <= $2",
        )
        .bind(alg)
        .bind(now)
        .execute(&mut *tx)
        .await;
        match promoted {
            Ok(r) if r.rows_affected() == 1 => {
                tx.commit().await?;
                Ok(true)
            }
            // Nothing due, or another instance promoted it first (or a unique index refused
            // a second active key).
            _ => {
                tx.rollback().await?;
                Ok(false)
            }
        }
    }

    /// Removes keys retired at or before `before`: no token they signed is still valid.
    pub async fn delete_retired_signing_keys(&self, before: i64) -> Result<u64, StoreError> {
        let result =
            sqlx::query("DELETE FROM signing_keys WHERE state = 'retired' AND retired_at <= $1")
                .bind(before)
                .execute(&mut *self.conn().await?)
                .await?;
        Ok(result.rows_affected())
    }
}
