//! Connections, bodies, sessions and headers: slow or idle connections are cut off, the
//! connection count is capped, oversized bodies get 413, anonymous pages store nothing, and
//! pages defend their window, cookies and forms.

use super::*;

crate::on_both_backends!(
    a_trickle_of_header_bytes_and_idle_connections_are_cut_off,
    connections_over_the_limit_are_closed_at_once,
    an_oversized_body_is_answered_413,
    anonymous_pages_store_no_session_and_pending_requests_expire_soon,
    cross_origin_form_posts_are_refused_but_relying_parties_may_post,
    pages_isolate_their_window_and_https_cookies_are_host_only,
);

async fn a_trickle_of_header_bytes_and_idle_connections_are_cut_off(db: TestDb) {
    use tokio::io::AsyncWriteExt;
    let app = crate::common::spawn_app_tweaked(&db, munjigi::clock::Clock::system(), |b| {
        b.header_read_timeout_secs(1)
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let trickle = async {
        for _ in 0..20 {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            if slow.write_all(b"X").await.is_err() {
                break;
            }
        }
    };
    let started = std::time::Instant::now();
    trickle.await;
    let mut slow = slow;
    assert!(
        closed_within(&mut slow, std::time::Duration::from_secs(3)).await,
        "a trickled header is cut off"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(8));

    let mut idle = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    assert!(
        closed_within(&mut idle, std::time::Duration::from_secs(4)).await,
        "an idle keep-alive is cut off after its answer"
    );
    app.stop().await;
}

async fn connections_over_the_limit_are_closed_at_once(db: TestDb) {
    let app = crate::common::spawn_app_tweaked(&db, munjigi::clock::Clock::system(), |b| {
        b.max_connections(4).header_read_timeout_secs(30)
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(
            tokio::net::TcpStream::connect(&addr)
                .await
                .expect("connect"),
        );
    }
    // Let the server accept them.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut extra = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    assert!(
        closed_within(&mut extra, std::time::Duration::from_secs(2)).await,
        "the fifth is closed"
    );
    drop(held);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let ok = reqwest::get(app.url("/healthz"))
        .await
        .map(|r| r.status().as_u16());
    assert_eq!(ok.ok(), Some(200), "slots come back when connections end");
    app.stop().await;
}

async fn an_oversized_body_is_answered_413(db: TestDb) {
    let app = spawn_app(&db).await;
    let body = vec![b'a'; 10 * 1024 * 1024];
    for path in ["/token", "/introspect", "/revoke", "/login", "/authorize"] {
        let r = app
            .http
            .post(app.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await;
        let status = r.as_ref().map(|r| r.status().as_u16());
        assert_eq!(status.ok(), Some(413), "{path}: {:?}", r.err());
    }
    app.stop().await;
}

async fn anonymous_pages_store_no_session_and_pending_requests_expire_soon(db: TestDb) {
    let app = spawn_app(&db).await;
    for path in ["/login", "/signup", "/logout", "/login?request=nope", "/"] {
        for _ in 0..10 {
            let r = reqwest::get(app.url(path)).await.expect("an answer");
            assert!(r.status().as_u16() < 500, "{path}");
        }
    }
    // A failed sign-in stores nothing either.
    let (browser, csrf) = login_form(&app).await;
    browser
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("request", ""),
                ("username", "x"),
                ("password", "y"),
            ],
        )
        .await;
    assert_eq!(
        session_rows(&app).await,
        0,
        "nothing to remember, nothing stored"
    );

    // A pending authorization request is worth remembering, briefly.
    let c = app
        .client(munjigi::oauth::client::AuthMethod::ClientSecretBasic, false)
        .await;
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(app.url(&crate::common::fixtures::auth_url(&c.id, &[])))
        .send()
        .await
        .expect("authorize");
    assert_eq!(r.status(), 303);
    assert_eq!(session_rows(&app).await, 1);
    let expires_at = sqlx::query_scalar::<_, i64>("SELECT MAX(expires_at) FROM sessions")
        .fetch_one(app.store.pool())
        .await
        .expect("expiry");
    let left = expires_at - munjigi::clock::Clock::system().now();
    assert!(
        (25 * 60..=31 * 60).contains(&left),
        "an anonymous session lives ~30 min: {left}"
    );
    app.stop().await;
}

async fn cross_origin_form_posts_are_refused_but_relying_parties_may_post(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = app
        .client(munjigi::oauth::client::AuthMethod::ClientSecretBasic, true)
        .await;
    app.user("origin").await;
    let (browser, csrf) = login_form(&app).await;
    let post = |origin: String| {
        let browser = &browser;
        let csrf = csrf.clone();
        async move {
            browser
                .http
                .post(format!("{}/login", browser.base))
                .header("origin", origin)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("request", ""),
                    ("username", "origin"),
                    ("password", crate::common::fixtures::PASSWORD),
                ])
                .send()
                .await
                .expect("an answer")
        }
    };
    assert_eq!(post("https://evil.example".into()).await.status(), 403);
    assert_eq!(post("null".into()).await.status(), 403);
    assert_eq!(
        post(app.base.clone()).await.status(),
        303,
        "our own origin signs in"
    );
    // A relying party's page may post the authorization request from its own origin.
    let query = crate::common::fixtures::auth_url(&c.id, &[]);
    let body = query
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default()
        .to_owned();
    let r = browser
        .http
        .post(app.url("/authorize"))
        .header("origin", "https://app.example.com")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("an answer");
    assert_eq!(r.status(), 303, "POST /authorize from the app's origin");
    app.stop().await;
}

async fn pages_isolate_their_window_and_https_cookies_are_host_only(db: TestDb) {
    let app = crate::common::spawn_app_tweaked(&db, munjigi::clock::Clock::system(), |b| {
        b.issuer("https://id.example.com")
    })
    .await;
    let r = app
        .http
        .get(app.url("/login"))
        .send()
        .await
        .expect("login page");
    assert_eq!(
        r.headers()
            .get("cross-origin-opener-policy")
            .and_then(|v| v.to_str().ok()),
        Some("same-origin")
    );
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    assert_eq!(
        cookies.len(),
        1,
        "only the CSRF cookie for an anonymous form: {cookies:?}"
    );
    let host_only = |cookie: &str, name: &str| {
        assert!(cookie.starts_with(&format!("{name}=")), "{cookie}");
        assert!(
            cookie.contains("Secure") && cookie.contains("Path=/") && !cookie.contains("Domain"),
            "{cookie}"
        );
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
    };
    host_only(&cookies[0], "__Host-munjigi_csrf");
    let c = app
        .client(munjigi::oauth::client::AuthMethod::ClientSecretBasic, false)
        .await;
    let r = app
        .http
        .get(app.url(&crate::common::fixtures::auth_url(&c.id, &[])))
        .send()
        .await
        .expect("authorize");
    let session = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    host_only(&session, "__Host-munjigi_session");
    app.stop().await;
}
