//! Who may call the admin API: a munjigi access token for munjigi itself (the issuer among its
//! `aud`) with the `admin` scope, whose subject is an account with the admin role now, or the
//! CLI's bootstrap token.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::AdminApiError;
use crate::account::user::Role;
use crate::app::AppState;
use crate::http::bearer::BearerHeader;
use crate::oauth::access_token::{self, Valid};
use crate::oauth::scope::{ADMIN, Scopes};

/// The client id and subject of `munjigi admin token`'s tokens. No registered client can
/// produce a token like it: client_credentials tokens never carry a role or `admin`.
pub const BOOTSTRAP: &str = "munjigi-cli";

/// An authorised caller; `actor` names it in the audit trail (a user id, or `munjigi-cli`).
pub struct Admin {
    pub actor: String,
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = AdminApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, AdminApiError> {
        let required = || AdminApiError::unauthorized("a Bearer access token is required");
        let token = match BearerHeader::from_request_parts(parts, state).await {
            Ok(BearerHeader(Some(token))) => token,
            _ => return Err(required()),
        };
        let keys = state.keys.current();
        let ctx = state.oauth(&keys, state.clock.now());
        let valid = access_token::validate(ctx.store, ctx.keys, &token, ctx.issuer, ctx.now)
            .await
            .map_err(|e| {
                if e.code == crate::oauth::error::ErrorCode::TemporarilyUnavailable {
                    AdminApiError::unavailable()
                } else {
                    AdminApiError::unauthorized("the access token is invalid, expired or revoked")
                }
            })?;
        authorise(&valid, ctx.issuer)
    }
}

/// The token's audience, scope and holder: an account whose role is `admin` now (read by
/// `validate` with the token's standing), or the bootstrap token.
fn authorise(valid: &Valid, issuer: &str) -> Result<Admin, AdminApiError> {
    let claims = &valid.claims;
    // A token for other resource servers only is not for this API (RFC 8707).
    if !claims.aud.contains(issuer) {
        return Err(AdminApiError::unauthorized(
            "the access token is not for this server",
        ));
    }
    let scopes = Scopes::parse(&claims.scope).unwrap_or_default();
    if !scopes.contains(ADMIN) {
        return Err(AdminApiError::forbidden("the token lacks the admin scope"));
    }
    match &valid.account {
        Some(user) if user.role == Role::Admin => Ok(Admin {
            actor: user.id.clone(),
        }),
        None if claims.sub == BOOTSTRAP
            && claims.client_id == BOOTSTRAP
            && claims.role.as_deref() == Some("admin") =>
        {
            Ok(Admin {
                actor: BOOTSTRAP.to_owned(),
            })
        }
        // The role as it is now, not as it was when the token was issued.
        _ => Err(AdminApiError::forbidden(
            "the account does not have the admin role",
        )),
    }
}
