//! A completed sign-in as the protocol sees it: who, when and how. `/authorize` decides from
//! it (`max_age`, `prompt=login`, `acr_values`), the grants put it in tokens (`auth_time`,
//! `amr`, `acr`, `sid`); `account` makes it and keeps it in the browser session.

use serde::{Deserialize, Serialize};

use super::secret::random_token;

/// A completed sign-in, kept in the browser session: who, when (`auth_time`, OIDC Core §2) and
/// how (`amr`, RFC 8176).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SignIn {
    pub user_id: String,
    pub auth_time: i64,
    pub amr: Vec<String>,
    /// The OIDC session id (`sid` claim), not the cookie's id.
    pub sid: String,
    /// The upstream provider, for a sign-in through one (the id_token's `idp`).
    #[serde(default)]
    pub idp: Option<String>,
}

impl SignIn {
    /// A sign-in with a password just now, with a fresh OIDC session id.
    pub fn password(user_id: String, now: i64) -> Self {
        Self {
            user_id,
            auth_time: now,
            amr: vec!["pwd".into()],
            sid: random_token(),
            idp: None,
        }
    }

    /// A sign-in through an upstream provider just now. `amr` is `fed` (a federated identity
    /// provider authenticated the person, as Microsoft's and others' tokens say it): one
    /// factor, unless the provider says it checked two (then `mfa` too).
    pub fn federated(user_id: String, provider: &str, multi_factor: bool, now: i64) -> Self {
        let mut amr = vec!["fed".to_owned()];
        if multi_factor {
            amr.push("mfa".to_owned());
        }
        Self {
            user_id,
            auth_time: now,
            amr,
            sid: random_token(),
            idp: Some(provider.to_owned()),
        }
    }

    /// A sign-in with a passkey alone, just now, proving `amr` (`account::passkeys::methods`).
    pub fn passkey(user_id: String, amr: Vec<String>, now: i64) -> Self {
        Self {
            user_id,
            auth_time: now,
            amr,
            sid: random_token(),
            idp: None,
        }
    }

    /// How it was made, for the audit trail and metrics: the provider, `passkey` or
    /// `password`.
    pub fn method(&self) -> &str {
        match &self.idp {
            Some(idp) => idp,
            None if self.amr.first().is_some_and(|m| m == "hwk" || m == "swk") => "passkey",
            None => "password",
        }
    }

    /// Whether this sign-in gave two factors here: a passkey, or a first factor and a second
    /// of the account's own (a one-time code, a passkey). An upstream provider's word that it
    /// checked two (`fed` with `mfa`) is not one of the account's own factors.
    pub fn gave_own_second_factor(&self) -> bool {
        let own = |m: &String| matches!(m.as_str(), "otp" | "hwk" | "swk");
        super::acr::is_multi_factor(&self.amr) && (self.idp.is_none() || self.amr.iter().any(own))
    }

    /// The same sign-in completed with a second factor just now: its methods gain the second
    /// factor's and `mfa`, and `auth_time` is now (the session, `sid`, stays the same).
    pub fn with_second_factor(mut self, methods: &[String], now: i64) -> Self {
        self.amr = super::acr::with_second_factor(&self.amr, methods);
        self.auth_time = now;
        self
    }

    /// Whether this sign-in may still be used: within the absolute session lifetime.
    pub fn is_current(&self, now: i64, absolute_lifetime: i64) -> bool {
        now - self.auth_time <= absolute_lifetime
    }
}
