//! The one place that turns errors into HTTP responses.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::web::i18n::Texts;

/// Errors of the non-OAuth JSON routes.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("no such endpoint")]
    NotFound,
    #[error("method not allowed on this endpoint")]
    MethodNotAllowed,
    #[error("{0}")]
    Unavailable(&'static str),
    #[error("{0}")]
    BadRequest(&'static str),
    #[error("the request body is larger than munjigi accepts")]
    PayloadTooLarge,
    #[error("the request body was not received in time")]
    RequestTimeout,
    #[error("internal error")]
    Internal,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            Self::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable"),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "invalid_request"),
            Self::RequestTimeout => (StatusCode::REQUEST_TIMEOUT, "invalid_request"),
            Self::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
        };
        let body = ErrorBody {
            error: code,
            error_description: self.to_string(),
        };
        let mut response = (status, Json(body)).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// An OAuth error at the token endpoint (RFC 6749 §5.2): JSON, `no-store`, 401 with
/// `WWW-Authenticate` for client authentication failures.
pub struct TokenEndpointError(pub crate::oauth::error::OAuthError);

impl IntoResponse for TokenEndpointError {
    fn into_response(self) -> Response {
        let code = self.0.code;
        let status = match self.0.retry_after {
            Some(_) => StatusCode::TOO_MANY_REQUESTS,
            None => StatusCode::from_u16(code.token_status()).unwrap_or(StatusCode::BAD_REQUEST),
        };
        let retry_after = self.0.retry_after;
        let body = ErrorBody {
            error: code.as_str(),
            error_description: self.0.description.into_owned(),
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"munjigi\""),
            );
        }
        if let Some(secs) = retry_after
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            headers.insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// An error at a resource (RFC 6750 §3): `WWW-Authenticate: Bearer` with the error code; no
/// code at all when the request carried no token.
pub struct BearerError(pub Option<crate::oauth::error::OAuthError>);

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        use crate::oauth::error::ErrorCode;
        let (status, challenge, body) = match &self.0 {
            None => (
                StatusCode::UNAUTHORIZED,
                "Bearer realm=\"munjigi\"".to_owned(),
                None,
            ),
            Some(e) => {
                let status = match e.code {
                    ErrorCode::InvalidRequest => StatusCode::BAD_REQUEST,
                    ErrorCode::InvalidScope => StatusCode::FORBIDDEN,
                    ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
                    _ => StatusCode::UNAUTHORIZED,
                };
                // RFC 6750 §3.1 names this code insufficient_scope.
                let code = if e.code == ErrorCode::InvalidScope {
                    "insufficient_scope"
                } else {
                    e.code.as_str()
                };
                let description: String = e
                    .description
                    .chars()
                    .filter(|c| *c != '"' && *c != '\\')
                    .collect();
                (
                    status,
                    format!(
                        "Bearer realm=\"munjigi\", error=\"{code}\", error_description=\"{description}\""
                    ),
                    Some(ErrorBody {
                        error: code,
                        error_description: description,
                    }),
                )
            }
        };
        let mut response = match body {
            Some(body) => (status, Json(body)).into_response(),
            None => status.into_response(),
        };
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// A failure on a browser route. It becomes a page in the language the handler settled on,
/// with the request id, once `web::page::render_errors` (which knows both) sees it.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub view: PageErrorView,
    /// Seconds for `Retry-After` (429 and 503).
    pub retry_after: Option<u64>,
}

/// One of the page texts, picked once the language is known.
pub type Text = fn(&'static Texts) -> &'static str;

/// What the error page says, and where its link leads.
#[derive(Clone, Debug)]
pub struct PageErrorView {
    pub message: PageMessage,
    /// Where "back" goes, and what the link says (default: the start page).
    pub back: Option<(String, Text)>,
}

#[derive(Clone, Debug)]
pub enum PageMessage {
    Text(Text),
    Plain(String),
    /// A text about something named, with an optional detail: "Kakao: the sign-in could
    /// not be completed. (KOE320)"
    About {
        subject: String,
        text: Text,
        detail: Option<String>,
    },
}

impl PageError {
    pub fn new(status: StatusCode, text: Text) -> Self {
        Self::with(status, PageMessage::Text(text))
    }

    pub fn with(status: StatusCode, message: PageMessage) -> Self {
        Self {
            status,
            view: PageErrorView {
                message,
                back: None,
            },
            retry_after: None,
        }
    }

    /// Too many attempts: 429 with `Retry-After`.
    pub fn throttled(wait_secs: i64) -> Self {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, |t| t.too_many_attempts);
        e.retry_after = Some(wait_secs.max(1).unsigned_abs());
        e
    }

    /// Every password-hashing turn is taken: 503, come back in a moment.
    pub fn busy() -> Self {
        let mut e = Self::new(StatusCode::SERVICE_UNAVAILABLE, |t| t.try_again_later);
        e.retry_after = Some(2);
        e
    }

    /// A way back from the error page other than the start page.
    pub fn back(mut self, href: impl Into<String>, label: Text) -> Self {
        self.view.back = Some((href.into(), label));
        self
    }

    /// A failure of ours (storage, signing): logged, and a 503 page that says to try again.
    pub fn unavailable(what: impl std::fmt::Display) -> Self {
        tracing::error!(error = %what, "page failed");
        Self::new(StatusCode::SERVICE_UNAVAILABLE, |t| t.try_again_later)
    }

    /// The pending request is unknown, used up or its client gone.
    pub fn request_expired() -> Self {
        Self::new(StatusCode::BAD_REQUEST, |t| t.request_expired)
    }

    pub fn csrf() -> Self {
        Self::new(StatusCode::FORBIDDEN, |t| t.csrf_failed)
    }

    /// A request that cannot be answered to a client, explained to the person.
    pub fn bad_request(error: &crate::oauth::error::OAuthError) -> Self {
        Self::with(
            StatusCode::BAD_REQUEST,
            PageMessage::Plain(format!("{} ({})", error.description, error.code.as_str())),
        )
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        if let Some(secs) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response.extensions_mut().insert(self.view);
        response
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(e: crate::store::StoreError) -> Self {
        if e.is_bad_input() {
            return Self::new(StatusCode::BAD_REQUEST, |t| t.error_bad_request);
        }
        if e.is_known_outage() {
            let mut page = Self::new(StatusCode::SERVICE_UNAVAILABLE, |t| t.try_again_later);
            page.retry_after = Some(2);
            return page;
        }
        Self::unavailable(e)
    }
}

impl From<super::session::SessionError> for PageError {
    fn from(e: super::session::SessionError) -> Self {
        Self::unavailable(e)
    }
}

impl From<crate::oauth::authorize::flow::FlowError> for PageError {
    fn from(e: crate::oauth::authorize::flow::FlowError) -> Self {
        use crate::oauth::authorize::flow::FlowError;
        match e {
            FlowError::ClientGone => Self::request_expired(),
            FlowError::Store(e) => Self::unavailable(e),
        }
    }
}

impl From<crate::account::password::PasswordError> for PageError {
    fn from(e: crate::account::password::PasswordError) -> Self {
        match e {
            crate::account::password::PasswordError::Busy => Self::busy(),
            other => Self::unavailable(other),
        }
    }
}
