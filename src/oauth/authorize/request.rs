//! Validating an authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636,
//! RFC 9700 §2.1).
//!
//! `client_id` and `redirect_uri` are checked first; until both are known good, errors are
//! shown on a page and never redirected (RFC 6749 §4.1.2.1). After that, errors go back to the
//! client by redirect.

use serde::{Deserialize, Serialize};

use crate::oauth::client::Client;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::grant::GrantType;
use crate::oauth::params::Params;
use crate::oauth::pkce::{self, StoredChallenge};
use crate::oauth::scope::{OFFLINE_ACCESS, OPENID, Scopes};

/// A request that passed validation, kept in the browser session while the person signs in.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    pub id_token_hint: Option<String>,
    /// Requested authentication context classes (OIDC Core §3.1.2.1), space-separated.
    #[serde(default)]
    pub acr_values: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

impl AuthorizationRequest {
    pub fn scopes(&self) -> Scopes {
        Scopes::parse(&self.scope).unwrap_or_default()
    }

    pub fn challenge(&self) -> Option<StoredChallenge> {
        self.code_challenge.clone().map(StoredChallenge)
    }

    pub fn is_openid(&self) -> bool {
        self.scopes().contains(OPENID)
    }

    /// Whether the request asks for a sign-in with two factors (`acr_values`).
    pub fn asks_for_two_factors(&self) -> bool {
        self.acr_values
            .as_deref()
            .is_some_and(crate::oauth::acr::asks_for_two_factors)
    }
}

/// Why a request was refused, and where the answer goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Rejection {
    /// The client or redirect URI cannot be trusted: show an error page.
    Page(OAuthError),
    /// Send the error to the validated redirect URI.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: OAuthError,
    },
}

/// Step one: the client and where to answer.
pub fn identify_client<'a>(
    params: &Params,
    client: Option<&'a Client>,
) -> Result<(&'a Client, String), OAuthError> {
    let client_id = params.single("client_id")?;
    if client_id.is_none() {
        return Err(OAuthError::invalid_request("client_id is missing"));
    }
    let Some(client) = client else {
        return Err(OAuthError::invalid_request("unknown client_id"));
    };
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization code flow",
        ));
    }
    let redirect_uri = params.single("redirect_uri")?;
    let redirect_uri = match redirect_uri {
        Some(uri) if client.has_redirect_uri(uri) => uri.to_owned(),
        Some(_) => {
            return Err(OAuthError::invalid_request(
                "redirect_uri is not registered for this client",
            ));
        }
        // OIDC requires redirect_uri; plain OAuth may omit it when exactly one is registered.
        None => match (client.record.redirect_uris.as_slice(), wants_openid(params)) {
            ([only], false) => only.clone(),
            _ => return Err(OAuthError::invalid_request("redirect_uri is missing")),
        },
    };
    Ok((client, redirect_uri))
}

fn wants_openid(params: &Params) -> bool {
    matches!(params.single("scope"), Ok(Some(s)) if s.split(' ').any(|t| t == OPENID))
}

/// Validates the whole request against the client.
pub fn validate(
    params: &Params,
    client: Option<&Client>,
) -> Result<AuthorizationRequest, Rejection> {
    let (client, redirect_uri) = identify_client(params, client).map_err(Rejection::Page)?;
    // A state that cannot be returned as sent (repeated, too long, control characters) is
    // refused, not dropped: the client relies on getting it back.
    let state = match params.single("state") {
        Ok(state) => state.map(str::to_owned),
        Err(error) => {
            return Err(Rejection::Redirect {
                redirect_uri,
                state: None,
                error,
            });
        }
    };
    let reject = |error: OAuthError| Rejection::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        error,
    };
    let get = |name: &str| params.single(name).map_err(reject);

    // Duplicates anywhere are refused, known parameter or not (unknown ones are otherwise ignored).
    params.refuse_repeated().map_err(reject)?;
    if get("request")?.is_some() {
        return Err(reject(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        )));
    }
    if get("request_uri")?.is_some() {
        return Err(reject(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        )));
    }
    match get("response_type")? {
        None => {
            return Err(reject(OAuthError::invalid_request(
                "response_type is missing",
            )));
        }
        Some("code") => {}
        Some(_) => {
            return Err(reject(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            )));
        }
    }
    match get("response_mode")? {
        None | Some("query") => {}
        Some(_) => {
            return Err(reject(OAuthError::invalid_request(
                "only response_mode=query is supported",
            )));
        }
    }

    let requested = match get("scope")? {
        Some(s) => Scopes::parse(s).ok_or_else(|| {
            reject(OAuthError::new(
                ErrorCode::InvalidScope,
                "scope is malformed",
            ))
        })?,
        None => Scopes::default(),
    };
    // Scopes the client may not have are dropped (RFC 6749 §3.3); offline_access also needs
    // the refresh_token grant.
    let mut granted = requested.intersect(&client.scopes);
    if !client.allows_grant(GrantType::RefreshToken) {
        granted = granted.without(OFFLINE_ACCESS);
    }
    if granted.is_empty() {
        return Err(reject(OAuthError::new(
            ErrorCode::InvalidScope,
            "none of the requested scopes is allowed",
        )));
    }

    let code_challenge = pkce::accept_challenge(
        get("code_challenge_method")?,
        get("code_challenge")?,
        client.is_public(),
    )
    .map_err(reject)?;

    let mut prompt = Prompt::default();
    if let Some(value) = get("prompt")? {
        for p in value.split(' ').filter(|p| !p.is_empty()) {
            match p {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                "select_account" => {}
                _ => {
                    return Err(reject(OAuthError::invalid_request(format!(
                        "unsupported prompt value {p:?}"
                    ))));
                }
            }
        }
        if prompt.none && (prompt.login || prompt.consent) {
            return Err(reject(OAuthError::invalid_request(
                "prompt=none cannot be combined with other values",
            )));
        }
    }
    let max_age = match get("max_age")? {
        None => None,
        Some(v) => Some(v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            reject(OAuthError::invalid_request(
                "max_age must be a non-negative integer",
            ))
        })?),
    };
    // A nonce only has meaning with an id_token.
    let nonce = get("nonce")?.map(str::to_owned);
    Ok(AuthorizationRequest {
        client_id: client.id().to_owned(),
        redirect_uri: redirect_uri.clone(),
        scope: granted.to_string(),
        state: state.clone(),
        nonce: if granted.contains(OPENID) {
            nonce
        } else {
            None
        },
        code_challenge: code_challenge.map(|c| c.0),
        prompt,
        max_age,
        login_hint: get("login_hint")?.map(str::to_owned),
        ui_locales: get("ui_locales")?.map(str::to_owned),
        id_token_hint: get("id_token_hint")?.map(str::to_owned),
        acr_values: get("acr_values")?.map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::client::fixture as client;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs.iter().copied().collect()
    }

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("client_id", "app"),
            ("redirect_uri", "https://app.example.com/cb"),
            ("response_type", "code"),
            ("scope", "openid profile unknown"),
            ("state", "s1"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]
    }

    fn with(overrides: &[(&'static str, &'static str)]) -> Params {
        let mut p = base();
        for (k, v) in overrides {
            p.retain(|(name, _)| name != k);
            if !v.is_empty() {
                p.push((k, v));
            }
        }
        params(&p)
    }

    fn page_error(p: &Params, c: Option<&Client>) -> bool {
        matches!(validate(p, c), Err(Rejection::Page(_)))
    }

    fn redirect_code(p: &Params, c: &Client) -> Option<ErrorCode> {
        match validate(p, Some(c)) {
            Err(Rejection::Redirect { error, state, .. }) => {
                assert_eq!(state.as_deref(), Some("s1"), "state returned");
                Some(error.code)
            }
            _ => None,
        }
    }

    #[test]
    fn valid_request_drops_unknown_scopes_and_keeps_the_rest() {
        let c = client(true);
        let request = validate(
            &with(&[("nonce", "n-1"), ("display", "page"), ("whatever", "x")]),
            Some(&c),
        );
        let Ok(request) = request else {
            panic!("valid: {request:?}")
        };
        assert_eq!(request.scope, "openid profile");
        assert_eq!(request.nonce.as_deref(), Some("n-1"));
        assert_eq!(request.state.as_deref(), Some("s1"));
    }

    #[test]
    fn untrusted_client_or_redirect_uri_never_redirects() {
        let c = client(false);
        for uri in [
            "https://app.example.com/cb/other",
            "https://app.example.com/cb?x=1",
            "https://app.example.com:8443/cb",
            "https://app.example.com/cb/",
            "https://APP.example.com/cb",
            "http://127.0.0.1:9001/cb",
            "https://evil.example.com/cb",
        ] {
            let p = with(&[("redirect_uri", uri)]);
            assert!(page_error(&p, Some(&c)), "{uri} must not be redirected to");
        }
        assert!(page_error(&with(&[]), None), "unknown client");
        assert!(
            page_error(&with(&[("client_id", "")]), Some(&c)),
            "missing client_id"
        );
        assert!(
            page_error(&with(&[("redirect_uri", "")]), Some(&c)),
            "OIDC needs redirect_uri"
        );
        let mut pairs = base();
        pairs.push(("redirect_uri", "https://app.example.com/cb"));
        let twice = params(&pairs);
        assert!(page_error(&twice, Some(&c)), "repeated redirect_uri");
    }

    #[test]
    fn protocol_errors_redirect_with_rfc_codes() {
        let public = client(true);
        let confidential = client(false);
        assert_eq!(
            redirect_code(&with(&[("response_type", "token")]), &public),
            Some(ErrorCode::UnsupportedResponseType)
        );
        assert_eq!(
            redirect_code(&with(&[("response_type", "")]), &public),
            Some(ErrorCode::InvalidRequest)
        );
        assert_eq!(
            redirect_code(&with(&[("scope", "unknown")]), &public),
            Some(ErrorCode::InvalidScope)
        );
        assert_eq!(
            redirect_code(&with(&[("code_challenge_method", "plain")]), &public),
            Some(ErrorCode::InvalidRequest)
        );
        assert_eq!(
            redirect_code(
                &with(&[("code_challenge", ""), ("code_challenge_method", "")]),
                &public
            ),
            Some(ErrorCode::InvalidRequest),
            "public client without PKCE"
        );
        assert!(
            validate(
                &with(&[("code_challenge", ""), ("code_challenge_method", "")]),
                Some(&confidential)
            )
            .is_ok()
        );
        assert_eq!(
            redirect_code(&with(&[("prompt", "none login")]), &public),
            Some(ErrorCode::InvalidRequest)
        );
        assert_eq!(
            redirect_code(&with(&[("max_age", "-1")]), &public),
            Some(ErrorCode::InvalidRequest)
        );
        assert_eq!(
            redirect_code(&with(&[("request", "eyJ")]), &public),
            Some(ErrorCode::RequestNotSupported)
        );
        let long_state = "s".repeat(5000);
        let mut pairs = base();
        pairs.retain(|(k, _)| *k != "state");
        pairs.push(("state", long_state.as_str()));
        assert!(
            matches!(
                validate(&params(&pairs), Some(&public)),
                Err(Rejection::Redirect { state: None, error, .. }) if error.code == ErrorCode::InvalidRequest
            ),
            "a state too long to return is refused, not dropped"
        );
        let mut pairs = base();
        pairs.push(("scope", "openid"));
        let twice = params(&pairs);
        assert_eq!(
            redirect_code(&twice, &public),
            Some(ErrorCode::InvalidRequest)
        );
    }
}
