//! Passkeys in a real browser: headless Chromium with the WebDriver virtual authenticator
//! (CTAP2, resident keys, user verification). A passkey is registered on the account page,
//! then signs in on its own and as the second step after a password, in Korean and English.
//! Screenshots of the account page and the second-step page land in `target/screenshots/`.

use munjigi::oauth::client::AuthMethod;
use serde_json::json;

use crate::common::browser::query;
use crate::common::fixtures::{PASSWORD, REDIRECT, auth_url, jwt_claims};
use crate::common::smtp::SmtpSink;
use crate::common::webdriver::{Driver, Session, browser_available, screenshots_dir};
use crate::common::{Backend, TestApp, TestDb, spawn_app_on_localhost_tweaked};
use crate::on_both_backends;

on_both_backends!(passkeys_register_then_sign_in_alone_and_as_second_step);

/// A platform authenticator that keeps passkeys and verifies its user (as a fingerprint
/// reader would), answering without a person.
async fn add_authenticator(browser: &Session<'_>) {
    let answer = browser
        .call(
            reqwest::Method::POST,
            "/webauthn/authenticator",
            Some(json!({
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": true,
                "hasUserVerification": true,
                "isUserConsenting": true,
                "isUserVerified": true,
            })),
        )
        .await;
    assert!(answer.as_str().is_some(), "an authenticator id: {answer}");
}

async fn password_sign_in(browser: &Session<'_>, app: &TestApp, url: &str, username: &str) {
    browser.goto(&app.url(url)).await;
    browser.type_into("#username", username).await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("button[type=submit]").await;
}

/// Scrolls the element with `id` to the top of the window (for the screenshot).
async fn scroll_to(browser: &Session<'_>, id: &str) {
    browser
        .call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": "document.getElementById(arguments[0]).scrollIntoView();", "args": [id] })),
        )
        .await;
}

/// Waits (up to 5 s) until the script has shown the button with `id` and it can be pressed.
pub(crate) async fn wait_until_shown(browser: &Session<'_>, id: &str) {
    for _ in 0..50 {
        let ready = browser
            .call(
                reqwest::Method::POST,
                "/execute/sync",
                Some(json!({
                    "script": "var b = document.getElementById(arguments[0]); return !!b && !b.hidden && !b.disabled;",
                    "args": [id],
                })),
            )
            .await;
        if ready == serde_json::Value::Bool(true) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("#{id} never became usable");
}

/// Signs the browser out by forgetting munjigi's cookies (WebDriver deletes the cookies of
/// the page it is on: go to munjigi first).
async fn forget_cookies(browser: &Session<'_>, app: &TestApp) {
    browser.goto(&app.url("/healthz")).await;
    browser.call(reqwest::Method::DELETE, "/cookie", None).await;
}

async fn code_from(
    app: &TestApp,
    c: &crate::common::fixtures::Registered,
    url: &str,
) -> serde_json::Value {
    assert!(url.starts_with(REDIRECT), "back at the client: {url}");
    let tokens = app.redeem(c, &query(url)["code"]).await;
    jwt_claims(tokens.json["id_token"].as_str().unwrap_or_default())
}

async fn passkeys_register_then_sign_in_alone_and_as_second_step(db: TestDb) {
    if !browser_available() {
        return;
    }
    let backend = match db.backend {
        Backend::Postgres => "postgres",
        Backend::Sqlite => "sqlite",
    };
    let sink = SmtpSink::start().await;
    let smtp = sink.url.clone();
    let app = spawn_app_on_localhost_tweaked(&db, move |b| {
        b.smtp(smtp, "munjigi <no-reply@example.com>")
    })
    .await;
    assert!(app.base.starts_with("http://localhost:"));
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let driver = Driver::start().await;
    let shots = screenshots_dir();

    for (lang, browser_lang, username, account_title) in [
        ("en", "en", "alice", "Your account"),
        ("ko", "ko-KR", "minji", "내 계정"),
    ] {
        let user_id = app.user(username).await;
        let browser = driver
            .session(
                &db.dir().join(format!("chromium-passkeys-{lang}")),
                browser_lang,
            )
            .await;
        add_authenticator(&browser).await;

        // Register: signed in with the password, on the account page.
        password_sign_in(&browser, &app, "/login", username).await;
        // Signed in once at home (the login page's own address starts with the root too).
        let home = browser.wait_for_exact_url(&app.url("/")).await;
        assert_eq!(home, app.url("/"), "{lang}: signed in with the password");
        browser.goto(&app.url("/account")).await;
        let html = browser.source().await;
        assert!(
            html.contains(account_title),
            "{lang}: at {}: {html}",
            browser.url().await
        );
        browser.type_into("#passkey-name", "Laptop").await;
        // A passkey is a new way in: a signed-in browser alone cannot add one.
        wait_until_shown(&browser, "passkey-add").await;
        browser.click("#passkey-add").await;
        let mut html = String::new();
        for _ in 0..50 {
            html = browser.source().await;
            if html.contains("data-reason=") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(
            html.contains("data-reason=\"wrong_password\""),
            "{lang}: refused without the password: {html}"
        );
        assert!(
            app.store
                .passkeys_of(&user_id)
                .await
                .expect("passkeys")
                .is_empty()
        );
        browser.type_into("#passkey-password", PASSWORD).await;
        wait_until_shown(&browser, "passkey-add").await;
        browser.click("#passkey-add").await;
        // The first second factor: its recovery codes first (passkey_safety.rs has more).
        let at = browser
            .wait_for_url(&app.url("/account/2fa/recovery/codes"))
            .await;
        assert!(
            at.starts_with(&app.url("/account/2fa/recovery/codes")),
            "{lang}: at {at}: {}",
            browser.source().await
        );
        browser.goto(&app.url("/account")).await;
        let html = browser.source().await;
        assert!(html.contains("Laptop"), "{lang}: the passkey is listed");
        scroll_to(&browser, "passkeys-heading").await;
        browser
            .screenshot(&shots.join(format!("{backend}-{lang}-account-passkeys.png")))
            .await;
        let stored = app.store.passkeys_of(&user_id).await.expect("passkeys");
        assert_eq!(stored.len(), 1);
        let told = sink.next().await;
        assert_eq!(told.to, format!("{username}@example.com"));
        assert!(
            told.body.contains("Laptop") && told.body.contains(&app.url("/account")),
            "{lang}: the address is told: {}",
            told.body
        );

        // On its own: no username, no password.
        forget_cookies(&browser, &app).await;
        browser.goto(&app.url(&auth_url(&c.id, &[]))).await;
        browser.click("#passkey-sign-in").await;
        let back = browser.wait_for_url(REDIRECT).await;
        if !back.starts_with(REDIRECT) {
            let logs = browser
                .call(
                    reqwest::Method::POST,
                    "/se/log",
                    Some(json!({"type": "browser"})),
                )
                .await;
            panic!("{lang}: {back}: {logs}\n{}", browser.source().await);
        }
        let claims = code_from(&app, &c, &back).await;
        assert_eq!(claims["sub"], user_id.as_str(), "{lang}");
        let amr = claims["amr"].as_array().cloned().unwrap_or_default();
        assert!(
            amr.contains(&"mfa".into()) && amr.contains(&"user".into()),
            "{claims}"
        );
        assert!(
            amr.contains(&"hwk".into()) || amr.contains(&"swk".into()),
            "{claims}"
        );
        assert_eq!(claims["acr"], "urn:munjigi:acr:2fa");

        // As the second step: a password alone no longer signs this account in.
        forget_cookies(&browser, &app).await;
        password_sign_in(&browser, &app, &auth_url(&c.id, &[]), username).await;
        let second = browser.wait_for_url(&app.url("/login/second-factor")).await;
        assert!(
            second.starts_with(&app.url("/login/second-factor")),
            "{lang}: at {second}"
        );
        browser.find("#passkey-second-factor").await;
        let html = browser.source().await;
        assert!(
            html.contains("name=\"code\""),
            "{lang}: no authenticator app, but recovery codes: a code field"
        );
        browser
            .screenshot(&shots.join(format!("{backend}-{lang}-second-factor.png")))
            .await;
        browser.click("#passkey-second-factor").await;
        let back = browser.wait_for_url(REDIRECT).await;
        let claims = code_from(&app, &c, &back).await;
        let amr = claims["amr"].as_array().cloned().unwrap_or_default();
        assert_eq!(amr.first(), Some(&"pwd".into()), "{claims}");
        assert!(amr.contains(&"mfa".into()), "{claims}");
        let used = app.store.passkeys_of(&user_id).await.expect("passkeys");
        assert!(used[0].last_used_at.is_some(), "last use recorded");
        browser.close().await;
    }
}
