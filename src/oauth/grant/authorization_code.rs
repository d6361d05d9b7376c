//! The authorization code grant (RFC 6749 §4.1, OIDC Core §3.1): issuing codes after consent,
//! and exchanging them for tokens.

use crate::oauth::authorize::AuthorizationRequest;
use crate::oauth::client::Client;
use crate::oauth::error::OAuthError;
use crate::oauth::pkce::{self, StoredChallenge};
use crate::oauth::scope::{OFFLINE_ACCESS, OPENID, Scopes};
use crate::oauth::secret::{random_token, sha256_hex};
use crate::store::{CodeRecord, CodeRedemption, RefreshTokenRecord, StoreError};

use crate::oauth::context::OAuthContext;

use super::{GrantType, Signed};

/// Who signed in, and how: carried from the session into the code and the id_token.
#[derive(Clone, Debug)]
pub struct Authentication {
    pub user_id: String,
    pub auth_time: i64,
    pub amr: Vec<String>,
    pub sid: Option<String>,
    /// The upstream provider of a federated sign-in (the id_token's `idp`).
    pub idp: Option<String>,
}

/// Stores a new single-use code for an approved request and returns it (the only copy in
/// clear).
pub async fn issue_code(
    ctx: &OAuthContext<'_>,
    request: &AuthorizationRequest,
    auth: &Authentication,
) -> Result<String, StoreError> {
    let code = random_token();
    ctx.store
        .insert_code(&CodeRecord {
            code_hash: sha256_hex(&code),
            client_id: request.client_id.clone(),
            user_id: auth.user_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            scope: request.scope.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            code_challenge_method: request.code_challenge.as_ref().map(|_| "S256".to_owned()),
            auth_time: auth.auth_time,
            amr: auth.amr.clone(),
            sid: auth.sid.clone(),
            idp: auth.idp.clone(),
            grant_id: uuid::Uuid::new_v4().to_string(),
            created_at: ctx.now,
            expires_at: ctx.now + ctx.settings.code_ttl,
        })
        .await?;
    if let Some(sid) = &auth.sid {
        // Remembered so a logout of this session can be told to the client (back-channel).
        ctx.store
            .record_session_client(sid, &request.client_id, &auth.user_id, ctx.now)
            .await?;
    }
    Ok(code)
}

/// The token request's parameters for this grant.
pub struct CodeExchange<'a> {
    pub code: Option<&'a str>,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
    pub resource: Option<&'a str>,
}

pub async fn exchange(
    ctx: &OAuthContext<'_>,
    client: &Client,
    params: CodeExchange<'_>,
) -> Result<super::TokenResponse, OAuthError> {
    let code = params
        .code
        .ok_or_else(|| OAuthError::invalid_request("code is missing"))?;
    let record = match ctx.store.redeem_code(&sha256_hex(code), ctx.now).await? {
        CodeRedemption::Redeemed(record) => *record,
        CodeRedemption::Unknown => return Err(OAuthError::invalid_grant("the code is invalid")),
        CodeRedemption::Replayed { grant_id } => {
            // RFC 6749 §4.1.2 / RFC 9700 §4.5: a replayed code revokes what it produced.
            ctx.store
                .revoke_grant(&grant_id, ctx.now, ctx.now + ctx.settings.access_token_ttl)
                .await?;
            tracing::warn!(
                client_id = client.id(),
                grant_id,
                "authorization code replayed; grant revoked"
            );
            return Err(OAuthError::invalid_grant("the code has already been used"));
        }
    };
    // A code is bound to the client it was issued to and the redirect URI it was sent to.
    if record.client_id != client.id() {
        return Err(OAuthError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    if record.expires_at <= ctx.now {
        return Err(OAuthError::invalid_grant("the code has expired"));
    }
    let scopes = Scopes::parse(&record.scope).unwrap_or_default();
    match params.redirect_uri {
        Some(uri) if uri == record.redirect_uri => {}
        Some(_) => {
            return Err(OAuthError::invalid_grant(
                "redirect_uri does not match the authorization request",
            ));
        }
        // OIDC requires redirect_uri in the authorization request, hence here too.
        None if scopes.contains(OPENID) => {
            return Err(OAuthError::invalid_request("redirect_uri is missing"));
        }
        None => {}
    }
    let challenge = record.code_challenge.clone().map(StoredChallenge);
    pkce::verify(challenge.as_ref(), params.code_verifier)?;

    let user = ctx.store.user(&record.user_id).await?;
    let user = match user {
        Some(u) if !u.disabled => u,
        _ => return Err(OAuthError::invalid_grant("the user is no longer active")),
    };

    let signed = Signed {
        user: &user,
        grant_id: &record.grant_id,
        scopes: &scopes,
        auth_time: record.auth_time,
        amr: &record.amr,
        sid: record.sid.as_deref(),
        idp: record.idp.as_deref(),
        nonce: record.nonce.as_deref(),
        resource: params.resource,
        grant_type: super::GrantType::AuthorizationCode,
    }
    .sign(ctx, client)?;

    let refresh_token =
        if scopes.contains(OFFLINE_ACCESS) && client.allows_grant(GrantType::RefreshToken) {
            let token = random_token();
            ctx.store
                .insert_refresh_token(&RefreshTokenRecord {
                    token_hash: sha256_hex(&token),
                    grant_id: record.grant_id.clone(),
                    client_id: client.id().to_owned(),
                    user_id: user.id.clone(),
                    scope: scopes.to_string(),
                    auth_time: record.auth_time,
                    amr: record.amr.clone(),
                    sid: record.sid.clone(),
                    idp: record.idp.clone(),
                    created_at: ctx.now,
                    expires_at: ctx.now + ctx.settings.refresh_idle_ttl,
                    family_expires_at: ctx.now + ctx.settings.refresh_absolute_ttl,
                })
                .await?;
            Some(token)
        } else {
            None
        };
    Ok(signed.into_response(ctx, refresh_token))
}
