//! Hostile input and protocol strictness, one finding per test: never a 5xx for a request's
//! own fault, and RFC 6749 / OIDC rules held.

use super::*;

crate::on_both_backends!(
    signup_refuses_guessable_passwords_case_variants_and_long_names,
    nul_and_control_characters_are_refused_with_4xx_never_5xx,
    a_crlf_in_the_consent_form_is_a_page_not_a_500,
    two_client_authentication_methods_are_refused,
    a_bad_id_token_hint_is_refused_not_ignored,
    an_overlong_state_is_refused_not_dropped,
    error_descriptions_keep_to_the_rfc_characters,
    public_clients_cannot_introspect,
);

async fn signup_refuses_guessable_passwords_case_variants_and_long_names(db: TestDb) {
    let app = spawn_app(&db).await;
    app.user("alice").await;
    let browser = Browser::new(&app);
    let html = browser
        .get("/signup")
        .await
        .text()
        .await
        .unwrap_or_default();
    let csrf = hidden(&html, "csrf");
    for guessable in ["password", "12345678", "1q2w3e4r", "bobby-bobby-1"] {
        let (status, body) =
            signup(&browser, &csrf, "bobby", "bobby@example.com", "", guessable).await;
        assert_eq!(status, 422, "{guessable}");
        assert!(body.contains("too common"), "{guessable}: {body}");
    }
    let (status, _) = signup(
        &browser,
        &csrf,
        "Alice",
        "other@example.com",
        "",
        "a fine long passphrase",
    )
    .await;
    assert_eq!(status, 422, "Alice is alice");
    let long = "가".repeat(101);
    let (status, body) = signup(
        &browser,
        &csrf,
        "carol",
        "carol@example.com",
        &long,
        "a fine long passphrase",
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("100"), "{body}");
    let (status, _) = signup(
        &browser,
        &csrf,
        "carol",
        "carol@example.com",
        "Carol",
        "a fine long passphrase",
    )
    .await;
    assert_eq!(status, 303, "a good signup still works");
    app.stop().await;
}

async fn nul_and_control_characters_are_refused_with_4xx_never_5xx(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = app
        .client(munjigi::oauth::client::AuthMethod::ClientSecretBasic, true)
        .await;
    let cases: Vec<(&str, Vec<u8>, Option<String>)> = vec![
        (
            "/token",
            b"grant_type=client_credentials&client_id=a%00b".to_vec(),
            None,
        ),
        (
            "/token",
            b"grant_type=client_credentials&client_id=a\x00b\xff".to_vec(),
            None,
        ),
        (
            "/token",
            b"grant_type=client_credentials".to_vec(),
            Some("a\0b:secret".into()),
        ),
        (
            "/introspect",
            b"token=x%00y".to_vec(),
            Some(format!("{}:{}", c.id, c.secret.clone().unwrap_or_default())),
        ),
        (
            "/revoke",
            b"token=x\x00y".to_vec(),
            Some(format!("{}:{}", c.id, c.secret.clone().unwrap_or_default())),
        ),
    ];
    for (path, body, basic) in cases {
        let (status, text) = raw_post(&app, path, body.clone(), basic.as_deref()).await;
        assert!(
            (400..500).contains(&status),
            "{path} {body:?}: {status} {text}"
        );
    }
    let browser = Browser::new(&app);
    for url in [
        "/authorize?client_id=a%00b&response_type=code".to_owned(),
        crate::common::fixtures::auth_url(&c.id, &[("login_hint", "a\u{0}b")]),
        crate::common::fixtures::auth_url(&c.id, &[("state", "a\r\nb")]),
    ] {
        let r = browser.get(&url).await;
        assert!(r.status().as_u16() < 500, "{url}: {}", r.status());
    }
    let (login_browser, csrf) = login_form(&app).await;
    let r = login_browser
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("request", ""),
                ("username", "a\0b"),
                ("password", "whatever pw"),
            ],
        )
        .await;
    assert_eq!(r.status(), 401, "a NUL in a username is a wrong username");
    app.stop().await;
}

async fn a_crlf_in_the_consent_form_is_a_page_not_a_500(db: TestDb) {
    let app = spawn_app(&db).await;
    let (browser, csrf) = login_form(&app).await;
    for request in ["a\r\nLocation: https://evil.example", "%0d%0a", "\0"] {
        let r = browser
            .post(
                "/consent",
                &[("csrf", &csrf), ("request", request), ("decision", "allow")],
            )
            .await;
        assert_eq!(r.status(), 400, "{request:?}");
        assert!(r.headers().get("location").is_none());
        assert!(
            r.text().await.unwrap_or_default().contains("<html"),
            "a page"
        );
    }
    app.stop().await;
}

async fn two_client_authentication_methods_are_refused(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = app
        .client(munjigi::oauth::client::AuthMethod::ClientSecretBasic, true)
        .await;
    let basic = format!("{}:{}", c.id, c.secret.clone().unwrap_or_default());
    let assertion = b"grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=eyJ.eyJ.sig".to_vec();
    let (status, body) = raw_post(&app, "/token", assertion.clone(), Some(&basic)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("invalid_request"), "{body}");
    let (status, body) = raw_post(&app, "/token", assertion, None).await;
    assert_eq!(status, 401, "assertions are not a method here: {body}");
    let both = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        c.id,
        c.secret.clone().unwrap_or_default()
    );
    let (status, body) = raw_post(&app, "/token", both.into_bytes(), Some(&basic)).await;
    assert_eq!(status, 400, "Basic and a body secret: {body}");
    app.stop().await;
}

async fn a_bad_id_token_hint_is_refused_not_ignored(db: TestDb) {
    use crate::common::browser::{location, query};
    use crate::common::fixtures::auth_url;
    let app = spawn_app(&db).await;
    let c = app
        .client(munjigi::oauth::client::AuthMethod::ClientSecretBasic, true)
        .await;
    app.user("hinted").await;
    let code = app
        .code_for(&c, "hinted", &[("scope", "openid profile offline_access")])
        .await;
    let tokens = app.redeem(&c, &code).await.json;
    let id_token = tokens["id_token"].as_str().unwrap_or_default().to_owned();
    let access_token = tokens["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut tampered = id_token.clone();
    tampered.pop();
    tampered.push(if id_token.ends_with('A') { 'B' } else { 'A' });
    let parts: Vec<&str> = id_token.split('.').collect();
    let none = format!(
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
        parts.get(1).copied().unwrap_or_default()
    );
    let browser = Browser::new(&app);
    for (label, hint) in [
        ("tampered", tampered.as_str()),
        ("alg none", none.as_str()),
        ("an access token", access_token.as_str()),
        ("garbage", "abc"),
    ] {
        let r = browser
            .get(&auth_url(&c.id, &[("id_token_hint", hint)]))
            .await;
        let to = location(&r);
        assert_eq!(
            query(&to).get("error").map(String::as_str),
            Some("invalid_request"),
            "{label}: {to}"
        );
    }
    // The real one is fine (nobody is signed in here: to the login page).
    let r = browser
        .get(&auth_url(&c.id, &[("id_token_hint", &id_token)]))
        .await;
    assert!(location(&r).starts_with("/login"), "{}", location(&r));
    app.stop().await;
}

async fn an_overlong_state_is_refused_not_dropped(db: TestDb) {
    use crate::common::browser::{location, query};
    let app = spawn_app(&db).await;
    let c = app
        .client(munjigi::oauth::client::AuthMethod::ClientSecretBasic, true)
        .await;
    let state = "s".repeat(5000);
    let r = Browser::new(&app)
        .get(&crate::common::fixtures::auth_url(
            &c.id,
            &[("state", &state)],
        ))
        .await;
    let to = location(&r);
    let q = query(&to);
    assert_eq!(
        q.get("error").map(String::as_str),
        Some("invalid_request"),
        "{to}"
    );
    assert!(!q.contains_key("code"));
    app.stop().await;
}

async fn error_descriptions_keep_to_the_rfc_characters(db: TestDb) {
    use crate::common::browser::{location, query};
    let app = spawn_app(&db).await;
    let c = app
        .client(munjigi::oauth::client::AuthMethod::ClientSecretBasic, true)
        .await;
    let r = Browser::new(&app)
        .get(&crate::common::fixtures::auth_url(
            &c.id,
            &[("prompt", "é\"\\<x>")],
        ))
        .await;
    let description = query(&location(&r))
        .get("error_description")
        .cloned()
        .unwrap_or_default();
    assert!(!description.is_empty());
    assert!(
        description
            .chars()
            .all(|ch| matches!(ch, '\x20'..='\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')),
        "{description:?}"
    );
    app.stop().await;
}

async fn public_clients_cannot_introspect(db: TestDb) {
    let app = spawn_app(&db).await;
    let public = app
        .client(munjigi::oauth::client::AuthMethod::None, true)
        .await;
    let confidential = app
        .client(munjigi::oauth::client::AuthMethod::ClientSecretBasic, true)
        .await;
    app.user("seen").await;
    let code = app.code_for(&confidential, "seen", &[]).await;
    let access = app.redeem(&confidential, &code).await.json["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let reply = app
        .client_post(
            &public,
            "/introspect",
            &[("client_id", &public.id), ("token", &access)],
        )
        .await;
    assert_eq!(reply.status, 401, "{}", reply.json);
    assert!(reply.json.get("username").is_none());
    let reply = app
        .client_post(&confidential, "/introspect", &[("token", &access)])
        .await;
    assert_eq!(reply.json["active"], true);
    app.stop().await;
}
