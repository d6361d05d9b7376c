//! Deleting what has expired, in small batches so no statement holds locks for long. On
//! PostgreSQL one instance at a time does it (an advisory lock); SQLite has one writer anyway.

use std::time::Duration;

use sqlx::{Connection, Row};

use super::{Backend, Store, StoreError};

/// Rows per DELETE.
const BATCH: i64 = 500;
/// Batches per table per run: a backlog is worked off over several runs.
const MAX_BATCHES: usize = 200;
/// The advisory lock's key: "munjigi housekeeping".
const LOCK_KEY: i64 = 0x6d75_6e6a_6967_6931;

/// How many rows each run removed, for the log.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Purged {
    pub sessions: u64,
    pub codes: u64,
    pub refresh_tokens: u64,
    pub revoked_grants: u64,
    pub revoked_access_tokens: u64,
    pub session_clients: u64,
    pub login_failures: u64,
    pub audit_events: u64,
    pub account_tokens: u64,
}

impl Purged {
    pub fn total(&self) -> u64 {
        self.sessions
            + self.codes
            + self.refresh_tokens
            + self.revoked_grants
            + self.revoked_access_tokens
            + self.session_clients
            + self.login_failures
            + self.audit_events
            + self.account_tokens
    }
}

/// What "expired" means for each table, in unix seconds.
pub struct Cutoffs {
    /// Sessions are stamped by the system clock (tower-sessions).
    pub sessions_before: i64,
    /// Used or not, a code is useless after its expiry; kept a while longer so a late replay
    /// is still recognised and revokes what the code produced.
    pub codes_before: i64,
    /// A refresh-token family past its absolute lifetime, or revoked long enough ago.
    pub families_before: i64,
    pub revocations_before: i64,
    /// A sid cannot outlive the absolute session lifetime.
    pub session_clients_before: i64,
    /// Sign-in failures whose window and lock have both passed.
    pub login_failures_before: i64,
    /// Audit events older than the retention (`i64::MIN`: kept).
    pub audit_events_before: i64,
    /// Mailed links past their expiry, used or not.
    pub account_tokens_before: i64,
}

/// The DELETEs: `{key}` rows of `{table}` matching `{condition}` (with `$1` the cutoff), a
/// batch at a time. Written with a sub-select so both backends accept them.
const PURGES: [(&str, &str, &str); 9] = [
    ("sessions", "id_hash", "expires_at <= $1"),
    ("authorization_codes", "code_hash", "expires_at <= $1"),
    (
        "refresh_tokens",
        "token_hash",
        "family_expires_at <= $1 OR (revoked_at IS NOT NULL AND revoked_at <= $1)",
    ),
    ("revoked_grants", "grant_id", "expires_at <= $1"),
    ("revoked_access_tokens", "jti", "expires_at <= $1"),
    (
        "session_clients",
        "sid || ' ' || client_id",
        "created_at <= $1",
    ),
    (
        "login_failures",
        "subject",
        "first_at <= $1 AND locked_until <= $1",
    ),
    ("audit_events", "id", "at <= $1"),
    ("account_tokens", "token_hash", "expires_at <= $1"),
];

impl Store {
    /// Removes expired rows from every table that grows; `None` when another instance is
    /// doing it right now.
    pub async fn purge_expired(&self, cutoffs: &Cutoffs) -> Result<Option<Purged>, StoreError> {
        let mut lock = None;
        if self.backend() == Backend::Postgres {
            let mut conn = self.conn().await?;
            let row = sqlx::query("SELECT pg_try_advisory_lock($1) AS locked")
                .bind(LOCK_KEY)
                .fetch_one(&mut *conn)
                .await?;
            let locked: bool = row.try_get("locked")?;
            if !locked {
                return Ok(None);
            }
            lock = Some(conn);
        }
        let result = self.purge_all(cutoffs).await;
        if let Some(mut conn) = lock {
            let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(LOCK_KEY)
                .execute(&mut *conn)
                .await;
            if unlocked.is_err() {
                // The lock goes with the connection: close it rather than return it locked.
                let _ = conn.detach().close().await;
            }
        }
        result.map(Some)
    }

    async fn purge_all(&self, c: &Cutoffs) -> Result<Purged, StoreError> {
        let cutoffs = [
            c.sessions_before,
            c.codes_before,
            c.families_before,
            c.revocations_before,
            c.revocations_before,
            c.session_clients_before,
            c.login_failures_before,
            c.audit_events_before,
            c.account_tokens_before,
        ];
        let mut counts = [0u64; 9];
        for (i, ((table, key, condition), cutoff)) in PURGES.iter().zip(cutoffs).enumerate() {
            counts[i] = self.purge_table(table, key, condition, cutoff).await?;
        }
        Ok(Purged {
            sessions: counts[0],
            codes: counts[1],
            refresh_tokens: counts[2],
            revoked_grants: counts[3],
            revoked_access_tokens: counts[4],
            session_clients: counts[5],
            login_failures: counts[6],
            audit_events: counts[7],
            account_tokens: counts[8],
        })
    }

    async fn purge_table(
        &self,
        table: &str,
        key: &str,
        condition: &str,
        cutoff: i64,
    ) -> Result<u64, StoreError> {
        let sql = format!(
            "DELETE FROM {table} WHERE {key} IN \
             (SELECT {key} FROM {table} WHERE {condition} LIMIT {BATCH})"
        );
        let mut total = 0;
        for _ in 0..MAX_BATCHES {
            let done = sqlx::query(&sql)
                .bind(cutoff)
                .execute(&mut *self.conn().await?)
                .await?;
            total += done.rows_affected();
            if done.rows_affected() < BATCH as u64 {
                break;
            }
            // Let other writers in between batches.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(total)
    }
}
