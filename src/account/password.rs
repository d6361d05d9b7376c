//! argon2id (m=19456 KiB, t=2, p=1: the crate's defaults, OWASP's first choice), on a
//! blocking thread so a burst of sign-ins cannot stall the async workers, and never more at
//! once than there are cores: each hash holds 19 MiB, so an unbounded burst would hold
//! hundreds of megabytes. A request that cannot get a turn soon is told to come back.

use std::sync::OnceLock;
use std::time::Duration;

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

/// How long a request waits for a hashing turn before it is answered "busy".
const QUEUE_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("password task failed: {0}")]
    Task(String),
    /// Every hashing turn is taken: try again in a moment.
    #[error("too many password checks at once")]
    Busy,
}

/// One hashing turn per core.
fn turns() -> &'static Semaphore {
    static TURNS: OnceLock<Semaphore> = OnceLock::new();
    TURNS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Semaphore::new(cores)
    })
}

/// Runs `work` on a blocking thread once a hashing turn is free.
async fn with_turn<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, PasswordError> + Send + 'static,
) -> Result<T, PasswordError> {
    let permit = tokio::time::timeout(QUEUE_WAIT, turns().acquire())
        .await
        .map_err(|_| PasswordError::Busy)?
        .map_err(|e| PasswordError::Task(e.to_string()))?;
    let result = tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| PasswordError::Task(e.to_string()))?;
    drop(permit);
    result
}

pub async fn hash(password: String) -> Result<String, PasswordError> {
    with_turn(move || hash_now(&password)).await
}

fn hash_now(password: &str) -> Result<String, PasswordError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Checks `password` against `stored`. With no stored hash (unknown user, or an account
/// without a password) it verifies against a dummy hash, so both cases take as long as a
/// wrong password and answer the same.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, PasswordError> {
    with_turn(move || {
        let dummy = dummy_hash();
        let (phc, real) = match stored.as_deref() {
            Some(s) => (s, true),
            None => (dummy, false),
        };
        let parsed = match PasswordHash::new(phc) {
            Ok(p) => p,
            // A corrupt stored hash: spend the same time, then refuse.
            Err(_) => match PasswordHash::new(dummy) {
                Ok(p) => {
                    let _ = Argon2::default().verify_password(password.as_bytes(), &p);
                    return Ok(false);
                }
                Err(e) => return Err(PasswordError::Hash(e.to_string())),
            },
        };
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(ok && real)
    })
    .await
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let random: [u8; 16] = rand::random();
        hash_now(&format!("{random:?}")).unwrap_or_else(|_| {
            // Fixed fallback with the same parameters; never matches a real password.
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
             1hJ0xZmT9o6m9aKfC7u0l0o7Qm1T4dJx2x5c0Rk1mXQ"
                .to_owned()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_hashes_at_once_than_turns() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let running = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..cores * 3)
            .map(|_| {
                let (running, most) = (running.clone(), most.clone());
                tokio::spawn(with_turn(move || {
                    use std::sync::atomic::Ordering::SeqCst;
                    let now = running.fetch_add(1, SeqCst) + 1;
                    most.fetch_max(now, SeqCst);
                    std::thread::sleep(Duration::from_millis(50));
                    running.fetch_sub(1, SeqCst);
                    Ok(())
                }))
            })
            .collect();
        for task in tasks {
            assert!(matches!(task.await, Ok(Ok(()))));
        }
        assert!(most.load(std::sync::atomic::Ordering::SeqCst) <= cores);
    }

    #[tokio::test]
    async fn hashes_with_argon2id_defaults_and_verifies() {
        let phc = hash("correct horse".into()).await.unwrap_or_default();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(
            verify("correct horse".into(), Some(phc.clone()))
                .await
                .unwrap_or(false)
        );
        assert!(
            !verify("wrong horse".into(), Some(phc))
                .await
                .unwrap_or(true)
        );
        assert!(!verify("anything".into(), None).await.unwrap_or(true));
        assert!(
            !verify("anything".into(), Some("garbage".into()))
                .await
                .unwrap_or(true)
        );
    }
}
