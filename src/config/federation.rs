//! `[federation]`: the upstream providers people may sign in with. A provider is on when its
//! client id and secret are set; each upstream URL must be https (http only on loopback).

use std::fmt;
use std::time::Duration;

use figment::Figment;
use figment::providers::Serialized;
use serde::{Deserialize, Serialize};
use url::Url;

use super::{ConfigError, invalid, is_loopback};

pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";
pub const KAKAO_AUTH: &str = "https://kauth.kakao.com";
pub const KAKAO_API: &str = "https://kapi.kakao.com";
pub const NAVER_AUTH: &str = "https://nid.naver.com";
pub const NAVER_API: &str = "https://openapi.naver.com";

/// The ids of the three named providers; a generic provider may not take one.
pub const NAMED: [&str; 3] = ["google", "kakao", "naver"];
/// Paths beside `/login/{provider}` that an id would shadow.
const RESERVED: [&str; 1] = ["link"];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawFederation {
    /// Link an upstream sign-in to the account with the same address without asking, when
    /// both sides' addresses are verified (never for Naver, which does not say).
    link_verified_email: bool,
    google: RawGoogle,
    kakao: RawOAuth,
    naver: RawOAuth,
    oidc: Vec<RawOidc>,
}

impl Default for RawFederation {
    fn default() -> Self {
        Self {
            link_verified_email: false,
            google: RawGoogle::default(),
            kakao: RawOAuth::with_bases(KAKAO_AUTH, KAKAO_API),
            naver: RawOAuth::with_bases(NAVER_AUTH, NAVER_API),
            oidc: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawGoogle {
    client_id: Option<String>,
    client_secret: Option<String>,
    issuer: String,
}

impl Default for RawGoogle {
    fn default() -> Self {
        Self {
            client_id: None,
            client_secret: None,
            issuer: GOOGLE_ISSUER.to_owned(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawOAuth {
    client_id: Option<String>,
    client_secret: Option<String>,
    auth_base_url: String,
    api_base_url: String,
}

impl RawOAuth {
    fn with_bases(auth: &str, api: &str) -> Self {
        Self {
            auth_base_url: auth.to_owned(),
            api_base_url: api.to_owned(),
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOidc {
    id: String,
    display_name: String,
    issuer: String,
    client_id: String,
    client_secret: String,
    #[serde(default)]
    scopes: Option<String>,
}

/// A secret that never reaches a log or `check-config`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The validated `[federation]` section.
#[derive(Clone, Debug)]
pub struct FederationConfig {
    pub link_verified_email: bool,
    pub google: Option<OidcUpstream>,
    pub kakao: Option<OAuthUpstream>,
    pub naver: Option<OAuthUpstream>,
    pub oidc: Vec<OidcUpstream>,
    /// Upstream HTTP limits: connect 5 s, whole request 10 s.
    pub connect_timeout: Duration,
    pub timeout: Duration,
}

impl Default for FederationConfig {
    fn default() -> Self {
        Self {
            link_verified_email: false,
            google: None,
            kakao: None,
            naver: None,
            oidc: Vec::new(),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
        }
    }
}

/// An OpenID Connect upstream (Google, or any issuer by discovery).
#[derive(Clone, Debug)]
pub struct OidcUpstream {
    pub id: String,
    pub display_name: String,
    /// Exactly as the provider's discovery document states it.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub scopes: Vec<String>,
}

/// An OAuth 2.0 upstream with its own profile API (Kakao, Naver).
#[derive(Clone, Debug)]
pub struct OAuthUpstream {
    pub client_id: String,
    pub client_secret: Secret,
    /// Without a trailing slash.
    pub auth_base_url: String,
    pub api_base_url: String,
}

/// The provider settings of the environment (`MUNJIGI_FEDERATION_GOOGLE_CLIENT_ID`, ...),
/// merged over the file's as plain strings: a numeric-looking client id stays a string.
pub(super) fn merge_env(mut figment: Figment) -> Figment {
    for (name, value) in std::env::vars() {
        let Some(rest) = name.strip_prefix("MUNJIGI_FEDERATION_") else {
            continue;
        };
        let rest = rest.to_ascii_lowercase();
        if rest == "link_verified_email" {
            let on = matches!(
                value.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            );
            figment = figment.merge(Serialized::default("federation.link_verified_email", on));
            continue;
        }
        // Anything unknown still lands in the section, where it is refused by name.
        let key = NAMED
            .iter()
            .find_map(|p| {
                rest.strip_prefix(&format!("{p}_"))
                    .map(|k| format!("federation.{p}.{k}"))
            })
            .unwrap_or_else(|| format!("federation.{rest}"));
        figment = figment.merge(Serialized::default(&key, value));
    }
    figment
}

/// An upstream URL: absolute, https (http only on a loopback host), no query or fragment.
fn upstream_url(key: &'static str, value: &str) -> Result<String, ConfigError> {
    let problem = |p: &str| invalid(key, format!("{value:?}: {p}"));
    let url = Url::parse(value).map_err(|e| problem(&format!("not an absolute URL ({e})")))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(problem("must not have a query or fragment"));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        _ => return Err(problem("must use https (http only on a loopback address)")),
    }
    Ok(value.trim_end_matches('/').to_owned())
}

/// Both of a provider's credentials, or neither (then it is off).
fn credentials(
    prefix: &'static str,
    id: Option<String>,
    secret: Option<String>,
) -> Result<Option<(String, Secret)>, ConfigError> {
    let id = id.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let secret = secret
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty());
    match (id, secret) {
        (Some(id), Some(secret)) => Ok(Some((id, Secret(secret)))),
        (None, None) => Ok(None),
        _ => Err(invalid(
            prefix,
            "set both client_id and client_secret, or neither",
        )),
    }
}

impl RawFederation {
    pub(super) fn validate(self) -> Result<FederationConfig, ConfigError> {
        let google_issuer = upstream_url("federation.google.issuer", &self.google.issuer)?;
        let google = credentials(
            "federation.google",
            self.google.client_id,
            self.google.client_secret,
        )?
        .map(|(client_id, client_secret)| OidcUpstream {
            id: "google".into(),
            display_name: "Google".into(),
            issuer: google_issuer,
            client_id,
            client_secret,
            scopes: scopes(None),
        });
        let oauth = |name: &'static str,
                     raw: RawOAuth,
                     keys: [&'static str; 2]|
         -> Result<Option<OAuthUpstream>, ConfigError> {
            // URLs are checked even for a provider that is off: a wrong one is a mistake.
            let auth_base_url = upstream_url(keys[0], &raw.auth_base_url)?;
            let api_base_url = upstream_url(keys[1], &raw.api_base_url)?;
            Ok(credentials(name, raw.client_id, raw.client_secret)?.map(
                |(client_id, client_secret)| OAuthUpstream {
                    client_id,
                    client_secret,
                    auth_base_url,
                    api_base_url,
                },
            ))
        };
        let kakao = oauth(
            "federation.kakao",
            self.kakao,
            [
                "federation.kakao.auth_base_url",
                "federation.kakao.api_base_url",
            ],
        )?;
        let naver = oauth(
            "federation.naver",
            self.naver,
            [
                "federation.naver.auth_base_url",
                "federation.naver.api_base_url",
            ],
        )?;
        let mut oidc: Vec<OidcUpstream> = Vec::new();
        for raw in self.oidc {
            let id = raw.id.trim().to_owned();
            let valid_id = (1..=32).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !valid_id
                || NAMED.contains(&id.as_str())
                || RESERVED.contains(&id.as_str())
                || oidc.iter().any(|o| o.id == id)
            {
                return Err(invalid(
                    "federation.oidc.id",
                    format!(
                        "{id:?}: 1–32 of a-z, 0-9 and '-', unique, and not google, kakao or naver"
                    ),
                ));
            }
            if raw.display_name.trim().is_empty() {
                return Err(invalid(
                    "federation.oidc.display_name",
                    format!("{id}: must not be empty"),
                ));
            }
            let Some((client_id, client_secret)) = credentials(
                "federation.oidc",
                Some(raw.client_id),
                Some(raw.client_secret),
            )?
            else {
                return Err(invalid(
                    "federation.oidc",
                    format!("{id}: client_id and client_secret are required"),
                ));
            };
            oidc.push(OidcUpstream {
                issuer: upstream_url("federation.oidc.issuer", &raw.issuer)?,
                display_name: raw.display_name.trim().to_owned(),
                id,
                client_id,
                client_secret,
                scopes: scopes(raw.scopes.as_deref()),
            });
        }
        Ok(FederationConfig {
            link_verified_email: self.link_verified_email,
            google,
            kakao,
            naver,
            oidc,
            ..FederationConfig::default()
        })
    }
}

/// The scopes asked of an OIDC upstream: `openid` always, then the configured ones (default
/// `email profile`).
fn scopes(configured: Option<&str>) -> Vec<String> {
    let mut out = vec!["openid".to_owned()];
    for s in configured.unwrap_or("email profile").split_whitespace() {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    out
}

impl FederationConfig {
    /// One line per configured provider, secrets redacted, for `check-config`.
    pub fn describe(&self) -> String {
        let mut out = format!(
            "federation.link_verified_email = {}\n",
            self.link_verified_email
        );
        for o in self.google.iter().chain(&self.oidc) {
            out.push_str(&format!(
                "federation {}: issuer {}, client_id {}, client_secret <redacted>, scopes {:?}\n",
                o.id, o.issuer, o.client_id, o.scopes
            ));
        }
        for (name, p) in [("kakao", &self.kakao), ("naver", &self.naver)] {
            if let Some(p) = p {
                out.push_str(&format!(
                    "federation {name}: auth {}, api {}, client_id {}, client_secret <redacted>\n",
                    p.auth_base_url, p.api_base_url, p.client_id
                ));
            }
        }
        out
    }
}

/// For tests and embedding: providers set directly.
impl FederationConfig {
    pub fn oauth_upstream(
        client_id: &str,
        client_secret: &str,
        auth_base_url: &str,
        api_base_url: &str,
    ) -> OAuthUpstream {
        OAuthUpstream {
            client_id: client_id.to_owned(),
            client_secret: Secret(client_secret.to_owned()),
            auth_base_url: auth_base_url.trim_end_matches('/').to_owned(),
            api_base_url: api_base_url.trim_end_matches('/').to_owned(),
        }
    }

    pub fn oidc_upstream(
        id: &str,
        display_name: &str,
        issuer: &str,
        client_id: &str,
        client_secret: &str,
    ) -> OidcUpstream {
        OidcUpstream {
            id: id.to_owned(),
            display_name: display_name.to_owned(),
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: Secret(client_secret.to_owned()),
            scopes: scopes(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_are_off_until_both_credentials_are_set() {
        let off = RawFederation::default().validate();
        assert!(
            off.as_ref()
                .is_ok_and(|f| f.google.is_none() && f.kakao.is_none() && f.naver.is_none())
        );
        let mut half = RawFederation::default();
        half.kakao.client_id = Some("rest-key".into());
        let err = half
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("MUNJIGI_FEDERATION_KAKAO"), "{err}");
        let mut on = RawFederation::default();
        on.naver.client_id = Some("id".into());
        on.naver.client_secret = Some("secret".into());
        let on = on.validate();
        let naver = on.ok().and_then(|f| f.naver);
        assert_eq!(
            naver.as_ref().map(|n| n.auth_base_url.as_str()),
            Some(NAVER_AUTH)
        );
        assert!(
            !format!("{naver:?}").contains("secret\""),
            "secret redacted"
        );
    }

    #[test]
    fn upstream_urls_are_https_except_on_loopback() {
        assert!(upstream_url("k", "https://kauth.kakao.com/").is_ok_and(|u| u == KAKAO_AUTH));
        assert!(upstream_url("k", "http://127.0.0.1:9000").is_ok());
        assert!(upstream_url("k", "http://localhost:9000").is_ok());
        assert!(upstream_url("k", "http://kauth.kakao.com").is_err());
        assert!(upstream_url("k", "ftp://x").is_err());
        assert!(upstream_url("k", "https://x/?q=1").is_err());
    }

    #[test]
    fn generic_ids_are_plain_and_unique() {
        let entry = |id: &str| RawOidc {
            id: id.into(),
            display_name: "Corp".into(),
            issuer: "https://sso.example.com".into(),
            client_id: "c".into(),
            client_secret: "s".into(),
            scopes: None,
        };
        for bad in [
            vec![entry("google")],
            vec![entry("Corp")],
            vec![entry("a"), entry("a")],
        ] {
            let raw = RawFederation {
                oidc: bad,
                ..RawFederation::default()
            };
            assert!(raw.validate().is_err());
        }
        let raw = RawFederation {
            oidc: vec![entry("corp-sso")],
            ..RawFederation::default()
        };
        let scopes = raw.validate().ok().map(|f| f.oidc[0].scopes.clone());
        assert_eq!(
            scopes,
            Some(vec!["openid".into(), "email".into(), "profile".into()])
        );
    }
}
