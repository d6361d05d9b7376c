//! Holding under abuse: what an unauthenticated caller can make munjigi do, bounded; and the
//! hostile-input findings, each test named after what it proves.

mod connections;
mod input;
mod throttles;

pub(crate) use crate::common::browser::{Browser, hidden};
pub(crate) use crate::common::{TestApp, TestDb, spawn_app};

/// A fresh browser's login form: (browser, csrf).
pub(crate) async fn login_form(app: &TestApp) -> (Browser, String) {
    let browser = Browser::new(app);
    let html = browser.get("/login").await.text().await.unwrap_or_default();
    let csrf = hidden(&html, "csrf");
    (browser, csrf)
}

pub(crate) async fn signup(
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

pub(crate) async fn raw_post(
    app: &TestApp,
    path: &str,
    body: Vec<u8>,
    basic: Option<&str>,
) -> (u16, String) {
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

/// Whether the server closes `stream` within `within` (a read returns end-of-stream or fails).
pub(crate) async fn closed_within(
    stream: &mut tokio::net::TcpStream,
    within: std::time::Duration,
) -> bool {
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

pub(crate) async fn bad_login_from(
    app: &TestApp,
    forwarded_for: &str,
    username: &str,
    password: &str,
) -> u16 {
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

pub(crate) async fn session_rows(app: &TestApp) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sessions")
        .fetch_one(app.store.pool())
        .await
        .expect("count sessions")
}
