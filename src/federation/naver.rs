//! Naver Login (네이버 로그인): OAuth 2.0 code flow with `state` (required) at `nid`, and the
//! profile from `openapi`'s `/v1/nid/me`. Naver's quirks: token errors arrive with HTTP 200
//! and an `error` member, `expires_in` is a string, the profile sits under `response`. Naver
//! says nothing about whether an address is verified, so its email never links accounts, nor
//! when the person signed in, so a request that demands a fresh sign-in is not sent there.

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::Deserialize;

use super::http::{Upstream, decode};
use super::{
    Begun, Connector, FederationError, Freshness, ProviderKind, RoundTrip, UpstreamIdentity,
    with_query,
};
use crate::config::OAuthUpstream;
use crate::oauth::secret::random_token;

pub struct Naver {
    config: OAuthUpstream,
}

impl Naver {
    pub fn new(config: OAuthUpstream) -> Self {
        Self { config }
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

#[derive(Deserialize)]
struct Me {
    resultcode: Option<String>,
    message: Option<String>,
    response: Option<Profile>,
}

#[derive(Deserialize)]
struct Profile {
    id: Option<String>,
    email: Option<String>,
    name: Option<String>,
    nickname: Option<String>,
}

#[async_trait]
impl Connector for Naver {
    fn id(&self) -> &str {
        "naver"
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Naver
    }

    fn display_name(&self) -> &str {
        "NAVER"
    }

    fn vouches_for_email(&self) -> bool {
        false
    }

    fn can_prove_freshness(&self) -> bool {
        false
    }

    async fn begin(
        &self,
        _upstream: &Upstream,
        redirect_uri: &str,
        freshness: Freshness,
    ) -> Result<Begun, FederationError> {
        let state = random_token();
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", self.config.client_id.as_str()),
            ("redirect_uri", redirect_uri),
            ("state", state.as_str()),
        ];
        // Not reached by a demand for a fresh sign-in (`can_prove_freshness`); were it, Naver
        // would be asked for the password again, though its answer could not prove it.
        if freshness.demanded() {
            params.push(("auth_type", "reauthenticate"));
        }
        let url = with_query(
            &format!("{}/oauth2.0/authorize", self.config.auth_base_url),
            &params,
        )?;
        Ok(Begun {
            url,
            state,
            nonce: None,
            pkce_verifier: None,
        })
    }

    async fn finish(
        &self,
        upstream: &Upstream,
        _redirect_uri: &str,
        code: &str,
        trip: &RoundTrip,
        _now: i64,
    ) -> Result<UpstreamIdentity, FederationError> {
        if trip.freshness.demanded() {
            return Err(FederationError::NotFresh);
        }
        let request = upstream
            .client()
            .post(format!("{}/oauth2.0/token", self.config.auth_base_url))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", self.config.client_id.as_str()),
                ("client_secret", self.config.client_secret.expose()),
                ("code", code),
                ("state", trip.state.as_str()),
            ]);
        let (status, body) = upstream.send(request).await?;
        let access_token = read_token_answer(status, &body)?;
        let request = upstream
            .client()
            .get(format!("{}/v1/nid/me", self.config.api_base_url))
            .bearer_auth(&access_token);
        let (status, body) = upstream.send(request).await?;
        read_profile(status, &body)
    }
}

/// The token endpoint's answer (errors come with HTTP 200 too): the access token. Public for
/// the fuzz targets (fuzz/).
#[doc(hidden)]
pub fn read_token_answer(status: StatusCode, body: &[u8]) -> Result<String, FederationError> {
    let answer: TokenAnswer = decode(status, body, "Naver token")?;
    match (answer.access_token, answer.error) {
        (Some(token), None) if status.is_success() && !token.is_empty() => Ok(token),
        (_, error) => Err(FederationError::Upstream {
            code: error.unwrap_or_else(|| format!("HTTP {status}")),
            description: answer.error_description,
        }),
    }
}

/// `/v1/nid/me`'s answer: the person, under `response`. Public for the fuzz targets (fuzz/).
#[doc(hidden)]
pub fn read_profile(status: StatusCode, body: &[u8]) -> Result<UpstreamIdentity, FederationError> {
    let me: Me = decode(status, body, "Naver /v1/nid/me")?;
    match (me.resultcode.as_deref(), me.response) {
        (Some("00"), Some(profile)) if status.is_success() => identity(profile),
        (code, _) => Err(FederationError::Upstream {
            code: code.map_or_else(|| format!("HTTP {status}"), str::to_owned),
            description: me.message,
        }),
    }
}

fn identity(profile: Profile) -> Result<UpstreamIdentity, FederationError> {
    let subject = profile
        .id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| FederationError::Invalid("Naver's profile has no id".into()))?;
    Ok(UpstreamIdentity {
        provider: "naver".into(),
        subject,
        email: profile.email.filter(|e| !e.is_empty()),
        // Naver gives no such flag.
        email_verified: false,
        name: profile.name.or_else(|| profile.nickname.clone()),
        username_hint: profile.nickname,
        hd: None,
        multi_factor: false,
    })
}
