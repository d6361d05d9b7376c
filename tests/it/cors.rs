//! CORS: discovery and JWKS for any origin; the API endpoints for the origins clients
//! registered (a public client's redirect origins by default); the pages for none. Checked
//! over HTTP and from pages on other loopback origins in a real Chromium.

use munjigi::oauth::client::AuthMethod;
use reqwest::Method;
use serde_json::Value;

use crate::common::fixtures::{REDIRECT, Registered, VERIFIER, web_client};
use crate::common::webdriver::{Driver, browser_available};
use crate::common::{TestApp, TestDb, spawn_app};
use crate::on_both_backends;

on_both_backends!(
    api_endpoints_answer_only_registered_origins,
    a_page_on_a_registered_origin_calls_token_and_userinfo_in_a_real_browser
);

const SPA_REDIRECT_ORIGIN: &str = "http://127.0.0.1:9999";

async fn preflight(app: &TestApp, path: &str, origin: &str, headers: &str) -> reqwest::Response {
    app.http
        .request(Method::OPTIONS, app.url(path))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", headers)
        .send()
        .await
        .expect("preflight")
}

fn allowed_origin(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get("access-control-allow-origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A public client's tokens with `offline_access`, redeemed without an `Origin`.
async fn tokens(app: &TestApp, c: &Registered, username: &str) -> Value {
    let code = app
        .code_for(c, username, &[("scope", "openid profile offline_access")])
        .await;
    let reply = app
        .token(
            c,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", &c.id),
            ],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    reply.json
}

async fn api_endpoints_answer_only_registered_origins(db: TestDb) {
    let app = spawn_app(&db).await;
    // Registered before the first lookup: the origin set is read once per second at most.
    let public = app.client(AuthMethod::None, true).await;
    let confidential = app.client(AuthMethod::ClientSecretBasic, true).await;
    app.user("sora").await;
    let evil = "https://evil.example";

    for path in ["/token", "/userinfo", "/revoke", "/introspect"] {
        let ok = preflight(
            &app,
            path,
            SPA_REDIRECT_ORIGIN,
            "authorization,content-type",
        )
        .await;
        assert!(ok.status().is_success(), "{path}: {}", ok.status());
        assert_eq!(
            allowed_origin(&ok).as_deref(),
            Some(SPA_REDIRECT_ORIGIN),
            "{path}"
        );
        let methods = ok
            .headers()
            .get("access-control-allow-methods")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(methods.contains("POST"), "{path}: {methods}");
        let refused = preflight(&app, path, evil, "content-type").await;
        assert_eq!(allowed_origin(&refused), None, "{path} for {evil}");
    }
    // Documents anyone may read; pages nobody's scripts may.
    for path in ["/jwks.json", "/.well-known/openid-configuration"] {
        let r = app
            .http
            .get(app.url(path))
            .header("origin", evil)
            .send()
            .await
            .expect("GET");
        assert_eq!(allowed_origin(&r).as_deref(), Some("*"), "{path}");
    }
    let page = app
        .http
        .get(app.url("/login"))
        .header("origin", SPA_REDIRECT_ORIGIN)
        .send()
        .await
        .expect("GET /login");
    assert_eq!(allowed_origin(&page), None, "pages get no CORS");
    let page_preflight = preflight(&app, "/login", SPA_REDIRECT_ORIGIN, "content-type").await;
    assert_eq!(allowed_origin(&page_preflight), None);

    // A token request from a page: its origin must be one the client allows.
    let issued = tokens(&app, &public, "sora").await;
    let rt = issued["refresh_token"].as_str().unwrap_or_default();
    assert!(!rt.is_empty(), "{issued}");
    let refresh = |origin: &'static str, rt: String| {
        let request = app
            .http
            .post(app.url("/token"))
            .header("origin", origin)
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", rt.as_str()),
                ("client_id", public.id.as_str()),
            ]);
        async move { request.send().await.expect("POST /token") }
    };
    let foreign = refresh(evil, rt.to_owned()).await;
    assert_eq!(foreign.status(), 400);
    assert_eq!(allowed_origin(&foreign), None);
    let body: Value = foreign.json().await.unwrap_or_default();
    assert_eq!(body["error"], "invalid_request", "{body}");
    // The refused request used nothing up: the same refresh token works from the SPA.
    let own = refresh(SPA_REDIRECT_ORIGIN, rt.to_owned()).await;
    assert_eq!(own.status(), 200);
    assert_eq!(allowed_origin(&own).as_deref(), Some(SPA_REDIRECT_ORIGIN));
    let vary = own
        .headers()
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    assert!(vary.to_ascii_lowercase().contains("origin"), "vary: {vary}");

    // A confidential client registered no origin: its secret stays out of pages.
    let secret = confidential.secret.clone().unwrap_or_default();
    let from_page = app
        .http
        .post(app.url("/token"))
        .header("origin", SPA_REDIRECT_ORIGIN)
        .basic_auth(&confidential.id, Some(&secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")])
        .send()
        .await
        .expect("POST /token");
    let body: Value = from_page.json().await.unwrap_or_default();
    assert_eq!(body["error"], "invalid_request", "{body}");
    app.stop().await;
}

/// A static page served from `origin`'s own loopback port: it calls munjigi with `fetch`
/// (settings in the fragment) and writes what it could read into `#out`.
const SPA_PAGE: &str = r#"<!doctype html><meta charset="utf-8"><title>spa</title>
<pre id="out"></pre>
<script>
const cfg = JSON.parse(decodeURIComponent(location.hash.slice(1)));
async function call(path, init) {
  try {
    const r = await fetch(cfg.issuer + path, init);
    return { status: r.status, body: await r.json() };
  } catch (e) {
    return { blocked: String(e) };
  }
}
(async () => {
  const out = {};
  out.token = await call("/token", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: cfg.rt, client_id: cfg.client }),
  });
  out.userinfo = await call("/userinfo", { headers: { Authorization: "Bearer " + cfg.at } });
  const done = document.createElement("p");
  done.id = "done";
  document.body.append(done);
  document.getElementById("out").textContent = JSON.stringify(out);
})();
</script>"#;

/// Serves `SPA_PAGE` on a free loopback port; returns its origin.
async fn serve_spa() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the page's port");
    let origin = format!(
        "http://127.0.0.1:{}",
        listener.local_addr().map(|a| a.port()).unwrap_or_default()
    );
    let router = axum::Router::new().route(
        "/",
        axum::routing::get(|| async { axum::response::Html(SPA_PAGE) }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    origin
}

async fn a_page_on_a_registered_origin_calls_token_and_userinfo_in_a_real_browser(db: TestDb) {
    if !browser_available() {
        return;
    }
    let app = spawn_app(&db).await;
    let spa = serve_spa().await;
    let stranger = serve_spa().await;
    let client = app
        .register(munjigi::oauth::client::NewClient {
            allowed_origins: vec![spa.clone()],
            ..web_client(AuthMethod::None, true)
        })
        .await;
    app.user("jiwoo").await;
    let issued = tokens(&app, &client, "jiwoo").await;
    let settings = serde_json::json!({
        "issuer": app.base,
        "client": client.id,
        "rt": issued["refresh_token"],
        "at": issued["access_token"],
    });
    let fragment: String =
        url::form_urlencoded::byte_serialize(settings.to_string().as_bytes()).collect();

    let driver = Driver::start().await;
    let mut results = Vec::new();
    // The stranger first: were its refused token request to use the refresh token up, the
    // registered page's request after it would fail.
    for origin in [&stranger, &spa] {
        let profile = db.dir().join(format!("chromium-cors-{}", results.len()));
        let browser = driver.session(&profile, "en").await;
        browser.goto(&format!("{origin}/#{fragment}")).await;
        browser.find("#done").await;
        let html = browser.source().await;
        let json = html
            .split_once("<pre id=\"out\">")
            .and_then(|(_, rest)| rest.split_once("</pre>"))
            .map(|(json, _)| json.replace("&quot;", "\"").replace("&amp;", "&"))
            .unwrap_or_default();
        let out: Value = serde_json::from_str(&json).unwrap_or_default();
        browser.close().await;
        results.push(out);
    }
    let (foreign, own) = (&results[0], &results[1]);
    assert!(
        foreign["token"]["blocked"].is_string(),
        "an unregistered origin reads no token answer: {foreign}"
    );
    assert!(
        foreign["userinfo"]["blocked"].is_string(),
        "an unregistered origin gets no preflight: {foreign}"
    );
    assert_eq!(own["token"]["status"], 200, "{own}");
    assert!(own["token"]["body"]["access_token"].is_string(), "{own}");
    assert_eq!(own["userinfo"]["status"], 200, "{own}");
    assert_eq!(
        own["userinfo"]["body"]["preferred_username"], "jiwoo",
        "{own}"
    );
    drop(driver);
    app.stop().await;
}
