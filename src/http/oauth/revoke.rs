//! `/revoke` (RFC 7009).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::form::ClientForm;
use crate::app::AppState;
use crate::audit::{Event, Kind};
use crate::http::client_ip::ClientIp;
use crate::http::error::TokenEndpointError;
use crate::oauth::error::OAuthError;
use crate::oauth::revocation;

pub async fn revoke(
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
        revocation::revoke(&ctx, &form.client, token).await?;
        Ok(form.client.id().to_owned())
    }
    .await;
    match result {
        Ok(client_id) => {
            let event = Event::new(Kind::TokenRevoked)
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
