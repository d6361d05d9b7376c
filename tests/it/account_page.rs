//! The account page: profile, password change, sessions with their devices, apps allowed,
//! address change by mail, deletion — each checked through what it changes.

use munjigi::clock::Clock;
use munjigi::oauth::client::AuthMethod;

use crate::common::browser::{Browser, hidden, location, query};
use crate::common::fixtures::{PASSWORD, Registered, auth_url};
use crate::common::smtp::SmtpSink;
use crate::common::upstream::{Flavor, Person, Stub};
use crate::common::{TestApp, TestDb, spawn_app, spawn_app_tweaked};
use crate::federation::{app_with, linked, oauth, press, travel};
use crate::on_both_backends;

on_both_backends!(
    name_and_password_change_keep_this_session_and_end_the_others,
    sessions_show_their_devices_and_one_can_be_ended,
    apps_allowed_are_listed_and_revoking_one_ends_its_tokens,
    a_new_address_counts_only_once_its_link_is_used,
    deleting_the_account_needs_its_password,
    changes_to_how_the_account_is_entered_ask_again_who_this_is,
    an_account_without_password_needs_a_recent_sign_in,
    an_account_without_password_gives_its_authenticator_code,
);

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0";
const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// Signs `browser` in as `username` through a client; returns the client's refresh token.
async fn signed_in_with_tokens(
    app: &TestApp,
    c: &Registered,
    browser: &Browser,
    username: &str,
    password: &str,
) -> String {
    let back = browser
        .sign_in(
            &auth_url(&c.id, &[("scope", "openid offline_access")]),
            username,
            password,
        )
        .await;
    let tokens = app.redeem(c, &query(&back)["code"]).await;
    tokens.json["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn refresh_works(app: &TestApp, c: &Registered, token: &str) -> bool {
    app.token(
        c,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
    .status
        == 200
}

async fn post_form(browser: &Browser, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let (_, csrf) = browser.account_page().await;
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    browser.post(path, &form).await
}

async fn name_and_password_change_keep_this_session_and_end_the_others(db: TestDb) {
    let app = spawn_app(&db).await;
    app.user("minji").await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let here = Browser::with_user_agent(&app, CHROME);
    let elsewhere = Browser::with_user_agent(&app, FIREFOX);
    let refresh = signed_in_with_tokens(&app, &c, &here, "minji", PASSWORD).await;
    signed_in_with_tokens(&app, &c, &elsewhere, "minji", PASSWORD).await;

    let saved = post_form(&here, "/account/profile", &[("name", "김민지")]).await;
    assert_eq!(location(&saved), "/account?done=saved");
    let html = here
        .get("/account?done=saved")
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(html.contains("김민지") && html.contains("Saved."), "{html}");
    let too_long = "가".repeat(101);
    assert_eq!(
        post_form(&here, "/account/profile", &[("name", &too_long)])
            .await
            .status(),
        422
    );

    let wrong = post_form(
        &here,
        "/account/password",
        &[
            ("current_password", "not it at all"),
            ("new_password", "a brand new passphrase"),
        ],
    )
    .await;
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong
            .text()
            .await
            .unwrap_or_default()
            .contains("current password is incorrect")
    );
    let weak = post_form(
        &here,
        "/account/password",
        &[("current_password", PASSWORD), ("new_password", "12345678")],
    )
    .await;
    assert_eq!(weak.status(), 422);
    let changed = post_form(
        &here,
        "/account/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", "a brand new passphrase"),
        ],
    )
    .await;
    assert_eq!(location(&changed), "/account?done=password_changed");
    assert!(
        here.signed_in().await,
        "the person who changed it stays signed in"
    );
    assert!(!elsewhere.signed_in().await, "every other session ended");
    assert!(
        !refresh_works(&app, &c, &refresh).await,
        "refresh-token families ended"
    );
    let again = Browser::new(&app)
        .sign_in(&auth_url(&c.id, &[]), "minji", "a brand new passphrase")
        .await;
    assert!(again.contains("code="));
}

async fn sessions_show_their_devices_and_one_can_be_ended(db: TestDb) {
    let app = spawn_app(&db).await;
    app.user("minji").await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let here = Browser::with_user_agent(&app, CHROME);
    let laptop = Browser::with_user_agent(&app, FIREFOX);
    let phone = Browser::with_user_agent(
        &app,
        "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/120 Whale/3.24 Mobile Safari/537.36",
    );
    for b in [&here, &laptop, &phone] {
        signed_in_with_tokens(&app, &c, b, "minji", PASSWORD).await;
    }
    let (html, _) = here.account_page().await;
    assert!(
        html.contains("Chrome · Windows") && html.contains("This device"),
        "{html}"
    );
    assert!(html.contains("Firefox · Linux") && html.contains("Whale · Android"));
    assert!(html.contains("127.0.0.1") && html.contains("UTC"));
    // The laptop's session, named by its row: the one with Firefox in it.
    let row = html
        .split("<li>")
        .find(|li| li.contains("Firefox · Linux"))
        .expect("the laptop's row");
    let id = hidden(row, "session");
    assert_eq!(id.len(), 64, "a session is named by its id's hash");
    let ended = post_form(&here, "/account/sessions/end", &[("session", &id)]).await;
    assert_eq!(location(&ended), "/account?done=session_ended");
    assert!(!laptop.signed_in().await);
    assert!(phone.signed_in().await && here.signed_in().await);
    // Someone else's session cannot be ended from here.
    let other = Browser::new(&app);
    app.user("haneul").await;
    signed_in_with_tokens(&app, &c, &other, "haneul", PASSWORD).await;
    let (other_html, _) = other.account_page().await;
    let other_id = hidden(
        other_html
            .split("<li>")
            .find(|li| li.contains("name=\"session\""))
            .unwrap_or(""),
        "session",
    );
    // (its own session has no end button: use the hash from the store instead)
    let theirs = app
        .store
        .sessions_of(
            &app.store
                .user_by_username("haneul")
                .await
                .expect("store")
                .expect("user")
                .id,
        )
        .await
        .expect("sessions");
    assert!(other_id.is_empty(), "your own session has no end button");
    post_form(
        &here,
        "/account/sessions/end",
        &[("session", &theirs[0].id_hash)],
    )
    .await;
    assert!(other.signed_in().await, "only your own sessions");
    post_form(&here, "/account/sessions/end-others", &[]).await;
    assert!(!phone.signed_in().await && here.signed_in().await);
}

async fn apps_allowed_are_listed_and_revoking_one_ends_its_tokens(db: TestDb) {
    let app = spawn_app(&db).await;
    app.user("minji").await;
    let c = app.client(AuthMethod::ClientSecretBasic, false).await;
    let browser = Browser::new(&app);
    let refresh = signed_in_with_tokens(&app, &c, &browser, "minji", PASSWORD).await;
    let (html, _) = browser.account_page().await;
    assert!(
        html.contains("Test App") && html.contains("offline_access"),
        "{html}"
    );
    let revoked = post_form(&browser, "/account/apps/revoke", &[("client_id", &c.id)]).await;
    assert_eq!(location(&revoked), "/account?done=app_revoked");
    let (html, _) = browser.account_page().await;
    assert!(html.contains("You have not allowed any app."));
    assert!(!refresh_works(&app, &c, &refresh).await);
    // The app must ask again.
    let page = browser
        .follow(browser.get(&auth_url(&c.id, &[])).await)
        .await;
    assert!(
        page.text()
            .await
            .unwrap_or_default()
            .contains("name=\"decision\"")
    );
}

async fn a_new_address_counts_only_once_its_link_is_used(db: TestDb) {
    let sink = SmtpSink::start().await;
    let url = sink.url.clone();
    let app = spawn_app_tweaked(&db, Clock::system(), move |b| {
        b.smtp(url, "munjigi <no-reply@example.com>")
    })
    .await;
    let id = app.user("minji").await;
    app.user("haneul").await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let browser = Browser::new(&app);
    signed_in_with_tokens(&app, &c, &browser, "minji", PASSWORD).await;

    let cookie_only = post_form(
        &browser,
        "/account/email",
        &[("email", "minji.kim@example.org")],
    )
    .await;
    assert_eq!(
        cookie_only.status(),
        401,
        "a session cookie alone changes nothing"
    );
    assert!(
        sink.nothing_within(std::time::Duration::from_millis(500))
            .await,
        "no link sent"
    );
    let asked = post_form(
        &browser,
        "/account/email",
        &[
            ("email", "minji.kim@example.org"),
            ("current_password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(location(&asked), "/account?done=email_sent");
    let user = app.store.user(&id).await.expect("store").expect("user");
    assert_eq!(
        user.email.as_deref(),
        Some("minji@example.com"),
        "not changed yet"
    );
    let mail = sink.next().await;
    assert_eq!(mail.to, "minji.kim@example.org");
    let link = mail.link(&app.url("/email/verify?token="));
    let page = browser.get(&link).await.text().await.unwrap_or_default();
    let done = browser
        .post(
            "/email/verify",
            &[
                ("csrf", &hidden(&page, "csrf")),
                ("token", &hidden(&page, "token")),
            ],
        )
        .await;
    assert_eq!(done.status(), 200);
    let user = app.store.user(&id).await.expect("store").expect("user");
    assert_eq!(user.email.as_deref(), Some("minji.kim@example.org"));
    assert!(user.email_verified);
    let notice = sink.next().await;
    assert_eq!(notice.to, "minji@example.com", "the old address is told");
    assert!(notice.body.contains("minji.kim@example.org"));

    // Someone else's address: the page says the same; the link cannot take it.
    let asked = post_form(
        &browser,
        "/account/email",
        &[
            ("email", "haneul@example.com"),
            ("current_password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(location(&asked), "/account?done=email_sent");
    let link = sink.next().await.link(&app.url("/email/verify?token="));
    let page = browser.get(&link).await.text().await.unwrap_or_default();
    let taken = browser
        .post(
            "/email/verify",
            &[
                ("csrf", &hidden(&page, "csrf")),
                ("token", &hidden(&page, "token")),
            ],
        )
        .await;
    assert_eq!(taken.status(), 409);
    let user = app.store.user(&id).await.expect("store").expect("user");
    assert_eq!(user.email.as_deref(), Some("minji.kim@example.org"));
}

async fn deleting_the_account_needs_its_password(db: TestDb) {
    let app = spawn_app(&db).await;
    let id = app.user("minji").await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let browser = Browser::new(&app);
    let refresh = signed_in_with_tokens(&app, &c, &browser, "minji", PASSWORD).await;
    let refused = post_form(&browser, "/account/delete", &[("confirm", "minji")]).await;
    assert_eq!(refused.status(), 401, "the password, not the username");
    assert!(app.store.user(&id).await.expect("store").is_some());
    let wrong = post_form(
        &browser,
        "/account/delete",
        &[("current_password", "not the password")],
    )
    .await;
    assert_eq!(wrong.status(), 401);
    assert!(app.store.user(&id).await.expect("store").is_some());
    let deleted = post_form(
        &browser,
        "/account/delete",
        &[("current_password", PASSWORD)],
    )
    .await;
    assert_eq!(deleted.status(), 200);
    assert!(
        deleted
            .text()
            .await
            .unwrap_or_default()
            .contains("Your account is deleted.")
    );
    assert!(app.store.user(&id).await.expect("store").is_none());
    assert!(!browser.signed_in().await);
    assert!(!refresh_works(&app, &c, &refresh).await);
}

/// Finding 2 of issue 19: a borrowed session cannot change how the account is entered.
/// Each change is refused with only the session cookie (the page says why) and made with the
/// current password.
async fn changes_to_how_the_account_is_entered_ask_again_who_this_is(db: TestDb) {
    let kakao = Stub::start(Flavor::Kakao, Person::new("k-1", "k1@kakao.example", true)).await;
    let app = app_with(&db, |f| f.kakao = Some(oauth(&kakao))).await;
    let id = app.user("minji").await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let browser = Browser::new(&app);
    signed_in_with_tokens(&app, &c, &browser, "minji", PASSWORD).await;
    let page = browser
        .get("/account")
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(
        page.matches("name=\"current_password\"").count() >= 5,
        "each such form asks for the password: {page}"
    );

    // The address (no mail here: it would change at once).
    let refused = post_form(
        &browser,
        "/account/email",
        &[("email", "thief@example.org")],
    )
    .await;
    assert_eq!(refused.status(), 401);
    let said = refused.text().await.unwrap_or_default();
    assert!(
        said.contains("The current password is incorrect."),
        "{said}"
    );
    let user = app.store.user(&id).await.expect("store").expect("user");
    assert_eq!(user.email.as_deref(), Some("minji@example.com"));
    let changed = post_form(
        &browser,
        "/account/email",
        &[
            ("email", "minji.new@example.org"),
            ("current_password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(location(&changed), "/account?done=email_changed");

    // Linking a provider.
    let refused = post_form(&browser, "/account/link/kakao", &[]).await;
    assert_eq!(refused.status(), 401);
    assert!(!location(&refused).starts_with(&kakao.base));
    let wrong = post_form(
        &browser,
        "/account/link/kakao",
        &[("current_password", "nope nope")],
    )
    .await;
    assert_eq!(wrong.status(), 401);
    let started = post_form(
        &browser,
        "/account/link/kakao",
        &[("current_password", PASSWORD)],
    )
    .await;
    assert!(
        location(&started).starts_with(&kakao.base),
        "to the provider: {}",
        location(&started)
    );
    let back = travel(&browser, started).await;
    assert_eq!(back.url().path(), "/account");
    assert_eq!(
        linked(&app, "kakao", "k-1").await.as_deref(),
        Some(id.as_str())
    );

    // The password.
    let refused = post_form(
        &browser,
        "/account/password",
        &[("new_password", "another passphrase")],
    )
    .await;
    assert_eq!(refused.status(), 401);

    // A passkey: the prompt is not even offered on a cookie alone (passkeys are off on an IP
    // issuer, so the proof accepted shows as "passkeys_off").
    let (_, csrf) = browser.account_page().await;
    let cookie_only = browser
        .post_json(
            "/account/passkeys/options",
            &serde_json::json!({ "csrf": csrf }),
        )
        .await;
    assert_eq!(cookie_only.status(), 401);
    assert_eq!(
        cookie_only
            .json::<serde_json::Value>()
            .await
            .unwrap_or_default()["error"],
        "wrong_password"
    );
    let proved = browser
        .post_json(
            "/account/passkeys/options",
            &serde_json::json!({ "csrf": csrf, "current_password": PASSWORD }),
        )
        .await;
    assert_eq!(
        proved.json::<serde_json::Value>().await.unwrap_or_default()["error"],
        "passkeys_off"
    );

    // Deleting the account.
    let refused = post_form(&browser, "/account/delete", &[]).await;
    assert_eq!(refused.status(), 401);
    assert!(app.store.user(&id).await.expect("store").is_some());
    let deleted = post_form(
        &browser,
        "/account/delete",
        &[("current_password", PASSWORD)],
    )
    .await;
    assert_eq!(deleted.status(), 200);
    assert!(app.store.user(&id).await.expect("store").is_none());
}

/// An account that signs in only through a provider has no password to give: a sign-in of
/// the last 5 minutes stands for it.
async fn an_account_without_password_needs_a_recent_sign_in(db: TestDb) {
    let kakao = Stub::start(Flavor::Kakao, Person::new("k-2", "k2@kakao.example", true)).await;
    let clock = Clock::fixed(1_800_000_000);
    let app = spawn_app_tweaked(&db, clock.clone(), |b| {
        let federation = munjigi::config::FederationConfig {
            kakao: Some(oauth(&kakao)),
            ..Default::default()
        };
        b.federation(federation)
    })
    .await;
    let browser = Browser::new(&app);
    let login = browser.get("/login").await.text().await.unwrap_or_default();
    travel(&browser, press(&browser, &login, "kakao").await).await;
    let id = linked(&app, "kakao", "k-2").await.expect("an account");
    let page = browser
        .get("/account")
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(page.contains("within the last 5 minutes"), "{page}");

    // Six minutes later, a first password is refused: sign in again.
    clock.advance(6 * 60);
    let late = post_form(
        &browser,
        "/account/password",
        &[("new_password", "a first passphrase")],
    )
    .await;
    assert_eq!(late.status(), 401);
    assert!(
        late.text()
            .await
            .unwrap_or_default()
            .contains("sign in again")
    );
    let user = app.store.user(&id).await.expect("store").expect("user");
    assert!(user.password_hash.is_none());
    let refused = post_form(&browser, "/account/delete", &[("confirm", &user.username)]).await;
    assert_eq!(refused.status(), 401);

    // Signed in again: within 5 minutes the first password is set.
    let login = browser.get("/login").await.text().await.unwrap_or_default();
    travel(&browser, press(&browser, &login, "kakao").await).await;
    clock.advance(4 * 60);
    let set = post_form(
        &browser,
        "/account/password",
        &[("new_password", "a first passphrase")],
    )
    .await;
    assert_eq!(location(&set), "/account?done=password_changed");
    let user = app.store.user(&id).await.expect("store").expect("user");
    assert!(user.password_hash.is_some());
}

/// With an authenticator app, an account without a password gives a code from it: a recent
/// sign-in is no longer enough.
async fn an_account_without_password_gives_its_authenticator_code(db: TestDb) {
    let kakao = Stub::start(Flavor::Kakao, Person::new("k-3", "k3@kakao.example", true)).await;
    let clock = Clock::fixed(1_800_000_000);
    let app = spawn_app_tweaked(&db, clock.clone(), |b| {
        let federation = munjigi::config::FederationConfig {
            kakao: Some(oauth(&kakao)),
            ..Default::default()
        };
        b.federation(federation)
    })
    .await;
    let browser = Browser::new(&app);
    let login = browser.get("/login").await.text().await.unwrap_or_default();
    travel(&browser, press(&browser, &login, "kakao").await).await;
    let id = linked(&app, "kakao", "k-3").await.expect("an account");
    // Set up within minutes of the sign-in.
    let (secret, _) = crate::two_factor::enrol(&app, &browser).await;
    let user = app.store.user(&id).await.expect("store").expect("user");
    clock.advance(60);
    let page = browser
        .get("/account")
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(
        page.contains("name=\"code\""),
        "the page asks for a code: {page}"
    );

    let refused = post_form(&browser, "/account/delete", &[("confirm", &user.username)]).await;
    assert_eq!(refused.status(), 401, "a recent sign-in is not enough now");
    let wrong = post_form(
        &browser,
        "/account/delete",
        &[("confirm", &user.username), ("code", "000000")],
    )
    .await;
    assert_eq!(wrong.status(), 401);
    assert!(app.store.user(&id).await.expect("store").is_some());
    let code = crate::two_factor::totp(&secret, app.clock.now());
    let deleted = post_form(
        &browser,
        "/account/delete",
        &[("confirm", &user.username), ("code", &code)],
    )
    .await;
    assert_eq!(deleted.status(), 200);
    assert!(app.store.user(&id).await.expect("store").is_none());
}
