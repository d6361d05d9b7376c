//! Signing and verifying compact JWS with the server's keys.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{KeySet, SigningAlg};

#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("no active {0} key")]
    NoKey(&'static str),
    #[error("unknown or missing kid")]
    UnknownKey,
    #[error("bad token: {0}")]
    Invalid(String),
}

pub fn sign<T: Serialize>(
    keys: &KeySet,
    alg: SigningAlg,
    typ: &str,
    claims: &T,
) -> Result<String, JwtError> {
    let key = keys.active(alg).ok_or(JwtError::NoKey(alg.as_str()))?;
    let mut header = josekit::jws::JwsHeader::new();
    header.set_token_type(typ);
    header.set_key_id(&key.kid);
    let payload = serde_json::to_vec(claims).map_err(|e| JwtError::Invalid(e.to_string()))?;
    josekit::jws::serialize_compact(&payload, &header, key.signer.as_ref())
        .map_err(|e| JwtError::Invalid(e.to_string()))
}

/// Verifies with the key named by `kid`, in the algorithm of that key only: `alg: none`,
/// HMAC-with-the-public-key and kid/alg mix-ups all fail here. Returns the claims and `typ`.
pub fn verify<T: DeserializeOwned>(
    keys: &KeySet,
    token: &str,
) -> Result<(T, Option<String>), JwtError> {
    if token.len() > 16 * 1024 {
        return Err(JwtError::Invalid("too long".into()));
    }
    let (payload, header) = josekit::jws::deserialize_compact_with_selector(token, |header| {
        let key = header.key_id().and_then(|kid| keys.by_kid(kid));
        match key {
            Some(key) if header.algorithm() == Some(key.alg.as_str()) => {
                Ok(Some(key.verifier.as_ref()))
            }
            _ => Ok(None),
        }
    })
    .map_err(|e| JwtError::Invalid(e.to_string()))?;
    let claims = serde_json::from_slice(&payload).map_err(|e| JwtError::Invalid(e.to_string()))?;
    Ok((claims, header.token_type().map(str::to_owned)))
}
