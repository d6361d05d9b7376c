//! axum handlers only: extract, call the domain, render.

pub mod error;
pub mod middleware;
mod oidc;
mod ops;

use axum::Router;
use axum::routing::get;

use crate::app::AppState;
use crate::oidc::metadata::paths;

pub fn routes(state: AppState) -> Router {
    let hsts = state.config.issuer.is_https();
    let router = Router::new()
        .route(paths::DISCOVERY, get(oidc::discovery::openid_configuration))
        .route(
            paths::AUTHORIZATION_SERVER_METADATA,
            get(oidc::discovery::openid_configuration),
        )
        .route(paths::JWKS, get(oidc::jwks::jwks))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .fallback(ops::not_found)
        .method_not_allowed_fallback(ops::method_not_allowed)
        .with_state(state);
    middleware::apply(router, hsts)
}
