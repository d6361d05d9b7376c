//! The middleware stack: request id, tracing, security headers, panic safety net, limits.

use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::classify::ServerErrorsFailureClass;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use super::error::ApiError;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being handled, as an extension (for logs and error pages).
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

const BODY_LIMIT: usize = 64 * 1024;
/// A body over the limit is read and thrown away up to this much, so the client is still
/// listening when the 413 comes (answering early makes it see a broken pipe instead).
const DRAIN_LIMIT: usize = 16 * 1024 * 1024;
/// A request munjigi has not answered in this time (a database that stopped answering
/// mid-query) is answered 503: the server's fault, not the client's, and said before the
/// client's own timeout (often 10 s) gives up without an answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(8);
/// The same for a sign-in through an upstream provider, which makes up to three calls to it
/// (token, keys, profile) of up to 10 s each.
const UPSTREAM_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Wraps the router; the last layer added runs first.
/// `body_timeout`: how long a client has to send a request's body (the time it has for its
/// headers), after which it is answered 408.
pub fn apply(
    router: Router,
    hsts: bool,
    body_timeout: Duration,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
) -> Router {
    router
        .layer(from_fn_with_state(body_timeout, limit_body))
        .layer(from_fn(deadline))
        .layer(CatchPanicLayer::custom(|_panic| {
            tracing::error!("handler panicked");
            ApiError::Internal.into_response()
        }))
        .layer(from_fn_with_state(hsts, security_headers))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let id = request
                        .extensions()
                        .get::<RequestId>()
                        .map(|r| r.0.as_str());
                    // The path only: query strings carry codes and tokens.
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id = id.unwrap_or("-"),
                    )
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO))
                .on_failure(log_failure),
        )
        .layer(from_fn_with_state(metrics, count_request))
        .layer(from_fn(server_timing))
        .layer(from_fn(request_id))
}

/// `Server-Timing: app;dur=<ms>` on every response: the time from the request reaching
/// munjigi's stack to its response headers (W3C Server Timing, shown by browsers' dev tools).
async fn server_timing(request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&server_timing_value(started.elapsed())) {
        response.headers_mut().insert(SERVER_TIMING, value);
    }
    response
}

/// Counts the request and its latency by route template (`unmatched` for 404s), so that the
/// label values stay a small set whatever paths clients send.
async fn count_request(
    State(metrics): State<std::sync::Arc<crate::metrics::Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = std::time::Instant::now();
    let method: &'static str = match request.method().as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        _ => "other",
    };
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let response = next.run(request).await;
    metrics.request(
        method,
        route.as_deref().unwrap_or("unmatched"),
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

const SERVER_TIMING: HeaderName = HeaderName::from_static("server-timing");

fn server_timing_value(elapsed: Duration) -> String {
    format!("app;dur={:.3}", elapsed.as_secs_f64() * 1000.0)
}

/// A 5xx is logged as an error, except a 503: that is munjigi's deliberate answer to a known
/// condition (the database away, the hashing pool full) whose cause is logged once where it is
/// found. One line per 503 flooded the log during an outage (23,376 of 23,662 lines in 30 s).
fn log_failure(class: ServerErrorsFailureClass, latency: Duration, _span: &tracing::Span) {
    match class {
        ServerErrorsFailureClass::StatusCode(status)
            if status == axum::http::StatusCode::SERVICE_UNAVAILABLE =>
        {
            tracing::debug!(?latency, "answered 503");
        }
        ServerErrorsFailureClass::StatusCode(status) => {
            tracing::error!(%status, ?latency, "server error");
        }
        ServerErrorsFailureClass::Error(error) => {
            tracing::error!(%error, ?latency, "request failed");
        }
    }
}

async fn deadline(request: Request, next: Next) -> Response {
    let limit = if waits_on_upstream(request.uri().path()) {
        UPSTREAM_REQUEST_TIMEOUT
    } else {
        REQUEST_TIMEOUT
    };
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!("request not answered within {limit:?}");
            ApiError::Unavailable("the request could not be answered in time; try again")
                .into_response()
        }
    }
}

/// The routes that call an upstream provider: `/login/{provider}`, its callback and
/// `/account/link/{provider}` (not `/login/link`, munjigi's own confirmation page).
fn waits_on_upstream(path: &str) -> bool {
    path.starts_with("/account/link/")
        || path
            .strip_prefix("/login/")
            .is_some_and(|rest| rest != "link" && !rest.starts_with("link/"))
}

/// Reads the body (at most `BODY_LIMIT`: every form munjigi takes is small) before the
/// handler runs; a larger one is answered 413 once it has been drained, a slow one 408.
async fn limit_body(
    State(body_timeout): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    use http_body_util::BodyExt;
    let (parts, mut body) = request.into_parts();
    let mut kept = Vec::new();
    let mut seen = 0usize;
    let read = async {
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else {
                return Err(ApiError::BadRequest("the request body could not be read"));
            };
            if let Ok(data) = frame.into_data() {
                seen += data.len();
                if seen <= BODY_LIMIT {
                    kept.extend_from_slice(&data);
                } else if seen > DRAIN_LIMIT {
                    break;
                }
            }
        }
        Ok(())
    };
    match tokio::time::timeout(body_timeout, read).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return e.into_response(),
        Err(_) => return ApiError::RequestTimeout.into_response(),
    }
    if seen > BODY_LIMIT {
        return ApiError::PayloadTooLarge.into_response();
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(kept)))
        .await
}

/// Keeps a well-formed incoming `X-Request-Id` (so ids follow a request through proxies);
/// anything else is replaced by a fresh UUID. The id is echoed on the response.
async fn request_id(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_valid_request_id(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID, value);
    }
    response
}

fn is_valid_request_id(value: &str) -> bool {
    (1..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=".contains(&b))
}

const HTML_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
     script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

async fn security_headers(State(hsts): State<bool>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Pages use `same-origin`: nothing leaves for other sites, and the browser still names
    // our origin on our own form posts (with `no-referrer` it would send `Origin: null`, and
    // the same-origin check could not tell our forms from a page that hides its origin).
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static(if is_html {
            "same-origin"
        } else {
            "no-referrer"
        }),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(if is_html { HTML_CSP } else { API_CSP }),
    );
    if is_html {
        // No other window keeps a handle on ours (opener-based attacks on the login page).
        headers.insert(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        );
    }
    if hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

/// A second line behind the CSRF token: a form post to one of munjigi's own pages must come
/// from munjigi's origin when the browser says where it comes from. `/authorize` and
/// `/end_session` take posts from relying parties' pages and are left alone.
pub async fn same_origin_forms(
    State(origin): State<std::sync::Arc<str>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let cross_site_allowed = path == crate::oidc::metadata::paths::AUTHORIZE
        || path == crate::oidc::metadata::paths::END_SESSION;
    if request.method() == axum::http::Method::POST
        && !cross_site_allowed
        && let Some(sent) = request.headers().get(header::ORIGIN)
        && sent.as_bytes() != origin.as_bytes()
    {
        return crate::http::error::PageError::csrf().into_response();
    }
    next.run(request).await
}

/// The origin (scheme, host, port) of the issuer, as browsers send it in `Origin`.
pub fn origin_of(issuer: &str) -> String {
    url::Url::parse(issuer)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_bounded_and_plain() {
        assert!(is_valid_request_id("3f2a-11ee.b:c/d+e="));
        assert!(!is_valid_request_id(""));
        assert!(!is_valid_request_id(&"a".repeat(129)));
        assert!(!is_valid_request_id("a b"));
        assert!(!is_valid_request_id("a\"b"));
    }

    #[test]
    fn server_timing_is_in_milliseconds() {
        assert_eq!(
            server_timing_value(Duration::from_micros(1_500)),
            "app;dur=1.500"
        );
        assert_eq!(server_timing_value(Duration::ZERO), "app;dur=0.000");
    }

    #[test]
    fn only_upstream_sign_ins_get_the_long_deadline() {
        for path in [
            "/login/kakao",
            "/login/google/callback",
            "/account/link/naver",
        ] {
            assert!(waits_on_upstream(path), "{path}");
        }
        for path in [
            "/login",
            "/login/link",
            "/login/link/cancel",
            "/token",
            "/account",
            "/logintoken",
        ] {
            assert!(!waits_on_upstream(path), "{path}");
        }
    }
}
