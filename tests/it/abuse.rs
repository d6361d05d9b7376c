//! Holding under abuse: what an unauthenticated caller can make munjigi do, bounded; and the
//! hostile-input findings, each named after what it proves.

use crate::common::browser::{Browser, hidden};
use crate::common::{TestApp, TestDb, spawn_app};
use crate::on_both_backends;

on_both_backends!(
    a_concurrent_burst_of_wrong_passwords_is_throttled_like_a_sequence,
    signup_is_limited_per_address_with_retry_after,
    signup_refuses_guessable_passwords_case_variants_and_long_names,
    nul_and_control_characters_are_refused_with_4xx_never_5xx,
    a_crlf_in_the_consent_form_is_a_page_not_a_500,
    two_client_authentication_methods_are_refused,
    a_bad_id_token_hint_is_refused_not_ignored,
    an_overlong_state_is_refused_not_dropped,
    error_descriptions_keep_to_the_rfc_characters,
    public_clients_cannot_introspect,
    cross_origin_form_posts_are_refused_but_relying_parties_may_post,
    pages_isolate_their_window_and_https_cookies_are_host_only,
    a_trickle_of_header_bytes_and_idle_connections_are_cut_off,
    connections_over_the_limit_are_closed_at_once,
    an_oversized_body_is_answered_413,
    behind_a_trusted_proxy_each_client_address_is_throttled_on_its_own,
    anonymous_pages_store_no_session_and_pending_requests_expire_soon,
    every_endpoint_family_is_rate_limited_per_address,
    the_sign_in_lockout_holds_on_every_instance,
    a_client_is_rate_limited_wherever_it_comes_from,
    wrong_client_secrets_lock_that_client_from_that_address,
);

/// A fresh browser's login form: (browser, csrf).
async fn login_form(app: &TestApp) -> (Browser, String) {
    let browser = Browser::new(app);
    let html = browser.get("/login").await.text().await.unwrap_or_default();
    let csrf = hidden(&html, "csrf");
    (browser, csrf)
}

async fn a_concurrent_burst_of_wrong_passwords_is_throttled_like_a_sequence(db: TestDb) {
    let app = spawn_app(&db).await;
    app.user("target").await;
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..30 {
        let (browser, csrf) = login_form(&app).await;
        attempts.spawn(async move {
            let r = browser
                .post(
                    "/login",
                    &[
                        ("csrf", csrf.as_str()),
                        ("request", ""),
                        ("username", "target"),
                        ("password", "wrong password!"),
                    ],
                )
                .await;
            (
                r.status().as_u16(),
                r.headers().get("retry-after").is_some(),
            )
        });
    }
    let answers = attempts.join_all().await;
    let checked = answers.iter().filter(|(s, _)| *s == 401).count();
    // 429 for the throttle; 503 when a loaded machine keeps the hashing turns busy.
    let refused = answers
        .iter()
        .filter(|(s, _)| *s == 429 || *s == 503)
        .count();
    assert!(
        checked <= 5,
        "at most five guesses reach the hash: {answers:?}"
    );
    assert_eq!(checked + refused, 30, "{answers:?}");
    assert!(
        answers.iter().all(|(s, retry)| *s == 401 || *retry),
        "every refusal says when to come back"
    );
    app.stop().await;
}

async fn signup(
    browser: &Browser,
    csrf: &str,
    username: &str,
    email: &str,
    name: &str,
    password: &str,
) -> (u16, String) {
    let r = browser
        .post(
            "/signup",
            &[
                ("csrf", csrf),
                ("request", ""),
                ("username", username),
                ("email", email),
                ("name", name),
                ("password", password),
            ],
        )
        .await;
    let status = r.status().as_u16();
    let retry = r.headers().get("retry-after").is_some();
    let body = r.text().await.unwrap_or_default();
    (
        status,
        if retry {
            format!("retry-after\n{body}")
        } else {
            body
        },
    )
}

async fn signup_is_limited_per_address_with_retry_after(db: TestDb) {
    let app = spawn_app(&db).await;
    let browser = Browser::new(&app);
    let html = browser
        .get("/signup")
        .await
        .text()
        .await
        .unwrap_or_default();
    let csrf = hidden(&html, "csrf");
    let mut statuses = Vec::new();
    for n in 0..12 {
        // Invalid on purpose (cheap): attempts count whether or not they succeed.
        let (status, body) =
            signup(&browser, &csrf, &format!("u{n}"), "not-an-email", "", "x").await;
        statuses.push(status);
        if status == 429 {
            assert!(body.starts_with("retry-after"), "429 with Retry-After");
        }
    }
    assert_eq!(&statuses[..10], &[422; 10], "{statuses:?}");
    assert_eq!(&statuses[10..], &[429, 429], "{statuses:?}");
    app.stop().await;
}

async fn signup_refuses_guessable_passwords_case_variants_and_long_names(db: TestDb) {
    let app = spawn_app(&db).await;
    app.user("alice").await;
    let browser = Browser::new(&app);
    let html = browser
        .get("/signup")
        .await
        .text()
        .await
        .unwrap_or_default();
    let csrf = hidden(&html, "csrf");
    for guessable in ["password", "12345678", "1q2w3e4r", "bobby-bobby-1"] {
        let (status, body) =
            signup(&browser, &csrf, "bobby", "bobby@example.com", "", guessable).await;
        assert_eq!(status, 422, "{guessable}");
        assert!(body.contains("too common"), "{guessable}: {body}");
    }
    let (status, _) = signup(
        &browser,
        &csrf,
        "Alice",
        "other@example.com",
        "",
        "a fine long passphrase",
    )
    .await;
    assert_eq!(status, 422, "Alice is alice");
    let long = "가".repeat(101);
    let (status, body) = signup(
        &browser,
        &csrf,
        "carol",
        "carol@example.com",
        &long,
        "a fine long passphrase",
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("100"), "{body}");
    let (status, _) = signup(
        &browser,
        &csrf,
        "carol",
        "carol@example.com",
        "Carol",
        "a fine long passphrase",
    )
    .await;
    assert_eq!(status, 303, "a good signup still works");
    app.stop().await;
}

async fn raw_post(app: &TestApp, path: &str, body: Vec<u8>, basic: Option<&str>) -> (u16, String) {
    let mut request = app
        .http
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(basic) = basic {
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(basic);
        request = request.header("authorization", format!("Basic {encoded}"));
    }
    let r = request.send().await.expect("an answer");
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

async fn nul_and_control_characters_are_refused_with_4xx_never_5xx(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = app
        .client(munjigi::oauth::client::AuthMethod::ClientSecretBasic, true)
        .await;
    let cases: Vec<(&str, Vec<u8>, Option<String>)> = vec![
        (
            "/token",
            b"grant_type=client_credentials&client_id=a%00b".to_vec(),
            None,
        ),
        (
            "/token",
            b"grant_type=client_credentials&client_id=a\x00b\xff".to_vec(),
            None,
        ),
        (
            "/token",
            b"grant_type=client_credentials".to_vec(),
            Some("a\0b:secret".into()),
        ),
        (
            "/introspect",
            b"token=x%00y".to_vec(),
            Some(format!("{}:{}", c.id, c.secret.clone().unwrap_or_default())),
        ),
        (
            "/revoke",
            b"token=x\x00y".to_vec(),
            Some(format!("{}:{}", c.id, c.secret.clone().unwrap_or_default())),
        ),
    ];
    for (path, body, basic) in cases {
        let (status, text) = raw_post(&app, path, body.clone(), basic.as_deref()).await;
        assert!(
            (400..500).contains(&status),
            "{path} {body:?}: {status} {text}"
        );
    }
    let browser = Browser::new(&app);
    for url in [
        "/authorize?client_id=a%00b&response_type=code".to_owned(),
        crate::common::fixtures::auth_url(&c.id, &[("login_hint", "a\u{0}b")]),
        crate::common::fixtures::auth_url(&c.id, &[("state", "a\r\nb")]),
    ] {
        let r = browser.get(&url).await;
        assert!(r.status().as_u16() < 500, "{url}: {}", r.status());
    }
    let (login_browser, csrf) = login_form(&app).await;
    let r = login_browser
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("request", ""),
                ("username", "a\0b"),
                ("password", "whatever pw"),
            ],
        )
        .await;
    assert_eq!(r.status(), 401, "a NUL in a username is a wrong username");
    app.stop().await;
}

async fn a_crlf_in_the_consent_form_is_a_page_not_a_500(db: TestDb) {
    let app = spawn_app(&db).await;
    let (browser, csrf) = login_form(&app).await;
    for request in ["a\r\nLocation: https://evil.example", "%0d%0a", "\0"] {
        let r = browser
            .post(
                "/consent",
                &[("csrf", &csrf), ("request", request), ("decision", "allow")],
            )
            .await;
        assert_eq!(r.status(), 400, "{request:?}");
        assert!(r.headers().get("location").is_none());
        assert!(
            r.text().await.unwrap_or_default().contains("<html"),
            "a page"
        );
    }
    app.stop().await;
}

async fn two_client_authentication_methods_are_refused(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = app
        .client(munjigi::oauth::client::AuthMethod::ClientSecretBasic, true)
        .await;
    let basic = format!("{}:{}", c.id, c.secret.clone().unwrap_or_default());
    let assertion = b"grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=eyJ.eyJ.sig".to_vec();
    let (status, body) = raw_post(&app, "/token", assertion.clone(), Some(&basic)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("invalid_request"), "{body}");
    let (status, body) = raw_post(&app, "/token", assertion, None).await;
    assert_eq!(status, 401, "assertions are not a method here: {body}");
    let both = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        c.id,
        c.secret.clone().unwrap_or_default()
    );
    let (status, body) = raw_post(&app, "/token", both.into_bytes(), Some(&basic)).await;
    assert_eq!(status, 400, "Basic and a body secret: {body}");
    app.stop().await;
}

async fn a_bad_id_token_hint_is_refused_not_ignored(db: TestDb) {
    use crate::common::browser::{location, query};
    use crate::common::fixtures::auth_url;
    let app = spawn_app(&db).await;
    let c = app
        .client(munjigi::oauth::client::AuthMethod::ClientSecretBasic, true)
        .await;
    app.user("hinted").await;
    let code = app
        .code_for(&c, "hinted", &[("scope", "openid profile offline_access")])
        .await;
    let tokens = app.redeem(&c, &code).await.json;
    let id_token = tokens["id_token"].as_str().unwrap_or_default().to_owned();
    let access_token = tokens["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut tampered = id_token.clone();
    tampered.pop();
    tampered.push(if id_token.ends_with('A') { 'B' } else { 'A' });
    let parts: Vec<&str> = id_token.split('.').collect();
    let none = format!(
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
        parts.get(1).copied().unwrap_or_default()
    );
    let browser = Browser::new(&app);
    for (label, hint) in [
        ("tampered", tampered.as_str()),
        ("alg none", none.as_str()),
        ("an access token", access_token.as_str()),
        ("garbage", "abc"),
    ] {
        let r = browser
            .get(&auth_url(&c.id, &[("id_token_hint", hint)]))
            .await;
        let to = location(&r);
        assert_eq!(
            query(&to).get("error").map(String::as_str),
            Some("invalid_request"),
            "{label}: {to}"
        );
    }
    // The real one is fine (nobody is signed in here: to the login page).
    let r = browser
        .get(&auth_url(&c.id, &[("id_token_hint", &id_token)]))
        .await;
    assert!(location(&r).starts_with("/login"), "{}", location(&r));
    app.stop().await;
}

async fn an_overlong_state_is_refused_not_dropped(db: TestDb) {
    use crate::common::browser::{location, query};
    let app = spawn_app(&db).await;
    let c = app
        .client(munjigi::oauth::client::AuthMethod::ClientSecretBasic, true)
        .await;
    let state = "s".repeat(5000);
    let r = Browser::new(&app)
        .get(&crate::common::fixtures::auth_url(
            &c.id,
            &[("state", &state)],
        ))
        .await;
    let to = location(&r);
    let q = query(&to);
    assert_eq!(
        q.get("error").map(String::as_str),
        Some("invalid_request"),
        "{to}"
    );
    assert!(!q.contains_key("code"));
    app.stop().await;
}

async fn error_descriptions_keep_to_the_rfc_characters(db: TestDb) {
    use crate::common::browser::{location, query};
    let app = spawn_app(&db).await;
    let c = app
        .client(munjigi::oauth::client::AuthMethod::ClientSecretBasic, true)
        .await;
    let r = Browser::new(&app)
        .get(&crate::common::fixtures::auth_url(
            &c.id,
            &[("prompt", "é\"\\<x>")],
        ))
        .await;
    let description = query(&location(&r))
        .get("error_description")
        .cloned()
        .unwrap_or_default();
    assert!(!description.is_empty());
    assert!(
        description
            .chars()
            .all(|ch| matches!(ch, '\x20'..='\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')),
        "{description:?}"
    );
    app.stop().await;
}

async fn public_clients_cannot_introspect(db: TestDb) {
    let app = spawn_app(&db).await;
    let public = app
        .client(munjigi::oauth::client::AuthMethod::None, true)
        .await;
    let confidential = app
        .client(munjigi::oauth::client::AuthMethod::ClientSecretBasic, true)
        .await;
    app.user("seen").await;
    let code = app.code_for(&confidential, "seen", &[]).await;
    let access = app.redeem(&confidential, &code).await.json["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let reply = app
        .client_post(
            &public,
            "/introspect",
            &[("client_id", &public.id), ("token", &access)],
        )
        .await;
    assert_eq!(reply.status, 401, "{}", reply.json);
    assert!(reply.json.get("username").is_none());
    let reply = app
        .client_post(&confidential, "/introspect", &[("token", &access)])
        .await;
    assert_eq!(reply.json["active"], true);
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

/// Whether the server closes `stream` within `within` (a read returns end-of-stream or fails).
async fn closed_within(stream: &mut tokio::net::TcpStream, within: std::time::Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

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

async fn bad_login_from(app: &TestApp, forwarded_for: &str, username: &str, password: &str) -> u16 {
    let (browser, csrf) = login_form(app).await;
    browser
        .http
        .post(app.url("/login"))
        .header("x-forwarded-for", forwarded_for)
        .form(&[
            ("csrf", csrf.as_str()),
            ("request", ""),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .expect("an answer")
        .status()
        .as_u16()
}

async fn behind_a_trusted_proxy_each_client_address_is_throttled_on_its_own(db: TestDb) {
    // The tests' requests come from 127.0.0.1: here that is the reverse proxy.
    let app = crate::common::spawn_app_tweaked(&db, munjigi::clock::Clock::system(), |b| {
        b.trusted_proxies(&["127.0.0.1/32"])
    })
    .await;
    app.user("victim").await;
    for n in 0..20 {
        let status =
            bad_login_from(&app, "198.51.100.7", &format!("nobody{n}"), "wrong pw here").await;
        assert_eq!(status, 401, "attempt {n}");
    }
    assert_eq!(
        bad_login_from(&app, "198.51.100.7", "nobody-else", "wrong pw here").await,
        429,
        "the spraying address waits"
    );
    assert_eq!(
        bad_login_from(
            &app,
            "203.0.113.20",
            "victim",
            crate::common::fixtures::PASSWORD
        )
        .await,
        303,
        "everyone else signs in"
    );
    app.stop().await;

    // Without trusting the proxy, its header is the client's word and counts for nothing.
    let untrusting = spawn_app(&db).await;
    for n in 0..20 {
        bad_login_from(
            &untrusting,
            &format!("198.51.100.{n}"),
            &format!("nobody{n}"),
            "wrong pw here",
        )
        .await;
    }
    assert_eq!(
        bad_login_from(&untrusting, "203.0.113.20", "nobody-new", "wrong pw here").await,
        429,
        "a spoofed X-Forwarded-For does not escape the limit"
    );
    untrusting.stop().await;
}

async fn wrong_client_secrets_lock_that_client_from_that_address(db: TestDb) {
    let app = crate::common::spawn_app_tweaked(&db, munjigi::clock::Clock::system(), |b| {
        b.trusted_proxies(&["127.0.0.1/32"])
    })
    .await;
    let machine = app
        .register(munjigi::oauth::client::NewClient {
            grant_types: vec![munjigi::oauth::grant::GrantType::ClientCredentials],
            redirect_uris: vec![],
            scopes: "api.read".into(),
            ..crate::common::fixtures::web_client(
                munjigi::oauth::client::AuthMethod::ClientSecretBasic,
                true,
            )
        })
        .await;
    let secret = machine.secret.clone().unwrap_or_default();
    let attempt = |secret: String, from: &'static str| {
        let app = &app;
        let id = machine.id.clone();
        async move {
            let r = app
                .http
                .post(app.url("/token"))
                .basic_auth(id, Some(secret))
                .header("x-forwarded-for", from)
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .expect("an answer");
            (
                r.status().as_u16(),
                r.headers().get("retry-after").is_some(),
            )
        }
    };
    for n in 0..9 {
        assert_eq!(
            attempt(format!("wrong-{n}"), "198.51.100.9").await,
            (401, false),
            "{n}"
        );
    }
    assert_eq!(
        attempt("wrong-last".into(), "198.51.100.9").await,
        (429, true)
    );
    assert_eq!(
        attempt(secret.clone(), "198.51.100.9").await,
        (429, true),
        "the right secret waits too, from that address"
    );
    assert_eq!(
        attempt(secret, "203.0.113.1").await.0,
        200,
        "the client itself, elsewhere, is not locked out"
    );
    app.stop().await;
}

async fn session_rows(app: &TestApp) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sessions")
        .fetch_one(app.store.pool())
        .await
        .expect("count sessions")
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

async fn every_endpoint_family_is_rate_limited_per_address(db: TestDb) {
    // A fixed clock: the whole test falls in one minute's window.
    let app =
        crate::common::spawn_app_tweaked(&db, munjigi::clock::Clock::fixed(1_900_000_000), |b| {
            b.rate_limits(5, 4, 3).trusted_proxies(&["127.0.0.1/32"])
        })
        .await;
    let c = app
        .client(munjigi::oauth::client::AuthMethod::ClientSecretBasic, true)
        .await;
    // Token family: JSON 429 with Retry-After on the sixth request this minute.
    let mut statuses = Vec::new();
    let mut retry = None;
    for _ in 0..6 {
        let r = app
            .http
            .post(app.url("/token"))
            .header("x-forwarded-for", "198.51.100.60")
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("an answer");
        statuses.push(r.status().as_u16());
        retry = r.headers().get("retry-after").cloned();
        if r.status() == 429 {
            let body: serde_json::Value = r.json().await.unwrap_or_default();
            assert_eq!(body["error"], "temporarily_unavailable");
        }
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);
    assert!(retry.is_some());
    // Authorize family and form posts: pages.
    let browser = Browser::new(&app);
    let auth = crate::common::fixtures::auth_url(&c.id, &[]);
    for n in 0..5 {
        let r = browser
            .http
            .get(app.url(&auth))
            .header("x-forwarded-for", "198.51.100.61")
            .send()
            .await
            .expect("an answer");
        assert_eq!(r.status() == 429, n == 4, "authorize {n}: {}", r.status());
    }
    for n in 0..4 {
        let r = browser
            .http
            .post(app.url("/signup"))
            .header("x-forwarded-for", "198.51.100.62")
            .form(&[("csrf", "x")])
            .send()
            .await
            .expect("an answer");
        assert_eq!(r.status() == 429, n == 3, "forms {n}: {}", r.status());
        if r.status() == 429 {
            assert!(r.headers().get("retry-after").is_some());
            assert!(
                r.text().await.unwrap_or_default().contains("<html"),
                "a page"
            );
        }
    }
    // Someone else is not affected, and what is not limited stays open.
    let r = browser
        .http
        .post(app.url("/signup"))
        .header("x-forwarded-for", "198.51.100.63")
        .form(&[("csrf", "x")])
        .send()
        .await
        .expect("an answer");
    assert_eq!(r.status(), 403, "another address reaches the CSRF check");
    for _ in 0..10 {
        assert_eq!(browser.get("/jwks.json").await.status(), 200);
    }
    app.stop().await;
}

async fn the_sign_in_lockout_holds_on_every_instance(db: TestDb) {
    let clock = munjigi::clock::Clock::fixed(1_900_000_000);
    let a = crate::common::spawn_app_with_clock(&db, clock.clone()).await;
    let b = crate::common::spawn_app_with_clock(&db, clock.clone()).await;
    a.user("shared").await;
    async fn wrong(app: &TestApp) -> u16 {
        let (browser, csrf) = login_form(app).await;
        browser
            .post(
                "/login",
                &[
                    ("csrf", &csrf),
                    ("request", ""),
                    ("username", "Shared"),
                    ("password", "not it at all"),
                ],
            )
            .await
            .status()
            .as_u16()
    }
    // Five failures spread over two instances lock the account on both.
    for app in [&a, &b, &a, &b, &a] {
        assert_eq!(wrong(app).await, 401);
    }
    assert_eq!(wrong(&b).await, 429, "instance b knows what happened on a");
    assert_eq!(wrong(&a).await, 429);
    // The lock lasts 30 s, then the next failure locks for twice as long.
    clock.advance(31);
    assert_eq!(wrong(&b).await, 401);
    assert_eq!(wrong(&a).await, 429);
    clock.advance(31);
    assert_eq!(wrong(&a).await, 429, "60 s this time");
    clock.advance(30);
    let (browser, csrf) = login_form(&b).await;
    let right = browser
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("request", ""),
                ("username", "shared"),
                ("password", crate::common::fixtures::PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        right.status(),
        303,
        "after the lock, the right password works"
    );
    assert_eq!(wrong(&a).await, 401, "and the account starts afresh");
    a.stop().await;
    b.stop().await;
}

async fn a_client_is_rate_limited_wherever_it_comes_from(db: TestDb) {
    let app =
        crate::common::spawn_app_tweaked(&db, munjigi::clock::Clock::fixed(1_900_000_000), |b| {
            b.client_rate_limit(3).trusted_proxies(&["127.0.0.1/32"])
        })
        .await;
    let machine = app
        .register(munjigi::oauth::client::NewClient {
            grant_types: vec![munjigi::oauth::grant::GrantType::ClientCredentials],
            redirect_uris: vec![],
            scopes: "api.read".into(),
            ..crate::common::fixtures::web_client(
                munjigi::oauth::client::AuthMethod::ClientSecretBasic,
                true,
            )
        })
        .await;
    let mut statuses = Vec::new();
    for n in 0..4 {
        let r = app
            .http
            .post(app.url("/token"))
            .basic_auth(&machine.id, machine.secret.as_deref())
            .header("x-forwarded-for", format!("198.51.100.{n}"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("an answer");
        statuses.push((
            r.status().as_u16(),
            r.headers().get("retry-after").is_some(),
        ));
    }
    assert_eq!(
        statuses,
        [(200, false), (200, false), (200, false), (429, true)]
    );
    app.stop().await;
}
