//! Tokens over time: refresh rotation and reuse detection, lifetimes with the clock injected,
//! and races on one refresh token.

use munjigi::clock::Clock;
use munjigi::oauth::client::AuthMethod;
use openidconnect::{OAuth2TokenResponse, RefreshToken};

use crate::common::browser::{Browser, location, query};
use crate::common::fixtures::{REDIRECT, Registered, TokenReply, auth_url};
use crate::common::{
    Backend, TestApp, TestDb, rp, spawn_app, spawn_app_tweaked, spawn_app_with_clock,
};
use crate::on_both_backends;

const DAY: i64 = 86_400;
const OFFLINE: &[(&str, &str)] = &[("scope", "openid profile email offline_access")];

/// Signs in (once per browser) and returns a fresh code → token response with a refresh token.
async fn tokens(app: &TestApp, c: &Registered, browser: &Browser) -> TokenReply {
    let back = browser.get(&auth_url(&c.id, OFFLINE)).await;
    let code = query(&location(&back))
        .get("code")
        .cloned()
        .unwrap_or_else(|| panic!("no code: {}", location(&back)));
    let reply = app.redeem(c, &code).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    reply
}

async fn signed_in_browser(app: &TestApp, c: &Registered, username: &str) -> Browser {
    let browser = Browser::new(app);
    let back = browser
        .sign_in(
            &auth_url(&c.id, OFFLINE),
            username,
            "correct horse battery staple",
        )
        .await;
    assert!(back.starts_with(REDIRECT));
    browser
}

async fn refresh(app: &TestApp, c: &Registered, rt: &str, scope: Option<&str>) -> TokenReply {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", rt)];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    app.token(c, &form).await
}

fn rt(reply: &TokenReply) -> String {
    reply.json["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn userinfo_status(app: &TestApp, access: &str) -> u16 {
    let r = app
        .http
        .get(app.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await;
    r.map(|r| r.status().as_u16()).unwrap_or_default()
}

on_both_backends!(
    refresh_rotates_and_reuse_revokes_the_family,
    refresh_narrows_scope_and_stays_with_its_client,
    refresh_with_the_openidconnect_rp,
    lifetimes_follow_the_clock,
    disabled_user_or_deleted_client_ends_the_family,
    grace_window_allows_a_quick_retry,
    racing_refreshes_have_one_winner,
);

async fn refresh_rotates_and_reuse_revokes_the_family(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    app.user("haneul").await;
    let browser = signed_in_browser(&app, &c, "haneul").await;
    let first = tokens(&app, &c, &browser).await;
    let rt1 = rt(&first);
    assert!(!rt1.is_empty());

    let second = refresh(&app, &c, &rt1, None).await;
    assert_eq!(second.status, 200, "{}", second.json);
    let rt2 = rt(&second);
    assert!(!rt2.is_empty() && rt2 != rt1, "rotated");
    assert!(
        second.json["id_token"].is_string(),
        "openid grant: a new id_token"
    );
    let access2 = second.json["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(userinfo_status(&app, &access2).await, 200);

    // The old token again: theft is assumed, the whole family ends.
    let reuse = refresh(&app, &c, &rt1, None).await;
    assert_eq!(
        (reuse.status, reuse.json["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let after = refresh(&app, &c, &rt2, None).await;
    assert_eq!(
        after.json["error"], "invalid_grant",
        "the newest token is revoked too"
    );
    assert_eq!(
        userinfo_status(&app, &access2).await,
        401,
        "and the access tokens"
    );
    let first_access = first.json["access_token"].as_str().unwrap_or_default();
    assert_eq!(userinfo_status(&app, first_access).await, 401);
    app.stop().await;
}

async fn refresh_narrows_scope_and_stays_with_its_client(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let other = app.client(AuthMethod::ClientSecretBasic, true).await;
    app.user("garam").await;
    let browser = signed_in_browser(&app, &c, "garam").await;
    let first = tokens(&app, &c, &browser).await;

    let stolen = refresh(&app, &other, &rt(&first), None).await;
    assert_eq!(
        stolen.json["error"], "invalid_grant",
        "bound to the client that received it"
    );

    let wider = refresh(&app, &c, &rt(&first), Some("openid profile admin")).await;
    assert_eq!(wider.json["error"], "invalid_scope");
    let narrow = refresh(&app, &c, &rt(&first), Some("openid email")).await;
    assert_eq!(narrow.status, 200, "{}", narrow.json);
    assert_eq!(narrow.json["scope"], "openid email");
    // The new refresh token keeps the grant's scope (RFC 6749 §6).
    let back = refresh(&app, &c, &rt(&narrow), None).await;
    assert_eq!(back.json["scope"], "openid profile email offline_access");
    app.stop().await;
}

async fn refresh_with_the_openidconnect_rp(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    app.user("nari").await;
    let browser = signed_in_browser(&app, &c, "nari").await;
    let first = tokens(&app, &c, &browser).await;
    let relying_party = rp::discover(&app.base, &c.id, c.secret.as_deref(), REDIRECT).await;
    let presented = RefreshToken::new(rt(&first));
    let request = relying_party
        .exchange_refresh_token(&presented)
        .unwrap_or_else(|e| panic!("{e}"));
    let refreshed = request
        .request_async(&rp::http)
        .await
        .unwrap_or_else(|e| panic!("refresh: {e:?}"));
    assert!(
        refreshed
            .refresh_token()
            .is_some_and(|t| t.secret() != &rt(&first))
    );
    assert_eq!(
        userinfo_status(&app, refreshed.access_token().secret()).await,
        200
    );
    app.stop().await;
}

async fn lifetimes_follow_the_clock(db: TestDb) {
    let clock = Clock::fixed(1_800_000_000);
    let app = spawn_app_with_clock(&db, clock.clone()).await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    app.user("sora").await;
    let browser = signed_in_browser(&app, &c, "sora").await;

    // Codes live 60 seconds.
    let back = browser.get(&auth_url(&c.id, OFFLINE)).await;
    let code = query(&location(&back))
        .get("code")
        .cloned()
        .unwrap_or_default();
    clock.advance(61);
    assert_eq!(
        app.redeem(&c, &code).await.json["error"],
        "invalid_grant",
        "expired code"
    );

    // Access tokens live 600 seconds.
    let reply = tokens(&app, &c, &browser).await;
    let access = reply.json["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(reply.json["expires_in"], 600);
    clock.advance(599);
    assert_eq!(userinfo_status(&app, &access).await, 200);
    clock.advance(2);
    assert_eq!(
        userinfo_status(&app, &access).await,
        401,
        "expired access token"
    );

    // Refresh tokens: idle lifetime 30 days...
    let idle = tokens(&app, &c, &browser).await;
    clock.advance(30 * DAY + 1);
    assert_eq!(
        refresh(&app, &c, &rt(&idle), None).await.json["error"],
        "invalid_grant",
        "idle expiry"
    );

    // ...and an absolute lifetime of 90 days, however often they are used. (The browser
    // session itself ended after 7 days: sign in again.)
    let browser = signed_in_browser(&app, &c, "sora").await;
    let mut current = rt(&tokens(&app, &c, &browser).await);
    for _ in 0..3 {
        clock.advance(29 * DAY);
        let next = refresh(&app, &c, &current, None).await;
        assert_eq!(next.status, 200, "{}", next.json);
        current = rt(&next);
    }
    clock.advance(4 * DAY);
    assert_eq!(
        refresh(&app, &c, &current, None).await.json["error"],
        "invalid_grant",
        "absolute expiry"
    );
    app.stop().await;
}

async fn disabled_user_or_deleted_client_ends_the_family(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let user_id = app.user("bom").await;
    let browser = signed_in_browser(&app, &c, "bom").await;
    let reply = tokens(&app, &c, &browser).await;
    let disabled = sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
        .bind(true)
        .bind(&user_id)
        .execute(app.store.pool())
        .await;
    assert!(disabled.is_ok(), "{disabled:?}");
    assert_eq!(
        refresh(&app, &c, &rt(&reply), None).await.json["error"],
        "invalid_grant"
    );
    let access = reply.json["access_token"].as_str().unwrap_or_default();
    assert_eq!(userinfo_status(&app, access).await, 401);

    let c2 = app.client(AuthMethod::ClientSecretBasic, true).await;
    app.user("yeoreum").await;
    let browser = signed_in_browser(&app, &c2, "yeoreum").await;
    let reply = tokens(&app, &c2, &browser).await;
    assert!(app.store.delete_client(&c2.id).await.unwrap_or(false));
    let gone = refresh(&app, &c2, &rt(&reply), None).await;
    // The client may still be cached for a few seconds (invalid_grant) or already unknown
    // (invalid_client): either way its tokens are gone with it.
    let error = gone.json["error"].as_str().unwrap_or_default().to_owned();
    assert!(
        error == "invalid_grant" || error == "invalid_client",
        "{}",
        gone.json
    );
    let hash = munjigi::oauth::secret::sha256_hex(&rt(&reply));
    assert!(
        matches!(app.store.refresh_token(&hash).await, Ok(None)),
        "the family was deleted"
    );
    app.stop().await;
}

async fn grace_window_allows_a_quick_retry(db: TestDb) {
    let clock = Clock::fixed(1_800_000_000);
    let app = spawn_app_tweaked(&db, clock.clone(), |b| b.refresh_reuse_grace_secs(5)).await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    app.user("gaeul").await;
    let browser = signed_in_browser(&app, &c, "gaeul").await;
    let rt1 = rt(&tokens(&app, &c, &browser).await);
    let lost = refresh(&app, &c, &rt1, None).await;
    assert_eq!(lost.status, 200);
    clock.advance(3);
    let retry = refresh(&app, &c, &rt1, None).await;
    assert_eq!(
        retry.status, 200,
        "a retry within the grace window: {}",
        retry.json
    );
    assert_eq!(
        refresh(&app, &c, &rt(&lost), None).await.json["error"],
        "invalid_grant",
        "the successor the retry replaced is retired: one live token per family"
    );
    let next = refresh(&app, &c, &rt(&retry), None).await;
    assert_eq!(next.status, 200, "and the family lives on: {}", next.json);
    clock.advance(10);
    let late = refresh(&app, &c, &rt1, None).await;
    assert_eq!(
        late.json["error"], "invalid_grant",
        "after the window it is reuse"
    );
    assert_eq!(
        refresh(&app, &c, &rt(&next), None).await.json["error"],
        "invalid_grant",
        "family revoked"
    );

    // Issued, rotated and rotated again in one second (a quick client): the lost answer may
    // still be retried — the predecessor's rotation is not the successor's use.
    let rt3 = rt(&tokens(&app, &c, &browser).await);
    let quick = refresh(&app, &c, &rt3, None).await;
    assert_eq!(quick.status, 200);
    let lost = refresh(&app, &c, &rt(&quick), None).await;
    assert_eq!(lost.status, 200);
    clock.advance(2);
    let retry = refresh(&app, &c, &rt(&quick), None).await;
    assert_eq!(
        retry.status, 200,
        "a retry after rotations in the same second: {}",
        retry.json
    );

    // Within the window, but the successor was already used: not a lost answer but reuse.
    let rt2 = rt(&tokens(&app, &c, &browser).await);
    clock.advance(1);
    let used = refresh(&app, &c, &rt2, None).await;
    clock.advance(1);
    let newest = refresh(&app, &c, &rt(&used), None).await;
    assert_eq!(newest.status, 200);
    assert_eq!(
        refresh(&app, &c, &rt2, None).await.json["error"],
        "invalid_grant"
    );
    assert_eq!(
        refresh(&app, &c, &rt(&newest), None).await.json["error"],
        "invalid_grant",
        "family revoked"
    );
    app.stop().await;
}

async fn racing_refreshes_have_one_winner(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    app.user("gyeoul").await;
    let browser = signed_in_browser(&app, &c, "gyeoul").await;
    let trials = if db.backend == Backend::Postgres {
        200
    } else {
        50
    };
    for trial in 0..trials {
        let rt1 = rt(&tokens(&app, &c, &browser).await);
        let (a, b) = tokio::join!(refresh(&app, &c, &rt1, None), refresh(&app, &c, &rt1, None));
        let winners: Vec<&TokenReply> = [&a, &b].into_iter().filter(|r| r.status == 200).collect();
        assert_eq!(winners.len(), 1, "trial {trial}: {} / {}", a.json, b.json);
        // No grace window: the loser's attempt is reuse, so the winner's new token is dead too.
        let winner_rt = rt(winners[0]);
        assert_eq!(
            refresh(&app, &c, &winner_rt, None).await.json["error"],
            "invalid_grant",
            "trial {trial}"
        );
    }
    app.stop().await;
}
