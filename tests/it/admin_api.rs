//! The admin REST API end to end: who may call it (no token 401, no admin role 403, admin
//! 200, the CLI's bootstrap token), what it changes (clients, users, keys), the audit trail of
//! it, its one error shape, and its OpenAPI document checked as an OpenAPI 3.1 specification.

use munjigi::account::user::{NewUser, Role, create};
use munjigi::oauth::client::{AuthMethod, NewClient};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::fixtures::{PASSWORD, auth_url, web_client};
use crate::common::process::{munjigi, run};
use crate::common::{TestApp, TestDb, spawn_app};
use crate::on_both_backends;

on_both_backends!(
    only_admins_may_call_the_admin_api,
    clients_users_keys_and_audit_through_the_api,
    the_openapi_document_describes_every_route,
    an_admin_takes_lost_second_factors_off_an_account,
    a_token_for_another_audience_is_refused,
    client_and_account_ids_never_collide,
    a_role_change_is_visible_in_the_audit_trail,
);

const API: &str = "/admin/api/v1";

struct Reply {
    status: u16,
    json: Value,
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut request = app.http.request(method, app.url(&format!("{API}{path}")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("admin API");
    let status = response.status().as_u16();
    let json = response.json().await.unwrap_or(Value::Null);
    Reply { status, json }
}

/// An access token of `username` for a first-party client allowed the `admin` scope.
async fn token_of(app: &TestApp, username: &str) -> String {
    let console = app
        .register(NewClient {
            name: "Admin console".into(),
            scopes: "openid profile admin".into(),
            ..web_client(AuthMethod::ClientSecretBasic, true)
        })
        .await;
    let code = app
        .code_for(&console, username, &[("scope", "openid admin")])
        .await;
    let issued = app.redeem(&console, &code).await;
    assert_eq!(issued.status, 200, "{}", issued.json);
    issued.json["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn admin_user(app: &TestApp, username: &str) -> String {
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

fn assert_error_shape(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.json);
    assert_eq!(reply.json["status"], status, "{}", reply.json);
    assert_eq!(reply.json["code"], code, "{}", reply.json);
    assert!(reply.json["message"].is_string(), "{}", reply.json);
    assert_eq!(
        reply.json["request_id"].as_str().map(str::len),
        Some(36),
        "{}",
        reply.json
    );
    let timestamp = reply.json["timestamp"].as_str().unwrap_or_default();
    assert!(
        timestamp.len() >= 20 && timestamp.ends_with('Z'),
        "{}",
        reply.json
    );
}

async fn only_admins_may_call_the_admin_api(db: TestDb) {
    let app = spawn_app(&db).await;
    admin_user(&app, "root").await;
    app.user("pat").await;

    let anonymous = call(&app, Method::GET, "/clients", None, None).await;
    assert_error_shape(&anonymous, 401, "unauthorized");
    let forged = call(&app, Method::GET, "/clients", Some("not-a-token"), None).await;
    assert_error_shape(&forged, 401, "unauthorized");

    // A person without the admin role asked for `admin`: the token comes without it.
    let plain = token_of(&app, "pat").await;
    assert!(
        !crate::common::fixtures::jwt_claims(&plain)["scope"]
            .as_str()
            .unwrap_or_default()
            .contains("admin")
    );
    let refused = call(&app, Method::GET, "/clients", Some(&plain), None).await;
    assert_error_shape(&refused, 403, "forbidden");

    let admin = token_of(&app, "root").await;
    let allowed = call(&app, Method::GET, "/clients", Some(&admin), None).await;
    assert_eq!(allowed.status, 200, "{}", allowed.json);
    assert!(allowed.json.as_array().is_some_and(|c| c.len() >= 2));

    // The role is checked on every call: a demoted admin's token stops working at once.
    let demoted = call(
        &app,
        Method::PATCH,
        "/users/root",
        Some(&admin),
        Some(json!({"role": "user"})),
    )
    .await;
    assert_eq!(demoted.status, 200, "{}", demoted.json);
    assert_eq!(demoted.json["role"], "user");
    let after = call(&app, Method::GET, "/clients", Some(&admin), None).await;
    assert_error_shape(&after, 403, "forbidden");

    // The CLI's bootstrap token, for automation (and a first admin).
    let out = run(munjigi(db.dir())
        .args(["admin", "token", "--ttl-secs", "300"])
        .env("DATABASE_URL", &db.url)
        .env("MUNJIGI_KEK", &db.kek)
        .env("MUNJIGI_ISSUER", &app.base));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bootstrap = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let users = call(&app, Method::GET, "/users", Some(&bootstrap), None).await;
    assert_eq!(users.status, 200, "{}", users.json);
    // A bootstrap token from another issuer is nobody's.
    let out = run(munjigi(db.dir())
        .args(["admin", "token"])
        .env("DATABASE_URL", &db.url)
        .env("MUNJIGI_KEK", &db.kek)
        .env("MUNJIGI_ISSUER", "http://127.0.0.1:1"));
    let foreign = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let refused = call(&app, Method::GET, "/users", Some(&foreign), None).await;
    assert_error_shape(&refused, 401, "unauthorized");

    // A machine client registered with `admin` among its scopes gets no admin token.
    let machine = app
        .register(NewClient {
            name: "Robot".into(),
            redirect_uris: vec![],
            grant_types: vec![munjigi::oauth::grant::GrantType::ClientCredentials],
            scopes: "admin api.read".into(),
            ..web_client(AuthMethod::ClientSecretBasic, true)
        })
        .await;
    let asked = app
        .token(
            &machine,
            &[("grant_type", "client_credentials"), ("scope", "admin")],
        )
        .await;
    assert_eq!(asked.json["error"], "invalid_scope", "{}", asked.json);

    let unknown = call(&app, Method::GET, "/nothing-here", Some(&bootstrap), None).await;
    assert_error_shape(&unknown, 404, "not_found");
    app.stop().await;
}

async fn clients_users_keys_and_audit_through_the_api(db: TestDb) {
    let app = spawn_app(&db).await;
    let admin_id = admin_user(&app, "root").await;
    let admin = token_of(&app, "root").await;
    let t = Some(admin.as_str());

    // Clients: create, use, rotate the secret, delete.
    let created = call(
        &app,
        Method::POST,
        "/clients",
        t,
        Some(json!({
            "client_name": "Billing",
            "grant_types": ["client_credentials"],
            "scope": "billing.read",
        })),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.json);
    let id = created.json["client"]["client_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let secret = created.json["client_secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let machine = crate::common::fixtures::Registered {
        id: id.clone(),
        secret: Some(secret),
    };
    let cc = [("grant_type", "client_credentials")];
    assert_eq!(app.token(&machine, &cc).await.status, 200);
    let invalid = call(
        &app,
        Method::POST,
        "/clients",
        t,
        Some(json!({
            "client_name": "Bad", "redirect_uris": ["http://evil.example/cb"],
        })),
    )
    .await;
    assert_error_shape(&invalid, 400, "invalid_request");
    let malformed = call(&app, Method::POST, "/clients", t, Some(json!({"nope": 1}))).await;
    assert_error_shape(&malformed, 400, "invalid_request");
    let rotated = call(
        &app,
        Method::POST,
        &format!("/clients/{id}/secret"),
        t,
        None,
    )
    .await;
    assert_eq!(rotated.status, 200, "{}", rotated.json);
    assert_eq!(
        app.token(&machine, &cc).await.status,
        401,
        "the old secret stops at once"
    );
    let renewed = crate::common::fixtures::Registered {
        id: id.clone(),
        secret: rotated.json["client_secret"].as_str().map(str::to_owned),
    };
    assert_eq!(app.token(&renewed, &cc).await.status, 200);
    let changed = call(
        &app,
        Method::PATCH,
        &format!("/clients/{id}"),
        t,
        Some(json!({"client_name": "Billing v2", "access_token_audience": ["https://billing.example.com"]})),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.json);
    let claims = crate::common::fixtures::jwt_claims(
        app.token(&renewed, &cc).await.json["access_token"]
            .as_str()
            .unwrap_or_default(),
    );
    assert_eq!(
        claims["aud"], "https://billing.example.com",
        "the change applies at once"
    );
    let refused = call(
        &app,
        Method::PATCH,
        &format!("/clients/{id}"),
        t,
        Some(json!({"redirect_uris": ["javascript:alert(1)"]})),
    )
    .await;
    assert_error_shape(&refused, 400, "invalid_request");
    let fetched = call(&app, Method::GET, &format!("/clients/{id}"), t, None).await;
    assert_eq!(fetched.json["client_name"], "Billing v2");
    assert!(fetched.json.get("client_secret").is_none());
    assert_eq!(
        call(&app, Method::DELETE, &format!("/clients/{id}"), t, None)
            .await
            .status,
        204
    );
    let gone = call(&app, Method::GET, &format!("/clients/{id}"), t, None).await;
    assert_error_shape(&gone, 404, "not_found");

    // Users: create, search, change, disable (ends access), enable, password, delete.
    let made = call(
        &app,
        Method::POST,
        "/users",
        t,
        Some(json!({
            "username": "yuna", "email": "yuna@example.com", "name": "Yuna Choi",
            "password": PASSWORD,
        })),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.json);
    let weak = call(
        &app,
        Method::POST,
        "/users",
        t,
        Some(json!({
            "username": "weak", "email": "weak@example.com", "password": "password",
        })),
    )
    .await;
    assert_error_shape(&weak, 400, "invalid_request");
    let found = call(&app, Method::GET, "/users?q=CHOI", t, None).await;
    let names: Vec<&str> = found
        .json
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u["username"].as_str())
        .collect();
    assert_eq!(names, ["yuna"], "{}", found.json);
    let none = call(&app, Method::GET, "/users?q=%25", t, None).await;
    assert_eq!(
        none.json.as_array().map(Vec::len),
        Some(0),
        "% is literal: {}",
        none.json
    );
    let renamed = call(
        &app,
        Method::PATCH,
        "/users/yuna",
        t,
        Some(json!({"name": "Yuna C."})),
    )
    .await;
    assert_eq!(renamed.json["name"], "Yuna C.");
    // Consents: the app yuna allowed, withdrawn with its refresh tokens.
    let app_client = app.client(AuthMethod::ClientSecretBasic, false).await;
    let code = app
        .code_for(
            &app_client,
            "yuna",
            &[("scope", "openid offline_access"), ("prompt", "consent")],
        )
        .await;
    let issued = app.redeem(&app_client, &code).await;
    let rt = issued.json["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let consents = call(&app, Method::GET, "/users/yuna/consents", t, None).await;
    assert_eq!(
        consents.json[0]["client_id"],
        app_client.id.as_str(),
        "{}",
        consents.json
    );
    let sessions = call(&app, Method::GET, "/users/yuna/sessions", t, None).await;
    assert_eq!(
        sessions.json.as_array().map(Vec::len),
        Some(1),
        "{}",
        sessions.json
    );
    let withdrawn = call(
        &app,
        Method::DELETE,
        &format!("/users/yuna/consents/{}", app_client.id),
        t,
        None,
    )
    .await;
    assert_eq!(
        withdrawn.json["token_families_revoked"], 1,
        "{}",
        withdrawn.json
    );
    let refresh = app
        .token(
            &app_client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", rt.as_str()),
            ],
        )
        .await;
    assert_eq!(refresh.json["error"], "invalid_grant", "{}", refresh.json);
    let again = call(
        &app,
        Method::DELETE,
        &format!("/users/yuna/consents/{}", app_client.id),
        t,
        None,
    )
    .await;
    assert_error_shape(&again, 404, "not_found");

    let disabled = call(&app, Method::POST, "/users/yuna/disable", t, None).await;
    assert_eq!(disabled.status, 200, "{}", disabled.json);
    let browser = crate::common::browser::Browser::new(&app);
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let page = browser
        .follow(
            browser
                .get(&crate::common::fixtures::auth_url(&c.id, &[]))
                .await,
        )
        .await;
    assert_eq!(
        browser.login(page, "yuna", PASSWORD).await.status(),
        401,
        "disabled"
    );
    assert_eq!(
        call(&app, Method::POST, "/users/yuna/enable", t, None)
            .await
            .status,
        204
    );
    let password = call(
        &app,
        Method::POST,
        "/users/yuna/password",
        t,
        Some(json!({"password": "another long passphrase"})),
    )
    .await;
    assert_eq!(password.status, 200, "{}", password.json);
    assert_eq!(
        call(&app, Method::DELETE, "/users/yuna/sessions", t, None)
            .await
            .status,
        200
    );
    assert_eq!(
        call(&app, Method::DELETE, "/users/yuna", t, None)
            .await
            .status,
        204
    );
    assert_error_shape(
        &call(&app, Method::GET, "/users/yuna", t, None).await,
        404,
        "not_found",
    );

    // Keys.
    let keys = call(&app, Method::GET, "/keys", t, None).await;
    assert_eq!(keys.json.as_array().map(Vec::len), Some(2), "{}", keys.json);
    let rotated = call(&app, Method::POST, "/keys/rotate", t, None).await;
    assert_eq!(
        rotated.json.as_array().map(Vec::len),
        Some(2),
        "{}",
        rotated.json
    );
    let keys = call(&app, Method::GET, "/keys", t, None).await;
    let next = keys
        .json
        .as_array()
        .into_iter()
        .flatten()
        .filter(|k| k["state"] == "next")
        .count();
    assert_eq!(next, 2, "{}", keys.json);

    // The audit trail names the admin who made each change.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let events = call(&app, Method::GET, "/audit-events?limit=1000", t, None).await;
        let actions: Vec<String> = events
            .json
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["kind"] == "admin" && e["detail"]["actor"] == admin_id.as_str())
            .filter_map(|e| e["detail"]["action"].as_str().map(str::to_owned))
            .collect();
        let revoked = events
            .json
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e["kind"] == "consent_revoked");
        let wanted = [
            "client.create",
            "client.update",
            "client.rotate_secret",
            "client.delete",
            "user.create",
            "user.update",
            "user.disable",
            "user.enable",
            "user.set_password",
            "user.sessions.revoke",
            "user.delete",
            "keys.rotate",
        ];
        if revoked && wanted.iter().all(|w| actions.iter().any(|a| a == w)) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "missing admin events: {actions:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    app.stop().await;
}

async fn an_admin_takes_lost_second_factors_off_an_account(db: TestDb) {
    let app = spawn_app(&db).await;
    admin_user(&app, "root").await;
    let token = token_of(&app, "root").await;
    app.user("minji").await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let phone = crate::two_factor::signed_in(&app, &c, "minji").await;
    crate::two_factor::enrol(&app, &phone).await;
    let before = call(
        &app,
        Method::GET,
        "/users/minji/second-factors",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(before.status, 200, "{}", before.json);
    assert!(before.json["authenticator_app_since"].is_i64());
    assert_eq!(before.json["recovery_codes_left"], 10);
    assert_eq!(before.json["passkeys"], json!([]));
    let reset = call(
        &app,
        Method::POST,
        "/users/minji/second-factors/reset",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(reset.status, 200, "{}", reset.json);
    assert_eq!(reset.json["authenticator_app"], true);
    assert_eq!(reset.json["passkeys"], 0);
    assert!(!phone.signed_in().await, "the account's sessions ended");
    let after = call(
        &app,
        Method::GET,
        "/users/minji/second-factors",
        Some(&token),
        None,
    )
    .await;
    assert!(after.json["authenticator_app_since"].is_null());
    // The password alone signs in again (and can set up new factors).
    let back = crate::common::browser::Browser::new(&app)
        .sign_in(&auth_url(&c.id, &[]), "minji", PASSWORD)
        .await;
    assert!(back.contains("code="), "{back}");
    let missing = call(
        &app,
        Method::POST,
        "/users/nobody/second-factors/reset",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(missing.status, 404);
}

async fn the_openapi_document_describes_every_route(db: TestDb) {
    let app = spawn_app(&db).await;
    let response = app.get(&format!("{API}/openapi.json")).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap_or_default();
    let spec =
        oas3::from_json(&text).unwrap_or_else(|e| panic!("not an OpenAPI 3.1 document: {e}"));
    let version = spec
        .validate_version()
        .expect("a supported OpenAPI version");
    assert_eq!((version.major, version.minor), (3, 1));
    let mut operations: Vec<String> = spec
        .operations()
        .map(|(path, method, operation)| {
            // Every response body refers to a schema that exists.
            for response in operation.responses.iter().flatten() {
                if let oas3::spec::ObjectOrReference::Ref { ref_path, .. } = response.1 {
                    panic!("unexpected response reference {ref_path}");
                }
            }
            format!("{method} {path}")
        })
        .collect();
    operations.sort();
    let expected = [
        "DELETE /clients/{id}",
        "DELETE /users/{id}",
        "DELETE /users/{id}/consents/{client_id}",
        "DELETE /users/{id}/sessions",
        "GET /audit-events",
        "GET /clients",
        "GET /clients/{id}",
        "GET /keys",
        "GET /users",
        "GET /users/{id}",
        "GET /users/{id}/consents",
        "GET /users/{id}/second-factors",
        "GET /users/{id}/sessions",
        "PATCH /clients/{id}",
        "PATCH /users/{id}",
        "POST /clients",
        "POST /clients/{id}/secret",
        "POST /keys/rotate",
        "POST /users",
        "POST /users/{id}/disable",
        "POST /users/{id}/enable",
        "POST /users/{id}/password",
        "POST /users/{id}/second-factors/reset",
    ];
    assert_eq!(operations, expected);
    let document: Value = serde_json::from_str(&text).unwrap_or_default();
    let schemas = &document["components"]["schemas"];
    for reference in text.match_indices("#/components/schemas/") {
        let name: String = text[reference.0 + 21..]
            .chars()
            .take_while(|c| *c != '"')
            .collect();
        assert!(schemas.get(&name).is_some(), "dangling reference to {name}");
    }
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    app.stop().await;
}

async fn a_token_for_another_audience_is_refused(db: TestDb) {
    let app = spawn_app(&db).await;
    admin_user(&app, "root").await;
    // A first-party client whose tokens are for a resource server of its own.
    let console = app
        .register(NewClient {
            name: "Admin console".into(),
            scopes: "openid profile admin".into(),
            access_token_audience: vec!["https://api.example.com".into()],
            ..web_client(AuthMethod::ClientSecretBasic, true)
        })
        .await;
    let token = |scope: &'static str| {
        let (app, console) = (&app, &console);
        async move {
            let code = app.code_for(console, "root", &[("scope", scope)]).await;
            let issued = app.redeem(console, &code).await;
            assert_eq!(issued.status, 200, "{}", issued.json);
            issued.json["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }
    };
    // `admin` alone: the token is for https://api.example.com only.
    let elsewhere = token("admin").await;
    assert_eq!(
        crate::common::fixtures::jwt_claims(&elsewhere)["aud"],
        "https://api.example.com"
    );
    let refused = call(&app, Method::GET, "/clients", Some(&elsewhere), None).await;
    assert_error_shape(&refused, 401, "unauthorized");
    assert!(
        refused.json["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not for this server"),
        "{}",
        refused.json
    );
    // With `openid` munjigi is among the audience too: accepted.
    let here = token("openid admin").await;
    let allowed = call(&app, Method::GET, "/clients", Some(&here), None).await;
    assert_eq!(allowed.status, 200, "{}", allowed.json);
}

async fn client_and_account_ids_never_collide(db: TestDb) {
    let app = spawn_app(&db).await;
    admin_user(&app, "root").await;
    let admin = token_of(&app, "root").await;
    let pat = app.user("pat").await;

    // The admin API: a client may not take an account's id.
    let taken = call(
        &app,
        Method::POST,
        "/clients",
        Some(&admin),
        Some(json!({"client_id": pat, "client_name": "Impostor", "redirect_uris": ["https://x.example/cb"]})),
    )
    .await;
    assert_error_shape(&taken, 400, "invalid_request");
    assert!(
        taken.json["message"]
            .as_str()
            .unwrap_or_default()
            .contains("account"),
        "{}",
        taken.json
    );
    // The CLI: the same rule, said in a sentence.
    let out = run(munjigi(db.dir())
        .env("DATABASE_URL", &db.url)
        .env("MUNJIGI_KEK", &db.kek)
        .args([
            "client",
            "create",
            "--name",
            "Impostor",
            "--redirect-uri",
            "https://x.example/cb",
            "--id",
            &pat,
        ]));
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("account") && !said.contains("Invalid("),
        "{said}"
    );
    assert!(app.store.client(&pat).await.expect("store").is_none());

    // And an account may not take a client's id (ids of accounts are made by munjigi; the
    // store refuses one that a client has, whoever asks).
    let client = app.client(AuthMethod::ClientSecretBasic, true).await;
    let mut record = app.store.user(&pat).await.expect("store").expect("pat");
    record.id = client.id.clone();
    record.username = "pat2".into();
    record.email = Some("pat2@example.com".into());
    assert!(matches!(
        app.store.insert_user(&record).await,
        Err(munjigi::store::StoreError::Conflict)
    ));
    assert!(app.store.user(&client.id).await.expect("store").is_none());
}

async fn a_role_change_is_visible_in_the_audit_trail(db: TestDb) {
    let app = spawn_app(&db).await;
    admin_user(&app, "root").await;
    let pat = app.user("pat").await;
    let admin = token_of(&app, "root").await;
    let promoted = call(
        &app,
        Method::PATCH,
        &format!("/users/{pat}"),
        Some(&admin),
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(promoted.status, 200, "{}", promoted.json);
    // Audit events are written in the background.
    let mut found = None;
    for _ in 0..50 {
        let events = call(
            &app,
            Method::GET,
            "/audit-events?limit=1000",
            Some(&admin),
            None,
        )
        .await;
        found = events.json.as_array().and_then(|list| {
            list.iter()
                .find(|e| e["kind"] == "admin" && e["detail"]["action"] == "user.update")
                .cloned()
        });
        if found.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let event = found.expect("a user.update event");
    assert_eq!(event["detail"]["target"], pat.as_str(), "{event}");
    assert_eq!(event["detail"]["role_to"], "admin", "{event}");
    assert_eq!(event["detail"]["role_from"], "user", "{event}");
}
