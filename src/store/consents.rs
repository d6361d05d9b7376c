use sqlx::Row;

use super::{Store, StoreError};

impl Store {
    /// The scopes this user has already granted this client (space-separated).
    pub async fn consented_scope(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT scope FROM consents WHERE user_id = $1 AND client_id = $2")
            .bind(user_id)
            .bind(client_id)
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        Ok(row.map(|r| r.try_get("scope")).transpose()?)
    }

    pub async fn save_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO consents (user_id, client_id, scope, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) ON CONFLICT (user_id, client_id) \
             DO UPDATE SET scope = excluded.scope, updated_at = excluded.updated_at",
        )
        .bind(user_id)
        .bind(client_id)
        .bind(scope)
        .bind(now)
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }

    /// Every client the user allowed: (client id, scope, first given, last changed).
    pub async fn consents_of(&self, user_id: &str) -> Result<Vec<ConsentRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT client_id, scope, created_at, updated_at FROM consents \
             WHERE user_id = $1 ORDER BY client_id",
        )
        .bind(user_id)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ConsentRecord {
                    client_id: r.try_get("client_id")?,
                    scope: r.try_get("scope")?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }

    /// Forgets a consent; false when there was none.
    pub async fn delete_consent(&self, user_id: &str, client_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM consents WHERE user_id = $1 AND client_id = $2")
            .bind(user_id)
            .bind(client_id)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// A consent as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentRecord {
    pub client_id: String,
    pub scope: String,
    pub created_at: i64,
    pub updated_at: i64,
}
