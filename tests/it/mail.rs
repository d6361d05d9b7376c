//! Account mail through a loopback SMTP sink: address verification after signup, the same
//! answer for a known address, password reset end to end, and the limits on both.

use std::time::Duration;

use munjigi::clock::Clock;
use munjigi::oauth::client::AuthMethod;

use munjigi::config::FederationConfig;
use munjigi::store::{IdentityRecord, PasskeyRecord};

use crate::common::browser::{Browser, hidden, location};
use crate::common::fixtures::{PASSWORD, jwt_claims};
use crate::common::smtp::SmtpSink;
use crate::common::upstream::{Flavor, Person, Stub};
use crate::common::{TestApp, TestDb, spawn_app, spawn_app_tweaked};
use crate::on_both_backends;

on_both_backends!(
    signup_mails_a_link_and_only_the_link_verifies_the_address,
    signup_with_a_known_address_answers_alike_and_tells_the_owner,
    password_reset_by_mail_ends_every_session_and_is_single_use,
    reset_links_expire_after_30_minutes,
    mail_to_one_account_is_limited,
    a_reset_claims_an_account_someone_else_started_with_the_address,
    a_confirmation_link_needs_a_way_in_and_keeps_only_what_it_proved,
);

const FROM: &str = "munjigi <no-reply@example.com>";

async fn app_with_mail(db: &TestDb, sink: &SmtpSink, clock: Clock) -> TestApp {
    let url = sink.url.clone();
    spawn_app_tweaked(db, clock, move |b| b.smtp(url, FROM)).await
}

/// Fills the signup form reached from the login page; returns the answer.
async fn sign_up(browser: &Browser, username: &str, email: &str) -> reqwest::Response {
    let form = browser
        .get("/signup")
        .await
        .text()
        .await
        .unwrap_or_default();
    browser
        .post(
            "/signup",
            &[
                ("csrf", &hidden(&form, "csrf")),
                ("request", ""),
                ("username", username),
                ("email", email),
                ("name", ""),
                ("password", PASSWORD),
            ],
        )
        .await
}

/// Opens a confirmation link and presses its button, with the account's password when the
/// page asks for one (the browser is not signed in to the account).
async fn confirm(browser: &Browser, link: &str, password: &str) -> reqwest::Response {
    let page = browser.get(link).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap_or_default();
    browser
        .post(
            "/email/verify",
            &[
                ("csrf", &hidden(&html, "csrf")),
                ("token", &hidden(&html, "token")),
                ("password", password),
            ],
        )
        .await
}

async fn signup_mails_a_link_and_only_the_link_verifies_the_address(db: TestDb) {
    let sink = SmtpSink::start().await;
    let app = app_with_mail(&db, &sink, Clock::system()).await;
    let browser = Browser::new(&app);
    let answer = sign_up(&browser, "haneul", "haneul@example.com").await;
    assert_eq!(answer.status(), 200);
    let page = answer.text().await.unwrap_or_default();
    assert!(
        page.contains("Check your mail") && page.contains("haneul@example.com"),
        "{page}"
    );
    // Not signed in by the signup itself: the address is not proved yet.
    assert_eq!(location(&browser.get("/account").await), "/login");

    let mail = sink.next().await;
    assert_eq!(mail.to, "haneul@example.com");
    assert_eq!(mail.envelope_to, ["haneul@example.com"]);
    assert!(mail.subject.contains("Confirm"), "{}", mail.subject);
    let link = mail.link(&app.url("/email/verify?token="));
    let user = app
        .store
        .user_by_username("haneul")
        .await
        .expect("store")
        .expect("created");
    assert!(!user.email_verified);

    // A scanner that fetches the link uses nothing up.
    let fetched = Browser::new(&app).get(&link).await;
    assert_eq!(fetched.status(), 200);
    let fetched = fetched.text().await.unwrap_or_default();
    assert!(
        fetched.contains("haneul") && fetched.contains("name=\"password\""),
        "not signed in to the account: its password confirms: {fetched}"
    );
    let without = confirm(&browser, &link, "").await;
    assert_eq!(without.status(), 401, "the mailbox alone does not confirm");
    let wrong = confirm(&browser, &link, "not the password").await;
    assert_eq!(wrong.status(), 401);
    let done = confirm(&browser, &link, PASSWORD).await;
    assert_eq!(done.status(), 200);
    assert!(
        done.text()
            .await
            .unwrap_or_default()
            .contains("Address confirmed")
    );
    let user = app
        .store
        .user(&user.id)
        .await
        .expect("store")
        .expect("user");
    assert!(user.email_verified);
    assert_eq!(browser.get(&link).await.status(), 400, "a link works once");

    // The relying party now sees a verified address.
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let code = app.code_for(&c, "haneul", &[]).await;
    let tokens = app.redeem(&c, &code).await;
    let claims = jwt_claims(tokens.json["id_token"].as_str().unwrap_or_default());
    assert_eq!(claims["email"], "haneul@example.com");
    assert_eq!(claims["email_verified"], true);

    // A forged token is just an invalid link.
    let forged = format!("{}?token={}", app.url("/email/verify"), "A".repeat(43));
    assert_eq!(browser.get(&forged).await.status(), 400);
}

async fn signup_with_a_known_address_answers_alike_and_tells_the_owner(db: TestDb) {
    let sink = SmtpSink::start().await;
    let app = app_with_mail(&db, &sink, Clock::system()).await;
    app.user("minji").await;

    let fresh = sign_up(&Browser::new(&app), "newcomer", "newcomer@example.com").await;
    let known = sign_up(&Browser::new(&app), "impostor", "Minji@Example.com").await;
    assert_eq!(fresh.status(), known.status());
    let fresh = fresh.text().await.unwrap_or_default();
    let known = known.text().await.unwrap_or_default();
    assert_eq!(
        fresh.replace("newcomer@example.com", "ADDRESS"),
        known.replace("Minji@Example.com", "ADDRESS"),
        "the page does not tell a known address from a new one"
    );
    assert!(
        app.store
            .user_by_username("impostor")
            .await
            .expect("store")
            .is_none()
    );

    let mut mails = [sink.next().await, sink.next().await];
    mails.sort_by(|a, b| a.to.cmp(&b.to));
    assert_eq!(mails[0].to, "minji@example.com");
    assert!(
        mails[0].subject.contains("already have an account"),
        "{}",
        mails[0].subject
    );
    assert!(mails[0].body.contains(&app.url("/password/forgot")));
    assert!(
        !mails[0].body.contains("token="),
        "the owner's mail carries no credential"
    );
    assert_eq!(mails[1].to, "newcomer@example.com");

    // A taken username is said plainly: usernames are chosen to be seen.
    let taken = sign_up(&Browser::new(&app), "minji", "other@example.com").await;
    assert_eq!(taken.status(), 422);
    assert!(
        taken
            .text()
            .await
            .unwrap_or_default()
            .contains("username is taken")
    );
}

/// Asks for a reset link for `login` from a fresh browser; returns the page.
async fn forgot(app: &TestApp, login: &str) -> (u16, String) {
    let browser = Browser::new(app);
    let form = browser
        .get("/password/forgot")
        .await
        .text()
        .await
        .unwrap_or_default();
    let answer = browser
        .post(
            "/password/forgot",
            &[
                ("csrf", &hidden(&form, "csrf")),
                ("request", ""),
                ("login", login),
            ],
        )
        .await;
    (
        answer.status().as_u16(),
        answer.text().await.unwrap_or_default(),
    )
}

async fn password_reset_by_mail_ends_every_session_and_is_single_use(db: TestDb) {
    let sink = SmtpSink::start().await;
    let app = app_with_mail(&db, &sink, Clock::system()).await;
    let minji_id = app.user("minji").await;
    // A provider of her own linked (her address is proven: a reset keeps it, and says so).
    app.store
        .link_identity(&IdentityRecord {
            provider: "kakao".into(),
            subject: "k-minji".into(),
            user_id: minji_id.clone(),
            email: None,
            hd: None,
            created_at: app.clock.now(),
        })
        .await
        .expect("link");
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    // Signed in somewhere, with a refresh token.
    let signed_in = Browser::new(&app);
    let back = signed_in
        .sign_in(
            &crate::common::fixtures::auth_url(&c.id, &[("scope", "openid offline_access")]),
            "minji",
            PASSWORD,
        )
        .await;
    let code = crate::common::browser::query(&back)["code"].clone();
    let tokens = app.redeem(&c, &code).await;
    let refresh = tokens.json["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!refresh.is_empty());

    let login_page = Browser::new(&app)
        .get("/login")
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(
        login_page.contains("/password/forgot"),
        "the login page offers a reset"
    );

    let known = forgot(&app, "minji").await;
    let unknown = forgot(&app, "nobody-here").await;
    assert_eq!(
        known, unknown,
        "the same answer whether the account exists or not"
    );
    assert_eq!(known.0, 200);
    let mail = sink.next().await;
    assert_eq!(mail.to, "minji@example.com");
    assert!(
        sink.nothing_within(Duration::from_millis(700)).await,
        "no mail for nobody"
    );
    let link = mail.link(&app.url("/password/reset?token="));

    let browser = Browser::new(&app);
    let form = browser.get(&link).await;
    assert_eq!(form.status(), 200);
    let html = form.text().await.unwrap_or_default();
    assert!(html.contains("minji"));
    let (csrf, token) = (hidden(&html, "csrf"), hidden(&html, "token"));
    let weak = browser
        .post(
            "/password/reset",
            &[("csrf", &csrf), ("token", &token), ("password", "password")],
        )
        .await;
    assert_eq!(weak.status(), 422, "the signup rules apply");
    let new_password = "a brand new passphrase";
    let done = browser
        .post(
            "/password/reset",
            &[
                ("csrf", &csrf),
                ("token", &token),
                ("password", new_password),
            ],
        )
        .await;
    assert_eq!(done.status(), 200);
    let said = done.text().await.unwrap_or_default();
    assert!(said.contains("signed out everywhere"), "{said}");
    // What still opens the account is listed, with the way to remove it.
    assert!(
        said.contains("these still open your account") && said.contains("provider kakao"),
        "{said}"
    );
    assert!(said.contains("href=\"/account\""), "{said}");
    assert!(!said.contains("have been removed"), "{said}");
    let reset_mail = sink.next().await;
    assert!(reset_mail.subject.contains("Your password was reset"));
    assert!(
        reset_mail.body.contains("linked provider kakao")
            && reset_mail.body.contains(&app.url("/account"))
            && !reset_mail.body.contains("have been removed"),
        "{}",
        reset_mail.body
    );
    assert_eq!(
        app.store
            .identities_of(&minji_id)
            .await
            .expect("store")
            .len(),
        1,
        "a proven address's reset removes no way in"
    );

    // Everything the old password opened is closed.
    assert_eq!(
        location(&signed_in.get("/account").await),
        "/login",
        "session ended"
    );
    let refreshed = app
        .token(
            &c,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(refreshed.status, 400);
    assert_eq!(refreshed.json["error"], "invalid_grant");
    // The link is used up; the new password works and the old one does not.
    assert_eq!(browser.get(&link).await.status(), 400);
    let again = browser
        .post(
            "/password/reset",
            &[
                ("csrf", &csrf),
                ("token", &token),
                ("password", "yet another passphrase"),
            ],
        )
        .await;
    assert_eq!(again.status(), 400);
    let fresh = Browser::new(&app);
    let page = fresh
        .follow(
            fresh
                .get(&crate::common::fixtures::auth_url(&c.id, &[]))
                .await,
        )
        .await;
    assert_eq!(fresh.login(page, "minji", PASSWORD).await.status(), 401);
    let back = Browser::new(&app)
        .sign_in(
            &crate::common::fixtures::auth_url(&c.id, &[]),
            "minji",
            new_password,
        )
        .await;
    assert!(back.contains("code="), "{back}");
    let events = crate::observability::stored_kinds(&app, &["account"]).await;
    assert!(
        events
            .iter()
            .any(|e| e.kind == "account" && e.detail.contains("password_reset")),
        "audited"
    );
}

async fn reset_links_expire_after_30_minutes(db: TestDb) {
    let sink = SmtpSink::start().await;
    let clock = Clock::fixed(1_800_000_000);
    let app = app_with_mail(&db, &sink, clock.clone()).await;
    app.user("minji").await;
    forgot(&app, "minji@example.com").await;
    let link = sink.next().await.link(&app.url("/password/reset?token="));
    clock.advance(29 * 60);
    assert_eq!(Browser::new(&app).get(&link).await.status(), 200);
    clock.advance(2 * 60);
    let expired = Browser::new(&app).get(&link).await;
    assert_eq!(expired.status(), 400);
    assert!(expired.text().await.unwrap_or_default().contains("expired"));
}

async fn mail_to_one_account_is_limited(db: TestDb) {
    let sink = SmtpSink::start().await;
    let app = app_with_mail(&db, &sink, Clock::system()).await;
    app.user("minji").await;
    // At once, as a script would: each lookup runs after its answer, so they overlap, and the
    // limit must hold for lookups that race each other.
    let at_once = tokio::join!(
        forgot(&app, "minji"),
        forgot(&app, "minji"),
        forgot(&app, "minji"),
        forgot(&app, "minji"),
        forgot(&app, "minji"),
        forgot(&app, "minji"),
    );
    let answers = [
        at_once.0, at_once.1, at_once.2, at_once.3, at_once.4, at_once.5,
    ];
    assert!(answers.iter().all(|(status, _)| *status == 200));
    for _ in 0..3 {
        sink.next().await;
    }
    assert!(
        sink.nothing_within(Duration::from_millis(1000)).await,
        "three mails, then a pause"
    );
}

#[tokio::test]
async fn without_mail_there_is_no_reset_page() {
    let Some(db) = TestDb::new(crate::common::Backend::Sqlite).await else {
        return;
    };
    let app = spawn_app(&db).await;
    let login = Browser::new(&app)
        .get("/login")
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(!login.contains("/password/forgot"));
    let forgot = Browser::new(&app).get("/password/forgot").await;
    assert_eq!(forgot.status(), 404);
    assert!(
        forgot
            .text()
            .await
            .unwrap_or_default()
            .contains("administrator")
    );
}

/// An app with mail and a Kakao upstream.
async fn app_with_mail_and_kakao(db: &TestDb, sink: &SmtpSink, kakao: &Stub) -> TestApp {
    let url = sink.url.clone();
    let federation = FederationConfig {
        kakao: Some(crate::federation::oauth(kakao)),
        ..Default::default()
    };
    spawn_app_tweaked(db, Clock::system(), move |b| {
        b.smtp(url, FROM).federation(federation)
    })
    .await
}

/// Posts a form of the account page (its CSRF token added).
async fn account_post(browser: &Browser, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let (_, csrf) = browser.account_page().await;
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    browser.post(path, &form).await
}

/// A passkey record as registration would store it (the key itself is not used here).
fn passkey(user_id: &str, name: &str, now: i64) -> PasskeyRecord {
    PasskeyRecord {
        credential_id: format!("cred-{name}"),
        user_id: user_id.to_owned(),
        user_handle: user_id.to_owned(),
        name: name.to_owned(),
        passkey: "{}".to_owned(),
        created_at: now,
        last_used_at: None,
    }
}

/// Finding 1 of issue 19: someone signs up with another person's address, leaves themselves
/// ways in (their own Kakao account, an authenticator app, a passkey, a refresh token); the
/// owner of the address is told, resets the password — and every one of those ways in is
/// gone, as the page and the mail say.
async fn a_reset_claims_an_account_someone_else_started_with_the_address(db: TestDb) {
    let sink = SmtpSink::start().await;
    let kakao = Stub::start(
        Flavor::Kakao,
        Person::new("k-evil", "evil@kakao.example", true),
    )
    .await;
    let app = app_with_mail_and_kakao(&db, &sink, &kakao).await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;

    // The attacker starts an account with the victim's address; the confirmation goes to
    // the victim, who ignores it.
    let attacker = Browser::new(&app);
    assert_eq!(
        sign_up(&attacker, "squatter", "victim@example.com")
            .await
            .status(),
        200
    );
    let unasked = sink.next().await;
    assert_eq!(unasked.to, "victim@example.com");
    let squatter = app
        .store
        .user_by_username("squatter")
        .await
        .expect("store")
        .expect("created");
    // Signed in with the password, a refresh token, Kakao linked, an authenticator, a passkey.
    let back = attacker
        .sign_in(
            &crate::common::fixtures::auth_url(&c.id, &[("scope", "openid offline_access")]),
            "squatter",
            PASSWORD,
        )
        .await;
    let code = crate::common::browser::query(&back)["code"].clone();
    let refresh = app.redeem(&c, &code).await.json["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!refresh.is_empty());
    let started = account_post(
        &attacker,
        "/account/link/kakao",
        &[("current_password", PASSWORD)],
    )
    .await;
    let linked_back = crate::federation::travel(&attacker, started).await;
    assert_eq!(linked_back.url().path(), "/account");
    // Linking is told to the account's address — the victim's, who does not know the account.
    let told_link = sink.next().await;
    assert_eq!(told_link.to, "victim@example.com");
    assert!(
        told_link.subject.contains("linked"),
        "{}",
        told_link.subject
    );
    assert_eq!(
        crate::federation::linked(&app, "kakao", "k-evil")
            .await
            .as_deref(),
        Some(squatter.id.as_str())
    );
    crate::two_factor::enrol(&app, &attacker).await;
    app.store
        .insert_passkey(&passkey(&squatter.id, "Evil key", app.clock.now()))
        .await
        .expect("passkey");

    // The victim signs up: the page says "check your mail", and the mail says that someone
    // started an account with this address and that a reset claims it.
    let victim = Browser::new(&app);
    assert_eq!(
        sign_up(&victim, "victim", "victim@example.com")
            .await
            .status(),
        200
    );
    let told = sink.next().await;
    assert_eq!(told.to, "victim@example.com");
    assert!(
        told.subject.contains("Someone started an account"),
        "{}",
        told.subject
    );
    assert!(
        told.body.contains("squatter") && told.body.contains(&app.url("/password/forgot")),
        "{}",
        told.body
    );
    assert!(
        told.body.contains("reset its password to claim it"),
        "{}",
        told.body
    );
    assert!(!told.body.contains("token="), "no credential in it");

    // The reset.
    let (status, _) = forgot(&app, "victim@example.com").await;
    assert_eq!(status, 200);
    let link = sink.next().await.link(&app.url("/password/reset?token="));
    let form = victim.get(&link).await.text().await.unwrap_or_default();
    let new_password = "the rightful owner's passphrase";
    let done = victim
        .post(
            "/password/reset",
            &[
                ("csrf", &hidden(&form, "csrf")),
                ("token", &hidden(&form, "token")),
                ("password", new_password),
            ],
        )
        .await;
    assert_eq!(done.status(), 200);
    let page = done.text().await.unwrap_or_default();
    for said in [
        "were added before the address was confirmed and have been removed",
        "kakao",
        "Evil key",
        "authenticator app",
        "The new password is now the only way in.",
    ] {
        assert!(page.contains(said), "the page says {said:?}: {page}");
    }
    let mail = sink.next().await;
    assert_eq!(mail.to, "victim@example.com");
    assert!(
        mail.subject.contains("Your password was reset"),
        "{}",
        mail.subject
    );
    for said in [
        "have been removed",
        "kakao",
        "\"Evil key\"",
        "the authenticator app",
        "the password set before the address was confirmed",
        "The new password is now the only way in.",
    ] {
        assert!(
            mail.body.contains(said),
            "the mail says {said:?}: {}",
            mail.body
        );
    }

    // Every way in the attacker left is gone.
    assert_eq!(
        crate::federation::linked(&app, "kakao", "k-evil").await,
        None
    );
    assert!(
        app.store
            .passkeys_of(&squatter.id)
            .await
            .expect("store")
            .is_empty()
    );
    assert!(
        app.store
            .totp_of(&squatter.id)
            .await
            .expect("store")
            .is_none()
    );
    assert_eq!(
        location(&attacker.get("/account").await),
        "/login",
        "signed out"
    );
    let refreshed = app
        .token(
            &c,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(refreshed.json["error"], "invalid_grant");
    let fresh = Browser::new(&app);
    let login = fresh
        .follow(
            fresh
                .get(&crate::common::fixtures::auth_url(&c.id, &[]))
                .await,
        )
        .await;
    assert_eq!(fresh.login(login, "squatter", PASSWORD).await.status(), 401);
    // The attacker's Kakao now signs in to an account of its own, not this one.
    let again = Browser::new(&app);
    crate::federation::code_via(
        &again,
        &crate::common::fixtures::auth_url(&c.id, &[]),
        "kakao",
    )
    .await;
    let kakao_account = crate::federation::linked(&app, "kakao", "k-evil").await;
    assert!(kakao_account.is_some_and(|id| id != squatter.id));
    // And the owner is in, with the address proven.
    let owner = app
        .store
        .user(&squatter.id)
        .await
        .expect("store")
        .expect("user");
    assert!(owner.email_verified);
    let back = Browser::new(&app)
        .sign_in(
            &crate::common::fixtures::auth_url(&c.id, &[]),
            "squatter",
            new_password,
        )
        .await;
    assert!(back.contains("code="), "{back}");
}

/// A confirmation link proves the mailbox; with it, the person must show a way in of the
/// account (signed in to it here, or its password). Used by someone signed in, it keeps the
/// password and that session, and removes what else was added before the address was proven.
async fn a_confirmation_link_needs_a_way_in_and_keeps_only_what_it_proved(db: TestDb) {
    let sink = SmtpSink::start().await;
    let app = app_with_mail(&db, &sink, Clock::system()).await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;

    // Someone starts an account with another person's address. The owner of the address
    // opens the confirmation link: it does not hand them (or confirm) that account.
    sign_up(&Browser::new(&app), "squatter", "owner@example.com").await;
    let link = sink.next().await.link(&app.url("/email/verify?token="));
    let owner = Browser::new(&app);
    let page = owner.get(&link).await.text().await.unwrap_or_default();
    assert!(
        page.contains("To confirm it, enter the account") && page.contains("name=\"password\""),
        "{page}"
    );
    assert!(
        page.contains("/password/forgot"),
        "the way to claim it: {page}"
    );
    assert_eq!(confirm(&owner, &link, "").await.status(), 401);
    let squatter = app
        .store
        .user_by_username("squatter")
        .await
        .expect("store")
        .expect("user");
    assert!(!squatter.email_verified);

    // The legitimate flow: sign up, sign in, set up an authenticator, then the link in a
    // browser signed in to the account. The password and this browser's session stay;
    // the authenticator (added while the address was unproven) and the other session go.
    sign_up(&Browser::new(&app), "haneul", "haneul@example.com").await;
    let link = sink.next().await.link(&app.url("/email/verify?token="));
    let here = Browser::new(&app);
    let elsewhere = Browser::new(&app);
    for browser in [&here, &elsewhere] {
        let back = browser
            .sign_in(
                &crate::common::fixtures::auth_url(&c.id, &[]),
                "haneul",
                PASSWORD,
            )
            .await;
        assert!(back.contains("code="), "{back}");
    }
    crate::two_factor::enrol(&app, &here).await;
    let page = here.get(&link).await.text().await.unwrap_or_default();
    assert!(
        !page.contains("name=\"password\""),
        "signed in: one button: {page}"
    );
    let done = confirm(&here, &link, "").await;
    assert_eq!(done.status(), 200);
    let said = done.text().await.unwrap_or_default();
    assert!(
        said.contains("Address confirmed") && said.contains("authenticator app"),
        "{said}"
    );
    let user = app
        .store
        .user_by_username("haneul")
        .await
        .expect("store")
        .expect("user");
    assert!(user.email_verified);
    assert!(app.store.totp_of(&user.id).await.expect("store").is_none());
    assert!(
        here.signed_in().await,
        "the session that used the link stays"
    );
    assert!(!elsewhere.signed_in().await, "every other session ended");
    let mail = sink.next().await;
    assert_eq!(mail.to, "haneul@example.com");
    assert!(
        mail.subject.contains("earlier ways in removed"),
        "{}",
        mail.subject
    );
    assert!(mail.body.contains("the authenticator app"), "{}", mail.body);
    // The password stays: it signs in (with no second step now).
    let back = Browser::new(&app)
        .sign_in(
            &crate::common::fixtures::auth_url(&c.id, &[]),
            "haneul",
            PASSWORD,
        )
        .await;
    assert!(back.contains("code="), "{back}");
}
