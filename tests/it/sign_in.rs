//! Sign in with munjigi, end to end: the `openidconnect` crate as relying party, and the rules
//! of RFC 6749, RFC 7636, RFC 9700 and OIDC Core checked one by one.

use munjigi::oauth::client::AuthMethod;
use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{
    AccessTokenHash, AuthorizationCode, CsrfToken, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    Scope, TokenResponse,
};

use crate::common::browser::{Browser, location, query};
use crate::common::fixtures::{PASSWORD, REDIRECT, Registered, VERIFIER, auth_url};
use crate::common::{TestDb, rp, spawn_app};
use crate::on_both_backends;

on_both_backends!(
    openidconnect_rp_signs_in_end_to_end,
    unregistered_redirect_uris_are_never_followed,
    code_is_single_use_and_replay_revokes_its_tokens,
    code_is_bound_to_client_and_redirect_uri,
    pkce_rules,
    wrong_client_secret_is_invalid_client,
    tampered_and_unsigned_tokens_fail_at_userinfo,
    racing_redemptions_have_one_winner,
    an_older_password_hash_is_upgraded_at_sign_in,
);

async fn openidconnect_rp_signs_in_end_to_end(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = app.client(AuthMethod::ClientSecretBasic, false).await;
    let user_id = app.user("minji").await;
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

    let request = rp
        .exchange_code(AuthorizationCode::new(code))
        .unwrap_or_else(|e| panic!("token endpoint not configured: {e}"));
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
    let c = app.client(AuthMethod::ClientSecretBasic, false).await;
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
    let c = app.client(AuthMethod::ClientSecretBasic, false).await;
    app.user("jiho").await;
    let code = app.code_for(&c, "jiho", &[]).await;
    let first = app.redeem(&c, &code).await;
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

    let replay = app.redeem(&c, &code).await;
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
    let c = app.client(AuthMethod::ClientSecretBasic, false).await;
    let other = app.client(AuthMethod::ClientSecretBasic, false).await;
    app.user("seoyeon").await;

    let code = app.code_for(&c, "seoyeon", &[]).await;
    let stolen = app.redeem(&other, &code).await;
    assert_eq!(
        (stolen.status, stolen.json["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let code = app.code_for(&c, "seoyeon", &[]).await;
    let moved = app
        .token(
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

    let garbage = app.redeem(&c, "not-a-code").await;
    assert_eq!(garbage.json["error"], "invalid_grant");
    app.stop().await;
}

async fn pkce_rules(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = app.client(AuthMethod::ClientSecretBasic, false).await;
    let public = app.client(AuthMethod::None, false).await;
    app.user("hana").await;

    let code = app.code_for(&c, "hana", &[]).await;
    let missing = app
        .token(
            &c,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await;
    assert_eq!(missing.json["error"], "invalid_grant", "missing verifier");

    let code = app.code_for(&c, "hana", &[]).await;
    let wrong = app
        .token(
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
    let code = app.code_for(&public, "hana", &[]).await;
    let ok = app
        .token(
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
    let c = app.client(AuthMethod::ClientSecretBasic, false).await;
    let wrong = Registered {
        id: c.id.clone(),
        secret: Some("x".repeat(43)),
    };
    let reply = app
        .token(
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
    let reply = app
        .token(
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
    let reply = app
        .token(
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

async fn tampered_and_unsigned_tokens_fail_at_userinfo(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = app.client(AuthMethod::ClientSecretBasic, false).await;
    app.user("yuna").await;
    let code = app.code_for(&c, "yuna", &[]).await;
    let access = app.redeem(&c, &code).await.json["access_token"]
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

async fn racing_redemptions_have_one_winner(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    app.user("taeyang").await;
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
        let (a, b) = tokio::join!(app.redeem(&c, &code), app.redeem(&c, &code));
        let wins = [a.status, b.status].iter().filter(|s| **s == 200).count();
        assert_eq!(wins, 1, "trial {trial}: {} / {}", a.json, b.json);
    }
    app.stop().await;
}

async fn an_older_password_hash_is_upgraded_at_sign_in(db: TestDb) {
    use argon2::PasswordHasher;
    let app = spawn_app(&db).await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let id = app.user("dahye").await;
    // A hash with the crate's default parameters, as an earlier version stored it.
    let older = argon2::Argon2::default()
        .hash_password(PASSWORD.as_bytes())
        .map(|h| h.to_string())
        .unwrap_or_default();
    assert!(older.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert!(matches!(
        app.store
            .set_password_hash(&id, &older, app.clock.now())
            .await,
        Ok(true)
    ));

    let code = app.code_for(&c, "dahye", &[]).await;
    assert_eq!(app.redeem(&c, &code).await.status, 200);
    let stored = app
        .store
        .user(&id)
        .await
        .ok()
        .flatten()
        .and_then(|u| u.password_hash)
        .unwrap_or_default();
    assert!(
        stored.starts_with("$argon2id$v=19$m=12288,t=3,p=1$"),
        "upgraded: {stored}"
    );
    // And the upgraded hash still takes the same password.
    let code = app.code_for(&c, "dahye", &[]).await;
    assert_eq!(app.redeem(&c, &code).await.status, 200);
    app.stop().await;
}
