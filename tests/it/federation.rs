//! Signing in with Google, Kakao and Naver through loopback stubs of each: a third-party app's
//! authorization request → "continue with X" → the stub approves → callback → munjigi session
//! → code → tokens whose `sub` is the munjigi user; and every way the round trip can fail.

use munjigi::clock::Clock;
use munjigi::config::FederationConfig;
use munjigi::oauth::client::AuthMethod;
use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{AuthorizationCode, CsrfToken, Nonce, PkceCodeChallenge, Scope, TokenResponse};

use crate::common::browser::{Browser, hidden, location, query};
use crate::common::fixtures::{REDIRECT, Registered, auth_url, jwt_claims, web_client};
use crate::common::upstream::{CLIENT_ID, CLIENT_SECRET, Flavor, Misbehave, Person, Stub};
use crate::common::{TestApp, TestDb, rp, spawn_app_tweaked};
use crate::on_both_backends;

on_both_backends!(
    an_upstream_that_checked_two_factors_counts_as_two,
    google_signs_in_end_to_end_with_an_openidconnect_rp,
    kakao_signs_in_end_to_end,
    naver_signs_in_end_to_end,
    the_same_upstream_subject_is_always_the_same_user,
    state_is_bound_to_the_browser_and_single_use,
    bad_upstream_id_tokens_are_refused,
    upstream_errors_and_refusals_are_pages_with_a_way_back,
    an_upstream_that_does_not_answer_times_out,
    a_fresh_sign_in_demand_reaches_each_provider_its_own_way,
);

/// munjigi with these providers configured (the rest off).
pub async fn app_with(db: &TestDb, configure: impl FnOnce(&mut FederationConfig)) -> TestApp {
    let mut federation = FederationConfig::default();
    configure(&mut federation);
    spawn_app_tweaked(db, Clock::system(), |b| b.federation(federation)).await
}

pub fn google(stub: &Stub) -> impl FnOnce(&mut FederationConfig) + '_ {
    |f| {
        f.google = Some(FederationConfig::oidc_upstream(
            "google",
            "Google",
            &stub.base,
            CLIENT_ID,
            CLIENT_SECRET,
        ))
    }
}

pub fn oauth(stub: &Stub) -> munjigi::config::OAuthUpstream {
    FederationConfig::oauth_upstream(CLIENT_ID, CLIENT_SECRET, &stub.base, &stub.base)
}

/// Follows redirects across loopback hosts (munjigi, a stub, another munjigi) until a page,
/// or until the browser is sent back to the client. A relative location is relative to the
/// host that sent it.
pub async fn travel(browser: &Browser, mut response: reqwest::Response) -> reqwest::Response {
    for _ in 0..15 {
        let next = location(&response);
        if !response.status().is_redirection() || next.starts_with(REDIRECT) {
            return response;
        }
        let next = response.url().join(&next).expect("a location").to_string();
        response = browser.get(&next).await;
    }
    panic!("too many redirects")
}

/// Presses the provider button with this class on a page: its form (action and hidden
/// fields, the CSRF token among them) is POSTed, as a browser does.
pub async fn press(browser: &Browser, html: &str, class: &str) -> reqwest::Response {
    let marker = format!("class=\"provider {class}\"");
    let (before, _) = html
        .split_once(&marker)
        .unwrap_or_else(|| panic!("no {class} button in {html}"));
    let form = &before[before.rfind("<form").expect("the button's form")..];
    let action = form
        .split_once("action=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(action, _)| action.to_owned())
        .expect("the form's action");
    let mut fields = Vec::new();
    for name in ["csrf", "request", "confirm"] {
        if form.contains(&format!("name=\"{name}\"")) {
            fields.push((name, hidden(form, name)));
        }
    }
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post(&action, &fields).await
}

/// From an authorization URL through the login page's `class` button, the stub's approval and
/// (when asked) consent, to the code at the client.
pub async fn code_via(browser: &Browser, auth: &str, class: &str) -> String {
    let page = browser.follow(browser.get(auth).await).await;
    let html = page.text().await.unwrap_or_default();
    let back = travel(browser, press(browser, &html, class).await).await;
    let back = if back.status().is_redirection() {
        back
    } else {
        browser.follow(browser.consent(back, "allow").await).await
    };
    let to = location(&back);
    query(&to)
        .get("code")
        .cloned()
        .unwrap_or_else(|| panic!("no code: {to}"))
}

/// The munjigi user an upstream identity is linked to.
pub async fn linked(app: &TestApp, provider: &str, subject: &str) -> Option<String> {
    app.store
        .identity(provider, subject)
        .await
        .ok()
        .flatten()
        .map(|i| i.user_id)
}

pub async fn user_count(app: &TestApp) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users")
        .fetch_one(app.store.pool())
        .await
        .expect("count users")
}

/// The `openidconnect` crate as the third-party app: discovery, PKCE, nonce; the person picks
/// the provider with `class` on the login page; the id_token is verified by the crate.
/// Returns the verified subject and the raw claims.
async fn rp_sign_in(app: &TestApp, c: &Registered, class: &str) -> (String, serde_json::Value) {
    let rp = rp::discover(&app.base, &c.id, c.secret.as_deref(), REDIRECT).await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _csrf, nonce) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let code = code_via(&Browser::new(app), url.as_str(), class).await;
    let tokens = rp
        .exchange_code(AuthorizationCode::new(code))
        .expect("token endpoint")
        .set_pkce_verifier(verifier)
        .request_async(&rp::http)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("an id_token");
    let claims = id_token
        .claims(&rp.id_token_verifier(), &nonce)
        .expect("the id_token verifies");
    (
        claims.subject().as_str().to_owned(),
        jwt_claims(&id_token.to_string()),
    )
}

async fn google_signs_in_end_to_end_with_an_openidconnect_rp(db: TestDb) {
    let stub = Stub::start(
        Flavor::Google,
        Person::new("g-1", "minji@gmail.example", true),
    )
    .await;
    let app = app_with(&db, google(&stub)).await;
    let c = app.client(AuthMethod::ClientSecretBasic, false).await;
    let (subject, raw) = rp_sign_in(&app, &c, "google").await;

    // What munjigi asked of Google.
    let asked = stub.last_authorize();
    assert_eq!(
        asked.get("code_challenge_method").map(String::as_str),
        Some("S256")
    );
    assert!(asked.contains_key("nonce") && asked.contains_key("state"));
    assert_eq!(
        asked.get("redirect_uri").map(String::as_str),
        Some(format!("{}/login/google/callback", app.base).as_str())
    );
    let user_id = linked(&app, "google", "g-1").await.expect("linked");
    assert_eq!(subject, user_id, "sub is the munjigi user");
    assert_eq!(raw["idp"], "google");
    assert_eq!(raw["amr"], serde_json::json!(["fed"]));
    assert_eq!(raw["email"], "minji@gmail.example");
    assert_eq!(raw["email_verified"], true, "Google vouched for it");
    let identity = app.store.identity("google", "g-1").await.ok().flatten();
    assert_eq!(
        identity.and_then(|i| i.hd).as_deref(),
        Some("example.com"),
        "hd kept"
    );
    app.stop().await;
}

async fn an_upstream_that_checked_two_factors_counts_as_two(db: TestDb) {
    let mut person = Person::new("g-2", "haneul@gmail.example", true);
    person.amr = vec!["pwd".into(), "mfa".into()];
    let stub = Stub::start(Flavor::Google, person).await;
    let app = app_with(&db, google(&stub)).await;
    let mut strict = web_client(AuthMethod::ClientSecretBasic, false);
    strict.require_mfa = true;
    let c = app.register(strict).await;
    let (_, raw) = rp_sign_in(&app, &c, "google").await;
    assert_eq!(raw["amr"], serde_json::json!(["fed", "mfa"]));
    assert_eq!(raw["acr"], "urn:munjigi:acr:2fa");
    app.stop().await;
}

async fn kakao_signs_in_end_to_end(db: TestDb) {
    let stub = Stub::start(
        Flavor::Kakao,
        Person::new("4100000001", "jiho@kakao.example", true),
    )
    .await;
    let app = app_with(&db, |f| f.kakao = Some(oauth(&stub))).await;
    let c = app.client(AuthMethod::ClientSecretBasic, false).await;
    let browser = Browser::new(&app);
    let auth = auth_url(&c.id, &[("ui_locales", "ko")]);
    let page = browser.follow(browser.get(&auth).await).await;
    let html = page.text().await.unwrap_or_default();
    assert!(html.contains("카카오 로그인"), "Korean button: {html}");
    let code = code_via(&browser, &auth, "kakao").await;
    let asked = stub.last_authorize();
    assert_eq!(
        asked.get("code_challenge_method").map(String::as_str),
        Some("S256")
    );
    assert!(
        !asked.contains_key("prompt"),
        "no fresh sign-in was demanded"
    );
    let reply = app.redeem(&c, &code).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    let claims = jwt_claims(reply.json["id_token"].as_str().unwrap_or_default());
    let user_id = linked(&app, "kakao", "4100000001").await.expect("linked");
    assert_eq!(claims["sub"].as_str(), Some(user_id.as_str()));
    assert_eq!(claims["idp"], "kakao");
    assert_eq!(
        claims["nonce"], "n-1",
        "the app's nonce survived the round trip"
    );
    let user = app.store.user(&user_id).await.ok().flatten().expect("user");
    assert_eq!(user.email.as_deref(), Some("jiho@kakao.example"));
    assert!(user.email_verified, "valid and verified at Kakao");
    assert_eq!(
        user.username, "jiho",
        "the nickname is Korean: the address's local part"
    );
    assert_eq!(user.name.as_deref(), Some("민지"));
    assert!(user.password_hash.is_none());
    // The same person through the openidconnect crate as the app.
    let (subject, raw) = rp_sign_in(&app, &c, "kakao").await;
    assert_eq!(subject, user_id);
    assert_eq!(raw["idp"], "kakao");
    app.stop().await;
}

async fn naver_signs_in_end_to_end(db: TestDb) {
    let stub = Stub::start(
        Flavor::Naver,
        Person::new("naver-abc", "hana@naver.example", true),
    )
    .await;
    let app = app_with(&db, |f| f.naver = Some(oauth(&stub))).await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let browser = Browser::new(&app);
    let code = code_via(&browser, &auth_url(&c.id, &[]), "naver").await;
    let reply = app.redeem(&c, &code).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    let claims = jwt_claims(reply.json["id_token"].as_str().unwrap_or_default());
    let user_id = linked(&app, "naver", "naver-abc").await.expect("linked");
    assert_eq!(claims["sub"].as_str(), Some(user_id.as_str()));
    assert!(
        claims.get("email").is_none(),
        "Naver vouches for no address, so none is kept: {claims}"
    );
    let (subject, raw) = rp_sign_in(&app, &c, "naver").await;
    assert_eq!(subject, user_id);
    assert_eq!(raw["idp"], "naver");
    app.stop().await;
}

async fn the_same_upstream_subject_is_always_the_same_user(db: TestDb) {
    let stub = Stub::start(Flavor::Kakao, Person::new("77", "same@kakao.example", true)).await;
    let app = app_with(&db, |f| f.kakao = Some(oauth(&stub))).await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let mut subjects = Vec::new();
    for _ in 0..3 {
        let code = code_via(&Browser::new(&app), &auth_url(&c.id, &[]), "kakao").await;
        let reply = app.redeem(&c, &code).await;
        subjects
            .push(jwt_claims(reply.json["id_token"].as_str().unwrap_or_default())["sub"].clone());
    }
    assert!(subjects.windows(2).all(|w| w[0] == w[1]), "{subjects:?}");
    assert_eq!(user_count(&app).await, 1);
    app.stop().await;
}

/// The stub's redirect back to munjigi, without following it.
async fn callback_url(browser: &Browser, app: &TestApp, c: &Registered, class: &str) -> String {
    let page = browser
        .follow(browser.get(&auth_url(&c.id, &[])).await)
        .await;
    let html = page.text().await.unwrap_or_default();
    let to_stub = location(&press(browser, &html, class).await);
    let back = location(&browser.get(&to_stub).await);
    assert!(back.starts_with(&format!("{}/login/", app.base)), "{back}");
    back
}

async fn state_is_bound_to_the_browser_and_single_use(db: TestDb) {
    let stub = Stub::start(Flavor::Kakao, Person::new("88", "s@kakao.example", true)).await;
    let app = app_with(&db, |f| f.kakao = Some(oauth(&stub))).await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let browser = Browser::new(&app);
    let back = callback_url(&browser, &app, &c, "kakao").await;

    let stranger = Browser::new(&app).get(&back).await;
    assert_eq!(stranger.status(), 400, "another browser's callback");
    let forged = back.replace("state=", "state=x");
    assert_eq!(
        browser.get(&forged).await.status(),
        400,
        "a state that is not ours"
    );
    let first = travel(&browser, browser.get(&back).await).await;
    assert!(
        location(&first).starts_with(REDIRECT),
        "the real one goes through"
    );
    let replay = browser.get(&back).await;
    assert_eq!(replay.status(), 400, "a state is used once");
    let html = replay.text().await.unwrap_or_default();
    assert!(html.contains("href=\"/login"), "with a way back: {html}");
    assert_eq!(user_count(&app).await, 1);
    app.stop().await;
}

async fn bad_upstream_id_tokens_are_refused(db: TestDb) {
    let stub = Stub::start(Flavor::Google, Person::new("g-2", "x@gmail.example", true)).await;
    let app = app_with(&db, google(&stub)).await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    for bad in [
        Misbehave::WrongNonce,
        Misbehave::Tampered,
        Misbehave::ForeignAudience,
    ] {
        stub.misbehave(bad.clone());
        let browser = Browser::new(&app);
        let back = callback_url(&browser, &app, &c, "google").await;
        let answer = browser.get(&back).await;
        assert_eq!(answer.status(), 502, "{bad:?}");
        let html = answer.text().await.unwrap_or_default();
        assert!(
            html.contains("Google:"),
            "{bad:?}: names the provider: {html}"
        );
    }
    assert_eq!(user_count(&app).await, 0, "nobody was created");
    // Kakao's id_token is checked the same way.
    let kakao = Stub::start(Flavor::Kakao, Person::new("99", "k@kakao.example", true)).await;
    kakao.misbehave(Misbehave::WrongNonce);
    let app2 = app_with(&db, |f| f.kakao = Some(oauth(&kakao))).await;
    let c2 = app2.client(AuthMethod::ClientSecretBasic, true).await;
    let browser = Browser::new(&app2);
    let back = callback_url(&browser, &app2, &c2, "kakao").await;
    assert_eq!(browser.get(&back).await.status(), 502);
    app2.stop().await;
    app.stop().await;
}

async fn upstream_errors_and_refusals_are_pages_with_a_way_back(db: TestDb) {
    let kakao = Stub::start(Flavor::Kakao, Person::new("5", "e@kakao.example", true)).await;
    let naver = Stub::start(Flavor::Naver, Person::new("n-5", "e@naver.example", true)).await;
    let app = app_with(&db, |f| {
        f.kakao = Some(oauth(&kakao));
        f.naver = Some(oauth(&naver));
    })
    .await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;

    kakao.misbehave(Misbehave::TokenError);
    let browser = Browser::new(&app);
    let back = callback_url(&browser, &app, &c, "kakao").await;
    let page = browser.get(&back).await;
    assert_eq!(page.status(), 502);
    let html = page.text().await.unwrap_or_default();
    assert!(
        html.contains("KOE320"),
        "Kakao's error code is shown: {html}"
    );
    assert!(
        html.contains("href=\"/login?request="),
        "back to the same request: {html}"
    );

    naver.misbehave(Misbehave::TokenError);
    let browser = Browser::new(&app);
    let back = callback_url(&browser, &app, &c, "naver").await;
    let page = browser.get(&back).await;
    assert_eq!(page.status(), 502, "Naver's HTTP 200 error is an error");
    assert!(
        page.text()
            .await
            .unwrap_or_default()
            .contains("invalid_request")
    );

    naver.misbehave(Misbehave::Refuse);
    let browser = Browser::new(&app);
    let back = callback_url(&browser, &app, &c, "naver").await;
    let page = browser.get(&back).await;
    assert_eq!(page.status(), 403, "the person said no");
    let html = page.text().await.unwrap_or_default();
    assert!(html.contains("cancelled"), "{html}");
    // The way back leads to the login page of the same request.
    let way_back = html
        .split_once("class=\"aside\"><a href=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(h, _)| h.replace("&amp;", "&").replace("&#38;", "&"))
        .unwrap_or_default();
    let login = browser.get(&way_back).await;
    assert_eq!(login.status(), 200);
    assert!(
        login
            .text()
            .await
            .unwrap_or_default()
            .contains("name=\"password\"")
    );
    assert_eq!(user_count(&app).await, 0, "no half-created user");
    app.stop().await;
}

async fn an_upstream_that_does_not_answer_times_out(db: TestDb) {
    let stub = Stub::start(Flavor::Kakao, Person::new("6", "t@kakao.example", true)).await;
    stub.misbehave(Misbehave::SlowToken(4));
    let app = app_with(&db, |f| {
        f.kakao = Some(oauth(&stub));
        f.timeout = std::time::Duration::from_secs(1);
    })
    .await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let browser = Browser::new(&app);
    let back = callback_url(&browser, &app, &c, "kakao").await;
    let started = std::time::Instant::now();
    let page = browser.get(&back).await;
    assert_eq!(page.status(), 504);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "the limit held"
    );
    assert_eq!(user_count(&app).await, 0);
    app.stop().await;
}

async fn a_fresh_sign_in_demand_reaches_each_provider_its_own_way(db: TestDb) {
    let google_stub =
        Stub::start(Flavor::Google, Person::new("g-7", "f@gmail.example", true)).await;
    let kakao = Stub::start(Flavor::Kakao, Person::new("7", "f@kakao.example", true)).await;
    let naver = Stub::start(Flavor::Naver, Person::new("n-7", "f@naver.example", true)).await;
    let app = app_with(&db, |f| {
        google(&google_stub)(f);
        f.kakao = Some(oauth(&kakao));
        f.naver = Some(oauth(&naver));
    })
    .await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    // Signed in with Kakao already; the app then forces a fresh sign-in.
    let browser = Browser::new(&app);
    code_via(&browser, &auth_url(&c.id, &[]), "kakao").await;
    let forced = auth_url(&c.id, &[("prompt", "login"), ("nonce", "fresh-nonce")]);
    let parked = browser.get(&forced).await;
    assert!(
        location(&parked).starts_with("/login"),
        "parked at the login step"
    );

    let code = code_via(&browser, &forced, "kakao").await;
    assert_eq!(
        kakao.last_authorize().get("prompt").map(String::as_str),
        Some("login")
    );
    let claims = jwt_claims(
        app.redeem(&c, &code).await.json["id_token"]
            .as_str()
            .unwrap_or_default(),
    );
    assert_eq!(claims["nonce"], "fresh-nonce");

    // Naver cannot prove a fresh sign-in: see sign_in_safety.rs.
    code_via(&browser, &forced, "google").await;
    let asked = google_stub.last_authorize();
    assert_eq!(
        asked.get("max_age").map(String::as_str),
        Some("0"),
        "Google: max_age, not prompt"
    );
    assert!(!asked.contains_key("prompt"));
    let with_max_age = auth_url(&c.id, &[("max_age", "300")]);
    let page = browser.get(&with_max_age).await;
    // The Google sign-in a moment ago is fresh enough: no login step at all.
    assert!(location(&page).starts_with(REDIRECT), "{}", location(&page));
    app.stop().await;
}
