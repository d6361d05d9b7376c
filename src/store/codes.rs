use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, json_list, to_json_list};

/// An authorization code as stored (keyed by the SHA-256 of the code).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeRecord {
    pub code_hash: String,
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub auth_time: i64,
    pub amr: Vec<String>,
    pub sid: Option<String>,
    /// The upstream provider of a federated sign-in.
    pub idp: Option<String>,
    pub grant_id: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// What redeeming a code found.
#[derive(Debug)]
pub enum CodeRedemption {
    /// This request used the code first.
    Redeemed(Box<CodeRecord>),
    /// The code was already used: its tokens must be revoked.
    Replayed {
        grant_id: String,
    },
    Unknown,
}

const COLUMNS: &str = "code_hash, client_id, user_id, redirect_uri, scope, nonce, code_challenge, \
    code_challenge_method, auth_time, amr, sid, idp, grant_id, created_at, expires_at";

fn from_row(row: &AnyRow) -> Result<CodeRecord, StoreError> {
    Ok(CodeRecord {
        code_hash: row.try_get("code_hash")?,
        client_id: row.try_get("client_id")?,
        user_id: row.try_get("user_id")?,
        redirect_uri: row.try_get("redirect_uri")?,
        scope: row.try_get("scope")?,
        nonce: row.try_get("nonce")?,
        code_challenge: row.try_get("code_challenge")?,
        code_challenge_method: row.try_get("code_challenge_method")?,
        auth_time: row.try_get("auth_time")?,
        amr: json_list(&row.try_get::<String, _>("amr")?)?,
        sid: row.try_get("sid")?,
        idp: row.try_get("idp")?,
        grant_id: row.try_get("grant_id")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

impl Store {
    pub async fn insert_code(&self, c: &CodeRecord) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO authorization_codes ({COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        ))
        .bind(&c.code_hash)
        .bind(&c.client_id)
        .bind(&c.user_id)
        .bind(&c.redirect_uri)
        .bind(&c.scope)
        .bind(&c.nonce)
        .bind(&c.code_challenge)
        .bind(&c.code_challenge_method)
        .bind(c.auth_time)
        .bind(to_json_list(&c.amr))
        .bind(&c.sid)
        .bind(&c.idp)
        .bind(&c.grant_id)
        .bind(c.created_at)
        .bind(c.expires_at)
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }

    /// Marks the code used, atomically: of any number of concurrent calls exactly one gets
    /// `Redeemed`. Expiry and bindings are checked by the caller on the returned record.
    pub async fn redeem_code(
        &self,
        code_hash: &str,
        now: i64,
    ) -> Result<CodeRedemption, StoreError> {
        let row = sqlx::query(&format!(
            "UPDATE authorization_codes SET used_at = $1 \
             WHERE code_hash = $2 AND used_at IS NULL RETURNING {COLUMNS}"
        ))
        .bind(now)
        .bind(code_hash)
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        if let Some(row) = row {
            return Ok(CodeRedemption::Redeemed(Box::new(from_row(&row)?)));
        }
        let used = sqlx::query("SELECT grant_id FROM authorization_codes WHERE code_hash = $1")
            .bind(code_hash)
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        Ok(match used {
            Some(row) => CodeRedemption::Replayed {
                grant_id: row.try_get("grant_id")?,
            },
            None => CodeRedemption::Unknown,
        })
    }
}
