//! Kakao Login (카카오 로그인): OAuth 2.0 code flow with PKCE at `kauth`, the client secret in
//! the form body (Kakao does not read Basic auth), the id_token verified against Kakao's JWKS
//! when the app has OpenID Connect on, and the profile from `kapi`'s `/v2/user/me`. Only the
//! id_token says when the person signed in (`auth_time`): without OpenID Connect a request
//! that demands a fresh sign-in is not satisfied through Kakao.

use async_trait::async_trait;
use openidconnect::core::{CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet};
use openidconnect::{ClientId, ClientSecret, IssuerUrl, Nonce};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::http::{Upstream, decode};
use super::{
    Begun, Connector, FederationError, Freshness, ProviderKind, RoundTrip, UpstreamIdentity,
    pkce_pair, with_query,
};
use crate::config::OAuthUpstream;
use crate::oauth::secret::random_token;

pub struct Kakao {
    config: OAuthUpstream,
}

impl Kakao {
    pub fn new(config: OAuthUpstream) -> Self {
        Self { config }
    }
}

/// The token endpoint's answer, success or error (Kakao adds `error_code`, e.g. `KOE320`).
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    id_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    error_code: Option<String>,
}

/// `/v2/user/me`, the parts munjigi uses.
#[derive(Deserialize)]
struct Me {
    /// A number (up to 19 digits).
    id: Value,
    #[serde(default)]
    kakao_account: Account,
    /// Errors from kapi: `{"msg": ..., "code": -401}`.
    msg: Option<String>,
    code: Option<i64>,
}

#[derive(Default, Deserialize)]
struct Account {
    email: Option<String>,
    #[serde(default)]
    email_needs_agreement: bool,
    #[serde(default)]
    is_email_valid: bool,
    #[serde(default)]
    is_email_verified: bool,
    #[serde(default)]
    profile: Profile,
    name: Option<String>,
}

#[derive(Default, Deserialize)]
struct Profile {
    nickname: Option<String>,
}

#[async_trait]
impl Connector for Kakao {
    fn id(&self) -> &str {
        "kakao"
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Kakao
    }

    fn display_name(&self) -> &str {
        "Kakao"
    }

    fn vouches_for_email(&self) -> bool {
        true
    }

    fn issuer(&self) -> Option<&str> {
        Some(&self.config.auth_base_url)
    }

    async fn begin(
        &self,
        _upstream: &Upstream,
        redirect_uri: &str,
        freshness: Freshness,
    ) -> Result<Begun, FederationError> {
        let state = random_token();
        let nonce = random_token();
        let (verifier, challenge) = pkce_pair();
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", self.config.client_id.as_str()),
            ("redirect_uri", redirect_uri),
            ("state", state.as_str()),
            // Echoed in the id_token when the app has OpenID Connect on; ignored otherwise.
            ("nonce", nonce.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        // Kakao has no max_age: any freshness demand asks for the password again.
        if freshness.force || freshness.max_age.is_some() {
            params.push(("prompt", "login"));
        }
        let url = with_query(
            &format!("{}/oauth/authorize", self.config.auth_base_url),
            &params,
        )?;
        Ok(Begun {
            url,
            state,
            nonce: Some(nonce),
            pkce_verifier: Some(verifier),
        })
    }

    async fn finish(
        &self,
        upstream: &Upstream,
        redirect_uri: &str,
        code: &str,
        trip: &RoundTrip,
        now: i64,
    ) -> Result<UpstreamIdentity, FederationError> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", self.config.client_secret.expose()),
            ("redirect_uri", redirect_uri),
            ("code", code),
        ];
        if let Some(verifier) = &trip.pkce_verifier {
            form.push(("code_verifier", verifier.as_str()));
        }
        let request = upstream
            .client()
            .post(format!("{}/oauth/token", self.config.auth_base_url))
            .form(&form);
        let (status, body) = upstream.send(request).await?;
        let (access_token, id_token) = read_token_answer(status, &body)?;
        let id_token_subject = match &id_token {
            Some(id_token) => Some(self.verify_id_token(upstream, id_token, trip, now).await?),
            // Nothing says when the person signed in.
            None if trip.freshness.demanded() => return Err(FederationError::NotFresh),
            None => None,
        };
        let request = upstream
            .client()
            .get(format!("{}/v2/user/me", self.config.api_base_url))
            .bearer_auth(&access_token);
        let (status, body) = upstream.send(request).await?;
        read_profile(status, &body, id_token_subject)
    }
}

/// The token endpoint's answer, success or error whatever the HTTP status: the access token
/// and the id_token, if any. Public for the fuzz targets (fuzz/).
#[doc(hidden)]
pub fn read_token_answer(
    status: StatusCode,
    body: &[u8],
) -> Result<(String, Option<String>), FederationError> {
    let answer: TokenAnswer = decode(status, body, "Kakao token")?;
    match (answer.access_token, answer.error) {
        (Some(token), None) if status.is_success() => Ok((token, answer.id_token)),
        (_, error) => Err(FederationError::Upstream {
            code: answer
                .error_code
                .or(error)
                .unwrap_or_else(|| format!("HTTP {status}")),
            description: answer.error_description,
        }),
    }
}

/// `/v2/user/me`'s answer: the person, who must be the one the id_token named (if there was
/// one). Public for the fuzz targets (fuzz/).
#[doc(hidden)]
pub fn read_profile(
    status: StatusCode,
    body: &[u8],
    id_token_subject: Option<String>,
) -> Result<UpstreamIdentity, FederationError> {
    let me: Me = decode(status, body, "Kakao /v2/user/me")?;
    if !status.is_success() {
        return Err(FederationError::Upstream {
            code: me
                .code
                .map_or_else(|| format!("HTTP {status}"), |c| c.to_string()),
            description: me.msg,
        });
    }
    let subject = match &me.id {
        Value::Number(n) => n.to_string(),
        Value::String(s) if !s.is_empty() => s.clone(),
        _ => return Err(FederationError::Invalid("Kakao's profile has no id".into())),
    };
    if id_token_subject.is_some_and(|sub| sub != subject) {
        return Err(FederationError::Invalid(
            "Kakao's id_token and profile name different people".into(),
        ));
    }
    Ok(identity(subject, me.kakao_account))
}

/// The profile as munjigi keeps it: the email only with consent, and trusted only when Kakao
/// says it is both valid and verified.
fn identity(subject: String, account: Account) -> UpstreamIdentity {
    let email = account
        .email
        .filter(|e| !account.email_needs_agreement && !e.is_empty());
    UpstreamIdentity {
        provider: "kakao".into(),
        subject,
        email_verified: email.is_some() && account.is_email_valid && account.is_email_verified,
        email,
        name: account.name.or_else(|| account.profile.nickname.clone()),
        username_hint: account.profile.nickname,
        hd: None,
        multi_factor: false,
    }
}

impl Kakao {
    /// Verifies the id_token (RS256 from Kakao's JWKS; `iss` the auth base URL, `aud` the REST
    /// API key, our nonce, `iat` not in the future, `auth_time` fresh enough for the trip's
    /// demand) and returns its subject.
    async fn verify_id_token(
        &self,
        upstream: &Upstream,
        id_token: &str,
        trip: &RoundTrip,
        now: i64,
    ) -> Result<String, FederationError> {
        let request = upstream.client().get(format!(
            "{}/.well-known/jwks.json",
            self.config.auth_base_url
        ));
        let (status, jwks) = upstream.send(request).await?;
        self.check_id_token(status, &jwks, id_token, trip, now)
    }

    /// `verify_id_token` once Kakao's JWKS is fetched: `jwks` is its answer. Public for the
    /// fuzz targets (fuzz/).
    #[doc(hidden)]
    pub fn check_id_token(
        &self,
        jwks_status: StatusCode,
        jwks: &[u8],
        id_token: &str,
        trip: &RoundTrip,
        now: i64,
    ) -> Result<String, FederationError> {
        let invalid = |what: String| FederationError::Invalid(format!("Kakao id_token: {what}"));
        let jwks: CoreJsonWebKeySet = decode(jwks_status, jwks, "Kakao JWKS")?;
        let issuer = IssuerUrl::new(self.config.auth_base_url.clone())
            .map_err(|e| invalid(e.to_string()))?;
        let verifier = CoreIdTokenVerifier::new_confidential_client(
            ClientId::new(self.config.client_id.clone()),
            ClientSecret::new(self.config.client_secret.expose().to_owned()),
            issuer,
            jwks,
        )
        .set_issue_time_verifier_fn(move |iat| super::oidc::issued_in_time(iat.timestamp(), now));
        let token: CoreIdToken = id_token.parse().map_err(|e| invalid(format!("{e}")))?;
        let nonce = Nonce::new(trip.nonce.clone().unwrap_or_default());
        let claims = token
            .claims(&verifier, &nonce)
            .map_err(|e| invalid(e.to_string()))?;
        super::oidc::check_fresh(trip, claims.auth_time().map(|t| t.timestamp()), now)?;
        Ok(claims.subject().as_str().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(json: &str) -> Account {
        serde_json::from_str(json).unwrap_or_default()
    }

    #[test]
    fn email_is_trusted_only_when_valid_and_verified() {
        let both = identity(
            "1".into(),
            account(
                r#"{"email":"a@b.kr","is_email_valid":true,"is_email_verified":true,"profile":{"nickname":"민지"}}"#,
            ),
        );
        assert!(both.email_verified);
        assert_eq!(both.name.as_deref(), Some("민지"));
        let unverified = identity(
            "1".into(),
            account(r#"{"email":"a@b.kr","is_email_valid":true,"is_email_verified":false}"#),
        );
        assert!(!unverified.email_verified);
        assert_eq!(unverified.email.as_deref(), Some("a@b.kr"));
        let invalid = identity(
            "1".into(),
            account(r#"{"email":"a@b.kr","is_email_valid":false,"is_email_verified":true}"#),
        );
        assert!(!invalid.email_verified);
        let no_consent = identity("1".into(), account(r#"{"email_needs_agreement":true}"#));
        assert_eq!(no_consent.email, None);
    }
}
