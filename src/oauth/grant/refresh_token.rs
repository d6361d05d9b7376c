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
    resource: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let token = token.ok_or_else(|| OAuthError::invalid_request("refresh_token is missing"))?;
    let old_hash = sha256_hex(token);
    let refused = || OAuthError::invalid_grant("the refresh token is invalid, expired or revoked");
    // Narrowing is allowed, widening is not (§6), and a refused scope must not cost the token:
    // only a request that names a scope needs the token read before it is rotated.
    let narrowed = match scope {
        None => None,
        Some(s) => {
            let asked = Scopes::parse(s)
                .ok_or_else(|| OAuthError::new(ErrorCode::InvalidScope, "scope is malformed"))?;
            let granted = match ctx.store.refresh_token(&old_hash).await? {
                Some(t) if t.client_id == client.id() => granted_scopes(&t),
                _ => return Err(refused()),
            };
            if asked.is_empty() || !asked.is_subset_of(&granted) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    "scope exceeds what was granted",
                ));
            }
            Some(asked)
        }
    };

    let next_token = random_token();
    let rotation = ctx
        .store
        .rotate_refresh_token(
            &old_hash,
            client.id(),
            &sha256_hex(&next_token),
            ctx.now + ctx.settings.refresh_idle_ttl,
            ctx.now,
            ctx.settings.refresh_reuse_grace,
        )
        .await?;
    let current = match rotation {
        Rotation::Rotated { presented } => presented,
        Rotation::Refused => return Err(refused()),
        Rotation::Reused { grant_id } => {
            revoke_family(ctx, &grant_id).await?;
            tracing::warn!(
                client_id = client.id(),
                grant_id,
                "refresh token reused; family revoked"
            );
            let event = crate::audit::Event::new(crate::audit::EventKind::RefreshTokenReuse)
                .client(Some(client.id()))
                .with("grant_id", grant_id);
            ctx.audit.record(event, ctx.now);
            return Err(OAuthError::invalid_grant(
                "the refresh token was already used",
            ));
        }
    };
    // The successor keeps the grant's scope; only this response's tokens are narrowed.
    let scopes = narrowed.unwrap_or_else(|| granted_scopes(&current));
    let user = match ctx.store.user(&current.user_id).await? {
        Some(u) if !u.disabled => u,
        _ => {
            // A disabled or deleted account ends the family (the successor just stored too).
            revoke_family(ctx, &current.grant_id).await?;
            return Err(OAuthError::invalid_grant("the user is no longer active"));
        }
    };
    let signed = Signed {
        user: &user,
        grant_id: &current.grant_id,
        scopes: &scopes,
        auth_time: current.auth_time,
        amr: &current.amr,
        sid: current.sid.as_deref(),
        idp: current.idp.as_deref(),
        nonce: None,
        resource,
        grant_type: super::GrantType::RefreshToken,
    }
    .sign(ctx, client)?;
    Ok(signed.into_response(ctx, Some(next_token)))
}

fn granted_scopes(token: &RefreshTokenRecord) -> Scopes {
    Scopes::parse(&token.scope).unwrap_or_default()
}

/// Revokes every refresh token of the family and the access tokens issued from it.
async fn revoke_family(ctx: &OAuthContext<'_>, grant_id: &str) -> Result<(), OAuthError> {
    ctx.store
        .revoke_grant(grant_id, ctx.now, ctx.now + ctx.settings.access_token_ttl)
        .await?;
    Ok(())
}
