use sqlx::Acquire;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, json_list, to_json_list};

/// A refresh token as stored (keyed by the SHA-256 of the token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    pub token_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    pub auth_time: i64,
    pub amr: Vec<String>,
    pub sid: Option<String>,
    /// The upstream provider of a federated sign-in.
    pub idp: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub family_expires_at: i64,
}

/// What presenting a refresh token found.
#[derive(Debug)]
pub enum Rotation {
    /// The token was current: it is now rotated and its successor stored. `presented` is the
    /// token as it was (its grant, scope and user carry over to the successor).
    Rotated { presented: RefreshTokenRecord },
    /// The token had already been rotated (outside any grace window): a sign of theft.
    Reused { grant_id: String },
    /// Unknown, revoked, expired or another client's.
    Refused,
}

const COLUMNS: &str = "token_hash, grant_id, client_id, user_id, scope, auth_time, amr, sid, \
    idp, created_at, expires_at, family_expires_at";

fn from_row(row: &AnyRow) -> Result<RefreshTokenRecord, StoreError> {
    Ok(RefreshTokenRecord {
        token_hash: row.try_get("token_hash")?,
        grant_id: row.try_get("grant_id")?,
        client_id: row.try_get("client_id")?,
        user_id: row.try_get("user_id")?,
        scope: row.try_get("scope")?,
        auth_time: row.try_get("auth_time")?,
        amr: json_list(&row.try_get::<String, _>("amr")?)?,
        sid: row.try_get("sid")?,
        idp: row.try_get("idp")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        family_expires_at: row.try_get("family_expires_at")?,
    })
}

/// Refresh tokens: opaque, stored as SHA-256, rotated on every use. All tokens of one
/// authorization share its grant id (the "family").
impl Store {
    pub async fn insert_refresh_token(&self, t: &RefreshTokenRecord) -> Result<(), StoreError> {
        insert(t).execute(&mut *self.conn().await?).await?;
        Ok(())
    }

    /// A token that is live right now: not rotated, not revoked, not expired.
    pub async fn live_refresh_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM refresh_tokens WHERE token_hash = $1 AND rotated_at IS NULL \
             AND revoked_at IS NULL AND expires_at > $2 AND family_expires_at > $2"
        ))
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Any token by hash, whatever its state.
    pub async fn refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM refresh_tokens WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Rotates `old_hash` (presented by `client_id`) atomically: of concurrent presentations
    /// of one token exactly one rotates it. The old token's retirement and its successor —
    /// `successor_hash`, same grant, expiring at `successor_expires_at` or the family's end,
    /// whichever is first — commit together. On PostgreSQL that is one statement.
    ///
    /// Within `grace` seconds of its rotation a token may be presented again (a client whose
    /// answer was lost retries), but only while the successor it got is unused; the unused
    /// successor is then revoked, so a family never has two live tokens.
    pub async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        client_id: &str,
        successor_hash: &str,
        successor_expires_at: i64,
        now: i64,
        grace: i64,
    ) -> Result<Rotation, StoreError> {
        // "Successor unused": the token this one was replaced by has not been rotated.
        // Tokens rotated before `replaced_by` existed count as reused: the safe side.
        const RETIRE: &str = "UPDATE refresh_tokens \
             SET rotated_at = COALESCE(rotated_at, $1), replaced_by = $5 \
             WHERE token_hash = $2 AND client_id = $3 AND revoked_at IS NULL \
             AND expires_at > $1 AND family_expires_at > $1 \
             AND (rotated_at IS NULL OR ($4 > 0 AND rotated_at >= $1 - $4 \
               AND replaced_by IS NOT NULL \
               AND NOT EXISTS (SELECT 1 FROM refresh_tokens AS next_token \
                 WHERE next_token.token_hash = refresh_tokens.replaced_by \
                 AND next_token.rotated_at IS NOT NULL)))";
        // With a grace window, the successor a retry replaces.
        const ORPHANS: &str = "UPDATE refresh_tokens SET revoked_at = $1 \
             WHERE $4 > 0 AND grant_id = {grant} AND token_hash <> $2 \
             AND rotated_at IS NULL AND revoked_at IS NULL";
        let presented = match self.backend() {
            super::Backend::Postgres => {
                let row = sqlx::query(&format!(
                    "WITH old AS ({RETIRE} RETURNING {COLUMNS}), \
                     orphans AS ({}), \
                     successor AS (INSERT INTO refresh_tokens ({COLUMNS}) \
                       SELECT $5, grant_id, client_id, user_id, scope, auth_time, amr, sid, idp, \
                       $1, LEAST($6, family_expires_at), family_expires_at FROM old) \
                     SELECT {COLUMNS} FROM old",
                    ORPHANS.replace("{grant}", "(SELECT grant_id FROM old)")
                ))
                .bind(now)
                .bind(old_hash)
                .bind(client_id)
                .bind(grace)
                .bind(successor_hash)
                .bind(successor_expires_at)
                .fetch_optional(&mut *self.conn().await?)
                .await?;
                row.as_ref().map(from_row).transpose()?
            }
            // SQLite has no data-modifying CTEs: the same two steps in one transaction.
            super::Backend::Sqlite => {
                let mut conn = self.conn().await?;
                let mut tx = conn.begin().await?;
                let row = sqlx::query(&format!("{RETIRE} RETURNING {COLUMNS}"))
                    .bind(now)
                    .bind(old_hash)
                    .bind(client_id)
                    .bind(grace)
                    .bind(successor_hash)
                    .fetch_optional(&mut *tx)
                    .await?;
                match row.as_ref().map(from_row).transpose()? {
                    Some(old) => {
                        sqlx::query(&ORPHANS.replace("{grant}", "$3"))
                            .bind(now)
                            .bind(old_hash)
                            .bind(&old.grant_id)
                            .bind(grace)
                            .execute(&mut *tx)
                            .await?;
                        let successor = RefreshTokenRecord {
                            token_hash: successor_hash.to_owned(),
                            created_at: now,
                            expires_at: successor_expires_at.min(old.family_expires_at),
                            ..old.clone()
                        };
                        insert(&successor).execute(&mut *tx).await?;
                        tx.commit().await?;
                        Some(old)
                    }
                    None => {
                        tx.rollback().await?;
                        None
                    }
                }
            }
        };
        if let Some(presented) = presented {
            return Ok(Rotation::Rotated { presented });
        }
        let row = sqlx::query(
            "SELECT grant_id, client_id, rotated_at, revoked_at FROM refresh_tokens WHERE token_hash = $1",
        )
        .bind(old_hash)
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        let Some(row) = row else {
            return Ok(Rotation::Refused);
        };
        let rotated_at: Option<i64> = row.try_get("rotated_at")?;
        let revoked_at: Option<i64> = row.try_get("revoked_at")?;
        let owner: String = row.try_get("client_id")?;
        Ok(match (rotated_at, revoked_at) {
            (Some(_), None) if owner == client_id => Rotation::Reused {
                grant_id: row.try_get("grant_id")?,
            },
            _ => Rotation::Refused,
        })
    }

    /// Active (unrevoked, unexpired) refresh tokens of a grant, for tests and diagnostics.
    pub async fn live_refresh_tokens(&self, grant_id: &str, now: i64) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM refresh_tokens \
             WHERE grant_id = $1 AND revoked_at IS NULL AND rotated_at IS NULL AND expires_at > $2",
        )
        .bind(grant_id)
        .bind(now)
        .fetch_one(&mut *self.conn().await?)
        .await?;
        Ok(row.try_get("n")?)
    }
}

fn insert(
    t: &RefreshTokenRecord,
) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, grant_id, client_id, user_id, scope, auth_time, \
         amr, sid, idp, created_at, expires_at, family_expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&t.token_hash)
    .bind(&t.grant_id)
    .bind(&t.client_id)
    .bind(&t.user_id)
    .bind(&t.scope)
    .bind(t.auth_time)
    .bind(to_json_list(&t.amr))
    .bind(&t.sid)
    .bind(&t.idp)
    .bind(t.created_at)
    .bind(t.expires_at)
    .bind(t.family_expires_at)
}
