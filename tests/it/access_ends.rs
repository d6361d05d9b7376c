//! Ending an account's access ends its access tokens wherever munjigi accepts one (userinfo,
//! introspection, the gateway, the admin API) — including tokens from a code grant without
//! `offline_access`, which no refresh-token family covers. Every way of ending it is driven
//! as the person or the operator would: the account page, a reset by mail, the admin API.

use munjigi::account::user::{NewUser, Role, create};
use munjigi::clock::Clock;
use munjigi::oauth::client::{AuthMethod, NewClient};
use reqwest::Method;
use serde_json::json;

use crate::common::browser::{Browser, hidden, location, query};
use crate::common::fixtures::{PASSWORD, Registered, auth_url, web_client};
use crate::common::smtp::SmtpSink;
use crate::common::{TestApp, TestDb, spawn_app_tweaked};
use crate::on_both_backends;

on_both_backends!(every_way_of_ending_access_refuses_earlier_access_tokens);

const ADMIN_API: &str = "/admin/api/v1";

/// Where the token is accepted: gateway, userinfo, introspection, admin API.
#[derive(Debug, PartialEq, Eq)]
struct Accepted {
    gateway: bool,
    userinfo: bool,
    introspection: bool,
    admin_api: bool,
}

const EVERYWHERE: Accepted = Accepted {
    gateway: true,
    userinfo: true,
    introspection: true,
    admin_api: true,
};
const NOWHERE: Accepted = Accepted {
    gateway: false,
    userinfo: false,
    introspection: false,
    admin_api: false,
};

async fn accepted(app: &TestApp, c: &Registered, token: &str) -> Accepted {
    let status = |path: &str| {
        let request = app.http.get(app.url(path)).bearer_auth(token);
        async move { request.send().await.expect("an answer").status().as_u16() }
    };
    let introspected = app.client_post(c, "/introspect", &[("token", token)]).await;
    assert_eq!(introspected.status, 200, "{}", introspected.json);
    Accepted {
        gateway: status("/gateway/verify").await == 200,
        userinfo: status("/userinfo").await == 200,
        introspection: introspected.json["active"] == true,
        admin_api: status(&format!("{ADMIN_API}/users")).await == 200,
    }
}

/// Signs `username` in with `browser` (no `offline_access`: a code grant's access token
/// only) and returns the access token.
async fn token_in(
    app: &TestApp,
    c: &Registered,
    browser: &Browser,
    username: &str,
    password: &str,
) -> String {
    let back = browser
        .sign_in(
            &auth_url(&c.id, &[("scope", "openid admin")]),
            username,
            password,
        )
        .await;
    let issued = app.redeem(c, &query(&back)["code"]).await;
    assert_eq!(issued.status, 200, "{}", issued.json);
    assert!(issued.json["refresh_token"].is_null(), "no refresh token");
    issued.json["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A new code for a browser that is signed in already, redeemed.
async fn token_again(app: &TestApp, c: &Registered, browser: &Browser) -> String {
    let url = auth_url(&c.id, &[("scope", "openid admin")]);
    let back = location(&browser.follow(browser.get(&url).await).await);
    let issued = app.redeem(c, &query(&back)["code"]).await;
    assert_eq!(issued.status, 200, "{}", issued.json);
    issued.json["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn admin(app: &TestApp, username: &str) -> String {
    let new = NewUser {
        username: username.into(),
        email: format!("{username}@example.com"),
        name: None,
        password: Some(PASSWORD.into()),
        role: Role::Admin,
        email_verified: true,
    };
    create(&app.store, new, app.clock.now())
        .await
        .expect("create admin")
        .id
}

async fn admin_call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> u16 {
    let mut request = app
        .http
        .request(method, app.url(&format!("{ADMIN_API}{path}")))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("admin API").status().as_u16()
}

async fn account_form(browser: &Browser, path: &str, fields: &[(&str, &str)]) -> String {
    let (_, csrf) = browser.account_page().await;
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    location(&browser.post(path, &form).await)
}

/// Asks for a reset link by mail and sets `new_password` with it.
async fn reset_by_mail(app: &TestApp, sink: &SmtpSink, login: &str, new_password: &str) {
    let browser = Browser::new(app);
    let form = browser
        .get("/password/forgot")
        .await
        .text()
        .await
        .unwrap_or_default();
    let asked = browser
        .post(
            "/password/forgot",
            &[
                ("csrf", &hidden(&form, "csrf")),
                ("request", ""),
                ("login", login),
            ],
        )
        .await;
    assert_eq!(asked.status(), 200);
    let link = sink.next().await.link(&app.url("/password/reset?token="));
    let html = browser.get(&link).await.text().await.unwrap_or_default();
    let done = browser
        .post(
            "/password/reset",
            &[
                ("csrf", &hidden(&html, "csrf")),
                ("token", &hidden(&html, "token")),
                ("password", new_password),
            ],
        )
        .await;
    assert_eq!(done.status(), 200, "reset done");
}

async fn every_way_of_ending_access_refuses_earlier_access_tokens(db: TestDb) {
    let sink = SmtpSink::start().await;
    let url = sink.url.clone();
    let app = spawn_app_tweaked(&db, Clock::system(), move |b| {
        b.smtp(url, "munjigi <no-reply@example.com>")
    })
    .await;
    let console = app
        .register(NewClient {
            name: "Admin console".into(),
            scopes: "openid profile admin".into(),
            ..web_client(AuthMethod::ClientSecretBasic, true)
        })
        .await;
    let ana = admin(&app, "ana").await;
    admin(&app, "boss").await;
    let boss = token_in(&app, &console, &Browser::new(&app), "boss", PASSWORD).await;

    // "Sign out every other device" on the account page: the tokens of every sign-in so
    // far end, this browser stays signed in, and a new sign-in's token works.
    let here = Browser::new(&app);
    let old = token_in(&app, &console, &here, "ana", PASSWORD).await;
    let elsewhere = token_in(&app, &console, &Browser::new(&app), "ana", PASSWORD).await;
    assert_eq!(accepted(&app, &console, &old).await, EVERYWHERE);
    let done = account_form(&here, "/account/sessions/end-others", &[]).await;
    assert_eq!(done, "/account?done=session_ended");
    assert_eq!(accepted(&app, &console, &old).await, NOWHERE, "end others");
    assert_eq!(accepted(&app, &console, &elsewhere).await, NOWHERE);
    assert!(here.signed_in().await, "this browser stays");
    let new = token_again(&app, &console, &here).await;
    assert_eq!(accepted(&app, &console, &new).await, EVERYWHERE);

    // A password changed on the account page.
    let changed = account_form(
        &here,
        "/account/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", "a second passphrase"),
        ],
    )
    .await;
    assert_eq!(changed, "/account?done=password_changed");
    assert_eq!(accepted(&app, &console, &new).await, NOWHERE, "own change");
    let after_change = token_in(
        &app,
        &console,
        &Browser::new(&app),
        "ana",
        "a second passphrase",
    )
    .await;
    assert_eq!(accepted(&app, &console, &after_change).await, EVERYWHERE);

    // A reset by mail.
    reset_by_mail(&app, &sink, "ana", "a third passphrase").await;
    assert_eq!(
        accepted(&app, &console, &after_change).await,
        NOWHERE,
        "reset"
    );
    let after_reset = token_in(
        &app,
        &console,
        &Browser::new(&app),
        "ana",
        "a third passphrase",
    )
    .await;
    assert_eq!(accepted(&app, &console, &after_reset).await, EVERYWHERE);

    // An operator sets the password.
    let set = admin_call(
        &app,
        &boss,
        Method::POST,
        &format!("/users/{ana}/password"),
        Some(json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(set, 200);
    assert_eq!(
        accepted(&app, &console, &after_reset).await,
        NOWHERE,
        "admin-set"
    );
    let after_set = token_in(&app, &console, &Browser::new(&app), "ana", PASSWORD).await;
    assert_eq!(accepted(&app, &console, &after_set).await, EVERYWHERE);

    // An operator ends every session.
    let ended = admin_call(
        &app,
        &boss,
        Method::DELETE,
        &format!("/users/{ana}/sessions"),
        None,
    )
    .await;
    assert_eq!(ended, 200);
    assert_eq!(
        accepted(&app, &console, &after_set).await,
        NOWHERE,
        "admin end sessions"
    );
    let fresh = token_in(&app, &console, &Browser::new(&app), "ana", PASSWORD).await;

    // Disabled: refused; enabled again, the earlier token stays refused.
    let disabled = admin_call(
        &app,
        &boss,
        Method::POST,
        &format!("/users/{ana}/disable"),
        None,
    )
    .await;
    assert_eq!(disabled, 200);
    assert_eq!(accepted(&app, &console, &fresh).await, NOWHERE, "disabled");
    let enabled = admin_call(
        &app,
        &boss,
        Method::POST,
        &format!("/users/{ana}/enable"),
        None,
    )
    .await;
    assert_eq!(enabled, 204);
    assert_eq!(
        accepted(&app, &console, &fresh).await,
        NOWHERE,
        "enabled again"
    );

    // Deleted.
    let last = token_in(&app, &console, &Browser::new(&app), "ana", PASSWORD).await;
    assert_eq!(accepted(&app, &console, &last).await, EVERYWHERE);
    let deleted = admin_call(&app, &boss, Method::DELETE, &format!("/users/{ana}"), None).await;
    assert_eq!(deleted, 204);
    assert_eq!(accepted(&app, &console, &last).await, NOWHERE, "deleted");

    // The operator's own token was never touched.
    assert_eq!(accepted(&app, &console, &boss).await, EVERYWHERE);
    app.stop().await;
}
