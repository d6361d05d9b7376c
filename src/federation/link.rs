//! Which munjigi account an upstream identity is, and linking identities to accounts.
//!
//! The same (provider, subject) always maps to the same user. A first sign-in finds no
//! identity: when the provider vouches for an address that an account already has, munjigi
//! does not take the account over — the person proves it is theirs by signing in to it (or,
//! with `link_verified_email`, both sides' verified addresses suffice). Otherwise a new
//! account is made, together with its identity, in one transaction; it keeps the address only
//! when the provider vouches for it, so nobody can start an account under an address they
//! have not proved. Linking and unlinking are recorded and told to the account's address.

use serde::{Deserialize, Serialize};

use std::net::IpAddr;

use crate::account::Accounts;
use crate::account::links::{Links, ProviderChange};
use crate::audit::{Audit, Event, EventKind};
use crate::oauth::secret::random_token;
use crate::store::{IdentityRecord, Store, StoreError, UserRecord};

use super::{Federation, UpstreamIdentity};

/// A link waiting for the person to prove the account is theirs (kept in the browser session).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PendingLink {
    pub identity: UpstreamIdentity,
    /// The account that has the address the provider vouched for.
    pub user_id: String,
    /// The pending authorization request to resume afterwards (may be empty).
    pub request_id: String,
    pub created_at: i64,
}

/// How long the person has to confirm a link.
pub const PENDING_LINK_TTL: i64 = 600;

impl crate::clock::Expires for PendingLink {
    const TTL: i64 = PENDING_LINK_TTL;
    fn made_at(&self) -> i64 {
        self.created_at
    }
}

impl Accounts<'_> {
    /// Which account an upstream sign-in is (see the module's doc).
    pub async fn resolve_upstream(
        &self,
        identity: &UpstreamIdentity,
        policy: &Policy,
        now: i64,
    ) -> Result<Resolution, LinkError> {
        resolve(self.store, identity, policy, now).await
    }

    /// The active account an identity is linked to, if any.
    pub async fn linked_user(
        &self,
        identity: &UpstreamIdentity,
    ) -> Result<Option<String>, LinkError> {
        linked_user(self.store, identity).await
    }

    pub async fn identities(&self, user_id: &str) -> Result<Vec<IdentityRecord>, StoreError> {
        self.store.identities_of(user_id).await
    }
}

/// What an upstream sign-in resolves to.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolution {
    /// Sign in as this user (linked before, or new); with `link`, the identity is linked to
    /// the account once the sign-in is complete (both sides' addresses verified, with
    /// `link_verified_email`).
    SignIn {
        user_id: String,
        created: bool,
        link: bool,
    },
    /// An account has the address the provider vouches for: the person must sign in to it
    /// before the identity is linked.
    ConfirmLink { user_id: String },
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The account is disabled.
    #[error("the account is disabled")]
    Disabled,
    /// The identity is linked to another account.
    #[error("this upstream account is linked to another account")]
    LinkedElsewhere,
    /// The account already has an identity of this provider.
    #[error("the account already has an identity of this provider")]
    ProviderTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What linking needs to know about the provider.
pub struct Policy {
    /// The provider's verified-email flag can be trusted (not Naver).
    pub vouches_for_email: bool,
    /// `federation.link_verified_email`.
    pub link_verified_email: bool,
}

async fn resolve(
    store: &Store,
    identity: &UpstreamIdentity,
    policy: &Policy,
    now: i64,
) -> Result<Resolution, LinkError> {
    if let Some(user_id) = linked_user(store, identity).await? {
        return Ok(Resolution::SignIn {
            user_id,
            created: false,
            link: false,
        });
    }
    let trusted_email = identity
        .email
        .as_deref()
        .filter(|_| identity.email_verified && policy.vouches_for_email);
    if let Some(email) = trusted_email
        && let Some(owner) = store.user_by_email(email).await?
    {
        if owner.disabled {
            return Err(LinkError::Disabled);
        }
        if policy.link_verified_email && owner.email_verified {
            return Ok(Resolution::SignIn {
                user_id: owner.id,
                created: false,
                link: true,
            });
        }
        return Ok(Resolution::ConfirmLink { user_id: owner.id });
    }
    create(store, identity, trusted_email, now).await
}

/// The active user an identity is linked to.
async fn linked_user(
    store: &Store,
    identity: &UpstreamIdentity,
) -> Result<Option<String>, LinkError> {
    let Some(linked) = store
        .identity(&identity.provider, &identity.subject)
        .await?
    else {
        return Ok(None);
    };
    match store.user(&linked.user_id).await? {
        Some(user) if !user.disabled => Ok(Some(user.id)),
        _ => Err(LinkError::Disabled),
    }
}

/// Links `identity` to `user_id`; true when it was not linked already.
async fn link(
    store: &Store,
    user_id: &str,
    identity: &UpstreamIdentity,
    now: i64,
) -> Result<bool, LinkError> {
    if let Some(existing) = store
        .identity(&identity.provider, &identity.subject)
        .await?
    {
        return if existing.user_id == user_id {
            Ok(false)
        } else {
            Err(LinkError::LinkedElsewhere)
        };
    }
    match store.link_identity(&record(user_id, identity, now)).await {
        Ok(()) => Ok(true),
        // Not this identity (checked above): the account has one of this provider.
        Err(StoreError::Conflict) => Err(LinkError::ProviderTaken),
        Err(e) => Err(e.into()),
    }
}

/// Where a link or unlink happens: for the audit trail and the mail's language.
pub struct Told<'a> {
    pub ip: IpAddr,
    pub lang: &'a str,
    pub now: i64,
}

/// Links `identity` to `user_id` (whose sign-in is complete, or who is signed in), records
/// it and tells the account's address: a new way into the account is never silent.
pub async fn link_and_tell(
    links: &Links<'_>,
    federation: &Federation,
    audit: &Audit,
    user_id: &str,
    identity: &UpstreamIdentity,
    told: &Told<'_>,
) -> Result<(), LinkError> {
    let store = links.accounts.store;
    if !link(store, user_id, identity, told.now).await? {
        return Ok(());
    }
    tell(
        links,
        federation,
        audit,
        user_id,
        &identity.provider,
        ProviderChange::Linked,
        told,
    )
    .await?;
    Ok(())
}

/// Removes the user's identity of `provider`, unless it is their last way to sign in (false
/// then); a removal is recorded and told to the account's address.
pub async fn unlink_and_tell(
    links: &Links<'_>,
    federation: &Federation,
    audit: &Audit,
    user_id: &str,
    provider: &str,
    told: &Told<'_>,
) -> Result<bool, StoreError> {
    // Whether another way in remains is `account::ways_in`'s answer, asked inside the
    // removal's transaction.
    if !links
        .accounts
        .unlink_upstream(user_id, provider, told.now)
        .await?
    {
        return Ok(false);
    }
    tell(
        links,
        federation,
        audit,
        user_id,
        provider,
        ProviderChange::Unlinked,
        told,
    )
    .await?;
    Ok(true)
}

async fn tell(
    links: &Links<'_>,
    federation: &Federation,
    audit: &Audit,
    user_id: &str,
    provider: &str,
    change: ProviderChange,
    told: &Told<'_>,
) -> Result<(), StoreError> {
    let action = match change {
        ProviderChange::Linked => "provider_linked",
        ProviderChange::Unlinked => "provider_unlinked",
    };
    let event = Event::new(EventKind::Account)
        .user(user_id.to_owned())
        .ip(told.ip)
        .with("action", action)
        .with("provider", provider.to_owned());
    audit.record(event, told.now);
    let name = federation
        .connector(provider)
        .map_or(provider, |c| c.display_name());
    if let Some(user) = links.accounts.store.user(user_id).await? {
        links.notify_provider_change(&user, name, change, told.lang);
    }
    Ok(())
}

fn record(user_id: &str, identity: &UpstreamIdentity, now: i64) -> IdentityRecord {
    IdentityRecord {
        provider: identity.provider.clone(),
        subject: identity.subject.clone(),
        user_id: user_id.to_owned(),
        email: identity.email.clone(),
        hd: identity.hd.clone(),
        created_at: now,
    }
}

/// A new account for a first upstream sign-in: username and name from the profile (a taken
/// username gets a suffix), the address only when the provider vouches for it (then kept as
/// verified) and no other account has it. An address the provider did not vouch for is not
/// kept at all: whoever holds it has not proved it, and an account carrying it would be
/// waiting for its owner to "recover" it (pre-account hijack).
async fn create(
    store: &Store,
    identity: &UpstreamIdentity,
    trusted_email: Option<&str>,
    now: i64,
) -> Result<Resolution, LinkError> {
    let email = match trusted_email {
        Some(e) if store.user_by_email(e).await?.is_none() => Some(e.to_owned()),
        _ => None,
    };
    let base = username_base(identity);
    for attempt in 0..6 {
        let username = if attempt == 0 {
            base.clone()
        } else {
            format!("{base}-{}", &random_token()[..6].to_ascii_lowercase())
        };
        if store.user_by_username(&username).await?.is_some() {
            continue;
        }
        let user = UserRecord {
            id: uuid::Uuid::new_v4().to_string(),
            username,
            email: email.clone(),
            email_verified: email.is_some(),
            name: identity.name.clone().filter(|n| !n.trim().is_empty()),
            password_hash: None,
            role: crate::store::Role::User,
            disabled: false,
            access_epoch: 0,
            created_at: now,
            updated_at: now,
        };
        match store
            .create_user_with_identity(&user, &record(&user.id, identity, now))
            .await
        {
            Ok(()) => {
                return Ok(Resolution::SignIn {
                    user_id: user.id,
                    created: true,
                    link: false,
                });
            }
            // Someone took the username, the address or this very identity meanwhile.
            Err(StoreError::Conflict) => {
                if let Some(user_id) = linked_user(store, identity).await? {
                    return Ok(Resolution::SignIn {
                        user_id,
                        created: false,
                        link: false,
                    });
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(LinkError::Store(StoreError::Conflict))
}

/// A username from the profile: the provider's suggestion, the address's local part or the
/// name, kept to what usernames allow; else `{provider}-user`.
fn username_base(identity: &UpstreamIdentity) -> String {
    let candidates = [
        identity.username_hint.as_deref(),
        identity.email.as_deref().and_then(|e| e.split('@').next()),
        identity.name.as_deref(),
    ];
    candidates
        .into_iter()
        .flatten()
        .map(sanitize)
        .find(|u| u.len() >= 3)
        .unwrap_or_else(|| format!("{}-user", sanitize(&identity.provider)))
}

fn sanitize(value: &str) -> String {
    let kept: String = value
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(24)
        .collect();
    kept.trim_matches(|c| matches!(c, '.' | '_' | '-'))
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(hint: Option<&str>, email: Option<&str>, name: Option<&str>) -> UpstreamIdentity {
        UpstreamIdentity {
            provider: "kakao".into(),
            subject: "1".into(),
            email: email.map(str::to_owned),
            email_verified: false,
            name: name.map(str::to_owned),
            username_hint: hint.map(str::to_owned),
            hd: None,
            multi_factor: false,
        }
    }

    #[test]
    fn usernames_come_from_the_profile_and_fit_the_rules() {
        assert_eq!(
            username_base(&identity(Some("Minji.Kim"), None, None)),
            "minji.kim"
        );
        assert_eq!(
            username_base(&identity(Some("민지"), Some("minji@example.kr"), None)),
            "minji",
            "a Korean nickname has no ASCII: the address's local part"
        );
        assert_eq!(
            username_base(&identity(Some("김민지"), None, Some("김민지"))),
            "kakao-user"
        );
        assert_eq!(
            username_base(&identity(Some("--a--"), None, Some("Bo Ra"))),
            "bora"
        );
        let long = "x".repeat(80);
        assert_eq!(username_base(&identity(Some(&long), None, None)).len(), 24);
    }
}
