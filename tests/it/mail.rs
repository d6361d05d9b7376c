//! Account mail through a loopback SMTP sink: address verification after signup, the same
//! answer for a known address, password reset end to end, and the limits on both.

use std::time::Duration;

use munjigi::clock::Clock;
use munjigi::oauth::client::AuthMethod;

use crate::common::browser::{Browser, hidden, location};
use crate::common::fixtures::{PASSWORD, jwt_claims};
use crate::common::smtp::SmtpSink;
use crate::common::{TestApp, TestDb, spawn_app, spawn_app_tweaked};
use crate::on_both_backends;

on_both_backends!(
    signup_mails_a_link_and_only_the_link_verifies_the_address,
    signup_with_a_known_address_answers_alike_and_tells_the_owner,
    password_reset_by_mail_ends_every_session_and_is_single_use,
    reset_links_expire_after_30_minutes,
    mail_to_one_account_is_limited,
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

/// Opens a confirmation link and presses its button.
async fn confirm(browser: &Browser, link: &str) -> reqwest::Response {
    let page = browser.get(link).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap_or_default();
    browser
        .post(
            "/email/verify",
            &[
                ("csrf", &hidden(&html, "csrf")),
                ("token", &hidden(&html, "token")),
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
    assert_eq!(Browser::new(&app).get(&link).await.status(), 200);
    let done = confirm(&browser, &link).await;
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
    assert_eq!(
        confirm(&browser, &link).await.status(),
        400,
        "a link works once"
    );

    // The relying party now sees a verified address.
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let code = app.code_for(&c, "haneul", &[]).await;
    let tokens = app.redeem(&c, &code).await;
    let claims = jwt_claims(tokens.json["id_token"].as_str().unwrap_or_default());
    assert_eq!(claims["email"], "haneul@example.com");
    assert_eq!(claims["email_verified"], true);

    // A forged token is just an invalid link.
    let forged = format!("{}?token={}", app.url("/email/verify"), "A".repeat(43));
    assert_eq!(confirm(&browser, &forged).await.status(), 400);
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
    app.user("minji").await;
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
    assert!(
        done.text()
            .await
            .unwrap_or_default()
            .contains("signed out everywhere")
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
