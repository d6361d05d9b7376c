//! Sign in with a real browser (headless Chromium over WebDriver, `common::webdriver`)
//! through the hosted login and consent pages in Korean and English. Screenshots land in
//! `target/screenshots/` for a person to look at.

use munjigi::oauth::client::AuthMethod;

use crate::common::fixtures::{PASSWORD, REDIRECT, auth_url};
use crate::common::webdriver::{Driver, browser_available, screenshots_dir};
use crate::common::{Backend, TestDb, spawn_app};
use crate::on_both_backends;

async fn sign_in_with_a_real_browser(db: TestDb) {
    if !browser_available() {
        return;
    }
    let backend = match db.backend {
        Backend::Postgres => "postgres",
        Backend::Sqlite => "sqlite",
    };
    let app = spawn_app(&db).await;
    let c = app.client(AuthMethod::ClientSecretBasic, false).await;
    let driver = Driver::start().await;
    let shots = screenshots_dir();

    for (lang, browser_lang, username) in [("ko", "ko-KR", "minji"), ("en", "en", "alice")] {
        app.user(username).await;
        // A browser of its own per language: no session cookie carried over, so both runs
        // see the login page and the consent page.
        let profile = db.dir().join(format!("chromium-{lang}"));
        let browser = driver.session(&profile, browser_lang).await;

        browser
            .goto(&app.url(&auth_url(&c.id, &[("ui_locales", lang)])))
            .await;
        browser.find("#username").await;
        let at = browser.url().await;
        assert!(
            at.starts_with(&app.url("/login?request=")),
            "{lang}: expected the login page, at {at}"
        );
        if lang == "ko" {
            let html = browser.source().await;
            assert!(
                html.contains(r#"lang="ko""#),
                "{lang}: no lang=\"ko\": {html}"
            );
            let title = munjigi::http::web::i18n::KO.login_title;
            assert!(html.contains(title), "{lang}: no {title:?}: {html}");
        } else {
            let html = browser.source().await;
            assert!(
                html.contains(r#"lang="en""#),
                "{lang}: no lang=\"en\": {html}"
            );
        }
        browser
            .screenshot(&shots.join(format!("{backend}-{lang}-login.png")))
            .await;

        browser.type_into("#username", username).await;
        browser.type_into("#password", PASSWORD).await;
        browser.click("button[type=submit]").await;

        browser.find("button[name=decision][value=allow]").await;
        let at = browser.url().await;
        assert!(
            at.starts_with(&app.url("/consent?request=")),
            "{lang}: expected the consent page, at {at}"
        );
        browser
            .screenshot(&shots.join(format!("{backend}-{lang}-consent.png")))
            .await;
        browser.click("button[name=decision][value=allow]").await;

        let back = browser.wait_for_url(REDIRECT).await;
        assert!(
            back.starts_with(REDIRECT),
            "{lang}: not back at the client: {back}"
        );
        assert!(back.contains("code="), "{lang}: no code: {back}");
        assert!(back.contains("state=st-1"), "{lang}: no state: {back}");
        assert!(back.contains("iss="), "{lang}: no iss: {back}");
        browser.close().await;
    }

    drop(driver);
    app.stop().await;
}

on_both_backends!(
    sign_in_with_a_real_browser,
    sign_in_with_kakao_in_a_real_browser
);

/// The Kakao button on the Korean login page, Kakao's approval (the stub), consent, and the
/// code at the client; screenshots of the login page with every provider, in both languages.
async fn sign_in_with_kakao_in_a_real_browser(db: TestDb) {
    use crate::common::upstream::{Flavor, Person, Stub};
    if !browser_available() {
        return;
    }
    let backend = match db.backend {
        Backend::Postgres => "postgres",
        Backend::Sqlite => "sqlite",
    };
    let kakao = Stub::start(
        Flavor::Kakao,
        Person::new("4200000001", "b@kakao.example", true),
    )
    .await;
    let naver = Stub::start(Flavor::Naver, Person::new("n-42", "b@naver.example", true)).await;
    let google_stub =
        Stub::start(Flavor::Google, Person::new("g-42", "b@gmail.example", true)).await;
    let app = crate::federation::app_with(&db, |f| {
        f.kakao = Some(crate::federation::oauth(&kakao));
        f.naver = Some(crate::federation::oauth(&naver));
        crate::federation::google(&google_stub)(f);
    })
    .await;
    let c = app.client(AuthMethod::ClientSecretBasic, false).await;
    let driver = Driver::start().await;
    let shots = screenshots_dir();

    let en = driver
        .session(&db.dir().join("chromium-federation-en"), "en")
        .await;
    en.goto(&app.url(&auth_url(&c.id, &[("ui_locales", "en")])))
        .await;
    en.find("button.provider.google").await;
    let html = en.source().await;
    assert!(
        html.contains("Login with Kakao") && html.contains("Log in with NAVER"),
        "{html}"
    );
    en.screenshot(&shots.join(format!("{backend}-en-login-providers.png")))
        .await;
    en.close().await;

    let browser = driver
        .session(&db.dir().join("chromium-federation-ko"), "ko-KR")
        .await;
    browser
        .goto(&app.url(&auth_url(&c.id, &[("ui_locales", "ko")])))
        .await;
    browser.find("button.provider.kakao").await;
    let html = browser.source().await;
    for label in ["카카오 로그인", "네이버 로그인", "Google 계정으로 로그인"] {
        assert!(html.contains(label), "no {label:?}: {html}");
    }
    browser
        .screenshot(&shots.join(format!("{backend}-ko-login-providers.png")))
        .await;
    browser.click("button.provider.kakao").await;

    browser.find("button[name=decision][value=allow]").await;
    let at = browser.url().await;
    assert!(
        at.starts_with(&app.url("/consent?request=")),
        "after Kakao, consent: {at}"
    );
    browser
        .screenshot(&shots.join(format!("{backend}-ko-consent-after-kakao.png")))
        .await;
    browser.click("button[name=decision][value=allow]").await;
    let back = browser.wait_for_url(REDIRECT).await;
    let code = crate::common::browser::query(&back)
        .get("code")
        .cloned()
        .unwrap_or_else(|| panic!("no code: {back}"));
    let reply = app.redeem(&c, &code).await;
    let claims =
        crate::common::fixtures::jwt_claims(reply.json["id_token"].as_str().unwrap_or_default());
    let user_id = crate::federation::linked(&app, "kakao", "4200000001").await;
    assert_eq!(
        claims["sub"].as_str(),
        user_id.as_deref(),
        "the Kakao person's account"
    );

    browser.goto(&app.url("/account")).await;
    browser.find("form[action='/account/link/naver']").await;
    browser
        .screenshot(&shots.join(format!("{backend}-ko-account.png")))
        .await;
    browser.close().await;
    drop(driver);
    app.stop().await;
}
