//! `/token` (RFC 6749 §3.2).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::http::error::TokenEndpointError;
use crate::oauth::client_auth::{self, PresentedCredentials};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::grant::authorization_code::{self, CodeExchange};
use crate::oauth::grant::refresh_token;

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
    let form_encoded = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !form_encoded {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let params: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let mut seen = std::collections::HashSet::new();
    if let Some((name, _)) = params.iter().find(|(k, _)| !seen.insert(k.as_str())) {
        return Err(OAuthError::invalid_request(format!("{name} is repeated")));
    }
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };

    let authorization = match headers.get(header::AUTHORIZATION) {
        Some(v) => Some(v.to_str().map_err(|_| OAuthError::invalid_client())?),
        None => None,
    };
    let presented = PresentedCredentials::from_request(
        authorization,
        get("client_id").map(str::to_owned),
        get("client_secret").map(str::to_owned),
    )?;
    let client = client_auth::authenticate(&state.store, &state.hasher, presented).await?;

    let grant_type =
        get("grant_type").ok_or_else(|| OAuthError::invalid_request("grant_type is missing"))?;
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
                code: get("code"),
                redirect_uri: get("redirect_uri"),
                code_verifier: get("code_verifier"),
            };
            authorization_code::exchange(&ctx, &client, exchange).await
        }
        "refresh_token" => {
            refresh_token::refresh(&ctx, &client, get("refresh_token"), get("scope")).await
        }
        _ => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "unsupported grant_type",
        )),
    }
}
