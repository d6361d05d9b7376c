//! Logout: RP-initiated (exact post_logout_redirect_uri, state, confirmation when the request
//! is not tied to the session) and back-channel logout tokens verified against the JWKS.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use munjigi::oauth::client::{AuthMethod, NewClient};
use munjigi::oauth::grant::GrantType;
use tokio::sync::mpsc;

use crate::common::browser::{Browser, hidden, location, query};
use crate::common::fixtures::{PASSWORD, REDIRECT, Registered, auth_url};
use crate::common::{TestApp, TestDb, spawn_app};
use crate::on_both_backends;

const BYE: &str = "http://127.0.0.1:9999/bye";

/// A relying party's back-channel endpoint on loopback: hands over every logout token.
async fn receiver() -> (String, mpsc::Receiver<String>) {
    let (tx, rx) = mpsc::channel(8);
    let app = axum::Router::new()
        .route(
            "/backchannel",
            post(
                |State(tx): State<mpsc::Sender<String>>, body: String| async move {
                    let token = url::form_urlencoded::parse(body.as_bytes())
                        .find(|(k, _)| k == "logout_token")
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default();
                    let _ = tx.send(token).await;
                    "ok"
                },
            ),
        )
        .with_state(tx);
    let Ok(listener) = tokio::net::TcpListener::bind("127.0.0.1:0").await else {
        panic!("bind")
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://127.0.0.1:{port}/backchannel"), rx)
}

async fn logout_client(app: &TestApp, backchannel: Option<String>) -> Registered {
    let new = NewClient {
        id: None,
        name: "Logout App".into(),
        redirect_uris: vec![REDIRECT.into()],
        post_logout_redirect_uris: vec![BYE.into()],
        auth_method: AuthMethod::ClientSecretBasic,
        secret: None,
        grant_types: vec![GrantType::AuthorizationCode],
        scopes: "openid profile".into(),
        skip_consent: true,
        id_token_alg: munjigi::keys::SigningAlg::Rs256,
        backchannel_logout_uri: backchannel,
        allowed_origins: vec![],
        access_token_audience: vec![],
        require_mfa: false,
    };
    app.register(new).await
}

/// A browser whose cookies the test can read.
fn browser_with_jar(app: &TestApp) -> (Browser, Arc<reqwest::cookie::Jar>) {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let http = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    (
        Browser {
            http,
            base: app.base.clone(),
        },
        jar,
    )
}

fn claims_of(jwt: &str) -> serde_json::Value {
    let payload = jwt.split('.').nth(1).unwrap_or_default();
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
        .unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or_default()
}

on_both_backends!(
    rp_initiated_logout_with_backchannel,
    logout_without_hint_asks_first
);

async fn rp_initiated_logout_with_backchannel(db: TestDb) {
    let app = spawn_app(&db).await;
    let (backchannel_uri, mut tokens) = receiver().await;
    let c = logout_client(&app, Some(backchannel_uri)).await;
    app.user("minho").await;
    let (browser, jar) = browser_with_jar(&app);
    let back = browser
        .sign_in(&auth_url(&c.id, &[]), "minho", PASSWORD)
        .await;
    let code = query(&back).get("code").cloned().unwrap_or_default();
    let id_token = app.redeem(&c, &code).await.json["id_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let base_url = url::Url::parse(&app.base).unwrap_or_else(|e| panic!("{e}"));
    let old_cookie = reqwest::cookie::CookieStore::cookies(jar.as_ref(), &base_url);
    assert!(old_cookie.is_some(), "signed in");

    let end = |redirect: &str| {
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("id_token_hint", &id_token)
            .append_pair("post_logout_redirect_uri", redirect)
            .append_pair("state", "s9")
            .finish();
        format!("/end_session?{q}")
    };
    // Not registered: a page, never a redirect; and nobody is logged out by it.
    for evil in [
        "http://127.0.0.1:9999/evil",
        "http://127.0.0.1:9999/bye/",
        "https://evil.example.com/bye",
    ] {
        let r = browser.get(&end(evil)).await;
        assert_eq!(r.status(), 400, "{evil}");
        assert!(r.headers().get("location").is_none());
    }
    let r = browser.get(&end(BYE)).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("{BYE}?state=s9"));

    // The old cookie no longer authenticates: the session is gone server-side.
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build();
    let replay = replay.unwrap_or_else(|e| panic!("{e}"));
    let mut request = replay.get(app.url(&auth_url(&c.id, &[("prompt", "none")])));
    if let Some(cookie) = old_cookie {
        request = request.header("cookie", cookie);
    }
    let Ok(after) = request.send().await else {
        panic!("authorize")
    };
    assert_eq!(
        query(&location(&after)).get("error").map(String::as_str),
        Some("login_required")
    );

    // The logout token arrived on the back channel and verifies against the JWKS.
    let token = tokio::time::timeout(Duration::from_secs(10), tokens.recv()).await;
    let Ok(Some(token)) = token else {
        panic!("no logout token within 10 s")
    };
    let header = claims_of(&format!(
        "x.{}",
        token.split('.').next().unwrap_or_default()
    ));
    assert_eq!(header["typ"], "logout+jwt");
    let jwks = app.get_json("/jwks.json").await;
    let key = jwks["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|k| k["kid"] == header["kid"])
        .and_then(|k| k.as_object().cloned())
        .unwrap_or_else(|| panic!("kid not in JWKS"));
    let jwk = josekit::jwk::Jwk::from_map(key).unwrap_or_else(|e| panic!("{e}"));
    let verifier = josekit::jws::RS256
        .verifier_from_jwk(&jwk)
        .unwrap_or_else(|e| panic!("{e}"));
    let (payload, _) = josekit::jws::deserialize_compact(&token, &verifier)
        .unwrap_or_else(|e| panic!("signature: {e}"));
    let claims: serde_json::Value = serde_json::from_slice(&payload).unwrap_or_default();
    let id_claims = claims_of(&id_token);
    assert_eq!(claims["iss"].as_str(), Some(app.base.as_str()));
    assert_eq!(claims["aud"].as_str(), Some(c.id.as_str()));
    assert_eq!(claims["sub"], id_claims["sub"]);
    assert_eq!(
        claims["sid"], id_claims["sid"],
        "the session the id_token named"
    );
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(claims.get("nonce").is_none());
    app.stop().await;
}

async fn logout_without_hint_asks_first(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = logout_client(&app, None).await;
    app.user("yerin").await;
    let browser = Browser::new(&app);
    browser
        .sign_in(&auth_url(&c.id, &[]), "yerin", PASSWORD)
        .await;

    // client_id alone does not prove the request comes from this session: ask.
    let q = format!(
        "/end_session?client_id={}&post_logout_redirect_uri={}&state=s1",
        c.id, BYE
    );
    let page = browser.get(&q).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap_or_default();
    assert!(html.contains("action=\"/logout\""), "a confirmation form");
    let still = browser.get(&auth_url(&c.id, &[("prompt", "none")])).await;
    assert!(
        query(&location(&still)).contains_key("code"),
        "still signed in until confirmed"
    );

    let confirmed = browser
        .post("/logout", &[("csrf", &hidden(&html, "csrf"))])
        .await;
    assert_eq!(
        location(&confirmed),
        format!("{BYE}?state=s1"),
        "then on to the registered URI"
    );
    let after = browser.get(&auth_url(&c.id, &[("prompt", "none")])).await;
    assert_eq!(
        query(&location(&after)).get("error").map(String::as_str),
        Some("login_required")
    );
    app.stop().await;
}
