//! Validating an authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636,
//! RFC 9700 §2.1).
//!
//! `client_id` and `redirect_uri` are checked first; until both are known good, errors are
//! shown on a page and never redirected (RFC 6749 §4.1.2.1). After that, errors go back to the
//! client by redirect.

use serde::{Deserialize, Serialize};

use super::client::{Client, GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN};
use super::error::{ErrorCode, OAuthError};
use super::pkce::{self, StoredChallenge};
use super::scope::{OFFLINE_ACCESS, OPENID, Scopes};

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

const MAX_PARAM_LEN: usize = 4096;

/// Reads one parameter; repeated parameters are an error (RFC 6749 §3.1).
fn single<'a>(params: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, String> {
    let mut values = params
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str());
    let first = values.next();
    if values.next().is_some() {
        return Err(format!("{name} is repeated"));
    }
    match first {
        Some(v) if v.len() > MAX_PARAM_LEN => Err(format!("{name} is too long")),
        // An empty value is treated as absent (RFC 6749 §3.1).
        Some("") => Ok(None),
        other => Ok(other),
    }
}

/// Step one: the client and where to answer. `find` looks a client up by id.
pub fn identify_client<'a>(
    params: &[(String, String)],
    client: Option<&'a Client>,
) -> Result<(&'a Client, String), OAuthError> {
    let client_id = single(params, "client_id").map_err(OAuthError::invalid_request)?;
    if client_id.is_none() {
        return Err(OAuthError::invalid_request("client_id is missing"));
    }
    let Some(client) = client else {
        return Err(OAuthError::invalid_request("unknown client_id"));
    };
    if !client.allows_grant(GRANT_AUTHORIZATION_CODE) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization code flow",
        ));
    }
    let redirect_uri = single(params, "redirect_uri").map_err(OAuthError::invalid_request)?;
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

fn wants_openid(params: &[(String, String)]) -> bool {
    matches!(single(params, "scope"), Ok(Some(s)) if s.split(' ').any(|t| t == OPENID))
}

/// Validates the whole request against the client.
pub fn validate(
    params: &[(String, String)],
    client: Option<&Client>,
) -> Result<AuthorizationRequest, Rejection> {
    let (client, redirect_uri) = identify_client(params, client).map_err(Rejection::Page)?;
    let state = single(params, "state").ok().flatten().map(str::to_owned);
    let reject = |error: OAuthError| Rejection::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        error,
    };
    let get = |name: &str| single(params, name).map_err(|e| reject(OAuthError::invalid_request(e)));

    // Duplicates anywhere are refused, known parameter or not (unknown ones are otherwise ignored).
    super::params::refuse_repeated(params).map_err(reject)?;
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
    if !client.allows_grant(GRANT_REFRESH_TOKEN) {
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
    })
}

/// The sign-in a browser session holds, as far as the authorization rules care.
#[derive(Clone, Copy, Debug)]
pub struct SessionLogin<'a> {
    pub user_id: &'a str,
    pub auth_time: i64,
}

/// Whether the person must (re-)authenticate before this request can go on (OIDC Core
/// §3.1.2.1 `prompt=login`, `max_age`, `id_token_hint`). `requested_at` is when the request
/// arrived: a sign-in after it satisfies `prompt=login`.
pub fn needs_login(
    request: &AuthorizationRequest,
    login: Option<SessionLogin<'_>>,
    requested_at: i64,
    hint_subject: Option<&str>,
    now: i64,
) -> bool {
    let Some(login) = login else { return true };
    if request.prompt.login && login.auth_time < requested_at {
        return true;
    }
    if request
        .max_age
        .is_some_and(|max_age| now - login.auth_time > max_age)
    {
        return true;
    }
    // The hint names someone other than who is signed in.
    hint_subject.is_some_and(|sub| sub != login.user_id)
}

/// Whether the person must be asked: always with `prompt=consent`, never for first-party
/// clients, otherwise unless an earlier consent covers every requested scope.
pub fn needs_consent(
    request: &AuthorizationRequest,
    client: &Client,
    remembered: Option<&Scopes>,
) -> bool {
    if request.prompt.consent {
        return true;
    }
    if client.record.skip_consent {
        return false;
    }
    !remembered.is_some_and(|r| request.scopes().is_subset_of(r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ClientRecord;

    fn client(public: bool) -> Client {
        let record = ClientRecord {
            id: "app".into(),
            name: "App".into(),
            secret_hash: None,
            token_endpoint_auth_method: if public {
                "none"
            } else {
                "client_secret_basic"
            }
            .into(),
            redirect_uris: vec![
                "https://app.example.com/cb".into(),
                "http://127.0.0.1:9000/cb".into(),
            ],
            post_logout_redirect_uris: vec![],
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            scopes: "openid profile email offline_access".into(),
            skip_consent: false,
            id_token_signed_response_alg: "RS256".into(),
            backchannel_logout_uri: None,
            created_at: 0,
            updated_at: 0,
        };
        match Client::from_record(record) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
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

    fn with(overrides: &[(&'static str, &'static str)]) -> Vec<(String, String)> {
        let mut p = base();
        for (k, v) in overrides {
            p.retain(|(name, _)| name != k);
            if !v.is_empty() {
                p.push((k, v));
            }
        }
        params(&p)
    }

    fn page_error(p: &[(String, String)], c: Option<&Client>) -> bool {
        matches!(validate(p, c), Err(Rejection::Page(_)))
    }

    fn redirect_code(p: &[(String, String)], c: &Client) -> Option<ErrorCode> {
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
        let mut twice = with(&[]);
        twice.push(("redirect_uri".into(), "https://app.example.com/cb".into()));
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
        let mut twice = with(&[]);
        twice.push(("scope".into(), "openid".into()));
        assert_eq!(
            redirect_code(&twice, &public),
            Some(ErrorCode::InvalidRequest)
        );
    }

    #[test]
    fn login_and_consent_rules() {
        let c = client(false);
        let Ok(mut request) = validate(&with(&[]), Some(&c)) else {
            panic!("valid")
        };
        let login = SessionLogin {
            user_id: "u1",
            auth_time: 1000,
        };
        assert!(needs_login(&request, None, 2000, None, 2000));
        assert!(!needs_login(&request, Some(login), 2000, None, 2000));
        assert!(
            needs_login(&request, Some(login), 2000, Some("u2"), 2000),
            "hint for someone else"
        );
        request.max_age = Some(500);
        assert!(
            needs_login(&request, Some(login), 2000, None, 2000),
            "auth_time older than max_age"
        );
        request.max_age = None;
        request.prompt.login = true;
        assert!(needs_login(&request, Some(login), 2000, None, 2000));
        assert!(!needs_login(
            &request,
            Some(SessionLogin {
                user_id: "u1",
                auth_time: 2001
            }),
            2000,
            None,
            2001
        ));

        request.prompt = Prompt::default();
        let remembered = Scopes::parse("openid profile email").unwrap_or_default();
        assert!(needs_consent(&request, &c, None));
        assert!(!needs_consent(&request, &c, Some(&remembered)));
        request.prompt.consent = true;
        assert!(needs_consent(&request, &c, Some(&remembered)));
    }
}
