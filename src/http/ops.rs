//! Liveness, readiness and the fallbacks.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::error::ApiError;
use crate::app::AppState;

/// The process is up.
pub async fn healthz() -> Response {
    no_store(Json(json!({ "status": "ok" })).into_response())
}

/// The database answers. The pool reconnects by itself, so this recovers without a restart.
pub async fn readyz(State(state): State<AppState>) -> Response {
    // Longer than the store's own wait for a connection, so that this probe, too, can find
    // the database gone and have every request after it answered at once.
    match tokio::time::timeout(Duration::from_secs(4), state.database_ready()).await {
        Ok(Ok(())) => no_store(Json(json!({ "status": "ready" })).into_response()),
        Ok(Err(e)) => {
            // A known outage is logged once by the store, not once per probe: anyone can call
            // this as often as they like.
            if !e.is_known_outage() {
                tracing::warn!(error = %e, "readiness: database unreachable");
            }
            ApiError::Unavailable("database unreachable").into_response()
        }
        Err(_) => {
            tracing::warn!("readiness: database did not answer within 4s");
            ApiError::Unavailable("database unreachable").into_response()
        }
    }
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
