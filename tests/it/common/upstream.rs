//! Upstream providers on 127.0.0.1, as their documentation describes them: an OpenID Connect
//! issuer (Google; with a UserInfo endpoint, and the `iss` of RFC 9207 in its redirects back,
//! as panva's oidc-provider sends it), Kakao (kauth + kapi) and Naver (nid + openapi). Each stub "approves" at its
//! authorization endpoint as the person the test chose, checks what munjigi sends (client
//! secret where the provider wants it, PKCE, redirect URI) and can be told to misbehave.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use base64::Engine;
use josekit::jwk::Jwk;
use josekit::jws::{JwsHeader, RS256};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const CLIENT_ID: &str = "munjigi-at-upstream";
pub const CLIENT_SECRET: &str = "upstream-secret-0123456789abcdef";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Google,
    Kakao,
    Naver,
}

/// Who approves at the stub's authorization endpoint.
#[derive(Clone, Debug)]
pub struct Person {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: String,
    pub nickname: String,
    /// The id_token's `amr`, when not empty.
    pub amr: Vec<String>,
}

impl Person {
    pub fn new(subject: &str, email: &str, verified: bool) -> Self {
        Self {
            subject: subject.into(),
            email: Some(email.into()),
            email_verified: verified,
            name: "Upstream Person".into(),
            nickname: "민지".into(),
            amr: Vec::new(),
        }
    }
}

/// Ways to misbehave, one at a time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Misbehave {
    #[default]
    No,
    /// The person refuses at the authorization endpoint.
    Refuse,
    /// The token endpoint answers with the provider's error shape.
    TokenError,
    /// The token endpoint takes this long to answer.
    SlowToken(u64),
    /// The id_token carries another nonce.
    WrongNonce,
    /// The id_token's payload is altered after signing.
    Tampered,
    /// The id_token is for another client.
    ForeignAudience,
    /// The token answer has no id_token (Kakao with OpenID Connect off).
    NoIdToken,
    /// The id_token says the person signed in an hour ago (the provider ignored a demand for
    /// a fresh sign-in).
    StaleAuthTime,
    /// The id_token's `iat` is a day ahead.
    FutureIat,
    /// UserInfo answers for another subject than the id_token's.
    UserInfoSomeoneElse,
    /// The redirect back names another issuer (`iss`, RFC 9207).
    WrongIss,
}

struct Issued {
    person: Person,
    nonce: Option<String>,
    challenge: Option<String>,
    redirect_uri: String,
    auth_time: i64,
}

struct Shared {
    flavor: Flavor,
    base: String,
    jwk: Jwk,
    kid: String,
    person: Mutex<Person>,
    misbehave: Mutex<Misbehave>,
    codes: Mutex<HashMap<String, Issued>>,
    tokens: Mutex<HashMap<String, Person>>,
    /// Every authorization request's parameters, for the test to inspect.
    seen: Mutex<Vec<HashMap<String, String>>>,
    /// The id_token carries no address and no name: only UserInfo has them (as panva's
    /// oidc-provider does when an access token is issued, OIDC Core §5.4).
    claims_only_in_userinfo: Mutex<bool>,
}

/// A running stub.
#[derive(Clone)]
pub struct Stub {
    pub base: String,
    shared: Arc<Shared>,
}

impl Stub {
    pub async fn start(flavor: Flavor, person: Person) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a stub");
        let base = format!(
            "http://127.0.0.1:{}",
            listener.local_addr().expect("stub address").port()
        );
        let jwk = Jwk::generate_rsa_key(2048).expect("an RSA key");
        let shared = Arc::new(Shared {
            flavor,
            base: base.clone(),
            jwk,
            kid: format!("stub-{}", uuid::Uuid::new_v4().simple()),
            person: Mutex::new(person),
            misbehave: Mutex::new(Misbehave::No),
            codes: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            seen: Mutex::new(Vec::new()),
            claims_only_in_userinfo: Mutex::new(false),
        });
        let app = Router::new()
            // Google and any OIDC issuer
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", axum::routing::post(token))
            .route("/userinfo", get(userinfo))
            // Kakao
            .route("/.well-known/jwks.json", get(jwks))
            .route("/oauth/authorize", get(authorize))
            .route("/oauth/token", axum::routing::post(token))
            .route("/v2/user/me", get(kakao_me))
            // Naver
            .route("/oauth2.0/authorize", get(authorize))
            .route("/oauth2.0/token", axum::routing::post(token))
            .route("/v1/nid/me", get(naver_me))
            .with_state(shared.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base, shared }
    }

    pub fn set_person(&self, person: Person) {
        *self.shared.person.lock().expect("lock") = person;
    }

    /// Puts the address and the name in UserInfo only, not in the id_token.
    pub fn claims_only_in_userinfo(&self) {
        *self.shared.claims_only_in_userinfo.lock().expect("lock") = true;
    }

    /// How many authorization requests reached the stub.
    pub fn authorize_count(&self) -> usize {
        self.shared.seen.lock().expect("lock").len()
    }

    pub fn misbehave(&self, how: Misbehave) {
        *self.shared.misbehave.lock().expect("lock") = how;
    }

    /// The parameters of the last authorization request.
    pub fn last_authorize(&self) -> HashMap<String, String> {
        self.shared
            .seen
            .lock()
            .expect("lock")
            .last()
            .cloned()
            .unwrap_or_default()
    }
}

/// The stub provider stamps its tokens with the system time, as a real provider would.
fn now() -> i64 {
    munjigi::clock::Clock::system().now()
}

async fn discovery(State(s): State<Arc<Shared>>) -> Response {
    let b = &s.base;
    axum::Json(json!({
        "issuer": b,
        "authorization_endpoint": format!("{b}/authorize"),
        "token_endpoint": format!("{b}/token"),
        "jwks_uri": format!("{b}/jwks"),
        "userinfo_endpoint": format!("{b}/userinfo"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
    }))
    .into_response()
}

async fn jwks(State(s): State<Arc<Shared>>) -> Response {
    let mut public = s.jwk.to_public_key().expect("public half");
    public.set_key_id(&s.kid);
    public.set_algorithm("RS256");
    public.set_key_use("sig");
    axum::Json(json!({ "keys": [public.as_ref()] })).into_response()
}

async fn authorize(
    State(s): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    s.seen.lock().expect("lock").push(q.clone());
    let redirect_uri = q.get("redirect_uri").cloned().unwrap_or_default();
    let state = q.get("state").cloned().unwrap_or_default();
    let back = |pairs: &[(&str, &str)]| {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        Redirect::to(&format!("{redirect_uri}?{query}")).into_response()
    };
    if q.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return (StatusCode::BAD_REQUEST, "unknown client").into_response();
    }
    let misbehave = s.misbehave.lock().expect("lock").clone();
    // An OpenID Connect issuer names itself in the redirect back (RFC 9207).
    let iss = match (s.flavor, &misbehave) {
        (Flavor::Google, Misbehave::WrongIss) => "https://mix-up.example".to_owned(),
        (Flavor::Google, _) => s.base.clone(),
        _ => String::new(),
    };
    let back = |pairs: &[(&str, &str)]| {
        let mut pairs = pairs.to_vec();
        if !iss.is_empty() {
            pairs.push(("iss", &iss));
        }
        back(&pairs)
    };
    if misbehave == Misbehave::Refuse {
        let description = match s.flavor {
            Flavor::Naver => "Canceled By User",
            _ => "User denied access",
        };
        return back(&[
            ("error", "access_denied"),
            ("error_description", description),
            ("state", &state),
        ]);
    }
    let code = uuid::Uuid::new_v4().simple().to_string();
    s.codes.lock().expect("lock").insert(
        code.clone(),
        Issued {
            person: s.person.lock().expect("lock").clone(),
            nonce: q.get("nonce").cloned(),
            challenge: q.get("code_challenge").cloned(),
            redirect_uri: redirect_uri.clone(),
            auth_time: now(),
        },
    );
    back(&[("code", &code), ("state", &state)])
}

/// Client authentication as each provider takes it: Kakao and Naver read the form only.
fn client_ok(flavor: Flavor, headers: &HeaderMap, form: &HashMap<String, String>) -> bool {
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let form_ok = form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
        && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET);
    match flavor {
        Flavor::Google => {
            basic.as_deref() == Some(&format!("{CLIENT_ID}:{CLIENT_SECRET}")) || form_ok
        }
        Flavor::Kakao | Flavor::Naver => form_ok,
    }
}

fn token_error(flavor: Flavor, description: &str) -> Response {
    match flavor {
        Flavor::Google => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "invalid_grant", "error_description": description})),
        )
            .into_response(),
        Flavor::Kakao => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({
                "error": "invalid_grant",
                "error_description": description,
                "error_code": "KOE320",
            })),
        )
            .into_response(),
        // Naver answers its errors with 200.
        Flavor::Naver => axum::Json(json!({
            "error": "invalid_request",
            "error_description": description,
        }))
        .into_response(),
    }
}

async fn token(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let misbehave = s.misbehave.lock().expect("lock").clone();
    if let Misbehave::SlowToken(secs) = misbehave {
        tokio::time::sleep(Duration::from_secs(secs)).await;
    }
    if misbehave == Misbehave::TokenError {
        return token_error(s.flavor, "authorization code not found");
    }
    if !client_ok(s.flavor, &headers, &form) {
        return token_error(s.flavor, "bad client authentication");
    }
    let code = form.get("code").cloned().unwrap_or_default();
    let Some(issued) = s.codes.lock().expect("lock").remove(&code) else {
        return token_error(s.flavor, "authorization code not found");
    };
    if s.flavor != Flavor::Naver && form.get("redirect_uri") != Some(&issued.redirect_uri) {
        return token_error(s.flavor, "redirect_uri mismatch");
    }
    if let Some(challenge) = &issued.challenge {
        let verifier = form.get("code_verifier").cloned().unwrap_or_default();
        let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(verifier.as_bytes()));
        if &computed != challenge {
            return token_error(s.flavor, "PKCE verification failed");
        }
    }
    let access_token = uuid::Uuid::new_v4().simple().to_string();
    s.tokens
        .lock()
        .expect("lock")
        .insert(access_token.clone(), issued.person.clone());
    if misbehave == Misbehave::NoIdToken {
        return axum::Json(json!({
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": 3599,
        }))
        .into_response();
    }
    match s.flavor {
        Flavor::Naver => axum::Json(json!({
            "access_token": access_token,
            "refresh_token": "r",
            "token_type": "bearer",
            "expires_in": "3600",
        }))
        .into_response(),
        Flavor::Google | Flavor::Kakao => {
            let id_token = id_token(&s, &issued, &misbehave);
            axum::Json(json!({
                "access_token": access_token,
                "token_type": "bearer",
                "expires_in": 3599,
                "id_token": id_token,
                "scope": "openid email profile",
            }))
            .into_response()
        }
    }
}

fn id_token(s: &Shared, issued: &Issued, misbehave: &Misbehave) -> String {
    let p = &issued.person;
    let now = now();
    let iat = if *misbehave == Misbehave::FutureIat {
        now + 86_400
    } else {
        now
    };
    let auth_time = if *misbehave == Misbehave::StaleAuthTime {
        issued.auth_time - 3600
    } else {
        issued.auth_time
    };
    let mut claims = json!({
        "iss": s.base,
        "aud": if *misbehave == Misbehave::ForeignAudience { "someone-else" } else { CLIENT_ID },
        "sub": p.subject,
        "iat": iat,
        "exp": iat + 600,
        "auth_time": auth_time,
        "nonce": if *misbehave == Misbehave::WrongNonce {
            Some("not-your-nonce".to_owned())
        } else {
            issued.nonce.clone()
        },
    });
    if !p.amr.is_empty() {
        claims["amr"] = json!(p.amr);
    }
    if s.flavor == Flavor::Google && !*s.claims_only_in_userinfo.lock().expect("lock") {
        claims["email"] = json!(p.email);
        claims["email_verified"] = json!(p.email_verified);
        claims["name"] = json!(p.name);
        claims["hd"] = json!("example.com");
    } else if s.flavor == Flavor::Google {
        claims["hd"] = json!("example.com");
    } else {
        claims["nickname"] = json!(p.nickname);
    }
    let mut header = JwsHeader::new();
    header.set_key_id(&s.kid);
    header.set_token_type("JWT");
    let signer = RS256.signer_from_jwk(&s.jwk).expect("signer");
    let payload = serde_json::to_vec(&claims).expect("claims");
    let token = josekit::jws::serialize_compact(&payload, &header, &signer).expect("sign");
    if *misbehave != Misbehave::Tampered {
        return token;
    }
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    claims["sub"] = json!("someone-else");
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
    parts.join(".")
}

fn bearer_person(s: &Shared, headers: &HeaderMap) -> Option<Person> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())?
        .strip_prefix("Bearer ")?
        .to_owned();
    s.tokens.lock().expect("lock").get(&token).cloned()
}

/// OIDC Core §5.3: the person's claims for the access token.
async fn userinfo(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let Some(p) = bearer_person(&s, &headers) else {
        return (
            StatusCode::UNAUTHORIZED,
            [("www-authenticate", "Bearer error=\"invalid_token\"")],
        )
            .into_response();
    };
    let sub = if *s.misbehave.lock().expect("lock") == Misbehave::UserInfoSomeoneElse {
        "someone-else".to_owned()
    } else {
        p.subject.clone()
    };
    axum::Json(json!({
        "sub": sub,
        "email": p.email,
        "email_verified": p.email_verified,
        "name": p.name,
    }))
    .into_response()
}

async fn kakao_me(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let Some(p) = bearer_person(&s, &headers) else {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"msg": "this access token does not exist", "code": -401})),
        )
            .into_response();
    };
    let id: Value = p
        .subject
        .parse::<i64>()
        .map_or_else(|_| json!(p.subject), |n| json!(n));
    axum::Json(json!({
        "id": id,
        "connected_at": "2026-11-27T01:02:03Z",
        "kakao_account": {
            "profile_nickname_needs_agreement": false,
            "profile": { "nickname": p.nickname, "is_default_nickname": false },
            "has_email": p.email.is_some(),
            "email_needs_agreement": false,
            "is_email_valid": true,
            "is_email_verified": p.email_verified,
            "email": p.email,
        },
    }))
    .into_response()
}

async fn naver_me(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let Some(p) = bearer_person(&s, &headers) else {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"resultcode": "024", "message": "Authentication failed"})),
        )
            .into_response();
    };
    axum::Json(json!({
        "resultcode": "00",
        "message": "success",
        "response": {
            "id": p.subject,
            "email": p.email,
            "name": p.name,
            "nickname": p.nickname,
        },
    }))
    .into_response()
}
