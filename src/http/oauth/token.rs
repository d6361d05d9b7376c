//! `/token` (RFC 6749 §3.2).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::http::error::TokenEndpointError;
use crate::http::oauth::form::ClientForm;
use crate::oauth::context::OAuthContext;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::grant::authorization_code::{self, CodeExchange};
use crate::oauth::grant::{GrantType, TokenResponse, client_credentials, refresh_token};
use crate::oauth::resource;

pub async fn token(State(state): State<AppState>, form: ClientForm) -> Response {
    let keys = state.keys.current();
    let ctx = state.oauth(&keys, state.clock.now());
    match handle(&ctx, &form).await {
        Ok(response) => {
            let mut response = Json(response).into_response();
            let h = response.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            response
        }
        Err(e) => TokenEndpointError(e).into_response(),
    }
}

async fn handle(ctx: &OAuthContext<'_>, form: &ClientForm) -> Result<TokenResponse, OAuthError> {
    let client = &form.client;
    let grant_type = form
        .get("grant_type")
        .ok_or_else(|| OAuthError::invalid_request("grant_type is missing"))?;
    let grant_type = GrantType::parse(grant_type).ok_or_else(|| {
        OAuthError::new(ErrorCode::UnsupportedGrantType, "unsupported grant_type")
    })?;
    if !client.allows_grant(grant_type) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!("this client may not use {grant_type}"),
        ));
    }
    let resource = form.get("resource");
    resource::check_requested(&client.record.access_token_audience, resource, ctx.issuer)?;
    match grant_type {
        GrantType::AuthorizationCode => {
            let exchange = CodeExchange {
                code: form.get("code"),
                redirect_uri: form.get("redirect_uri"),
                code_verifier: form.get("code_verifier"),
                resource,
            };
            authorization_code::exchange(ctx, client, exchange).await
        }
        GrantType::RefreshToken => {
            let (token, scope) = (form.get("refresh_token"), form.get("scope"));
            refresh_token::refresh(ctx, client, token, scope, resource).await
        }
        GrantType::ClientCredentials => {
            client_credentials::issue(ctx, client, form.get("scope"), resource)
        }
    }
}
