//! HTTP to upstream providers: no redirects followed, connect and total timeouts, and a cap on
//! what an answer may weigh, so a slow or hostile provider costs a bounded amount.

use std::time::Duration;

use reqwest::StatusCode;
use serde::de::DeserializeOwned;

use super::FederationError;

/// No legitimate discovery document, key set, token or profile answer comes near this.
const MAX_BODY: usize = 256 * 1024;

/// Why a call to a provider failed, kept apart so a timeout reads as one.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamHttpError {
    #[error("the provider did not answer in time")]
    Timeout,
    #[error("the provider cannot be reached: {0}")]
    Unreachable(String),
    #[error("the provider's answer is larger than {MAX_BODY} bytes")]
    TooLarge,
}

impl From<UpstreamHttpError> for FederationError {
    fn from(e: UpstreamHttpError) -> Self {
        match e {
            UpstreamHttpError::Timeout => Self::Timeout,
            UpstreamHttpError::Unreachable(why) => Self::Unreachable(why),
            UpstreamHttpError::TooLarge => Self::Invalid(e.to_string()),
        }
    }
}

fn classify(e: reqwest::Error) -> UpstreamHttpError {
    if e.is_timeout() {
        UpstreamHttpError::Timeout
    } else {
        UpstreamHttpError::Unreachable(e.to_string())
    }
}

/// The one client for every provider.
#[derive(Clone)]
pub struct Upstream {
    client: reqwest::Client,
}

impl Upstream {
    pub fn new(connect_timeout: Duration, timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            .user_agent(concat!("munjigi/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self { client }
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends a request and reads at most `MAX_BODY` bytes of the answer.
    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(StatusCode, Vec<u8>), UpstreamHttpError> {
        let mut response = request.send().await.map_err(classify)?;
        let body = read_capped(&mut response).await?;
        Ok((response.status(), body))
    }

    /// The HTTP client the `openidconnect` crate calls: a closure owning its own handle, so
    /// the futures it returns borrow nothing.
    pub fn openidconnect_client(
        &self,
    ) -> impl Fn(
        openidconnect::HttpRequest,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<openidconnect::HttpResponse, UpstreamHttpError>>
                + Send,
        >,
    > + Send
    + Sync {
        let upstream = self.clone();
        move |request| {
            let upstream = upstream.clone();
            Box::pin(async move { upstream.for_openidconnect(request).await })
        }
    }

    async fn for_openidconnect(
        &self,
        request: openidconnect::HttpRequest,
    ) -> Result<openidconnect::HttpResponse, UpstreamHttpError> {
        let (parts, body) = request.into_parts();
        let mut builder = self
            .client
            .request(parts.method, parts.uri.to_string())
            .body(body);
        for (name, value) in &parts.headers {
            builder = builder.header(name, value);
        }
        let mut upstream = builder.send().await.map_err(classify)?;
        let body = read_capped(&mut upstream).await?;
        let mut response = openidconnect::HttpResponse::new(body);
        *response.status_mut() = upstream.status();
        *response.headers_mut() = upstream.headers().clone();
        Ok(response)
    }
}

/// A provider's answer read as JSON of the expected shape; `what` names it in the error.
pub(super) fn decode<T: DeserializeOwned>(
    status: StatusCode,
    body: &[u8],
    what: &str,
) -> Result<T, FederationError> {
    serde_json::from_slice(body).map_err(|e| {
        FederationError::Invalid(format!(
            "{what}: not the expected JSON (HTTP {status}): {e}"
        ))
    })
}

async fn read_capped(response: &mut reqwest::Response) -> Result<Vec<u8>, UpstreamHttpError> {
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY as u64)
    {
        return Err(UpstreamHttpError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(classify)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(UpstreamHttpError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
