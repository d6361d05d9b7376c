//! What /token, /revoke and /introspect share: a form body (RFC 6749 §3.2: urlencoded, each
//! parameter once) and an authenticated client.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::http::client_ip::ClientIp;
use crate::http::error::TokenEndpointError;
use crate::http::rate_limit::RateLimiter;
use crate::oauth::client::Client;
use crate::oauth::client_auth::{self, PresentedCredentials};
use crate::oauth::context::OAuthContext;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::params::Params;

/// The form of /token, /introspect or /revoke with its client authenticated (`client_auth`),
/// within the client's request rate. An extractor: a request that fails here is answered in
/// the token endpoint's error shape before the handler runs.
pub struct ClientForm {
    pub client: Client,
    params: Params,
}

impl FromRequest<AppState> for ClientForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let ClientIp(ip) = match ClientIp::from_request_parts(&mut parts, state).await {
            Ok(ip) => ip,
            Err(never) => match never {},
        };
        let headers = parts.headers.clone();
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let keys = state.keys.current();
        let ctx = state.oauth(&keys, state.clock.now());
        let limits = (&*state.rate_limiter, state.config.rate_limits.client);
        Self::read(&ctx, limits, &headers, &body, ip)
            .await
            .map_err(|e| TokenEndpointError(e).into_response())
    }
}

impl ClientForm {
    async fn read(
        ctx: &OAuthContext<'_>,
        limits: (&RateLimiter, u32),
        headers: &HeaderMap,
        body: &[u8],
        ip: std::net::IpAddr,
    ) -> Result<Self, OAuthError> {
        let (params, presented) = parse(headers, body)?;
        let client = client_auth::authenticate(ctx, presented, ip).await?;
        let (limiter, per_minute) = limits;
        if let Err(wait) = limiter.check_client(client.id(), per_minute, ctx.now) {
            ctx.metrics.rate_limited("client");
            return Err(OAuthError::new(
                ErrorCode::TemporarilyUnavailable,
                "this client sends too many requests; retry later",
            )
            .retry_after(wait));
        }
        Ok(Self { client, params })
    }

    /// A parameter's value; empty counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.single(name).ok().flatten()
    }
}

/// What `ClientForm::read` reads before it looks at any client: the body's type, its
/// parameters (each once) and the credentials presented. Public for the fuzz targets (fuzz/).
#[doc(hidden)]
pub fn parse(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Params, PresentedCredentials), OAuthError> {
    let form_encoded = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !form_encoded {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let params = Params::decode(body);
    params.refuse_repeated()?;
    let authorization = match headers.get(header::AUTHORIZATION) {
        Some(v) => Some(v.to_str().map_err(|_| OAuthError::invalid_client())?),
        None => None,
    };
    let mut presented = PresentedCredentials::from_request(
        authorization,
        params.single("client_id")?.map(str::to_owned),
        params.single("client_secret")?.map(str::to_owned),
        params.single("client_assertion")?.is_some()
            || params.single("client_assertion_type")?.is_some(),
    )?;
    // An unreadable Origin is kept as one no client registered, so it is refused.
    presented.origin = headers
        .get(header::ORIGIN)
        .map(|v| v.to_str().unwrap_or("invalid").to_owned());
    Ok((params, presented))
}
