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
    shutdown_answers_requests_already_on_their_way,
    a_body_that_never_finishes_is_answered_408,
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

/// One HTTP/1.1 exchange on an open connection: the response head and body as text, or
/// `None` when the server closed the connection instead of answering.
async fn exchange(stream: &mut tokio::net::TcpStream, path: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&seen).to_lowercase();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if seen.len() >= end + 4 + length {
                return Some(text);
            }
        }
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut buf))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        seen.extend_from_slice(&buf[..n]);
    }
}

async fn shutdown_answers_requests_already_on_their_way(db: TestDb) {
    let mut app = crate::common::spawn_app_tweaked(&db, munjigi::clock::Clock::system(), |b| {
        b.shutdown_grace_ms(600)
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut kept_alive = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let first = exchange(&mut kept_alive, "/healthz")
        .await
        .unwrap_or_default();
    assert!(first.starts_with("http/1.1 200"), "{first}");
    assert!(!first.contains("connection: close"), "{first}");

    // SIGTERM arrives while the connection is idle; the client's next request is already
    // on its way. It is answered, and told the connection ends there.
    app.begin_stop();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let second = exchange(&mut kept_alive, "/healthz").await;
    let second = second.unwrap_or_else(|| panic!("closed without an answer"));
    assert!(second.starts_with("http/1.1 200"), "{second}");
    assert!(second.contains("connection: close"), "{second}");
    // A connection the kernel had already completed is served as well.
    let mut late = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect during the grace period");
    let third = exchange(&mut late, "/healthz").await.unwrap_or_default();
    assert!(third.starts_with("http/1.1 200"), "{third}");

    let started = std::time::Instant::now();
    app.stop().await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "then it stops"
    );
    assert!(
        tokio::net::TcpStream::connect(&addr).await.is_err(),
        "and no longer accepts"
    );
}

async fn a_body_that_never_finishes_is_answered_408(db: TestDb) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = crate::common::spawn_app_tweaked(&db, munjigi::clock::Clock::system(), |b| {
        b.header_read_timeout_secs(1)
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    stream
        .write_all(
            b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
              Content-Length: 100\r\n\r\ngrant_type=",
        )
        .await
        .expect("write");
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await;
    assert!(read.is_ok(), "answered, not held open");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    app.stop().await;
}
