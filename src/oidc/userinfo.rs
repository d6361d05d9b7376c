//! What `/userinfo` answers for an access token (OIDC Core §5.3).

use serde_json::{Map, Value};

use crate::oauth::access_token;
use crate::oauth::context::OAuthContext;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::scope::{OPENID, Scopes};

use crate::oauth::claims;

/// The claims of the token's user, by the token's scopes. A token without `openid`, or of a
/// user who is gone, disabled or signed out since, gets nothing (`access_token::validate`).
pub async fn claims(ctx: &OAuthContext<'_>, token: &str) -> Result<Map<String, Value>, OAuthError> {
    let valid = access_token::validate(ctx.store, ctx.keys, token, ctx.issuer, ctx.now).await?;
    let claims = &valid.claims;
    // A token for other resource servers only (RFC 8707) is not for this endpoint.
    if !claims.aud.contains(ctx.issuer) {
        return Err(OAuthError::new(
            ErrorCode::InvalidToken,
            "the access token is not for this server",
        ));
    }
    let scopes = Scopes::parse(&claims.scope).unwrap_or_default();
    if !scopes.contains(OPENID) {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "the token lacks the openid scope",
        ));
    }
    // A machine client's token has no person to describe.
    let Some(user) = valid.account else {
        return Err(OAuthError::new(
            ErrorCode::InvalidToken,
            "the access token is not a person's",
        ));
    };
    let mut out = Map::new();
    out.insert("sub".into(), user.id.clone().into());
    out.extend(claims::for_scopes(&user, &scopes));
    Ok(out)
}
