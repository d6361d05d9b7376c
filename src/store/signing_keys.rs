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
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
    }

    /// Inserts an active key unless another instance already made one for this algorithm
    /// (a partial unique index allows one active key per alg). Returns whether it was inserted.
    pub async fn insert_active_signing_key(&self, key: &SigningKeyRow) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "INSERT INTO signing_keys \
             (kid, alg, state, public_jwk, private_jwe, created_at, activates_at, retired_at) \
             VALUES ($1, $2, 'active', $3, $4, $5, $6, NULL) ON CONFLICT DO NOTHING",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.public_jwk)
        .bind(&key.private_jwe)
        .bind(key.created_at)
        .bind(key.activates_at)
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }
}
