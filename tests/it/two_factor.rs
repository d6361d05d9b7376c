//! Two-step sign-in with an authenticator app: enrolment from the account page, codes
//! computed here from the secret (RFC 6238, written out independently of munjigi's), recovery
//! codes, throttling, and step-up for clients and requests that ask for two factors.

use hmac::{Hmac, Mac};
use munjigi::clock::Clock;
use munjigi::oauth::client::AuthMethod;
use sha1::Sha1;

use crate::common::browser::{Browser, hidden, location, query};
use crate::common::fixtures::{PASSWORD, REDIRECT, Registered, auth_url, jwt_claims, web_client};
use crate::common::{TestApp, TestDb, spawn_app_with_clock};
use crate::on_both_backends;

on_both_backends!(
    enrolment_then_sign_in_with_app_codes_and_recovery_codes,
    wrong_codes_are_throttled_like_passwords,
    a_client_requiring_two_factors_never_gets_a_code_after_a_password_alone,
    acr_values_asks_for_two_factors_and_acr_says_what_was_met,
);

const T0: i64 = 1_800_000_000;

/// RFC 4648 base32 (no padding), decoded.
fn base32_decode(text: &str) -> Vec<u8> {
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut buffer, mut bits, mut out) = (0u64, 0u32, Vec::new());
    for c in text.chars() {
        let value = alphabet.find(c).expect("base32 character") as u64;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

/// The 6-digit TOTP of `secret` at unix time `at` (RFC 6238, SHA-1, 30 s).
pub(crate) fn totp(secret: &[u8], at: i64) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("key");
    mac.update(&((at / 30) as u64).to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = (hash[19] & 0x0f) as usize;
    let value = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    format!("{:06}", value % 1_000_000)
}

pub(crate) async fn signed_in(app: &TestApp, c: &Registered, username: &str) -> Browser {
    let browser = Browser::new(app);
    let back = browser
        .sign_in(&auth_url(&c.id, &[]), username, PASSWORD)
        .await;
    assert!(back.starts_with(REDIRECT), "{back}");
    browser
}

/// Sets up an authenticator on the account page at the app's `now`; returns the secret and
/// the recovery codes.
pub(crate) async fn enrol(app: &TestApp, browser: &Browser) -> (Vec<u8>, Vec<String>) {
    let (_, csrf) = browser.account_page().await;
    let started = browser
        .post(
            "/account/2fa/totp/start",
            &[("csrf", &csrf), ("current_password", PASSWORD)],
        )
        .await;
    let status = started.status();
    let where_to = location(&started);
    assert_eq!(
        where_to,
        "/account/2fa/totp",
        "{status} {}",
        started.text().await.unwrap_or_default()
    );
    let page = browser
        .get("/account/2fa/totp")
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(
        page.contains("src=\"data:image/svg+xml;base64,"),
        "a QR code"
    );
    let secret = page
        .split_once("<code id=\"totp-secret\">")
        .and_then(|(_, rest)| rest.split_once('<'))
        .map(|(s, _)| s.to_owned())
        .expect("the key");
    let secret = base32_decode(&secret);
    assert_eq!(secret.len(), 20);
    let csrf = hidden(&page, "csrf");
    let now = app.clock.now();
    let wrong = browser
        .post(
            "/account/2fa/totp/confirm",
            &[("csrf", &csrf), ("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status(), 422, "a wrong code does not turn it on");
    let done = browser
        .post(
            "/account/2fa/totp/confirm",
            &[("csrf", &csrf), ("code", &totp(&secret, now))],
        )
        .await;
    assert_eq!(done.status(), 200);
    let html = done.text().await.unwrap_or_default();
    let codes: Vec<String> = html
        .split("<li>")
        .skip(1)
        .filter_map(|li| li.split_once("</li>").map(|(c, _)| c.trim().to_owned()))
        .collect();
    assert_eq!(codes.len(), 10, "{html}");
    (secret, codes)
}

/// Password, then the second-factor page with `code`; returns the last response.
async fn sign_in_with_code(app: &TestApp, url: &str, code: &str) -> (Browser, reqwest::Response) {
    let browser = Browser::new(app);
    let page = browser.follow(browser.get(url).await).await;
    let after_password = browser.login(page, "minji", PASSWORD).await;
    assert!(
        location(&after_password).starts_with("/login/second-factor?request="),
        "a password alone is not enough: {}",
        location(&after_password)
    );
    let form = browser
        .get(&location(&after_password))
        .await
        .text()
        .await
        .unwrap_or_default();
    let answer = browser
        .post(
            "/login/second-factor",
            &[
                ("csrf", &hidden(&form, "csrf")),
                ("request", &hidden(&form, "request")),
                ("code", code),
            ],
        )
        .await;
    let answer = browser.follow(answer).await;
    (browser, answer)
}

async fn enrolment_then_sign_in_with_app_codes_and_recovery_codes(db: TestDb) {
    let clock = Clock::fixed(T0);
    let app = spawn_app_with_clock(&db, clock.clone()).await;
    let user_id = app.user("minji").await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let browser = signed_in(&app, &c, "minji").await;
    let (secret, recovery) = enrol(&app, &browser).await;
    let (html, _) = browser.account_page().await;
    assert!(
        html.contains("Authenticator app on since") && html.contains("Recovery codes left: 10")
    );
    let sealed = app
        .store
        .totp_of(&user_id)
        .await
        .expect("store")
        .expect("on")
        .secret_sealed;
    assert!(
        !sealed.contains(&totp_secret_b32(&secret)),
        "the secret is sealed"
    );

    // The code that confirmed the enrolment is spent.
    let (_, spent) = sign_in_with_code(&app, &auth_url(&c.id, &[]), &totp(&secret, T0)).await;
    assert_eq!(spent.status(), 401);
    clock.advance(30);
    let (_, ok) = sign_in_with_code(&app, &auth_url(&c.id, &[]), &totp(&secret, T0 + 30)).await;
    let back = location(&ok);
    assert!(back.starts_with(REDIRECT), "{back}");
    let tokens = app.redeem(&c, &query(&back)["code"]).await;
    let claims = jwt_claims(tokens.json["id_token"].as_str().unwrap_or_default());
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["acr"], "urn:munjigi:acr:2fa");

    // prompt=login and max_age ask for both factors again, not only the password.
    let (signed, _) = sign_in_with_code(&app, &auth_url(&c.id, &[]), &recovery[9]).await;
    for extra in [("prompt", "login"), ("max_age", "0")] {
        clock.advance(1);
        let page = signed
            .follow(signed.get(&auth_url(&c.id, &[extra])).await)
            .await;
        let after_password = signed.login(page, "minji", PASSWORD).await;
        assert!(
            location(&after_password).starts_with("/login/second-factor"),
            "{extra:?}: the second factor is asked again"
        );
    }

    // A recovery code, typed any which way, works once.
    let typed = recovery[0].to_uppercase().replace('-', " ");
    let (_, ok) = sign_in_with_code(&app, &auth_url(&c.id, &[]), &typed).await;
    assert!(location(&ok).starts_with(REDIRECT));
    let (_, again) = sign_in_with_code(&app, &auth_url(&c.id, &[]), &recovery[0]).await;
    assert_eq!(again.status(), 401);
    assert_eq!(
        app.store
            .recovery_codes_left(&user_id)
            .await
            .expect("store"),
        8
    );

    // Turning it off needs the password; then a password is enough again.
    let (_, csrf) = browser.account_page().await;
    let off = browser
        .post(
            "/account/2fa/totp/disable",
            &[("csrf", &csrf), ("current_password", "wrong password")],
        )
        .await;
    assert_eq!(off.status(), 401);
    let off = browser
        .post(
            "/account/2fa/totp/disable",
            &[("csrf", &csrf), ("current_password", PASSWORD)],
        )
        .await;
    assert_eq!(location(&off), "/account?done=totp_disabled");
    assert!(signed_in(&app, &c, "minji").await.signed_in().await);
}

fn totp_secret_b32(secret: &[u8]) -> String {
    munjigi::account::totp::base32(secret)
}

async fn wrong_codes_are_throttled_like_passwords(db: TestDb) {
    let clock = Clock::fixed(T0);
    let app = spawn_app_with_clock(&db, clock.clone()).await;
    app.user("minji").await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let (secret, _) = enrol(&app, &signed_in(&app, &c, "minji").await).await;
    clock.advance(30);
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let (_, answer) = sign_in_with_code(&app, &auth_url(&c.id, &[]), "123456").await;
        statuses.push(answer.status().as_u16());
        if answer.status() == 429 {
            assert!(answer.headers().contains_key("retry-after"));
            break;
        }
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    let (_, right) = sign_in_with_code(&app, &auth_url(&c.id, &[]), &totp(&secret, T0 + 30)).await;
    assert_eq!(right.status(), 429, "even the right code waits");
}

async fn register_requiring_mfa(app: &TestApp) -> Registered {
    let mut new = web_client(AuthMethod::ClientSecretBasic, true);
    new.require_mfa = true;
    app.register(new).await
}

async fn a_client_requiring_two_factors_never_gets_a_code_after_a_password_alone(db: TestDb) {
    let clock = Clock::fixed(T0);
    let app = spawn_app_with_clock(&db, clock.clone()).await;
    app.user("minji").await;
    let plain = app.client(AuthMethod::ClientSecretBasic, true).await;
    let strict = register_requiring_mfa(&app).await;

    // No second factor yet: a page that says what to do, never a code.
    let browser = signed_in(&app, &plain, "minji").await;
    let refused = browser
        .follow(browser.get(&auth_url(&strict.id, &[])).await)
        .await;
    assert_eq!(refused.status(), 403);
    assert!(
        refused
            .text()
            .await
            .unwrap_or_default()
            .contains("requires two-step verification")
    );

    // Enrolled while signed in with a password: the strict client steps the sign-in up.
    let (secret, _) = enrol(&app, &browser).await;
    let none = browser
        .get(&auth_url(&strict.id, &[("prompt", "none")]))
        .await;
    assert_eq!(query(&location(&none))["error"], "interaction_required");
    let step_up = browser
        .follow(browser.get(&auth_url(&strict.id, &[])).await)
        .await;
    let html = step_up.text().await.unwrap_or_default();
    assert!(
        html.contains("name=\"code\""),
        "asked for the second factor: {html}"
    );
    clock.advance(30);
    let back = browser
        .post(
            "/login/second-factor",
            &[
                ("csrf", &hidden(&html, "csrf")),
                ("request", &hidden(&html, "request")),
                ("code", &totp(&secret, T0 + 30)),
            ],
        )
        .await;
    let back = location(&browser.follow(back).await);
    assert!(back.starts_with(REDIRECT), "{back}");
    let tokens = app.redeem(&strict, &query(&back)["code"]).await;
    let claims = jwt_claims(tokens.json["id_token"].as_str().unwrap_or_default());
    assert!(
        claims["amr"]
            .as_array()
            .is_some_and(|a| a.contains(&"mfa".into())),
        "{claims}"
    );
    // The same session is now two-factor for every client.
    let again = browser.get(&auth_url(&strict.id, &[])).await;
    assert!(location(&again).starts_with(REDIRECT));
}

async fn acr_values_asks_for_two_factors_and_acr_says_what_was_met(db: TestDb) {
    let app = spawn_app_with_clock(&db, Clock::fixed(T0)).await;
    app.user("minji").await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let discovery = app.get_json("/.well-known/openid-configuration").await;
    assert!(
        discovery["acr_values_supported"]
            .as_array()
            .is_some_and(|a| a.contains(&"urn:munjigi:acr:2fa".into()))
    );
    // Asked, but the account has no second factor: one factor, and acr says so.
    let browser = Browser::new(&app);
    let url = auth_url(&c.id, &[("acr_values", "urn:munjigi:acr:2fa")]);
    let back = browser.sign_in(&url, "minji", PASSWORD).await;
    let tokens = app.redeem(&c, &query(&back)["code"]).await;
    let claims = jwt_claims(tokens.json["id_token"].as_str().unwrap_or_default());
    assert_eq!(claims["acr"], "urn:munjigi:acr:1fa");
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
}
