use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;

/// The public keys, from memory, with conditional GET (RFC 9110 §13.1.2).
pub async fn jwks(State(state): State<AppState>, request_headers: HeaderMap) -> Response {
    let keys = state.keys.current();
    let published = keys.jwks();
    let cache_control = format!(
        "public, max-age={}, must-revalidate",
        state.config.jwks_max_age_secs
    );
    let not_modified = request_headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .any(|value| if_none_match_hits(value, published.etag()));
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = published.body().into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r
    };
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(published.etag()) {
        headers.insert(header::ETAG, etag);
    }
    if let Ok(cc) = HeaderValue::from_str(&cache_control) {
        headers.insert(header::CACHE_CONTROL, cc);
    }
    response
}

/// If-None-Match uses the weak comparison: `W/"x"` matches `"x"`, and `*` matches anything.
fn if_none_match_hits(value: &HeaderValue, etag: &str) -> bool {
    let Ok(value) = value.to_str() else {
        return false;
    };
    value.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == etag
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_uses_weak_comparison_over_a_list() {
        let hit = |v: &'static str| if_none_match_hits(&HeaderValue::from_static(v), "\"abc\"");
        assert!(hit("\"abc\""));
        assert!(hit("W/\"abc\""));
        assert!(hit("\"zzz\", \"abc\""));
        assert!(hit("*"));
        assert!(!hit("\"abd\""));
        assert!(!hit("abc"));
    }
}
