//! A real browser for tests: headless Chromium driven over the W3C WebDriver protocol
//! (chromedriver, JSON over HTTP), a fresh profile per session.
//!
//! Without `/usr/bin/chromedriver` browser tests are skipped, unless `CI=true`, where they fail.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// The key W3C WebDriver puts element references under.
pub const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process, killed when dropped.
pub struct Driver {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Driver {
    pub async fn start() -> Self {
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

    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
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
    pub async fn session(&self, profile: &Path, lang: &str) -> Session<'_> {
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
                    // `--lang` alone leaves headless Chromium's Accept-Language English.
                    "goog:chromeOptions": {
                        "binary": CHROMIUM,
                        "args": args,
                        "prefs": { "intl.accept_languages": lang },
                    },
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
pub struct Session<'d> {
    driver: &'d Driver,
    id: String,
    open: bool,
}

impl Session<'_> {
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.driver
            .call(method, &format!("/session/{}{path}", self.id), body)
            .await
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    pub async fn url(&self) -> String {
        let value = self.call(reqwest::Method::GET, "/url", None).await;
        value.as_str().unwrap_or_default().to_owned()
    }

    pub async fn source(&self) -> String {
        let value = self.call(reqwest::Method::GET, "/source", None).await;
        value.as_str().unwrap_or_default().to_owned()
    }

    /// The element matching a CSS selector (waits up to the implicit timeout for it).
    pub async fn find(&self, selector: &str) -> String {
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

    pub async fn type_into(&self, selector: &str, text: &str) {
        let element = self.find(selector).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    pub async fn click(&self, selector: &str) {
        let element = self.find(selector).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    pub async fn screenshot(&self, path: &Path) {
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
    pub async fn wait_for_url(&self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let url = self.url().await;
            if url.starts_with(prefix) || Instant::now() >= deadline {
                return url;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits up to ~10 s for the browser to be exactly at `url`. A prefix will not do for the
    /// site's root: every page of the site starts with it, the page being left included.
    pub async fn wait_for_exact_url(&self, url: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let at = self.url().await;
            if at == url || Instant::now() >= deadline {
                return at;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn close(mut self) {
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

pub fn screenshots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("create {}: {e}", dir.display());
    }
    dir
}

/// Whether the browser test can run here; with `CI=true` a missing driver is a failure.
pub fn browser_available() -> bool {
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
