//! The second factor of a sign-in: an authenticator app (TOTP) with recovery codes. Enrolment
//! (a secret shown once, confirmed with a code), the check at sign-in (throttled like a
//! password, each code good once), and what an enrolled account may do with them.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::clock::Expires;
use crate::keys::Kek;
use crate::oauth::secret::SecretHasher;
use crate::store::{LockPolicy, Store, StoreError};

use super::reauth::Reauthenticated;
use super::throttle::SIGN_IN_ACCOUNT;
use super::totp;

/// Recovery codes per account.
pub const RECOVERY_CODES: usize = 10;
/// An enrolment not confirmed within this time starts over.
pub const ENROLMENT_TTL: i64 = 10 * 60;
/// Wrong codes per account: the password's policy.
const WRONG_CODES: LockPolicy = SIGN_IN_ACCOUNT;

/// What the account page and the sign-in need: the store, the KEK that seals secrets, the
/// hasher of recovery codes.
pub struct SecondFactors<'a> {
    pub store: &'a Store,
    pub kek: &'a Kek,
    pub hasher: &'a SecretHasher,
}

/// An authenticator being set up: the secret, sealed, kept in the browser session until the
/// person types a code from it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Enrolment {
    pub secret_sealed: String,
    pub started_at: i64,
}

impl crate::clock::Expires for Enrolment {
    const TTL: i64 = ENROLMENT_TTL;
    fn made_at(&self) -> i64 {
        self.started_at
    }
}

/// What the enrolment page shows.
pub struct EnrolmentView {
    /// The secret in base32, for typing it in by hand.
    pub secret: String,
    pub otpauth_uri: String,
    /// The URI as a QR code image (`data:` URL).
    pub qr: Option<String>,
}

/// Which second factor was used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Used {
    Authenticator,
    RecoveryCode,
}

#[derive(Debug, thiserror::Error)]
pub enum SecondFactorError {
    #[error("the code is wrong or used")]
    WrongCode,
    #[error("throttled for {0} s")]
    Throttled(i64),
    /// The enrolment expired or its secret cannot be opened.
    #[error("the enrolment expired")]
    EnrolmentExpired,
    #[error("stored secret cannot be opened: {0}")]
    Sealed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn sealing_id(user_id: &str) -> String {
    format!("totp:{user_id}")
}

fn codes_sealing_id(user_id: &str) -> String {
    format!("recovery-codes:{user_id}")
}

impl SecondFactors<'_> {
    /// Whether the account signs in with a second factor (an authenticator app or a passkey).
    pub async fn enrolled(&self, user_id: &str) -> Result<bool, StoreError> {
        self.store.has_second_factor(user_id).await
    }

    /// Whether the account has an authenticator app (codes can confirm who this is).
    pub async fn has_authenticator(&self, user_id: &str) -> Result<bool, StoreError> {
        Ok(self.authenticator_since(user_id).await?.is_some())
    }

    /// Since when the account has its authenticator app, if it has one.
    pub async fn authenticator_since(&self, user_id: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.store.totp_of(user_id).await?.map(|t| t.created_at))
    }

    /// Starts setting up an authenticator, its owner having just proved who they are: a new
    /// secret, sealed for the session.
    pub fn begin_enrolment(
        &self,
        proof: &Reauthenticated,
        now: i64,
    ) -> Result<Enrolment, SecondFactorError> {
        let user_id = proof.user_id();
        let secret = totp::new_secret();
        let secret_sealed = self
            .kek
            .seal(&secret, &sealing_id(user_id))
            .map_err(|e| SecondFactorError::Sealed(e.to_string()))?;
        Ok(Enrolment {
            secret_sealed,
            started_at: now,
        })
    }

    /// What the person scans or types.
    pub fn show_enrolment(
        &self,
        user_id: &str,
        account_label: &str,
        issuer_name: &str,
        enrolment: &Enrolment,
    ) -> Result<EnrolmentView, SecondFactorError> {
        let secret = self.open(user_id, &enrolment.secret_sealed)?;
        let uri = totp::otpauth_uri(&secret, issuer_name, account_label);
        Ok(EnrolmentView {
            secret: totp::base32(&secret),
            qr: totp::qr_data_url(&uri),
            otpauth_uri: uri,
        })
    }

    /// Confirms the enrolment with a code from the app; the authenticator is on and the
    /// recovery codes (returned once, stored hashed) replace any earlier ones.
    pub async fn confirm_enrolment(
        &self,
        user_id: &str,
        enrolment: &Enrolment,
        code: &str,
        now: i64,
    ) -> Result<Vec<String>, SecondFactorError> {
        if !enrolment.is_fresh(now) {
            return Err(SecondFactorError::EnrolmentExpired);
        }
        let secret = self.open(user_id, &enrolment.secret_sealed)?;
        let step =
            totp::matching_step(&secret, code, now, 0).ok_or(SecondFactorError::WrongCode)?;
        let codes = new_recovery_codes();
        let hashes: Vec<String> = codes.iter().map(|c| self.code_hash(user_id, c)).collect();
        self.store
            .enable_totp(user_id, &enrolment.secret_sealed, step, &hashes, now)
            .await?;
        Ok(codes)
    }

    /// Checks a code typed at sign-in: an authenticator code (each good once) or a recovery
    /// code (each good once). Throttled per account like passwords; the attempt is counted
    /// before it is checked, so a burst of guesses is throttled as surely as a sequence.
    pub async fn check(
        &self,
        user_id: &str,
        code: &str,
        _ip: IpAddr,
        now: i64,
    ) -> Result<Used, SecondFactorError> {
        let subject = format!("second-factor:{user_id}");
        let wait = self.store.login_wait(&[subject.as_str()], now).await?;
        if wait > 0 {
            return Err(SecondFactorError::Throttled(wait));
        }
        self.store
            .count_login_failure(&subject, &WRONG_CODES, now)
            .await?;
        let used = self.spend(user_id, code, now).await?;
        if used.is_some() {
            self.store.forget_login_failures(&subject).await?;
        }
        used.ok_or(SecondFactorError::WrongCode)
    }

    async fn spend(
        &self,
        user_id: &str,
        code: &str,
        now: i64,
    ) -> Result<Option<Used>, SecondFactorError> {
        let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        // Recovery codes work without an authenticator app too (an account whose second
        // factor is a passkey has them).
        if digits.len() == totp::DIGITS as usize {
            let Some(record) = self.store.totp_of(user_id).await? else {
                return Ok(None);
            };
            let secret = self.open(user_id, &record.secret_sealed)?;
            return Ok(
                match totp::matching_step(&secret, &digits, now, record.last_used_step) {
                    Some(step) if self.store.use_totp_step(user_id, step).await? => {
                        Some(Used::Authenticator)
                    }
                    _ => None,
                },
            );
        }
        let normalized = normalize_recovery_code(code);
        if normalized.len() != RECOVERY_CODE_LEN {
            return Ok(None);
        }
        let hash = self.code_hash(user_id, &normalized);
        Ok(self
            .store
            .use_recovery_code(user_id, &hash, now)
            .await?
            .then_some(Used::RecoveryCode))
    }

    /// New recovery codes (the old ones stop working), returned once.
    pub async fn new_recovery_codes(
        &self,
        user_id: &str,
        now: i64,
    ) -> Result<Vec<String>, StoreError> {
        let codes = new_recovery_codes();
        let hashes: Vec<String> = codes.iter().map(|c| self.code_hash(user_id, c)).collect();
        self.store
            .replace_recovery_codes(user_id, &hashes, now)
            .await?;
        Ok(codes)
    }

    pub async fn recovery_codes_left(&self, user_id: &str) -> Result<i64, StoreError> {
        self.store.recovery_codes_left(user_id).await
    }

    /// Whether the second step of a sign-in can take a typed code: an authenticator app's,
    /// or a recovery code.
    pub async fn accepts_codes(&self, user_id: &str) -> Result<bool, StoreError> {
        Ok(self.has_authenticator(user_id).await? || self.recovery_codes_left(user_id).await? > 0)
    }

    /// A first second factor that comes without recovery codes (a passkey; an authenticator
    /// app's confirmation makes its own) gets them, as an authenticator app does: else
    /// losing it would need an administrator. `None` when the account has codes left.
    pub async fn recovery_codes_for_first_factor(
        &self,
        user_id: &str,
        now: i64,
    ) -> Result<Option<Vec<String>>, StoreError> {
        if self.recovery_codes_left(user_id).await? > 0 {
            return Ok(None);
        }
        Ok(Some(self.new_recovery_codes(user_id, now).await?))
    }

    /// Recovery codes sealed under the KEK for the account, to be shown once on the next page.
    pub fn seal_codes(&self, user_id: &str, codes: &[String]) -> Result<String, SecondFactorError> {
        self.kek
            .seal(codes.join(" ").as_bytes(), &codes_sealing_id(user_id))
            .map_err(|e| SecondFactorError::Sealed(e.to_string()))
    }

    pub fn open_codes(
        &self,
        user_id: &str,
        sealed: &str,
    ) -> Result<Vec<String>, SecondFactorError> {
        let plain = self
            .kek
            .open(sealed, &codes_sealing_id(user_id))
            .map_err(|e| SecondFactorError::Sealed(e.to_string()))?;
        Ok(String::from_utf8_lossy(&plain)
            .split(' ')
            .map(str::to_owned)
            .collect())
    }

    /// Turns the authenticator app off, its owner having just proved who they are. Its
    /// recovery codes go with it, unless a passkey remains as the second factor (they are
    /// that passkey's way back too).
    pub async fn disable(&self, proof: &Reauthenticated) -> Result<bool, StoreError> {
        let user_id = proof.user_id();
        let keep_codes = !self.store.passkeys_of(user_id).await?.is_empty();
        self.store.disable_totp(user_id, keep_codes).await
    }

    fn open(&self, user_id: &str, sealed: &str) -> Result<Vec<u8>, SecondFactorError> {
        self.kek
            .open(sealed, &sealing_id(user_id))
            .map_err(|e| SecondFactorError::Sealed(e.to_string()))
    }

    fn code_hash(&self, user_id: &str, code: &str) -> String {
        self.hasher.hash(&format!(
            "recovery:{user_id}:{}",
            normalize_recovery_code(code)
        ))
    }
}

/// Ten characters of base32 (50 bits), shown as `abcde-fghij`.
const RECOVERY_CODE_LEN: usize = 10;

fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let bytes: [u8; 7] = rand::random();
            let code = totp::base32(&bytes).to_lowercase();
            format!("{}-{}", &code[..5], &code[5..RECOVERY_CODE_LEN])
        })
        .collect()
}

/// As typed: any case, with or without the dash and spaces.
fn normalize_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_ten_distinct_and_typeable() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), RECOVERY_CODES);
        for c in &codes {
            assert_eq!(c.len(), 11);
            assert_eq!(
                normalize_recovery_code(&c.to_uppercase().replace('-', " ")).len(),
                10
            );
        }
    }
}
