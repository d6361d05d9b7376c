//! The client credentials grant (RFC 6749 §4.4): machine-to-machine access tokens with the
//! client as subject. The hot path: an HMAC to authenticate (the client cached), one
//! signature, no database write.

use crate::oauth::access_token::{self, AccessClaims};
use crate::oauth::client::Client;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::scope::{OFFLINE_ACCESS, OPENID, Scopes};

use crate::oauth::context::OAuthContext;

use super::TokenResponse;

pub fn issue(
    ctx: &OAuthContext<'_>,
    client: &Client,
    scope: Option<&str>,
    resource: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    if client.is_public() {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "a public client cannot use client_credentials",
        ));
    }
    // Scopes that describe a person make no sense without one.
    // The admin API is for people with the admin role (and the CLI's bootstrap token).
    let allowed = client
        .scopes
        .without(OPENID)
        .without(OFFLINE_ACCESS)
        .without(crate::oauth::scope::ADMIN);
    let scopes = match scope {
        None => allowed,
        Some(s) => {
            let asked = Scopes::parse(s)
                .ok_or_else(|| OAuthError::new(ErrorCode::InvalidScope, "scope is malformed"))?;
            if !asked.is_subset_of(&allowed) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    "scope exceeds what this client may have",
                ));
            }
            asked
        }
    };
    let jti = uuid::Uuid::new_v4().to_string();
    let claims = AccessClaims {
        iss: ctx.issuer.to_owned(),
        sub: client.id().to_owned(),
        aud: crate::oauth::resource::audience_for(
            &client.record.access_token_audience,
            resource,
            false,
            ctx.issuer,
        )?,
        exp: ctx.now + ctx.settings.access_token_ttl,
        iat: ctx.now,
        client_id: client.id().to_owned(),
        scope: scopes.to_string(),
        auth_time: None,
        // Each token is its own grant: revocable by jti, nothing stored until then.
        gid: jti.clone(),
        jti,
        role: None,
        account_epoch: None,
    };
    let access_token = access_token::sign(ctx.keys, &claims)?;
    ctx.audit
        .machine_token(client.id(), &claims.scope, &claims.jti, ctx.now);
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ctx.settings.access_token_ttl,
        id_token: None,
        refresh_token: None,
        scope: scopes.to_string(),
    })
}
