//! Sign in with a real browser: headless Chromium, driven over the W3C WebDriver protocol
//! (chromedriver, JSON over HTTP), through the hosted login and consent pages in Korean and
//! English. Screenshots land in `target/screenshots/` for a person to look at.
//!
//! Without `/usr/bin/chromedriver` the test is skipped, unless `CI=true`, where it fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use munjigi::oauth::client::AuthMethod;
use serde_json::{Value, json};

use crate::common::fixtures::{PASSWORD, REDIRECT, auth_url};
use crate::common::{Backend, TestDb, spawn_app};
use crate::on_both_backends;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// The key W3C WebDriver puts element references under.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process, killed when dropped.
struct Driver {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Driver {
    async fn start() -> Self {
        let port = match std::net::TcpListener::bind("127.0.0.1:0") {
            Ok(l) => l.local_addr().map(|a| a.port()).unwrap_or_default(),
            Err(e) => panic!("free port: {e}"),
        };
        let child = match Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => panic!("start {CHROMEDRIVER}: {e}"),
        };
        let http = match reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
        {
            Ok(c) => c,
            Err(e) => panic!("webdriver http client: {e}"),
        };
        let driver = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(r) = driver
                .http
                .get(format!("{}/status", driver.base))
                .send()
                .await
                && let Ok(v) = r.json::<Value>().await
                && v["value"]["ready"] == json!(true)
            {
                return driver;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let status = response.status();
        let reply: Value = response
            .json()
            .await
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: not JSON: {e}"));
        assert!(
            status.is_success(),
            "WebDriver {method} {path}: {status}: {reply}"
        );
        reply["value"].clone()
    }

    /// A fresh headless Chromium with its own profile in `profile`.
    async fn session(&self, profile: &Path, lang: &str) -> Session<'_> {
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-quic".to_owned(),
            "--no-proxy-server".to_owned(),
            format!("--user-data-dir={}", profile.display()),
            "--window-size=1000,900".to_owned(),
            format!("--lang={lang}"),
        ];
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "timeouts": { "implicit": 10_000, "pageLoad": 30_000 },
                    "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
                }
            }
        });
        let value = self
            .call(reqwest::Method::POST, "/session", Some(capabilities))
            .await;
        let Some(id) = value["sessionId"].as_str() else {
            panic!("no sessionId in {value}")
        };
        Session {
            driver: self,
            id: id.to_owned(),
            open: true,
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser (one WebDriver session).
struct Session<'d> {
    driver: &'d Driver,
    id: String,
    open: bool,
}

impl Session<'_> {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.driver
            .call(method, &format!("/session/{}{path}", self.id), body)
            .await
    }

    async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    async fn url(&self) -> String {
        let value = self.call(reqwest::Method::GET, "/url", None).await;
        value.as_str().unwrap_or_default().to_owned()
    }

    async fn source(&self) -> String {
        let value = self.call(reqwest::Method::GET, "/source", None).await;
        value.as_str().unwrap_or_default().to_owned()
    }

    /// The element matching a CSS selector (waits up to the implicit timeout for it).
    async fn find(&self, selector: &str) -> String {
        let value = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": selector })),
            )
            .await;
        let Some(id) = value[ELEMENT_KEY].as_str() else {
            panic!("no element for {selector}: {value}")
        };
        id.to_owned()
    }

    async fn type_into(&self, selector: &str, text: &str) {
        let element = self.find(selector).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    async fn click(&self, selector: &str) {
        let element = self.find(selector).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn screenshot(&self, path: &Path) {
        let value = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = match base64::engine::general_purpose::STANDARD
            .decode(value.as_str().unwrap_or_default())
        {
            Ok(b) => b,
            Err(e) => panic!("screenshot is not base64: {e}"),
        };
        if let Err(e) = std::fs::write(path, png) {
            panic!("write {}: {e}", path.display());
        }
    }

    /// Waits up to ~10 s for the browser to be at a URL starting with `prefix`.
    async fn wait_for_url(&self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let url = self.url().await;
            if url.starts_with(prefix) || Instant::now() >= deadline {
                return url;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn close(mut self) {
        self.open = false;
        self.call(reqwest::Method::DELETE, "", None).await;
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        // A session left open (a failed assertion) is ended here: killing chromedriver alone
        // would leave Chromium running. Drop cannot be async; a blocking request on its own
        // thread does the work.
        if !self.open {
            return;
        }
        let url = format!("{}/session/{}", self.driver.base, self.id);
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(http) = reqwest::Client::builder()
                    .no_proxy()
                    .timeout(Duration::from_secs(10))
                    .build()
                {
                    let _ = http.delete(url).send().await;
                }
            });
        })
        .join();
    }
}

fn screenshots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("create {}: {e}", dir.display());
    }
    dir
}

/// Whether the browser test can run here; with `CI=true` a missing driver is a failure.
fn browser_available() -> bool {
    if Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "CI=true but {CHROMEDRIVER} or {CHROMIUM} is missing (apt-get install chromium chromium-driver)"
        );
    }
    eprintln!(
        "notice: {CHROMEDRIVER} or {CHROMIUM} is missing; skipping the browser test \
         (apt-get install chromium chromium-driver; set CI=true to require it)"
    );
    false
}

async fn sign_in_with_a_real_browser(db: TestDb) {
    if !browser_available() {
        return;
    }
    let backend = match db.backend {
        Backend::Postgres => "postgres",
        Backend::Sqlite => "sqlite",
    };
    let app = spawn_app(&db).await;
    let c = app.client(AuthMethod::ClientSecretBasic, false).await;
    let driver = Driver::start().await;
    let shots = screenshots_dir();

    for (lang, browser_lang, username) in [("ko", "ko-KR", "minji"), ("en", "en", "alice")] {
        app.user(username).await;
        // A browser of its own per language: no session cookie carried over, so both runs
        // see the login page and the consent page.
        let profile = db.dir().join(format!("chromium-{lang}"));
        let browser = driver.session(&profile, browser_lang).await;

        browser
            .goto(&app.url(&auth_url(&c.id, &[("ui_locales", lang)])))
            .await;
        browser.find("#username").await;
        let at = browser.url().await;
        assert!(
            at.starts_with(&app.url("/login?request=")),
            "{lang}: expected the login page, at {at}"
        );
        if lang == "ko" {
            let html = browser.source().await;
            assert!(
                html.contains(r#"lang="ko""#),
                "{lang}: no lang=\"ko\": {html}"
            );
            let title = munjigi::http::web::i18n::KO.login_title;
            assert!(html.contains(title), "{lang}: no {title:?}: {html}");
        } else {
            let html = browser.source().await;
            assert!(
                html.contains(r#"lang="en""#),
                "{lang}: no lang=\"en\": {html}"
            );
        }
        browser
            .screenshot(&shots.join(format!("{backend}-{lang}-login.png")))
            .await;

        browser.type_into("#username", username).await;
        browser.type_into("#password", PASSWORD).await;
        browser.click("button[type=submit]").await;

        browser.find("button[name=decision][value=allow]").await;
        let at = browser.url().await;
        assert!(
            at.starts_with(&app.url("/consent?request=")),
            "{lang}: expected the consent page, at {at}"
        );
        browser
            .screenshot(&shots.join(format!("{backend}-{lang}-consent.png")))
            .await;
        browser.click("button[name=decision][value=allow]").await;

        let back = browser.wait_for_url(REDIRECT).await;
        assert!(
            back.starts_with(REDIRECT),
            "{lang}: not back at the client: {back}"
        );
        assert!(back.contains("code="), "{lang}: no code: {back}");
        assert!(back.contains("state=st-1"), "{lang}: no state: {back}");
        assert!(back.contains("iss="), "{lang}: no iss: {back}");
        browser.close().await;
    }

    drop(driver);
    app.stop().await;
}

on_both_backends!(
    sign_in_with_a_real_browser,
    sign_in_with_kakao_in_a_real_browser
);

/// The Kakao button on the Korean login page, Kakao's approval (the stub), consent, and the
/// code at the client; screenshots of the login page with every provider, in both languages.
async fn sign_in_with_kakao_in_a_real_browser(db: TestDb) {
    use crate::common::upstream::{Flavor, Person, Stub};
    if !browser_available() {
        return;
    }
    let backend = match db.backend {
        Backend::Postgres => "postgres",
        Backend::Sqlite => "sqlite",
    };
    let kakao = Stub::start(
        Flavor::Kakao,
        Person::new("4200000001", "b@kakao.example", true),
    )
    .await;
    let naver = Stub::start(Flavor::Naver, Person::new("n-42", "b@naver.example", true)).await;
    let google_stub =
        Stub::start(Flavor::Google, Person::new("g-42", "b@gmail.example", true)).await;
    let app = crate::federation::app_with(&db, |f| {
        f.kakao = Some(crate::federation::oauth(&kakao));
        f.naver = Some(crate::federation::oauth(&naver));
        crate::federation::google(&google_stub)(f);
    })
    .await;
    let c = app.client(AuthMethod::ClientSecretBasic, false).await;
    let driver = Driver::start().await;
    let shots = screenshots_dir();

    let en = driver
        .session(&db.dir().join("chromium-federation-en"), "en")
        .await;
    en.goto(&app.url(&auth_url(&c.id, &[("ui_locales", "en")])))
        .await;
    en.find("a.provider.google").await;
    let html = en.source().await;
    assert!(
        html.contains("Login with Kakao") && html.contains("Log in with NAVER"),
        "{html}"
    );
    en.screenshot(&shots.join(format!("{backend}-en-login-providers.png")))
        .await;
    en.close().await;

    let browser = driver
        .session(&db.dir().join("chromium-federation-ko"), "ko-KR")
        .await;
    browser
        .goto(&app.url(&auth_url(&c.id, &[("ui_locales", "ko")])))
        .await;
    browser.find("a.provider.kakao").await;
    let html = browser.source().await;
    for label in ["카카오 로그인", "네이버 로그인", "Google 계정으로 로그인"] {
        assert!(html.contains(label), "no {label:?}: {html}");
    }
    browser
        .screenshot(&shots.join(format!("{backend}-ko-login-providers.png")))
        .await;
    browser.click("a.provider.kakao").await;

    browser.find("button[name=decision][value=allow]").await;
    let at = browser.url().await;
    assert!(
        at.starts_with(&app.url("/consent?request=")),
        "after Kakao, consent: {at}"
    );
    browser
        .screenshot(&shots.join(format!("{backend}-ko-consent-after-kakao.png")))
        .await;
    browser.click("button[name=decision][value=allow]").await;
    let back = browser.wait_for_url(REDIRECT).await;
    let code = crate::common::browser::query(&back)
        .get("code")
        .cloned()
        .unwrap_or_else(|| panic!("no code: {back}"));
    let reply = app.redeem(&c, &code).await;
    let claims =
        crate::common::fixtures::jwt_claims(reply.json["id_token"].as_str().unwrap_or_default());
    let user_id = crate::federation::linked(&app, "kakao", "4200000001").await;
    assert_eq!(
        claims["sub"].as_str(),
        user_id.as_deref(),
        "the Kakao person's account"
    );

    browser.goto(&app.url("/account")).await;
    browser.find("form[action='/account/link/naver']").await;
    browser
        .screenshot(&shots.join(format!("{backend}-ko-account.png")))
        .await;
    browser.close().await;
    drop(driver);
    app.stop().await;
}
