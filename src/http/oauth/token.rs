//! `/token` (RFC 6749 §3.2).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::http::error::TokenEndpointError;
use crate::http::oauth::form::ClientForm;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::grant::authorization_code::{self, CodeExchange};
use crate::oauth::grant::{client_credentials, refresh_token};

pub async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match handle(&state, &headers, &body).await {
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

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<crate::oauth::grant::TokenResponse, OAuthError> {
    let form = ClientForm::read(state, headers, body).await?;
    let client = &form.client;
    let grant_type = form
        .get("grant_type")
        .ok_or_else(|| OAuthError::invalid_request("grant_type is missing"))?;
    if !client.allows_grant(grant_type) {
        return match grant_type {
            "authorization_code" | "refresh_token" | "client_credentials" => Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                format!("this client may not use {grant_type}"),
            )),
            _ => Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "unsupported grant_type",
            )),
        };
    }
    let keys = state.keys.current();
    let ctx = state.grant_context(&keys, state.clock.now());
    match grant_type {
        "authorization_code" => {
            let exchange = CodeExchange {
                code: form.get("code"),
                redirect_uri: form.get("redirect_uri"),
                code_verifier: form.get("code_verifier"),
            };
            authorization_code::exchange(&ctx, client, exchange).await
        }
        "refresh_token" => {
            refresh_token::refresh(&ctx, client, form.get("refresh_token"), form.get("scope")).await
        }
        "client_credentials" => client_credentials::issue(&ctx, client, form.get("scope")),
        _ => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "unsupported grant_type",
        )),
    }
}
