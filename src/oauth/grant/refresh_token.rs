//! The refresh token grant (RFC 6749 §6, RFC 9700 §4.14): every use rotates the token; a
//! rotated token presented again revokes its whole family.

use crate::oauth::client::Client;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::scope::Scopes;
use crate::oauth::secret::{random_token, sha256_hex};
use crate::store::{RefreshTokenRecord, Rotation};

use crate::oauth::context::OAuthContext;

use super::{Signed, TokenResponse};

pub async fn refresh(
    ctx: &OAuthContext<'_>,
    client: &Client,
    token: Option<&str>,
    scope: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let token = token.ok_or_else(|| OAuthError::invalid_request("refresh_token is missing"))?;
    let old_hash = sha256_hex(token);
    let refused = || OAuthError::invalid_grant("the refresh token is invalid, expired or revoked");
    let current = match ctx.store.refresh_token(&old_hash).await? {
        Some(t) if t.client_id == client.id() => t,
        _ => return Err(refused()),
    };
    let granted = Scopes::parse(&current.scope).unwrap_or_default();
    // Narrowing is allowed, widening is not (§6); the new refresh token keeps the grant's scope.
    let scopes = match scope {
        None => granted.clone(),
        Some(s) => {
            let asked = Scopes::parse(s)
                .ok_or_else(|| OAuthError::new(ErrorCode::InvalidScope, "scope is malformed"))?;
            if asked.is_empty() || !asked.is_subset_of(&granted) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    "scope exceeds what was granted",
                ));
            }
            asked
        }
    };
    let user = match ctx.store.user(&current.user_id).await? {
        Some(u) if !u.disabled => u,
        _ => {
            // A disabled or deleted account ends the family.
            revoke_family(ctx, &current.grant_id).await?;
            return Err(OAuthError::invalid_grant("the user is no longer active"));
        }
    };

    let next_token = random_token();
    let next = RefreshTokenRecord {
        token_hash: sha256_hex(&next_token),
        created_at: ctx.now,
        expires_at: (ctx.now + ctx.settings.refresh_idle_ttl).min(current.family_expires_at),
        ..current.clone()
    };
    match ctx
        .store
        .rotate_refresh_token(
            &old_hash,
            client.id(),
            &next,
            ctx.now,
            ctx.settings.refresh_reuse_grace,
        )
        .await?
    {
        Rotation::Rotated => {}
        Rotation::Refused => return Err(refused()),
        Rotation::Reused { grant_id } => {
            revoke_family(ctx, &grant_id).await?;
            tracing::warn!(
                client_id = client.id(),
                grant_id,
                "refresh token reused; family revoked"
            );
            return Err(OAuthError::invalid_grant(
                "the refresh token was already used",
            ));
        }
    }
    let signed = Signed {
        user: &user,
        grant_id: &current.grant_id,
        scopes: &scopes,
        auth_time: current.auth_time,
        amr: &current.amr,
        sid: current.sid.as_deref(),
        idp: current.idp.as_deref(),
        nonce: None,
    }
    .sign(ctx, client)?;
    Ok(signed.into_response(ctx, Some(next_token), &scopes))
}

/// Revokes every refresh token of the family and the access tokens issued from it.
async fn revoke_family(ctx: &OAuthContext<'_>, grant_id: &str) -> Result<(), OAuthError> {
    ctx.store
        .revoke_grant(grant_id, ctx.now, ctx.now + ctx.settings.access_token_ttl)
        .await?;
    Ok(())
}
