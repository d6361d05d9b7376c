//! CORS (tower-http): which pages in browsers may read munjigi's API answers. Discovery and
//! the JWKS are public documents for any origin; the token, userinfo, revocation and
//! introspection endpoints answer the origins clients registered (`oauth::cors`); the hosted
//! pages get no CORS headers at all.

use std::time::Duration;

use axum::http::{HeaderValue, Method, header, request::Parts};
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

use crate::app::AppState;

/// Browsers may cache a preflight answer this long.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// Discovery and JWKS: anyone may read them, without credentials.
pub fn public_documents() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET])
        .max_age(PREFLIGHT_MAX_AGE)
}

/// The API endpoints single-page apps call: only origins some client registered. Whether the
/// origin fits the client the request names is decided by client authentication (token,
/// revocation, introspection), where the client is known.
pub fn registered_origins(state: AppState) -> CorsLayer {
    let allow = AllowOrigin::async_predicate(move |origin: HeaderValue, _: &Parts| {
        let state = state.clone();
        async move {
            match origin.to_str() {
                Ok(origin) => {
                    let keys = state.keys.current();
                    state
                        .oauth(&keys, state.clock.now())
                        .origin_registered(origin)
                        .await
                }
                Err(_) => false,
            }
        }
    });
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        // A 401 from userinfo says why in WWW-Authenticate (RFC 6750 §3).
        .expose_headers([header::WWW_AUTHENTICATE])
        .max_age(PREFLIGHT_MAX_AGE)
}

/// Behind the CORS layer, which answers preflights itself: reached only by an `OPTIONS`
/// that is not a CORS request (no `Origin`), which gets an empty answer.
pub async fn preflight() -> axum::http::StatusCode {
    axum::http::StatusCode::NO_CONTENT
}
