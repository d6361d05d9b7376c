//! Asking again who this is, before a change to how the account is entered (its address, its
//! password, a linked provider, a second factor, a passkey) or its deletion. A session cookie
//! alone is never enough: a borrowed or left-open browser must not be able to leave itself a
//! way back in.
//!
//! The rule, in one place: an account with a password gives it; else one with an
//! authenticator app gives a code (or a recovery code); else — an account that signs in only
//! through a provider or a passkey — the sign-in of this session must be at most
//! `RECENT_SIGN_IN` old. The answer is a `Reauthenticated` value: only `Reauth::check` makes
//! one, and every domain function that makes such a change takes it.

use std::net::IpAddr;

use crate::store::{StoreError, UserRecord};

use super::Accounts;
use super::password::PasswordError;
use super::second_factor::{SecondFactorError, SecondFactors};
use super::self_service::SelfServiceError;
use super::sign_in::SignIn;

/// How old a sign-in may be to stand for the person when the account has neither password
/// nor authenticator app.
pub const RECENT_SIGN_IN: i64 = 5 * 60;

/// What the person typed to show who they are; either may be empty.
#[derive(Clone, Default)]
pub struct Offered {
    pub password: String,
    /// A code of the authenticator app, or a recovery code.
    pub code: String,
}

impl std::fmt::Debug for Offered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Offered { .. }")
    }
}

/// How the person showed it again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProvenBy {
    Password,
    SecondFactor,
    RecentSignIn,
}

/// Proof that the person at this session showed, just now, that the account is theirs.
/// It cannot be built outside this module: the changes that need it cannot happen on a
/// session cookie alone.
#[derive(Debug)]
pub struct Reauthenticated {
    user: UserRecord,
    by: ProvenBy,
}

impl Reauthenticated {
    /// The account, as it was when the person proved it.
    pub fn user(&self) -> &UserRecord {
        &self.user
    }

    pub fn user_id(&self) -> &str {
        &self.user.id
    }

    pub fn by(&self) -> ProvenBy {
        self.by
    }
}

/// What the person must give, for the pages to ask for the right thing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asks {
    Password,
    Code,
    RecentSignIn,
}

#[derive(Debug, thiserror::Error)]
pub enum ReauthError {
    #[error("the current password is wrong")]
    WrongPassword,
    #[error("the code is wrong or used")]
    WrongCode,
    /// Neither password nor authenticator, and the sign-in is older than `RECENT_SIGN_IN`.
    #[error("sign in again first")]
    SignInAgain,
    #[error("throttled for {0} s")]
    Throttled(i64),
    #[error("stored secret cannot be opened: {0}")]
    Sealed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] PasswordError),
}

impl From<SelfServiceError> for ReauthError {
    fn from(e: SelfServiceError) -> Self {
        match e {
            SelfServiceError::Throttled(s) => Self::Throttled(s),
            SelfServiceError::Store(e) => Self::Store(e),
            SelfServiceError::Hash(e) => Self::Hash(e),
            _ => Self::WrongPassword,
        }
    }
}

impl From<SecondFactorError> for ReauthError {
    fn from(e: SecondFactorError) -> Self {
        match e {
            SecondFactorError::Throttled(s) => Self::Throttled(s),
            SecondFactorError::Store(e) => Self::Store(e),
            SecondFactorError::Sealed(e) => Self::Sealed(e),
            SecondFactorError::WrongCode | SecondFactorError::EnrolmentExpired => Self::WrongCode,
        }
    }
}

/// What asking again needs: the password check (throttled as a sign-in) and the second
/// factors.
pub struct Reauth<'a> {
    pub accounts: Accounts<'a>,
    pub second_factors: SecondFactors<'a>,
}

impl Reauth<'_> {
    /// What `user` must give (see the module's rule).
    pub async fn asks(&self, user: &UserRecord) -> Result<Asks, StoreError> {
        Ok(if user.password_hash.is_some() {
            Asks::Password
        } else if self.second_factors.has_authenticator(&user.id).await? {
            Asks::Code
        } else {
            Asks::RecentSignIn
        })
    }

    /// Checks what the person at `sign_in` gave for `user`. Wrong passwords and codes count
    /// against the account like a sign-in's.
    pub async fn check(
        &self,
        user: &UserRecord,
        sign_in: &SignIn,
        offered: Offered,
        ip: IpAddr,
        now: i64,
    ) -> Result<Reauthenticated, ReauthError> {
        if sign_in.user_id != user.id {
            return Err(ReauthError::SignInAgain);
        }
        let by = match self.asks(user).await? {
            Asks::Password => {
                self.accounts
                    .confirm_password(user, offered.password, ip, now)
                    .await?;
                ProvenBy::Password
            }
            Asks::Code => {
                self.second_factors
                    .check(&user.id, &offered.code, ip, now)
                    .await?;
                ProvenBy::SecondFactor
            }
            Asks::RecentSignIn if is_recent(sign_in, now) => ProvenBy::RecentSignIn,
            Asks::RecentSignIn => return Err(ReauthError::SignInAgain),
        };
        Ok(Reauthenticated {
            user: user.clone(),
            by,
        })
    }
}

/// Whether `sign_in` happened within `RECENT_SIGN_IN` of `now` (and not in the future).
pub fn is_recent(sign_in: &SignIn, now: i64) -> bool {
    (0..=RECENT_SIGN_IN).contains(&(now - sign_in.auth_time))
}

#[cfg(test)]
impl Reauthenticated {
    /// A proof for unit tests of the functions that take one.
    pub fn for_tests(user: UserRecord) -> Self {
        Self {
            user,
            by: ProvenBy::Password,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sign_in_is_recent_for_five_minutes_only() {
        let sign_in = SignIn::password("u1".into(), 1_000);
        assert!(is_recent(&sign_in, 1_000));
        assert!(is_recent(&sign_in, 1_000 + RECENT_SIGN_IN));
        assert!(!is_recent(&sign_in, 1_001 + RECENT_SIGN_IN));
        assert!(
            !is_recent(&sign_in, 999),
            "a sign-in from the future is not recent"
        );
    }
}
