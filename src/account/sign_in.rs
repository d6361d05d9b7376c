//! Signing in: who is signed in on a browser, and the password check that gets them there.

use std::net::IpAddr;

use crate::store::{Store, StoreError, UserRecord};

use super::password::{self, PasswordError};
use super::{Accounts, throttle};

pub use crate::oauth::sign_in::SignIn;

/// How recent a sign-in is, as the account's rules for asking again see it.
impl SignIn {
    /// Whether it is recent enough to stand for the person when their account has neither
    /// password nor authenticator app (`account::reauth`).
    pub fn is_recent(&self, now: i64) -> bool {
        super::reauth::is_recent(self, now)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordSignInError {
    /// Too many failures for this account or address: try again after this many seconds.
    #[error("throttled for {0} s")]
    Throttled(i64),
    /// Unknown user, disabled account or wrong password: deliberately one answer.
    #[error("invalid credentials")]
    Invalid,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Password(#[from] PasswordError),
}

impl Accounts<'_> {
    /// Checks a username (or email) and password, throttled per account and per address.
    /// Unknown user, disabled account and wrong password look the same and take as long.
    pub async fn sign_in_with_password(
        &self,
        login: &str,
        password: String,
        ip: Option<IpAddr>,
        now: i64,
    ) -> Result<SignIn, PasswordSignInError> {
        let login = login.trim();
        throttle::begin_sign_in(self.store, login, ip, now)
            .await?
            .map_err(PasswordSignInError::Throttled)?;
        // A login no account can have is looked up nowhere (and still costs a hash below).
        let user = if login.is_empty() || login.len() > 320 || login.chars().any(char::is_control) {
            None
        } else {
            self.store.user_by_login(login).await?
        };
        let stored_hash = user
            .as_ref()
            .filter(|u| !u.disabled)
            .and_then(|u| u.password_hash.clone());
        let outdated = stored_hash.as_deref().is_some_and(password::needs_rehash);
        let kept = outdated.then(|| password.clone());
        let ok = password::verify(password, stored_hash).await?;
        match (ok, user) {
            (true, Some(user)) => {
                throttle::sign_in_succeeded(self.store, login, ip).await?;
                if let Some(password) = kept {
                    self.upgrade_hash(&user.id, password, now).await;
                }
                Ok(SignIn::password(user.id, now))
            }
            _ => Err(PasswordSignInError::Invalid),
        }
    }

    /// Stores a hash with today's parameters for a password just proved. A failure only means
    /// the upgrade waits for the next sign-in.
    async fn upgrade_hash(&self, user_id: &str, password: String, now: i64) {
        let failed = match password::hash(password).await {
            Ok(hash) => self
                .store
                .set_password_hash(user_id, &hash, now)
                .await
                .err()
                .map(|e| e.to_string()),
            Err(e) => Some(e.to_string()),
        };
        if let Some(error) = failed {
            tracing::warn!(%error, user_id, "password hash not upgraded");
        }
    }
}

impl Accounts<'_> {
    /// The account, if it exists and is not disabled.
    pub async fn active_user(&self, user_id: &str) -> Result<Option<UserRecord>, StoreError> {
        active_user(self.store, user_id).await
    }
}

/// The account behind a sign-in, if it still exists and is not disabled.
pub async fn active_user(store: &Store, user_id: &str) -> Result<Option<UserRecord>, StoreError> {
    Ok(store.user(user_id).await?.filter(|u| !u.disabled))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::reauth::RECENT_SIGN_IN;

    #[test]
    fn a_second_factor_adds_its_methods_keeps_the_session_and_renews_auth_time() {
        let first = SignIn::password("u1".into(), 100);
        let both = first.clone().with_second_factor(&["otp".to_owned()], 130);
        assert_eq!(both.amr, ["pwd", "otp", "mfa"]);
        assert_eq!(
            (both.sid.as_str(), both.auth_time),
            (first.sid.as_str(), 130)
        );
        assert!(both.is_recent(130 + RECENT_SIGN_IN));
        assert!(!both.is_recent(131 + RECENT_SIGN_IN));
        assert!(both.gave_own_second_factor());
    }

    #[test]
    fn an_upstream_mfa_is_not_the_accounts_own_second_factor() {
        let upstream = SignIn::federated("u1".into(), "google", true, 100);
        assert!(!upstream.gave_own_second_factor());
        let completed = upstream.with_second_factor(&["otp".to_owned()], 130);
        assert!(completed.gave_own_second_factor());
        let passkey = SignIn::passkey(
            "u1".into(),
            vec!["hwk".into(), "user".into(), "mfa".into()],
            1,
        );
        assert!(passkey.gave_own_second_factor());
        assert!(!SignIn::password("u1".into(), 1).gave_own_second_factor());
    }
}
