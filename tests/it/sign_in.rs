//! Sign in with munjigi, end to end: the `openidconnect` crate as relying party, and the rules
//! of RFC 6749, RFC 7636, RFC 9700 and OIDC Core checked one by one.

use munjigi::account::user::{NewUser, Role, create};
use munjigi::clock::Clock;
use munjigi::oauth::client::{AuthMethod, NewClient, register};
use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{
    AccessTokenHash, AuthorizationCode, CsrfToken, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    Scope, TokenResponse,
};

use crate::common::browser::{Browser, location, query};
use crate::common::{TestApp, TestDb, rp, spawn_app, spawn_app_with_clock};
use crate::on_both_backends;

pub(crate) const REDIRECT: &str = "http://127.0.0.1:9999/cb";
pub(crate) const PASSWORD: &str = "correct horse battery staple";
// RFC 7636 Appendix B
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

pub struct Registered {
    pub id: String,
    pub secret: Option<String>,
}

pub async fn client(app: &TestApp, auth: AuthMethod, skip_consent: bool) -> Registered {
    let new = NewClient {
        id: None,
        name: "Test App".into(),
        redirect_uris: vec![
            REDIRECT.into(),
            "https://app.example.com/cb?tenant=a".into(),
        ],
        post_logout_redirect_uris: vec![],
        auth_method: auth,
        secret: None,
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scopes: "openid profile email offline_access".into(),
        skip_consent,
        id_token_alg: munjigi::keys::SigningAlg::Rs256,
        backchannel_logout_uri: None,
    };
    match register(&app.store, &app.state.hasher, new, app.clock.now()).await {
        Ok((record, secret)) => Registered {
            id: record.id,
            secret,
        },
        Err(e) => panic!("register client: {e}"),
    }
}

pub async fn user(app: &TestApp, username: &str) -> String {
    let new = NewUser {
        username: username.into(),
        email: format!("{username}@example.com"),
        name: Some(format!("{username} Kim")),
        password: Some(PASSWORD.into()),
        role: Role::User,
        email_verified: true,
    };
    match create(&app.store, new, app.clock.now()).await {
        Ok(u) => u.id,
        Err(e) => panic!("create user: {e}"),
    }
}

pub(crate) fn auth_url(client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid profile email")
        .append_pair("state", "st-1")
        .append_pair("nonce", "n-1")
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256");
    let mut url = format!("/authorize?{}", q.finish());
    for (k, v) in extra {
        url = replace_param(&url, k, v);
    }
    url
}

fn replace_param(url: &str, name: &str, value: &str) -> String {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .filter(|(k, _)| k != name)
        .collect();
    if !value.is_empty() {
        pairs.push((name.to_owned(), value.to_owned()));
    }
    let q = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{path}?{q}")
}

pub(crate) struct TokenReply {
    pub status: u16,
    pub json: serde_json::Value,
    pub headers: reqwest::header::HeaderMap,
}

pub(crate) async fn token(app: &TestApp, c: &Registered, form: &[(&str, &str)]) -> TokenReply {
    client_post(app, c, "/token", form).await
}

/// A form post to a client-authenticated endpoint (Basic when the client has a secret).
pub(crate) async fn client_post(
    app: &TestApp,
    c: &Registered,
    path: &str,
    form: &[(&str, &str)],
) -> TokenReply {
    let mut request = app.http.post(app.url(path)).form(form);
    if let Some(secret) = &c.secret {
        request = request.basic_auth(&c.id, Some(secret));
    }
    let Ok(response) = request.send().await else {
        panic!("POST {path} failed")
    };
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let json = response.json().await.unwrap_or_default();
    TokenReply {
        status,
        json,
        headers,
    }
}

pub(crate) async fn code_for(
    app: &TestApp,
    c: &Registered,
    username: &str,
    extra: &[(&str, &str)],
) -> String {
    let browser = Browser::new(app);
    let back = browser
        .sign_in(&auth_url(&c.id, extra), username, PASSWORD)
        .await;
    let q = query(&back);
    assert!(back.starts_with(REDIRECT), "back at the client: {back}");
    q.get("code")
        .cloned()
        .unwrap_or_else(|| panic!("no code in {back}"))
}

pub(crate) async fn redeem(app: &TestApp, c: &Registered, code: &str) -> TokenReply {
    token(
        app,
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

on_both_backends!(
    openidconnect_rp_signs_in_end_to_end,
    unregistered_redirect_uris_are_never_followed,
    code_is_single_use_and_replay_revokes_its_tokens,
    code_is_bound_to_client_and_redirect_uri,
    pkce_rules,
    wrong_client_secret_is_invalid_client,
    prompt_none_without_session_is_login_required,
    max_age_forces_a_new_login,
    tampered_and_unsigned_tokens_fail_at_userinfo,
    login_without_csrf_token_is_refused,
    unknown_user_and_wrong_password_look_the_same,
    consent_denied_and_remembered,
    racing_redemptions_have_one_winner,
);

async fn openidconnect_rp_signs_in_end_to_end(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = client(&app, AuthMethod::ClientSecretBasic, false).await;
    let user_id = user(&app, "minji").await;
    let rp = rp::discover(&app.base, &c.id, c.secret.as_deref(), REDIRECT).await;

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();

    let back = Browser::new(&app)
        .sign_in(url.as_str(), "minji", PASSWORD)
        .await;
    let q = query(&back);
    assert_eq!(
        q.get("state").map(String::as_str),
        Some(csrf.secret().as_str()),
        "state unchanged"
    );
    assert_eq!(
        q.get("iss").map(String::as_str),
        Some(app.base.as_str()),
        "RFC 9207 iss"
    );
    let code = q.get("code").cloned().unwrap_or_default();

    let request = match rp.exchange_code(AuthorizationCode::new(code)) {
        Ok(r) => r,
        Err(e) => panic!("token endpoint not configured: {e}"),
    };
    let tokens = match request
        .set_pkce_verifier(verifier)
        .request_async(&rp::http)
        .await
    {
        Ok(t) => t,
        Err(e) => panic!("code exchange failed: {e:?}"),
    };
    assert!(
        tokens.refresh_token().is_some(),
        "offline_access was granted"
    );
    let Some(id_token) = tokens.id_token() else {
        panic!("no id_token")
    };
    let verifier = rp.id_token_verifier();
    let claims = match id_token.claims(&verifier, &nonce) {
        Ok(c) => c.clone(),
        Err(e) => panic!("id_token does not verify: {e:?}"),
    };
    assert_eq!(claims.subject().as_str(), user_id);
    assert_eq!(claims.issuer().as_str(), app.base);
    assert!(claims.auth_time().is_some());
    let alg = id_token
        .signing_alg()
        .unwrap_or_else(|e| panic!("alg: {e:?}"));
    let key = id_token
        .signing_key(&verifier)
        .unwrap_or_else(|e| panic!("key: {e:?}"));
    let expected = AccessTokenHash::from_token(tokens.access_token(), alg, key)
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(claims.access_token_hash(), Some(&expected), "at_hash");
    assert_eq!(
        claims.email().map(|e| e.as_str()),
        Some("minji@example.com")
    );

    let info_request = rp
        .user_info(tokens.access_token().clone(), None)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let info: openidconnect::core::CoreUserInfoClaims = info_request
        .request_async(&rp::http)
        .await
        .unwrap_or_else(|e| panic!("userinfo: {e:?}"));
    assert_eq!(info.subject().as_str(), user_id, "same sub as the id_token");
    assert_eq!(info.preferred_username().map(|u| u.as_str()), Some("minji"));

    // The access token is an RFC 9068 JWT, ES256 by default.
    let header = tokens
        .access_token()
        .secret()
        .split('.')
        .next()
        .unwrap_or_default()
        .to_owned();
    let header: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header)
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    app.stop().await;
}

async fn unregistered_redirect_uris_are_never_followed(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = client(&app, AuthMethod::ClientSecretBasic, false).await;
    let browser = Browser::new(&app);
    for uri in [
        "http://127.0.0.1:9999/cb/other",
        "http://127.0.0.1:9999/cb?extra=1",
        "http://127.0.0.1:9998/cb",
        "http://127.0.0.1:9999/cb/",
        "https://app.example.com/cb",
        "https://app.example.com/cb?tenant=b",
        "https://evil.example.com/cb",
    ] {
        let response = browser
            .get(&auth_url(
                &c.id,
                &[("redirect_uri", uri), ("response_type", "token")],
            ))
            .await;
        assert_eq!(response.status(), 400, "{uri}");
        assert!(
            response.headers().get("location").is_none(),
            "{uri} must not be redirected to"
        );
        let html = response.text().await.unwrap_or_default();
        assert!(html.contains("redirect_uri"), "the page says what is wrong");
    }
    // The registered one with its query is honoured exactly.
    let ok = browser
        .get(&auth_url(
            &c.id,
            &[("redirect_uri", "https://app.example.com/cb?tenant=a")],
        ))
        .await;
    assert_eq!(ok.status(), 303);
    let unknown = browser.get(&auth_url("no-such-client", &[])).await;
    assert_eq!(unknown.status(), 400);
    assert!(unknown.headers().get("location").is_none());
    app.stop().await;
}

async fn code_is_single_use_and_replay_revokes_its_tokens(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = client(&app, AuthMethod::ClientSecretBasic, false).await;
    user(&app, "jiho").await;
    let code = code_for(&app, &c, "jiho", &[]).await;
    let first = redeem(&app, &c, &code).await;
    assert_eq!(first.status, 200, "{}", first.json);
    assert_eq!(
        first
            .headers
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    assert_eq!(first.json["token_type"], "Bearer");
    let access = first.json["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let info = app
        .http
        .get(app.url("/userinfo"))
        .bearer_auth(&access)
        .send()
        .await;
    assert_eq!(info.map(|r| r.status().as_u16()).ok(), Some(200));

    let replay = redeem(&app, &c, &code).await;
    assert_eq!(replay.status, 400);
    assert_eq!(replay.json["error"], "invalid_grant");
    let info = app
        .http
        .get(app.url("/userinfo"))
        .bearer_auth(&access)
        .send()
        .await;
    let Ok(info) = info else { panic!("userinfo") };
    assert_eq!(
        info.status(),
        401,
        "tokens from a replayed code are revoked"
    );
    let challenge = info
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    app.stop().await;
}

async fn code_is_bound_to_client_and_redirect_uri(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = client(&app, AuthMethod::ClientSecretBasic, false).await;
    let other = client(&app, AuthMethod::ClientSecretBasic, false).await;
    user(&app, "seoyeon").await;

    let code = code_for(&app, &c, "seoyeon", &[]).await;
    let stolen = redeem(&app, &other, &code).await;
    assert_eq!(
        (stolen.status, stolen.json["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let code = code_for(&app, &c, "seoyeon", &[]).await;
    let moved = token(
        &app,
        &c,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://app.example.com/cb?tenant=a"),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(
        (moved.status, moved.json["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let garbage = redeem(&app, &c, "not-a-code").await;
    assert_eq!(garbage.json["error"], "invalid_grant");
    app.stop().await;
}

async fn pkce_rules(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = client(&app, AuthMethod::ClientSecretBasic, false).await;
    let public = client(&app, AuthMethod::None, false).await;
    user(&app, "hana").await;

    let code = code_for(&app, &c, "hana", &[]).await;
    let missing = token(
        &app,
        &c,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_eq!(missing.json["error"], "invalid_grant", "missing verifier");

    let code = code_for(&app, &c, "hana", &[]).await;
    let wrong = token(
        &app,
        &c,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            (
                "code_verifier",
                "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK",
            ),
        ],
    )
    .await;
    assert_eq!(wrong.json["error"], "invalid_grant", "wrong verifier");

    let browser = Browser::new(&app);
    for (label, extra) in [
        ("plain", vec![("code_challenge_method", "plain")]),
        (
            "public without PKCE",
            vec![("code_challenge", ""), ("code_challenge_method", "")],
        ),
    ] {
        let response = browser.get(&auth_url(&public.id, &extra)).await;
        assert_eq!(response.status(), 303, "{label}");
        let q = query(&location(&response));
        assert_eq!(
            q.get("error").map(String::as_str),
            Some("invalid_request"),
            "{label}"
        );
        assert_eq!(q.get("state").map(String::as_str), Some("st-1"));
        assert_eq!(q.get("iss").map(String::as_str), Some(app.base.as_str()));
    }

    // A public client with PKCE: authenticates with client_id alone.
    let code = code_for(&app, &public, "hana", &[]).await;
    let ok = token(
        &app,
        &public,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &public.id),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.json);
    app.stop().await;
}

async fn wrong_client_secret_is_invalid_client(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = client(&app, AuthMethod::ClientSecretBasic, false).await;
    let wrong = Registered {
        id: c.id.clone(),
        secret: Some("x".repeat(43)),
    };
    let reply = token(
        &app,
        &wrong,
        &[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json["error"], "invalid_client");
    assert!(reply.headers.get("www-authenticate").is_some());
    let unknown = Registered {
        id: "nobody".into(),
        secret: Some("x".repeat(43)),
    };
    let reply = token(
        &app,
        &unknown,
        &[("grant_type", "authorization_code"), ("code", "x")],
    )
    .await;
    assert_eq!(
        (reply.status, reply.json["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // client_secret_post is not this client's registered method.
    let secret = c.secret.clone().unwrap_or_default();
    let as_post = Registered {
        id: c.id.clone(),
        secret: None,
    };
    let reply = token(
        &app,
        &as_post,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &c.id),
            ("client_secret", &secret),
            ("code", "x"),
        ],
    )
    .await;
    assert_eq!(reply.status, 401);
    app.stop().await;
}

async fn prompt_none_without_session_is_login_required(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = client(&app, AuthMethod::ClientSecretBasic, false).await;
    let response = Browser::new(&app)
        .get(&auth_url(&c.id, &[("prompt", "none")]))
        .await;
    assert_eq!(response.status(), 303);
    let back = location(&response);
    assert!(back.starts_with(REDIRECT), "{back}");
    let q = query(&back);
    assert_eq!(q.get("error").map(String::as_str), Some("login_required"));
    assert_eq!(q.get("state").map(String::as_str), Some("st-1"));
    assert_eq!(q.get("iss").map(String::as_str), Some(app.base.as_str()));
    app.stop().await;
}

async fn max_age_forces_a_new_login(db: TestDb) {
    let clock = Clock::fixed(1_800_000_000);
    let app = spawn_app_with_clock(&db, clock.clone()).await;
    let c = client(&app, AuthMethod::ClientSecretBasic, true).await;
    user(&app, "dohyun").await;
    let browser = Browser::new(&app);
    browser
        .sign_in(&auth_url(&c.id, &[]), "dohyun", PASSWORD)
        .await;

    // Still signed in: no page, straight back with a code.
    let again = browser.get(&auth_url(&c.id, &[("max_age", "60")])).await;
    assert!(
        location(&again).starts_with(REDIRECT),
        "{}",
        location(&again)
    );

    clock.advance(120);
    let stale = browser.get(&auth_url(&c.id, &[("max_age", "60")])).await;
    assert!(
        location(&stale).starts_with("/login"),
        "auth_time older than max_age: {}",
        location(&stale)
    );
    let none = browser
        .get(&auth_url(&c.id, &[("max_age", "60"), ("prompt", "none")]))
        .await;
    assert_eq!(
        query(&location(&none)).get("error").map(String::as_str),
        Some("login_required")
    );
    let login = browser.get(&auth_url(&c.id, &[("prompt", "login")])).await;
    assert!(
        location(&login).starts_with("/login"),
        "prompt=login always asks"
    );

    // Signing in again gives a new auth_time in the id_token.
    let back = browser
        .sign_in(&auth_url(&c.id, &[("prompt", "login")]), "dohyun", PASSWORD)
        .await;
    let code = query(&back).get("code").cloned().unwrap_or_default();
    let reply = redeem(&app, &c, &code).await;
    let id_token = reply.json["id_token"].as_str().unwrap_or_default();
    let payload = id_token.split('.').nth(1).unwrap_or_default();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    assert_eq!(claims["auth_time"], 1_800_000_120i64);
    assert_eq!(claims["nonce"], "n-1");
    app.stop().await;
}

async fn tampered_and_unsigned_tokens_fail_at_userinfo(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = client(&app, AuthMethod::ClientSecretBasic, false).await;
    user(&app, "yuna").await;
    let code = code_for(&app, &c, "yuna", &[]).await;
    let access = redeem(&app, &c, &code).await.json["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let b64 = |v: &serde_json::Value| {
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            v.to_string(),
        )
    };
    let parts: Vec<&str> = access.split('.').collect();
    let mut claims: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, parts[1])
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    claims["sub"] = "someone-else".into();
    let tampered = format!("{}.{}.{}", parts[0], b64(&claims), parts[2]);
    let none = format!(
        "{}.{}.",
        b64(&serde_json::json!({"alg": "none", "typ": "at+jwt"})),
        b64(&claims)
    );
    for (label, bad) in [
        ("tampered", tampered.as_str()),
        ("alg none", none.as_str()),
        ("garbage", "abc"),
    ] {
        let Ok(r) = app
            .http
            .get(app.url("/userinfo"))
            .bearer_auth(bad)
            .send()
            .await
        else {
            panic!()
        };
        assert_eq!(r.status(), 401, "{label}");
        let challenge = r
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            challenge.starts_with("Bearer") && challenge.contains("invalid_token"),
            "{label}: {challenge}"
        );
    }
    let Ok(r) = app.http.get(app.url("/userinfo")).send().await else {
        panic!()
    };
    assert_eq!(r.status(), 401, "no token");
    // POST with the token in the form body works too (RFC 6750 §2.2).
    let Ok(r) = app
        .http
        .post(app.url("/userinfo"))
        .form(&[("access_token", access.as_str())])
        .send()
        .await
    else {
        panic!()
    };
    assert_eq!(r.status(), 200);
    app.stop().await;
}

async fn login_without_csrf_token_is_refused(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = client(&app, AuthMethod::ClientSecretBasic, false).await;
    user(&app, "sumin").await;
    let browser = Browser::new(&app);
    let page = browser
        .follow(browser.get(&auth_url(&c.id, &[])).await)
        .await;
    let html = page.text().await.unwrap_or_default();
    let request = crate::common::browser::hidden(&html, "request");
    for csrf in ["", "forged"] {
        let r = browser
            .post(
                "/login",
                &[
                    ("csrf", csrf),
                    ("request", &request),
                    ("username", "sumin"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(r.status(), 403, "csrf {csrf:?}");
    }
    // Not signed in: prompt=none still needs a login.
    let none = browser.get(&auth_url(&c.id, &[("prompt", "none")])).await;
    assert_eq!(
        query(&location(&none)).get("error").map(String::as_str),
        Some("login_required")
    );
    app.stop().await;
}

async fn unknown_user_and_wrong_password_look_the_same(db: TestDb) {
    let app = spawn_app(&db).await;
    user(&app, "jiwoo").await;
    let attempt = |username: &'static str, password: &'static str| {
        let browser = Browser::new(&app);
        async move {
            let page = browser.get("/login").await;
            let html = page.text().await.unwrap_or_default();
            let csrf = crate::common::browser::hidden(&html, "csrf");
            let started = std::time::Instant::now();
            let r = browser
                .post(
                    "/login",
                    &[
                        ("csrf", &csrf),
                        ("request", ""),
                        ("username", username),
                        ("password", password),
                    ],
                )
                .await;
            let status = r.status().as_u16();
            let body = r.text().await.unwrap_or_default().replace(&csrf, "CSRF");
            (status, body, started.elapsed())
        }
    };
    let (s1, b1, t1) = attempt("jiwoo", "wrong password!").await;
    let (s2, b2, t2) = attempt("nobody-here", "wrong password!").await;
    assert_eq!(s1, s2);
    assert_eq!(
        b1.replace("jiwoo", "USER"),
        b2.replace("nobody-here", "USER"),
        "identical pages"
    );
    eprintln!("wrong password {t1:?}, unknown user {t2:?}");
    // Both ran argon2: neither answers in a fraction of the other's time.
    assert!(
        t2 * 4 > t1 && t1 * 4 > t2,
        "similar timing: {t1:?} vs {t2:?}"
    );
    app.stop().await;
}

async fn consent_denied_and_remembered(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = client(&app, AuthMethod::ClientSecretBasic, false).await;
    user(&app, "eunji").await;
    let browser = Browser::new(&app);
    let page = browser
        .follow(browser.get(&auth_url(&c.id, &[])).await)
        .await;
    let consent_page = browser
        .follow(browser.login(page, "eunji", PASSWORD).await)
        .await;
    let denied = browser.consent(consent_page, "deny").await;
    let q = query(&location(&denied));
    assert_eq!(q.get("error").map(String::as_str), Some("access_denied"));
    assert_eq!(q.get("iss").map(String::as_str), Some(app.base.as_str()));

    let consent_page = browser
        .follow(browser.get(&auth_url(&c.id, &[])).await)
        .await;
    let allowed = browser.consent(consent_page, "allow").await;
    assert!(query(&location(&allowed)).contains_key("code"));
    // Remembered: the next request goes straight back, even with prompt=none.
    let again = browser.get(&auth_url(&c.id, &[("prompt", "none")])).await;
    assert!(
        query(&location(&again)).contains_key("code"),
        "{}",
        location(&again)
    );
    // A wider request asks again.
    let wider = browser
        .get(&auth_url(
            &c.id,
            &[
                ("scope", "openid profile email offline_access"),
                ("prompt", "none"),
            ],
        ))
        .await;
    assert_eq!(
        query(&location(&wider)).get("error").map(String::as_str),
        Some("consent_required")
    );
    app.stop().await;
}

async fn racing_redemptions_have_one_winner(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = client(&app, AuthMethod::ClientSecretBasic, true).await;
    user(&app, "taeyang").await;
    let browser = Browser::new(&app);
    browser
        .sign_in(&auth_url(&c.id, &[]), "taeyang", PASSWORD)
        .await;
    // RFC 6749 §4.1.2 single use under contention: 200 trials on PostgreSQL, 50 on SQLite.
    let trials = if db.backend == crate::common::Backend::Postgres {
        200
    } else {
        50
    };
    for trial in 0..trials {
        let back = browser.get(&auth_url(&c.id, &[])).await;
        let code = query(&location(&back))
            .get("code")
            .cloned()
            .unwrap_or_default();
        let (a, b) = tokio::join!(redeem(&app, &c, &code), redeem(&app, &c, &code));
        let wins = [a.status, b.status].iter().filter(|s| **s == 200).count();
        assert_eq!(wins, 1, "trial {trial}: {} / {}", a.json, b.json);
    }
    app.stop().await;
}
