//! Registered clients: what they may do, and registering new ones.

use crate::keys::SigningAlg;
/// A client as stored: what the admin API shows.
pub use crate::store::ClientRecord;
use crate::store::{Store, StoreError};

use super::grant::GrantType;
use super::scope::Scopes;
use super::secret::{SecretHasher, random_token};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    None,
}

impl AuthMethod {
    /// Every method munjigi offers: what discovery lists and the CLI accepts.
    pub const ALL: [Self; 3] = [Self::ClientSecretBasic, Self::ClientSecretPost, Self::None];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "client_secret_basic" => Some(Self::ClientSecretBasic),
            "client_secret_post" => Some(Self::ClientSecretPost),
            "none" => Some(Self::None),
            _ => None,
        }
    }
}

/// A client as the protocol code sees it.
#[derive(Clone, Debug)]
pub struct Client {
    pub record: ClientRecord,
    pub auth_method: AuthMethod,
    pub grant_types: Vec<GrantType>,
    pub scopes: Scopes,
    pub id_token_alg: SigningAlg,
}

impl Client {
    pub fn from_record(record: ClientRecord) -> Result<Self, StoreError> {
        let auth_method = AuthMethod::parse(&record.token_endpoint_auth_method)
            .ok_or_else(|| StoreError::Corrupt(format!("client {}: auth method", record.id)))?;
        let grant_types = record
            .grant_types
            .iter()
            .map(|g| GrantType::parse(g))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| StoreError::Corrupt(format!("client {}: grant types", record.id)))?;
        let scopes = Scopes::parse(&record.scopes)
            .ok_or_else(|| StoreError::Corrupt(format!("client {}: scopes", record.id)))?;
        let id_token_alg = SigningAlg::parse(&record.id_token_signed_response_alg)
            .ok_or_else(|| StoreError::Corrupt(format!("client {}: id_token alg", record.id)))?;
        Ok(Self {
            record,
            auth_method,
            grant_types,
            scopes,
            id_token_alg,
        })
    }

    pub async fn find(store: &Store, id: &str) -> Result<Option<Self>, StoreError> {
        store.client(id).await?.map(Self::from_record).transpose()
    }

    pub fn id(&self) -> &str {
        &self.record.id
    }

    pub fn is_public(&self) -> bool {
        self.auth_method == AuthMethod::None
    }

    pub fn allows_grant(&self, grant_type: GrantType) -> bool {
        self.grant_types.contains(&grant_type)
    }

    /// The browser origins this client's pages may call the API endpoints from: those it
    /// registered, or, for a public client that registered none, the origins of its web
    /// redirect URIs (a single-page app is served where it receives its code).
    pub fn allowed_origins(&self) -> Vec<String> {
        if !self.record.allowed_origins.is_empty() || !self.is_public() {
            return self.record.allowed_origins.clone();
        }
        let mut origins: Vec<String> = self
            .record
            .redirect_uris
            .iter()
            .filter_map(|uri| super::cors::web_origin_of(uri))
            .collect();
        origins.sort();
        origins.dedup();
        origins
    }

    /// Whether a browser request sent from `origin` may act as this client (exact match).
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins().iter().any(|o| o == origin)
    }

    /// Exact string comparison, as RFC 9700 §4.1.3 requires: no prefix, no normalisation.
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.record.redirect_uris.iter().any(|r| r == uri)
    }
}

/// What an operator asks for when registering a client.
#[derive(Clone)]
pub struct NewClient {
    pub id: Option<String>,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub auth_method: AuthMethod,
    pub secret: Option<String>,
    pub grant_types: Vec<GrantType>,
    pub scopes: String,
    pub skip_consent: bool,
    pub id_token_alg: SigningAlg,
    /// Where logout tokens are sent (Back-Channel Logout 1.0).
    pub backchannel_logout_uri: Option<String>,
    /// Browser origins allowed to call the API endpoints (CORS).
    pub allowed_origins: Vec<String>,
    /// Resource servers its access tokens are for (`aud`).
    pub access_token_audience: Vec<String>,
    /// Its users must sign in with two factors.
    pub require_mfa: bool,
}

/// The secret never reaches a log.
impl std::fmt::Debug for NewClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewClient")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("redirect_uris", &self.redirect_uris)
            .field("auth_method", &self.auth_method)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("grant_types", &self.grant_types)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("{0}")]
    Invalid(String),
    #[error("a client with id {0:?} already exists")]
    Exists(String),
    #[error(transparent)]
    Store(StoreError),
}

/// Validates and stores a client. Returns the record and, for confidential clients, the
/// secret in clear: the only time it is shown.
pub async fn register(
    store: &Store,
    hasher: &SecretHasher,
    new: NewClient,
    now: i64,
) -> Result<(ClientRecord, Option<String>), RegisterError> {
    let scopes = check_settings(&new)?;
    let invalid = |m: String| Err(RegisterError::Invalid(m));
    let id = match new.id {
        Some(id)
            if !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            id
        }
        Some(id) => {
            return invalid(format!(
                "client id {id:?} must be 1–128 visible ASCII characters"
            ));
        }
        None => uuid::Uuid::new_v4().to_string(),
    };
    if id.starts_with("munjigi-") {
        return invalid(format!(
            "client id {id:?}: ids starting with munjigi- are munjigi's own"
        ));
    }
    let secret = match new.auth_method {
        AuthMethod::None => {
            if new.secret.is_some() {
                return invalid("a public client has no secret".into());
            }
            None
        }
        _ => Some(match new.secret {
            Some(s) if s.len() >= 32 => s,
            Some(_) => return invalid("a client secret must be at least 32 characters".into()),
            None => random_token(),
        }),
    };
    let record = ClientRecord {
        id: id.clone(),
        name: new.name.trim().to_owned(),
        secret_hash: secret.as_deref().map(|s| hasher.hash(s)),
        token_endpoint_auth_method: new.auth_method.as_str().to_owned(),
        redirect_uris: new.redirect_uris,
        post_logout_redirect_uris: new.post_logout_redirect_uris,
        grant_types: new
            .grant_types
            .iter()
            .map(|g| g.as_str().to_owned())
            .collect(),
        scopes: scopes.to_string(),
        skip_consent: new.skip_consent,
        id_token_signed_response_alg: new.id_token_alg.as_str().to_owned(),
        backchannel_logout_uri: new.backchannel_logout_uri,
        allowed_origins: new.allowed_origins,
        access_token_audience: new.access_token_audience,
        require_mfa: new.require_mfa,
        created_at: now,
        updated_at: now,
    };
    // A token's subject is either a client or an account: an id both had would let a
    // client's own token pass as that person's (the store's insert refuses it too, for races).
    if store
        .user(&id)
        .await
        .map_err(RegisterError::Store)?
        .is_some()
    {
        return invalid(format!(
            "client id {id:?} is an account's id; client and account ids must differ"
        ));
    }
    match store.insert_client(&record).await {
        Ok(()) => Ok((record, secret)),
        Err(StoreError::Conflict) => Err(RegisterError::Exists(id)),
        Err(e) => Err(RegisterError::Store(e)),
    }
}

/// The rules every client's settings meet, at registration and at every change; returns the
/// parsed scopes.
pub(crate) fn check_settings(new: &NewClient) -> Result<Scopes, RegisterError> {
    let invalid = |m: String| Err(RegisterError::Invalid(m));
    if new.name.trim().is_empty() {
        return invalid("the client needs a name".into());
    }
    if new.redirect_uris.is_empty() && new.grant_types.contains(&GrantType::AuthorizationCode) {
        return invalid("an authorization_code client needs at least one --redirect-uri".into());
    }
    for uri in new
        .redirect_uris
        .iter()
        .chain(&new.post_logout_redirect_uris)
    {
        check_redirect_uri(uri).map_err(RegisterError::Invalid)?;
    }
    if let Some(uri) = &new.backchannel_logout_uri {
        check_backchannel_uri(uri).map_err(RegisterError::Invalid)?;
    }
    for origin in &new.allowed_origins {
        super::cors::check_origin(origin).map_err(RegisterError::Invalid)?;
    }
    for resource in &new.access_token_audience {
        super::resource::check_resource(resource).map_err(RegisterError::Invalid)?;
    }
    if new.auth_method == AuthMethod::None
        && new.grant_types.contains(&GrantType::ClientCredentials)
    {
        return invalid("a public client cannot use client_credentials".into());
    }
    Scopes::parse(&new.scopes)
        .ok_or_else(|| RegisterError::Invalid(format!("invalid scope list {:?}", new.scopes)))
}

/// A new secret for a confidential client, shown once; the old one stops working at once
/// (every instance drops its cached copy). `None` when there is no such confidential client.
pub async fn rotate_secret(
    store: &Store,
    hasher: &SecretHasher,
    id: &str,
    now: i64,
) -> Result<Option<String>, StoreError> {
    let secret = random_token();
    let stored = store
        .set_client_secret_hash(id, &hasher.hash(&secret), now)
        .await?;
    Ok(stored.then_some(secret))
}

/// RFC 6749 §3.1.2 and RFC 9700 §2.1: absolute, no fragment; https, or http only on a loopback
/// host (native apps, RFC 8252 §7.3); private-use schemes (`com.example.app:/cb`) allowed.
fn check_redirect_uri(uri: &str) -> Result<(), String> {
    let parsed =
        url::Url::parse(uri).map_err(|e| format!("redirect URI {uri:?} is not absolute: {e}"))?;
    if parsed.fragment().is_some() {
        return Err(format!("redirect URI {uri:?} must not have a fragment"));
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" => match parsed.host() {
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Ok(()),
            Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Ok(()),
            Some(url::Host::Domain("localhost")) => Ok(()),
            _ => Err(format!(
                "redirect URI {uri:?} must use https (http only on loopback)"
            )),
        },
        "javascript" | "data" | "file" | "vbscript" => {
            Err(format!("redirect URI {uri:?} has a forbidden scheme"))
        }
        scheme if scheme.contains('.') => Ok(()),
        _ => Err(format!(
            "redirect URI {uri:?}: custom schemes must be reverse-DNS (com.example.app)"
        )),
    }
}

/// Back-Channel Logout 1.0 §2.2: where munjigi itself sends requests, so https (http only on
/// loopback), no fragment, no credentials, and never a link-local address (cloud metadata
/// services live there).
fn check_backchannel_uri(uri: &str) -> Result<(), String> {
    let parsed = url::Url::parse(uri)
        .map_err(|e| format!("backchannel logout URI {uri:?} is not absolute: {e}"))?;
    if parsed.fragment().is_some() || !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "backchannel logout URI {uri:?} must not have a fragment or credentials"
        ));
    }
    let loopback = match parsed.host() {
        Some(url::Host::Ipv4(ip)) if ip.is_link_local() || ip.is_unspecified() => {
            return Err(format!(
                "backchannel logout URI {uri:?}: link-local address"
            ));
        }
        Some(url::Host::Ipv6(ip))
            if (ip.segments()[0] & 0xffc0) == 0xfe80 || ip.is_unspecified() =>
        {
            return Err(format!(
                "backchannel logout URI {uri:?}: link-local address"
            ));
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!(
            "backchannel logout URI {uri:?} must use https (http only on loopback)"
        )),
    }
}

/// A client for unit tests: confidential, or public when `public`.
#[cfg(test)]
pub(crate) fn fixture(public: bool) -> Client {
    let record = crate::store::ClientRecord {
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
        allowed_origins: vec![],
        access_token_audience: vec![],
        require_mfa: false,
        created_at: 0,
        updated_at: 0,
    };
    match Client::from_record(record) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::check_redirect_uri;

    #[test]
    fn public_clients_default_to_their_redirect_origins() {
        let public = super::fixture(true);
        assert_eq!(
            public.allowed_origins(),
            ["http://127.0.0.1:9000", "https://app.example.com"]
        );
        assert!(public.allows_origin("https://app.example.com"));
        assert!(!public.allows_origin("https://app.example.com:8443"));
        assert!(!public.allows_origin("https://evil.example"));
        // A confidential client's pages get no default: its secret does not belong in a page.
        assert!(super::fixture(false).allowed_origins().is_empty());
        let mut registered = super::fixture(true);
        registered.record.allowed_origins = vec!["https://spa.example.com".into()];
        assert_eq!(registered.allowed_origins(), ["https://spa.example.com"]);
    }

    #[test]
    fn backchannel_uris_are_https_and_never_link_local() {
        use super::check_backchannel_uri as check;
        assert!(check("https://app.example.com/logout").is_ok());
        assert!(check("http://127.0.0.1:9000/bc").is_ok());
        assert!(check("http://169.254.169.254/latest/meta-data").is_err());
        assert!(check("https://169.254.169.254/x").is_err());
        assert!(check("https://[fe80::1]/x").is_err());
        assert!(check("gopher://app.example.com/").is_err());
        assert!(check("http://app.example.com/bc").is_err());
        assert!(check("https://u:p@app.example.com/bc").is_err());
        assert!(check("https://app.example.com/bc#x").is_err());
    }

    #[test]
    fn redirect_uri_registration_rules() {
        assert!(check_redirect_uri("https://app.example.com/cb?x=1").is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:9999/cb").is_ok());
        assert!(check_redirect_uri("http://localhost/cb").is_ok());
        assert!(check_redirect_uri("com.example.app:/oauth").is_ok());
        assert!(check_redirect_uri("http://app.example.com/cb").is_err());
        assert!(check_redirect_uri("https://app.example.com/cb#frag").is_err());
        assert!(check_redirect_uri("/relative").is_err());
        assert!(check_redirect_uri("javascript:alert(1)").is_err());
        assert!(check_redirect_uri("myapp:/cb").is_err());
    }
}
