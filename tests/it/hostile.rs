//! Hostile input at every endpoint: NUL, invalid UTF-8, CR/LF and oversized values in every
//! parameter, repeated parameters, a 10 MB body, hundreds of headers, garbage cookies and
//! credentials, a request sent a byte at a time. Whatever comes in: always an answer, never a
//! 5xx, never a hang.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{TestDb, spawn_app};
use crate::on_both_backends;

on_both_backends!(hostile_input_never_gets_a_5xx_or_a_hang);

const PATHS: &[&str] = &[
    "/authorize",
    "/authorize/resume",
    "/login",
    "/login/link",
    "/login/link/cancel",
    "/login/kakao",
    "/login/kakao/callback",
    "/consent",
    "/signup",
    "/logout",
    "/end_session",
    "/account",
    "/account/unlink",
    "/account/link/naver",
    "/account/profile",
    "/account/email",
    "/account/email/verify",
    "/account/password",
    "/account/sessions/end",
    "/account/sessions/end-others",
    "/account/apps/revoke",
    "/account/delete",
    "/account/2fa/totp",
    "/account/2fa/totp/start",
    "/account/2fa/totp/confirm",
    "/account/2fa/totp/disable",
    "/account/2fa/recovery",
    "/account/passkeys",
    "/account/passkeys/options",
    "/account/passkeys/remove",
    "/login/second-factor",
    "/login/passkey",
    "/login/passkey/options",
    "/email/verify",
    "/password/forgot",
    "/password/reset",
    "/static/passkeys.js",
    "/token",
    "/revoke",
    "/introspect",
    "/userinfo",
    "/.well-known/openid-configuration",
    "/.well-known/oauth-authorization-server",
    "/jwks.json",
    "/healthz",
    "/readyz",
    "/static/style.css",
    "/",
    "/no/such/path",
];

const PARAMS: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "response_mode",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "login_hint",
    "ui_locales",
    "id_token_hint",
    "request",
    "request_uri",
    "grant_type",
    "code",
    "code_verifier",
    "refresh_token",
    "token",
    "token_type_hint",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "csrf",
    "username",
    "password",
    "email",
    "name",
    "decision",
    "post_logout_redirect_uri",
    "provider",
    "access_token",
    "confirm",
    "error",
    "error_description",
];

/// Percent-encoded values that have broken servers before.
fn values() -> Vec<String> {
    vec![
        "%00".into(),
        "a%00b".into(),
        "%FF%FE%FD".into(),
        "%C0%80".into(),
        "a%0D%0ALocation:%20https://evil.example".into(),
        "%25".into(),
        "%".into(),
        "x".repeat(5000),
        "-1".into(),
        "99999999999999999999999".into(),
        "%E2%80%AE".into(),
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.".into(),
    ]
}

fn form(value: &str) -> String {
    PARAMS
        .iter()
        .map(|p| format!("{p}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

async fn hostile_input_never_gets_a_5xx_or_a_hang(db: TestDb) {
    let app = spawn_app(&db).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");
    let mut failures = Vec::new();
    let mut check = |what: String, result: Result<reqwest::Response, reqwest::Error>| match result {
        Ok(r) if r.status().is_server_error() => failures.push(format!("{what}: {}", r.status())),
        Ok(_) => {}
        Err(e) => failures.push(format!("{what}: no answer: {:.300}", e.to_string())),
    };
    for path in PATHS {
        for value in values() {
            let body = form(&value);
            // A URL has to stay within what an HTTP client sends: one long parameter there.
            let query = if value.len() > 100 {
                format!("state={value}&client_id=x")
            } else {
                body.clone()
            };
            let url = format!("{}{path}?{query}", app.base);
            check(
                format!("GET {path} {value:.20}"),
                http.get(&url).send().await,
            );
            check(
                format!("POST {path} {value:.20}"),
                http.post(app.url(path))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await,
            );
        }
        // Every parameter twice.
        let twice = format!("{0}&{0}", form("x"));
        check(
            format!("POST {path} repeated"),
            http.post(app.url(path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(twice)
                .send()
                .await,
        );
        // Raw bytes that are not UTF-8 at all, under every content type.
        for content_type in [
            "application/x-www-form-urlencoded",
            "application/json",
            "text/plain",
            "",
        ] {
            check(
                format!("POST {path} raw as {content_type:?}"),
                http.post(app.url(path))
                    .header("content-type", content_type)
                    .body(vec![0u8, 0xff, 0xfe, b'=', b'&', 0x00, b'%'])
                    .send()
                    .await,
            );
        }
        // Garbage credentials, cookies and languages.
        check(
            format!("POST {path} garbage headers"),
            http.post(app.url(path))
                .header("authorization", "Basic %%%%")
                .header("cookie", "munjigi_session=%00%ff; munjigi_csrf=a.b.c; x")
                .header("accept-language", "ko;q=nan, *;q=-1, \t x")
                .header("origin", app.base.as_str())
                .header("x-forwarded-for", "not-an-ip, ::::")
                .form(&[("csrf", "a")])
                .send()
                .await,
        );
        check(
            format!("GET {path} bearer garbage"),
            http.get(app.url(path)).bearer_auth("a.b.c").send().await,
        );
        // A 10 MB body.
        check(
            format!("POST {path} 10 MB"),
            http.post(app.url(path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(vec![b'a'; 10 * 1024 * 1024])
                .send()
                .await,
        );
        // 200 headers.
        let mut many = http.get(app.url(path));
        for n in 0..200 {
            many = many.header(format!("x-junk-{n}"), "y".repeat(50));
        }
        check(format!("GET {path} 200 headers"), many.send().await);
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // A request sent a byte at a time still gets its answer (and in bounded time).
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    for byte in request {
        stream.write_all(&[*byte]).await.expect("write");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("an answer in time")
        .expect("read");
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"),
        "slow but whole"
    );
    app.stop().await;
}
