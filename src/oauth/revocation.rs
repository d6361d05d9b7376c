//! Token revocation (RFC 7009).

use crate::keys::jwt;

use super::access_token::AccessClaims;
use super::client::Client;
use super::context::OAuthContext;
use super::error::OAuthError;
use super::secret::sha256_hex;

/// Revokes `token` if it was issued to `client`. Unknown, foreign and malformed tokens change
/// nothing and are not reported (§2.2: the answer is 200 either way), so revocation cannot be
/// used to learn whether a token exists.
pub async fn revoke(
    ctx: &OAuthContext<'_>,
    client: &Client,
    token: &str,
) -> Result<(), OAuthError> {
    let (store, now) = (ctx.store, ctx.now);
    if token.split('.').count() == 3 {
        // An access token: signature and issuer checked, expiry not (an expired token needs
        // no revoking, and recording it does no harm).
        let Ok((claims, _typ)) = jwt::verify::<AccessClaims>(ctx.keys, token) else {
            return Ok(());
        };
        if claims.iss == ctx.issuer && claims.client_id == client.id() && claims.exp > now {
            store.revoke_access_token(&claims.jti, claims.exp).await?;
        }
        return Ok(());
    }
    // A refresh token: the whole family goes, with the access tokens issued from it.
    if let Some(record) = store.refresh_token(&sha256_hex(token)).await?
        && record.client_id == client.id()
    {
        store
            .revoke_grant(&record.grant_id, now, now + ctx.settings.access_token_ttl)
            .await?;
    }
    Ok(())
}
