//! Mailed one-time links: confirming an address, resetting a forgotten password, and the
//! notice to an address someone tried to sign up with again.
//!
//! A link's token is 256 random bits; only its SHA-256 is stored. Each account gets at most
//! a few mails per half hour, counted in the shared throttle table, so nobody can make
//! munjigi flood an inbox.

use crate::mail::{Mailer, messages};
use crate::oauth::secret::{random_token, sha256_hex};
use crate::store::{
    AccountTokenRecord, EmailChange, LinkPurpose, LockPolicy, StoreError, UserRecord,
};

use super::Accounts;
use super::admin::Ended;
use super::password::{self, PasswordError};
use super::user::{self, InvalidUser};

/// An address confirmation link lives a day.
pub const VERIFY_TTL: i64 = 24 * 3600;
/// A password reset link lives half an hour.
pub const RESET_TTL: i64 = 30 * 60;
/// Mails per account: three in half an hour, then a pause.
const MAILS_PER_ACCOUNT: LockPolicy = LockPolicy {
    free: 3,
    window: 30 * 60,
    base_lock: 30 * 60,
    max_lock: 2 * 3600,
};

/// What can send mail about an account.
pub struct Links<'a> {
    pub accounts: Accounts<'a>,
    pub mailer: &'a Mailer,
    /// Links start with the issuer.
    pub issuer: &'a str,
}

/// Why no mail went out (the page says the same either way where that matters).
#[derive(Debug, PartialEq, Eq)]
pub enum Sent {
    Yes,
    MailOff,
    NoAddress,
    /// The account had its share of mail lately.
    TooMany,
}

/// An upstream provider linked to an account, or unlinked from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderChange {
    Linked,
    Unlinked,
}

/// What an address link did.
#[derive(Debug, PartialEq, Eq)]
pub enum Confirmed {
    /// The account's address is confirmed.
    Verified(String),
    /// The account's address is now the new one, confirmed.
    Changed(String),
    /// The account's address changed after the link was sent.
    Stale,
    /// Another account has the new address now.
    Taken,
}

/// What asking for a new address did.
#[derive(Debug, PartialEq, Eq)]
pub enum EmailChangeStarted {
    LinkSent,
    /// No mail: changed at once, unverified.
    Changed,
    Unchanged,
    Invalid,
    /// No mail, and another account has it.
    Unavailable,
    /// Mail is on but the account had its share lately.
    NotSent,
}

#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    /// Unknown, used or expired.
    #[error("the link is no longer valid")]
    LinkInvalid,
    #[error("the new password is not acceptable: {0:?}")]
    Password(Vec<InvalidUser>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] PasswordError),
}

impl Links<'_> {
    /// Mails `user` a link that confirms their current address.
    pub async fn send_verification(
        &self,
        user: &UserRecord,
        lang: &str,
        now: i64,
    ) -> Result<Sent, StoreError> {
        let Some(email) = user.email.as_deref() else {
            return Ok(Sent::NoAddress);
        };
        let Some(token) = self
            .new_link(user, email, LinkPurpose::VerifyEmail, VERIFY_TTL, now)
            .await?
        else {
            return Ok(self.why_not());
        };
        let link = self.link("/email/verify", &token);
        let mail = messages::verify_email(lang, email, &link, VERIFY_TTL / 3600);
        Ok(self.send(mail))
    }

    /// Uses an address link: a confirmation of the current address, or of a new one (which
    /// then becomes the account's, and the old address is told). `None`: unknown, used or
    /// expired.
    pub async fn confirm_email(
        &self,
        token: &str,
        lang: &str,
        now: i64,
    ) -> Result<Option<Confirmed>, StoreError> {
        if !plausible(token) {
            return Ok(None);
        }
        let store = self.accounts.store;
        let hash = sha256_hex(token);
        if let Some((user_id, verified)) = store.use_verification_token(&hash, now).await? {
            return Ok(Some(if verified {
                Confirmed::Verified(user_id)
            } else {
                Confirmed::Stale
            }));
        }
        Ok(match store.use_email_change_token(&hash, now).await? {
            None => None,
            Some(EmailChange::Taken) => Some(Confirmed::Taken),
            Some(EmailChange::Changed { user_id, old }) => {
                if let (Some(old), Some(user)) = (old, store.user(&user_id).await?) {
                    self.notify_email_changed(&user, &old, lang);
                }
                Some(Confirmed::Changed(user_id))
            }
        })
    }

    /// A new address for `user`. With mail, a link goes to the new address and the account
    /// changes only when it is used (the page says the same whether or not the address is
    /// someone else's); without mail it changes now, unverified.
    pub async fn change_email(
        &self,
        user: &UserRecord,
        new: &str,
        lang: &str,
        now: i64,
    ) -> Result<EmailChangeStarted, StoreError> {
        let new = new.trim();
        if !user::is_plausible_email(new) {
            return Ok(EmailChangeStarted::Invalid);
        }
        if user
            .email
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(new))
        {
            return Ok(EmailChangeStarted::Unchanged);
        }
        if !self.mailer.is_on() {
            return match self
                .accounts
                .store
                .set_user_email_unverified(&user.id, new, now)
                .await
            {
                Ok(_) => Ok(EmailChangeStarted::Changed),
                Err(StoreError::Conflict) => Ok(EmailChangeStarted::Unavailable),
                Err(e) => Err(e),
            };
        }
        let Some(token) = self
            .new_link(user, new, LinkPurpose::ChangeEmail, VERIFY_TTL, now)
            .await?
        else {
            return Ok(EmailChangeStarted::NotSent);
        };
        let link = self.link("/email/verify", &token);
        self.send(messages::verify_email(lang, new, &link, VERIFY_TTL / 3600));
        Ok(EmailChangeStarted::LinkSent)
    }

    /// "Forgot password": mails a reset link to the account named by `login` (username or
    /// address), if there is one with an address. Says nothing about whether there was.
    pub async fn request_reset(&self, login: &str, lang: &str, now: i64) -> Result<(), StoreError> {
        let login = login.trim();
        if login.is_empty() || login.len() > 320 || login.chars().any(char::is_control) {
            return Ok(());
        }
        let Some(user) = self.accounts.store.user_by_login(login).await? else {
            return Ok(());
        };
        let Some(email) = user.email.as_deref().filter(|_| !user.disabled) else {
            return Ok(());
        };
        if let Some(token) = self
            .new_link(&user, email, LinkPurpose::ResetPassword, RESET_TTL, now)
            .await?
        {
            let link = self.link("/password/reset", &token);
            let mail = messages::reset_password(lang, email, &user.username, &link, RESET_TTL / 60);
            self.send(mail);
        }
        Ok(())
    }

    /// The account a reset link is for, while it is usable (the form shows its name).
    pub async fn reset_link_account(
        &self,
        token: &str,
        now: i64,
    ) -> Result<Option<UserRecord>, StoreError> {
        if !plausible(token) {
            return Ok(None);
        }
        let store = self.accounts.store;
        let Some((user_id, _)) = store
            .live_account_token(&sha256_hex(token), LinkPurpose::ResetPassword, now)
            .await?
        else {
            return Ok(None);
        };
        Ok(store.user(&user_id).await?.filter(|u| !u.disabled))
    }

    /// Sets a new password through a reset link, once; every session and refresh-token
    /// family of the account ends.
    pub async fn reset_password(
        &self,
        token: &str,
        new_password: String,
        now: i64,
        access_token_ttl: i64,
    ) -> Result<(UserRecord, Ended), ResetError> {
        let user = self
            .reset_link_account(token, now)
            .await?
            .ok_or(ResetError::LinkInvalid)?;
        let problems = user::password_problems(
            &new_password,
            &user.username,
            user.email.as_deref().unwrap_or_default(),
        );
        if !problems.is_empty() {
            return Err(ResetError::Password(problems));
        }
        let hash = password::hash(new_password).await?;
        // The link is used here, atomically: of two submissions, one wins.
        self.accounts
            .store
            .use_reset_token(&sha256_hex(token), &hash, now)
            .await?
            .ok_or(ResetError::LinkInvalid)?;
        let ended = self
            .accounts
            .end_access(&user.id, now, access_token_ttl)
            .await?;
        Ok((user, ended))
    }

    /// Someone signed up with `existing`'s address: tell its owner (with the ways back in)
    /// instead of telling the person on the page.
    pub async fn notify_signup_attempt(
        &self,
        existing: &UserRecord,
        lang: &str,
        now: i64,
    ) -> Result<Sent, StoreError> {
        let Some(email) = existing.email.as_deref() else {
            return Ok(Sent::NoAddress);
        };
        if !self.mailer.is_on() {
            return Ok(Sent::MailOff);
        }
        if !self.take_mail_turn(&existing.id, now).await? {
            return Ok(Sent::TooMany);
        }
        let mail = messages::signup_attempt(
            lang,
            email,
            &format!("{}/login", self.issuer),
            &format!("{}/password/forgot", self.issuer),
        );
        Ok(self.send(mail))
    }

    /// Tells the old address that the account's address changed.
    pub fn notify_email_changed(&self, user: &UserRecord, old: &str, lang: &str) -> Sent {
        let new = user.email.as_deref().unwrap_or_default();
        self.send(messages::email_changed(lang, old, &user.username, new))
    }

    /// Tells the account's address that a sign-in with its passkey `passkey` was refused as
    /// a copy (within the account's share of mail: a clone tried again and again does not
    /// flood the inbox).
    pub async fn notify_passkey_cloned(
        &self,
        user: &UserRecord,
        passkey: &str,
        lang: &str,
        now: i64,
    ) -> Result<Sent, StoreError> {
        let Some(email) = user.email.as_deref() else {
            return Ok(Sent::NoAddress);
        };
        if !self.mailer.is_on() {
            return Ok(Sent::MailOff);
        }
        if !self.take_mail_turn(&user.id, now).await? {
            return Ok(Sent::TooMany);
        }
        let mail = messages::passkey_cloned(lang, email, &user.username, passkey);
        Ok(self.send(mail))
    }

    /// Tells the account's address that an upstream provider (`provider`, its display name)
    /// was linked to or unlinked from the account: a new way in is never silent.
    pub fn notify_provider_change(
        &self,
        user: &UserRecord,
        provider: &str,
        change: ProviderChange,
        lang: &str,
    ) -> Sent {
        let Some(email) = user.email.as_deref() else {
            return Sent::NoAddress;
        };
        let linked = change == ProviderChange::Linked;
        self.send(messages::provider_changed(
            lang,
            email,
            &user.username,
            provider,
            linked,
        ))
    }

    /// A new stored link for `user`, if mail is on and the account has a mail turn left.
    async fn new_link(
        &self,
        user: &UserRecord,
        email: &str,
        purpose: LinkPurpose,
        ttl: i64,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        if !self.mailer.is_on() || !self.take_mail_turn(&user.id, now).await? {
            return Ok(None);
        }
        let token = random_token();
        self.accounts
            .store
            .insert_account_token(&AccountTokenRecord {
                token_hash: sha256_hex(&token),
                purpose,
                user_id: user.id.clone(),
                email: email.to_owned(),
                created_at: now,
                expires_at: now + ttl,
            })
            .await?;
        Ok(Some(token))
    }

    /// Counts a mail to the account; false when it has had its share lately.
    async fn take_mail_turn(&self, user_id: &str, now: i64) -> Result<bool, StoreError> {
        let store = self.accounts.store;
        let subject = format!("mail:{user_id}");
        if store.login_wait(&[subject.as_str()], now).await? > 0 {
            return Ok(false);
        }
        // The wait above is only a cheap early answer: two lookups running at once both pass
        // it, so the turn is decided by the atomic count.
        let taken = store
            .count_login_failure(&subject, &MAILS_PER_ACCOUNT, now)
            .await?;
        Ok(taken <= MAILS_PER_ACCOUNT.free)
    }

    fn why_not(&self) -> Sent {
        if self.mailer.is_on() {
            Sent::TooMany
        } else {
            Sent::MailOff
        }
    }

    fn send(&self, mail: crate::mail::Mail) -> Sent {
        if self.mailer.send(mail) {
            Sent::Yes
        } else {
            self.why_not()
        }
    }

    fn link(&self, path: &str, token: &str) -> String {
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token)
            .finish();
        format!("{}{path}?{q}", self.issuer)
    }
}

/// A token we could have made (base64url of 32 bytes): anything else is not looked up.
fn plausible(token: &str) -> bool {
    (40..=64).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
