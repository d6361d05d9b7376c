//! Who may call the admin API: a munjigi access token with the `admin` scope whose subject is
//! an account with the admin role now, or the CLI's bootstrap token.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::AdminError;
use crate::app::AppState;
use crate::oauth::access_token::{self, AccessClaims};
use crate::oauth::scope::{ADMIN, Scopes};

/// The client id and subject of `munjigi admin token`'s tokens. No registered client can
/// produce a token like it: client_credentials tokens never carry a role or `admin`.
pub const BOOTSTRAP: &str = "munjigi-cli";

/// An authorised caller; `actor` names it in the audit trail (a user id, or `munjigi-cli`).
pub struct Admin {
    pub actor: String,
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AdminError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| AdminError::unauthorized("a Bearer access token is required"))?;
        let keys = state.keys.current();
        let issuer = state.config.issuer.as_str();
        let now = state.clock.now();
        let claims = access_token::validate(&state.store, &keys, token, issuer, now)
            .await
            .map_err(|e| {
                if e.code == crate::oauth::error::ErrorCode::TemporarilyUnavailable {
                    AdminError::unavailable()
                } else {
                    AdminError::unauthorized("the access token is invalid, expired or revoked")
                }
            })?;
        authorise(state, &claims).await
    }
}

async fn authorise(state: &AppState, claims: &AccessClaims) -> Result<Admin, AdminError> {
    let scopes = Scopes::parse(&claims.scope).unwrap_or_default();
    if !scopes.contains(ADMIN) {
        return Err(AdminError::forbidden("the token lacks the admin scope"));
    }
    if claims.sub == BOOTSTRAP
        && claims.client_id == BOOTSTRAP
        && claims.role.as_deref() == Some("admin")
    {
        return Ok(Admin {
            actor: BOOTSTRAP.to_owned(),
        });
    }
    // The role as it is now, not as it was when the token was issued.
    match crate::account::sign_in::active_user(&state.store, &claims.sub).await? {
        Some(user) if user.role == "admin" => Ok(Admin { actor: user.id }),
        _ => Err(AdminError::forbidden(
            "the account does not have the admin role",
        )),
    }
}
