//! The Bearer token of a request's `Authorization` header (RFC 6750 §2.1): one reading for
//! every endpoint that accepts an access token (userinfo, the admin API, the gateway). Each
//! answers a missing or malformed header in its own shape.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

/// The token, or `None` without an `Authorization` header or with another scheme (a request
/// that did not try Bearer gets a bare challenge, RFC 6750 §3.1).
#[derive(Debug)]
pub struct BearerHeader(pub Option<String>);

/// An `Authorization` header that is not even text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MalformedAuthorization;

/// A bare 400; the endpoints take `Result<BearerHeader, _>` and answer in their own shape.
impl axum::response::IntoResponse for MalformedAuthorization {
    fn into_response(self) -> axum::response::Response {
        axum::http::StatusCode::BAD_REQUEST.into_response()
    }
}

pub fn from_headers(headers: &HeaderMap) -> Result<Option<String>, MalformedAuthorization> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| MalformedAuthorization)?;
    Ok(match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
            Some(token.trim().to_owned()).filter(|t| !t.is_empty())
        }
        _ => None,
    })
}

impl<S: Send + Sync> FromRequestParts<S> for BearerHeader {
    type Rejection = MalformedAuthorization;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        from_headers(&parts.headers).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(value: &[u8]) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_bytes(value) {
            h.insert(header::AUTHORIZATION, v);
        }
        h
    }

    #[test]
    fn reads_the_bearer_scheme_only() {
        assert_eq!(from_headers(&HeaderMap::new()), Ok(None));
        assert_eq!(from_headers(&with(b"Bearer abc")), Ok(Some("abc".into())));
        assert_eq!(from_headers(&with(b"bearer  abc ")), Ok(Some("abc".into())));
        assert_eq!(from_headers(&with(b"Bearer ")), Ok(None));
        assert_eq!(from_headers(&with(b"Basic abc")), Ok(None));
        assert_eq!(from_headers(&with(b"Bearer")), Ok(None));
        assert_eq!(
            from_headers(&with(b"Bearer \xff")),
            Err(MalformedAuthorization)
        );
    }
}
