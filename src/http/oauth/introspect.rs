//! `/introspect` (RFC 7662).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::form::ClientForm;
use crate::app::AppState;
use crate::http::client_ip::ClientIp;
use crate::http::error::TokenEndpointError;
use crate::oauth::error::OAuthError;
use crate::oauth::introspection;

pub async fn introspect(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let keys = state.keys.current();
    let ctx = state.oauth(&keys, state.clock.now());
    let result = async {
        let form = ClientForm::read(
            &ctx,
            (&state.rate_limiter, state.config.rate_limits.client),
            &headers,
            &body,
            ip,
        )
        .await?;
        let token = form
            .get("token")
            .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
        introspection::introspect(&ctx, &form.client, token).await
    }
    .await;
    match result {
        Ok(answer) => {
            let mut response = Json(answer).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => TokenEndpointError(e).into_response(),
    }
}
