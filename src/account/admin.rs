//! What an operator does to accounts (the CLI and the admin API): one place for rules such as
//! "disabling an account ends its sessions, refresh-token families and access tokens".

use crate::store::{ConsentRecord, PasskeyRecord, StoreError, UserRecord};

use super::Accounts;
use super::password::{self, PasswordError};
use super::user::{self, InvalidUser, Role};

#[derive(Debug, thiserror::Error)]
pub enum AccountAdminError {
    #[error("There is no account “{0}” (give its id or username).")]
    NoSuchUser(String),
    #[error("The password cannot be used. {}", user::describe(.0))]
    Password(Vec<InvalidUser>),
    #[error("{}", user::describe(.0))]
    Invalid(Vec<InvalidUser>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] PasswordError),
}

/// An account's second factors as an operator sees them (never a secret or a key).
#[derive(Debug)]
pub struct SecondFactors {
    /// When the authenticator app was set up; `None` when it is off.
    pub authenticator_since: Option<i64>,
    pub recovery_codes_left: i64,
    pub passkeys: Vec<PasskeyRecord>,
}

/// What `set_profile` changed: whether the name did, and the role from → to.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ProfileChanges {
    pub name: bool,
    pub role: Option<(Role, Role)>,
}

/// What ending an account's access took.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ended {
    pub sessions: u64,
    pub grants: u64,
}

impl Accounts<'_> {
    /// The account named by id or by username (any case).
    pub async fn find(&self, who: &str) -> Result<UserRecord, AccountAdminError> {
        if let Some(user) = self.store.user(who).await? {
            return Ok(user);
        }
        self.store
            .user_by_username(who)
            .await?
            .ok_or_else(|| AccountAdminError::NoSuchUser(who.to_owned()))
    }

    /// Creates an account (the signup rules apply; `user::create`).
    pub async fn create(
        &self,
        new: user::NewUser,
        now: i64,
    ) -> Result<UserRecord, user::CreateUserError> {
        user::create(self.store, new, now).await
    }

    /// Accounts whose username, email or name contains `q` (any case).
    pub async fn search(&self, q: &str, limit: i64) -> Result<Vec<UserRecord>, StoreError> {
        self.store.search_users(q, limit).await
    }

    /// The account's second factors.
    pub async fn second_factors(&self, who: &str) -> Result<SecondFactors, AccountAdminError> {
        let user = self.find(who).await?;
        let totp = self.store.totp_of(&user.id).await?;
        let recovery_codes_left = match totp {
            Some(_) => self.store.recovery_codes_left(&user.id).await?,
            None => 0,
        };
        Ok(SecondFactors {
            authenticator_since: totp.map(|t| t.created_at),
            recovery_codes_left,
            passkeys: self.store.passkeys_of(&user.id).await?,
        })
    }

    /// The apps the account allowed.
    pub async fn consents(&self, who: &str) -> Result<Vec<ConsentRecord>, AccountAdminError> {
        let user = self.find(who).await?;
        Ok(self.store.consents_of(&user.id).await?)
    }

    /// Ends the account's access: every browser session, every refresh-token family (and its
    /// unused codes), and every access token issued until now — the account's not-before is
    /// raised, and `access_token::validate` refuses older tokens wherever they are presented.
    /// Disabling, deleting, a reset, a password set or changed, second factors reset and
    /// "end all sessions" all come here.
    pub async fn end_access(
        &self,
        user_id: &str,
        now: i64,
        access_token_ttl: i64,
    ) -> Result<Ended, StoreError> {
        self.end_access_except(user_id, None, now, access_token_ttl)
            .await
    }

    /// `end_access`, keeping one browser session (by its id hash): the person asking, who
    /// stays signed in here and signs in to apps afresh.
    pub async fn end_access_except(
        &self,
        user_id: &str,
        keep_session: Option<&str>,
        now: i64,
        access_token_ttl: i64,
    ) -> Result<Ended, StoreError> {
        // Whatever could mint a token goes first (sessions, refresh tokens, unused codes),
        // then the not-before: a token minted meanwhile was read under the old value and is
        // refused with the rest.
        let sessions = match keep_session {
            Some(keep) => self.store.delete_sessions_of_except(user_id, keep).await?,
            None => self.store.delete_sessions_of(user_id).await?,
        };
        let grants = self
            .store
            .revoke_grants_of_user(user_id, now, now + access_token_ttl)
            .await?;
        self.store.raise_access_epoch(user_id).await?;
        Ok(Ended { sessions, grants })
    }

    /// Ends every session of the account and its tokens (`end_access`), for an operator.
    pub async fn end_sessions(
        &self,
        who: &str,
        now: i64,
        access_token_ttl: i64,
    ) -> Result<(UserRecord, Ended), AccountAdminError> {
        let user = self.find(who).await?;
        let ended = self.end_access(&user.id, now, access_token_ttl).await?;
        Ok((user, ended))
    }

    /// Disables the account, and ends everything it was signed in to.
    pub async fn disable(
        &self,
        who: &str,
        now: i64,
        access_token_ttl: i64,
    ) -> Result<Ended, AccountAdminError> {
        let user = self.find(who).await?;
        self.store.set_user_disabled(&user.id, true, now).await?;
        self.end_access(&user.id, now, access_token_ttl)
            .await
            .map_err(Into::into)
    }

    pub async fn enable(&self, who: &str, now: i64) -> Result<(), AccountAdminError> {
        let user = self.find(who).await?;
        self.store.set_user_disabled(&user.id, false, now).await?;
        Ok(())
    }

    /// Sets a new password (the signup rules apply), and ends the account's sessions and
    /// refresh-token families: whoever knew the old one is out.
    pub async fn set_password(
        &self,
        who: &str,
        password: String,
        now: i64,
        access_token_ttl: i64,
    ) -> Result<Ended, AccountAdminError> {
        let user = self.find(who).await?;
        let problems = user::password_problems(
            &password,
            &user.username,
            user.email.as_deref().unwrap_or_default(),
        );
        if !problems.is_empty() {
            return Err(AccountAdminError::Password(problems));
        }
        let hash = password::hash(password).await?;
        self.store.set_password_hash(&user.id, &hash, now).await?;
        self.end_access(&user.id, now, access_token_ttl)
            .await
            .map_err(Into::into)
    }

    /// Changes the display name and the role. The name follows the signup rule (at most 100
    /// characters); a role taken away also takes `admin` out of the next tokens issued.
    /// Returns the account as it is now and what changed (for the audit trail).
    pub async fn set_profile(
        &self,
        who: &str,
        name: Option<String>,
        role: Option<Role>,
        now: i64,
    ) -> Result<(UserRecord, ProfileChanges), AccountAdminError> {
        let user = self.find(who).await?;
        let name = match name {
            Some(n) if n.trim().chars().count() > user::NAME_MAX => {
                return Err(AccountAdminError::Invalid(vec![InvalidUser::NameTooLong]));
            }
            Some(n) => Some(n.trim().to_owned()).filter(|n| !n.is_empty()),
            None => user.name.clone(),
        };
        let role = role.unwrap_or(user.role);
        let changes = ProfileChanges {
            name: name != user.name,
            role: (role != user.role).then_some((user.role, role)),
        };
        self.store
            .set_user_profile(&user.id, name.as_deref(), role, now)
            .await?;
        Ok((self.find(&user.id).await?, changes))
    }

    /// Withdraws the account's consent to a client and revokes what it gave that client:
    /// its refresh-token families (and their access tokens) and unused codes. The client must
    /// ask again. Returns how many families were revoked; `None` when there was no consent.
    pub async fn revoke_consent(
        &self,
        who: &str,
        client_id: &str,
        now: i64,
        access_token_ttl: i64,
    ) -> Result<Option<u64>, AccountAdminError> {
        let user = self.find(who).await?;
        if !self.store.delete_consent(&user.id, client_id).await? {
            return Ok(None);
        }
        let grants = self
            .store
            .revoke_grants_of_user_for_client(&user.id, client_id, now, now + access_token_ttl)
            .await?;
        Ok(Some(grants))
    }

    /// Takes every second factor off the account (authenticator app, recovery codes,
    /// passkeys) for someone who lost them, and ends its sessions and refresh-token
    /// families: the next sign-in is with the password (or a provider) alone, and can set
    /// up new ones. Returns whether there was an authenticator, and how many passkeys.
    pub async fn reset_second_factors(
        &self,
        who: &str,
        now: i64,
        access_token_ttl: i64,
    ) -> Result<(bool, u64), AccountAdminError> {
        let user = self.find(who).await?;
        let authenticator = self.store.disable_totp(&user.id, false).await?;
        let passkeys = self.store.delete_passkeys_of(&user.id).await?;
        self.end_access(&user.id, now, access_token_ttl).await?;
        Ok((authenticator, passkeys))
    }

    /// Deletes the account and everything that hangs on it (refresh tokens and codes go by
    /// cascade). Its access tokens are refused because the account is gone: the same rule in
    /// `access_token::validate` as for a disabled one.
    pub async fn delete(&self, who: &str) -> Result<(), AccountAdminError> {
        let user = self.find(who).await?;
        self.store.delete_sessions_of(&user.id).await?;
        self.store.delete_user(&user.id).await?;
        Ok(())
    }
}
