//! client_credentials, revocation (RFC 7009) and introspection (RFC 7662), with the
//! `openidconnect` crate as the client where it can be.

use munjigi::clock::Clock;
use munjigi::oauth::client::AuthMethod;
use openidconnect::{AccessToken, IntrospectionUrl, TokenIntrospectionResponse};

use crate::common::browser::{Browser, query};
use crate::common::fixtures::{PASSWORD, REDIRECT, Registered, TokenReply, auth_url};
use crate::common::{TestApp, TestDb, rp, spawn_app, spawn_app_with_clock};
use crate::on_both_backends;

async fn user_tokens(app: &TestApp, c: &Registered, username: &str) -> TokenReply {
    app.user(username).await;
    let browser = Browser::new(app);
    let back = browser
        .sign_in(
            &auth_url(&c.id, &[("scope", "openid profile offline_access")]),
            username,
            PASSWORD,
        )
        .await;
    let code = query(&back).get("code").cloned().unwrap_or_default();
    let reply = app.redeem(c, &code).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    reply
}

async fn introspect(app: &TestApp, as_client: &Registered, tok: &str) -> serde_json::Value {
    token_like(app, as_client, "/introspect", tok).await.json
}

async fn token_like(app: &TestApp, c: &Registered, path: &str, tok: &str) -> TokenReply {
    app.client_post(c, path, &[("token", tok)]).await
}

fn s(v: &serde_json::Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_owned()
}

on_both_backends!(
    client_credentials_issue_machine_tokens,
    revocation_of_refresh_and_access_tokens,
    introspection_tells_active_from_inactive,
);

async fn client_credentials_issue_machine_tokens(db: TestDb) {
    let app = spawn_app(&db).await;
    let m = app.machine().await;
    let reply = app.token(&m, &[("grant_type", "client_credentials")]).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_eq!(reply.json["scope"], "api.read api.write");
    assert!(reply.json.get("refresh_token").is_none() && reply.json.get("id_token").is_none());
    let narrow = app
        .token(
            &m,
            &[("grant_type", "client_credentials"), ("scope", "api.read")],
        )
        .await;
    assert_eq!(narrow.json["scope"], "api.read");
    let wide = app
        .token(
            &m,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "api.read admin"),
            ],
        )
        .await;
    assert_eq!(wide.json["error"], "invalid_scope");
    let info = introspect(&app, &m, &s(&reply.json, "access_token")).await;
    assert_eq!(info["active"], true);
    assert_eq!(
        info["sub"].as_str(),
        Some(m.id.as_str()),
        "the client is the subject"
    );
    // A client without the grant is refused; so is a wrong secret.
    let web = app.client(AuthMethod::ClientSecretBasic, false).await;
    let refused = app
        .token(&web, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(refused.json["error"], "unauthorized_client");
    let wrong = Registered {
        id: m.id.clone(),
        secret: Some("y".repeat(43)),
    };
    assert_eq!(
        app.token(&wrong, &[("grant_type", "client_credentials")])
            .await
            .status,
        401
    );
    app.stop().await;
}

async fn revocation_of_refresh_and_access_tokens(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let other = app.client(AuthMethod::ClientSecretBasic, true).await;
    // The oauth2 crate refuses a revocation URL that is not https (ours is http on loopback
    // here), so revocation is exercised with plain RFC 7009 form posts.

    // A refresh token: revoking it ends the family and its access tokens.
    let first = user_tokens(&app, &c, "jisoo").await;
    let rt = s(&first.json, "refresh_token");
    // Another client's attempt changes nothing (and is answered 200 all the same).
    assert_eq!(token_like(&app, &other, "/revoke", &rt).await.status, 200);
    assert_eq!(introspect(&app, &c, &rt).await["active"], true);
    let revoked = token_like(&app, &c, "/revoke", &rt).await;
    assert_eq!(revoked.status, 200);
    assert_eq!(
        revoked
            .headers
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let refresh = app
        .token(
            &c,
            &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
        )
        .await;
    assert_eq!(refresh.json["error"], "invalid_grant");
    assert_eq!(
        introspect(&app, &c, &s(&first.json, "access_token")).await["active"],
        false
    );

    // An access token alone: by jti, the rest of its grant untouched.
    let second = user_tokens(&app, &c, "jennie").await;
    let access = s(&second.json, "access_token");
    assert_eq!(token_like(&app, &c, "/revoke", &access).await.status, 200);
    let r = app
        .http
        .get(app.url("/userinfo"))
        .bearer_auth(&access)
        .send()
        .await;
    assert_eq!(
        r.map(|r| r.status().as_u16()).ok(),
        Some(401),
        "userinfo refuses a revoked token"
    );
    let again = app
        .token(
            &c,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &s(&second.json, "refresh_token")),
            ],
        )
        .await;
    assert_eq!(again.status, 200, "the refresh token lives on");

    // Unknown and malformed tokens: 200, as RFC 7009 §2.2 says.
    for junk in ["nothing-like-a-token", "a.b.c"] {
        assert_eq!(token_like(&app, &c, "/revoke", junk).await.status, 200);
    }
    let anonymous = Registered {
        id: "nobody".into(),
        secret: Some("z".repeat(43)),
    };
    assert_eq!(
        token_like(&app, &anonymous, "/revoke", &rt).await.status,
        401,
        "client authentication required"
    );
    app.stop().await;
}

async fn introspection_tells_active_from_inactive(db: TestDb) {
    let clock = Clock::fixed(1_800_000_000);
    let app = spawn_app_with_clock(&db, clock.clone()).await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let resource_server = app.machine().await;
    let reply = user_tokens(&app, &c, "lisa").await;
    let access = s(&reply.json, "access_token");
    let rt = s(&reply.json, "refresh_token");

    let rp_client = rp::discover(&app.base, &c.id, c.secret.as_deref(), REDIRECT)
        .await
        .set_introspection_url(
            IntrospectionUrl::new(app.url("/introspect")).unwrap_or_else(|e| panic!("{e}")),
        );
    let presented = AccessToken::new(access.clone());
    let answer = rp_client
        .introspect(&presented)
        .request_async(&rp::http)
        .await;
    let answer = answer.unwrap_or_else(|e| panic!("introspect: {e:?}"));
    assert!(answer.active());
    assert_eq!(answer.username(), Some("lisa"));

    // A resource server (another client) may introspect access tokens, not refresh tokens.
    let by_rs = introspect(&app, &resource_server, &access).await;
    assert_eq!(
        (by_rs["active"].as_bool(), by_rs["client_id"].as_str()),
        (Some(true), Some(c.id.as_str()))
    );
    assert_eq!(
        introspect(&app, &resource_server, &rt).await["active"],
        false,
        "foreign refresh token"
    );
    let own_rt = introspect(&app, &c, &rt).await;
    assert_eq!(
        (own_rt["active"].as_bool(), own_rt["token_type"].as_str()),
        (Some(true), Some("refresh_token"))
    );

    for junk in ["garbage", "a.b.c", ""] {
        let r = token_like(&app, &c, "/introspect", junk).await;
        assert!(
            r.json["active"] == false || r.json["error"] == "invalid_request",
            "{junk}: {}",
            r.json
        );
    }
    let rotated = app
        .token(
            &c,
            &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
        )
        .await;
    assert_eq!(rotated.status, 200);
    assert_eq!(
        introspect(&app, &c, &rt).await["active"],
        false,
        "rotated refresh token"
    );

    clock.advance(601);
    assert_eq!(
        introspect(&app, &c, &access).await["active"],
        false,
        "expired access token"
    );
    app.stop().await;
}

crate::on_postgres!(a_deleted_client_is_refused_at_once_on_every_instance);

/// Client changes are announced (PostgreSQL NOTIFY): a second instance that has the client
/// cached refuses it right after it is deleted elsewhere, not 10 seconds later.
async fn a_deleted_client_is_refused_at_once_on_every_instance(db: TestDb) {
    let a = spawn_app(&db).await;
    let b = spawn_app(&db).await;
    let m = a.machine().await;
    // Give b's listener a moment to be connected, then cache the client on b.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        b.token(&m, &[("grant_type", "client_credentials")])
            .await
            .status,
        200
    );
    assert!(a.store.delete_client(&m.id).await.unwrap_or(false));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let status = b
            .token(&m, &[("grant_type", "client_credentials")])
            .await
            .status;
        if status == 401 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still {status} after 3 s (cache lives 10 s)"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    a.stop().await;
    b.stop().await;
}
