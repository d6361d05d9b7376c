//! Passkey safety (issue 19, item 12): anonymous prompts and authorization requests store
//! nothing (or a bounded number of sessions); a first passkey brings recovery codes, the
//! account page says two-step sign-in is on and offers to end one-factor sessions; a cloned
//! passkey is refused, recorded with its account and reason, and mailed about; each failure
//! says what happened; a passkey counts as a way in when unlinking the last provider.

use std::time::{Duration, Instant};

use munjigi::oauth::client::AuthMethod;
use munjigi::store::{AuditQuery, IdentityRecord, PasskeyRecord};
use serde_json::json;

use crate::abuse::session_rows;
use crate::common::browser::{Browser, hidden, location};
use crate::common::fixtures::{PASSWORD, auth_url};
use crate::common::smtp::SmtpSink;
use crate::common::webdriver::{Driver, Session, browser_available};
use crate::common::{
    TestApp, TestDb, spawn_app, spawn_app_on_localhost, spawn_app_on_localhost_tweaked,
};
use crate::on_both_backends;

on_both_backends!(
    anonymous_prompts_and_requests_store_a_bounded_number_of_sessions,
    passkeys_bring_codes_offer_to_end_sessions_and_say_what_failed,
    an_authenticator_app_offers_to_end_one_factor_sessions,
    a_passkey_is_a_way_in_when_unlinking_the_last_provider
);

/// The CSRF cookie (`name=value`) and form token of a fresh login page, without a session.
async fn csrf_of_login_page(app: &TestApp, http: &reqwest::Client) -> (String, String) {
    let page = http
        .get(app.url("/login"))
        .send()
        .await
        .expect("login page");
    let cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("munjigi_csrf="))
        .and_then(|c| c.split(';').next())
        .expect("a CSRF cookie")
        .to_owned();
    let html = page.text().await.unwrap_or_default();
    (cookie, hidden(&html, "csrf"))
}

async fn anonymous_prompts_and_requests_store_a_bounded_number_of_sessions(db: TestDb) {
    let app = spawn_app_on_localhost(&db).await;
    // No cookie jar: each request is a stranger's (as a flood would be).
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let (cookie, csrf) = csrf_of_login_page(&app, &http).await;
    for _ in 0..50 {
        let r = http
            .post(app.url("/login/passkey/options"))
            .header("cookie", &cookie)
            .json(&json!({ "csrf": csrf, "purpose": "sign-in" }))
            .send()
            .await
            .expect("options");
        assert_eq!(r.status(), 200);
        let sealed = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|c| c.starts_with("munjigi_passkey=") && c.contains("SameSite=Strict"));
        assert!(sealed, "the prompt's state goes to the browser, sealed");
        let options: serde_json::Value = r.json().await.expect("options JSON");
        assert!(options["publicKey"]["challenge"].is_string(), "{options}");
    }
    assert_eq!(
        session_rows(&app).await,
        0,
        "an anonymous passkey prompt stores nothing"
    );

    // An answer without the sealed prompt: expired, said so (trying again helps).
    let r = http
        .post(app.url("/login/passkey"))
        .header("cookie", &cookie)
        .header("accept-language", "ko")
        .json(&json!({
            "csrf": csrf,
            "purpose": "sign-in",
            "credential": {
                "id": "AAAA", "rawId": "AAAA", "type": "public-key",
                "response": {"clientDataJSON": "AAAA", "authenticatorData": "AAAA", "signature": "AAAA", "userHandle": null},
                "extensions": {}
            }
        }))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.expect("JSON");
    assert_eq!(body["error"], "expired");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("다시 시도하세요"),
        "{body}"
    );

    // Cookieless authorization requests: each keeps its pending request in a session, but
    // one address keeps at most ANONYMOUS_PER_ADDRESS of them.
    let c = app.client(AuthMethod::ClientSecretBasic, false).await;
    let bound = munjigi::account::sessions::ANONYMOUS_PER_ADDRESS;
    for _ in 0..bound + 10 {
        let r = http
            .get(app.url(&auth_url(&c.id, &[])))
            .send()
            .await
            .expect("authorize");
        assert_eq!(r.status(), 303);
    }
    let rows = session_rows(&app).await;
    assert!(
        (1..=bound).contains(&rows),
        "{rows} anonymous sessions from one address (at most {bound})"
    );
    // The newest request still works: its pending request was kept.
    let browser = Browser::new(&app);
    let page = browser
        .follow(browser.get(&auth_url(&c.id, &[])).await)
        .await;
    let html = page.text().await.unwrap_or_default();
    assert!(html.contains("name=\"password\""), "{html}");
    app.stop().await;
}

/// A platform authenticator that keeps passkeys and verifies its user.
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

async fn forget_cookies(browser: &Session<'_>, app: &TestApp) {
    browser.goto(&app.url("/healthz")).await;
    browser.call(reqwest::Method::DELETE, "/cookie", None).await;
}

/// Waits up to ~10 s for the page to contain `text`.
async fn wait_for_text(browser: &Session<'_>, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let html = browser.source().await;
        if html.contains(text) || Instant::now() >= deadline {
            return html;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A password-only sign-in of `username` in a cookie-jar browser.
async fn password_session(app: &TestApp, username: &str) -> (Browser, reqwest::Response) {
    let browser = Browser::new(app);
    let page = browser.get("/login").await;
    let answer = browser.login(page, username, PASSWORD).await;
    (browser, answer)
}

struct Expect {
    lang: &'static str,
    browser_lang: &'static str,
    username: &'static str,
    cloned: &'static str,
    unknown: &'static str,
    mail_subject: &'static str,
}

async fn passkeys_bring_codes_offer_to_end_sessions_and_say_what_failed(db: TestDb) {
    if !browser_available() {
        return;
    }
    let sink = SmtpSink::start().await;
    let url = sink.url.clone();
    let app =
        spawn_app_on_localhost_tweaked(&db, move |b| b.smtp(url, "munjigi@example.com")).await;
    let driver = Driver::start().await;
    for expect in [
        Expect {
            lang: "en",
            browser_lang: "en",
            username: "alice",
            cloned: "may have been copied",
            unknown: "is not registered here",
            mail_subject: "possibly copied passkey",
        },
        Expect {
            lang: "ko",
            browser_lang: "ko-KR",
            username: "minji",
            cloned: "복제되었을 수 있는 패스키",
            unknown: "여기에 등록되어 있지 않습니다",
            mail_subject: "복제된 것으로 보이는 패스키",
        },
    ] {
        let lang = expect.lang;
        let username = expect.username;
        let user_id = app.user(username).await;
        // Another device, signed in with the password alone before any second factor.
        let (other, _) = password_session(&app, username).await;
        assert!(
            other.signed_in().await,
            "{lang}: the other device is signed in"
        );

        let browser = driver
            .session(
                &db.dir().join(format!("chromium-passkey-safety-{lang}")),
                expect.browser_lang,
            )
            .await;
        add_authenticator(&browser).await;
        browser.goto(&app.url("/login")).await;
        browser.type_into("#username", username).await;
        browser.type_into("#password", PASSWORD).await;
        browser.click("button[type=submit]").await;
        // Signed in once at home (the login page's own address starts with the root too).
        let home = browser.wait_for_exact_url(&app.url("/")).await;
        assert_eq!(home, app.url("/"), "{lang}: signed in with the password");
        browser.goto(&app.url("/account")).await;
        let html = browser.source().await;
        assert!(
            !html.contains("id=\"two-factor-passkey\""),
            "{lang}: no passkey yet"
        );
        assert!(
            !html.contains("id=\"one-factor-sessions\""),
            "{lang}: nothing to offer before a second factor"
        );

        // The first passkey is the first second factor: recovery codes, shown once.
        // A passkey is a new way in: the password says again who this is.
        browser.type_into("#passkey-name", "Laptop").await;
        browser.type_into("#passkey-password", PASSWORD).await;
        crate::passkeys::wait_until_shown(&browser, "passkey-add").await;
        browser.click("#passkey-add").await;
        let at = browser
            .wait_for_url(&app.url("/account/2fa/recovery/codes"))
            .await;
        assert!(
            at.starts_with(&app.url("/account/2fa/recovery/codes")),
            "{lang}: at {at}: {}",
            browser.source().await
        );
        let html = browser.source().await;
        let codes: Vec<String> = html
            .split("<li>")
            .skip(1)
            .filter_map(|li| {
                li.split_once("</li>")
                    .map(|(code, _)| code.trim().to_owned())
            })
            .filter(|code| code.len() == 11 && code.contains('-'))
            .collect();
        assert_eq!(codes.len(), 10, "{lang}: ten recovery codes: {html}");
        browser.goto(&app.url("/account/2fa/recovery/codes")).await;
        assert!(
            browser.url().await.starts_with(&app.url("/account")),
            "{lang}: shown once"
        );

        // The account page says a passkey turned two-step sign-in on, and offers to sign out
        // the device that signed in with one factor.
        browser.goto(&app.url("/account")).await;
        let html = browser.source().await;
        assert!(html.contains("id=\"two-factor-passkey\""), "{lang}: {html}");
        assert!(
            html.contains("id=\"one-factor-sessions\""),
            "{lang}: {html}"
        );
        browser
            .click("#one-factor-sessions button[type=submit]")
            .await;
        let at = browser
            .wait_for_url(&app.url("/account?done=session_ended"))
            .await;
        assert!(at.contains("done=session_ended"), "{lang}: at {at}");
        assert!(
            !other.signed_in().await,
            "{lang}: the one-factor device is signed out"
        );
        assert!(
            !browser
                .source()
                .await
                .contains("id=\"one-factor-sessions\""),
            "{lang}: nothing left to offer"
        );

        // A recovery code is the way back without the passkey.
        let (recovering, answer) = password_session(&app, username).await;
        let second = location(&answer);
        assert!(
            second.starts_with("/login/second-factor"),
            "{lang}: {second}"
        );
        let html = recovering
            .get(&second)
            .await
            .text()
            .await
            .unwrap_or_default();
        assert!(
            html.contains("name=\"code\""),
            "{lang}: a code field: {html}"
        );
        let done = recovering
            .post(
                "/login/second-factor",
                &[
                    ("csrf", &hidden(&html, "csrf")),
                    ("request", &hidden(&html, "request")),
                    ("code", &codes[0]),
                ],
            )
            .await;
        assert!(done.status().is_redirection(), "{lang}: {}", done.status());
        assert!(
            recovering.signed_in().await,
            "{lang}: signed in with a recovery code"
        );

        // Adding the passkey was told first (a new way in is never silent).
        let added = sink.next().await;
        assert_eq!(added.to, format!("{username}@example.com"));
        assert!(
            added.body.contains("Laptop") && !added.subject.contains(expect.mail_subject),
            "{lang}: {}",
            added.subject
        );

        // A clone: the stored counter is ahead of the authenticator's.
        let stored = app.store.passkeys_of(&user_id).await.expect("passkeys");
        assert_eq!(stored.len(), 1);
        let mut passkey: serde_json::Value =
            serde_json::from_str(&stored[0].passkey).expect("passkey JSON");
        passkey["cred"]["counter"] = json!(1_000_000);
        app.store
            .passkey_used(
                &stored[0].credential_id,
                &passkey.to_string(),
                app.clock.now(),
            )
            .await
            .expect("counter set");
        forget_cookies(&browser, &app).await;
        browser.goto(&app.url("/login")).await;
        browser.click("#passkey-sign-in").await;
        let html = wait_for_text(&browser, expect.cloned).await;
        assert!(html.contains(expect.cloned), "{lang}: {html}");
        let mail = sink.next().await;
        assert_eq!(mail.to, format!("{username}@example.com"));
        assert!(
            mail.subject.contains(expect.mail_subject),
            "{lang}: {}",
            mail.subject
        );
        assert!(mail.body.contains("Laptop"), "{lang}: {}", mail.body);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let events = app
                .store
                .recent_audit_events(&AuditQuery {
                    user_id: Some(user_id.clone()),
                    limit: 100,
                    ..AuditQuery::default()
                })
                .await
                .expect("audit");
            let named = events.iter().any(|e| {
                e.kind == "sign_in_failed"
                    && e.detail.contains("passkey_counter_not_increasing")
                    && e.detail.contains("Laptop")
            });
            if named {
                break;
            }
            assert!(Instant::now() < deadline, "{lang}: {events:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            !browser.url().await.contains("/account"),
            "{lang}: not signed in"
        );

        // A passkey this server no longer knows: trying again cannot help, and the page says so.
        assert!(
            app.store
                .delete_passkey(&user_id, &stored[0].credential_id)
                .await
                .expect("delete"),
        );
        browser.goto(&app.url("/login")).await;
        browser.click("#passkey-sign-in").await;
        let html = wait_for_text(&browser, expect.unknown).await;
        assert!(html.contains(expect.unknown), "{lang}: {html}");
        browser.close().await;
    }
    app.stop().await;
}

async fn a_passkey_is_a_way_in_when_unlinking_the_last_provider(db: TestDb) {
    let app = spawn_app(&db).await;
    let user_id = app.user("provider-only").await;
    let now = app.clock.now();
    // An account that signs in through a provider only (no password).
    sqlx::query("UPDATE users SET password_hash = NULL WHERE id = $1")
        .bind(&user_id)
        .execute(app.store.pool())
        .await
        .expect("no password");
    app.store
        .link_identity(&IdentityRecord {
            provider: "google".into(),
            subject: "g-1".into(),
            user_id: user_id.clone(),
            email: Some("provider-only@example.com".into()),
            hd: None,
            created_at: now,
        })
        .await
        .expect("linked");
    let accounts = app.state.accounts();
    assert!(
        !accounts
            .unlink_upstream(&user_id, "google", now)
            .await
            .expect("unlink"),
        "the last way in stays"
    );
    let passkey = PasskeyRecord {
        credential_id: "cred-1".into(),
        user_id: user_id.clone(),
        user_handle: user_id.clone(),
        name: "Phone".into(),
        passkey: "{}".into(),
        created_at: now,
        last_used_at: None,
    };
    app.store.insert_passkey(&passkey).await.expect("passkey");
    let ways = accounts.ways_in(&user_id).await.expect("ways in");
    assert_eq!(
        (ways.password, ways.providers.len(), ways.passkeys.len()),
        (false, 1, 1)
    );
    assert!(
        accounts
            .unlink_upstream(&user_id, "google", now)
            .await
            .expect("unlink"),
        "a passkey is a way in: the provider may go"
    );
    assert!(
        !accounts
            .remove_passkey(&user_id, "cred-1", now)
            .await
            .expect("remove"),
        "now the passkey is the last way in"
    );
    app.stop().await;
}

async fn an_authenticator_app_offers_to_end_one_factor_sessions(db: TestDb) {
    let app = spawn_app(&db).await;
    app.user("jisoo").await;
    let (this, _) = password_session(&app, "jisoo").await;
    let (other, _) = password_session(&app, "jisoo").await;
    let (html, _) = this.account_page().await;
    assert!(
        !html.contains("id=\"one-factor-sessions\""),
        "nothing to offer before a second factor"
    );
    crate::two_factor::enrol(&app, &this).await;
    let (html, csrf) = this.account_page().await;
    assert!(html.contains("id=\"one-factor-sessions\""), "{html}");
    assert!(other.signed_in().await, "nothing ends without asking");
    let ended = this
        .post("/account/sessions/end-one-factor", &[("csrf", &csrf)])
        .await;
    assert_eq!(location(&ended), "/account?done=session_ended");
    assert!(!other.signed_in().await, "the one-factor session is ended");
    assert!(this.signed_in().await, "the asking session stays");
    let (html, _) = this.account_page().await;
    assert!(!html.contains("id=\"one-factor-sessions\""));
    app.stop().await;
}
