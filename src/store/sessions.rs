use sqlx::Row;

use super::{Store, StoreError};

/// Browser sessions, keyed by a hash of the session id.
impl Store {
    pub async fn load_session(
        &self,
        id_hash: &str,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT data FROM sessions WHERE id_hash = $1 AND expires_at > $2")
            .bind(id_hash)
            .bind(now)
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        Ok(row.map(|r| r.try_get("data")).transpose()?)
    }

    pub async fn save_session(
        &self,
        id_hash: &str,
        data: &str,
        expires_at: i64,
        user_id: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, data, expires_at, user_id) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id_hash) DO UPDATE SET data = excluded.data, \
             expires_at = excluded.expires_at, user_id = excluded.user_id",
        )
        .bind(id_hash)
        .bind(data)
        .bind(expires_at)
        .bind(user_id)
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }

    /// Inserts only if the id is new: returns false on a collision.
    pub async fn create_session(
        &self,
        id_hash: &str,
        data: &str,
        expires_at: i64,
        user_id: Option<&str>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "INSERT INTO sessions (id_hash, data, expires_at, user_id) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(id_hash)
        .bind(data)
        .bind(expires_at)
        .bind(user_id)
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    pub async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }

    /// A user's browser sessions: (hash of the session id, expiry), soonest to expire first.
    pub async fn sessions_of(&self, user_id: &str) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id_hash, expires_at FROM sessions WHERE user_id = $1 ORDER BY expires_at",
        )
        .bind(user_id)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id_hash")?, r.try_get("expires_at")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Ends every browser session of a user; returns how many.
    pub async fn delete_sessions_of(&self, user_id: &str) -> Result<u64, StoreError> {
        let result = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(result.rows_affected())
    }

    pub async fn delete_expired_sessions(&self, now: i64) -> Result<u64, StoreError> {
        let result = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(result.rows_affected())
    }
}

/// Which clients an OIDC session (`sid`) has signed in to, for back-channel logout.
impl Store {
    pub async fn record_session_client(
        &self,
        sid: &str,
        client_id: &str,
        user_id: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO session_clients (sid, client_id, user_id, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(sid)
        .bind(client_id)
        .bind(user_id)
        .bind(now)
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }

    /// The clients of `sid`, forgotten as they are returned (each is told of a logout once).
    pub async fn take_session_clients(&self, sid: &str) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("DELETE FROM session_clients WHERE sid = $1 RETURNING client_id")
            .bind(sid)
            .fetch_all(&mut *self.conn().await?)
            .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get("client_id"))
            .collect::<Result<_, _>>()?)
    }
}
