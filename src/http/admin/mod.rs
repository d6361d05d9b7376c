//! The admin REST API (`/admin/api/v1`): clients, users, signing keys and audit events, for
//! automation. Callers present a munjigi access token with the `admin` scope, from an account
//! whose role is `admin` now (checked on every call), or the CLI's bootstrap token
//! (`munjigi admin token`). The rules live in the domain (`account::`, `oauth::client`,
//! `keys::`), shared with the CLI; these handlers only translate. Errors have one shape:
//! `{status, code, message, request_id, timestamp}`.

mod audit;
mod auth;
mod clients;
mod error;
mod keys;
pub mod openapi;
mod users;

use axum::Router;
use axum::routing::{get, post};

use crate::app::AppState;

pub use auth::BOOTSTRAP;
pub use error::AdminApiError;

pub const BASE: &str = "/admin/api/v1";

pub fn routes(state: &AppState) -> Router<AppState> {
    let api = Router::new()
        .route("/openapi.json", get(openapi::document))
        .route("/clients", get(clients::list).post(clients::create))
        .route(
            "/clients/{id}",
            get(clients::get)
                .patch(clients::update)
                .delete(clients::delete),
        )
        .route("/clients/{id}/secret", post(clients::rotate_secret))
        .route("/users", get(users::list).post(users::create))
        .route(
            "/users/{id}",
            get(users::get).patch(users::update).delete(users::delete),
        )
        .route("/users/{id}/disable", post(users::disable))
        .route("/users/{id}/enable", post(users::enable))
        .route("/users/{id}/second-factors", get(users::second_factors))
        .route(
            "/users/{id}/second-factors/reset",
            post(users::reset_second_factors),
        )
        .route("/users/{id}/password", post(users::set_password))
        .route(
            "/users/{id}/sessions",
            get(users::sessions).delete(users::end_sessions),
        )
        .route("/users/{id}/consents", get(users::consents))
        .route(
            "/users/{id}/consents/{client_id}",
            axum::routing::delete(users::revoke_consent),
        )
        .route("/keys", get(keys::list))
        .route("/keys/rotate", post(keys::rotate))
        .route("/audit-events", get(audit::query))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clock.clone(),
            error::complete,
        ));
    Router::new().nest(BASE, api)
}

/// An admin change for the audit trail, naming who made it.
fn record_change(state: &AppState, admin: &auth::Admin, action: &str, target: &str, now: i64) {
    state.audit.record(change_event(admin, action, target), now);
}

/// The event `record_change` records, for a change that adds what it changed.
fn change_event(admin: &auth::Admin, action: &str, target: &str) -> crate::audit::Event {
    crate::audit::Event::new(crate::audit::EventKind::Admin)
        .with("actor", admin.actor.clone())
        .with("action", action)
        .with("target", target)
}
