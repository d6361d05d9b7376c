//! What most tests start from: a registered client, a user with a password, an authorization
//! URL, and the token endpoint — as methods on `TestApp`.

use munjigi::account::user::{NewUser, Role, create};
use munjigi::keys::SigningAlg;
use munjigi::oauth::client::{AuthMethod, NewClient, register};
use munjigi::oauth::grant::GrantType;

use super::TestApp;
use super::browser::{Browser, query};

pub const REDIRECT: &str = "http://127.0.0.1:9999/cb";
pub const PASSWORD: &str = "correct horse battery staple";
/// RFC 7636 Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A registered client and its secret (none for public clients).
pub struct Registered {
    pub id: String,
    pub secret: Option<String>,
}

/// An answer of a JSON endpoint.
pub struct TokenReply {
    pub status: u16,
    pub json: serde_json::Value,
    pub headers: reqwest::header::HeaderMap,
}

/// A web app's client: code and refresh grants, two redirect URIs, the usual scopes.
pub fn web_client(auth: AuthMethod, skip_consent: bool) -> NewClient {
    NewClient {
        id: None,
        name: "Test App".into(),
        redirect_uris: vec![
            REDIRECT.into(),
            "https://app.example.com/cb?tenant=a".into(),
        ],
        post_logout_redirect_uris: vec![],
        auth_method: auth,
        secret: None,
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scopes: "openid profile email offline_access".into(),
        skip_consent,
        id_token_alg: SigningAlg::Rs256,
        backchannel_logout_uri: None,
        allowed_origins: vec![],
        access_token_audience: vec![],
        require_mfa: false,
    }
}

/// An authorization URL (path and query) for `client_id` with PKCE, state and nonce;
/// `extra` replaces or adds parameters, and an empty value removes one.
pub fn auth_url(client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> = [
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", "openid profile email"),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    for (name, value) in extra {
        pairs.retain(|(k, _)| k != name);
        if !value.is_empty() {
            pairs.push(((*name).to_owned(), (*value).to_owned()));
        }
    }
    let q = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("/authorize?{q}")
}

/// The claims of a JWT, unverified (tests look inside tokens they already trust).
pub fn jwt_claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("payload is base64url");
    serde_json::from_slice(&bytes).expect("payload is JSON")
}

impl TestApp {
    /// Registers `new` as the CLI would.
    pub async fn register(&self, new: NewClient) -> Registered {
        let (record, secret) = register(&self.store, &self.state.hasher, new, self.clock.now())
            .await
            .expect("register client");
        Registered {
            id: record.id,
            secret,
        }
    }

    /// A machine client: client_credentials only, scope `api.read api.write`.
    pub async fn machine(&self) -> Registered {
        self.register(NewClient {
            name: "Billing service".into(),
            redirect_uris: vec![],
            grant_types: vec![GrantType::ClientCredentials],
            scopes: "api.read api.write".into(),
            skip_consent: true,
            ..web_client(AuthMethod::ClientSecretBasic, true)
        })
        .await
    }

    /// A web app's client (see `web_client`).
    pub async fn client(&self, auth: AuthMethod, skip_consent: bool) -> Registered {
        self.register(web_client(auth, skip_consent)).await
    }

    /// A user with `PASSWORD` and a verified `{username}@example.com`; returns the user id.
    pub async fn user(&self, username: &str) -> String {
        let new = NewUser {
            username: username.into(),
            email: format!("{username}@example.com"),
            name: Some(format!("{username} Kim")),
            password: Some(PASSWORD.into()),
            role: Role::User,
            email_verified: true,
        };
        create(&self.store, new, self.clock.now())
            .await
            .expect("create user")
            .id
    }

    pub async fn token(&self, c: &Registered, form: &[(&str, &str)]) -> TokenReply {
        self.client_post(c, "/token", form).await
    }

    /// A form post to a client-authenticated endpoint (Basic when the client has a secret).
    pub async fn client_post(
        &self,
        c: &Registered,
        path: &str,
        form: &[(&str, &str)],
    ) -> TokenReply {
        let mut request = self.http.post(self.url(path)).form(form);
        if let Some(secret) = &c.secret {
            request = request.basic_auth(&c.id, Some(secret));
        }
        let response = request.send().await.expect("POST to munjigi");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let json = response.json().await.unwrap_or_default();
        TokenReply {
            status,
            json,
            headers,
        }
    }

    /// Signs `username` in with a new browser through `auth_url(c, extra)` and returns the code.
    pub async fn code_for(&self, c: &Registered, username: &str, extra: &[(&str, &str)]) -> String {
        let back = Browser::new(self)
            .sign_in(&auth_url(&c.id, extra), username, PASSWORD)
            .await;
        assert!(back.starts_with(REDIRECT), "back at the client: {back}");
        query(&back)
            .get("code")
            .cloned()
            .unwrap_or_else(|| panic!("no code in {back}"))
    }

    /// Redeems a code issued for `auth_url` (the default redirect URI and verifier).
    pub async fn redeem(&self, c: &Registered, code: &str) -> TokenReply {
        self.token(
            c,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await
    }
}
