//! Google, and any OpenID Connect issuer, with the `openidconnect` crate: discovery, the code
//! flow with PKCE S256, `state` and `nonce`, and the id_token verified (signature from the
//! issuer's JWKS, `iss`, `aud`, `exp`, `nonce`, an `iat` not in the future). The profile and
//! the address come from the provider's UserInfo endpoint when it has one (many providers put
//! `email` and `name` only there, OIDC Core §5.4), whose `sub` must be the id_token's (§5.3.2).

use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::Engine;
use openidconnect::core::{
    CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreIdToken,
    CoreIdTokenClaims, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthType, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
};
use tokio::sync::Mutex;

use super::http::{Upstream, UpstreamHttpError};
use super::{
    Begun, Connector, FederationError, Freshness, ProviderKind, RoundTrip, UpstreamIdentity,
};
use crate::config::OidcUpstream;

/// Discovery (and the keys it brings) is reused this long; keys that stop verifying are
/// fetched again at once.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// Tolerated difference between the provider's clock and ours, for `auth_time`.
const CLOCK_SKEW: i64 = 120;

pub struct OidcConnector {
    config: OidcUpstream,
    kind: ProviderKind,
    metadata: Mutex<Option<(Instant, CoreProviderMetadata)>>,
}

impl OidcConnector {
    pub fn new(config: OidcUpstream, kind: ProviderKind) -> Self {
        Self {
            config,
            kind,
            metadata: Mutex::new(None),
        }
    }

    /// The provider's metadata and keys, from discovery (cached; `fresh` to fetch again).
    async fn metadata(
        &self,
        upstream: &Upstream,
        fresh: bool,
    ) -> Result<CoreProviderMetadata, FederationError> {
        let mut cached = self.metadata.lock().await;
        if let Some((at, metadata)) = cached.as_ref()
            && !fresh
            && at.elapsed() < METADATA_TTL
        {
            return Ok(metadata.clone());
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone())
            .map_err(|e| FederationError::Invalid(format!("issuer URL: {e}")))?;
        let http = upstream.openidconnect_client();
        let metadata = CoreProviderMetadata::discover_async(issuer, &http)
            .await
            .map_err(|e| match e {
                openidconnect::DiscoveryError::Request(e) => e.into(),
                other => FederationError::Invalid(format!("discovery: {other}")),
            })?;
        *cached = Some((Instant::now(), metadata.clone()));
        Ok(metadata)
    }

    /// The `openidconnect` client for the provider's `metadata`. Public for the fuzz targets
    /// (fuzz/).
    #[doc(hidden)]
    pub fn client(
        &self,
        metadata: CoreProviderMetadata,
        redirect_uri: &str,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        FederationError,
    > {
        // Basic unless the provider takes the secret only in the body.
        let post_only = metadata
            .token_endpoint_auth_methods_supported()
            .is_some_and(|m| {
                m.contains(&CoreClientAuthMethod::ClientSecretPost)
                    && !m.contains(&CoreClientAuthMethod::ClientSecretBasic)
            });
        let redirect = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|e| FederationError::Invalid(format!("redirect URI: {e}")))?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(
                self.config.client_secret.expose().to_owned(),
            )),
        )
        .set_redirect_uri(redirect);
        Ok(if post_only {
            client.set_auth_type(AuthType::RequestBody)
        } else {
            client
        })
    }
}

#[async_trait]
impl Connector for OidcConnector {
    fn id(&self) -> &str {
        &self.config.id
    }

    fn kind(&self) -> ProviderKind {
        self.kind
    }

    fn display_name(&self) -> &str {
        &self.config.display_name
    }

    fn vouches_for_email(&self) -> bool {
        true
    }

    fn issuer(&self) -> Option<&str> {
        Some(&self.config.issuer)
    }

    async fn begin(
        &self,
        upstream: &Upstream,
        redirect_uri: &str,
        freshness: Freshness,
    ) -> Result<Begun, FederationError> {
        self.authorize_url(
            self.metadata(upstream, false).await?,
            redirect_uri,
            freshness,
        )
    }

    async fn finish(
        &self,
        upstream: &Upstream,
        redirect_uri: &str,
        code: &str,
        trip: &RoundTrip,
        now: i64,
    ) -> Result<UpstreamIdentity, FederationError> {
        let invalid = |what: String| FederationError::Invalid(what);
        let client = self.client(self.metadata(upstream, false).await?, redirect_uri)?;
        let mut exchange = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| invalid(format!("token endpoint: {e}")))?;
        if let Some(verifier) = &trip.pkce_verifier {
            exchange = exchange.set_pkce_verifier(PkceCodeVerifier::new(verifier.clone()));
        }
        let http = upstream.openidconnect_client();
        let tokens = exchange.request_async(&http).await.map_err(token_error)?;
        let id_token = openidconnect::TokenResponse::id_token(&tokens)
            .ok_or_else(|| invalid("the token response has no id_token".into()))?;
        let nonce = Nonce::new(trip.nonce.clone().unwrap_or_default());
        let verifier = client
            .id_token_verifier()
            .set_issue_time_verifier_fn(move |iat| issued_in_time(iat.timestamp(), now));
        let claims = match id_token.claims(&verifier, &nonce) {
            Ok(claims) => claims.clone(),
            // The provider may have rotated its keys since discovery: fetch them once more.
            Err(ClaimsVerificationError::SignatureVerification(_)) => {
                let client = self.client(self.metadata(upstream, true).await?, redirect_uri)?;
                let verifier = client
                    .id_token_verifier()
                    .set_issue_time_verifier_fn(move |iat| issued_in_time(iat.timestamp(), now));
                id_token
                    .claims(&verifier, &nonce)
                    .map_err(|e| invalid(format!("id_token: {e}")))?
                    .clone()
            }
            Err(e) => return Err(invalid(format!("id_token: {e}"))),
        };
        let identity = self.identity(id_token, &claims, trip, now)?;
        // The person's profile and address as the UserInfo endpoint has them, for the
        // id_token's subject only.
        let Ok(request) = client.user_info(
            openidconnect::OAuth2TokenResponse::access_token(&tokens).clone(),
            Some(claims.subject().clone()),
        ) else {
            return Ok(identity);
        };
        let info: CoreUserInfoClaims = request.request_async(&http).await.map_err(|e| match e {
            openidconnect::UserInfoError::Request(e) => e.into(),
            openidconnect::UserInfoError::ClaimsVerification(e) => {
                invalid(format!("UserInfo is about someone else: {e}"))
            }
            other => invalid(format!("UserInfo: {other}")),
        })?;
        Ok(with_user_info(identity, &info))
    }
}

impl OidcConnector {
    /// `begin` once the provider's metadata is at hand: the authorization URL, with PKCE,
    /// `state`, `nonce` and the freshness demand. Public for the fuzz targets (fuzz/).
    #[doc(hidden)]
    pub fn authorize_url(
        &self,
        metadata: CoreProviderMetadata,
        redirect_uri: &str,
        freshness: Freshness,
    ) -> Result<Begun, FederationError> {
        let client = self.client(metadata, redirect_uri)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in self.config.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let max_age = match (self.kind, freshness.force) {
            // Google refuses prompt=login; max_age=0 asks it for a fresh sign-in instead.
            (ProviderKind::Google, true) => Some(0),
            (_, true) => {
                request = request.add_prompt(CoreAuthPrompt::Login);
                freshness.max_age
            }
            (_, false) => freshness.max_age,
        };
        if let Some(max_age) = max_age {
            request = request.set_max_age(Duration::from_secs(max_age.unsigned_abs()));
        }
        let (url, state, nonce) = request.url();
        Ok(Begun {
            url: url.into(),
            state: state.secret().clone(),
            nonce: Some(nonce.secret().clone()),
            pkce_verifier: Some(verifier.secret().clone()),
        })
    }

    /// The person a verified id_token (`claims`) names, once its `auth_time` meets the trip's
    /// demand for a fresh sign-in. Public for the fuzz targets (fuzz/).
    #[doc(hidden)]
    pub fn identity(
        &self,
        id_token: &CoreIdToken,
        claims: &CoreIdTokenClaims,
        trip: &RoundTrip,
        now: i64,
    ) -> Result<UpstreamIdentity, FederationError> {
        let auth_time = claims.auth_time().map(|t| t.timestamp());
        check_fresh(trip, auth_time, now)?;
        let extra = payload(id_token);
        Ok(UpstreamIdentity {
            provider: self.config.id.clone(),
            subject: claims.subject().as_str().to_owned(),
            email: claims.email().map(|e| e.as_str().to_owned()),
            email_verified: claims.email_verified().unwrap_or(false),
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned()),
            username_hint: claims.preferred_username().map(|u| u.as_str().to_owned()),
            hd: extra.get("hd").and_then(|v| v.as_str()).map(str::to_owned),
            multi_factor: claims
                .auth_method_refs()
                .is_some_and(|amr| amr.iter().any(|m| m.as_str() == "mfa")),
        })
    }
}

/// The id_token's `iat` may not be in the future (beyond the tolerated clock difference): a
/// token issued "later" was not issued for this round trip.
pub(super) fn issued_in_time(iat: i64, now: i64) -> Result<(), String> {
    if iat > now + CLOCK_SKEW {
        Err(format!("issued in the future (iat {iat}, now {now})"))
    } else {
        Ok(())
    }
}

/// The identity from the id_token, completed with what the UserInfo endpoint says (the same
/// subject, checked by the caller): its name and username where it has them, and its address
/// together with its own `email_verified` (an address is taken with the flag of the answer
/// that carried it).
pub fn with_user_info(
    mut identity: UpstreamIdentity,
    info: &CoreUserInfoClaims,
) -> UpstreamIdentity {
    if let Some(email) = info.email() {
        identity.email = Some(email.as_str().to_owned());
        identity.email_verified = info.email_verified().unwrap_or(false);
    }
    if let Some(name) = info.name().and_then(|n| n.get(None)) {
        identity.name = Some(name.as_str().to_owned());
    }
    if let Some(username) = info.preferred_username() {
        identity.username_hint = Some(username.as_str().to_owned());
    }
    identity
}

/// When the request demanded a fresh sign-in, the provider must say when it happened
/// (`auth_time`, OIDC Core §3.1.2.1), and that must be fresh enough.
pub(super) fn check_fresh(
    trip: &RoundTrip,
    auth_time: Option<i64>,
    now: i64,
) -> Result<(), FederationError> {
    let not_before = match (trip.freshness.force, trip.freshness.max_age) {
        (true, _) => trip.started_at,
        (false, Some(max_age)) => now - max_age,
        (false, None) => return Ok(()),
    };
    match auth_time {
        Some(t) if t + CLOCK_SKEW >= not_before => Ok(()),
        // Either way the request's demand is not met: the page says so.
        Some(_) | None => Err(FederationError::NotFresh),
    }
}

/// The id_token's payload as JSON, for claims beyond the standard ones (`hd`). Only called on
/// a token that has just been verified.
fn payload(id_token: &CoreIdToken) -> serde_json::Map<String, serde_json::Value> {
    let text = id_token.to_string();
    text.split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

fn token_error(
    e: RequestTokenError<
        UpstreamHttpError,
        openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    >,
) -> FederationError {
    match e {
        RequestTokenError::ServerResponse(r) => FederationError::Upstream {
            code: r.error().to_string(),
            description: r.error_description().cloned(),
        },
        RequestTokenError::Request(e) => e.into(),
        RequestTokenError::Parse(e, _) => FederationError::Invalid(format!("token response: {e}")),
        RequestTokenError::Other(e) => FederationError::Invalid(format!("token response: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::federation::Purpose;

    fn trip(force: bool, max_age: Option<i64>) -> RoundTrip {
        RoundTrip {
            provider: "google".into(),
            state: "s".into(),
            nonce: None,
            pkce_verifier: None,
            freshness: Freshness { force, max_age },
            request_id: String::new(),
            purpose: Purpose::SignIn,
            started_at: 10_000,
        }
    }

    #[test]
    fn a_demanded_fresh_sign_in_is_checked_by_auth_time() {
        assert!(check_fresh(&trip(false, None), None, 10_010).is_ok());
        assert!(check_fresh(&trip(true, None), Some(10_005), 10_010).is_ok());
        assert!(check_fresh(&trip(true, None), Some(5_000), 10_010).is_err());
        assert!(check_fresh(&trip(true, None), None, 10_010).is_err());
        assert!(check_fresh(&trip(false, Some(600)), Some(9_500), 10_010).is_ok());
        assert!(check_fresh(&trip(false, Some(600)), Some(9_000), 10_010).is_err());
    }

    #[test]
    fn userinfo_completes_the_id_token_and_its_address_comes_with_its_own_flag() {
        let from_token = UpstreamIdentity {
            provider: "op".into(),
            subject: "s1".into(),
            email: Some("token@example.org".into()),
            email_verified: true,
            name: None,
            username_hint: Some("tok".into()),
            hd: None,
            multi_factor: false,
        };
        let parse = |json: &str| {
            CoreUserInfoClaims::from_json::<std::io::Error>(json.as_bytes(), None).expect("claims")
        };
        let info = parse(
            r#"{"sub":"s1","email":"info@example.org","email_verified":false,"name":"Min Ji"}"#,
        );
        let both = with_user_info(from_token.clone(), &info);
        assert_eq!(both.email.as_deref(), Some("info@example.org"));
        assert!(
            !both.email_verified,
            "the flag of the answer that carried the address"
        );
        assert_eq!(both.name.as_deref(), Some("Min Ji"));
        assert_eq!(
            both.username_hint.as_deref(),
            Some("tok"),
            "kept when UserInfo has none"
        );
        let nothing = parse(r#"{"sub":"s1"}"#);
        assert_eq!(with_user_info(from_token.clone(), &nothing), from_token);
    }

    #[test]
    fn an_id_token_from_the_future_is_refused() {
        assert!(issued_in_time(10_000, 10_000).is_ok());
        assert!(issued_in_time(10_000 + CLOCK_SKEW, 10_000).is_ok());
        assert!(issued_in_time(10_001 + CLOCK_SKEW, 10_000).is_err());
        assert!(issued_in_time(10_000 + 86_400, 10_000).is_err());
    }
}
