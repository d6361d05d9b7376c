//! CSRF tokens for munjigi's forms, kept in a signed cookie rather than the session, so that
//! showing a form to someone nobody knows yet stores nothing (no session row per anonymous
//! GET). The form carries the token, the cookie carries it with an HMAC under a key derived
//! from the KEK; a post must present both, and they must agree. On an https issuer the cookie
//! is `__Host-`, so no sibling subdomain can plant one. A sign-in issues a new token.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use subtle::ConstantTimeEq;
use tower_sessions::cookie::{Cookie, SameSite};

use super::error::PageError;
use crate::oauth::secret::{SecretHasher, random_token};

const COOKIE: &str = "munjigi_csrf";
const SECURE_COOKIE: &str = "__Host-munjigi_csrf";

/// What the middleware needs: the signing key and whether the issuer is https.
#[derive(Clone)]
pub struct CsrfConfig {
    pub hasher: SecretHasher,
    pub secure: bool,
}

impl CsrfConfig {
    fn name(&self) -> &'static str {
        if self.secure { SECURE_COOKIE } else { COOKIE }
    }

    fn sign(&self, token: &str) -> String {
        self.hasher.hash(&format!("csrf:{token}"))
    }

    /// The token of a cookie value `token.signature`, if the signature is ours.
    fn open(&self, value: &str) -> Option<String> {
        let (token, signature) = value.split_once('.')?;
        (!token.is_empty()
            && self
                .hasher
                .verify(&format!("csrf:{token}"), Some(signature)))
        .then(|| token.to_owned())
    }
}

/// This request's CSRF token: the cookie's, or a new one (sent as a cookie once a form uses
/// it).
#[derive(Clone)]
pub struct Csrf {
    token: Arc<Mutex<String>>,
    /// The browser presented a valid cookie: a form post can be checked against it.
    from_cookie: bool,
    /// The token must go out in a cookie (new, or rotated at sign-in).
    send: Arc<AtomicBool>,
}

impl Csrf {
    /// The token for a form; the browser gets the cookie with the response.
    pub fn token(&self) -> String {
        if !self.from_cookie {
            self.send.store(true, Ordering::Relaxed);
        }
        self.current()
    }

    fn current(&self) -> String {
        self.token.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// Refuses a form whose token is not this browser's cookie's.
    pub fn check(&self, presented: &str) -> Result<(), PageError> {
        let expected = self.current();
        let ok = self.from_cookie
            && !presented.is_empty()
            && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()));
        if ok { Ok(()) } else { Err(PageError::csrf()) }
    }

    /// A new token for a new identity (at sign-in): the old one stops working.
    pub fn rotate(&self) {
        if let Ok(mut token) = self.token.lock() {
            *token = random_token();
        }
        self.send.store(true, Ordering::Relaxed);
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Csrf {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Csrf>()
            .cloned()
            .ok_or_else(|| PageError::unavailable("the CSRF layer is missing on this route"))
    }
}

/// Reads the cookie before the handler, and sets it after when a form needed a new token.
pub async fn layer(
    State(config): State<Arc<CsrfConfig>>,
    mut request: Request,
    next: Next,
) -> Response {
    let name = config.name();
    let presented = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| Cookie::split_parse(v).filter_map(Result::ok))
        .find(|c| c.name() == name)
        .and_then(|c| config.open(c.value()));
    let csrf = Csrf {
        from_cookie: presented.is_some(),
        token: Arc::new(Mutex::new(presented.unwrap_or_else(random_token))),
        send: Arc::new(AtomicBool::new(false)),
    };
    request.extensions_mut().insert(csrf.clone());
    let mut response = next.run(request).await;
    if csrf.send.load(Ordering::Relaxed) {
        let token = csrf.current();
        let cookie = Cookie::build((name, format!("{token}.{}", config.sign(&token))))
            .path("/")
            .http_only(true)
            .secure(config.secure)
            .same_site(SameSite::Lax)
            .build();
        if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}
