//! The admin API's one error shape: `{status, code, message, request_id, timestamp}`.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::clock::Clock;
use crate::http::middleware::RequestId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl AdminApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn unauthorized(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such {what}"),
        )
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the database cannot be reached; retry later",
        )
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    }
}

impl From<crate::store::StoreError> for AdminApiError {
    /// As everywhere in munjigi: bad input is the caller's; any other store failure is
    /// answered 503 (logged unless the outage is already known).
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Conflict => Self::conflict("already exists"),
            e if e.is_bad_input() => Self::invalid("a value cannot be stored"),
            e => {
                if !e.is_known_outage() {
                    tracing::error!(error = %e, "admin API: store error");
                }
                Self::unavailable()
            }
        }
    }
}

/// The body as documented (OpenAPI `AdminErrorBody`).
#[derive(Serialize, utoipa::ToSchema)]
pub struct AdminErrorBody {
    /// The HTTP status, repeated.
    pub status: u16,
    /// A stable, machine-readable code: `unauthorized`, `forbidden`, `not_found`,
    /// `invalid_request`, `conflict`, `unavailable`, `internal`.
    pub code: String,
    pub message: String,
    /// The request's `X-Request-Id`, to find it in the logs.
    pub request_id: String,
    /// RFC 3339, UTC.
    pub timestamp: String,
}

impl IntoResponse for AdminApiError {
    /// The request id and time are filled in by `complete`, which sees the request.
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"munjigi admin\""),
            );
        }
        response.extensions_mut().insert(self);
        response
    }
}

/// Writes the body of every `AdminApiError` answer, with the request's id and the time.
pub async fn complete(State(clock): State<Clock>, request: Request, next: Next) -> Response {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let response = next.run(request).await;
    let Some(error) = response.extensions().get::<AdminApiError>().cloned() else {
        return response;
    };
    let timestamp = time::OffsetDateTime::from_unix_timestamp(clock.now())
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    let body = AdminErrorBody {
        status: error.status.as_u16(),
        code: error.code.to_owned(),
        message: error.message,
        request_id,
        timestamp,
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let mut answer = Json(body).into_response();
    *answer.status_mut() = parts.status;
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE {
            answer.headers_mut().insert(name.clone(), value.clone());
        }
    }
    answer
}

pub async fn not_found() -> AdminApiError {
    AdminApiError::not_found("endpoint")
}

pub async fn method_not_allowed() -> AdminApiError {
    AdminApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this endpoint",
    )
}

/// A JSON body; a malformed one is an `invalid_request` in the admin shape (axum's own
/// rejection is plain text).
pub struct AdminJson<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for AdminJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AdminApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(AdminApiError::invalid(rejection.body_text())),
        }
    }
}
