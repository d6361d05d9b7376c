//! One grant type per file.

pub mod authorization_code;

use serde::Serialize;

use crate::keys::KeySet;
use crate::store::Store;

/// Lifetimes of what the token endpoint issues.
#[derive(Clone, Debug)]
pub struct TokenSettings {
    pub code_ttl: i64,
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    pub refresh_idle_ttl: i64,
    pub refresh_absolute_ttl: i64,
    /// `aud` of access tokens when no resource is named (RFC 9068 §3).
    pub audience: String,
}

/// What a grant needs from the server: passed in, never reached for.
pub struct GrantContext<'a> {
    pub store: &'a Store,
    pub keys: &'a KeySet,
    pub issuer: &'a str,
    pub settings: &'a TokenSettings,
    pub now: i64,
}

/// RFC 6749 §5.1 (+ OIDC Core §3.1.3.3).
#[derive(Clone, Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
}
