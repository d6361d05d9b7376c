//! The ways into an account: its password, its linked providers, its passkeys (a passkey
//! signs in on its own, without a username). One answer to "what can still sign in to this
//! account", asked before a way in is removed (the last one never is) and wherever a page
//! lists them.

use crate::store::{Store, StoreError, WaysInRow};

use super::Accounts;

/// What an account can sign in with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaysIn {
    pub password: bool,
    /// Provider ids.
    pub providers: Vec<String>,
    /// Passkey credential ids.
    pub passkeys: Vec<String>,
}

impl From<&WaysInRow> for WaysIn {
    fn from(row: &WaysInRow) -> Self {
        Self {
            password: row.password,
            providers: row.providers.clone(),
            passkeys: row.passkeys.clone(),
        }
    }
}

impl WaysIn {
    /// How many ways in there are.
    pub fn count(&self) -> usize {
        usize::from(self.password) + self.providers.len() + self.passkeys.len()
    }

    /// Whether `provider` may be unlinked: it is linked, and another way in remains.
    pub fn may_unlink(&self, provider: &str) -> bool {
        self.providers.iter().any(|p| p == provider) && self.count() > 1
    }

    /// Whether the passkey `credential_id` may be removed: it is the account's, and another
    /// way in remains.
    pub fn may_remove_passkey(&self, credential_id: &str) -> bool {
        self.passkeys.iter().any(|p| p == credential_id) && self.count() > 1
    }
}

impl Accounts<'_> {
    /// What the account can sign in with now.
    pub async fn ways_in(&self, user_id: &str) -> Result<WaysIn, StoreError> {
        Ok(WaysIn::from(&self.store.ways_in(user_id).await?))
    }

    /// Removes one of the user's passkeys, unless it is their last way in (false). The
    /// account page removes one through `Passkeys::remove`, which asks for a proof first.
    pub async fn remove_passkey(
        &self,
        user_id: &str,
        credential_id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        remove_passkey(self.store, user_id, credential_id, now).await
    }

    /// Removes the user's identity of `provider`, unless it is their last way in (false).
    pub async fn unlink_upstream(
        &self,
        user_id: &str,
        provider: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.store
            .unlink_identity(user_id, provider, now, |row| {
                WaysIn::from(row).may_unlink(provider)
            })
            .await
    }
}

/// Removes a passkey if another way in remains, asked inside the removal's transaction.
pub(super) async fn remove_passkey(
    store: &Store,
    user_id: &str,
    credential_id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    store
        .delete_passkey_if(user_id, credential_id, now, |row| {
            WaysIn::from(row).may_remove_passkey(credential_id)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ways(password: bool, providers: &[&str], passkeys: &[&str]) -> WaysIn {
        WaysIn {
            password,
            providers: providers.iter().map(|p| (*p).to_owned()).collect(),
            passkeys: passkeys.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    #[test]
    fn the_last_way_in_stays() {
        assert!(!ways(false, &["google"], &[]).may_unlink("google"));
        assert!(ways(true, &["google"], &[]).may_unlink("google"));
        assert!(ways(false, &["google", "kakao"], &[]).may_unlink("kakao"));
        assert!(!ways(false, &[], &["k1"]).may_remove_passkey("k1"));
        assert!(ways(false, &[], &["k1", "k2"]).may_remove_passkey("k1"));
    }

    #[test]
    fn a_passkey_is_a_way_in() {
        assert!(ways(false, &["google"], &["k1"]).may_unlink("google"));
        assert!(ways(false, &["google"], &["k1"]).may_remove_passkey("k1"));
    }

    #[test]
    fn only_what_the_account_has() {
        assert!(!ways(true, &["google"], &[]).may_unlink("kakao"));
        assert!(!ways(true, &[], &["k1"]).may_remove_passkey("k2"));
    }
}
