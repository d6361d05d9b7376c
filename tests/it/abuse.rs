//! Holding under abuse: what an unauthenticated caller can make munjigi do, bounded; and the
//! hostile-input findings, each named after what it proves.

use crate::common::browser::{Browser, hidden};
use crate::common::{TestApp, TestDb, spawn_app};
use crate::on_both_backends;

on_both_backends!(
    a_concurrent_burst_of_wrong_passwords_is_throttled_like_a_sequence,
    signup_is_limited_per_address_with_retry_after,
    signup_refuses_guessable_passwords_case_variants_and_long_names,
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
    let throttled = answers.iter().filter(|(s, _)| *s == 429).count();
    assert!(
        checked <= 5,
        "at most five guesses reach the hash: {answers:?}"
    );
    assert_eq!(checked + throttled, 30, "{answers:?}");
    assert!(
        answers.iter().all(|(s, retry)| *s != 429 || *retry),
        "every 429 says when to come back"
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
