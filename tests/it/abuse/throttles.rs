//! Throttles and rate limits: what one address or client can make munjigi do, bounded, and
//! enforced alike by every instance.

use super::*;

crate::on_both_backends!(
    a_concurrent_burst_of_wrong_passwords_is_throttled_like_a_sequence,
    signup_is_limited_per_address_with_retry_after,
    behind_a_trusted_proxy_each_client_address_is_throttled_on_its_own,
    wrong_client_secrets_lock_that_client_from_that_address,
    go_oauth2_clients_never_lock_themselves_out,
    a_success_clears_the_client_and_address_count,
    every_endpoint_family_is_rate_limited_per_address,
    the_sign_in_lockout_holds_on_every_instance,
    a_client_is_rate_limited_wherever_it_comes_from,
);

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
    let machine = app.machine().await;
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
    let machine = app.machine().await;
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

/// What Go's `golang.org/x/oauth2` does with its default `AuthStyleAutoDetect` in a process
/// that has not probed the server yet: the credentials in `Authorization: Basic` (each
/// query-escaped, an empty secret too), and on any error the same request again with them in
/// the body (`client_secret` only when not empty). Returns both statuses (0: no retry).
async fn go_oauth2_round(
    app: &TestApp,
    path: &str,
    (id, secret): (&str, &str),
    form: &[(&str, &str)],
    from: &str,
) -> (u16, u16) {
    let escape = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{}:{}", escape(id), escape(secret)),
    );
    let first = app
        .http
        .post(app.url(path))
        .header("authorization", format!("Basic {basic}"))
        .header("x-forwarded-for", from)
        .form(form)
        .send()
        .await
        .expect("an answer")
        .status()
        .as_u16();
    if first == 200 {
        return (first, 0);
    }
    let mut body: Vec<(&str, &str)> = form.to_vec();
    body.push(("client_id", id));
    if !secret.is_empty() {
        body.push(("client_secret", secret));
    }
    let second = app
        .http
        .post(app.url(path))
        .header("x-forwarded-for", from)
        .form(&body)
        .send()
        .await
        .expect("an answer")
        .status()
        .as_u16();
    (first, second)
}

async fn go_oauth2_clients_never_lock_themselves_out(db: TestDb) {
    use munjigi::oauth::client::{AuthMethod, NewClient};
    use munjigi::oauth::grant::GrantType;
    let app = crate::common::spawn_app_tweaked(&db, munjigi::clock::Clock::system(), |b| {
        b.trusted_proxies(&["127.0.0.1/32"])
    })
    .await;
    // A client_secret_post machine client, as a Go service with clientcredentials.Config.
    let post = app
        .register(NewClient {
            name: "Go job".into(),
            redirect_uris: vec![],
            grant_types: vec![GrantType::ClientCredentials],
            scopes: "api.read".into(),
            ..crate::common::fixtures::web_client(AuthMethod::ClientSecretPost, true)
        })
        .await;
    let secret = post.secret.clone().unwrap_or_default();
    // A public client (no secret): Go sends `Basic base64("id:")`.
    let public = app.client(AuthMethod::None, true).await;
    let from = "198.51.100.20";
    for round in 0..15 {
        let (post_first, post_second) = go_oauth2_round(
            &app,
            "/token",
            (&post.id, &secret),
            &[("grant_type", "client_credentials")],
            from,
        )
        .await;
        let (first, second) = go_oauth2_round(
            &app,
            "/revoke",
            (&public.id, ""),
            &[("token", "not-a-token-of-anyone")],
            from,
        )
        .await;
        assert!(
            post_first == 200 || post_second == 200,
            "round {round}: the client_secret_post client got {post_first} then {post_second}"
        );
        assert!(
            first == 200 || second == 200,
            "round {round}: the public client got {first} then {second}"
        );
    }
    // RFC 6749 §2.3.1: Basic is accepted from a client issued a secret, whatever it registered.
    let (first, _) = go_oauth2_round(
        &app,
        "/token",
        (&post.id, &secret),
        &[("grant_type", "client_credentials")],
        "203.0.113.50",
    )
    .await;
    assert_eq!(first, 200, "Basic works for a client_secret_post client");
    app.stop().await;
}

async fn a_success_clears_the_client_and_address_count(db: TestDb) {
    let app = crate::common::spawn_app_tweaked(&db, munjigi::clock::Clock::system(), |b| {
        b.trusted_proxies(&["127.0.0.1/32"])
    })
    .await;
    let machine = app.machine().await;
    let secret = machine.secret.clone().unwrap_or_default();
    let attempt = |secret: String| {
        let app = &app;
        let id = machine.id.clone();
        async move {
            app.http
                .post(app.url("/token"))
                .basic_auth(id, Some(secret))
                .header("x-forwarded-for", "198.51.100.30")
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .expect("an answer")
                .status()
                .as_u16()
        }
    };
    // Nine wrong secrets (one short of a lock), a right one, nine wrong again: only the
    // count since the success matters, so the right secret still works.
    for round in 0..3 {
        for n in 0..9 {
            assert_eq!(attempt(format!("wrong-{n}")).await, 401, "{round}/{n}");
        }
        assert_eq!(attempt(secret.clone()).await, 200, "round {round}");
    }
    // A secret sent where the client did not register it is refused, but not counted: it was
    // not compared.
    for n in 0..12 {
        let r = app
            .http
            .post(app.url("/token"))
            .header("x-forwarded-for", "198.51.100.31")
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", machine.id.as_str()),
                ("client_secret", secret.as_str()),
            ])
            .send()
            .await
            .expect("an answer");
        assert_eq!(r.status().as_u16(), 401, "{n}");
    }
    let right = app
        .http
        .post(app.url("/token"))
        .basic_auth(&machine.id, Some(&secret))
        .header("x-forwarded-for", "198.51.100.31")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("an answer");
    assert_eq!(right.status().as_u16(), 200);
    app.stop().await;
}
