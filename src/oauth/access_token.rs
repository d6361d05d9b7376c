//! Access tokens as JWTs (RFC 9068): `typ: at+jwt`, ES256 by default, verifiable by any
//! resource server from the JWKS.

use serde::{Deserialize, Serialize};

use crate::keys::{KeySet, SigningAlg};
use crate::store::Store;

use super::error::{ErrorCode, OAuthError};
use super::resource::Audience;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    /// munjigi itself, or the resource servers the client registered (RFC 8707).
    pub aud: Audience,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// The grant this token came from: revoking the grant refuses the token.
    pub gid: String,
    /// The account's role, with the `roles` scope (for gateways and resource servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

pub const TYP: &str = "at+jwt";
pub const ALG: SigningAlg = SigningAlg::Es256;

pub fn sign(keys: &KeySet, claims: &AccessClaims) -> Result<String, OAuthError> {
    crate::keys::jwt::sign(keys, ALG, TYP, claims).map_err(|e| {
        tracing::error!(error = %e, "cannot sign access token");
        OAuthError::server_error()
    })
}

/// Signature, `typ`, issuer and expiry. Revocation is the caller's to check (it needs the
/// store).
pub fn verify(
    keys: &KeySet,
    token: &str,
    issuer: &str,
    now: i64,
) -> Result<AccessClaims, OAuthError> {
    let invalid = |why: &'static str| OAuthError::new(ErrorCode::InvalidToken, why);
    let (claims, typ): (AccessClaims, _) = crate::keys::jwt::verify(keys, token)
        .map_err(|_| invalid("the access token is invalid"))?;
    if !typ.is_some_and(|t| {
        t.eq_ignore_ascii_case(TYP) || t.eq_ignore_ascii_case("application/at+jwt")
    }) {
        return Err(invalid("not an access token"));
    }
    if claims.iss != issuer {
        return Err(invalid("the access token is from another issuer"));
    }
    if claims.exp <= now {
        return Err(invalid("the access token has expired"));
    }
    Ok(claims)
}

/// `verify`, and not revoked (its grant or the token itself): what every resource endpoint
/// of ours checks.
pub async fn validate(
    store: &Store,
    keys: &KeySet,
    token: &str,
    issuer: &str,
    now: i64,
) -> Result<AccessClaims, OAuthError> {
    let claims = verify(keys, token, issuer, now)?;
    if store
        .is_access_token_revoked(&claims.gid, &claims.jti)
        .await?
    {
        return Err(OAuthError::new(
            ErrorCode::InvalidToken,
            "the access token has been revoked",
        ));
    }
    Ok(claims)
}
