use sqlx::Row;

use super::{Store, StoreError};

/// A stored browser session: the hash of its id, its expiry, and its record as JSON.
#[derive(Clone, Debug)]
pub struct SessionRow {
    pub id_hash: String,
    pub expires_at: i64,
    pub data: String,
}

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

    /// Updates a session that exists. A session ended meanwhile (signed out elsewhere, its
    /// password reset, its account disabled) stays ended: a request that loaded it before
    /// cannot write it back.
    pub async fn save_session(
        &self,
        id_hash: &str,
        data: &str,
        expires_at: i64,
        user_id: Option<&str>,
        anonymous_from: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sessions SET data = $2, expires_at = $3, user_id = $4, anonymous_from = $5 \
             WHERE id_hash = $1",
        )
        .bind(id_hash)
        .bind(data)
        .bind(expires_at)
        .bind(user_id)
        .bind(anonymous_from)
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }

    /// Inserts only if the id is new: returns false on a collision. A session nobody has
    /// signed in to names the address that made it with `anonymous`'s key; that address's
    /// anonymous sessions beyond `anonymous`'s bound are ended, least recently used first.
    pub async fn create_session(
        &self,
        id_hash: &str,
        data: &str,
        expires_at: i64,
        user_id: Option<&str>,
        anonymous: Option<(&str, i64)>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let result = sqlx::query(
            "INSERT INTO sessions (id_hash, data, expires_at, user_id, anonymous_from) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(id_hash)
        .bind(data)
        .bind(expires_at)
        .bind(user_id)
        .bind(anonymous.map(|(from, _)| from))
        .execute(&mut *conn)
        .await?;
        if let Some((from, keep)) = anonymous {
            sqlx::query(
                "DELETE FROM sessions WHERE anonymous_from = $1 AND user_id IS NULL \
                 AND id_hash NOT IN (SELECT id_hash FROM sessions \
                   WHERE anonymous_from = $1 AND user_id IS NULL \
                   ORDER BY expires_at DESC, id_hash LIMIT $2)",
            )
            .bind(from)
            .bind(keep)
            .execute(&mut *conn)
            .await?;
        }
        Ok(result.rows_affected() == 1)
    }

    pub async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }

    /// A user's browser sessions, soonest to expire first.
    pub async fn sessions_of(&self, user_id: &str) -> Result<Vec<SessionRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id_hash, expires_at, data FROM sessions WHERE user_id = $1 ORDER BY expires_at",
        )
        .bind(user_id)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SessionRow {
                    id_hash: r.try_get("id_hash")?,
                    expires_at: r.try_get("expires_at")?,
                    data: r.try_get("data")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Ends one session of a user (only theirs); returns whether there was one.
    pub async fn delete_session_of(
        &self,
        user_id: &str,
        id_hash: &str,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash = $2")
            .bind(user_id)
            .bind(id_hash)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Ends every session of a user but `keep`; returns how many.
    pub async fn delete_sessions_of_except(
        &self,
        user_id: &str,
        keep: &str,
    ) -> Result<u64, StoreError> {
        let result = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2")
            .bind(user_id)
            .bind(keep)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(result.rows_affected())
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
