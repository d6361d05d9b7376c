//! What proving an account's address does. An address is proven by a link mailed to it (a
//! password reset, an address confirmation) or by a provider that vouches for it. Until then,
//! anyone could have made the account with someone else's address — and left themselves ways
//! back in (a passkey, an authenticator app, their own upstream account, the password) before
//! the owner of the address ever heard of it.
//!
//! So the first proof of the address claims the account for whoever holds the mailbox: every
//! way in added while the address was unproven is removed, except what the proof itself
//! showed (the new password of a reset; the password or the session of the person who used a
//! confirmation link, see `AddressProof`), and every session and refresh-token family ends.
//! Every path that proves an address calls `Accounts::claim_address`; the mail that follows
//! says what was removed (`Links`).

use crate::store::StoreError;

use super::Accounts;
use super::admin::Ended;

/// How the address was proven, which says what the proof keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressProof<'a> {
    /// A password reset link: the mailbox, and the new password chosen with it. Nothing else
    /// stays.
    ResetLink,
    /// A confirmation link (for the address or a new one), used by someone who also showed
    /// a way in of the account: signed in to it on the browser that used the link (through
    /// `provider`, when the sign-in came through one), or by typing its password there. The
    /// password stays, and so does that provider; nothing else.
    ConfirmationLink { provider: Option<&'a str> },
}

/// What a first proof removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Removed {
    /// Providers whose linked identity was removed.
    pub providers: Vec<String>,
    /// Names of the passkeys removed.
    pub passkeys: Vec<String>,
    /// The authenticator app (and its recovery codes).
    pub authenticator: bool,
    /// A reset replaced a password that was set while the address was unproven.
    pub password_replaced: bool,
    pub ended: Ended,
}

impl Removed {
    /// Whether any way in (beyond sessions) was removed.
    pub fn any_way_in(&self) -> bool {
        !self.providers.is_empty()
            || !self.passkeys.is_empty()
            || self.authenticator
            || self.password_replaced
    }
}

/// The ways into an account, as the reset page and mail list them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WaysIn {
    pub password: bool,
    /// Linked providers (their ids).
    pub providers: Vec<String>,
    /// Passkey names.
    pub passkeys: Vec<String>,
    pub authenticator: bool,
}

impl WaysIn {
    /// Whether anything besides the password opens the account.
    pub fn beyond_password(&self) -> bool {
        !self.providers.is_empty() || !self.passkeys.is_empty() || self.authenticator
    }
}

impl Accounts<'_> {
    /// The first proof of the account's address: removes every way in added while it was
    /// unproven except what `proof` keeps, and ends every session and refresh-token family.
    /// Call it only when the address was unproven before the proof (`UserRecord::email_verified`
    /// read before the link was used).
    pub async fn claim_address(
        &self,
        user_id: &str,
        proof: AddressProof<'_>,
        now: i64,
        access_token_ttl: i64,
    ) -> Result<Removed, StoreError> {
        let keep_provider = match proof {
            AddressProof::ResetLink => None,
            AddressProof::ConfirmationLink { provider } => provider,
        };
        let providers = self
            .store
            .delete_identities_of_except(user_id, keep_provider)
            .await?;
        let passkeys = self.store.passkeys_of(user_id).await?;
        self.store.delete_passkeys_of(user_id).await?;
        let authenticator = self.store.disable_totp(user_id, false).await?;
        let ended = self.end_access(user_id, now, access_token_ttl).await?;
        Ok(Removed {
            providers,
            passkeys: passkeys.into_iter().map(|p| p.name).collect(),
            authenticator,
            password_replaced: proof == AddressProof::ResetLink,
            ended,
        })
    }

    /// Every way into the account now, named as the reset page and mail list them (what may
    /// be removed is `account::ways_in`'s question).
    pub async fn ways_in_to_list(&self, user_id: &str) -> Result<WaysIn, StoreError> {
        let Some(user) = self.store.user(user_id).await? else {
            return Ok(WaysIn::default());
        };
        Ok(WaysIn {
            password: user.password_hash.is_some(),
            providers: self
                .store
                .identities_of(user_id)
                .await?
                .into_iter()
                .map(|i| i.provider)
                .collect(),
            passkeys: self
                .store
                .passkeys_of(user_id)
                .await?
                .into_iter()
                .map(|p| p.name)
                .collect(),
            authenticator: self.store.totp_of(user_id).await?.is_some(),
        })
    }
}
