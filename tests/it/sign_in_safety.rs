//! Who ends up holding an account (issue 19, the sign-in findings), driven as a person would:
//! upstream stubs, the login, link and second-factor pages, a mail sink.
//!
//! - an address a provider did not vouch for is never kept on a new account;
//! - a link is stored only once the whole sign-in, second factor included, has succeeded, and
//!   an upstream `mfa` never stands in for the account's own second factor;
//! - a request that demands a fresh sign-in is not satisfied by a provider that cannot prove
//!   one (Naver, Kakao without OpenID Connect) or did not (a stale `auth_time`);
//! - linking and unlinking are mailed and recorded;
//! - `max_age=0` is `prompt=login` within the same second; a round trip starts only from a
//!   form of this site; future `iat`, a UserInfo about someone else and a mixed-up `iss` are
//!   refused; profile and address come from UserInfo.

use munjigi::clock::Clock;
use munjigi::oauth::client::AuthMethod;

use crate::common::browser::{Browser, hidden, location, query};
use crate::common::fixtures::{PASSWORD, REDIRECT, auth_url, jwt_claims};
use crate::common::smtp::SmtpSink;
use crate::common::upstream::{Flavor, Misbehave, Person, Stub};
use crate::common::{TestApp, TestDb, spawn_app_tweaked, spawn_app_with_clock};
use crate::federation::{app_with, code_via, google, linked, oauth, press, travel, user_count};
use crate::observability::stored_kinds;
use crate::on_both_backends;
use crate::two_factor::{enrol, signed_in, totp};

on_both_backends!(
    an_address_no_provider_vouched_for_is_never_kept,
    a_link_waits_for_the_accounts_own_second_factor,
    a_provider_that_cannot_prove_a_fresh_sign_in_does_not_satisfy_one,
    linking_and_unlinking_are_mailed_and_recorded,
    max_age_zero_is_prompt_login_within_the_same_second,
    a_round_trip_starts_only_from_a_form_of_this_site,
    future_iat_foreign_userinfo_and_mixed_up_issuer_are_refused,
    profile_and_address_come_from_userinfo,
);

/// The wall clock, read through the one place allowed to (clippy.toml): the upstream stubs
/// sign with the real time, so a fixed clock starts there.
fn wall_now() -> i64 {
    Clock::system().now()
}

async fn an_address_no_provider_vouched_for_is_never_kept(db: TestDb) {
    let google_stub = Stub::start(
        Flavor::Google,
        Person::new("g-1", "victim@example.org", false),
    )
    .await;
    let kakao = Stub::start(
        Flavor::Kakao,
        Person::new("1", "victim2@example.org", false),
    )
    .await;
    let naver = Stub::start(
        Flavor::Naver,
        Person::new("n-1", "victim3@example.org", true),
    )
    .await;
    let app = app_with(&db, |f| {
        google(&google_stub)(f);
        f.kakao = Some(oauth(&kakao));
        f.naver = Some(oauth(&naver));
    })
    .await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    for (class, subject) in [("google", "g-1"), ("kakao", "1"), ("naver", "n-1")] {
        let code = code_via(&Browser::new(&app), &auth_url(&c.id, &[]), class).await;
        let claims = jwt_claims(
            app.redeem(&c, &code).await.json["id_token"]
                .as_str()
                .unwrap_or_default(),
        );
        let user_id = linked(&app, class, subject).await.expect("a new account");
        let user = app.store.user(&user_id).await.ok().flatten().expect("user");
        assert_eq!(
            (user.email, user.email_verified),
            (None, false),
            "{class}: an address nobody proved is not the account's"
        );
        assert!(claims.get("email").is_none(), "{class}: {claims}");
    }
    // The owner of the address can still sign up with it: nobody holds it.
    let taken = app
        .store
        .user_by_email("victim@example.org")
        .await
        .ok()
        .flatten();
    assert!(taken.is_none());
    app.stop().await;
}

/// The second-factor page's form answered with `code`.
async fn give_code(browser: &Browser, at: &str, code: &str) -> reqwest::Response {
    let form = browser.get(at).await.text().await.unwrap_or_default();
    browser
        .post(
            "/login/second-factor",
            &[
                ("csrf", &hidden(&form, "csrf")),
                ("request", &hidden(&form, "request")),
                ("code", code),
            ],
        )
        .await
}

/// From the authorization request through the provider button to the link page, and the
/// password typed there: where the answer sends the person.
async fn link_with_password(browser: &Browser, auth: &str) -> String {
    let page = browser.follow(browser.get(auth).await).await;
    let html = page.text().await.unwrap_or_default();
    let asked = travel(browser, press(browser, &html, "google").await).await;
    let html = asked.text().await.unwrap_or_default();
    assert!(html.contains("action=\"/login/link\""), "{html}");
    let answer = browser
        .post(
            "/login/link",
            &[
                ("csrf", &hidden(&html, "csrf")),
                ("request", &hidden(&html, "request")),
                ("password", PASSWORD),
            ],
        )
        .await;
    location(&answer)
}

async fn a_link_waits_for_the_accounts_own_second_factor(db: TestDb) {
    // The provider even says it checked two factors.
    let mut person = Person::new("g-41", "minji@example.com", true);
    person.amr = vec!["pwd".into(), "mfa".into()];
    let stub = Stub::start(Flavor::Google, person).await;
    let clock = Clock::fixed(wall_now());
    let mut federation = munjigi::config::FederationConfig::default();
    google(&stub)(&mut federation);
    let app = spawn_app_tweaked(&db, clock.clone(), |b| b.federation(federation)).await;
    let minji = app.user("minji").await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let (secret, _) = enrol(&app, &signed_in(&app, &c, "minji").await).await;
    let auth = auth_url(&c.id, &[]);

    // The password is right, the second factor not given yet: nothing is linked, and
    // leaving here leaves nothing behind.
    let left = Browser::new(&app);
    let next = link_with_password(&left, &auth).await;
    assert!(next.starts_with("/login/second-factor?request="), "{next}");
    assert_eq!(
        linked(&app, "google", "g-41").await,
        None,
        "not before the code"
    );
    clock.advance(30);
    let wrong = give_code(&left, &next, "000000").await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(linked(&app, "google", "g-41").await, None);

    // Another try, to the end: linked once the code is given.
    let browser = Browser::new(&app);
    let next = link_with_password(&browser, &auth).await;
    assert!(next.starts_with("/login/second-factor?request="), "{next}");
    clock.advance(30);
    let done = browser
        .follow(give_code(&browser, &next, &totp(&secret, clock.now())).await)
        .await;
    let to = location(&done);
    let code = query(&to)
        .get("code")
        .cloned()
        .unwrap_or_else(|| panic!("{to}"));
    let claims = jwt_claims(
        app.redeem(&c, &code).await.json["id_token"]
            .as_str()
            .unwrap_or_default(),
    );
    assert_eq!(claims["sub"].as_str(), Some(minji.as_str()));
    assert!(
        claims["amr"]
            .as_array()
            .is_some_and(|amr| amr.iter().any(|m| m == "otp")),
        "{claims}"
    );
    assert_eq!(
        linked(&app, "google", "g-41").await.as_deref(),
        Some(minji.as_str())
    );

    // Linked now, and the provider's `mfa` still does not replace minji's own code.
    let later = Browser::new(&app);
    let page = later.follow(later.get(&auth).await).await;
    let html = page.text().await.unwrap_or_default();
    let back = travel(&later, press(&later, &html, "google").await).await;
    assert_eq!(
        (back.url().path(), back.status().as_u16()),
        ("/login/second-factor", 200),
        "asked for minji's own second factor: {}",
        location(&back)
    );
    app.stop().await;
}

/// The login page of `auth`, with the provider `class` pressed; the page the person ends on.
async fn forced_through(app: &TestApp, auth: &str, class: &str) -> (u16, String) {
    let browser = Browser::new(app);
    let page = browser.follow(browser.get(auth).await).await;
    let html = page.text().await.unwrap_or_default();
    let end = travel(&browser, press(&browser, &html, class).await).await;
    let status = end.status().as_u16();
    (status, end.text().await.unwrap_or_default())
}

async fn a_provider_that_cannot_prove_a_fresh_sign_in_does_not_satisfy_one(db: TestDb) {
    let kakao = Stub::start(Flavor::Kakao, Person::new("8", "f@kakao.example", true)).await;
    let naver = Stub::start(Flavor::Naver, Person::new("n-8", "f@naver.example", true)).await;
    let app = app_with(&db, |f| {
        f.kakao = Some(oauth(&kakao));
        f.naver = Some(oauth(&naver));
    })
    .await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let not_fresh = |html: &str| {
        html.contains("cannot confirm that you did") || html.contains("확인할 수 없습니다")
    };
    for demand in [("prompt", "login"), ("max_age", "0"), ("max_age", "300")] {
        let auth = auth_url(&c.id, &[demand, ("ui_locales", "en")]);
        // Naver cannot prove it at all: the person is not even sent there.
        let (status, html) = forced_through(&app, &auth, "naver").await;
        assert_eq!(status, 403, "{demand:?}: {html}");
        assert!(not_fresh(&html), "{demand:?}: says why: {html}");
        assert!(
            html.contains("href=\"/login?request="),
            "{demand:?}: back to the other ways: {html}"
        );
        assert_eq!(naver.authorize_count(), 0, "{demand:?}");
        // Kakao without OpenID Connect: no id_token, nothing says when.
        kakao.misbehave(Misbehave::NoIdToken);
        let (status, html) = forced_through(&app, &auth, "kakao").await;
        assert_eq!(status, 403, "{demand:?}: {html}");
        assert!(not_fresh(&html), "{demand:?}: {html}");
        // Kakao with OpenID Connect, whose auth_time is an hour old.
        kakao.misbehave(Misbehave::StaleAuthTime);
        let (status, html) = forced_through(&app, &auth, "kakao").await;
        assert_eq!(status, 403, "{demand:?}: {html}");
        assert!(not_fresh(&html), "{demand:?}: {html}");
        kakao.misbehave(Misbehave::No);
    }
    assert_eq!(user_count(&app).await, 0, "nobody was signed in or created");
    // Kakao with OpenID Connect and a fresh auth_time satisfies the demand.
    let auth = auth_url(&c.id, &[("prompt", "login")]);
    code_via(&Browser::new(&app), &auth, "kakao").await;
    // Without a demand, Kakao without OpenID Connect signs in as before.
    kakao.misbehave(Misbehave::NoIdToken);
    code_via(&Browser::new(&app), &auth_url(&c.id, &[]), "kakao").await;
    app.stop().await;
}

async fn linking_and_unlinking_are_mailed_and_recorded(db: TestDb) {
    let naver = Stub::start(
        Flavor::Naver,
        Person::new("n-71", "n71@naver.example", true),
    )
    .await;
    let sink = SmtpSink::start().await;
    let url = sink.url.clone();
    let federation = munjigi::config::FederationConfig {
        naver: Some(oauth(&naver)),
        ..Default::default()
    };
    let app = spawn_app_tweaked(&db, Clock::system(), move |b| {
        b.federation(federation)
            .smtp(url, "munjigi <no-reply@example.com>")
    })
    .await;
    let minji = app.user("minji").await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let browser = signed_in(&app, &c, "minji").await;

    let (_, csrf) = browser.account_page().await;
    let started = browser
        .post(
            "/account/link/naver",
            &[("csrf", &csrf), ("current_password", PASSWORD)],
        )
        .await;
    let back = travel(&browser, started).await;
    assert_eq!(back.url().path(), "/account");
    assert_eq!(
        linked(&app, "naver", "n-71").await.as_deref(),
        Some(minji.as_str())
    );
    let mail = sink.next().await;
    assert_eq!(mail.envelope_to, ["minji@example.com"]);
    assert!(mail.subject.contains("NAVER"), "{}", mail.subject);
    assert!(mail.body.contains("minji"), "{}", mail.body);

    let (_, csrf) = browser.account_page().await;
    let removed = browser
        .post(
            "/account/unlink",
            &[("csrf", csrf.as_str()), ("provider", "naver")],
        )
        .await;
    assert_eq!(removed.status(), 303);
    assert_eq!(linked(&app, "naver", "n-71").await, None);
    let mail = sink.next().await;
    assert_eq!(mail.envelope_to, ["minji@example.com"]);
    assert!(mail.subject.contains("NAVER"), "{}", mail.subject);

    let events = stored_kinds(&app, &["account"]).await;
    let actions: Vec<String> = events
        .iter()
        .filter(|e| e.kind == "account" && e.user_id.as_deref() == Some(minji.as_str()))
        .map(|e| e.detail.clone())
        .collect();
    for action in ["provider_linked", "provider_unlinked"] {
        assert!(
            actions
                .iter()
                .any(|d| d.contains(action) && d.contains("naver")),
            "{action} in {actions:?}"
        );
    }
    app.stop().await;
}

async fn max_age_zero_is_prompt_login_within_the_same_second(db: TestDb) {
    // The clock stands still: the next request comes within the second of the sign-in.
    let app = spawn_app_with_clock(&db, Clock::fixed(1_800_000_000)).await;
    app.user("minji").await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let browser = Browser::new(&app);
    let back = browser
        .sign_in(&auth_url(&c.id, &[]), "minji", PASSWORD)
        .await;
    assert!(back.starts_with(REDIRECT), "{back}");
    let again = browser.get(&auth_url(&c.id, &[("max_age", "0")])).await;
    assert!(
        location(&again).starts_with("/login?request="),
        "max_age=0 asks to sign in again: {}",
        location(&again)
    );
    app.stop().await;
}

async fn a_round_trip_starts_only_from_a_form_of_this_site(db: TestDb) {
    let stub = Stub::start(Flavor::Google, Person::new("g-9", "x@gmail.example", true)).await;
    let app = app_with(&db, google(&stub)).await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let browser = Browser::new(&app);
    // A cross-site page can make the browser GET this, with its cookies.
    let page = browser
        .follow(browser.get(&auth_url(&c.id, &[])).await)
        .await;
    let html = page.text().await.unwrap_or_default();
    let request = hidden(&html, "request");
    let link = browser
        .get(&format!("/login/google?request={request}"))
        .await;
    assert_eq!(link.status(), 303);
    assert_eq!(location(&link), format!("/login?request={request}"));
    // Or POST to it, without the page's token.
    let forged = browser
        .post("/login/google", &[("request", request.as_str())])
        .await;
    assert_eq!(forged.status(), 403);
    assert_eq!(stub.authorize_count(), 0, "never sent to the provider");
    assert_eq!(user_count(&app).await, 0);
    // The page's own button works.
    let back = travel(&browser, press(&browser, &html, "google").await).await;
    assert!(location(&back).starts_with(REDIRECT), "{}", location(&back));
    app.stop().await;
}

async fn future_iat_foreign_userinfo_and_mixed_up_issuer_are_refused(db: TestDb) {
    let stub = Stub::start(Flavor::Google, Person::new("g-3", "x@gmail.example", true)).await;
    let kakao = Stub::start(Flavor::Kakao, Person::new("33", "k@kakao.example", true)).await;
    let app = app_with(&db, |f| {
        google(&stub)(f);
        f.kakao = Some(oauth(&kakao));
    })
    .await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let auth = auth_url(&c.id, &[]);
    for bad in [
        Misbehave::FutureIat,
        Misbehave::UserInfoSomeoneElse,
        Misbehave::WrongIss,
    ] {
        stub.misbehave(bad.clone());
        let (status, html) = forced_through(&app, &auth, "google").await;
        assert_eq!(status, 502, "{bad:?}: {html}");
    }
    kakao.misbehave(Misbehave::FutureIat);
    let (status, html) = forced_through(&app, &auth, "kakao").await;
    assert_eq!(status, 502, "{html}");
    assert_eq!(user_count(&app).await, 0, "nobody was created");
    app.stop().await;
}

async fn profile_and_address_come_from_userinfo(db: TestDb) {
    // As panva's oidc-provider: the id_token names the person, UserInfo says the rest.
    let stub = Stub::start(
        Flavor::Google,
        Person::new("g-61", "minji@example.com", true),
    )
    .await;
    stub.claims_only_in_userinfo();
    let app = app_with(&db, google(&stub)).await;
    app.user("minji").await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let auth = auth_url(&c.id, &[]);
    // minji's address, vouched for in UserInfo: the "sign in to link" step.
    let (status, html) = forced_through(&app, &auth, "google").await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("action=\"/login/link\"") && html.contains("minji@example.com"),
        "{html}"
    );
    assert_eq!(user_count(&app).await, 1, "no second, empty account");

    // Someone new gets their address and name from UserInfo.
    stub.set_person(Person::new("g-62", "hana@example.org", true));
    code_via(&Browser::new(&app), &auth, "google").await;
    let user_id = linked(&app, "google", "g-62").await.expect("a new account");
    let user = app.store.user(&user_id).await.ok().flatten().expect("user");
    assert_eq!(user.email.as_deref(), Some("hana@example.org"));
    assert!(user.email_verified);
    assert_eq!(user.name.as_deref(), Some("Upstream Person"));
    app.stop().await;
}
