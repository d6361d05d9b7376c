//! Upstream identities and munjigi accounts: when an address matches an existing account,
//! linking happens only after the person proves the account is theirs; the account page links
//! and unlinks providers; and a second munjigi process serves as a generic OIDC upstream.

use std::process::Stdio;
use std::time::Duration;

use munjigi::config::FederationConfig;
use munjigi::oauth::client::AuthMethod;

use crate::common::browser::{Browser, hidden, location, query};
use crate::common::fixtures::{PASSWORD, REDIRECT, auth_url, jwt_claims};
use crate::common::process::{free_port, munjigi, run, start_server_on, wait_ready};
use crate::common::upstream::{Flavor, Person, Stub};
use crate::common::{TestApp, TestDb};
use crate::federation::{app_with, code_via, google, linked, oauth, press, travel, user_count};
use crate::on_both_backends;

on_both_backends!(
    an_unverified_or_naver_email_never_links,
    a_matching_verified_email_links_after_the_password,
    a_matching_email_can_be_confirmed_with_a_linked_provider,
    verified_emails_on_both_sides_link_when_configured,
    the_account_page_links_a_second_provider_and_keeps_the_last,
    another_munjigi_is_a_generic_oidc_upstream,
);

/// An account with a password and the verified address `minji@example.com`.
async fn minji(app: &TestApp) -> String {
    app.user("minji").await
}

async fn an_unverified_or_naver_email_never_links(db: TestDb) {
    let kakao = Stub::start(Flavor::Kakao, Person::new("11", "minji@example.com", false)).await;
    let naver = Stub::start(
        Flavor::Naver,
        Person::new("n-11", "minji@example.com", true),
    )
    .await;
    let app = app_with(&db, |f| {
        f.kakao = Some(oauth(&kakao));
        f.naver = Some(oauth(&naver));
        // Even with automatic linking on.
        f.link_verified_email = true;
    })
    .await;
    let minji_id = minji(&app).await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    for (class, provider, subject) in [("kakao", "kakao", "11"), ("naver", "naver", "n-11")] {
        let code = code_via(&Browser::new(&app), &auth_url(&c.id, &[]), class).await;
        let claims = jwt_claims(
            app.redeem(&c, &code).await.json["id_token"]
                .as_str()
                .unwrap_or_default(),
        );
        let user_id = linked(&app, provider, subject)
            .await
            .expect("a new account");
        assert_ne!(user_id, minji_id, "{provider}: not minji's account");
        assert_eq!(claims["sub"].as_str(), Some(user_id.as_str()));
        let user = app.store.user(&user_id).await.ok().flatten().expect("user");
        assert_eq!(user.email, None, "{provider}: the address belongs to minji");
        assert!(claims.get("email").is_none(), "no address to release");
    }
    assert_eq!(
        app.store
            .identities_of(&minji_id)
            .await
            .map(|i| i.len())
            .ok(),
        Some(0)
    );
    app.stop().await;
}

async fn a_matching_verified_email_links_after_the_password(db: TestDb) {
    let stub = Stub::start(
        Flavor::Google,
        Person::new("g-21", "minji@example.com", true),
    )
    .await;
    let app = app_with(&db, google(&stub)).await;
    let minji_id = minji(&app).await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let browser = Browser::new(&app);
    let auth = auth_url(&c.id, &[]);
    let page = browser.follow(browser.get(&auth).await).await;
    let html = page.text().await.unwrap_or_default();
    let asked = travel(&browser, press(&browser, &html, "google").await).await;
    assert_eq!(asked.status(), 200, "a confirmation page, not a sign-in");
    let html = asked.text().await.unwrap_or_default();
    assert!(
        html.contains("minji@example.com") && html.contains("action=\"/login/link\""),
        "{html}"
    );
    assert_eq!(
        linked(&app, "google", "g-21").await,
        None,
        "nothing linked yet"
    );

    let csrf = hidden(&html, "csrf");
    let request = hidden(&html, "request");
    let form = |password: &'static str| {
        let fields = [
            ("csrf", csrf.clone()),
            ("request", request.clone()),
            ("password", password.to_owned()),
        ];
        let browser = &browser;
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            browser.post("/login/link", &fields).await
        }
    };
    let wrong = form("not the password").await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(linked(&app, "google", "g-21").await, None);
    let right = travel(&browser, form(PASSWORD).await).await;
    let to = location(&right);
    let code = query(&to)
        .get("code")
        .cloned()
        .unwrap_or_else(|| panic!("{to}"));
    let claims = jwt_claims(
        app.redeem(&c, &code).await.json["id_token"]
            .as_str()
            .unwrap_or_default(),
    );
    assert_eq!(
        claims["sub"].as_str(),
        Some(minji_id.as_str()),
        "minji's own account"
    );
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "fed"]));
    assert_eq!(
        linked(&app, "google", "g-21").await.as_deref(),
        Some(minji_id.as_str())
    );

    // From now on Google alone signs minji in.
    let code = code_via(&Browser::new(&app), &auth, "google").await;
    let claims = jwt_claims(
        app.redeem(&c, &code).await.json["id_token"]
            .as_str()
            .unwrap_or_default(),
    );
    assert_eq!(claims["sub"].as_str(), Some(minji_id.as_str()));
    assert_eq!(user_count(&app).await, 1);
    app.stop().await;
}

async fn a_matching_email_can_be_confirmed_with_a_linked_provider(db: TestDb) {
    let kakao = Stub::start(
        Flavor::Kakao,
        Person::new("31", "owner@kakao.example", true),
    )
    .await;
    let google_stub = Stub::start(
        Flavor::Google,
        Person::new("g-31", "owner@kakao.example", true),
    )
    .await;
    let app = app_with(&db, |f| {
        f.kakao = Some(oauth(&kakao));
        google(&google_stub)(f);
    })
    .await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    // An account made by Kakao, without a password.
    code_via(&Browser::new(&app), &auth_url(&c.id, &[]), "kakao").await;
    let owner = linked(&app, "kakao", "31").await.expect("kakao account");

    let browser = Browser::new(&app);
    let page = browser
        .follow(browser.get(&auth_url(&c.id, &[])).await)
        .await;
    let html = page.text().await.unwrap_or_default();
    let asked = travel(&browser, press(&browser, &html, "google").await).await;
    let html = asked.text().await.unwrap_or_default();
    assert!(
        !html.contains("name=\"password\""),
        "no password to offer: {html}"
    );
    let back = travel(&browser, press(&browser, &html, "kakao").await).await;
    let to = location(&back);
    assert!(to.starts_with(REDIRECT), "{to}");
    assert_eq!(
        linked(&app, "google", "g-31").await.as_deref(),
        Some(owner.as_str())
    );
    app.stop().await;
}

async fn verified_emails_on_both_sides_link_when_configured(db: TestDb) {
    let stub = Stub::start(
        Flavor::Google,
        Person::new("g-41", "minji@example.com", true),
    )
    .await;
    let app = app_with(&db, |f| {
        google(&stub)(f);
        f.link_verified_email = true;
    })
    .await;
    let minji_id = minji(&app).await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let code = code_via(&Browser::new(&app), &auth_url(&c.id, &[]), "google").await;
    let claims = jwt_claims(
        app.redeem(&c, &code).await.json["id_token"]
            .as_str()
            .unwrap_or_default(),
    );
    assert_eq!(claims["sub"].as_str(), Some(minji_id.as_str()));
    app.stop().await;
}

async fn account_post(browser: &Browser, path: &str, extra: &[(&str, &str)]) -> reqwest::Response {
    let page = browser.get("/account").await;
    let html = page.text().await.unwrap_or_default();
    let csrf = hidden(&html, "csrf");
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(extra);
    browser.post(path, &form).await
}

async fn the_account_page_links_a_second_provider_and_keeps_the_last(db: TestDb) {
    let kakao = Stub::start(Flavor::Kakao, Person::new("51", "k51@kakao.example", true)).await;
    let naver = Stub::start(
        Flavor::Naver,
        Person::new("n-51", "n51@naver.example", true),
    )
    .await;
    let app = app_with(&db, |f| {
        f.kakao = Some(oauth(&kakao));
        f.naver = Some(oauth(&naver));
    })
    .await;
    let browser = Browser::new(&app);
    // Signed in with Kakao from munjigi's own login page (no app waiting).
    let login = browser.get("/login").await.text().await.unwrap_or_default();
    let home = travel(&browser, press(&browser, &login, "kakao").await).await;
    assert_eq!(
        (home.url().path(), home.status().as_u16()),
        ("/", 200),
        "signed in, nothing to resume"
    );
    let user_id = linked(&app, "kakao", "51").await.expect("account");

    let page = browser
        .get("/account")
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(
        !page.contains("action=\"/account/unlink\""),
        "the only way in has no unlink: {page}"
    );
    let refused = account_post(&browser, "/account/unlink", &[("provider", "kakao")]).await;
    assert_eq!(refused.status(), 409);
    assert!(linked(&app, "kakao", "51").await.is_some());

    let started = account_post(&browser, "/account/link/naver", &[]).await;
    let back = travel(&browser, started).await;
    assert_eq!(back.url().path(), "/account", "back on the account page");
    assert_eq!(
        linked(&app, "naver", "n-51").await.as_deref(),
        Some(user_id.as_str())
    );
    let page = browser
        .get("/account")
        .await
        .text()
        .await
        .unwrap_or_default();
    assert_eq!(
        page.matches("action=\"/account/unlink\"").count(),
        2,
        "{page}"
    );

    // Naver now signs the same person in.
    let other = Browser::new(&app);
    let login = other.get("/login").await.text().await.unwrap_or_default();
    travel(&other, press(&other, &login, "naver").await).await;
    let page = other.get("/account").await.text().await.unwrap_or_default();
    assert!(
        page.contains("k51@kakao.example"),
        "the same account: {page}"
    );

    let removed = account_post(&browser, "/account/unlink", &[("provider", "kakao")]).await;
    assert_eq!(removed.status(), 303);
    assert_eq!(linked(&app, "kakao", "51").await, None);
    let refused = account_post(&browser, "/account/unlink", &[("provider", "naver")]).await;
    assert_eq!(refused.status(), 409, "naver is now the last way in");
    // A CSRF-less unlink is refused outright.
    let forged = browser
        .post("/account/unlink", &[("provider", "naver")])
        .await;
    assert_eq!(forged.status(), 403);
    assert_eq!(user_count(&app).await, 1);
    app.stop().await;
}

/// A second munjigi, as a separate process on its own database, is the upstream.
async fn another_munjigi_is_a_generic_oidc_upstream(db: TestDb) {
    let upstream_db = TestDb::new(db.backend).await.expect("a second database");
    // On `localhost`: its session cookie must not land on the downstream's 127.0.0.1.
    let upstream = start_server_on(&upstream_db, "localhost", free_port(), &[]);
    wait_ready(&upstream, Duration::from_secs(20)).await;
    let secret = "corp-secret-0123456789abcdef0123";
    let app = app_with(&db, |f| {
        f.oidc.push(FederationConfig::oidc_upstream(
            "corp",
            "Corp SSO",
            &upstream.base,
            "downstream",
            secret,
        ))
    })
    .await;
    let cli = |args: &[&str]| {
        let mut cmd = munjigi(upstream_db.dir());
        cmd.args(args)
            .env("DATABASE_URL", &upstream_db.url)
            .env("MUNJIGI_KEK", &upstream_db.kek);
        cmd
    };
    let callback = format!("{}/login/corp/callback", app.base);
    let out = run(&mut cli(&[
        "client",
        "create",
        "--name",
        "Downstream munjigi",
        "--id",
        "downstream",
        "--secret",
        secret,
        "--redirect-uri",
        &callback,
        "--skip-consent",
    ]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut create = cli(&[
        "user",
        "create",
        "--username",
        "corp-user",
        "--email",
        "corp@corp.example",
        "--name",
        "Corp Person",
        "--email-verified",
        "--password-stdin",
    ]);
    create
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = create.spawn().expect("user create");
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        let _ = stdin.write_all(b"upstream password 123\n");
    }
    assert!(child.wait().is_ok_and(|s| s.success()));

    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let browser = Browser::new(&app);
    let auth = auth_url(&c.id, &[("max_age", "600")]);
    let page = browser.follow(browser.get(&auth).await).await;
    let html = page.text().await.unwrap_or_default();
    assert!(html.contains("Sign in with Corp SSO"), "{html}");
    // To the upstream munjigi's own login page.
    let upstream_login = travel(&browser, press(&browser, &html, "oidc").await).await;
    assert_eq!(upstream_login.status(), 200);
    let html = upstream_login.text().await.unwrap_or_default();
    let after = browser
        .post(
            &format!("{}/login", upstream.base),
            &[
                ("csrf", hidden(&html, "csrf").as_str()),
                ("request", hidden(&html, "request").as_str()),
                ("username", "corp-user"),
                ("password", "upstream password 123"),
            ],
        )
        .await;
    let back = travel(&browser, after).await;
    let to = location(&back);
    let (url, status) = (back.url().clone(), back.status());
    let code = match query(&to).get("code") {
        Some(code) => code.clone(),
        None => panic!(
            "{to} {url} {status}: {}\n{}",
            back.text().await.unwrap_or_default(),
            upstream.logs()
        ),
    };
    let claims = jwt_claims(
        app.redeem(&c, &code).await.json["id_token"]
            .as_str()
            .unwrap_or_default(),
    );
    assert_eq!(claims["idp"], "corp");
    let user_id = app
        .store
        .identities_of(claims["sub"].as_str().unwrap_or_default())
        .await
        .ok()
        .and_then(|i| i.first().map(|i| i.user_id.clone()));
    assert_eq!(
        claims["sub"].as_str(),
        user_id.as_deref(),
        "linked to the upstream person"
    );
    let user = app
        .store
        .user(claims["sub"].as_str().unwrap_or_default())
        .await
        .ok()
        .flatten();
    assert_eq!(
        user.and_then(|u| u.email).as_deref(),
        Some("corp@corp.example")
    );
    assert!(upstream.logs().is_empty() || !upstream.logs().contains("panicked"));
    app.stop().await;
}
