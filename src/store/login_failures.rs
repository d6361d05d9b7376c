use sqlx::Row;

use super::{Store, StoreError};

/// How a failure count turns into a lock-out.
#[derive(Clone, Copy, Debug)]
pub struct LockPolicy {
    /// Failures allowed in a window before the first lock.
    pub free: i64,
    pub window: i64,
    /// The first lock; each further failure doubles it, up to `max_lock`.
    pub base_lock: i64,
    pub max_lock: i64,
}

/// Failed sign-ins, keyed by subject (`account:…`, `ip:…`), shared by all instances.
impl Store {
    /// Seconds until every one of `subjects` may try again (0: go ahead).
    pub async fn login_wait(&self, subjects: &[&str], now: i64) -> Result<i64, StoreError> {
        let mut wait = 0;
        for subject in subjects {
            let row = sqlx::query("SELECT locked_until FROM login_failures WHERE subject = $1")
                .bind(subject)
                .fetch_optional(&mut *self.conn().await?)
                .await?;
            if let Some(row) = row {
                wait = wait.max(row.try_get::<i64, _>("locked_until")? - now);
            }
        }
        Ok(wait.max(0))
    }

    /// Counts a failure (atomically, across instances) and locks the subject once the policy
    /// says so. Returns the count in the current window, this failure included, so a caller
    /// that must not let two concurrent requests both pass can judge by it.
    pub async fn count_login_failure(
        &self,
        subject: &str,
        policy: &LockPolicy,
        now: i64,
    ) -> Result<i64, StoreError> {
        // A window that has passed, with no lock running, starts again at one.
        let row = sqlx::query(
            "INSERT INTO login_failures (subject, count, first_at, locked_until) \
             VALUES ($1, 1, $2, 0) \
             ON CONFLICT (subject) DO UPDATE SET \
             count = CASE WHEN login_failures.first_at <= $3 AND login_failures.locked_until <= $2 \
                     THEN 1 ELSE login_failures.count + 1 END, \
             first_at = CASE WHEN login_failures.first_at <= $3 AND login_failures.locked_until <= $2 \
                     THEN $2 ELSE login_failures.first_at END \
             RETURNING count",
        )
        .bind(subject)
        .bind(now)
        .bind(now - policy.window)
        .fetch_one(&mut *self.conn().await?)
        .await?;
        let count: i64 = row.try_get("count")?;
        if count < policy.free {
            return Ok(count);
        }
        let doublings = (count - policy.free).min(10);
        let until = now + (policy.base_lock << doublings).min(policy.max_lock);
        sqlx::query(
            "UPDATE login_failures SET locked_until = \
             CASE WHEN locked_until > $2 THEN locked_until ELSE $2 END WHERE subject = $1",
        )
        .bind(subject)
        .bind(until)
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(count)
    }

    /// Forgets a subject's failures (a successful sign-in to the account).
    pub async fn forget_login_failures(&self, subject: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_failures WHERE subject = $1")
            .bind(subject)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }

    /// Takes back one counted failure (it was a success after all); below `free` the lock
    /// it may have caused goes too.
    pub async fn take_back_login_failure(
        &self,
        subject: &str,
        free: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE login_failures SET count = count - 1, \
             locked_until = CASE WHEN count - 1 < $2 THEN 0 ELSE locked_until END \
             WHERE subject = $1 AND count > 0",
        )
        .bind(subject)
        .bind(free)
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }
}
