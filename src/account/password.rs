//! argon2id (m=19456 KiB, t=2, p=1: the crate's defaults, OWASP's first choice), always on a
//! blocking thread so a burst of sign-ins cannot stall the async workers.

use std::sync::OnceLock;

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("password task failed: {0}")]
    Task(String),
}

pub async fn hash(password: String) -> Result<String, PasswordError> {
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(|e| PasswordError::Task(e.to_string()))?
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
    tokio::task::spawn_blocking(move || {
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
    .map_err(|e| PasswordError::Task(e.to_string()))?
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
