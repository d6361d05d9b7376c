//! `/userinfo` (OIDC Core §5.3), GET and POST, Bearer per RFC 6750.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::http::error::BearerError;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oidc::userinfo;

pub async fn userinfo(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&state, &method, &headers, &body).await {
        Ok(claims) => {
            let mut response = Json(claims).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => e.into_response(),
    }
}

/// RFC 6750 §2.1 (header) and §2.2 (form body); exactly one of them. Public for the fuzz
/// targets (fuzz/).
#[doc(hidden)]
pub fn presented_token(
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Option<String>, BearerError> {
    let invalid =
        |why: &'static str| BearerError(Some(OAuthError::new(ErrorCode::InvalidRequest, why)));
    let from_header = crate::http::bearer::from_headers(headers)
        .map_err(|_| invalid("malformed Authorization header"))?;
    // Another scheme (or an empty Bearer) is not a token, and not a fallback to the body.
    if from_header.is_none() && headers.contains_key(header::AUTHORIZATION) {
        return Err(BearerError(None));
    }
    let form_encoded = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    let from_body = if method == Method::POST && form_encoded {
        url::form_urlencoded::parse(body)
            .find(|(k, _)| k == "access_token")
            .map(|(_, v)| v.into_owned())
    } else {
        None
    };
    match (from_header, from_body) {
        (Some(_), Some(_)) => Err(invalid(
            "send the access token once, not in both header and body",
        )),
        (token, None) | (None, token) => Ok(token),
    }
}

async fn handle(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<serde_json::Map<String, serde_json::Value>, BearerError> {
    let Some(token) = presented_token(method, headers, body)? else {
        return Err(BearerError(None));
    };
    let keys = state.keys.current();
    let ctx = state.oauth(&keys, state.clock.now());
    userinfo::claims(&ctx, &token)
        .await
        .map_err(|e| BearerError(Some(e)))
}
