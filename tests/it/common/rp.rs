//! The `openidconnect` crate as a relying party, over reqwest.

use openidconnect::core::{CoreClient, CoreProviderMetadata};
use openidconnect::{ClientId, ClientSecret, HttpRequest, HttpResponse, IssuerUrl, RedirectUrl};

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RpHttpError(String);

/// The HTTP client openidconnect calls: no redirects followed, as its docs require.
pub async fn http(request: HttpRequest) -> Result<HttpResponse, RpHttpError> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| RpHttpError(e.to_string()))?;
    let (parts, body) = request.into_parts();
    let mut builder = client
        .request(parts.method, parts.uri.to_string())
        .body(body);
    for (name, value) in &parts.headers {
        builder = builder.header(name, value);
    }
    let response = builder
        .send()
        .await
        .map_err(|e| RpHttpError(e.to_string()))?;
    let mut out = openidconnect::http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        out = out.header(name, value);
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| RpHttpError(e.to_string()))?;
    out.body(body.to_vec())
        .map_err(|e| RpHttpError(e.to_string()))
}

pub type Rp = openidconnect::core::CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// Discovery, then a client for it: what every RP library does first.
pub async fn discover(
    issuer: &str,
    client_id: &str,
    secret: Option<&str>,
    redirect_uri: &str,
) -> Rp {
    let issuer = IssuerUrl::new(issuer.to_owned()).unwrap_or_else(|e| panic!("issuer url: {e}"));
    let metadata = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .unwrap_or_else(|e| panic!("discovery failed: {e:?}"));
    let redirect =
        RedirectUrl::new(redirect_uri.to_owned()).unwrap_or_else(|e| panic!("redirect url: {e}"));
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.to_owned()),
        secret.map(|s| ClientSecret::new(s.to_owned())),
    )
    .set_redirect_uri(redirect)
}
