//! `/revoke` (RFC 7009).

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::form::ClientForm;
use crate::app::AppState;
use crate::audit::{Event, EventKind};
use crate::http::client_ip::ClientIp;
use crate::http::error::TokenEndpointError;
use crate::oauth::error::OAuthError;
use crate::oauth::revocation;

pub async fn revoke(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    form: ClientForm,
) -> Response {
    let keys = state.keys.current();
    let ctx = state.oauth(&keys, state.clock.now());
    let result = match form.get("token") {
        Some(token) => revocation::revoke(&ctx, &form.client, token)
            .await
            .map(|()| form.client.id().to_owned()),
        None => Err(OAuthError::invalid_request("token is missing")),
    };
    match result {
        Ok(client_id) => {
            let event = Event::new(EventKind::TokenRevoked)
                .client(Some(&client_id))
                .ip(ip);
            state.audit.record(event, ctx.now);
            (
                [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
                StatusCode::OK,
            )
                .into_response()
        }
        Err(e) => TokenEndpointError(e).into_response(),
    }
}
