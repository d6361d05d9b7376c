//! Mailed one-time links: confirming an address, resetting a forgotten password, and the
//! notice to an address someone tried to sign up with again.
//!
//! A link's token is 256 random bits; only its SHA-256 is stored. Each account gets at most
//! a few mails per half hour, counted in the shared throttle table, so nobody can make
//! munjigi flood an inbox.

use std::net::IpAddr;

use crate::mail::Mailer;
use crate::mail::messages::{self, Way};
use crate::oauth::secret::{random_token, sha256_hex};
use crate::store::{
    AccountTokenRecord, EmailChange, LinkPurpose, LockPolicy, StoreError, UserRecord,
};

use super::Accounts;
use super::admin::Ended;
use super::password::{self, PasswordError};
use super::proof_of_address::{AddressProof, Removed, WaysIn};
use super::reauth::Reauthenticated;
use super::self_service::SelfServiceError;
use super::sign_in::SignIn;
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

/// What an address link did. `removed` is `Some` when it was the first proof of the
/// account's address (`proof_of_address`): every session of the account has ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Confirmed {
    /// The account's address is confirmed.
    Verified {
        user_id: String,
        removed: Option<Removed>,
    },
    /// The account's address is now the new one, confirmed.
    Changed {
        user_id: String,
        removed: Option<Removed>,
    },
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

/// The account an address link is for, as its page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkAccount {
    pub user_id: String,
    pub username: String,
    pub has_password: bool,
}

/// Who used an address link, besides whoever holds the mailbox it went to.
pub enum LinkUser<'a> {
    /// Signed in on this browser (to any account: it counts only if it is the link's).
    SignedIn(&'a SignIn),
    /// Typed the password of the link's account on its page (throttled like a sign-in).
    Password { password: String, ip: IpAddr },
}

/// Why an address link was not used.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    /// The person must show a way in of the account: sign in to it here, or type its
    /// password (the password typed, if any, was wrong).
    #[error("sign in to the account, or give its password")]
    ShowWayIn,
    /// The account has no password, and this browser is not signed in to it.
    #[error("sign in to the account first")]
    SignInFirst,
    #[error("throttled for {0} s")]
    Throttled(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] PasswordError),
}

impl From<SelfServiceError> for ConfirmError {
    fn from(e: SelfServiceError) -> Self {
        match e {
            SelfServiceError::Throttled(s) => Self::Throttled(s),
            SelfServiceError::Store(e) => Self::Store(e),
            SelfServiceError::Hash(e) => Self::Hash(e),
            _ => Self::ShowWayIn,
        }
    }
}

/// What a password reset did.
#[derive(Debug)]
pub struct Reset {
    pub user: UserRecord,
    pub ended: Ended,
    /// `Some` when the reset was the first proof of the account's address.
    pub removed: Option<Removed>,
    /// The ways in that remain (each removable on the account page).
    pub remaining: WaysIn,
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

    /// The account an address link (a confirmation of its address, or of a new one) is for,
    /// while the link is usable: its page asks for a way in of that account.
    pub async fn address_link_account(
        &self,
        token: &str,
        now: i64,
    ) -> Result<Option<LinkAccount>, StoreError> {
        let user = match self.live_address_link(token, now).await? {
            Some((user_id, _)) => self.accounts.store.user(&user_id).await?,
            None => None,
        };
        Ok(user.map(|u| LinkAccount {
            has_password: u.password_hash.is_some(),
            user_id: u.id,
            username: u.username,
        }))
    }

    async fn live_address_link(
        &self,
        token: &str,
        now: i64,
    ) -> Result<Option<(String, LinkPurpose)>, StoreError> {
        if !plausible(token) {
            return Ok(None);
        }
        let hash = sha256_hex(token);
        for purpose in [LinkPurpose::VerifyEmail, LinkPurpose::ChangeEmail] {
            let live = self
                .accounts
                .store
                .live_account_token(&hash, purpose, now)
                .await?;
            if let Some((user_id, _)) = live {
                return Ok(Some((user_id, purpose)));
            }
        }
        Ok(None)
    }

    /// Uses an address link: a confirmation of the current address, or of a new one (which
    /// then becomes the account's, and the old address is told). The link proves the
    /// mailbox; `by` must also show a way in of the account, so that a link opened by the
    /// owner of an address someone else signed up with does not hand that person the
    /// account. The first proof of the account's address removes what was added before it
    /// (`Accounts::claim_address`) and mails what it removed. `None`: unknown, used or
    /// expired.
    pub async fn confirm_email(
        &self,
        token: &str,
        by: LinkUser<'_>,
        lang: &str,
        now: i64,
        access_token_ttl: i64,
    ) -> Result<Option<Confirmed>, ConfirmError> {
        let store = self.accounts.store;
        let Some((user_id, purpose)) = self.live_address_link(token, now).await? else {
            return Ok(None);
        };
        let Some(user) = store.user(&user_id).await? else {
            return Ok(None);
        };
        let provider = match by {
            LinkUser::SignedIn(sign_in) if sign_in.user_id == user.id => sign_in.idp.clone(),
            _ if user.password_hash.is_none() => return Err(ConfirmError::SignInFirst),
            LinkUser::SignedIn(_) => return Err(ConfirmError::ShowWayIn),
            LinkUser::Password { password, ip } => {
                if password.is_empty() {
                    return Err(ConfirmError::ShowWayIn);
                }
                self.accounts
                    .confirm_password(&user, password, ip, now)
                    .await?;
                None
            }
        };
        let first_proof = !user.email_verified;
        let proof = AddressProof::ConfirmationLink {
            provider: provider.as_deref(),
        };
        let hash = sha256_hex(token);
        if purpose == LinkPurpose::VerifyEmail {
            return Ok(match store.use_verification_token(&hash, now).await? {
                None => None,
                Some((_, false)) => Some(Confirmed::Stale),
                Some((user_id, true)) => {
                    let removed = self
                        .claim_if_first(&user, first_proof, proof, lang, now, access_token_ttl)
                        .await?;
                    Some(Confirmed::Verified { user_id, removed })
                }
            });
        }
        Ok(match store.use_email_change_token(&hash, now).await? {
            None => None,
            Some(EmailChange::Taken) => Some(Confirmed::Taken),
            Some(EmailChange::Changed { user_id, old }) => {
                let changed = store.user(&user_id).await?;
                if let (Some(old), Some(changed)) = (old, &changed) {
                    self.notify_email_changed(changed, &old, lang);
                }
                let claimed = changed.as_ref().unwrap_or(&user);
                let removed = self
                    .claim_if_first(claimed, first_proof, proof, lang, now, access_token_ttl)
                    .await?;
                Some(Confirmed::Changed { user_id, removed })
            }
        })
    }

    /// After a confirmation link proved `user`'s address: on the first proof, claims the
    /// account and tells the address what was removed.
    async fn claim_if_first(
        &self,
        user: &UserRecord,
        first_proof: bool,
        proof: AddressProof<'_>,
        lang: &str,
        now: i64,
        access_token_ttl: i64,
    ) -> Result<Option<Removed>, StoreError> {
        if !first_proof {
            return Ok(None);
        }
        let removed = self
            .accounts
            .claim_address(&user.id, proof, now, access_token_ttl)
            .await?;
        if removed.any_way_in()
            && let Some(email) = self
                .accounts
                .store
                .user(&user.id)
                .await?
                .and_then(|u| u.email)
        {
            let lines = removed_ways(&removed);
            self.send(messages::address_claimed(
                lang,
                &email,
                &user.username,
                &lines,
            ));
        }
        Ok(Some(removed))
    }

    /// A new address for the account, its owner having just proved who they are. With mail,
    /// a link goes to the new address and the account changes only when it is used (the page
    /// says the same whether or not the address is someone else's); without mail it changes
    /// now, unverified.
    pub async fn change_email(
        &self,
        proof: &Reauthenticated,
        new: &str,
        lang: &str,
        now: i64,
    ) -> Result<EmailChangeStarted, StoreError> {
        let user = proof.user();
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
    /// family of the account ends. The first proof of the account's address also removes
    /// every other way in that was added before it (`Accounts::claim_address`). A mail then
    /// says what happened, what was removed and what still opens the account.
    pub async fn reset_password(
        &self,
        token: &str,
        new_password: String,
        lang: &str,
        now: i64,
        access_token_ttl: i64,
    ) -> Result<Reset, ResetError> {
        let store = self.accounts.store;
        let hash_of_token = sha256_hex(token);
        let user = self
            .reset_link_account(token, now)
            .await?
            .ok_or(ResetError::LinkInvalid)?;
        let link_email = store
            .live_account_token(&hash_of_token, LinkPurpose::ResetPassword, now)
            .await?
            .map(|(_, email)| email)
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
        // The link proves the account's address only if it is still the one it went to.
        let first_proof = !user.email_verified
            && user
                .email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(&link_email));
        // The link is used here, atomically: of two submissions, one wins.
        store
            .use_reset_token(&hash_of_token, &hash, now)
            .await?
            .ok_or(ResetError::LinkInvalid)?;
        let (ended, removed) = if first_proof {
            let removed = self
                .accounts
                .claim_address(&user.id, AddressProof::ResetLink, now, access_token_ttl)
                .await?;
            (removed.ended.clone(), Some(removed))
        } else {
            let ended = self
                .accounts
                .end_access(&user.id, now, access_token_ttl)
                .await?;
            (ended, None)
        };
        let remaining = self.accounts.ways_in_to_list(&user.id).await?;
        if let Some(email) = user.email.as_deref() {
            let removed_lines = removed.as_ref().map(removed_ways).unwrap_or_default();
            let mail = messages::password_was_reset(
                lang,
                email,
                &user.username,
                &removed_lines,
                &remaining_ways(&remaining),
                &format!("{}/account", self.issuer),
            );
            self.send(mail);
        }
        Ok(Reset {
            user,
            ended,
            removed,
            remaining,
        })
    }

    /// Tells the account's address that a passkey was added to it (a new way in).
    pub fn notify_passkey_added(&self, user: &UserRecord, name: &str, lang: &str) -> Sent {
        let Some(email) = user.email.as_deref() else {
            return Sent::NoAddress;
        };
        let mail = messages::passkey_added(
            lang,
            email,
            &user.username,
            name,
            &format!("{}/account", self.issuer),
        );
        self.send(mail)
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
        let login = format!("{}/login", self.issuer);
        let forgot = format!("{}/password/forgot", self.issuer);
        // An account whose address nobody proved may not be its owner's: say that someone
        // started it, and that a reset claims it (`proof_of_address`).
        let mail = if existing.email_verified {
            messages::signup_attempt(lang, email, &login, &forgot)
        } else {
            messages::signup_attempt_unproven(lang, email, &existing.username, &forgot)
        };
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

/// The ways a first proof removed, as the mail lists them.
fn removed_ways(removed: &Removed) -> Vec<Way<'_>> {
    let mut ways = Vec::new();
    if removed.password_replaced {
        ways.push(Way::EarlierPassword);
    }
    ways.extend(removed.providers.iter().map(|p| Way::Provider(p)));
    ways.extend(removed.passkeys.iter().map(|p| Way::Passkey(p)));
    if removed.authenticator {
        ways.push(Way::Authenticator);
    }
    ways
}

/// The ways into an account besides the password, as the mail lists them.
fn remaining_ways(ways: &WaysIn) -> Vec<Way<'_>> {
    let mut list: Vec<Way<'_>> = ways.providers.iter().map(|p| Way::Provider(p)).collect();
    list.extend(ways.passkeys.iter().map(|p| Way::Passkey(p)));
    if ways.authenticator {
        list.push(Way::Authenticator);
    }
    list
}

/// A token we could have made (base64url of 32 bytes): anything else is not looked up.
fn plausible(token: &str) -> bool {
    (40..=64).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
