//! The id_token (OIDC Core §2, §3.1.3.6).

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::keys::{KeySet, SigningAlg};

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

/// The subject of an `id_token_hint` we issued (expired hints are fine, OIDC Core §3.1.2.1).
pub fn hint_subject(keys: &KeySet, hint: &str, issuer: &str) -> Option<String> {
    let (claims, _typ): (IdTokenClaims, _) = jwt::verify(keys, hint).ok()?;
    (claims.iss == issuer).then_some(claims.sub)
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
