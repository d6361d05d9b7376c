//! Passkeys (WebAuthn, webauthn-rs): registering one from the account page, and signing in
//! with one — as the second factor after a password, or on its own (a passkey that verified
//! its user is two factors: the device, and the PIN or biometric that unlocked it).
//!
//! Ceremony state (the challenge) is kept between the two halves: in the session when
//! someone is signed in or half-way (registration, second factor), sealed in the browser for
//! a sign-in with a passkey alone (so that an anonymous prompt stores nothing).

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, DiscoverableKey, Passkey,
    PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Url, Uuid, Webauthn, WebauthnBuilder, WebauthnError,
};

use webauthn_rs_proto::ResidentKeyRequirement;

use super::reauth::Reauthenticated;
use crate::store::{PasskeyRecord, Store, StoreError, UserRecord};

/// Longest passkey name kept.
pub const NAME_MAX: usize = 60;

/// The relying party for an issuer: its host is the RP ID, its origin the one origin allowed.
/// `None` for an issuer on an IP address (WebAuthn needs a domain: use `localhost` locally).
pub fn relying_party(issuer: &str, name: &str) -> Option<Webauthn> {
    let origin = Url::parse(issuer).ok()?;
    let host = match origin.host()? {
        url::Host::Domain(d) => d.to_owned(),
        _ => return None,
    };
    WebauthnBuilder::new(&host, &origin)
        .ok()?
        .rp_name(name)
        .build()
        .ok()
}

/// What a passkey sign-in proved (RFC 8176): a key the device keeps (`hwk`) or one that
/// syncs between devices (`swk`), unlocked by its user, so two factors.
pub fn methods(backup_eligible: bool) -> Vec<String> {
    let key = if backup_eligible { "swk" } else { "hwk" };
    vec![key.to_owned(), "user".to_owned(), "mfa".to_owned()]
}

/// Ceremony state kept in the session.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Ceremony {
    Register(PasskeyRegistration),
    SecondFactor {
        user_id: String,
        state: PasskeyAuthentication,
    },
    Passwordless(DiscoverableAuthentication),
}

#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    #[error("passkeys are off: the issuer is not on a domain name")]
    Unavailable,
    #[error("the passkey was refused: {0}")]
    Refused(String),
    #[error("no passkey of this account matches")]
    Unknown,
    /// Registering a passkey the account (or another) already has.
    #[error("this passkey is registered already")]
    Exists,
    /// The passkey signed with a counter that did not move forward: another copy of the
    /// authenticator is in use (WebAuthn §6.1.1). Refused; the account's owner is told.
    #[error(
        "the passkey {passkey:?} of account {user_id} may be cloned: its signature counter did not increase"
    )]
    Cloned { user_id: String, passkey: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct Passkeys<'a> {
    pub store: &'a Store,
    pub webauthn: Option<&'a Webauthn>,
}

/// The WebAuthn user handle of an account: its id when that is a UUID (accounts made here),
/// else one derived from it. Never the username (it would leak to anyone holding the device).
pub fn user_handle(user_id: &str) -> Uuid {
    Uuid::parse_str(user_id).unwrap_or_else(|_| {
        let digest = Sha256::digest(user_id.as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Uuid::from_bytes(bytes)
    })
}

fn credential_id(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn refused(e: impl std::fmt::Display) -> PasskeyError {
    PasskeyError::Refused(e.to_string())
}

/// A refused assertion: `Cloned` (naming the account and the passkey) when the counter says
/// a copy is in use, else `Refused`.
fn assertion_refused(
    e: WebauthnError,
    records: &[PasskeyRecord],
    credential: &PublicKeyCredential,
) -> PasskeyError {
    let used = credential_id(credential.get_credential_id());
    match (e, records.iter().find(|r| r.credential_id == used)) {
        (WebauthnError::CredentialPossibleCompromise, Some(record)) => PasskeyError::Cloned {
            user_id: record.user_id.clone(),
            passkey: record.name.clone(),
        },
        (e, _) => refused(e),
    }
}

fn parse(record: &PasskeyRecord) -> Result<Passkey, StoreError> {
    serde_json::from_str(&record.passkey).map_err(|e| StoreError::Corrupt(format!("passkey: {e}")))
}

impl Passkeys<'_> {
    fn webauthn(&self) -> Result<&Webauthn, PasskeyError> {
        self.webauthn.ok_or(PasskeyError::Unavailable)
    }

    pub fn available(&self) -> bool {
        self.webauthn.is_some()
    }

    pub async fn list(&self, user_id: &str) -> Result<Vec<PasskeyRecord>, StoreError> {
        self.store.passkeys_of(user_id).await
    }

    /// The options for `navigator.credentials.create`, and the state to keep. A passkey is
    /// a new way in: its owner must just have proved who they are (`reauth`), and only a
    /// ceremony started here can finish a registration.
    pub async fn start_registration(
        &self,
        proof: &Reauthenticated,
    ) -> Result<(CreationChallengeResponse, Ceremony), PasskeyError> {
        let user = proof.user();
        let existing = self.store.passkeys_of(&user.id).await?;
        let exclude = existing
            .iter()
            .map(parse)
            .collect::<Result<Vec<_>, _>>()?
            .iter()
            .map(|p| p.cred_id().clone())
            .collect();
        let display = user.name.clone().unwrap_or(user.username.clone());
        let (mut options, state) = self
            .webauthn()?
            .start_passkey_registration(
                user_handle(&user.id),
                &user.username,
                &display,
                Some(exclude),
            )
            .map_err(refused)?;
        // A passkey the authenticator keeps with its user handle, so it can sign in without
        // a username (webauthn-rs leaves that to the authenticator).
        if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
            selection.resident_key = Some(ResidentKeyRequirement::Required);
            selection.require_resident_key = true;
        }
        Ok((options, Ceremony::Register(state)))
    }

    /// Checks the new credential against the kept state and stores it under `name`.
    pub async fn finish_registration(
        &self,
        user: &UserRecord,
        name: &str,
        credential: &RegisterPublicKeyCredential,
        state: &PasskeyRegistration,
        now: i64,
    ) -> Result<PasskeyRecord, PasskeyError> {
        let passkey = self
            .webauthn()?
            .finish_passkey_registration(credential, state)
            .map_err(refused)?;
        let name: String = name
            .trim()
            .chars()
            .filter(|c| !c.is_control())
            .take(NAME_MAX)
            .collect();
        let record = PasskeyRecord {
            credential_id: credential_id(passkey.cred_id().as_ref()),
            user_id: user.id.clone(),
            user_handle: user_handle(&user.id).to_string(),
            name: if name.is_empty() {
                "Passkey".to_owned()
            } else {
                name
            },
            passkey: serde_json::to_string(&passkey).map_err(refused)?,
            created_at: now,
            last_used_at: None,
        };
        match self.store.insert_passkey(&record).await {
            Ok(()) => Ok(record),
            Err(StoreError::Conflict) => Err(PasskeyError::Exists),
            Err(e) => Err(e.into()),
        }
    }

    /// The options for `navigator.credentials.get` with the account's passkeys, when the
    /// passkey is the second factor after a password; `Unknown` when it has none.
    pub async fn start_second_factor(
        &self,
        user_id: &str,
    ) -> Result<(RequestChallengeResponse, Ceremony), PasskeyError> {
        let keys = self
            .store
            .passkeys_of(user_id)
            .await?
            .iter()
            .map(parse)
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(PasskeyError::Unknown);
        }
        let (options, state) = self
            .webauthn()?
            .start_passkey_authentication(&keys)
            .map_err(refused)?;
        Ok((
            options,
            Ceremony::SecondFactor {
                user_id: user_id.to_owned(),
                state,
            },
        ))
    }

    /// Options for a passkey sign-in without a username: the authenticator offers the
    /// passkeys it holds for this site.
    pub fn start_passwordless(&self) -> Result<(RequestChallengeResponse, Ceremony), PasskeyError> {
        let (options, state) = self
            .webauthn()?
            .start_discoverable_authentication()
            .map_err(refused)?;
        Ok((options, Ceremony::Passwordless(state)))
    }

    /// Checks an assertion against the kept state. Returns the account and the methods the
    /// sign-in proved.
    pub async fn finish_sign_in(
        &self,
        credential: &PublicKeyCredential,
        ceremony: Ceremony,
        now: i64,
    ) -> Result<(String, Vec<String>), PasskeyError> {
        let webauthn = self.webauthn()?;
        let (records, result) = match ceremony {
            Ceremony::SecondFactor { user_id, state } => {
                let records = self.store.passkeys_of(&user_id).await?;
                let result = webauthn
                    .finish_passkey_authentication(credential, &state)
                    .map_err(|e| assertion_refused(e, &records, credential))?;
                (records, result)
            }
            Ceremony::Passwordless(state) => {
                let (handle, _) = webauthn
                    .identify_discoverable_authentication(credential)
                    .map_err(refused)?;
                let records = self.store.passkeys_by_handle(&handle.to_string()).await?;
                let keys: Vec<DiscoverableKey> = records
                    .iter()
                    .map(parse)
                    .collect::<Result<Vec<_>, _>>()?
                    .iter()
                    .map(DiscoverableKey::from)
                    .collect();
                if keys.is_empty() {
                    return Err(PasskeyError::Unknown);
                }
                let result = webauthn
                    .finish_discoverable_authentication(credential, state, &keys)
                    .map_err(|e| assertion_refused(e, &records, credential))?;
                (records, result)
            }
            Ceremony::Register(_) => return Err(PasskeyError::Unknown),
        };
        let used = credential_id(result.cred_id().as_ref());
        let record = records
            .into_iter()
            .find(|r| r.credential_id == used)
            .ok_or(PasskeyError::Unknown)?;
        let mut passkey = parse(&record)?;
        passkey.update_credential(&result);
        let json = serde_json::to_string(&passkey).map_err(refused)?;
        self.store
            .passkey_used(&record.credential_id, &json, now)
            .await?;
        Ok((record.user_id, methods(result.backup_eligible())))
    }

    /// Removes one of the account's passkeys, its owner having just proved who they are,
    /// unless it is the account's last way in (false; `account::ways_in` decides, inside the
    /// removal's transaction).
    pub async fn remove(
        &self,
        proof: &Reauthenticated,
        credential_id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        super::ways_in::remove_passkey(self.store, proof.user_id(), credential_id, now).await
    }
}

/// A sign-in refused because the passkey looks copied (`PasskeyError::Cloned`): the audit
/// event names the account, the passkey and the reason, and the account's address is told.
pub async fn report_clone(
    links: &super::links::Links<'_>,
    audit: &crate::audit::Audit,
    clone: CloneReport<'_>,
) -> Result<(), StoreError> {
    let event = crate::audit::Event::new(crate::audit::EventKind::SignInFailed)
        .user(clone.user_id)
        .ip(clone.ip)
        .with("method", "passkey")
        .with("reason", "passkey_counter_not_increasing")
        .with("passkey", clone.passkey);
    audit.record(event, clone.now);
    if let Some(user) = links.accounts.store.user(clone.user_id).await? {
        let sent = links
            .notify_passkey_cloned(&user, clone.passkey, clone.lang, clone.now)
            .await?;
        tracing::warn!(user = %clone.user_id, ?sent, "passkey refused: its counter did not increase (a copy may be in use)");
    }
    Ok(())
}

/// Who and what `report_clone` tells about.
pub struct CloneReport<'a> {
    pub user_id: &'a str,
    pub passkey: &'a str,
    pub ip: std::net::IpAddr,
    /// The language of the mail: the page's.
    pub lang: &'a str,
    pub now: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relying_party_needs_a_domain() {
        assert!(relying_party("https://id.example.com", "munjigi").is_some());
        assert!(relying_party("http://localhost:8080", "munjigi").is_some());
        assert!(relying_party("http://127.0.0.1:8080", "munjigi").is_none());
    }

    #[test]
    fn handles_are_stable_and_not_the_username() {
        let id = "6f1c1e0e-8d7a-4d55-9d0e-0b4b9c1f7c11";
        assert_eq!(user_handle(id).to_string(), id);
        assert_eq!(user_handle("cli-made"), user_handle("cli-made"));
        assert_ne!(user_handle("cli-made"), user_handle("other"));
    }
}
