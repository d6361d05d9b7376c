//! Requests per client address per minute, for each endpoint family: what one address can
//! make munjigi do is bounded whatever it sends. Over the limit: 429 with `Retry-After` —
//! JSON on the API, a page for browsers. Limits are configurable; 0 turns a family's off.
//! Counts are per process (a fixed one-minute window), so N instances allow N times as much.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::client_ip::client_ip;
use super::error::PageError;
use crate::app::AppState;
use crate::config::RateLimits;

/// Addresses remembered at most; beyond, the oldest windows are dropped.
const MAX_KEYS: usize = 100_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// `/token`, `/revoke`, `/introspect`, `/userinfo`.
    Token,
    /// `/authorize` and what starts or resumes a browser flow (`/login/{provider}`, callbacks).
    Authorize,
    /// Form posts of the hosted pages (sign-in, signup, consent, account).
    Forms,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Authorize => "authorize",
            Self::Forms => "forms",
        }
    }
}

/// The configured limit of a family (0: off).
fn limit_of(limits: &RateLimits, family: Family) -> u32 {
    match family {
        Family::Token => limits.token,
        Family::Authorize => limits.authorize,
        Family::Forms => limits.forms,
    }
}

/// Which family a request belongs to (none: discovery, JWKS, health, static files).
pub fn family_of(method: &Method, path: &str) -> Option<Family> {
    use crate::oidc::metadata::paths;
    match path {
        paths::TOKEN | paths::REVOKE | paths::INTROSPECT | paths::USERINFO => Some(Family::Token),
        // Automation calls the admin API as it calls the token endpoint.
        p if p.starts_with("/admin/api/") => Some(Family::Token),
        paths::AUTHORIZE | "/authorize/resume" | paths::END_SESSION => Some(Family::Authorize),
        p if p.starts_with("/login/")
            && !matches!(
                p,
                "/login/link"
                    | "/login/link/cancel"
                    | "/login/second-factor"
                    | "/login/passkey"
                    | "/login/passkey/options"
            ) =>
        {
            Some(Family::Authorize)
        }
        // Gateways call this for every request they pass on, whatever its method.
        p if p.starts_with("/gateway/verify") => None,
        _ if method == Method::POST => Some(Family::Forms),
        _ => None,
    }
}

#[derive(Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<(Family, IpAddr), (i64, u32)>>,
    clients: Mutex<HashMap<String, (i64, u32)>>,
}

/// One fixed one-minute window per key; `Err(seconds)` once `limit` is reached.
fn count<K: std::hash::Hash + Eq>(
    windows: &Mutex<HashMap<K, (i64, u32)>>,
    key: K,
    limit: u32,
    now: i64,
) -> Result<(), i64> {
    if limit == 0 {
        return Ok(());
    }
    let minute = now - now.rem_euclid(60);
    let mut windows = windows.lock().unwrap_or_else(|p| p.into_inner());
    if windows.len() >= MAX_KEYS {
        windows.retain(|_, (start, _)| *start == minute);
        if windows.len() >= MAX_KEYS {
            windows.clear();
        }
    }
    let entry = windows.entry(key).or_insert((minute, 0));
    if entry.0 != minute {
        *entry = (minute, 0);
    }
    if entry.1 >= limit {
        return Err(minute + 60 - now);
    }
    entry.1 += 1;
    Ok(())
}

impl RateLimiter {
    /// Counts a request; `Err(seconds)` when the address is over `limit` this minute.
    pub fn check(&self, family: Family, ip: IpAddr, limit: u32, now: i64) -> Result<(), i64> {
        count(&self.windows, (family, ip), limit, now)
    }

    /// Counts a request of an authenticated client at the token endpoints, wherever it
    /// comes from.
    pub fn check_client(&self, client_id: &str, limit: u32, now: i64) -> Result<(), i64> {
        if limit == 0 {
            return Ok(());
        }
        count(&self.clients, client_id.to_owned(), limit, now)
    }
}

pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(family) = family_of(request.method(), request.uri().path()) else {
        return next.run(request).await;
    };
    let limit = limit_of(&state.config.rate_limits, family);
    if limit == 0 {
        return next.run(request).await;
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
    let ip = client_ip(peer, request.headers(), &state.config.trusted_proxies);
    match state
        .rate_limiter
        .check(family, ip, limit, state.clock.now())
    {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            state.metrics.rate_limited(family.as_str());
            too_many(family, wait)
        }
    }
}

fn too_many(family: Family, wait: i64) -> Response {
    if family == Family::Token {
        let body = serde_json::json!({
            "error": "temporarily_unavailable",
            "error_description": "too many requests from this address; retry later",
        });
        let mut response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Ok(value) = HeaderValue::from_str(&wait.max(1).to_string()) {
            headers.insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    PageError::throttled(wait).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_a_minute_per_family_and_address() {
        let limiter = RateLimiter::default();
        let a: IpAddr = [192, 0, 2, 1].into();
        let b: IpAddr = [192, 0, 2, 2].into();
        for _ in 0..3 {
            assert!(limiter.check(Family::Forms, a, 3, 120).is_ok());
        }
        assert_eq!(limiter.check(Family::Forms, a, 3, 130), Err(50));
        assert!(
            limiter.check(Family::Token, a, 3, 130).is_ok(),
            "another family"
        );
        assert!(
            limiter.check(Family::Forms, b, 3, 130).is_ok(),
            "another address"
        );
        assert!(
            limiter.check(Family::Forms, a, 3, 180).is_ok(),
            "the next minute"
        );
        assert!(limiter.check(Family::Forms, a, 0, 180).is_ok(), "0 is off");
    }

    #[test]
    fn families_by_route() {
        assert_eq!(family_of(&Method::POST, "/token"), Some(Family::Token));
        assert_eq!(family_of(&Method::GET, "/userinfo"), Some(Family::Token));
        assert_eq!(
            family_of(&Method::GET, "/authorize"),
            Some(Family::Authorize)
        );
        assert_eq!(
            family_of(&Method::GET, "/login/kakao"),
            Some(Family::Authorize)
        );
        assert_eq!(family_of(&Method::POST, "/login"), Some(Family::Forms));
        assert_eq!(family_of(&Method::POST, "/login/link"), Some(Family::Forms));
        for form in [
            "/login/second-factor",
            "/login/passkey",
            "/login/passkey/options",
        ] {
            assert_eq!(
                family_of(&Method::POST, form),
                Some(Family::Forms),
                "{form}"
            );
        }
        assert_eq!(family_of(&Method::GET, "/login"), None);
        assert_eq!(family_of(&Method::POST, "/gateway/verify/api/x"), None);
        assert_eq!(family_of(&Method::GET, "/jwks.json"), None);
    }
}
