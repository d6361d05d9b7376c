//! `/gateway/verify`: forward authentication for gateways in front of the apps' APIs.
//! nginx `auth_request` and Traefik `ForwardAuth` call it as configured (requirements in the
//! query); Envoy's `ext_authz` appends the original path (`/gateway/verify/api/…`), so its
//! requirements come as `X-Require-Scope` / `X-Require-Audience` headers. Answers: 200 with
//! identity headers (`X-Auth-Subject-Type` says whether the subject is a user or a client), 401 with a `WWW-Authenticate` challenge (RFC 6750 §3), 403 when a scope
//! is missing, 503 when the database is away. Never 400: gateways treat anything but
//! 2xx/401/403 as their own failure.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::http::bearer::{BearerHeader, MalformedAuthorization};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::forward_auth::{self, Identity, Requirements};

pub const PATH: &str = "/gateway/verify";

const X_AUTH_SUBJECT: HeaderName = HeaderName::from_static("x-auth-subject");
const X_AUTH_SUBJECT_TYPE: HeaderName = HeaderName::from_static("x-auth-subject-type");
const X_AUTH_SCOPE: HeaderName = HeaderName::from_static("x-auth-scope");
const X_AUTH_CLIENT: HeaderName = HeaderName::from_static("x-auth-client");
const X_AUTH_ROLE: HeaderName = HeaderName::from_static("x-auth-role");

pub async fn verify(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    bearer: Result<BearerHeader, MalformedAuthorization>,
) -> Response {
    let keys = state.keys.current();
    let ctx = state.oauth(&keys, state.clock.now());
    let outcome = async {
        let required = requirements(&uri, &headers)?;
        let token = match bearer {
            Ok(BearerHeader(Some(token))) => token,
            // No token: a bare challenge.
            Ok(BearerHeader(None)) => return Err(OAuthError::new(ErrorCode::InvalidRequest, "")),
            Err(MalformedAuthorization) => {
                return Err(OAuthError::new(
                    ErrorCode::InvalidToken,
                    "malformed Authorization header",
                ));
            }
        };
        forward_auth::verify(&ctx, &token, &required).await
    };
    match outcome.await {
        Ok(identity) => allowed(identity),
        Err(e) => refused(e),
    }
}

/// The query's requirements when the path is ours alone (nginx, Traefik), and the
/// `X-Require-*` headers always.
fn requirements(uri: &Uri, headers: &HeaderMap) -> Result<Requirements, OAuthError> {
    let query = if uri.path() == PATH {
        uri.query().unwrap_or_default()
    } else {
        ""
    };
    let from_query: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let from_headers = [
        ("scope", "x-require-scope"),
        ("audience", "x-require-audience"),
    ]
    .into_iter()
    .flat_map(|(name, header)| {
        headers
            .get_all(header)
            .iter()
            .map(move |v| (name, v.to_str().unwrap_or("\"")))
    });
    Requirements::from_pairs(
        from_query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(from_headers),
    )
}

fn allowed(identity: Identity) -> Response {
    let mut response = StatusCode::OK.into_response();
    let h = response.headers_mut();
    let mut put = |name: HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            h.insert(name, value);
        }
    };
    put(X_AUTH_SUBJECT, &identity.subject);
    put(X_AUTH_SUBJECT_TYPE, identity.subject_type.as_str());
    put(X_AUTH_SCOPE, &identity.scope);
    put(X_AUTH_CLIENT, &identity.client_id);
    if let Some(role) = &identity.role {
        put(X_AUTH_ROLE, role);
    }
    no_store(response)
}

fn refused(e: OAuthError) -> Response {
    let (status, challenge) = match e.code {
        ErrorCode::TemporarilyUnavailable | ErrorCode::ServerError => {
            return crate::http::error::ApiError::Unavailable("cannot verify tokens right now")
                .into_response();
        }
        // No token, or a request the gateway was set up wrong for: a bare challenge.
        ErrorCode::InvalidRequest if e.description.is_empty() => (
            StatusCode::UNAUTHORIZED,
            "Bearer realm=\"munjigi\"".to_owned(),
        ),
        ErrorCode::InvalidScope => (
            StatusCode::FORBIDDEN,
            challenge("insufficient_scope", &e.description),
        ),
        ErrorCode::InvalidRequest => (
            StatusCode::UNAUTHORIZED,
            challenge("invalid_request", &e.description),
        ),
        _ => (
            StatusCode::UNAUTHORIZED,
            challenge("invalid_token", &e.description),
        ),
    };
    let mut response = status.into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    no_store(response)
}

/// OAuthError descriptions are already limited to RFC 6749's characters (no `"` or `\`).
fn challenge(code: &str, description: &str) -> String {
    format!("Bearer realm=\"munjigi\", error=\"{code}\", error_description=\"{description}\"")
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
