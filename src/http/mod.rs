//! axum handlers only: extract, call the domain, render.

pub mod admin;
pub mod bearer;
pub mod client_ip;
mod cors;
pub mod csrf;
pub mod error;
mod gateway;
pub mod metrics;
pub mod middleware;
pub mod oauth;
// Public (hidden) for the fuzz targets (fuzz/), which call `oidc::userinfo::presented_token`.
#[doc(hidden)]
pub mod oidc;
mod ops;
pub mod params;
pub mod rate_limit;
pub mod sealed;
pub mod session;
pub mod web;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::app::AppState;
use crate::oidc::metadata::paths;

pub fn routes(state: AppState) -> Router {
    let hsts = state.config.issuer.is_https();
    let metrics = state.metrics.clone();
    // A client has as long for its body as for its headers.
    let body_timeout = std::time::Duration::from_secs(state.config.header_read_timeout_secs);
    let browser = Router::new()
        .route(
            paths::AUTHORIZE,
            get(oauth::authorize::authorize).post(oauth::authorize::authorize),
        )
        .route("/authorize/resume", get(oauth::authorize::resume))
        .route("/login", get(web::login::show).post(web::login::submit))
        .route(
            "/login/second-factor",
            get(web::second_factor::show).post(web::second_factor::submit),
        )
        .route(
            "/login/passkey/options",
            axum::routing::post(web::passkeys::sign_in_options),
        )
        .route(
            "/login/passkey",
            axum::routing::post(web::passkeys::sign_in),
        )
        .route(
            "/account/passkeys/options",
            axum::routing::post(web::passkeys::register_options),
        )
        .route(
            "/account/passkeys",
            axum::routing::post(web::passkeys::register),
        )
        .route(
            "/account/passkeys/remove",
            axum::routing::post(web::account_forms::passkey_remove),
        )
        .route("/static/passkeys.js", get(passkeys_script))
        .route(
            "/login/link",
            get(web::federation::link_show).post(web::federation::link_submit),
        )
        .route(
            "/login/link/cancel",
            axum::routing::post(web::federation::link_cancel),
        )
        .route(
            "/login/{provider}",
            get(web::federation::start_get).post(web::federation::start_post),
        )
        .route("/login/{provider}/callback", get(web::federation::callback))
        .route("/account", get(web::account::show))
        .route("/account/unlink", axum::routing::post(web::account::unlink))
        .route(
            "/account/profile",
            axum::routing::post(web::account_forms::profile),
        )
        .route(
            "/account/email",
            axum::routing::post(web::account_forms::email),
        )
        .route(
            "/account/email/verify",
            axum::routing::post(web::account_forms::resend_verification),
        )
        .route(
            "/account/password",
            axum::routing::post(web::account_forms::password),
        )
        .route(
            "/account/sessions/end",
            axum::routing::post(web::account_forms::end_session),
        )
        .route(
            "/account/sessions/end-others",
            axum::routing::post(web::account_forms::end_other_sessions),
        )
        .route(
            "/account/sessions/end-one-factor",
            axum::routing::post(web::account_forms::end_one_factor_sessions),
        )
        .route(
            "/account/apps/revoke",
            axum::routing::post(web::account_forms::revoke_app),
        )
        .route(
            "/account/delete",
            axum::routing::post(web::account_forms::delete),
        )
        .route("/account/2fa/totp", get(web::account_forms::totp_show))
        .route(
            "/account/2fa/totp/start",
            axum::routing::post(web::account_forms::totp_start),
        )
        .route(
            "/account/2fa/totp/confirm",
            axum::routing::post(web::account_forms::totp_confirm),
        )
        .route(
            "/account/2fa/totp/disable",
            axum::routing::post(web::account_forms::totp_disable),
        )
        .route(
            "/account/2fa/recovery",
            axum::routing::post(web::account_forms::recovery_new),
        )
        .route(
            "/account/2fa/recovery/codes",
            get(web::account_forms::codes_show),
        )
        .route(
            "/account/link/{provider}",
            axum::routing::post(web::account_forms::link),
        )
        .route(
            "/consent",
            get(web::consent::show).post(web::consent::submit),
        )
        .route("/signup", get(web::signup::show).post(web::signup::submit))
        .route(
            "/email/verify",
            get(web::mail_links::verify_show).post(web::mail_links::verify_submit),
        )
        .route(
            "/password/forgot",
            get(web::mail_links::forgot_show).post(web::mail_links::forgot_submit),
        )
        .route(
            "/password/reset",
            get(web::mail_links::reset_show).post(web::mail_links::reset_submit),
        )
        .route("/logout", get(web::logout::show).post(web::logout::submit))
        .route(
            paths::END_SESSION,
            get(web::logout::end_session).post(web::logout::end_session),
        )
        .route("/", get(web::logout::home))
        // Inside the session layer: sees what a request left in its session.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::note_anonymous_origin,
        ))
        .layer(session::layer(&state))
        .layer(axum::middleware::from_fn_with_state(
            std::sync::Arc::new(csrf::CsrfConfig {
                hasher: state.hasher.clone(),
                secure: state.config.issuer.is_https(),
            }),
            csrf::layer,
        ))
        .layer(axum::middleware::from_fn_with_state(
            std::sync::Arc::<str>::from(middleware::origin_of(state.config.issuer.as_str())),
            middleware::same_origin_forms,
        ));
    // Each API route answers OPTIONS, so that a preflight reaches the CORS layer (which
    // answers it) instead of the 405 fallback.
    let api = Router::new()
        .route(
            paths::TOKEN,
            axum::routing::post(oauth::token::token).options(cors::preflight),
        )
        .route(
            paths::REVOKE,
            axum::routing::post(oauth::revoke::revoke).options(cors::preflight),
        )
        .route(
            paths::INTROSPECT,
            axum::routing::post(oauth::introspect::introspect).options(cors::preflight),
        )
        .route(
            paths::USERINFO,
            get(oidc::userinfo::userinfo)
                .post(oidc::userinfo::userinfo)
                .options(cors::preflight),
        )
        .layer(cors::registered_origins(state.clone()));
    let documents = Router::new()
        .route(
            paths::DISCOVERY,
            get(oidc::discovery::openid_configuration).options(cors::preflight),
        )
        .route(
            paths::AUTHORIZATION_SERVER_METADATA,
            get(oidc::discovery::openid_configuration).options(cors::preflight),
        )
        .route(paths::JWKS, get(oidc::jwks::jwks).options(cors::preflight))
        .layer(cors::public_documents());
    let router = Router::new()
        .merge(browser)
        .merge(api)
        .merge(documents)
        .merge(admin::routes(&state))
        .route("/static/style.css", get(stylesheet))
        .route(gateway::PATH, axum::routing::any(gateway::verify))
        .route(
            &format!("{}/{{*original}}", gateway::PATH),
            axum::routing::any(gateway::verify),
        )
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .fallback(ops::not_found)
        .method_not_allowed_fallback(ops::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit::layer,
        ))
        // Outermost of the routes: turns every PageError (the rate limit's too) into a page.
        .layer(axum::middleware::from_fn(web::page::render_errors))
        .with_state(state);
    middleware::apply(router, hsts, body_timeout, metrics)
}

/// The one stylesheet, compiled in so the binary needs no files beside it.
/// The one script of the pages: the passkey buttons (WebAuthn has no form-only way).
async fn passkeys_script() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        include_str!("../../static/passkeys.js"),
    )
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        include_str!("../../static/style.css"),
    )
}
