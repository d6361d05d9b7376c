//! Access tokens for resource servers (RFC 8707 `resource`, per-client `--audience`) and the
//! account's role with the `roles` scope, in the access token, the ID token and userinfo.

use munjigi::account::user::{NewUser, Role, create};
use munjigi::oauth::client::{AuthMethod, NewClient};
use munjigi::oauth::grant::GrantType;
use serde_json::json;

use crate::common::fixtures::{PASSWORD, REDIRECT, VERIFIER, jwt_claims, web_client};
use crate::common::{TestDb, spawn_app};
use crate::on_both_backends;

on_both_backends!(
    access_tokens_name_the_resource_server_the_client_registered,
    the_roles_scope_releases_the_role
);

const API: &str = "https://api.example.com";
const BILLING: &str = "https://billing.example.com";

async fn access_tokens_name_the_resource_server_the_client_registered(db: TestDb) {
    let app = spawn_app(&db).await;
    let web = app
        .register(NewClient {
            access_token_audience: vec![API.into(), BILLING.into()],
            require_mfa: false,
            ..web_client(AuthMethod::ClientSecretBasic, true)
        })
        .await;
    let machine = app
        .register(NewClient {
            name: "Worker".into(),
            redirect_uris: vec![],
            grant_types: vec![GrantType::ClientCredentials],
            scopes: "api.read".into(),
            access_token_audience: vec![API.into()],
            require_mfa: false,
            ..web_client(AuthMethod::ClientSecretBasic, true)
        })
        .await;
    let plain = app.client(AuthMethod::ClientSecretBasic, true).await;
    app.user("dana").await;

    // A resource the client did not register: refused before the code is used up.
    let code = app.code_for(&web, "dana", &[]).await;
    let exchange = |code: String, resource: &'static str| {
        let app = &app;
        let web = &web;
        async move {
            let mut form = vec![
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ];
            if !resource.is_empty() {
                form.push(("resource", resource));
            }
            app.token(web, &form).await
        }
    };
    let refused = exchange(code.clone(), "https://evil.example").await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json["error"], "invalid_target", "{}", refused.json);
    let issued = exchange(code, API).await;
    assert_eq!(issued.status, 200, "{}", issued.json);
    let claims = jwt_claims(issued.json["access_token"].as_str().unwrap_or_default());
    // With openid the token is also for munjigi's userinfo endpoint.
    assert_eq!(claims["aud"], json!([API, app.base]), "{claims}");
    let userinfo = app
        .http
        .get(app.url("/userinfo"))
        .bearer_auth(issued.json["access_token"].as_str().unwrap_or_default())
        .send()
        .await
        .expect("userinfo");
    assert_eq!(userinfo.status(), 200);

    // No resource named: every resource the client registered.
    let code = app.code_for(&web, "dana", &[]).await;
    let issued = exchange(code, "").await;
    let claims = jwt_claims(issued.json["access_token"].as_str().unwrap_or_default());
    assert_eq!(claims["aud"], json!([API, BILLING, app.base]), "{claims}");

    // A machine token is for its resource server alone; introspection says so.
    let token = app
        .token(&machine, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(token.status, 200, "{}", token.json);
    let access = token.json["access_token"].as_str().unwrap_or_default();
    assert_eq!(jwt_claims(access)["aud"], API);
    let introspected = app
        .client_post(&machine, "/introspect", &[("token", access)])
        .await;
    assert_eq!(introspected.json["aud"], API, "{}", introspected.json);
    let refused = app
        .token(
            &machine,
            &[("grant_type", "client_credentials"), ("resource", BILLING)],
        )
        .await;
    assert_eq!(refused.json["error"], "invalid_target");

    // A client that registered no audience keeps munjigi as its tokens' audience.
    let code = app.code_for(&plain, "dana", &[]).await;
    let issued = app.redeem(&plain, &code).await;
    let claims = jwt_claims(issued.json["access_token"].as_str().unwrap_or_default());
    assert_eq!(claims["aud"], app.base.as_str(), "{claims}");
    app.stop().await;
}

async fn the_roles_scope_releases_the_role(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = app
        .register(NewClient {
            scopes: "openid profile email roles".into(),
            ..web_client(AuthMethod::ClientSecretBasic, true)
        })
        .await;
    create(
        &app.store,
        NewUser {
            username: "root".into(),
            email: "root@example.com".into(),
            name: None,
            password: Some(PASSWORD.into()),
            role: Role::Admin,
            email_verified: true,
        },
        app.clock.now(),
    )
    .await
    .expect("create admin");
    app.user("dana").await;

    for (username, role) in [("root", "admin"), ("dana", "user")] {
        let code = app
            .code_for(&c, username, &[("scope", "openid roles")])
            .await;
        let issued = app.redeem(&c, &code).await;
        assert_eq!(issued.status, 200, "{}", issued.json);
        let access = issued.json["access_token"].as_str().unwrap_or_default();
        assert_eq!(jwt_claims(access)["role"], role);
        let id_token = issued.json["id_token"].as_str().unwrap_or_default();
        assert_eq!(jwt_claims(id_token)["role"], role);
        let userinfo: serde_json::Value = app
            .http
            .get(app.url("/userinfo"))
            .bearer_auth(access)
            .send()
            .await
            .expect("userinfo")
            .json()
            .await
            .unwrap_or_default();
        assert_eq!(userinfo["role"], role, "{userinfo}");
    }
    // Without the scope, no role anywhere.
    let code = app.code_for(&c, "root", &[("scope", "openid")]).await;
    let issued = app.redeem(&c, &code).await;
    let access = issued.json["access_token"].as_str().unwrap_or_default();
    assert!(jwt_claims(access).get("role").is_none());
    let discovery = app.get_json("/.well-known/openid-configuration").await;
    assert!(
        discovery["scopes_supported"]
            .as_array()
            .is_some_and(|s| s.contains(&json!("roles")))
    );
    app.stop().await;
}
