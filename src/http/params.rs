//! Request parameters from the query of a GET or the form body of a POST (OIDC Core §3.1.2.1
//! allows both for the authorization and logout endpoints).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::Method;
use axum::response::{IntoResponse, Response};

use crate::oauth::params::Params;

pub struct OAuthParams(pub Params);

impl<S: Send + Sync> FromRequest<S> for OAuthParams {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if request.method() == Method::GET || request.method() == Method::HEAD {
            let query = request.uri().query().unwrap_or("");
            return Ok(Self(Params::decode(query.as_bytes())));
        }
        let body = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self(Params::decode(&body)))
    }
}
