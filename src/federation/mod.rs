//! Signing in through upstream providers: Google and any OpenID Connect issuer, Kakao, Naver.
//! One `Connector` per provider does the protocol round trip and returns an
//! `UpstreamIdentity`; `link` decides which munjigi account that is. Nothing here knows axum.

mod callback;
mod http;
// The connectors are public (hidden) for the fuzz targets (fuzz/), which call their parsing
// functions.
#[doc(hidden)]
pub mod kakao;
pub mod link;
#[doc(hidden)]
pub mod naver;
#[doc(hidden)]
pub mod oidc;

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::config::FederationConfig;

pub use callback::{Back, Failure, Return};
pub use http::Upstream;

/// How long a round trip to a provider may take before its `state` is refused.
pub const ROUND_TRIP_TTL: i64 = 600;

/// Which provider it is: decides the button's look and wording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderKind {
    Google,
    Kakao,
    Naver,
    Oidc,
}

/// A request's demand for a fresh sign-in, carried upstream in each provider's own way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Freshness {
    /// The person must sign in again (`prompt=login`, `max_age=0`).
    pub force: bool,
    /// The sign-in must be at most this old, in seconds.
    pub max_age: Option<i64>,
}

impl Freshness {
    /// Whether the request demands anything of when the person signed in.
    pub fn demanded(&self) -> bool {
        self.force || self.max_age.is_some()
    }
}

/// Why munjigi sent the person to the provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Purpose {
    /// To sign in (and continue the pending authorization request, if any).
    SignIn,
    /// To link another provider to this signed-in user, from the account page.
    Link { user_id: String },
    /// To prove, with a provider already linked, that a pending link is the person's own.
    ConfirmLink,
}

/// What the browser session keeps while the person is at the provider.
#[derive(Clone, Serialize, Deserialize)]
pub struct RoundTrip {
    pub provider: String,
    pub state: String,
    pub nonce: Option<String>,
    pub pkce_verifier: Option<String>,
    pub freshness: Freshness,
    /// The pending authorization request to resume afterwards (may be empty).
    pub request_id: String,
    pub purpose: Purpose,
    pub started_at: i64,
}

impl crate::clock::Expires for RoundTrip {
    const TTL: i64 = ROUND_TRIP_TTL;
    fn made_at(&self) -> i64 {
        self.started_at
    }
}

impl std::fmt::Debug for RoundTrip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoundTrip")
            .field("provider", &self.provider)
            .field("purpose", &self.purpose)
            .field("started_at", &self.started_at)
            .finish_non_exhaustive()
    }
}

/// Who the provider says the person is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamIdentity {
    pub provider: String,
    /// The provider's stable id of the person (`sub`, Kakao's and Naver's `id`).
    pub subject: String,
    pub email: Option<String>,
    /// Whether the provider vouches that the address is the person's.
    pub email_verified: bool,
    pub name: Option<String>,
    /// A username suggestion (`preferred_username`, a nickname).
    pub username_hint: Option<String>,
    /// Google's hosted domain (Workspace accounts).
    pub hd: Option<String>,
    /// The provider says it checked two factors (`amr` containing `mfa`, RFC 8176).
    #[serde(default)]
    pub multi_factor: bool,
}

/// What the provider's redirect back carried (RFC 6749 §4.1.2; `iss`, RFC 9207).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// The issuer that sends the person back (RFC 9207), when the provider says.
    pub iss: Option<String>,
}

/// What a provider's redirect back leads to (`Federation::callback`).
#[derive(Debug)]
pub enum UpstreamOutcome {
    /// Sign in as this account; `link` is the identity to link once the sign-in is complete
    /// (second factor included).
    SignIn {
        sign_in: crate::account::sign_in::SignIn,
        request_id: String,
        link: Option<UpstreamIdentity>,
    },
    /// An account has the address the provider vouched for: the person must prove it is
    /// theirs before the identity is linked.
    ConfirmLink(link::PendingLink),
    /// The identity is linked to the signed-in account (account page).
    Linked,
    /// `provider` is the callback's.
    Failed {
        provider: String,
        why: Failure,
        back: Back,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    #[error("no such provider")]
    UnknownProvider,
    /// The person said no at the provider.
    #[error("the sign-in was cancelled at the provider")]
    Refused,
    /// The provider answered with an error (Kakao's `KOE320`, Naver's `invalid_request`, ...).
    #[error("the provider answered {code}: {}", description.as_deref().unwrap_or("-"))]
    Upstream {
        code: String,
        description: Option<String>,
    },
    #[error("the provider did not answer in time")]
    Timeout,
    #[error("the provider cannot be reached: {0}")]
    Unreachable(String),
    /// The answer could not be used: malformed, badly signed, for someone else.
    #[error("the provider's answer is not valid: {0}")]
    Invalid(String),
    /// The request demands a fresh sign-in (`prompt=login`, `max_age`) and this provider
    /// cannot prove one (Naver; Kakao without OpenID Connect), or did not.
    #[error("the provider cannot prove a fresh sign-in")]
    NotFresh,
}

impl FederationError {
    /// A word for the audit trail.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::UnknownProvider => "unknown_provider",
            Self::Refused => "refused",
            Self::Upstream { .. } => "upstream_error",
            Self::Timeout => "timeout",
            Self::Unreachable(_) => "unreachable",
            Self::Invalid(_) => "invalid",
            Self::NotFresh => "not_fresh",
        }
    }
}

/// The start of a round trip: where to send the browser, and what to remember.
pub struct Begun {
    pub url: String,
    pub state: String,
    pub nonce: Option<String>,
    pub pkce_verifier: Option<String>,
}

#[async_trait]
pub trait Connector: Send + Sync {
    /// The path segment and the `idp` claim: `google`, `kakao`, `naver`, or a generic id.
    fn id(&self) -> &str;
    fn kind(&self) -> ProviderKind;
    fn display_name(&self) -> &str;
    /// Whether this provider's verified-email flag may be trusted to find an account (Naver
    /// has none).
    fn vouches_for_email(&self) -> bool;
    /// Whether it can ever prove when the person signed in (an id_token's `auth_time`).
    /// Naver cannot: a request that demands a fresh sign-in is not sent there.
    fn can_prove_freshness(&self) -> bool {
        true
    }
    /// The issuer that names itself in the redirect back (`iss`, RFC 9207), if known.
    fn issuer(&self) -> Option<&str> {
        None
    }
    async fn begin(
        &self,
        upstream: &Upstream,
        redirect_uri: &str,
        freshness: Freshness,
    ) -> Result<Begun, FederationError>;
    async fn finish(
        &self,
        upstream: &Upstream,
        redirect_uri: &str,
        code: &str,
        trip: &RoundTrip,
        now: i64,
    ) -> Result<UpstreamIdentity, FederationError>;
}

/// The configured providers, in the order the login page shows them.
pub struct Federation {
    connectors: Vec<Arc<dyn Connector>>,
    upstream: Upstream,
    issuer: String,
    pub link_verified_email: bool,
}

impl Federation {
    pub fn new(config: &FederationConfig, issuer: &str) -> Self {
        let mut connectors: Vec<Arc<dyn Connector>> = Vec::new();
        if let Some(kakao) = &config.kakao {
            connectors.push(Arc::new(kakao::Kakao::new(kakao.clone())));
        }
        if let Some(naver) = &config.naver {
            connectors.push(Arc::new(naver::Naver::new(naver.clone())));
        }
        if let Some(google) = &config.google {
            connectors.push(Arc::new(oidc::OidcConnector::new(
                google.clone(),
                ProviderKind::Google,
            )));
        }
        for generic in &config.oidc {
            connectors.push(Arc::new(oidc::OidcConnector::new(
                generic.clone(),
                ProviderKind::Oidc,
            )));
        }
        Self {
            connectors,
            upstream: Upstream::new(config.connect_timeout, config.timeout),
            issuer: issuer.to_owned(),
            link_verified_email: config.link_verified_email,
        }
    }

    pub fn connectors(&self) -> &[Arc<dyn Connector>] {
        &self.connectors
    }

    pub fn connector(&self, id: &str) -> Option<&Arc<dyn Connector>> {
        self.connectors.iter().find(|c| c.id() == id)
    }

    /// Always `{issuer}/login/{provider}/callback`: what operators register upstream.
    pub fn callback_url(&self, provider: &str) -> String {
        format!("{}/login/{provider}/callback", self.issuer)
    }

    /// Starts a round trip: the provider's URL and what the session must keep.
    pub async fn begin(
        &self,
        provider: &str,
        freshness: Freshness,
        request_id: &str,
        purpose: Purpose,
        now: i64,
    ) -> Result<(String, RoundTrip), FederationError> {
        let connector = self
            .connector(provider)
            .ok_or(FederationError::UnknownProvider)?;
        if freshness.demanded() && !connector.can_prove_freshness() {
            return Err(FederationError::NotFresh);
        }
        let begun = connector
            .begin(&self.upstream, &self.callback_url(provider), freshness)
            .await?;
        let trip = RoundTrip {
            provider: provider.to_owned(),
            state: begun.state,
            nonce: begun.nonce,
            pkce_verifier: begun.pkce_verifier,
            freshness,
            request_id: request_id.to_owned(),
            purpose,
            started_at: now,
        };
        Ok((begun.url, trip))
    }

    /// Completes a round trip whose `state` the caller matched with the session: the
    /// provider's error, or the code exchanged for the person's identity.
    pub async fn finish(
        &self,
        trip: &RoundTrip,
        callback: &Callback,
        now: i64,
    ) -> Result<UpstreamIdentity, FederationError> {
        let connector = self
            .connector(&trip.provider)
            .ok_or(FederationError::UnknownProvider)?;
        // RFC 9207 §2.4: a redirect back that names another issuer is a mix-up.
        if let (Some(iss), Some(expected)) = (callback.iss.as_deref(), connector.issuer())
            && iss.trim_end_matches('/') != expected.trim_end_matches('/')
        {
            return Err(FederationError::Invalid(
                "the redirect back names another issuer (iss)".into(),
            ));
        }
        if let Some(error) = callback.error.as_deref() {
            return Err(callback_error(error, callback.error_description.as_deref()));
        }
        let code = callback
            .code
            .as_deref()
            .filter(|c| !c.is_empty() && c.len() <= 2048)
            .ok_or_else(|| FederationError::Invalid("the redirect back has no code".into()))?;
        let redirect_uri = self.callback_url(&trip.provider);
        connector
            .finish(&self.upstream, &redirect_uri, code, trip, now)
            .await
    }
}

/// A provider's error in the redirect back: a refusal by the person, or anything else.
/// Public for the fuzz targets (fuzz/).
#[doc(hidden)]
pub fn callback_error(error: &str, description: Option<&str>) -> FederationError {
    let short = |s: &str| s.chars().take(200).collect::<String>();
    match error {
        // RFC 6749 §4.1.2.1; Naver adds `error_description=Canceled By User`.
        "access_denied" | "consent_required" | "login_required" | "interaction_required" => {
            FederationError::Refused
        }
        other => FederationError::Upstream {
            code: short(other),
            description: description.map(short),
        },
    }
}

/// RFC 7636 S256: a fresh verifier and its challenge.
fn pkce_pair() -> (String, String) {
    let (challenge, verifier) = openidconnect::PkceCodeChallenge::new_random_sha256();
    (verifier.secret().clone(), challenge.as_str().to_owned())
}

/// Adds query parameters to a provider's endpoint.
fn with_query(base: &str, params: &[(&str, &str)]) -> Result<String, FederationError> {
    let mut url = url::Url::parse(base)
        .map_err(|e| FederationError::Invalid(format!("endpoint {base:?}: {e}")))?;
    url.query_pairs_mut().extend_pairs(params);
    Ok(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_and_errors_from_the_redirect() {
        assert!(matches!(
            callback_error("access_denied", Some("Canceled By User")),
            FederationError::Refused
        ));
        let e = callback_error("invalid_scope", Some(&"x".repeat(1000)));
        let FederationError::Upstream { code, description } = e else {
            panic!("an upstream error")
        };
        assert_eq!(code, "invalid_scope");
        assert_eq!(description.map(|d| d.len()), Some(200), "bounded");
    }

    #[test]
    fn query_is_added_and_encoded() {
        let url = with_query(
            "https://kauth.kakao.com/oauth/authorize",
            &[("state", "a b&c")],
        );
        assert_eq!(
            url.ok().as_deref(),
            Some("https://kauth.kakao.com/oauth/authorize?state=a+b%26c")
        );
    }
}
