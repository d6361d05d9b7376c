//! What a signed-in person changes on their own account: name, password, sessions, the apps
//! they allowed, the account itself. Anything that could lock them out or hand the account to
//! someone else takes a `Reauthenticated` proof (`account::reauth`): the person showed again,
//! just now, that the account is theirs.

use std::net::IpAddr;

use crate::store::{StoreError, UserRecord};

use super::Accounts;
use super::password::{self, PasswordError};
use super::reauth::Reauthenticated;
use super::sign_in::PasswordSignInError;
use super::user::{self, InvalidUser};

#[derive(Debug, thiserror::Error)]
pub enum SelfServiceError {
    #[error("the current password is wrong")]
    WrongPassword,
    #[error("throttled for {0} s")]
    Throttled(i64),
    #[error("not acceptable: {0:?}")]
    Invalid(Vec<InvalidUser>),
    /// The confirmation typed does not match (accounts without a password type their username).
    #[error("the confirmation does not match")]
    NotConfirmed,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] PasswordError),
}

impl From<PasswordSignInError> for SelfServiceError {
    fn from(e: PasswordSignInError) -> Self {
        match e {
            PasswordSignInError::Throttled(s) => Self::Throttled(s),
            PasswordSignInError::Invalid => Self::WrongPassword,
            PasswordSignInError::Store(e) => Self::Store(e),
            PasswordSignInError::Password(e) => Self::Hash(e),
        }
    }
}

impl Accounts<'_> {
    /// The current password, checked as a sign-in would (same throttle, same cost).
    pub async fn confirm_password(
        &self,
        user: &UserRecord,
        password: String,
        ip: IpAddr,
        now: i64,
    ) -> Result<(), SelfServiceError> {
        let signed_in = self
            .sign_in_with_password(&user.username, password, Some(ip), now)
            .await?;
        if signed_in.user_id == user.id {
            Ok(())
        } else {
            Err(SelfServiceError::WrongPassword)
        }
    }

    /// A new password (or a first one, for an account that signed in only through a
    /// provider), its owner having just proved who they are — with the current password,
    /// when the account has one (`reauth`). The account's access ends (`end_access`) but for
    /// this session: whoever had the old password is out, and so is every token issued
    /// before; the person asking stays signed in here.
    pub async fn change_password(
        &self,
        proof: &Reauthenticated,
        new: String,
        this_session: &str,
        now: i64,
        access_token_ttl: i64,
    ) -> Result<u64, SelfServiceError> {
        let user = proof.user();
        let problems = user::password_problems(
            &new,
            &user.username,
            user.email.as_deref().unwrap_or_default(),
        );
        if !problems.is_empty() {
            return Err(SelfServiceError::Invalid(problems));
        }
        let hash = password::hash(new).await?;
        self.store.set_password_hash(&user.id, &hash, now).await?;
        let ended = self
            .end_access_except(&user.id, Some(this_session), now, access_token_ttl)
            .await?;
        Ok(ended.sessions)
    }

    /// The display name (at most `NAME_MAX` characters; empty clears it).
    pub async fn set_own_name(
        &self,
        user: &UserRecord,
        name: &str,
        now: i64,
    ) -> Result<(), SelfServiceError> {
        let name = name.trim();
        if name.chars().count() > user::NAME_MAX || name.chars().any(char::is_control) {
            return Err(SelfServiceError::Invalid(vec![InvalidUser::NameTooLong]));
        }
        let name = Some(name).filter(|n| !n.is_empty());
        self.store
            .set_user_profile(&user.id, name, user.role, now)
            .await?;
        Ok(())
    }

    /// Deletes the account, its owner having just proved who they are; an account without
    /// a password also types its username (the proof there may be only a recent sign-in).
    /// Sessions, tokens, consents and linked identities go with it; its access tokens are
    /// refused because the account is gone (`access_token::validate`).
    pub async fn delete_own(
        &self,
        proof: &Reauthenticated,
        username_typed: &str,
    ) -> Result<(), SelfServiceError> {
        let user = proof.user();
        if user.password_hash.is_none()
            && !username_typed.trim().eq_ignore_ascii_case(&user.username)
        {
            return Err(SelfServiceError::NotConfirmed);
        }
        self.store.delete_sessions_of(&user.id).await?;
        self.store.delete_user(&user.id).await?;
        Ok(())
    }
}

impl Accounts<'_> {
    /// The apps the account allowed (its consents), for the account page.
    pub async fn allowed_apps(
        &self,
        user_id: &str,
    ) -> Result<Vec<crate::store::ConsentRecord>, StoreError> {
        self.store.consents_of(user_id).await
    }
}
