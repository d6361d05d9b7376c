//! What /token, /revoke and /introspect share: a form body (RFC 6749 §3.2: urlencoded, each
//! parameter once) and an authenticated client.

use axum::http::{HeaderMap, header};

use crate::http::rate_limit::RateLimiter;
use crate::oauth::client::Client;
use crate::oauth::client_auth::{self, PresentedCredentials};
use crate::oauth::context::OAuthContext;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::params::Params;

pub struct ClientForm {
    pub client: Client,
    params: Params,
}

impl ClientForm {
    pub async fn read(
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
