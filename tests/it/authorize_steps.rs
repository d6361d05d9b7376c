//! The steps of an authorization request in the browser: sign-in, consent, and the demands a
//! relying party makes (`prompt`, `max_age`, `id_token_hint`), which no page may skip.

use munjigi::clock::Clock;
use munjigi::oauth::client::AuthMethod;

use crate::common::browser::{Browser, hidden, location, query};
use crate::common::fixtures::{PASSWORD, REDIRECT, Registered, auth_url, jwt_claims};
use crate::common::{TestApp, TestDb, spawn_app, spawn_app_with_clock};
use crate::on_both_backends;

on_both_backends!(
    prompt_none_without_session_is_login_required,
    max_age_forces_a_new_login,
    login_without_csrf_token_is_refused,
    unknown_user_and_wrong_password_look_the_same,
    consent_denied_and_remembered,
    prompt_login_cannot_be_skipped_through_consent,
    max_age_zero_cannot_be_skipped_through_consent,
    foreign_id_token_hint_cannot_be_skipped_through_consent,
);

const T0: i64 = 1_800_000_000;

/// How a request that demands a fresh sign-in is tried from a live session.
enum Forced<'a> {
    PromptLogin,
    MaxAgeZero,
    HintFor(&'a str),
}

/// With `minji` signed in (and her consent remembered), a request that forces a fresh
/// sign-in is parked at the login step. Consent, shown or answered, must not get past it: no
/// code until the login for this request has happened, and then with the new `auth_time`.
async fn forced_sign_in_holds(app: &TestApp, clock: &Clock, c: &Registered, forced: Forced<'_>) {
    let browser = Browser::new(app);
    let first = browser
        .sign_in(&auth_url(&c.id, &[]), "minji", PASSWORD)
        .await;
    assert!(query(&first).contains_key("code"), "first sign-in: {first}");
    clock.advance(5);

    let (extra, who) = match &forced {
        Forced::PromptLogin => (vec![("prompt", "login")], "minji"),
        Forced::MaxAgeZero => (vec![("max_age", "0")], "minji"),
        Forced::HintFor(hint) => (vec![("id_token_hint", *hint)], "jiho"),
    };
    let parked = browser.get(&auth_url(&c.id, &extra)).await;
    let to_login = location(&parked);
    assert!(
        to_login.starts_with("/login?request="),
        "parked at login: {to_login}"
    );
    let request = query(&format!("{}{to_login}", app.base))
        .get("request")
        .cloned()
        .expect("the pending request's id");

    // The consent page is not shown: the browser is sent back to the login step.
    let shown = browser.get(&format!("/consent?request={request}")).await;
    assert_eq!(shown.status(), 303, "no consent page while a login is due");
    let landed = browser.follow(shown).await;
    let html = landed.text().await.unwrap_or_default();
    assert!(html.contains("name=\"password\""), "back on the login page");
    assert!(!html.contains("name=\"decision\""));
    let csrf = hidden(&html, "csrf");

    // Answering consent anyway changes nothing.
    let answered = browser
        .post(
            "/consent",
            &[
                ("csrf", &csrf),
                ("request", &request),
                ("decision", "allow"),
            ],
        )
        .await;
    let after = location(&answered);
    assert!(
        !after.starts_with(REDIRECT),
        "no code through consent: {after}"
    );
    let landed = browser.follow(answered).await;
    assert!(
        landed.status().is_success(),
        "a page, not a redirect to the client"
    );
    let html = landed.text().await.unwrap_or_default();
    assert!(html.contains("name=\"password\""), "still the login page");
    assert_eq!(
        hidden(&html, "request"),
        request,
        "the same pending request"
    );

    // The login for this request lets it through, with the new auth_time.
    clock.advance(5);
    let page = browser.get(&format!("/login?request={request}")).await;
    let after_login = browser
        .follow(browser.login(page, who, PASSWORD).await)
        .await;
    let back = if after_login.status().is_redirection() {
        after_login
    } else {
        browser
            .follow(browser.consent(after_login, "allow").await)
            .await
    };
    let back = location(&back);
    let code = query(&back)
        .get("code")
        .cloned()
        .unwrap_or_else(|| panic!("a code now: {back}"));
    let reply = app.redeem(c, &code).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    let claims = jwt_claims(reply.json["id_token"].as_str().unwrap_or_default());
    assert_eq!(claims["auth_time"], T0 + 10, "the fresh sign-in's time");
    let expected_sub = app
        .store
        .user_by_login(who)
        .await
        .ok()
        .flatten()
        .map(|u| u.id);
    assert_eq!(claims["sub"].as_str(), expected_sub.as_deref());
}

async fn forced_app(db: &TestDb) -> (TestApp, Clock, Registered) {
    let clock = Clock::fixed(T0);
    let app = spawn_app_with_clock(db, clock.clone()).await;
    let c = app.client(AuthMethod::ClientSecretBasic, false).await;
    app.user("minji").await;
    app.user("jiho").await;
    (app, clock, c)
}

async fn prompt_login_cannot_be_skipped_through_consent(db: TestDb) {
    let (app, clock, c) = forced_app(&db).await;
    forced_sign_in_holds(&app, &clock, &c, Forced::PromptLogin).await;
    app.stop().await;
}

async fn max_age_zero_cannot_be_skipped_through_consent(db: TestDb) {
    let (app, clock, c) = forced_app(&db).await;
    forced_sign_in_holds(&app, &clock, &c, Forced::MaxAgeZero).await;
    app.stop().await;
}

async fn foreign_id_token_hint_cannot_be_skipped_through_consent(db: TestDb) {
    let (app, clock, c) = forced_app(&db).await;
    // jiho's id_token, from his own browser.
    let code = app.code_for(&c, "jiho", &[]).await;
    let reply = app.redeem(&c, &code).await;
    let hint = reply.json["id_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    forced_sign_in_holds(&app, &clock, &c, Forced::HintFor(&hint)).await;
    app.stop().await;
}

async fn prompt_none_without_session_is_login_required(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = app.client(AuthMethod::ClientSecretBasic, false).await;
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
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    app.user("dohyun").await;
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
    let reply = app.redeem(&c, &code).await;
    let claims = jwt_claims(reply.json["id_token"].as_str().unwrap_or_default());
    assert_eq!(claims["auth_time"], 1_800_000_120i64);
    assert_eq!(claims["nonce"], "n-1");
    app.stop().await;
}

async fn login_without_csrf_token_is_refused(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = app.client(AuthMethod::ClientSecretBasic, false).await;
    app.user("sumin").await;
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
    app.user("jiwoo").await;
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
    let c = app.client(AuthMethod::ClientSecretBasic, false).await;
    app.user("eunji").await;
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
