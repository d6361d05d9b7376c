use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;

/// Both `/.well-known/openid-configuration` and RFC 8414's
/// `/.well-known/oauth-authorization-server` serve the same document.
pub async fn openid_configuration(State(state): State<AppState>) -> Response {
    let mut response = state.discovery.clone().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
