//! The hosted pages beyond the sign-in flow: signup, throttling, logout, languages.

use crate::common::browser::{Browser, hidden, location};
use crate::common::{TestDb, spawn_app};
use crate::on_both_backends;

on_both_backends!(
    signup_validates_and_signs_in,
    repeated_failures_are_throttled,
    logout_ends_the_session
);

async fn signup_validates_and_signs_in(db: TestDb) {
    let app = spawn_app(&db).await;
    app.user("taken").await;
    let browser = Browser::new(&app);
    let page = browser
        .http
        .get(app.url("/signup"))
        .header("accept-language", "ko-KR,ko;q=0.9")
        .send()
        .await;
    let Ok(page) = page else {
        panic!("signup page")
    };
    let html = page.text().await.unwrap_or_default();
    assert!(html.contains("lang=\"ko\""), "Korean from Accept-Language");
    let csrf = hidden(&html, "csrf");

    let bad = browser
        .post(
            "/signup",
            &[
                ("csrf", &csrf),
                ("request", ""),
                ("username", "a"),
                ("email", "nope"),
                ("name", ""),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let html = bad.text().await.unwrap_or_default();
    assert!(html.contains("role=\"alert\""));
    assert!(html.contains("value=\"nope\""), "what was typed is kept");

    // Taken username or email: one message that does not say which.
    let taken = browser
        .post(
            "/signup",
            &[
                ("csrf", &csrf),
                ("request", ""),
                ("username", "taken"),
                ("email", "new@example.com"),
                ("name", ""),
                ("password", "long enough pw"),
            ],
        )
        .await;
    let taken_html = taken.text().await.unwrap_or_default();
    let email_taken = browser
        .post(
            "/signup",
            &[
                ("csrf", &csrf),
                ("request", ""),
                ("username", "fresh"),
                ("email", "TAKEN@example.com"),
                ("name", ""),
                ("password", "long enough pw"),
            ],
        )
        .await;
    let email_html = email_taken.text().await.unwrap_or_default();
    let alert = |h: &str| {
        h.split("role=\"alert\"")
            .nth(1)
            .and_then(|r| r.split("</ul>").next())
            .unwrap_or_default()
            .to_owned()
    };
    // A username is chosen to be seen, so a taken one is said plainly. Without mail a taken
    // address cannot be hidden (there is no one to tell instead); with mail the page answers
    // as for a new one (tests/it/mail.rs).
    assert!(alert(&taken_html).contains("username is taken"));
    assert!(
        alert(&email_html).contains("cannot be used"),
        "{email_html}"
    );

    let ok = browser
        .post(
            "/signup",
            &[
                ("csrf", &csrf),
                ("request", ""),
                ("username", "newbie"),
                ("email", "newbie@example.com"),
                ("name", "New Bie"),
                ("password", "long enough pw"),
            ],
        )
        .await;
    assert_eq!(ok.status(), 303);
    assert_eq!(location(&ok), "/");
    let home = browser.get("/").await;
    assert_eq!(home.status(), 200);
    assert!(home.text().await.unwrap_or_default().contains("New Bie"));
    app.stop().await;
}

async fn repeated_failures_are_throttled(db: TestDb) {
    let app = spawn_app(&db).await;
    app.user("target").await;
    let browser = Browser::new(&app);
    let html = browser.get("/login").await.text().await.unwrap_or_default();
    let csrf = hidden(&html, "csrf");
    let mut last = 0;
    for _ in 0..5 {
        let r = browser
            .post(
                "/login",
                &[
                    ("csrf", &csrf),
                    ("request", ""),
                    ("username", "target"),
                    ("password", "wrong!"),
                ],
            )
            .await;
        last = r.status().as_u16();
    }
    assert_eq!(last, 401);
    let r = browser
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("request", ""),
                ("username", "target"),
                ("password", "wrong!"),
            ],
        )
        .await;
    assert_eq!(r.status(), 429);
    let html = r.text().await.unwrap_or_default();
    assert!(
        html.contains("Try again in") && html.contains("seconds"),
        "{html}"
    );
    app.stop().await;
}

async fn logout_ends_the_session(db: TestDb) {
    let app = spawn_app(&db).await;
    app.user("leaver").await;
    let browser = Browser::new(&app);
    let html = browser.get("/login").await.text().await.unwrap_or_default();
    let csrf = hidden(&html, "csrf");
    let r = browser
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("request", ""),
                ("username", "leaver"),
                ("password", "correct horse battery staple"),
            ],
        )
        .await;
    assert_eq!(location(&r), "/");
    assert_eq!(browser.get("/").await.status(), 200);
    let confirm = browser
        .get("/logout")
        .await
        .text()
        .await
        .unwrap_or_default();
    let csrf = hidden(&confirm, "csrf");
    assert_eq!(
        browser.post("/logout", &[("csrf", "wrong")]).await.status(),
        403
    );
    assert_eq!(
        browser.post("/logout", &[("csrf", &csrf)]).await.status(),
        200
    );
    let home = browser.get("/").await;
    assert_eq!(home.status(), 303, "signed out");
    app.stop().await;
}
