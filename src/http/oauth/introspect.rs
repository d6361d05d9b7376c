//! `/introspect` (RFC 7662).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::form::ClientForm;
use crate::app::AppState;
use crate::http::error::TokenEndpointError;
use crate::oauth::error::OAuthError;
use crate::oauth::introspection;

pub async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let form = ClientForm::read(&state, &headers, &body).await?;
        let token = form
            .get("token")
            .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
        let keys = state.keys.current();
        introspection::introspect(
            &state.store,
            &keys,
            state.config.issuer.as_str(),
            &form.client,
            token,
            state.clock.now(),
        )
        .await
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
