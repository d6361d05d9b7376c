//! The metrics listener: `GET /metrics` and nothing else, on `metrics_bind`.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::KeyAge;
use crate::app::AppState;

const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

async fn scrape(State(state): State<AppState>) -> Response {
    let now = state.clock.now();
    // Without the database the keys' gauge is left empty; everything else still answers.
    let rows = crate::keys::list_keys(&state.store)
        .await
        .unwrap_or_default();
    let keys: Vec<KeyAge<'_>> = rows
        .iter()
        .map(|r| KeyAge {
            kid: &r.kid,
            alg: &r.alg,
            state: &r.state,
            age_secs: now.saturating_sub(r.created_at),
        })
        .collect();
    let body = state.metrics.render(state.store.pool_usage(), &keys);
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        body,
    )
        .into_response()
}
