//! `/introspect` (RFC 7662).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::form::ClientForm;
use crate::app::AppState;
use crate::http::error::TokenEndpointError;
use crate::oauth::error::OAuthError;
use crate::oauth::introspection;

pub async fn introspect(State(state): State<AppState>, form: ClientForm) -> Response {
    let keys = state.keys.current();
    let ctx = state.oauth(&keys, state.clock.now());
    let result = match form.get("token") {
        Some(token) => introspection::introspect(&ctx, &form.client, token).await,
        None => Err(OAuthError::invalid_request("token is missing")),
    };
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
