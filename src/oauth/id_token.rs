//! The id_token (OIDC Core §2, §3.1.3.6).

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::keys::{KeySet, SigningAlg};
use crate::oauth::error::OAuthError;

use crate::keys::jwt::{self, JwtError};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub amr: Vec<String>,
    /// The authentication context class the sign-in met (`oauth::acr`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub acr: Option<String>,
    /// The upstream identity provider of a federated sign-in (`google`, `kakao`, ...).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub idp: Option<String>,
    #[serde(flatten)]
    pub profile: Map<String, Value>,
}

pub fn sign(keys: &KeySet, alg: SigningAlg, claims: &IdTokenClaims) -> Result<String, JwtError> {
    jwt::sign(keys, alg, "JWT", claims)
}

/// §3.1.3.6: base64url of the left half of the SHA-256 of the access token (RS256 and ES256
/// both hash with SHA-256).
pub fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// Reads an `id_token_hint` (OIDC Core §3.1.2.1, RP-Initiated Logout §2): an ID token we
/// issued — our signature and issuer, and `typ` JWT, so an access token or a logout token
/// (also ours, also signed) is not taken for one. An expired hint is fine.
pub fn verify_hint(keys: &KeySet, hint: &str, issuer: &str) -> Result<IdTokenClaims, OAuthError> {
    let invalid = || OAuthError::invalid_request("id_token_hint is not a valid id_token of ours");
    let (claims, typ): (IdTokenClaims, _) = jwt::verify(keys, hint).map_err(|_| invalid())?;
    if typ.as_deref() != Some("JWT") {
        return Err(invalid());
    }
    if claims.iss != issuer {
        return Err(OAuthError::invalid_request(
            "id_token_hint is from another issuer",
        ));
    }
    Ok(claims)
}

/// The subject of a valid `id_token_hint`.
pub fn hint_subject(keys: &KeySet, hint: &str, issuer: &str) -> Option<String> {
    verify_hint(keys, hint, issuer).ok().map(|c| c.sub)
}

#[cfg(test)]
mod tests {
    use super::at_hash;

    #[test]
    fn at_hash_is_left_half_of_sha256() {
        // Example from OIDC Core A.3 (RS256 id_token with at_hash).
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
